"""Use cases: apply a supplier feed, reserve and release an order's stock, and the queries.

Every change goes through `Repository.execute` (load → decide → append, retried on a version
clash), so two feeds or two orders touching one SKU never lose an update. Handlers only append:
the change-feed relay publishes (ARCHITECTURE.md section 5).
"""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any, BinaryIO, Literal, TypeVar

from eventkit.aggregate import Aggregate
from eventkit.blobs import BlobNotFound, BlobStore
from eventkit.mapper import EventMapper
from eventkit.repository import ConcurrencyRetriesExhausted, Repository
from eventkit.store import EventStore

from .domain import (
    DEFAULT_REORDER_POINT,
    DOMAIN_EVENTS,
    Allocation,
    InsufficientStock,
    OrderReservation,
    ReservedLine,
    ShortLine,
    StockItem,
    SupplierFeed,
    feed_id_for,
)
from .feeds import FeedError, FeedLimits, FeedName, FeedRow, RejectedRow, parse_feed_name, read_feed
from .quarantine import (
    QUARANTINE_CONTAINER,
    RejectionRecord,
    RejectionSpool,
    quarantine_name,
    read_rejections,
)
from .stock_batches import FeedBatcher, SnapshotStockRepository

A = TypeVar("A", bound=Aggregate[Any])
R = TypeVar("R")


@dataclass
class Inventory:
    """The ports and settings the use cases need; built once per process by `bootstrap`."""

    store: EventStore
    blobs: BlobStore
    default_reorder_point: int = DEFAULT_REORDER_POINT
    default_currency: str = "EUR"
    limits: FeedLimits = field(default_factory=FeedLimits)
    mapper: EventMapper = field(default_factory=lambda: EventMapper(DOMAIN_EVENTS))

    def __post_init__(self) -> None:
        self.batcher = FeedBatcher(self.store, self.mapper)
        self.stock: Repository[StockItem] = SnapshotStockRepository(
            self.store, self.mapper, self.batcher.snapshots
        )
        self.feeds = Repository(self.store, self.mapper, SupplierFeed)
        self.reservations = Repository(self.store, self.mapper, OrderReservation)


def _execute(repository: Repository[A], aggregate_id: str, command: Callable[[A], R], rounds: int = 30) -> R:
    """`Repository.execute` with jittered back-off between rounds, for hot SKUs. Raises
    `ConcurrencyRetriesExhausted` when every round met concurrent writers."""
    for round_ in range(rounds):
        try:
            return repository.execute(aggregate_id, command, attempts=10)
        except ConcurrencyRetriesExhausted:
            if round_ == rounds - 1:
                raise
            time.sleep(random.uniform(0, 0.002 * (round_ + 1)))
    raise AssertionError("unreachable")  # pragma: no cover


# --- feeds ----------------------------------------------------------------------------------

FeedResult = Literal["processed", "rejected", "already-done"]


@dataclass(frozen=True)
class FeedOutcome:
    feed_id: str
    result: FeedResult
    rows_total: int = 0
    rows_applied: int = 0
    rows_rejected: int = 0
    reason: str | None = None


def _supplier_of(blob_name: str) -> str:
    first = blob_name.split("/", 1)[0].strip()
    return first if first and not any(c.isspace() for c in first) and len(first) <= 128 else "unknown"


def apply_feed(inventory: Inventory, blob_name: str, etag: str, content: BinaryIO) -> FeedOutcome:
    """Apply one uploaded blob version (`blob_name` inside `inventory-uploads`).

    Idempotent per (name, ETag): a finished feed is not read again. The whole file is validated
    before any row is applied: an unreadable file applies nothing and is rejected (no exception:
    the trigger must not retry it). Valid rows are applied, rejected rows written to the
    quarantine blob. Store or blob failures propagate so the trigger retries; a retry skips the
    rows already applied."""
    feed_id = feed_id_for(blob_name, etag)
    if inventory.feeds.load(feed_id).finished:
        return FeedOutcome(feed_id, "already-done")
    try:
        name = parse_feed_name(blob_name)
    except FeedError as exc:
        return _reject(inventory, feed_id, blob_name, exc)
    _execute(
        inventory.feeds,
        feed_id,
        lambda feed: feed.receive(
            blob_name=blob_name, supplier_id=name.supplier_id, etag=etag, format=name.format
        ),
    )
    with tempfile.SpooledTemporaryFile(max_size=4 * 1024 * 1024, mode="w+b") as valid:
        rejections = RejectionSpool()
        try:
            try:
                total = _validate_into(inventory, name, content, valid, rejections)
            except FeedError as exc:
                return _reject(inventory, feed_id, blob_name, exc)
            applied = _apply_rows(inventory, feed_id, valid)
            location = _quarantine(inventory, blob_name, rejections) if rejections.count else None
        finally:
            rejections.close()
    _execute(
        inventory.feeds,
        feed_id,
        lambda feed: feed.complete(
            rows_total=total,
            rows_applied=applied,
            rows_rejected=total - applied,
            quarantine_location=location,
        ),
    )
    return FeedOutcome(feed_id, "processed", total, applied, total - applied)


