"""`CatalogItem` (stream `catalog-<sku>`): the price the server charges for one SKU."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from eventkit.aggregate import Aggregate, DomainEvent

from .common import Price


class PriceSet(DomainEvent):
    EVENT_TYPE: ClassVar[str] = "orders.PriceSet"
    sku: str
    unit_price_minor: int
    currency: str
    at: datetime


class CatalogItem(Aggregate[DomainEvent]):
    """One SKU's price; a SKU without a price cannot be ordered."""

    STREAM_PREFIX: ClassVar[str] = "catalog"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.price: Price | None = None

    def set_price(self, unit_price_minor: int, currency: str, at: datetime) -> Price:
        """Set the price; setting the price it already has records nothing (idempotent).
        Raises `ValueError` for a negative price."""
        if unit_price_minor < 0:
            raise ValueError(f"SKU {self.id!r}: a price cannot be negative ({unit_price_minor})")
        current = self.price
        if current is None or (current.unit_price_minor, current.currency) != (unit_price_minor, currency):
            self._record(PriceSet(sku=self.id, unit_price_minor=unit_price_minor, currency=currency, at=at))
        assert self.price is not None
        return self.price

    def _apply(self, event: DomainEvent) -> None:
        if isinstance(event, PriceSet):
            self.price = Price(
                unit_price_minor=event.unit_price_minor, currency=event.currency, updated_at=event.at
            )
