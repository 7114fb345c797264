"""A readable binary stream over an iterator of byte chunks (e.g. `download_blob().chunks()`)."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import Any


class ChunkReader(io.RawIOBase):
    """Raw stream that pulls the next chunk only when the previous one is used up.

    Holds one chunk at a time, so memory stays bounded by the chunk size whatever the total.
    `translate_error` maps exceptions raised by the iterator (a download failing half-way).
    """

    def __init__(
        self,
        chunks: Iterator[bytes],
        translate_error: Callable[[Exception], Exception] | None = None,
    ) -> None:
        super().__init__()
        self._chunks = chunks
        self._current = memoryview(b"")
        self._translate = translate_error

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        target = memoryview(buffer).cast("B")
        while not self._current:
            try:
                self._current = memoryview(next(self._chunks))
            except StopIteration:
                return 0
            except Exception as exc:
                if self._translate is None:
                    raise
                raise self._translate(exc) from exc
        count = min(len(target), len(self._current))
        target[:count] = self._current[:count]
        self._current = self._current[count:]
        return count

    def close(self) -> None:
        self._current = memoryview(b"")
        super().close()
