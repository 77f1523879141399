"""The urllib3 side of benches/peers.rs: THREADS threads call URL in a loop
for SECONDS with urllib3's Retry, and print one JSON line of counts.

    python3 urllib3_peer.py URL THREADS SECONDS

Retry is configured as urllib3's documentation suggests for APIs: retry on
429/500/502/503/504 and connection errors, exponential backoff, and
Retry-After honoured.
"""
import sys

import urllib3
from urllib3.util.retry import Retry

from peer_loop import record, run


class CountingPool(urllib3.HTTPConnectionPool):
    """Counts every attempt on the wire (the connect happens inside
    _make_request, so refused connections count too)."""

    def _make_request(self, *args, **kwargs):
        record("attempts_at")
        return super()._make_request(*args, **kwargs)


def main():
    url, threads, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    retry = Retry(
        total=7,  # 8 attempts in all, as apiretry's default
        backoff_factor=0.5,
        backoff_max=32,
        status_forcelist=[429, 500, 502, 503, 504],
        respect_retry_after_header=True,
        allowed_methods=None,
        raise_on_status=False,
    )
    http = urllib3.PoolManager(maxsize=threads, retries=retry, timeout=urllib3.Timeout(total=15))
    http.pool_classes_by_scheme = {"http": CountingPool, "https": urllib3.HTTPSConnectionPool}

    def call():
        try:
            return http.request("GET", url).status == 200
        except urllib3.exceptions.HTTPError:
            return False

    run(threads, seconds, call)


if __name__ == "__main__":
    main()
