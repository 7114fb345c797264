"""Which messaging entities, containers and blob paths an app binds to, and creating them.

``plan_app`` reads an app's (resolved) bindings; ``provision`` creates what is missing in the
embedded namespaces of the state folder with Azure's defaults, as the Bicep in ``deploy/`` does in
Azure. Properties come, in this order, from ``devhost.namespace.json`` (namespace_config), from
``contracts.topology`` for the system's topics, subscriptions and hubs (so subscription
``inventory`` on topic ``orders`` only takes the event types listed there), else Azure's defaults
(a subscription gets ``$Default`` with a TrueFilter; a hub gets 4 partitions). Creating is
idempotent and safe when several app processes start at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from contracts import topology as contract_topology
from devhost import session_settings
from devhost.errors import DevhostError
from devhost.indexing import BindingInfo, FunctionInfo
from devhost.namespace_config import NamespaceConfig, load_namespace_config
from devhost.settings import AppSettings, resolve_binding
from devhost.state import StateLayout
from eventkit.bus.eventhubs import DEFAULT_CONSUMER_GROUP, DEFAULT_PARTITION_COUNT
from eventkit.bus.servicebus import CorrelationFilter, RuleProperties

if TYPE_CHECKING:
    from devhost.triggers.base import AppContext

log = logging.getLogger("devhost.provisioning")


@dataclass(frozen=True)
class Use:
    """One binding that uses an entity: ``direction`` is ``trigger``, ``in`` or ``out``."""

    app: str
    function: str
    direction: str


@dataclass
class AppTopology:
    """Entities bound to by one or more apps, keyed by name (Service Bus/Event Hubs names are
    case-insensitive; the first spelling seen is kept)."""

    queues: dict[str, list[Use]] = field(default_factory=dict)
    topics: dict[str, list[Use]] = field(default_factory=dict)
    subscriptions: dict[tuple[str, str], list[Use]] = field(default_factory=dict)
    session_entities: set[str] = field(default_factory=set)
    """Lower-cased queue or ``topic/subscriptions/name`` paths bound with ``isSessionsEnabled``."""
    event_hubs: dict[str, list[Use]] = field(default_factory=dict)
    consumer_groups: dict[tuple[str, str], list[Use]] = field(default_factory=dict)
    cosmos: dict[tuple[str, str], list[Use]] = field(default_factory=dict)
    blobs: dict[tuple[str, str], list[Use]] = field(default_factory=dict)
    """(container, path) → uses."""

    def add(self, table: dict[Any, list[Use]], key: Any, use: Use) -> None:
        for existing in table:
            if _same(existing, key):
                table[existing].append(use)
                return
        table[key] = [use]

    def merge(self, other: AppTopology) -> None:
        for name in ("queues", "topics", "subscriptions", "event_hubs", "consumer_groups", "cosmos", "blobs"):
            mine: dict[Any, list[Use]] = getattr(self, name)
            for key, uses in getattr(other, name).items():
                for use in uses:
                    self.add(mine, key, use)
        self.session_entities |= other.session_entities


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(str(x).lower() == str(y).lower() for x, y in zip(a, b, strict=True))
    return str(a).lower() == str(b).lower()


def _blob_container(path: str) -> tuple[str, str] | None:
    path = path.strip("/")
    if not path or path.startswith("{"):
        return None
    return path.split("/", 1)[0], path


def _add_binding(plan: AppTopology, app: str, function: str, binding: BindingInfo, is_trigger: bool) -> None:
    kind = binding.type.lower()
    direction = "trigger" if is_trigger else binding.direction
    use = Use(app, function, direction)
    if kind in ("servicebustrigger", "servicebus"):
        queue, topic = binding.get("queueName"), binding.get("topicName")
        if queue:
            plan.add(plan.queues, str(queue), use)
            if binding.get("isSessionsEnabled"):
                plan.session_entities.add(str(queue).lower())
        elif topic:
            plan.add(plan.topics, str(topic), use)
            subscription = binding.get("subscriptionName")
            if subscription and is_trigger:
                plan.add(plan.subscriptions, (str(topic), str(subscription)), use)
                if binding.get("isSessionsEnabled"):
                    plan.session_entities.add(f"{topic}/subscriptions/{subscription}".lower())
    elif kind in ("eventhubtrigger", "eventhub"):
        hub = binding.get("eventHubName")
        if hub:
            plan.add(plan.event_hubs, str(hub), use)
            if is_trigger:
                group = str(binding.get("consumerGroup") or DEFAULT_CONSUMER_GROUP)
                plan.add(plan.consumer_groups, (str(hub), group), use)
    elif kind in ("blobtrigger", "blob"):
        found = _blob_container(str(binding.get("path") or ""))
        if found is not None:
            plan.add(plan.blobs, found, use)
    elif kind in ("cosmosdbtrigger", "cosmosdb"):
        database = binding.get("databaseName")
        container = binding.get("containerName") or binding.get("collectionName")
        if database and container:
            plan.add(plan.cosmos, (str(database), str(container)), use)
        lease = binding.get("leaseContainerName") or binding.get("leaseCollectionName")
        if is_trigger and database:
            lease_db = binding.get("leaseDatabaseName") or database
            plan.add(plan.cosmos, (str(lease_db), str(lease or "leases")), Use(app, function, "lease"))


def plan_functions(app: str, functions: Iterable[FunctionInfo], settings: AppSettings | None) -> AppTopology:
    """The entities ``functions`` bind to. ``%Name%`` settings resolve against ``settings``; a
    function whose bindings cannot be resolved is skipped (it is in error when the app runs)."""
    plan = AppTopology()
    for function in functions:
        bindings: list[tuple[BindingInfo, bool]] = [(function.trigger, True)]
        bindings += [(binding, False) for binding in function.bindings]
        resolved: list[tuple[BindingInfo, bool]] = []
        try:
            for binding, is_trigger in bindings:
                values = (
                    resolve_binding(binding.settings, settings, function.name)
                    if settings is not None
                    else binding.settings
                )
                resolved.append(
                    (BindingInfo(binding.type, binding.direction, binding.name, values), is_trigger)
                )
        except DevhostError as error:
            log.warning("Function '%s' left out of provisioning: %s", function.name, error)
            continue
        for binding, is_trigger in resolved:
            _add_binding(plan, app, function.name, binding, is_trigger)
    return plan


def contract_subscription(topic: str, name: str) -> contract_topology.Subscription | None:
    """The system's subscription ``topic``/``name`` from contracts.topology, or None."""
    for subscription in contract_topology.SUBSCRIPTIONS:
        if subscription.topic.lower() == topic.lower() and subscription.name.lower() == name.lower():
            return subscription
    return None


