"""Blueprint: inventory's answers (subscription `orders` of topic `inventory`), the outbox relay and
the start of each accepted order's saga (two functions on the store's change feed).

Each trigger decodes its binding, calls one handler and maps the outcome. Inventory's answer is
raised on the order's saga as the external event `reservation`; an answer for a saga that ended
(a timeout won the race, or the order is not ours) is completed and logged: the saga's
OrderCancelled already makes inventory release whatever it reserved, because inventory handles
an order's events in order (session = order id) and releasing closes even a reservation made
after it. A failure to reach the durable client raises, so Service Bus redelivers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import azure.durable_functions as df
import azure.functions as func

from eventkit import envelope

from .blueprint import DurableBlueprint
from .bootstrap import service
from .handlers import awaiting_saga
from .integration import accepted_orders, relay, reservation_answer
from .saga import RESERVATION_EVENT

log = logging.getLogger("orders")
bp = DurableBlueprint()
WORKFLOW = "order_workflow"
_F = TypeVar("_F", bound=Callable[..., Any])
SAGA_STARTS_AT_ONCE = 16
"""Sagas a batch starts concurrently (each start is a request to the Durable management API)."""


@bp.service_bus_topic_trigger(
    arg_name="message",
    connection="ServiceBusConnection",
    topic_name="inventory",
    subscription_name="orders",
)
@bp.durable_client_input(client_name="client")
async def on_inventory_event(message: func.ServiceBusMessage, client: df.DurableOrchestrationClient) -> None:
    event = envelope.from_transport(message.get_body(), dict(message.application_properties or {}))
    answer = reservation_answer(envelope.data_model(event))
    if answer is None:
        log.warning("subscription inventory/orders: ignoring event type %s", event.get_type())
        return
    order_id, payload = answer
    try:
        await client.raise_event(order_id, RESERVATION_EVENT, payload)
    except Exception as error:  # the SDK raises a bare Exception for 404 / 410
        text = str(error)
        if "is gone" in text or "No instance" in text:
            log.info("order %s: %s answer after the saga ended (%s)", order_id, payload["outcome"], text)
            return
        raise
    log.info("order %s: %s raised on its saga", order_id, payload["outcome"])


def _follows_the_store(lease_prefix: str) -> Callable[[_F], _F]:
    """The order store's change feed, retried until a batch succeeds: an event is never skipped.
    Each function has its own `lease_prefix`: functions that share a lease container and prefix
    on Azure split the leases, so each change would reach only one of them. The relay keeps the
    empty prefix it always had (with `start_from_beginning`, a new prefix would publish every
    stored event again); the saga starter took a new one, which replays harmlessly (only orders
    still pending get a saga)."""

    def decorate(function: _F) -> _F:
        return retry(feed(function))

    feed = bp.cosmos_db_trigger(
        arg_name="documents",
        connection="OrdersStore",
        database_name="%ORDERS_DATABASE%",
        container_name="%ORDERS_CONTAINER%",
        lease_container_name="leases",
        lease_container_prefix=lease_prefix,
        create_lease_container_if_not_exists=True,
        start_from_beginning=True,
        feed_poll_delay=200,
        max_items_per_invocation=1000,
    )
    retry = bp.retry(
        strategy="exponential_backoff",
        max_retry_count="-1",
        minimum_interval="00:00:01",
        maximum_interval="00:01:00",
    )
    return decorate


@_follows_the_store("")  # the relay's leases from before the prefixes: a new one would re-publish all
def relay_outbox(documents: func.DocumentList) -> None:
    """Publish the new order events (the outbox). It takes no Durable client, so with
    `FUNCTIONS_WORKER_PROCESS_COUNT` above 1 it runs in any worker process."""
    current = service()
    sent = relay([dict(document) for document in documents], current.orders.mapper, current.publisher)
    log.info("relayed %d event(s) from %d document(s)", sent, len(documents))


@_follows_the_store("sagas-")
@bp.durable_client_input(client_name="client")
async def start_sagas(documents: func.DocumentList, client: df.DurableOrchestrationClient) -> None:
    """Start the saga of every newly accepted order still pending (see `start_saga`)."""
    current = service()
    accepted = accepted_orders([dict(document) for document in documents])
    pending = await asyncio.to_thread(awaiting_saga, current.orders, accepted)
    turns = asyncio.Semaphore(SAGA_STARTS_AT_ONCE)

    async def start(order_id: str) -> None:
        async with turns:
            await start_saga(client, order_id)

    await asyncio.gather(*(start(order_id) for order_id in pending))


async def start_saga(client: df.DurableOrchestrationClient, order_id: str) -> None:
    """Start an accepted order's saga (instance id = order id) unless it runs already.

    Started from the change feed, not by the request that accepted the order: the feed delivers
    every OrderAccepted at least once, so a crash right after the acceptance was stored cannot
    leave an order without its saga (ARCHITECTURE.md section 5). Only orders still pending get
    here, so a replayed feed never restarts a finished saga. Raises what the client raises for
    anything but "already running" (the trigger retries the batch)."""
    try:
        await client.start_new(WORKFLOW, order_id, service().saga.input_for(order_id))
    except Exception as error:  # the SDK raises a bare Exception for 409 (already running)
        status = await client.get_status(order_id)
        if not getattr(status, "runtime_status", None):
            raise
        log.info("order %s: saga already started (%s)", order_id, error)
