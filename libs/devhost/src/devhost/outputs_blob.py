"""The blob output binding (``blob``, direction ``out``) over the embedded blob store.

The binding's ``path`` is resolved from the trigger's binding data (``{name}`` of a blob
trigger...) and the built-ins ``{rand-guid}`` and ``{DateTime}``; the value is written with one
atomic put (readers see the old or the new blob, never half of it), creating the container if it
does not exist, as the Functions host does. Values: ``str`` (UTF-8), ``bytes``/``bytearray``, or
a readable binary stream (copied in chunks, so a large stream is not held in memory).
"""

from __future__ import annotations

import asyncio
from typing import Any

from devhost.indexing import BindingInfo, FunctionInfo
from devhost.state import StateLayout
from devhost.triggers.base import AppContext
from devhost.triggers.blob_paths import current_binding_data, resolve_path, split_blob_path
from eventkit.blobs import BlobProperties


class BlobOutputError(TypeError):
    """A function set a value a blob output binding cannot write."""


class BlobOutputHandler:
    """Writes values set on ``blob`` output bindings to ``<state>/blobs/<container>/<name>``."""

    async def deliver(
        self, ctx: AppContext, function: FunctionInfo, binding: BindingInfo, value: Any
    ) -> None:
        """Write ``value`` at the binding's resolved path.

        Raises BlobPathError (an expression the trigger does not provide), BlobOutputError (a
        value of another type), RealAzureNotSupportedError / ConnectionNotFoundError.
        """
        if value is None:
            return
        ctx.connections.require_embedded(binding.get("connection"), function.name)
        what = f"function {function.name!r} output binding {binding.name!r}"
        path = resolve_path(str(binding.get("path", "")), current_binding_data.get(), what=what)
        container, name = split_blob_path(path)
        if isinstance(value, str):
            data: Any = value.encode("utf-8")
        elif isinstance(value, (bytes, bytearray, memoryview)):
            data = bytes(value)
        elif callable(getattr(value, "read", None)):
            data = value
        else:
            raise BlobOutputError(
                f"{what}: cannot write a {type(value).__name__} to a blob; set str, bytes or a binary stream"
            )
        await asyncio.to_thread(_put, StateLayout(ctx.state_dir), container, name, data)


def _put(layout: StateLayout, container: str, name: str, data: Any) -> BlobProperties:
    store = layout.open_blobs()
    store.create_container(container)
    return store.put(container, name, data)