def contract_hub(name: str) -> contract_topology.EventHub | None:
    for hub in contract_topology.EVENT_HUBS:
        if hub.name.lower() == name.lower():
            return hub
    return None


def contract_topic(name: str) -> contract_topology.Topic | None:
    for topic in contract_topology.TOPICS:
        if topic.name.lower() == name.lower():
            return topic
    return None


def subscription_rules(topic: str, name: str, config: NamespaceConfig) -> list[RuleProperties] | None:
    """Rules a new subscription gets: the config's, else the contract's, else None ($Default)."""
    declared = config.subscription(topic, name)
    if declared is not None and declared.rules:
        return list(declared.rules)
    contract = contract_subscription(topic, name)
    if contract is not None:
        return [RuleProperties(rule.name, CorrelationFilter(subject=rule.subject)) for rule in contract.rules]
    return None


def subscription_properties(
    topic: str, name: str, config: NamespaceConfig, session_bound: bool
) -> dict[str, Any]:
    props: dict[str, Any] = {}
    contract = contract_subscription(topic, name)
    if session_bound or (contract is not None and contract.requires_session):
        props["requires_session"] = True
    declared = config.subscription(topic, name)
    if declared is not None:
        props.update(declared.properties)
    return props


def queue_properties(name: str, config: NamespaceConfig, session_bound: bool) -> dict[str, Any]:
    props: dict[str, Any] = {"requires_session": True} if session_bound else {}
    props.update(config.queue(name))
    return props


def topic_properties(name: str, config: NamespaceConfig) -> dict[str, Any]:
    props: dict[str, Any] = {}
    contract = contract_topic(name)
    if contract is not None and contract.duplicate_detection:
        props["requires_duplicate_detection"] = True
    props.update(config.topic(name))
    return props


def partition_count(hub: str, config: NamespaceConfig) -> int:
    declared = config.event_hub(hub)
    if declared is not None and declared.partition_count is not None:
        return declared.partition_count
    contract = contract_hub(hub)
    return contract.partition_count if contract is not None else DEFAULT_PARTITION_COUNT


