"""A language-worker child: ``python -m devhost.language_worker --app DIR --name NAME``.

Started by `devhost.language_pool.LanguageWorkerPool` when an app sets
``FUNCTIONS_WORKER_PROCESS_COUNT`` above 1, as the Functions host starts that many Python
worker processes. It imports and indexes the app's ``function_app.py`` (``get_functions()``
once, like the worker process), then runs the invocations its parent sends over stdin and
answers on the stdout it was started with (its own ``print`` output goes to stderr). Sync
functions run in a thread pool of ``PYTHON_THREADPOOL_THREAD_COUNT`` threads, async functions on
its event loop, exactly as in the worker process (it uses the same `Invoker`). It has no
triggers, HTTP server or output handlers: the parent keeps those. It exits when stdin closes
(the parent stopped or died) and ignores SIGINT (the parent decides when to stop).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import pickle
import signal
import sys
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

import azure.functions as func

from devhost.errors import DevhostError
from devhost.hostjson import load_host_json
from devhost.indexing import FunctionInfo, load_app
from devhost.invoke import Attempt, InvocationResult, Invoker, default_thread_count
from devhost.language_marshal import (
    HEADER_SIZE,
    BlobReference,
    DocumentsJson,
    FeedReference,
    encode_frame,
    frame_length,
)
from devhost.language_pool import CHILD_LOAD_FAILED
from devhost.logs import configure_logging, current_invocation, level_from_azure
from devhost.state import STATE_DIR_VARIABLE, StateLayout
from devhost.triggers.blob import open_blob_stream
from devhost.triggers.blob_stream import FileInputStream
from devhost.triggers.cosmos_feed import FeedDocuments
from eventkit.blobs import BlobNotFound, FileSystemBlobStore
from eventkit.store import SQLiteEventStore

log = logging.getLogger("devhost.language_worker")


class _Child:
    def __init__(self, app_dir: Path, name: str, output: IO[bytes]) -> None:
        self._index = load_app(app_dir, name)
        self._functions: dict[str, FunctionInfo] = {f.name: f for f in self._index.functions}
        self._invoker = Invoker(
            name, str(app_dir), None, default_thread_count(os.environ.get("PYTHON_THREADPOOL_THREAD_COUNT"))
        )
        self._output = output
        self._store: FileSystemBlobStore | None = None
        self._containers: dict[tuple[str, str], SQLiteEventStore] = {}

    def send(self, message: Any) -> None:
        self._output.write(encode_frame(message))
        self._output.flush()

    def _blobs(self) -> FileSystemBlobStore:
        if self._store is None:
            self._store = StateLayout(Path(os.environ[STATE_DIR_VARIABLE])).open_blobs()
        return self._store

    def _container(self, reference: FeedReference) -> SQLiteEventStore:
        key = (reference.database, reference.container)
        store = self._containers.get(key)
        if store is None:
            layout = StateLayout(Path(os.environ[STATE_DIR_VARIABLE]))
            store = self._containers[key] = layout.open_cosmos_container(*key)
        return store

    def _rebuild(self, value: Any, opened: list[FileInputStream], optional: bool) -> Any:
        if isinstance(value, BlobReference):
            try:
                stream, _etag = open_blob_stream(self._blobs(), value.container, value.name)
            except BlobNotFound:
                if optional:
                    return None
                raise
            opened.append(stream)
            return stream
        if isinstance(value, FeedReference):
            return FeedDocuments(
                value.database,
                value.container,
                self._container(value),
                value.after,
                value.last,
                value.feed_range,
            )
        if isinstance(value, DocumentsJson):
            return func.DocumentList(func.Document.from_dict(item) for item in json.loads(value.text))
        return value

    async def invoke(self, call: tuple[Any, ...]) -> None:
        _kind, call_id, name, trigger_args, extra_args, invocation_id, attempt, max_retries = call
        opened: list[FileInputStream] = []
        token = current_invocation.set((name, invocation_id))
        try:
            function = self._functions[name]
            arguments = {key: self._rebuild(value, opened, False) for key, value in trigger_args.items()}
            extras = {key: self._rebuild(value, opened, True) for key, value in extra_args.items()}
            result = await self._invoker.attempt_once(
                Attempt(function, arguments, extras, invocation_id, attempt, max_retries)
            )
        except Exception as error:
            result = InvocationResult(invocation_id, name, "Failed", error=error,
                                      traceback_text=traceback.format_exc())  # fmt: skip
        finally:
            current_invocation.reset(token)
            for stream in opened:
                stream.close()
        self.send(_answer(call_id, result))


def _answer(call_id: int, result: InvocationResult) -> tuple[Any, ...]:
    """The ``done`` message; a value that cannot be pickled turns the invocation into a failure."""
    if result.succeeded:
        try:
            payload = pickle.dumps((result.return_value, result.outputs))
        except Exception as error:
            text = f"{type(error).__name__}: the function's return value or outputs cannot be sent " \
                   f"from the language worker process: {error}"  # fmt: skip
            return ("done", call_id, False, None, "TypeError", text, text)
        return ("done", call_id, True, payload, None, None, None)
    failure = result.error
    try:
        pickled: bytes | None = pickle.dumps(failure)
    except Exception:
        pickled = None
    return ("done", call_id, False, pickled, type(failure).__name__, str(failure), result.traceback_text)


def _read_frame(source: IO[bytes]) -> Any:
    header = source.read(HEADER_SIZE)
    if len(header) < HEADER_SIZE:
        return None
    body = source.read(frame_length(header))
    return pickle.loads(body)


async def _serve(child: _Child, source: IO[bytes]) -> None:
    loop = asyncio.get_running_loop()
    reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="language-worker-reader")
    running: set[asyncio.Task[None]] = set()
    child.send(("ready", os.getpid()))
    while True:
        call = await loop.run_in_executor(reader, _read_frame, source)
        if call is None:
            return
        task = asyncio.create_task(child.invoke(call))
        running.add(task)
        task.add_done_callback(running.discard)


def main(argv: list[str] | None = None) -> int:
    """Serve invocations until stdin closes; exit code 3 (`CHILD_LOAD_FAILED`: the pool does not
    restart the child) when the app cannot be loaded."""
    parser = argparse.ArgumentParser(prog="python -m devhost.language_worker")
    parser.add_argument("--app", required=True, type=Path)
    parser.add_argument("--name", required=True)
    parser.add_argument("--log-format", choices=("text", "json"), default="text")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    output = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # the function's print() must not corrupt the protocol
    source = os.fdopen(0, "rb")  # buffered: read(n) returns n bytes or EOF
    configure_logging(args.name, args.log_format)
    try:
        logging.getLogger().setLevel(level_from_azure(load_host_json(args.app).log_level("default")))
        child = _Child(args.app.resolve(), args.name, output)
    except DevhostError as error:
        log.error("Language worker for %s failed to load the app: %s", args.name, error)
        return CHILD_LOAD_FAILED
    asyncio.run(_serve(child, source))
    os._exit(0)  # threads still running a function must not keep a dead parent's child alive


if __name__ == "__main__":
    sys.exit(main())
