"""`SupplierFeed` (stream `feed-<feed id>`): one uploaded blob version, processed or rejected."""

from __future__ import annotations

import hashlib
from typing import ClassVar, Literal

from eventkit.aggregate import Aggregate, DomainEvent

from .common import FeedStateError

# --- SupplierFeed ---------------------------------------------------------------------------

FeedStatus = Literal["new", "received", "processed", "rejected"]
FeedFormatName = Literal["csv", "json"]


def feed_id_for(blob_name: str, etag: str) -> str:
    """The feed id of one blob version: the same name and ETag always give the same id; a
    re-upload (new ETag) gives a new one."""
    digest = hashlib.sha256(f"{blob_name}\n{etag}".encode()).hexdigest()
    return f"feed-{digest[:32]}"


class FeedReceived(DomainEvent):
    EVENT_TYPE: ClassVar[str] = "inventory.FeedReceived"
    blob_name: str
    supplier_id: str
    etag: str
    format: FeedFormatName


class FeedRowsApplied(DomainEvent):
    """The feed's valid rows up to `through_line` are applied (internal: not published).

    Appended in the same atomic `append_many` as the stock events of those rows, so a re-run
    after a crash resumes after `through_line` and never applies a row twice."""

    EVENT_TYPE: ClassVar[str] = "inventory.FeedRowsApplied"
    through_line: int


class FeedProcessed(DomainEvent):
    EVENT_TYPE: ClassVar[str] = "inventory.FeedProcessed"
    blob_name: str
    supplier_id: str
    format: FeedFormatName
    rows_total: int
    rows_applied: int
    rows_rejected: int
    quarantine_location: str | None = None


class FeedRejected(DomainEvent):
    EVENT_TYPE: ClassVar[str] = "inventory.FeedRejected"
    blob_name: str
    supplier_id: str
    reason: str
    detail: str | None = None


class SupplierFeed(Aggregate[DomainEvent]):
    """One uploaded blob version: received once, then processed or rejected once."""

    STREAM_PREFIX: ClassVar[str] = "feed"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.status: FeedStatus = "new"
        self.received: FeedReceived | None = None
        self.outcome: FeedProcessed | FeedRejected | None = None
        self.applied_through = 0  # every valid row up to this line is applied

    @property
    def finished(self) -> bool:
        return self.status in ("processed", "rejected")

    def receive(self, *, blob_name: str, supplier_id: str, etag: str, format: FeedFormatName) -> None:
        """Record the feed's arrival; idempotent."""
        if self.status == "new":
            self._record(FeedReceived(blob_name=blob_name, supplier_id=supplier_id, etag=etag, format=format))

    def record_progress(self, through_line: int) -> None:
        """Record that the rows up to `through_line` are applied; a line at or before the
        recorded one changes nothing. Raises `FeedStateError` unless the feed is received."""
        if self.status != "received":
            raise FeedStateError(f"feed {self.id!r} is {self.status}: it cannot apply rows")
        if through_line > self.applied_through:
            self._record(FeedRowsApplied(through_line=through_line))

    def complete(
        self, *, rows_total: int, rows_applied: int, rows_rejected: int, quarantine_location: str | None
    ) -> None:
        """Record the row counts. Idempotent once finished; raises `FeedStateError` if the feed
        was never received or counts do not add up."""
        if self.finished:
            return
        if self.received is None:
            raise FeedStateError(f"feed {self.id!r} cannot complete: it was never received")
        if rows_applied + rows_rejected != rows_total:
            raise FeedStateError(
                f"feed {self.id!r}: applied {rows_applied} + rejected {rows_rejected} != total {rows_total}"
            )
        self._record(
            FeedProcessed(
                blob_name=self.received.blob_name,
                supplier_id=self.received.supplier_id,
                format=self.received.format,
                rows_total=rows_total,
                rows_applied=rows_applied,
                rows_rejected=rows_rejected,
                quarantine_location=quarantine_location,
            )
        )

    def reject(self, *, blob_name: str, supplier_id: str, reason: str, detail: str | None) -> None:
        """Refuse the whole feed; idempotent once finished."""
        if not self.finished:
            self._record(
                FeedRejected(blob_name=blob_name, supplier_id=supplier_id, reason=reason, detail=detail)
            )

    def _apply(self, event: DomainEvent) -> None:
        if isinstance(event, FeedReceived):
            self.status, self.received = "received", event
        elif isinstance(event, FeedRowsApplied):
            self.applied_through = max(self.applied_through, event.through_line)
        elif isinstance(event, FeedProcessed):
            self.status, self.outcome = "processed", event
        elif isinstance(event, FeedRejected):
            self.status, self.outcome = "rejected", event
