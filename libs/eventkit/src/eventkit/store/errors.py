"""Errors raised by every EventStore adapter."""

from __future__ import annotations

from collections.abc import Sequence


class EventStoreError(Exception):
    """Base class of the errors an event store raises on purpose."""


class StoreBusy(EventStoreError):
    """The store refused for now: throttled (Cosmos DB 429 after the SDK's own retries) or
    unavailable (503, 408). The call may not have taken effect; a 408 on a write may also have been
    committed, and an `append_many` may have written the streams before the refused one, so a
    retry must be safe to repeat (every use case is). `retry_after` is the store's advice in seconds,
    if it gave one; an HTTP API answers 503 with it as `Retry-After`, a trigger retries."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def __reduce__(self) -> tuple[type[StoreBusy], tuple[str, float | None]]:
        return (StoreBusy, (str(self), self.retry_after))


class ConcurrencyError(EventStoreError):
    """The stream was not at the version the writer expected; nothing was written.

    The caller reloads the aggregate, decides again and retries the use case.
    """

    def __init__(self, stream_id: str, expected: int, actual: int) -> None:
        super().__init__(
            f"stream {stream_id!r} is at version {actual}, not the expected {expected}: "
            "reload the stream and retry"
        )
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual

    def __reduce__(self) -> tuple[type[ConcurrencyError], tuple[str, int, int]]:
        return (ConcurrencyError, (self.stream_id, self.expected, self.actual))


class BatchConcurrencyError(ConcurrencyError):
    """Streams of an `append_many` were not at the versions the writer expected.

    `conflicts` names every clashing stream found (one `ConcurrencyError` each, the first also
    being this error's own `stream_id`/`expected`/`actual`). `written` lists the streams whose
    appends were committed anyway: always empty on adapters whose `append_many` is atomic
    (SQLite, in-memory); on Cosmos DB, which commits one stream at a time, the appends before a
    clash that arose *during* the batch stay written. Reload the clashing (and written) streams,
    decide again and retry.
    """

    def __init__(self, conflicts: Sequence[ConcurrencyError], written: Sequence[str] = ()) -> None:
        if not conflicts:
            raise ValueError("a BatchConcurrencyError needs at least one conflict")
        first = conflicts[0]
        super().__init__(first.stream_id, first.expected, first.actual)
        self.conflicts = tuple(conflicts)
        self.written = tuple(written)
        clashes = "; ".join(
            f"{c.stream_id!r} is at version {c.actual}, not {c.expected}" for c in self.conflicts
        )
        kept = f" (already written: {', '.join(map(repr, self.written))})" if self.written else ""
        self.args = (
            f"{len(self.conflicts)} stream(s) of the batch clashed: {clashes}{kept}; reload and retry",
        )

    @property
    def stream_ids(self) -> tuple[str, ...]:
        """The clashing streams, in batch order."""
        return tuple(c.stream_id for c in self.conflicts)

    def __reduce__(  # type: ignore[override]
        self,
    ) -> tuple[type[BatchConcurrencyError], tuple[tuple[ConcurrencyError, ...], tuple[str, ...]]]:
        return (BatchConcurrencyError, (self.conflicts, self.written))


class AlreadyProcessed(EventStoreError):
    """The consumer already recorded this key; nothing was written. Treat the repeat as done."""

    def __init__(self, consumer: str, key: str) -> None:
        super().__init__(f"consumer {consumer!r} already processed {key!r}; the repeat is a no-op")
        self.consumer = consumer
        self.key = key

    def __reduce__(self) -> tuple[type[AlreadyProcessed], tuple[str, str]]:
        return (AlreadyProcessed, (self.consumer, self.key))


class InvalidAppend(EventStoreError, ValueError):
    """The arguments of an append (or a stream id) cannot be stored; fix the caller."""
