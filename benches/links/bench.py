#!/usr/bin/env python3
"""One upload per tool over the link in place (run inside the client's
network namespace by `benches/links/run`): apiretry's CLI, boto3's
s3transfer, awscrt's S3 client (aws-c-s3) and curl, each sending the same
file to moto's S3 server. Prints one JSON line per upload: the wall time
(the multipart upload's creation and completion included, for every
tool), the rate as a fraction of the link's, and the CPU per MiB of the
process that sent it (for the Python peers, of the transfer alone: not
the interpreter's start and imports).

    bench.py --endpoint http://10.77.0.2:5000 --link-mbit 50 --file F \
             --apiretry target/release/apiretry --runs apiretry,s3transfer,...
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

BUCKET = "bench"
KEYS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1"}
os.environ.update(KEYS)


def s3(endpoint):
    import boto3
    return boto3.client("s3", endpoint_url=endpoint)


def timed(cmd, **kw):
    """Runs cmd; its wall seconds and CPU seconds (user + system)."""
    t = time.monotonic()
    p = subprocess.Popen(cmd, **kw)
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise RuntimeError(f"{cmd[0]} exited {p.returncode}")
    return time.monotonic() - t, ru.ru_utime + ru.ru_stime


def apiretry(a, key, variant):
    """The CLI: the driver creates the upload, presigns as many part URLs
    as the CLI's plan (or the variant) asks, and completes it; their time
    counts."""
    client = s3(a.endpoint)
    size = os.path.getsize(a.file)
    opts = []
    if variant.get("parts"):
        part_size = -(-size // variant["parts"])
    elif variant.get("part_size"):
        part_size = variant["part_size"]
    else:
        plan = json.loads(subprocess.check_output([a.apiretry, "upload", a.file, "--plan"]))
        part_size = plan["part_size"]
    opts += variant.get("args", [])
    n = max(1, -(-size // part_size))
    t = time.monotonic()
    up = client.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    urls = [client.generate_presigned_url(
        "upload_part", Params={"Bucket": BUCKET, "Key": key, "UploadId": up, "PartNumber": i},
        ExpiresIn=3600) for i in range(1, n + 1)]
    with tempfile.TemporaryDirectory() as d:
        parts = os.path.join(d, "parts.json")
        with open(parts, "w") as f:
            json.dump({"part_size": part_size, "urls": urls}, f)
        out = os.path.join(d, "out.json")
        with open(out, "w") as f:
            tool, cpu = timed([a.apiretry, "upload", a.file, "--parts", parts, "--journal",
                            os.path.join(d, "journal"), "--json", *opts], stdout=f)
        with open(out) as f:
            etags = [p["etag"] for p in json.load(f)["parts"]]
    t_done = time.monotonic()
    client.complete_multipart_upload(
        Bucket=BUCKET, Key=key, UploadId=up,
        MultipartUpload={"Parts": [{"ETag": e, "PartNumber": i + 1} for i, e in enumerate(etags)]})
    print(f"apiretry: {tool:.2f} s sending parts, {time.monotonic() - t_done:.2f} s completing",
          file=sys.stderr)
    return time.monotonic() - t, cpu, f"{n} parts of {part_size >> 20} MiB"


PEER = r"""
import json, os, resource, sys, time
endpoint, path, key, which = sys.argv[1:5]
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
if which == "s3transfer":
    import boto3
    client = boto3.client("s3", endpoint_url=endpoint)
    client.head_bucket(Bucket="bench")
    t, c = time.monotonic(), cpu()
    client.upload_file(path, "bench", key)  # TransferConfig's defaults: 8 MiB, 10 threads
else:
    import awscrt.auth, awscrt.http, awscrt.io, awscrt.s3
    host = endpoint.split("://", 1)[1]
    el = awscrt.io.EventLoopGroup()
    boot = awscrt.io.ClientBootstrap(el, awscrt.io.DefaultHostResolver(el))
    creds = awscrt.auth.AwsCredentialsProvider.new_static("bench", "bench")
    crt = awscrt.s3.S3Client(bootstrap=boot, region="us-east-1",
        signing_config=awscrt.s3.create_default_s3_signing_config(region="us-east-1", credential_provider=creds),
        tls_mode=awscrt.s3.S3RequestTlsMode.DISABLED)
    size = os.path.getsize(path)
    headers = awscrt.http.HttpHeaders([("Host", host), ("Content-Length", str(size)),
                                       ("Content-Type", "application/octet-stream")])
    t, c = time.monotonic(), cpu()
    req = crt.make_request(type=awscrt.s3.S3RequestType.PUT_OBJECT, send_filepath=path,
        request=awscrt.http.HttpRequest("PUT", f"/bench/{key}", headers))
    req.finished_future.result()
