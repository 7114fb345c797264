"""Domain events <-> contract (integration) events, and the outbox relay.

Outbound: the store is the outbox. The change-feed trigger hands the relay the documents of new
appends; each order event that matters outside becomes one CloudEvent on topic `orders` with the
stored event id as its id (stable across relay retries, so duplicate detection drops a re-sent
one), subject and session id = the order id, `sequence` = the order stream's version. Internal
events (acceptance, the reservation seen, the customer's cancellation request, catalog prices)
are not published.

Inbound: inventory's `stock.reserved` / `reservation.rejected` become the saga's external event
`reservation` (`reservation_answer`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from cloudevents.core.v1.event import CloudEvent
from pydantic import BaseModel

from contracts.common import Address, OrderLine, StockLine
from contracts.inventory import ReservationRejectedV1, StockReservedV1
from contracts.orders import (
    FulfillmentRequestedV1,
    OrderCancelledV1,
    OrderConfirmedV1,
    OrderPlacedV1,
    PaymentCapturedV1,
    Refund,
)
from eventkit import envelope
from eventkit.aggregate import DomainEvent
from eventkit.mapper import EventMapper
from eventkit.publisher import Publisher
from eventkit.store import StoredEvent
from eventkit.store.documents import events_of_change_feed

from . import domain

TOPIC = "orders"


def to_contract(event: DomainEvent, order_id: str) -> BaseModel | None:
    """The contract event for a domain event of order `order_id`, or None if it is internal."""
    if isinstance(event, domain.OrderPlaced):
        return OrderPlacedV1(
            order_id=order_id,
            customer_id=event.customer_id,
            lines=[OrderLine(**line.model_dump()) for line in event.lines],
            total_minor=event.total_minor,
            currency=event.currency,
            placed_at=event.placed_at,
        )
    if isinstance(event, domain.PaymentCaptured):
        return PaymentCapturedV1(
            order_id=order_id,
            payment_id=event.payment_id,
            amount_minor=event.amount_minor,
            currency=event.currency,
        )
    if isinstance(event, domain.OrderConfirmed):
        return OrderConfirmedV1(
            order_id=order_id, reservation_id=event.reservation_id, payment_id=event.payment_id
        )
    if isinstance(event, domain.FulfillmentRequested):
        return FulfillmentRequestedV1(
            order_id=order_id,
            customer_id=event.customer_id,
            reservation_id=event.reservation_id,
            lines=[StockLine(**line.model_dump()) for line in event.lines],
            ship_to=Address.model_validate(event.ship_to),
        )
    if isinstance(event, domain.OrderCancelled):
        refund = event.refund
        return OrderCancelledV1(
            order_id=order_id,
            reason=event.reason,
            reservation_id=event.reservation_id,
            refund=None
            if refund is None
            else Refund(
                payment_id=refund.payment_id, amount_minor=refund.amount_minor, currency=refund.currency
            ),
        )
    return None


def reservation_answer(model: BaseModel) -> tuple[str, dict[str, Any]] | None:
    """(order id, payload of the saga's `reservation` event) for inventory's answer, else None."""
    if isinstance(model, StockReservedV1):
        lines = [line.model_dump(mode="json") for line in model.lines]
        return model.order_id, {
            "outcome": "reserved",
            "reservation_id": model.reservation_id,
            "lines": lines,
        }
    if isinstance(model, ReservationRejectedV1):
        return model.order_id, {
            "outcome": "rejected",
            "reason": model.reason,
            "short_lines": [line.model_dump(mode="json") for line in model.short_lines],
        }
    return None


def outgoing_events(stored: Iterable[StoredEvent], mapper: EventMapper) -> list[CloudEvent]:
    """The CloudEvents to publish for stored events, in store order."""
    result: list[CloudEvent] = []
    for item in stored:
        if not item.stream_id.startswith(domain.Order.STREAM_PREFIX + "-"):
            continue
        order_id = item.stream_id.split("-", 1)[1]
        model = to_contract(mapper.to_domain(item), order_id)
        if model is None:
            continue
        result.append(
            envelope.build(
                model,
                subject=order_id,
                event_id=item.event_id,
                time=item.recorded_at,
                sequence=item.version,
                causationid=item.metadata.get("causation_id"),
                correlationid=item.metadata.get("correlation_id"),
            )
        )
    return result


def accepted_orders(documents: Iterable[Mapping[str, Any]]) -> list[str]:
    """The ids of orders accepted in change-feed documents (their sagas are started from here)."""
    prefix = domain.Order.STREAM_PREFIX + "-"
    return [
        item.stream_id.removeprefix(prefix)
        for item in events_of_change_feed(documents)
        if item.type == domain.OrderAccepted.EVENT_TYPE and item.stream_id.startswith(prefix)
    ]


def relay(documents: Iterable[Mapping[str, Any]], mapper: EventMapper, publisher: Publisher) -> int:
    """Publish the contract events of new appends on topic `orders`; returns how many. Raises
    `PublishError` (nothing may be assumed sent: the trigger retries the batch, duplicates are
    dropped by message id)."""
    outgoing = outgoing_events(events_of_change_feed(documents), mapper)
    if outgoing:
        publisher.publish(TOPIC, outgoing)
    return len(outgoing)
