"""The urllib3 side of benches/peers.rs: THREADS threads call URL in a loop
for SECONDS with urllib3's Retry, and print one JSON line of counts.

    python3 urllib3_peer.py URL THREADS SECONDS

Retry is configured as urllib3's documentation suggests for APIs: retry on
429/500/502/503/504 and connection errors, exponential backoff, and
Retry-After honoured.
"""
import json
import sys
import threading
import time

import urllib3
from urllib3.util.retry import Retry

lock = threading.Lock()
counts = {"calls_at": [], "attempts_at": [], "successes_at": []}
START = time.monotonic()


class CountingPool(urllib3.HTTPConnectionPool):
    """Counts every attempt on the wire (the connect happens inside
    _make_request, so refused connections count too)."""

    def _make_request(self, *args, **kwargs):
        with lock:
            counts["attempts_at"].append(time.monotonic() - START)
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
    start = START
    stop = start + seconds

    def worker():
        i = 0
        while time.monotonic() < stop:
            i += 1
            ok = False
            with lock:
                counts["calls_at"].append(time.monotonic() - start)
            try:
                r = http.request("GET", url)
                ok = r.status == 200
            except urllib3.exceptions.HTTPError:
                pass
            if ok:
                with lock:
                    counts["successes_at"].append(time.monotonic() - start)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    counts["elapsed"] = time.monotonic() - start
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
