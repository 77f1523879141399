"""The boto3 side of benches/peers.rs: THREADS threads GET one S3 object
from the mock (path-style, dummy credentials) for SECONDS with botocore's
adaptive retry mode (the AWS SDKs' CUBIC rate limiter), and print one JSON
line of counts, as urllib3_peer.py does.

    python3 boto3_peer.py ENDPOINT THREADS SECONDS

Run with the moto virtual environment's python (.ci/moto-venv), which has
boto3.
"""
import json
import sys
import threading
import time

import boto3
import botocore.config
import botocore.exceptions

lock = threading.Lock()
counts = {"calls_at": [], "attempts_at": [], "successes_at": []}
START = time.monotonic()


def main():
    endpoint, threads, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    config = botocore.config.Config(
        retries={"mode": "adaptive", "max_attempts": 8},
        s3={"addressing_style": "path"},
        max_pool_connections=threads,
    )
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=config,
    )

    def count_attempt(**_):
        with lock:
            counts["attempts_at"].append(time.monotonic() - START)

    s3.meta.events.register("before-send.s3.GetObject", count_attempt)
    stop = START + seconds

    def worker():
        while time.monotonic() < stop:
            with lock:
                counts["calls_at"].append(time.monotonic() - START)
            try:
                s3.get_object(Bucket="bucket", Key="clip.mov")["Body"].read()
                ok = True
            except botocore.exceptions.ClientError:
                ok = False
            if ok:
                with lock:
                    counts["successes_at"].append(time.monotonic() - START)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    counts["elapsed"] = time.monotonic() - START
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