def _validate_into(
    inventory: Inventory, name: FeedName, content: BinaryIO, valid: IO[bytes], rejections: RejectionSpool
) -> int:
    total = 0
    for row in read_feed(content, name, limits=inventory.limits, default_currency=inventory.default_currency):
        total += 1
        if isinstance(row, RejectedRow):
            rejections.add(row)
        else:
            # tab-separated: the patterns rows are validated against admit no tab or newline
            valid.write(
                f"{row.line}\t{row.sku}\t{row.warehouse}\t{row.on_hand}\t{row.unit_cost_minor}\t{row.currency}\n".encode()
            )
    valid.seek(0)
    return total


APPLY_CHUNK_ROWS = 2_000
"""Valid rows read per chunk: a chunk's rows, grouped by SKU, and the feed's progress are
appended in one `append_many` (see `stock_batches`), so memory stays bounded and the cost per row
is O(1) amortised."""


def _apply_rows(inventory: Inventory, feed_id: str, valid: IO[bytes]) -> int:
    """Apply every valid row once. Rows up to the feed's recorded progress (a re-run after a
    crash) are skipped and counted as applied, as they were applied before."""
    applied = 0
    feed = inventory.batcher.load_feed(feed_id)
    for chunk in _chunks(valid, APPLY_CHUNK_ROWS):
        feed = inventory.batcher.apply_chunk(feed, chunk, chunk[-1].line, inventory.default_reorder_point)
        applied += len(chunk)
    return applied


def _chunks(valid: IO[bytes], size: int) -> Iterator[list[FeedRow]]:
    chunk: list[FeedRow] = []
    for encoded in valid:
        line, sku, warehouse, on_hand, cost, currency = encoded.decode().rstrip("\n").split("\t")
        chunk.append(FeedRow(int(line), sku, warehouse, int(on_hand), int(cost), currency))
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _quarantine(inventory: Inventory, blob_name: str, rejections: RejectionSpool) -> str:
    inventory.blobs.create_container(QUARANTINE_CONTAINER)
    target = quarantine_name(blob_name)
    inventory.blobs.put(QUARANTINE_CONTAINER, target, rejections.contents(), content_type="text/csv")
    return f"{QUARANTINE_CONTAINER}/{target}"


def _reject(inventory: Inventory, feed_id: str, blob_name: str, error: FeedError) -> FeedOutcome:
    supplier = _supplier_of(blob_name)
    detail = str(error)[:1000] or None
    _execute(
        inventory.feeds,
        feed_id,
        lambda feed: feed.reject(
            blob_name=blob_name, supplier_id=supplier, reason=error.reason, detail=detail
        ),
    )
    return FeedOutcome(feed_id, "rejected", reason=error.reason)


# --- reservations ---------------------------------------------------------------------------

ReservationResult = Literal["reserved", "refused", "released"]


@dataclass(frozen=True)
class ReservationOutcome:
    order_id: str
    result: ReservationResult
    lines: tuple[ReservedLine, ...] = ()
    short_lines: tuple[ShortLine, ...] = ()


def _merge(lines: Iterable[tuple[str, int]]) -> dict[str, int]:
    merged: dict[str, int] = {}
    for sku, quantity in lines:
        if quantity < 1:
            raise ValueError(f"order line for SKU {sku!r} has quantity {quantity}; it must be >= 1")
        merged[sku] = merged.get(sku, 0) + quantity
    return dict(sorted(merged.items()))


def _outcome(order: OrderReservation) -> ReservationOutcome:
    view = order.view
    result: ReservationResult = "released" if view.status == "released" else view.status  # type: ignore[assignment]
    return ReservationOutcome(order.id, result, view.lines, view.short_lines)


