"""What every inventory aggregate shares: its errors and value objects."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

DEFAULT_REORDER_POINT = 10


class InventoryError(Exception):
    """Base of the rule violations inventory's aggregates raise."""


class InsufficientStock(InventoryError):
    """A reservation asked for more units than are available; nothing was reserved."""

    def __init__(self, sku: str, requested: int, available: int) -> None:
        super().__init__(f"SKU {sku!r}: {requested} requested, only {available} available")
        self.sku = sku
        self.requested = requested
        self.available = available


class FeedStateError(InventoryError):
    """A feed command does not fit the feed's state (e.g. completing a feed never received)."""


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Allocation(_Value):
    """Units of one SKU held at one warehouse for an order."""

    warehouse: str
    quantity: int
