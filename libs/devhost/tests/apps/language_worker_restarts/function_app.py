"""Fixture: a blob-triggered function run in two language workers (FUNCTIONS_WORKER_PROCESS_COUNT=2).

- record_upload (blob `lwr-uploads/{name}`): appends `{"pid": ..., "name": ...}` to $LWR_RESULTS.
- Importing this module fails while the file `$LWR_RESULTS.broken` exists. A test creates it once
  the app runs: the worker process has loaded the app, so only children started later fail (as
  when a deploy breaks the code under a running host).
"""

import json
import os
from pathlib import Path

import azure.functions as func

if Path(os.environ["LWR_RESULTS"] + ".broken").exists():
    raise RuntimeError("function_app.py is broken: the language worker cannot import it")

app = func.FunctionApp()


@app.blob_trigger(arg_name="upload", path="lwr-uploads/{name}", connection="UploadStorage")
def record_upload(upload: func.InputStream) -> None:
    with open(os.environ["LWR_RESULTS"], "a", encoding="utf-8") as results:
        results.write(json.dumps({"pid": os.getpid(), "name": upload.name}) + "\n")
