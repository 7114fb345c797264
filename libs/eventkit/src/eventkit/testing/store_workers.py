"""Writers the EventStore contract suite runs in threads or child processes.

They live in the package (not in a test module) so `multiprocessing` with the spawn start
method and `python -m` can import them in a child process.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from eventkit.store import ConcurrencyError, EventStore, NewEvent, SQLiteEventStore

Acknowledged = tuple[str, int, int, int]
"""(stream id, version the append returned, writer number, append number)."""


def append_with_retries(
    store: EventStore, stream_ids: Sequence[str], writer: int, appends: int
) -> list[Acknowledged]:
    """Make `appends` one-event appends, round robin over `stream_ids`, as a use case would:
    load the version, append with it, on `ConcurrencyError` reload and retry. Returns what was
    acknowledged."""
    acknowledged: list[Acknowledged] = []
    for number in range(appends):
        stream_id = stream_ids[(writer + number) % len(stream_ids)]
        event = NewEvent(type="contract.written.v1", data={"writer": writer, "number": number})
        while True:
            version = store.stream_version(stream_id)
            try:
                new_version = store.append(stream_id, version, [event])
            except ConcurrencyError:
                continue
            acknowledged.append((stream_id, new_version, writer, number))
            break
    return acknowledged


def sqlite_writer(path: str, stream_ids: Sequence[str], writer: int, appends: int) -> list[Acknowledged]:
    """`append_with_retries` on its own SQLiteEventStore (for a child process)."""
    with SQLiteEventStore(path) as store:
        return append_with_retries(store, stream_ids, writer, appends)


def append_until_killed(path: str, stream_id: str, events_per_append: int) -> None:
    """Append `events_per_append` events at a time forever, printing each acknowledged version
    on its own line (flushed) only after `append` returned. The crash test kills it with SIGKILL."""
    with SQLiteEventStore(path) as store:
        version = store.stream_version(stream_id)
        while True:
            events = [
                NewEvent(type="contract.written.v1", data={"n": version + i})
                for i in range(events_per_append)
            ]
            version = store.append(stream_id, version, events)
            sys.stdout.write(f"{version}\n")
            sys.stdout.flush()


if __name__ == "__main__":
    append_until_killed(sys.argv[1], sys.argv[2], int(sys.argv[3]))
