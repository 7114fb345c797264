"""JSON views of orders and catalog prices, as contracts/openapi/orders.yaml describes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .domain import Order, Price


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def order_view(order: Order) -> dict[str, Any]:
    """The `Order` schema."""
    cancellation = None
    if order.cancellation is not None:
        refund = order.cancellation.refund
        cancellation = {
            "reason": order.cancellation.reason,
            "refund": None if refund is None else refund.model_dump(mode="json"),
        }
    return {
        "order_id": order.id,
        "customer_id": order.customer_id,
        "status": order.status,
        "stage": order.stage,
        "lines": [line.model_dump(mode="json") for line in order.lines],
        "total_minor": order.total_minor,
        "currency": order.currency,
        "ship_to": order.ship_to,
        "placed_at": _time(order.placed_at),
        "updated_at": _time(order.updated_at),
        "reservation_id": order.reservation_id,
        "payment_id": order.payment_id,
        "fulfillment_requested": order.fulfillment_requested,
        "cancellation_requested": order.cancellation_requested,
        "cancellation": cancellation,
    }


def price_view(sku: str, price: Price) -> dict[str, Any]:
    """The `CatalogItem` schema."""
    return {
        "sku": sku,
        "unit_price_minor": price.unit_price_minor,
        "currency": price.currency,
        "updated_at": _time(price.updated_at),
    }
