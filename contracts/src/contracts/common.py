"""Shapes and value types every contract shares, and the base class of every event payload.

Conventions, promised to every consumer:

- Money is an integer amount in the currency's minor unit (`*_minor`) next to exactly one ISO 4217
  `currency` field in the same object; an object never mixes currencies.
- Times are RFC 3339 in UTC (`Z` or a zero offset); naive or non-UTC times are refused.
- Ids are non-empty strings without whitespace and at most 128 characters (they become Service Bus
  session ids and Event Hubs partition keys, both limited to 128).
- Quantities are positive integers; stock levels are non-negative integers.
- Unknown fields are ignored, so a newer producer may add optional fields within a version.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, ClassVar, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    model_validator,
)

Transport = Literal["service-bus", "event-hubs"]
"""How an event travels: a Service Bus topic or an event hub."""

Producer = Literal["inventory", "orders", "reporting", "migration"]
"""The Nightshift services that publish events."""

UTC_SUFFIX_PATTERN = r"([Zz]|[+-]00:00)$"
"""Regular expression a UTC RFC 3339 time ends with (used in the JSON Schemas)."""


def _require_utc(value: datetime) -> datetime:
    if value.utcoffset() != timedelta(0):
        raise ValueError(f"time must be in UTC (offset Z or +00:00), got offset {value.utcoffset()}")
    return value


UtcDateTime = Annotated[
    AwareDatetime,
    AfterValidator(_require_utc),
    Field(json_schema_extra={"pattern": UTC_SUFFIX_PATTERN}),
]
"""An RFC 3339 date-time in UTC; naive or offset times are refused."""

Id = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^\S+$")]
"""An identifier: 1-128 characters, no whitespace."""

Sku = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^\S+$")]
"""A stock-keeping unit code: 1-64 characters, no whitespace."""

WarehouseId = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^\S+$")]
"""A warehouse code: 1-32 characters, no whitespace."""

Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
"""An ISO 4217 alphabetic currency code: three upper-case letters."""

Location = Annotated[str, StringConstraints(min_length=1, max_length=2048)]
"""Where a stored file lies: a blob URL (or `container/blob` path under devhost)."""

BlobName = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
"""A blob name within its container (Azure allows up to 1024 characters)."""

Reason = Annotated[str, StringConstraints(min_length=1, max_length=1000)]
"""Free text for humans explaining an outcome; never parsed by consumers."""

Count = Annotated[int, Strict(), Field(ge=0)]
"""A non-negative integer (strict: strings and booleans are refused, as the JSON Schema does)."""

Quantity = Annotated[int, Strict(), Field(gt=0)]
"""A positive whole number of units (strict)."""

SignedInt = Annotated[int, Strict()]
"""An integer that may be negative (strict)."""

AmountMinor = Count
"""A non-negative amount in the minor unit of the object's `currency`."""


class EventPayload(BaseModel):
    """Base of every contract event's `data`.

    Each subclass names its CloudEvent `type`, the channel it travels on, the field holding the
    aggregate id (CloudEvent `subject` and `partitionkey`, Service Bus `session_id`, Event Hubs
    partition key) and the service that produces it. Models are immutable and ignore unknown fields.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    EVENT_TYPE: ClassVar[str]
    PRODUCER: ClassVar[Producer]
    TRANSPORT: ClassVar[Transport]
    CHANNEL: ClassVar[str]
    PARTITION_KEY_FIELD: ClassVar[str]

    def partition_key(self) -> str:
        """The aggregate id this event belongs to: its subject and partition key."""
        value = getattr(self, self.PARTITION_KEY_FIELD)
        if not isinstance(value, str):  # pragma: no cover - guarded by test_contract_registry
            raise TypeError(f"{type(self).__name__}.{self.PARTITION_KEY_FIELD} is not a string")
        return value


class _Shape(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class StockLine(_Shape):
    """A quantity of one SKU at one warehouse (a reserved or shipped line)."""

    sku: Sku = Field(description="Stock-keeping unit.")
    warehouse: WarehouseId = Field(description="Warehouse the stock is held in.")
    quantity: Quantity = Field(description="Units, at least 1.")


class OrderLine(_Shape):
    """One line of an order, priced in the order's currency."""

    sku: Sku = Field(description="Stock-keeping unit.")
    quantity: Quantity = Field(description="Units ordered, at least 1.")
    unit_price_minor: AmountMinor = Field(description="Price of one unit, in minor units.")
    line_total_minor: AmountMinor = Field(description="quantity x unit_price_minor, in minor units.")

    @model_validator(mode="after")
    def _line_total_is_quantity_times_price(self) -> OrderLine:
        expected = self.quantity * self.unit_price_minor
        if self.line_total_minor != expected:
            raise ValueError(
                f"line_total_minor must equal quantity x unit_price_minor ({expected}), "
                f"got {self.line_total_minor}"
            )
        return self


class Address(_Shape):
    """A postal address to ship to."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(
        description="Recipient name."
    )
    line1: Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(
        description="First address line."
    )
    line2: Annotated[str, StringConstraints(max_length=200)] | None = Field(
        default=None, description="Second address line, if any."
    )
    city: Annotated[str, StringConstraints(min_length=1, max_length=100)] = Field(description="City.")
    region: Annotated[str, StringConstraints(max_length=100)] | None = Field(
        default=None, description="State, county or province, if any."
    )
    postal_code: Annotated[str, StringConstraints(min_length=1, max_length=20)] = Field(
        description="Postal code."
    )
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] = Field(
        description="ISO 3166-1 alpha-2 country code, upper case."
    )


OrderStatus = Literal["placed", "confirmed", "fulfilled", "cancelled"]
"""Where an order stands; imported legacy orders may be in any of these states."""


class OrderSnapshot(_Shape):
    """An order as a whole, in Nightshift's shape (used for migrated legacy orders)."""

    order_id: Id = Field(description="Nightshift order id.")
    legacy_id: Id = Field(description="The order's id in the legacy system.")
    customer_id: Id = Field(description="Customer who placed the order.")
    lines: list[OrderLine] = Field(min_length=1, description="Order lines, at least one.")
    total_minor: AmountMinor = Field(description="Order total, in minor units of `currency`.")
    currency: Currency = Field(description="ISO 4217 currency of every amount in this order.")
    placed_at: UtcDateTime = Field(description="When the customer placed the order (UTC).")
    status: OrderStatus = Field(description="The order's status when it was migrated.")
