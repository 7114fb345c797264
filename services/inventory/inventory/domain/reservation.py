"""`OrderReservation` (stream `reservation-<order id>`): the all-or-nothing decision per order."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import ClassVar, Literal

from eventkit.aggregate import Aggregate, DomainEvent

from .common import _Value

# --- OrderReservation -----------------------------------------------------------------------


class ReservedLine(_Value):
    sku: str
    warehouse: str
    quantity: int


class ShortLine(_Value):
    sku: str
    requested: int
    available: int
    known: bool = True


class ReservationConfirmed(DomainEvent):
    EVENT_TYPE: ClassVar[str] = "inventory.ReservationConfirmed"
    order_id: str
    reservation_id: str
    lines: tuple[ReservedLine, ...]


class ReservationRefused(DomainEvent):
    EVENT_TYPE: ClassVar[str] = "inventory.ReservationRefused"
    order_id: str
    short_lines: tuple[ShortLine, ...]


class ReservationReleased(DomainEvent):
    EVENT_TYPE: ClassVar[str] = "inventory.ReservationReleased"
    order_id: str
    reservation_id: str | None
    reason: str
    lines: tuple[ReservedLine, ...] = ()


ReservationStatus = Literal["open", "reserved", "refused", "released"]


def reservation_id_for(order_id: str) -> str:
    """The reservation id of an order: stable, so a redelivered order names the same reservation."""
    return f"res-{uuid.uuid5(uuid.NAMESPACE_URL, 'nightshift:inventory:' + order_id)}"


@dataclass
class ReservationView:
    status: ReservationStatus = "open"
    reservation_id: str | None = None
    lines: tuple[ReservedLine, ...] = ()
    short_lines: tuple[ShortLine, ...] = field(default_factory=tuple)


class OrderReservation(Aggregate[DomainEvent]):
    """The reservation decision for one order: reserved in full, refused, or released."""

    STREAM_PREFIX: ClassVar[str] = "reservation"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.view = ReservationView()

    def confirm(self, lines: tuple[ReservedLine, ...]) -> bool:
        """Record every line reserved. Returns False (recording nothing) when the order was
        decided before: the caller must then undo what it reserved unless it is reserved."""
        if self.view.status != "open":
            return False
        self._record(
            ReservationConfirmed(order_id=self.id, reservation_id=reservation_id_for(self.id), lines=lines)
        )
        return True

    def refuse(self, short_lines: tuple[ShortLine, ...]) -> None:
        """Record that nothing was reserved; idempotent once decided."""
        if self.view.status == "open":
            self._record(ReservationRefused(order_id=self.id, short_lines=short_lines))

    def release(self, reason: str) -> tuple[ReservedLine, ...]:
        """Close the reservation and return the lines to give back. Releasing an open order
        closes it too (a late `order.placed` then reserves nothing); idempotent."""
        if self.view.status in ("refused", "released"):
            return ()
        lines = self.view.lines
        self._record(
            ReservationReleased(
                order_id=self.id, reservation_id=self.view.reservation_id, reason=reason, lines=lines
            )
        )
        return lines

    def _apply(self, event: DomainEvent) -> None:
        if isinstance(event, ReservationConfirmed):
            self.view = ReservationView("reserved", event.reservation_id, event.lines)
        elif isinstance(event, ReservationRefused):
            self.view = ReservationView("refused", short_lines=event.short_lines)
        elif isinstance(event, ReservationReleased):
            self.view = ReservationView("released", event.reservation_id, event.lines)
