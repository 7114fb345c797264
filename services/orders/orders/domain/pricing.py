"""Validating and pricing an order from the server's own catalog (no I/O).

A client never sets a price or a total: it names SKUs and quantities, and the price of each line
is the catalog's unit price times the quantity.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .common import CurrencyMismatch, LimitExceeded, OrderLimits, Price, PricedLine, UnknownSku


def check_limits(lines: Sequence[tuple[str, int]], limits: OrderLimits) -> None:
    """Raise `LimitExceeded` naming the field when the order has no line, too many lines, or a
    quantity outside 1..max_quantity."""
    if not lines:
        raise LimitExceeded("lines", "an order needs at least one line")
    if len(lines) > limits.max_lines:
        raise LimitExceeded("lines", f"{len(lines)} lines; an order has at most {limits.max_lines}")
    for index, (_, quantity) in enumerate(lines):
        if not 1 <= quantity <= limits.max_quantity:
            raise LimitExceeded(
                f"lines[{index}].quantity",
                f"{quantity} units; a line orders 1 to {limits.max_quantity} units",
            )


def price_lines(
    lines: Sequence[tuple[str, int]], prices: Mapping[str, Price | None], limits: OrderLimits
) -> tuple[list[PricedLine], int, str]:
    """The priced lines, the total and the currency. Raises `LimitExceeded`, `UnknownSku` (every
    SKU without a price, in order) or `CurrencyMismatch`."""
    check_limits(lines, limits)
    unknown = [sku for sku, _ in lines if prices.get(sku) is None]
    if unknown:
        raise UnknownSku(list(dict.fromkeys(unknown)))
    used = {prices[sku].currency for sku, _ in lines}  # type: ignore[union-attr]
    if len(used) != 1:
        raise CurrencyMismatch(f"the order's SKUs are priced in {sorted(used)}; one currency per order")
    priced = []
    for sku, quantity in lines:
        price = prices[sku]
        assert price is not None
        priced.append(
            PricedLine(
                sku=sku,
                quantity=quantity,
                unit_price_minor=price.unit_price_minor,
                line_total_minor=price.unit_price_minor * quantity,
            )
        )
    return priced, sum(line.line_total_minor for line in priced), used.pop()
