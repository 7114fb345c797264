"""Errors raised by every EventStore adapter."""

from __future__ import annotations


class EventStoreError(Exception):
    """Base class of the errors an event store raises on purpose."""


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
