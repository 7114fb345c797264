"""Fixture: a supplier feed processor. Records every invocation as one JSON line in $BLOBTRIG_RESULTS.

Blobs under `poison/` always fail; blobs under `slow/` wait (bounded) until another invocation is
in flight, so that parallel processing shows as a maximum in-flight count above one.
"""

import json
import os
import threading
import time

import azure.functions as func

app = func.FunctionApp()
_lock = threading.Lock()
_in_flight = 0


def _record(entry: dict) -> None:
    with _lock, open(os.environ["BLOBTRIG_RESULTS"], "a", encoding="utf-8") as results:
        results.write(json.dumps(entry) + "\n")


@app.blob_trigger(arg_name="feed", path="inventory-uploads/{name}", connection="FeedStorage")
@app.blob_output(arg_name="quarantine", path="quarantine/{name}.out", connection="FeedStorage")
def process_feed(feed: func.InputStream, quarantine: func.Out[bytes]) -> None:
    global _in_flight
    with _lock:
        _in_flight += 1
        peak = _in_flight
    try:
        first_line = feed.readline().rstrip(b"\n")
        if feed.name.startswith("inventory-uploads/slow/"):
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                with _lock:
                    peak = max(peak, _in_flight)
                if peak > 1:
                    break
                time.sleep(0.02)
        rest = feed.read()
        _record(
            {
                "name": feed.name,
                "length": feed.length,
                "uri": feed.uri,
                "etag": feed.blob_properties["ETag"],
                "first_line": first_line.decode(),
                "rest_bytes": len(rest),
                "peak_in_flight": peak,
                "outcome": "failed" if feed.name.startswith("inventory-uploads/poison/") else "ok",
            }
        )
        if feed.name.startswith("inventory-uploads/poison/"):
            raise ValueError(f"cannot parse supplier feed {feed.name}")
        quarantine.set(b"processed:" + first_line)
    finally:
        with _lock:
            _in_flight -= 1