def with_declared(plan: AppTopology, config: NamespaceConfig, app: str) -> AppTopology:
    """``plan`` plus the entities ``config`` declares (used by ``app`` = the config file)."""
    full = AppTopology()
    full.merge(plan)
    use = Use(app, "(devhost.namespace.json)", "declared")
    for name in config.queues:
        full.add(full.queues, name, use)
    for name in config.topics:
        full.add(full.topics, name, use)
    for topic, name in config.subscriptions:
        full.add(full.topics, topic, use)
        full.add(full.subscriptions, (topic, name), use)
    for hub, declared in config.event_hubs.items():
        full.add(full.event_hubs, hub, use)
        for group in declared.consumer_groups:
            full.add(full.consumer_groups, (hub, group), use)
    return full


def provision(state: StateLayout, plan: AppTopology, config: NamespaceConfig) -> None:
    """Create every entity of ``plan`` (and of ``config``) that is missing; blocking.

    Raises eventkit's errors for an invalid name or a conflicting hub partition count, and
    SessionSettingMismatch for a queue or subscription a trigger binds with the other
    ``requiresSession`` that still holds messages (an empty one is changed, see session_settings).
    """
    full = with_declared(plan, config, "")
    if full.queues or full.topics:
        bus = state.open_servicebus()
        try:
            for name, uses in full.queues.items():
                props = queue_properties(name, config, name.lower() in full.session_entities)
                queue = bus.create_queue_if_missing(name, **props)
                session_settings.reconcile(
                    bus, name, queue.requires_session, bool(props.get("requires_session")), _triggers(uses)
                )
            for name in full.topics:
                bus.create_topic_if_missing(name, **topic_properties(name, config))
            for (topic, name), uses in full.subscriptions.items():
                path = f"{topic}/subscriptions/{name}"
                props = subscription_properties(topic, name, config, path.lower() in full.session_entities)
                rules = subscription_rules(topic, name, config)
                subscription = bus.create_subscription_if_missing(topic, name, rules=rules, **props)
                session_settings.reconcile(
                    bus, path, subscription.requires_session, bool(props.get("requires_session")),
                    _triggers(uses),
                )  # fmt: skip
        finally:
            bus.close()
    if full.event_hubs:
        hubs = state.open_eventhubs()
        try:
            for name in full.event_hubs:
                hubs.create_event_hub(name, partition_count(name, config))
            for hub, group in full.consumer_groups:
                hubs.create_consumer_group(hub, group)
        finally:
            hubs.close()
    if full.blobs:
        blobs = state.open_blobs()
        for container, _path in full.blobs:
            blobs.create_container(container)


def _triggers(uses: list[Use]) -> list[str]:
    """The functions whose trigger binds an entity: only they decide its ``requiresSession``
    (an entity an app only declares or sends to is created, never changed)."""
    return [use.function for use in uses if use.direction == "trigger"]


_provisioned: dict[tuple[Path, str], asyncio.Future[None]] = {}


async def ensure_provisioned(
    state_dir: Path, app_dir: Path, app_name: str, functions: Iterable[FunctionInfo], settings: AppSettings
) -> None:
    """Provision an app once per process (the first trigger or output handler to ask does it).

    Raises what ``provision`` raises, and NamespaceConfigError for a bad devhost.namespace.json.
    """
    key = (state_dir, app_name)
    pending = _provisioned.get(key)
    if pending is None:
        loop = asyncio.get_running_loop()
        pending = loop.create_future()
        _provisioned[key] = pending
        try:
            config = load_namespace_config(app_dir, state_dir)
            plan = plan_functions(app_name, list(functions), settings)
            await asyncio.to_thread(provision, StateLayout(state_dir), plan, config)
        except BaseException as error:
            del _provisioned[key]
            pending.set_exception(error)
            pending.exception()  # retrieved: callers re-raise it below
            raise
        pending.set_result(None)
        log.debug("Provisioned the entities of %s", app_name)
        return
    await asyncio.shield(pending)


async def provision_app(ctx: AppContext) -> None:
    """``ensure_provisioned`` for the app a trigger plugin or output handler runs in."""
    await ensure_provisioned(ctx.state_dir, ctx.app_dir, ctx.app_name, ctx.index.functions, ctx.settings)
