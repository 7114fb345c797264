"""Domain events → contract (integration) events, and the outbox relay.

The store is the outbox: the change-feed trigger hands the relay the documents of new appends
(`eventkit.store.cosmos` layout: `streamId`, `firstVersion`, `events[{eventId, type, data}]`).
Each domain event that matters outside becomes one CloudEvent with the stored event id as its id
(stable across relay retries, so duplicate detection drops a re-sent one): `stock.adjusted` goes
to the event hub `inventory-stock`, everything else to the topic `inventory`. Internal events
(feed received, stock held per SKU, reorder point set) are not published.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from cloudevents.core.v1.event import CloudEvent
from pydantic import BaseModel

from contracts.common import StockLine
from contracts.inventory import (
    FeedProcessedV1,
    FeedRejectedV1,
    ReservationRejectedV1,
    ReservationReleasedV1,
    ShortLine,
    StockAdjustedV1,
    StockLowV1,
    StockReservedV1,
)
from eventkit import envelope
from eventkit.aggregate import DomainEvent
from eventkit.mapper import EventMapper
from eventkit.publisher import Publisher
from eventkit.store import StoredEvent
from eventkit.store.documents import events_of_change_feed

from . import domain
from .stock_contracts import INTERNAL_TYPES, fast_cloud_event

TOPIC = "inventory"
STOCK_HUB = "inventory-stock"
_REJECTION_REASONS = {"unreadable", "bad-header", "unknown-supplier", "too-many-rejected-rows", "poisoned"}


def to_contract(event: DomainEvent) -> BaseModel | None:
    """The contract event for a domain event of a stock or reservation stream, or None if it is
    internal (feed events need their feed id: `contract_for`)."""
    if isinstance(event, domain.StockAdjusted):
        return StockAdjustedV1(
            sku=event.sku,
            warehouse=event.warehouse,
            on_hand=event.on_hand,
            delta=event.delta,
            reason="feed",
            cause_id=event.feed_id,
            unit_cost_minor=event.unit_cost_minor,
            currency=event.currency,
        )
    if isinstance(event, domain.StockRanLow):
        return StockLowV1(
            sku=event.sku,
            warehouse=event.warehouse,
            on_hand=event.available,
            reorder_point=event.reorder_point,
        )
    if isinstance(event, domain.ReservationConfirmed):
        return StockReservedV1(
            order_id=event.order_id,
            reservation_id=event.reservation_id,
            lines=[StockLine(sku=x.sku, warehouse=x.warehouse, quantity=x.quantity) for x in event.lines],
        )
    if isinstance(event, domain.ReservationRefused):
        unknown = any(not line.known for line in event.short_lines)
        return ReservationRejectedV1(
            order_id=event.order_id,
            reason="unknown-sku" if unknown else "insufficient-stock",
            short_lines=[
                ShortLine(sku=x.sku, requested=x.requested, available=x.available) for x in event.short_lines
            ],
        )
    if isinstance(event, domain.ReservationReleased) and event.reservation_id is not None:
        reason = (
            event.reason if event.reason in ("order-cancelled", "reservation-expired") else "order-cancelled"
        )
        return ReservationReleasedV1(
            order_id=event.order_id, reservation_id=event.reservation_id, reason=reason
        )
    return None


def _feed_processed(event: domain.FeedProcessed, feed_id: str) -> FeedProcessedV1:
    return FeedProcessedV1(
        feed_id=feed_id,
        supplier_id=event.supplier_id,
        blob_name=event.blob_name,
        format=event.format,
        rows_total=event.rows_total,
        rows_applied=event.rows_applied,
        rows_rejected=event.rows_rejected,
        quarantine_location=event.quarantine_location,
    )


def contract_for(event: DomainEvent, aggregate_id: str) -> BaseModel | None:
    if isinstance(event, domain.FeedProcessed):
        return _feed_processed(event, aggregate_id)
    if isinstance(event, domain.FeedRejected):
        return FeedRejectedV1(
            feed_id=aggregate_id,
            supplier_id=event.supplier_id,
            blob_name=event.blob_name,
            reason=event.reason if event.reason in _REJECTION_REASONS else "unreadable",
            detail=event.detail,
        )
    return to_contract(event)


@dataclass(frozen=True)
class Outgoing:
    destination: str
    event: CloudEvent


def _aggregate_id(stream_id: str) -> str:
    return stream_id.split("-", 1)[1] if "-" in stream_id else stream_id


def outgoing_events(
    stored: Iterable[StoredEvent], mapper: EventMapper, *, fast: bool = True
) -> list[Outgoing]:
    """The CloudEvents to publish for stored events, in store order. With `fast` (the default)
    the stock events take `stock_contracts`' direct path; the events are the same either way."""
    return [Outgoing(destination, event) for destination, event in _outgoing(stored, mapper, fast)]


def _outgoing(
    stored: Iterable[StoredEvent], mapper: EventMapper, fast: bool
) -> Iterator[tuple[str, CloudEvent]]:
    adjusted = StockAdjustedV1.EVENT_TYPE
    for item in stored:
        if fast:
            if item.type in INTERNAL_TYPES:
                continue
            direct = fast_cloud_event(
                item.type, item.data, item.metadata, item.event_id, item.version, item.recorded_at
            )
            if direct is not None:
                yield (STOCK_HUB if direct.get_type() == adjusted else TOPIC), direct
                continue
        aggregate_id = _aggregate_id(item.stream_id)
        model = contract_for(mapper.to_domain(item), aggregate_id)
        if model is None:
            continue
        subject = aggregate_id if not isinstance(model, StockAdjustedV1 | StockLowV1) else model.sku
        cloud_event = envelope.build(
            model,
            subject=subject,
            event_id=item.event_id,
            time=item.recorded_at,
            sequence=item.version,
            causationid=item.metadata.get("causation_id"),
            correlationid=item.metadata.get("correlation_id"),
        )
        yield (STOCK_HUB if isinstance(model, StockAdjustedV1) else TOPIC), cloud_event


def relay(
    documents: Iterable[Mapping[str, Any]], mapper: EventMapper, publishers: Mapping[str, Publisher]
) -> int:
    """Publish the contract events of new appends; returns how many were sent.

    One publish per destination per call, each in store order: the hub `inventory-stock` first
    (one atomic send), then the topic, so within a batch a `feed.processed` or `stock.low` is
    never published before the stock changes stored ahead of it. Across batches order holds per
    stream only: the change feed is ordered per partition key, and batches of different feed
    ranges (physical partitions) are relayed concurrently. Raises `PublishError` (the trigger retries the
    batch: the topic drops a re-sent event by message id; if the topic failed after the hub
    took its part, the hub's part is sent again, and hub consumers drop repeats by event id,
    which is stable) and `KeyError` if no publisher serves a destination."""
    by_destination: dict[str, list[CloudEvent]] = {STOCK_HUB: [], TOPIC: []}
    sent = 0
    for destination, event in _outgoing(events_of_change_feed(documents), mapper, True):
        by_destination[destination].append(event)
        sent += 1
    for destination, events in by_destination.items():
        if events:
            publishers[destination].publish(destination, events)
    return sent
