"""Blueprint: the blob trigger (supplier feeds), the `orders` subscription and the outbox relay.

Each trigger decodes its binding, calls one handler and maps the outcome: a rejected feed or a
refused order is a normal completion (retrying cannot change it); a failure of the store, blobs
or broker raises, so the host retries (blob: up to 5 times, then the poison queue; Service Bus:
redelivery up to max delivery count, then the dead-letter queue; change feed: the retry policy
below holds the feed until the relay succeeds).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import azure.functions as func

from contracts.orders import OrderCancelledV1, OrderPlacedV1
from eventkit import envelope

from .bootstrap import service
from .handlers import apply_feed, release_stock, reserve_stock
from .integration import relay

UPLOADS = "inventory-uploads"
log = logging.getLogger("inventory")
bp = func.Blueprint()  # type: ignore[no-untyped-call]


@bp.blob_trigger(arg_name="feed", path=UPLOADS + "/{name}", connection="InventoryStorage")
def process_feed(feed: func.InputStream) -> None:
    name = (feed.name or "").removeprefix(UPLOADS + "/")
    etag = blob_version(getattr(feed, "blob_properties", None) or {})
    if etag is None:  # nothing in the trigger's metadata tells this version apart: ask the store
        etag = service().inventory.blobs.properties(UPLOADS, name).etag
        log.warning("feed %s: the trigger carried no ETag; using the stored blob's %s", name, etag)
    outcome = apply_feed(service().inventory, name, etag, feed)  # type: ignore[arg-type]
    log.info("feed %s (%s): %s", outcome.feed_id, name, outcome)


def blob_version(properties: Mapping[str, Any]) -> str | None:
    """What tells this upload of a blob from the next one (a feed is applied once per version).

    The ETag when the trigger's metadata carries it as text. The Functions host serialises the
    Storage SDK's `BlobProperties` for the worker, and its `ETag` struct may arrive as `{}`; then
    the same snapshot's last-modified time, length and MD5 stand in (`ContentLength`/`ContentHash`
    from Azure.Storage.Blobs, `Length`/`ContentMD5` from the older SDK, as `azure.functions` reads
    them), so the version always belongs to the content being read. None without a last-modified
    time."""
    etag = properties.get("ETag")
    if isinstance(etag, str) and etag:
        return etag
    if properties.get("LastModified") in (None, "", {}):
        return None
    keys = ("LastModified", "ContentLength", "Length", "ContentHash", "ContentMD5")
    return "props:" + "|".join(str(properties[key]) for key in keys if properties.get(key) not in (None, ""))


@bp.service_bus_topic_trigger(
    arg_name="message",
    connection="ServiceBusConnection",
    topic_name="orders",
    subscription_name="inventory",
    is_sessions_enabled=True,
)
def on_order_event(message: func.ServiceBusMessage) -> None:
    event = envelope.from_transport(message.get_body(), dict(message.application_properties or {}))
    order = envelope.data_model(event)
    inventory = service().inventory
    if isinstance(order, OrderPlacedV1):
        outcome = reserve_stock(
            inventory, order.order_id, [(line.sku, line.quantity) for line in order.lines]
        )
    elif isinstance(order, OrderCancelledV1):
        outcome = release_stock(inventory, order.order_id, "order-cancelled")
    else:
        log.warning("subscription orders/inventory: ignoring event type %s", event.get_type())
        return
    log.info("order %s: %s", outcome.order_id, outcome.result)


@bp.retry(
    strategy="exponential_backoff",
    max_retry_count="-1",
    minimum_interval="00:00:01",
    maximum_interval="00:01:00",
)
@bp.cosmos_db_trigger(
    arg_name="documents",
    connection="InventoryStore",
    database_name="%INVENTORY_DATABASE%",
    container_name="%INVENTORY_CONTAINER%",
    lease_container_name="leases",
    create_lease_container_if_not_exists=True,
    start_from_beginning=True,  # type: ignore[arg-type]  # the SDK annotates it as a time
    feed_poll_delay=500,
    max_items_per_invocation=1000,  # a night's feeds append ~1M events: fewer, larger publishes
)
def relay_outbox(documents: func.DocumentList) -> None:
    current = service()
    sent = relay(documents, current.inventory.mapper, current.publishers)
    log.info("relayed %d event(s) from %d document(s)", sent, len(documents))
