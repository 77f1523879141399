"""Sets up and checks S3 state on a moto server for tests/s3_moto.rs.

  fixture.py ENDPOINT setup          -> JSON: presigned URLs for the tests
  fixture.py ENDPOINT verify KEY F   -> JSON: the object's size and MD5, and F's MD5
  fixture.py ENDPOINT multipart KEY N -> JSON: a multipart upload's N presigned part URLs

boto3 makes the presigned URLs exactly as a device's backend would; the
Rust test sends every request through apiretry's Client.
"""
import hashlib
import json
import sys

import boto3
from botocore.config import Config

BUCKET = "cam"


def client(endpoint):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


def presign(s3, op, **params):
    return s3.generate_presigned_url(op, Params={"Bucket": BUCKET, **params}, ExpiresIn=600)


def upload(s3, key, parts):
    upload_id = s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    return {
        "key": key,
        "parts": [
            presign(s3, "upload_part", Key=key, UploadId=upload_id, PartNumber=n)
            for n in range(1, parts + 1)
        ],
        "complete": presign(s3, "complete_multipart_upload", Key=key, UploadId=upload_id),
    }


def setup(s3):
    s3.create_bucket(Bucket=BUCKET)
    return {
        "clip": upload(s3, "clip.mov", 3),
        "small": upload(s3, "small.mov", 2),
        "get_clip": presign(s3, "get_object", Key="clip.mov"),
        "missing_key": presign(s3, "get_object", Key="missing.mov"),
        # ListParts: moto answers UploadPart to an unknown upload with a bare 500.
        "no_upload": presign(s3, "list_parts", Key="x.mov", UploadId="no-such-upload"),
    }


def verify(s3, key, path):
    obj = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    with open(path, "rb") as f:
        expected = f.read()
    return {
        "size": len(obj),
        "md5": hashlib.md5(obj).hexdigest(),
        "expected_size": len(expected),
        "expected_md5": hashlib.md5(expected).hexdigest(),
    }


if __name__ == "__main__":
    s3 = client(sys.argv[1])
    if sys.argv[2] == "setup":
        print(json.dumps(setup(s3)))
    elif sys.argv[2] == "multipart":
        try:
            s3.create_bucket(Bucket=BUCKET)
        except s3.exceptions.BucketAlreadyOwnedByYou:
            pass
        print(json.dumps(upload(s3, sys.argv[3], int(sys.argv[4]))))
    else:
        print(json.dumps(verify(s3, sys.argv[3], sys.argv[4])))
