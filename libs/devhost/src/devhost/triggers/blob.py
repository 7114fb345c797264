"""The blob trigger (``blobTrigger``), as Azure's polling blob listener, over the embedded blob store.

- **Detection.** Blobs are files under ``<state>/blobs/<container>/<name>`` (eventkit's
  FileSystemBlobStore; copying a file there is an upload). The container folder is scanned every
  ``POLL_INTERVAL`` seconds with ``stat`` only (contents are never read to detect a change). A
  file is a candidate once its size, mtime and inode are the same in two scans in a row (a file
  still being copied is left alone), and temporary files (``.tmp-*``) are skipped. Its ETag comes
  from that stat; the blobs present when devhost starts are scanned like new ones, so blobs
  uploaded while devhost was down are processed on start.
- **Receipts** (``blob_receipts``): one per (function, blob, ETag), persisted in the state
  folder. A version is processed once; a rewrite (new ETag) is processed again.
- **Failures.** A failed invocation is retried (a new invocation on the next scan) until it
  failed ``poisonBlobThreshold`` times (Azure's queue ``maxDequeueCount``, 5); then a message
  with Azure's shape goes to the poison queue ``webjobs-blobtrigger-poison`` — in devhost a queue
  of the embedded Service Bus namespace, in Azure a Storage queue — and the version is settled.
  ``@app.retry`` does not apply to blob triggers (as in Azure).
- **Parallelism**: at most ``extensions.blobs.maxDegreeOfParallelism`` (8 x cores) invocations
  of blob-triggered functions at once per app.
- **Binding data**: the path parameters (``{name}``...), ``BlobTrigger`` (``container/name``)
  and ``Uri``, usable in output and input binding paths.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import stat
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devhost.indexing import BindingInfo, FunctionInfo
from devhost.state import StateLayout
from devhost.triggers.base import AppContext
from devhost.triggers.blob_paths import BlobPathPattern, current_binding_data, resolve_path, split_blob_path
from devhost.triggers.blob_receipts import DONE, POISONED, BlobReceipts
from devhost.triggers.blob_stream import FileInputStream, blob_uri
from eventkit.blobs import BlobNotFound, FileSystemBlobStore, InvalidBlobName, is_temporary_file
from eventkit.blobs.filesystem import etag_of
from eventkit.blobs.names import validate_blob_name
from eventkit.bus.servicebus import OutgoingMessage

log = logging.getLogger("devhost.blob")

POLL_INTERVAL = 0.3
POISON_QUEUE = "webjobs-blobtrigger-poison"
_StatKey = tuple[int, int, int, int]
_Seen = tuple[_StatKey, str]
_semaphores: dict[tuple[str, int], asyncio.Semaphore] = {}


def _stat_key(found: os.stat_result) -> _StatKey:
    return (found.st_size, found.st_mtime_ns, found.st_ino, found.st_dev)


def app_parallelism(ctx: AppContext) -> asyncio.Semaphore:
    """The app-wide bound on concurrent blob-triggered invocations (``maxDegreeOfParallelism``)."""
    key = (ctx.app_name, id(asyncio.get_running_loop()))  # a semaphore belongs to one event loop
    semaphore = _semaphores.get(key)
    if semaphore is None:
        semaphore = asyncio.Semaphore(max(1, ctx.host.blobs.max_degree_of_parallelism))
        _semaphores[key] = semaphore
    return semaphore


def poison_message(app_name: str, function: str, container: str, name: str, etag: str) -> dict[str, str]:
    """The poison queue message, in the shape Azure writes to ``webjobs-blobtrigger-poison``."""
    return {
        "Type": "BlobTrigger",
        "FunctionId": f"{app_name}.Functions.{function}",
        "BlobType": "BlockBlob",
        "ContainerName": container,
        "BlobName": name,
        "ETag": etag.strip('"'),
    }


@dataclass(frozen=True)
class _Candidate:
    name: str
    etag: str


def _wants(function: FunctionInfo, binding_name: str) -> type | None:
    """The annotation of the parameter bound to ``binding_name`` (bytes / str / other)."""
    try:
        hints = typing.get_type_hints(function.user_function)
    except Exception:  # unresolvable string annotations: fall back to InputStream
        return None
    hint = hints.get(binding_name)
    return hint if isinstance(hint, type) else None


def _convert(stream: FileInputStream, wanted: type | None) -> Any:
    """The argument for a blob binding: ``bytes``/``str`` read the blob, anything else streams."""
    if wanted is bytes:
        with stream:
            return stream.read()
    if wanted is str:
        with stream:
            return stream.read().decode("utf-8")
    return stream


def open_blob_stream(store: FileSystemBlobStore, container: str, name: str) -> tuple[FileInputStream, str]:
    """Open the blob for reading; returns the stream and the ETag of the version opened.

    Raises BlobNotFound when it is gone.
    """
    source = store.open_read(container, name)
    try:
        etag = etag_of(os.fstat(source.fileno()))
        properties = store.properties(container, name)
        if properties.etag != etag:  # replaced since it was opened: describe the opened version
            properties = type(properties)(container, name, etag, os.fstat(source.fileno()).st_size,
                                          properties.content_type, properties.last_modified)  # fmt: skip
    except BaseException:
        source.close()
        raise
    return FileInputStream(source, properties, properties.metadata), etag


class BlobTrigger:
    """The ``blobTrigger`` plugin for one function."""

    retry_policies_apply = False

    def __init__(self, function: FunctionInfo) -> None:
        self.function = function
        self._ctx: AppContext | None = None
        self._pattern: BlobPathPattern | None = None
        self._store: FileSystemBlobStore | None = None
        self._receipts: BlobReceipts | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._running: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._settled: dict[str, str] = {}
        self._stopping = False

    @property
    def pattern(self) -> BlobPathPattern:
        if self._pattern is None:
            raise RuntimeError("blob trigger not started")
        return self._pattern

    async def start(self, ctx: AppContext) -> None:
        """Check the path and connection, then scan in the background.

        Raises BlobPathError (bad path), ConnectionNotFoundError / RealAzureNotSupportedError.
        """
        self._ctx = ctx
        self._pattern = BlobPathPattern.parse(str(self.function.trigger.get("path", "")))
        ctx.connections.require_embedded(self.function.trigger.get("connection"), self.function.name)
        layout = StateLayout(ctx.state_dir)
        self._store = layout.open_blobs()
        self._store.create_container(self._pattern.container)
        self._receipts = BlobReceipts(layout.app_dir(ctx.app_name) / "blob_receipts.db")
        self._loop_task = asyncio.create_task(self._scan_loop(), name=f"blob:{self.function.name}")

    async def stop(self, drain: bool) -> None:
        self._stopping = True
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        running = list(self._running.values())
        if not drain:
            for task in running:
                task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        if self._receipts is not None:
            self._receipts.close()

    def admin_arguments(self, input_text: str) -> dict[str, Any]:
        """``{"input": "container/name"}`` invokes the function on that blob (as Azure's admin API)."""
        if self._store is None:
            raise ValueError("the blob trigger is not started")
        container, name = split_blob_path(input_text or "")
        try:
            stream, _etag = open_blob_stream(self._store, container, name)
        except BlobNotFound as error:
            raise ValueError(str(error)) from error
        return {self.function.trigger.name: stream}

    # -- scanning ----------------------------------------------------------------------------

    def _scan(self) -> dict[str, _Seen]:
        """Every blob file under the container folder matching the pattern: stat key and ETag."""
        folder = self._store.container_path(self.pattern.container) if self._store else Path()
        found: dict[str, _Seen] = {}
        for current, _dirs, files in os.walk(folder):
            relative = os.path.relpath(current, folder)
            base = "" if relative == "." else relative.replace(os.sep, "/") + "/"
            for file_name in files:
                if is_temporary_file(file_name):
                    continue
                name = base + file_name
                try:
                    validate_blob_name(name)
                    entry = os.stat(os.path.join(current, file_name), follow_symlinks=False)
                except (InvalidBlobName, OSError):
                    continue
                if stat.S_ISREG(entry.st_mode) and self.pattern.match(name) is not None:
                    found[name] = (_stat_key(entry), etag_of(entry))
        return found

    def _ready(self, previous: dict[str, _Seen], current: dict[str, _Seen]) -> list[_Candidate]:
        """Stable blobs whose current version is neither running nor settled (reads receipts)."""
        assert self._receipts is not None
        ready: list[_Candidate] = []
        for name, seen in current.items():
            if previous.get(name) != seen:
                continue  # new or still changing: look again on the next scan
            etag = seen[1]
            if (name, etag) in self._running or self._settled.get(name) == etag:
                continue
            if self._receipts.is_settled(self.function.name, self.pattern.container, name, etag):
                self._settled[name] = etag
                continue
            ready.append(_Candidate(name, etag))
        return ready

    async def _scan_loop(self) -> None:
        previous: dict[str, _Seen] = {}
        while not self._stopping:
            try:
                current = await asyncio.to_thread(self._scan)
                ready = await asyncio.to_thread(self._ready, previous, current)
            except Exception:
                log.exception("Blob scan of %s failed; retrying", self.pattern.container)
                current, ready = previous, []
            for candidate in ready:
                if self._stopping:
                    break
                key = (candidate.name, candidate.etag)
                if key not in self._running:
                    task = asyncio.create_task(self._process(candidate))
                    self._running[key] = task
                    task.add_done_callback(functools.partial(self._forget, key))
            previous = current
            await asyncio.sleep(POLL_INTERVAL)

    def _forget(self, key: tuple[str, str], _task: asyncio.Task[None]) -> None:
        self._running.pop(key, None)

    # -- one blob ----------------------------------------------------------------------------

    async def _process(self, candidate: _Candidate) -> None:
        assert self._ctx is not None and self._store is not None and self._receipts is not None
        ctx = self._ctx
        container = self.pattern.container
        async with app_parallelism(ctx):
            if self._stopping:
                return
            try:
                stream, etag = await asyncio.to_thread(
                    open_blob_stream, self._store, container, candidate.name
                )
            except BlobNotFound:
                return  # deleted since the scan
            parameters = self.pattern.match(candidate.name) or {}
            binding_data = {
                **parameters,
                "BlobTrigger": f"{container}/{candidate.name}",
                "Uri": blob_uri(container, candidate.name),
            }
            token = current_binding_data.set(binding_data)
            opened: list[FileInputStream] = [stream]
            try:
                inputs = await asyncio.to_thread(self._open_inputs, binding_data, opened)
                argument = _convert(stream, _wants(self.function, self.function.trigger.name))
                reason = (
                    f"New blob detected(LogsAndContainerScan): {container}/{candidate.name} (ETag={etag})"
                )
                result = await ctx.invoker.invoke(
                    self.function, {self.function.trigger.name: argument}, reason, extra_args=inputs
                )
            finally:
                current_binding_data.reset(token)
                for each in opened:
                    each.close()
        await asyncio.to_thread(self._settle, candidate.name, etag, result.succeeded)

    def _open_inputs(self, binding_data: dict[str, str], opened: list[FileInputStream]) -> dict[str, Any]:
        """Blob input bindings: the blob at the resolved path, or None when it does not exist."""
        assert self._store is not None
        inputs: dict[str, Any] = {}
        for binding in self.function.inputs:
            if binding.type.lower() != "blob":
                continue
            inputs[binding.name] = self._open_input(binding, binding_data, opened)
        return inputs

    def _open_input(
        self, binding: BindingInfo, binding_data: dict[str, str], opened: list[FileInputStream]
    ) -> Any:
        assert self._store is not None
        path = resolve_path(
            str(binding.get("path", "")), binding_data, what=f"input binding {binding.name!r}"
        )
        container, name = split_blob_path(path)
        try:
            stream, _etag = open_blob_stream(self._store, container, name)
        except BlobNotFound:
            return None
        opened.append(stream)
        return _convert(stream, _wants(self.function, binding.name))

    def _settle(self, name: str, etag: str, succeeded: bool) -> None:
        assert self._ctx is not None and self._receipts is not None
        function, container = self.function.name, self.pattern.container
        if succeeded:
            self._receipts.settle(function, container, name, etag, DONE)
            self._settled[name] = etag
            return
        failures = self._receipts.record_failure(function, container, name, etag)
        threshold = self._ctx.host.blobs.poison_blob_threshold
        if failures < threshold:
            log.warning(
                "Blob %s/%s (ETag=%s) failed %d of %d time(s) in '%s'; retrying",
                container, name, etag, failures, threshold, function,
            )  # fmt: skip
            return
        message = poison_message(self._ctx.app_name, function, container, name, etag)
        with StateLayout(self._ctx.state_dir).open_servicebus() as bus:
            bus.create_queue_if_missing(POISON_QUEUE)
            bus.send(
                POISON_QUEUE,
                OutgoingMessage(body=json.dumps(message).encode(), content_type="application/json"),
            )
        self._receipts.settle(function, container, name, etag, POISONED)
        self._settled[name] = etag
        log.error(
            "Blob %s/%s (ETag=%s) failed %d times in '%s': moved to poison queue '%s'",
            container, name, etag, failures, function, POISON_QUEUE,
        )  # fmt: skip
