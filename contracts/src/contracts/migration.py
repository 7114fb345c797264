"""Events the migration service publishes: one record per migrated legacy order on the event hub
`migration-records` (keyed by legacy id), and one summary per run on the Service Bus topic
`migration`.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, model_validator

from contracts.common import (
    Count,
    EventPayload,
    Id,
    Location,
    OrderSnapshot,
    Producer,
    Transport,
    UtcDateTime,
)


class OrderMigratedV1(EventPayload):
    """A legacy order was read, validated and converted to Nightshift's order shape."""

    EVENT_TYPE: ClassVar[str] = "com.nightshift.migration.order.migrated.v1"
    PRODUCER: ClassVar[Producer] = "migration"
    TRANSPORT: ClassVar[Transport] = "event-hubs"
    CHANNEL: ClassVar[str] = "migration-records"
    PARTITION_KEY_FIELD: ClassVar[str] = "legacy_id"

    run_id: Id = Field(description="Migration run.")
    batch_id: Id | None = Field(default=None, description="Batch of the run the record came in, if batched.")
    legacy_id: Id = Field(description="The order's id in the legacy system; the partition key.")
    order: OrderSnapshot = Field(description="The legacy order in Nightshift's shape.")

    @model_validator(mode="after")
    def _legacy_ids_agree(self) -> OrderMigratedV1:
        if self.order.legacy_id != self.legacy_id:
            raise ValueError(
                f"order.legacy_id ({self.order.legacy_id}) must equal legacy_id ({self.legacy_id})"
            )
        return self


class MigrationRunCompletedV1(EventPayload):
    """A migration run finished; its report lists every rejected record and why."""

    EVENT_TYPE: ClassVar[str] = "com.nightshift.migration.run.completed.v1"
    PRODUCER: ClassVar[Producer] = "migration"
    TRANSPORT: ClassVar[Transport] = "service-bus"
    CHANNEL: ClassVar[str] = "migration"
    PARTITION_KEY_FIELD: ClassVar[str] = "run_id"

    run_id: Id = Field(description="Migration run.")
    source: Id = Field(description="Legacy system the records were read from.")
    records_read: Count = Field(description="Records read from the source.")
    records_migrated: Count = Field(description="Records converted and published.")
    records_rejected: Count = Field(description="Records refused; listed in the report.")
    started_at: UtcDateTime = Field(description="When the run started (UTC).")
    completed_at: UtcDateTime = Field(description="When the run completed (UTC).")
    duration_ms: Count = Field(description="Wall-clock duration of the run, in milliseconds.")
    report_location: Location = Field(description="Where the run report lies (blob URL).")

    @model_validator(mode="after")
    def _counts_and_times_agree(self) -> MigrationRunCompletedV1:
        if self.records_migrated + self.records_rejected > self.records_read:
            raise ValueError(
                f"records_migrated ({self.records_migrated}) + records_rejected ({self.records_rejected}) "
                f"must not exceed records_read ({self.records_read})"
            )
        if self.completed_at < self.started_at:
            raise ValueError("completed_at must not be before started_at")
        return self


__all__ = ["MigrationRunCompletedV1", "OrderMigratedV1"]
