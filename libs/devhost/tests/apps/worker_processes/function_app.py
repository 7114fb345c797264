"""Fixture: functions run in language-worker processes (FUNCTIONS_WORKER_PROCESS_COUNT=2).

Every invocation appends one JSON line to $WORKERPROC_RESULTS with the pid that ran it.
- process_upload (blob `wp-uploads/{name}`): writes `pid:<pid>` to the output blob
  `wp-results/{name}.out`; blobs under `fail/` raise; blobs under `hang/` wait (bounded) until
  the file $WORKERPROC_RESULTS.release exists, so a test can kill the process running them.
- relay_orders (Cosmos DB `nightshift/wp-orders`): records the documents it received.
"""

import json
import os
import threading
import time
from pathlib import Path

import azure.functions as func

app = func.FunctionApp()
_lock = threading.Lock()


def _record(entry: dict) -> None:
    with _lock, open(os.environ["WORKERPROC_RESULTS"], "a", encoding="utf-8") as results:
        results.write(json.dumps({"pid": os.getpid(), **entry}) + "\n")


@app.blob_trigger(arg_name="upload", path="wp-uploads/{name}", connection="UploadStorage")
@app.blob_output(arg_name="result", path="wp-results/{name}.out", connection="UploadStorage")
def process_upload(upload: func.InputStream, result: func.Out[bytes], context: func.Context) -> None:
    first_line = upload.readline().rstrip(b"\n").decode()
    _record({"event": "started", "name": upload.name, "invocation_id": context.invocation_id})
    if upload.name.startswith("wp-uploads/hang/"):
        release = Path(os.environ["WORKERPROC_RESULTS"] + ".release")
        deadline = time.monotonic() + 30
        while not release.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    if upload.name.startswith("wp-uploads/fail/"):
        raise ValueError(f"cannot parse upload {upload.name}")
    _record(
        {
            "event": "finished",
            "name": upload.name,
            "type": type(upload).__name__,
            "length": upload.length,
            "uri": upload.uri,
            "etag": upload.blob_properties["ETag"],
            "first_line": first_line,
            "rest_bytes": len(upload.read()),
        }
    )
    result.set(f"pid:{os.getpid()}".encode())


@app.cosmos_db_trigger(
    arg_name="docs",
    connection="CosmosConnection",
    database_name="nightshift",
    container_name="wp-orders",
    start_from_beginning=True,
    feed_poll_delay=200,
)
def relay_orders(docs: func.DocumentList) -> None:
    _record(
        {
            "event": "relayed",
            "is_document_list": isinstance(docs, func.DocumentList),
            "document_types": sorted({type(doc).__name__ for doc in docs}),
            "docs": [doc.to_dict() for doc in docs],
        }
    )
