"""Events the orders service publishes on the Service Bus topic `orders`: the order saga's milestones
and orders imported from the legacy system. Every event is keyed by its order id.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from contracts.common import (
    Address,
    AmountMinor,
    Currency,
    EventPayload,
    Id,
    OrderLine,
    OrderSnapshot,
    Producer,
    StockLine,
    Transport,
    UtcDateTime,
    _Shape,
)


class _OrdersTopicEvent(EventPayload):
    PRODUCER: ClassVar[Producer] = "orders"
    TRANSPORT: ClassVar[Transport] = "service-bus"
    CHANNEL: ClassVar[str] = "orders"
    PARTITION_KEY_FIELD: ClassVar[str] = "order_id"


class OrderPlacedV1(_OrdersTopicEvent):
    """A customer placed an order; the saga starts by reserving its stock."""

    EVENT_TYPE: ClassVar[str] = "com.nightshift.orders.order.placed.v1"

    order_id: Id = Field(description="Order id.")
    customer_id: Id = Field(description="Customer who placed the order.")
    lines: list[OrderLine] = Field(min_length=1, description="Order lines, at least one.")
    total_minor: AmountMinor = Field(description="Order total, in minor units of `currency`.")
    currency: Currency = Field(description="ISO 4217 currency of every amount in this order.")
    placed_at: UtcDateTime = Field(description="When the customer placed the order (UTC).")


class PaymentCapturedV1(_OrdersTopicEvent):
    """The payment for an order was captured."""

    EVENT_TYPE: ClassVar[str] = "com.nightshift.orders.order.payment-captured.v1"

    order_id: Id = Field(description="Order paid for.")
    payment_id: Id = Field(description="Payment provider's id of the capture.")
    amount_minor: AmountMinor = Field(description="Amount captured, in minor units of `currency`.")
    currency: Currency = Field(description="ISO 4217 currency of amount_minor.")


class OrderConfirmedV1(_OrdersTopicEvent):
    """An order's stock is reserved and its payment captured; it will be fulfilled."""

    EVENT_TYPE: ClassVar[str] = "com.nightshift.orders.order.confirmed.v1"

    order_id: Id = Field(description="Order confirmed.")
    reservation_id: Id | None = Field(default=None, description="Stock reservation behind the order.")
    payment_id: Id | None = Field(default=None, description="Payment captured for the order.")


class FulfillmentRequestedV1(_OrdersTopicEvent):
    """Fulfilment is asked to pick, pack and ship a confirmed order."""

    EVENT_TYPE: ClassVar[str] = "com.nightshift.orders.order.fulfillment-requested.v1"

    order_id: Id = Field(description="Order to fulfil.")
    customer_id: Id = Field(description="Customer who placed the order.")
    reservation_id: Id = Field(description="Reservation holding the stock.")
    lines: list[StockLine] = Field(min_length=1, description="What to ship, from which warehouse.")
    ship_to: Address = Field(description="Where to ship.")


CancellationReason = Literal["out-of-stock", "payment-declined", "timeout", "customer"]


class Refund(_Shape):
    """Money returned to the customer."""

    payment_id: Id = Field(description="Payment refunded.")
    amount_minor: AmountMinor = Field(description="Amount refunded, in minor units of `currency`.")
    currency: Currency = Field(description="ISO 4217 currency of amount_minor.")


class OrderCancelledV1(_OrdersTopicEvent):
    """An order was cancelled; any captured payment was refunded."""

    EVENT_TYPE: ClassVar[str] = "com.nightshift.orders.order.cancelled.v1"

    order_id: Id = Field(description="Order cancelled.")
    reason: CancellationReason = Field(description="Why the order was cancelled.")
    reservation_id: Id | None = Field(
        default=None, description="Reservation to release, if stock had been reserved."
    )
    refund: Refund | None = Field(default=None, description="The refund, if a payment had been captured.")


class OrderImportedV1(OrderSnapshot, _OrdersTopicEvent):
    """A legacy order was imported into Nightshift as it stood in the legacy system."""

    EVENT_TYPE: ClassVar[str] = "com.nightshift.orders.order.imported.v1"

    run_id: Id = Field(description="Migration run that brought the order over.")


__all__ = [
    "CancellationReason",
    "FulfillmentRequestedV1",
    "OrderCancelledV1",
    "OrderConfirmedV1",
    "OrderImportedV1",
    "OrderPlacedV1",
    "PaymentCapturedV1",
    "Refund",
]
