"""The boto3 side of benches/peers.rs: THREADS threads GET one S3 object
from the mock (path-style, dummy credentials) for SECONDS with botocore's
adaptive retry mode (the AWS SDKs' CUBIC rate limiter), and print one JSON
line of counts, as urllib3_peer.py does.

    python3 boto3_peer.py ENDPOINT THREADS SECONDS

Run with the moto virtual environment's python (.ci/moto-venv), which has
boto3.
"""
import sys

import boto3
import botocore.config
import botocore.exceptions

from peer_loop import record, run


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
    s3.meta.events.register("before-send.s3.GetObject", lambda **_: record("attempts_at"))

    def call():
        try:
            s3.get_object(Bucket="bucket", Key="clip.mov")["Body"].read()
            return True
        except botocore.exceptions.ClientError:
            return False

    run(threads, seconds, call)


if __name__ == "__main__":
    main()