def reserve_stock(
    inventory: Inventory, order_id: str, lines: Iterable[tuple[str, int]]
) -> ReservationOutcome:
    """Reserve every line of the order or none. Idempotent by order id: a decided order returns
    its decision. Lines are reserved SKU by SKU; if one is short, those taken are given back and
    the order is refused with every short line. Available stock never goes below 0. Raises
    `ValueError` for a quantity below 1."""
    wanted = _merge(lines)
    order = inventory.reservations.load(order_id)
    if order.view.status != "open":
        return _outcome(order)
    taken: list[ReservedLine] = []
    short: list[ShortLine] = []
    for sku, quantity in wanted.items():
        if short:
            item = inventory.stock.load(sku)
            if item.available < quantity:
                short.append(
                    ShortLine(sku=sku, requested=quantity, available=item.available, known=item.known)
                )
            continue

        def reserve(item: StockItem, quantity: int = quantity) -> tuple[Allocation, ...]:
            return _reserve_known(item, order_id, quantity, inventory.default_reorder_point)

        try:
            allocations = _execute(inventory.stock, sku, reserve)
        except InsufficientStock as exc:
            short.append(
                ShortLine(sku=sku, requested=quantity, available=exc.available, known=exc.available >= 0)
            )
            continue
        taken.extend(ReservedLine(sku=sku, warehouse=a.warehouse, quantity=a.quantity) for a in allocations)
    if short:
        _give_back(inventory, order_id, {line.sku for line in taken})
        _execute(inventory.reservations, order_id, lambda o: o.refuse(tuple(_mark_unknown(short))))
        return _outcome(inventory.reservations.load(order_id))
    if not _execute(inventory.reservations, order_id, lambda o: o.confirm(tuple(taken))):
        decided = inventory.reservations.load(order_id)
        if decided.view.status != "reserved":  # released or refused meanwhile: undo ours
            _give_back(inventory, order_id, {line.sku for line in taken})
        return _outcome(decided)
    return _outcome(inventory.reservations.load(order_id))


def _reserve_known(
    item: StockItem, order_id: str, quantity: int, default_reorder_point: int
) -> tuple[Allocation, ...]:
    if not item.known:
        raise InsufficientStock(item.id, quantity, -1)  # -1 marks "never heard of"
    return item.reserve(order_id, quantity, default_reorder_point=default_reorder_point)


def _mark_unknown(short: list[ShortLine]) -> Iterator[ShortLine]:
    for line in short:
        if line.available < 0:
            yield ShortLine(sku=line.sku, requested=line.requested, available=0, known=False)
        else:
            yield line


def _give_back(inventory: Inventory, order_id: str, skus: Iterable[str]) -> None:
    def release(item: StockItem) -> tuple[Allocation, ...]:
        return item.release(order_id)

    for sku in sorted(skus):
        _execute(inventory.stock, sku, release)


def release_stock(inventory: Inventory, order_id: str, reason: str = "order-cancelled") -> ReservationOutcome:
    """Release the order's reservation and return its stock. Idempotent; releasing an order
    never reserved closes it, so a late `order.placed` reserves nothing."""
    _execute(inventory.reservations, order_id, lambda o: o.release(reason))
    order = inventory.reservations.load(order_id)
    _give_back(inventory, order_id, {line.sku for line in order.view.lines})  # idempotent per SKU
    return _outcome(order)


# --- queries --------------------------------------------------------------------------------


def stock_of(inventory: Inventory, sku: str) -> StockItem:
    """The SKU's stock as its stream holds it (`known` is False for a SKU never seen)."""
    return inventory.stock.load(sku)


def feed_status(inventory: Inventory, feed_id: str) -> SupplierFeed:
    """The feed as recorded (`status` "new" for an id never seen)."""
    return inventory.feeds.load(feed_id)


def rejected_rows(inventory: Inventory, feed: SupplierFeed) -> Iterator[RejectionRecord]:
    """The feed's rejected rows as quarantined (none if it had none). Raises `BlobNotFound` if
    the quarantine file was removed."""
    location = getattr(feed.outcome, "quarantine_location", None)
    if not location:
        return
    with inventory.blobs.open_read(QUARANTINE_CONTAINER, location.split("/", 1)[1]) as stream:
        yield from read_rejections(stream)


__all__ = [
    "BlobNotFound",
    "FeedOutcome",
    "Inventory",
    "ReservationOutcome",
    "apply_feed",
    "feed_status",
    "rejected_rows",
    "release_stock",
    "reserve_stock",
    "stock_of",
]
