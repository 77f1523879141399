"""The loop both Python peers of benches/peers.rs run: THREADS threads call
in a loop for SECONDS and the counts go out as one JSON line.

A peer records each attempt on the wire with `record("attempts_at")` from
its client's hook, and gives `run` one call that says whether it succeeded.
"""
import json
import threading
import time

lock = threading.Lock()
counts = {"calls_at": [], "attempts_at": [], "successes_at": []}
START = time.monotonic()


def record(key):
    """Notes the time since the start under `key`."""
    with lock:
        counts[key].append(time.monotonic() - START)


def run(threads, seconds, call):
    """`threads` threads each start `call()` (True on success) until
    `seconds` have passed; then prints the counts."""
    stop = START + seconds

    def worker():
        while time.monotonic() < stop:
            record("calls_at")
            if call():
                record("successes_at")

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    counts["elapsed"] = time.monotonic() - START
    print(json.dumps(counts))
