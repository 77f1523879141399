"""botocore's own retry decision (standard retry mode, as boto3 ships it)
for each S3 error response given on stdin, one JSON [status, code] per line;
prints one JSON line per input: {"retryable": bool, "throttling": bool}.
tests/s3_moto.rs compares apiretry's s3 profile with it.
"""
import json
import sys

import botocore.session
from botocore.retries import standard

UPLOAD_PART = botocore.session.get_session().get_service_model("s3").operation_model("UploadPart")


class HttpResponse:
    def __init__(self, status):
        self.status_code = status
        self.headers = {}


def decide(status, code):
    parsed = {"ResponseMetadata": {"HTTPStatusCode": status}}
    if code:
        parsed["Error"] = {"Code": code, "Message": ""}
    context = standard.RetryContext(
        attempt_number=1,
        operation_model=UPLOAD_PART,
        parsed_response=parsed,
        http_response=HttpResponse(status),
        caught_exception=None,
    )
    return {
        "retryable": standard.StandardRetryConditions().is_retryable(context),
        "throttling": standard.ThrottledRetryableChecker().is_retryable(context),
    }


for line in sys.stdin:
    status, code = json.loads(line)
    print(json.dumps(decide(status, code)))