print(json.dumps({"wall": time.monotonic() - t, "cpu": cpu() - c}))
"""


def peer(a, key, which):
    out = subprocess.check_output([sys.executable, "-c", PEER, a.endpoint, a.file, key, which])
    r = json.loads(out)
    return r["wall"], r["cpu"], {"s3transfer": "8 MiB parts, 10 threads",
                                 "awscrt": "8 MiB parts (its defaults)"}[which]


def curl(a, key, _variant):
    url = s3(a.endpoint).generate_presigned_url(
        "put_object", Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=3600)
    wall, cpu = timed(["curl", "-sS", "--fail", "-T", a.file, "-o", "/dev/null", url])
    return wall, cpu, "one PUT, one stream"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--endpoint", required=True)
    p.add_argument("--link", required=True)
    p.add_argument("--link-mbit", type=float, required=True)
    p.add_argument("--file", required=True)
    p.add_argument("--apiretry", required=True)
    p.add_argument("--runs", required=True, help="comma-separated run names (see RUNS)")
    a = p.parse_args()
    size = os.path.getsize(a.file)
    client = s3(a.endpoint)
    try:
        client.create_bucket(Bucket=BUCKET)
    except client.exceptions.BucketAlreadyOwnedByYou:
        pass
    # moto's first uploads are slower (its imports, its first part
    # stores): one multipart upload before any tool, so the first is not
    # the one that pays.
    with open(a.file, "rb") as f:
        warm = f.read(10 << 20)
    up = client.create_multipart_upload(Bucket=BUCKET, Key="warm-up")["UploadId"]
    done = [{"PartNumber": i, "ETag": client.upload_part(
        Bucket=BUCKET, Key="warm-up", UploadId=up, PartNumber=i, Body=warm[(i - 1) * (5 << 20):i * (5 << 20)])["ETag"]}
        for i in (1, 2)]
    client.complete_multipart_upload(Bucket=BUCKET, Key="warm-up", UploadId=up,
                                     MultipartUpload={"Parts": done})
    for name in a.runs.split(","):
        tool, variant = RUNS[name]
        key = f"{a.link}-{name}-{time.monotonic_ns()}"
        wall, cpu, how = tool(a, key, variant)
        got = client.head_object(Bucket=BUCKET, Key=key)["ContentLength"]
        assert got == size, f"{name}: {got} bytes stored of {size}"
        mbit = size * 8 / wall / 1e6
        print(json.dumps({"link": a.link, "run": name, "how": how, "seconds": round(wall, 2),
                          "mbit": round(mbit, 1), "of_link": round(mbit / a.link_mbit, 3),
                          "cpu_s": round(cpu, 3), "cpu_ms_per_mib": round(cpu * 1000 / (size / 2**20), 2)}),
              flush=True)


RUNS = {
    # The defaults: the part size the CLI plans, parts in flight chosen,
    # BBR asked for on the parts' connections.
    "apiretry": (apiretry, {}),
    # The congestion control left to the system (cubic in the client's
    # namespace): what the adaptive flows and part sizes give alone.
    "apiretry-cubic": (apiretry, {"args": ["--congestion", "system"]}),
    # A Frame.io-shaped upload: 3 URLs, so 3 parts.
    "apiretry-3-urls": (apiretry, {"parts": 3}),
    "apiretry-3-urls-cubic": (apiretry, {"parts": 3, "args": ["--congestion", "system"]}),
    # The last release's defaults: 8 MiB parts, 4 in flight, the system's.
    "apiretry-before": (apiretry, {"part_size": 8 << 20,
                                   "args": ["--parallel", "4", "--congestion", "system"]}),
    # Fixed counts in flight, for comparison.
    "apiretry-parallel-2": (apiretry, {"args": ["--parallel", "2"]}),
    "apiretry-parallel-8": (apiretry, {"args": ["--parallel", "8"]}),
    "apiretry-parallel-13": (apiretry, {"args": ["--parallel", "13"]}),
    # The cap: 20 Mbit/s.
    "apiretry-cap-20": (apiretry, {"args": ["--max-upload-rate", "2500000"]}),
    "s3transfer": (lambda a, k, _v: peer(a, k, "s3transfer"), None),
    "awscrt": (lambda a, k, _v: peer(a, k, "awscrt"), None),
    "curl": (curl, None),
}

if __name__ == "__main__":
    main()
