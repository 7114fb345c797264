"""Events the reporting service publishes on the Service Bus topic `reporting`."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, StrictBool, model_validator

from contracts.common import (
    AmountMinor,
    Count,
    Currency,
    EventPayload,
    Id,
    Location,
    Producer,
    SignedInt,
    Transport,
    UtcDateTime,
    _Shape,
)

ReportKind = Literal["daily-financial-summary"]
ReportFormat = Literal["csv", "json", "html", "pdf"]


class HeadlineFigures(_Shape):
    """The report's key figures, all in one currency."""

    order_count: Count = Field(description="Orders placed in the period.")
    cancelled_count: Count = Field(description="Orders cancelled in the period.")
    gross_minor: AmountMinor = Field(description="Value of orders placed, in minor units.")
    refunds_minor: AmountMinor = Field(description="Value refunded, in minor units.")
    net_minor: SignedInt = Field(description="gross_minor - refunds_minor; negative if refunds exceed sales.")
    currency: Currency = Field(description="ISO 4217 currency of every amount here.")

    @model_validator(mode="after")
    def _net_is_gross_less_refunds(self) -> HeadlineFigures:
        expected = self.gross_minor - self.refunds_minor
        if self.net_minor != expected:
            raise ValueError(
                f"net_minor must equal gross_minor - refunds_minor ({expected}), got {self.net_minor}"
            )
        return self


class ReportPublishedV1(EventPayload):
    """A report was written in one or more formats and is ready for stakeholders."""

    EVENT_TYPE: ClassVar[str] = "com.nightshift.reporting.report.published.v1"
    PRODUCER: ClassVar[Producer] = "reporting"
    TRANSPORT: ClassVar[Transport] = "service-bus"
    CHANNEL: ClassVar[str] = "reporting"
    PARTITION_KEY_FIELD: ClassVar[str] = "report_id"

    report_id: Id = Field(description="Report id (stable for one kind and period).")
    report_kind: ReportKind = Field(description="Which report this is.")
    period_start: UtcDateTime = Field(description="Start of the reported period, inclusive (UTC).")
    period_end: UtcDateTime = Field(description="End of the reported period, exclusive (UTC).")
    formats: dict[ReportFormat, Location] = Field(
        min_length=1, description="Where each rendered format lies: format -> blob URL."
    )
    headline: HeadlineFigures = Field(description="Key figures of the report.")
    scheduled_for: UtcDateTime = Field(description="When the run was due (UTC).")
    generated_at: UtcDateTime = Field(description="When the report was produced (UTC).")
    late: StrictBool = Field(description="True when the run started after its schedule allowed (a late run).")

    @model_validator(mode="after")
    def _period_is_ordered(self) -> ReportPublishedV1:
        if self.period_end <= self.period_start:
            raise ValueError("period_end must be after period_start")
        return self


__all__ = ["HeadlineFigures", "ReportFormat", "ReportKind", "ReportPublishedV1"]
