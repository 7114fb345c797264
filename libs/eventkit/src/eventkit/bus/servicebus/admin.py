"""Creating, reading and deleting queues, topics, subscriptions and rules.

Mirrors azure-servicebus' `ServiceBusAdministrationClient`; the `*_if_missing` variants are
idempotent (they return the existing entity unchanged), which is what devhost calls at
start-up for every entity its apps bind to.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Sequence
from datetime import timedelta

from ._core import Entity, NamespaceCore, props_to_json
from .entities import (
    DEAD_LETTER_SUFFIX,
    DEFAULT_DUPLICATE_DETECTION_WINDOW,
    DEFAULT_LOCK_DURATION,
    DEFAULT_MAX_DELIVERY_COUNT,
    INFINITE_TTL,
    QueueProperties,
    SubscriptionProperties,
    TopicProperties,
    check_name,
)
from .errors import EntityAlreadyExists, EntityNotFound
from .filters import (
    DEFAULT_RULE_NAME,
    Filter,
    RuleProperties,
    TrueFilter,
    compile_filter,
    filter_from_json,
    filter_to_json,
)


def _check_durations(**durations: timedelta) -> None:
    for name, value in durations.items():
        if value <= timedelta(0):
            raise ValueError(f"{name} must be positive, got {value}")


class AdminOperations(NamespaceCore):
    """Entity management on the namespace."""

    def create_queue(
        self,
        name: str,
        *,
        lock_duration: timedelta = DEFAULT_LOCK_DURATION,
        max_delivery_count: int = DEFAULT_MAX_DELIVERY_COUNT,
        requires_session: bool = False,
        default_message_time_to_live: timedelta = INFINITE_TTL,
        requires_duplicate_detection: bool = False,
        duplicate_detection_history_time_window: timedelta = DEFAULT_DUPLICATE_DETECTION_WINDOW,
        dead_lettering_on_message_expiration: bool = False,
    ) -> QueueProperties:
        """Create a queue (Azure defaults). Raises EntityAlreadyExists if the name is taken."""
        _check_durations(
            lock_duration=lock_duration,
            default_message_time_to_live=default_message_time_to_live,
            duplicate_detection_history_time_window=duplicate_detection_history_time_window,
        )
        if max_delivery_count < 1:
            raise ValueError(f"max_delivery_count must be at least 1, got {max_delivery_count}")
        props = QueueProperties(
            check_name(name, "queue"),
            lock_duration,
            max_delivery_count,
            requires_session,
            default_message_time_to_live,
            requires_duplicate_detection,
            duplicate_detection_history_time_window,
            dead_lettering_on_message_expiration,
        )
        with self._write() as conn:
            self._insert_entity(conn, name, "queue", None, props, dead_letter=True)
        return props

    def create_topic(
        self,
        name: str,
        *,
        default_message_time_to_live: timedelta = INFINITE_TTL,
        requires_duplicate_detection: bool = False,
        duplicate_detection_history_time_window: timedelta = DEFAULT_DUPLICATE_DETECTION_WINDOW,
    ) -> TopicProperties:
        """Create a topic (Azure defaults). Raises EntityAlreadyExists if the name is taken."""
        _check_durations(
            default_message_time_to_live=default_message_time_to_live,
            duplicate_detection_history_time_window=duplicate_detection_history_time_window,
        )
        props = TopicProperties(
            check_name(name, "topic"),
            default_message_time_to_live,
            requires_duplicate_detection,
            duplicate_detection_history_time_window,
        )
        with self._write() as conn:
            self._insert_entity(conn, name, "topic", None, props, dead_letter=False)
        return props

    def create_subscription(
        self,
        topic_name: str,
        name: str,
        *,
        rules: Sequence[RuleProperties] | None = None,
        lock_duration: timedelta = DEFAULT_LOCK_DURATION,
        max_delivery_count: int = DEFAULT_MAX_DELIVERY_COUNT,
        requires_session: bool = False,
        default_message_time_to_live: timedelta = INFINITE_TTL,
        dead_lettering_on_message_expiration: bool = False,
    ) -> SubscriptionProperties:
        """Create a subscription of `topic_name` with `rules` (default: `$Default`, TrueFilter).

        Raises EntityNotFound (no such topic), EntityAlreadyExists, FilterSyntaxError.
        """
        _check_durations(
            lock_duration=lock_duration, default_message_time_to_live=default_message_time_to_live
        )
        if max_delivery_count < 1:
            raise ValueError(f"max_delivery_count must be at least 1, got {max_delivery_count}")
        chosen = list(rules) if rules else [RuleProperties(DEFAULT_RULE_NAME, TrueFilter())]
        for rule in chosen:
            compile_filter(rule)
        props = SubscriptionProperties(
            topic_name,
            check_name(name, "subscription"),
            lock_duration,
            max_delivery_count,
            requires_session,
            default_message_time_to_live,
            dead_lettering_on_message_expiration,
        )
        with self._write() as conn:
            topic = self._topic(conn, topic_name)
            entity_id = self._insert_entity(
                conn, f"{topic.path}/subscriptions/{name}", "subscription", topic.id, props, dead_letter=True
            )
            conn.executemany(
                "INSERT INTO rules (subscription_id, name, filter) VALUES (?, ?, ?)",
                [(entity_id, rule.name, filter_to_json(rule.filter)) for rule in chosen],
            )
        return props

    def create_queue_if_missing(self, name: str, **props: object) -> QueueProperties:
        """Create the queue unless it exists; return its properties (existing ones unchanged)."""
        try:
            return self.create_queue(name, **props)  # type: ignore[arg-type]
        except EntityAlreadyExists:
            return self.get_queue(name)

    def create_topic_if_missing(self, name: str, **props: object) -> TopicProperties:
        """Create the topic unless it exists; return its properties (existing ones unchanged)."""
        try:
            return self.create_topic(name, **props)  # type: ignore[arg-type]
        except EntityAlreadyExists:
            return self.get_topic(name)

    def create_subscription_if_missing(
        self, topic_name: str, name: str, *, rules: Sequence[RuleProperties] | None = None, **props: object
    ) -> SubscriptionProperties:
        """Create the subscription unless it exists; existing properties and rules are kept."""
        try:
            return self.create_subscription(topic_name, name, rules=rules, **props)  # type: ignore[arg-type]
        except EntityAlreadyExists:
            return self.get_subscription(topic_name, name)

    def get_queue(self, name: str) -> QueueProperties:
        """Raises EntityNotFound if there is no such queue."""
        with self._read() as conn:
            entity = self._entity(conn, name)
        if not isinstance(entity.props, QueueProperties) or entity.kind != "queue":
            raise EntityNotFound(f"{name!r} is not a queue")
        return entity.props

    def get_topic(self, name: str) -> TopicProperties:
        """Raises EntityNotFound if there is no such topic."""
        with self._read() as conn:
            entity = self._topic(conn, name)
        assert isinstance(entity.props, TopicProperties)
        return entity.props

    def get_subscription(self, topic_name: str, name: str) -> SubscriptionProperties:
        """Raises EntityNotFound if there is no such subscription."""
        with self._read() as conn:
            entity = self._entity(conn, f"{topic_name}/subscriptions/{name}")
        assert isinstance(entity.props, SubscriptionProperties)
        return entity.props

    def list_queues(self) -> list[QueueProperties]:
        """Every queue, by name."""
        return [e.props for e in self._entities_of("queue") if isinstance(e.props, QueueProperties)]

    def list_topics(self) -> list[TopicProperties]:
        """Every topic, by name."""
        return [e.props for e in self._entities_of("topic") if isinstance(e.props, TopicProperties)]

    def list_subscriptions(self, topic_name: str) -> list[SubscriptionProperties]:
        """The subscriptions of `topic_name`, by name. Raises EntityNotFound for an unknown topic."""
        with self._read() as conn:
            topic = self._topic(conn, topic_name)
        return [
            e.props
            for e in self._entities_of("subscription")
            if e.parent_id == topic.id and isinstance(e.props, SubscriptionProperties)
        ]

    def list_rules(self, topic_name: str, subscription_name: str) -> list[RuleProperties]:
        """The rules of a subscription, by name."""
        with self._read() as conn:
            entity = self._entity(conn, f"{topic_name}/subscriptions/{subscription_name}")
            rows = conn.execute(
                "SELECT name, filter FROM rules WHERE subscription_id = ? ORDER BY name", (entity.id,)
            ).fetchall()
        return [RuleProperties(name, filter_from_json(text)) for name, text in rows]

    def create_rule(self, topic_name: str, subscription_name: str, name: str, flt: Filter) -> RuleProperties:
        """Add a rule. Raises EntityAlreadyExists, EntityNotFound, FilterSyntaxError."""
        rule = RuleProperties(name, flt)
        compile_filter(rule)
        with self._write() as conn:
            entity = self._entity(conn, f"{topic_name}/subscriptions/{subscription_name}")
            try:
                conn.execute(
                    "INSERT INTO rules (subscription_id, name, filter) VALUES (?, ?, ?)",
                    (entity.id, name, filter_to_json(flt)),
                )
            except sqlite3.IntegrityError:
                raise EntityAlreadyExists(f"rule {name!r} already exists on {entity.path!r}") from None
            self._bump_topology(conn)
        return rule

    def delete_rule(self, topic_name: str, subscription_name: str, name: str) -> None:
        """Remove a rule. Raises EntityNotFound if it does not exist."""
        with self._write() as conn:
            entity = self._entity(conn, f"{topic_name}/subscriptions/{subscription_name}")
            cursor = conn.execute(
                "DELETE FROM rules WHERE subscription_id = ? AND name = ?", (entity.id, name)
            )
            if cursor.rowcount == 0:
                raise EntityNotFound(f"rule {name!r} does not exist on {entity.path!r}")
            self._bump_topology(conn)

    def delete_queue(self, name: str) -> None:
        """Delete a queue with its messages and dead letters. Raises EntityNotFound."""
        self._delete(name, "queue")

    def delete_topic(self, name: str) -> None:
        """Delete a topic with its subscriptions and their messages. Raises EntityNotFound."""
        self._delete(name, "topic")

    def set_requires_session_if_empty(self, path: str, requires_session: bool) -> int:
        """Change a queue's or subscription's `requiresSession` in place if it holds no message
        (active, scheduled or dead-lettered); returns how many it holds (0: changed, or already so).

        Azure cannot change the setting in place: a deployment drains, deletes and re-creates the
        entity. Here the check and the change are one transaction, so a message sent meanwhile
        either makes the entity non-empty (nothing changes) or arrives after the change. Local
        tooling only (devhost upgrading a state folder). Raises EntityNotFound.
        """
        with self._write() as conn:
            entity = self._entity(conn, path)
            props = entity.props
            if entity.kind not in ("queue", "subscription") or not isinstance(
                props, QueueProperties | SubscriptionProperties
            ):
                raise EntityNotFound(f"{path!r} is a {entity.kind}, not a queue or subscription")
            if props.requires_session == requires_session:
                return 0
            ids = [entity.id] if entity.dead_letter_id is None else [entity.id, entity.dead_letter_id]
            (held,) = conn.execute(
                f"SELECT COUNT(*) FROM messages WHERE queue_id IN ({', '.join('?' * len(ids))})", ids
            ).fetchone()
            if held:
                return int(held)
            changed = props_to_json(dataclasses.replace(props, requires_session=requires_session))
            conn.executemany("UPDATE entities SET props = ? WHERE id = ?", [(changed, i) for i in ids])
            conn.execute("DELETE FROM sessions WHERE queue_id = ?", (entity.id,))
            self._bump_topology(conn)
        return 0

    def delete_subscription(self, topic_name: str, name: str) -> None:
        """Delete a subscription with its messages and dead letters. Raises EntityNotFound."""
        self._delete(f"{topic_name}/subscriptions/{name}", "subscription")

    def _delete(self, path: str, kind: str) -> None:
        with self._write() as conn:
            entity = self._entity(conn, path)
            if entity.kind != kind:
                raise EntityNotFound(f"{path!r} is not a {kind}")
            ids = [entity.id]
            ids += [e.id for e in self._entities.values() if e.parent_id == entity.id]
            ids += [e.id for e in self._entities.values() if e.parent_id in ids[1:]]
            for table, column in (
                ("messages", "queue_id"),
                ("sessions", "queue_id"),
                ("duplicates", "entity_id"),
                ("rules", "subscription_id"),
                ("entities", "id"),
            ):
                conn.executemany(f"DELETE FROM {table} WHERE {column} = ?", [(i,) for i in ids])
            self._bump_topology(conn)

    def _entities_of(self, kind: str) -> list[Entity]:
        with self._read() as conn:
            self._refresh_topology(conn)
        return sorted((e for e in self._entities.values() if e.kind == kind), key=lambda e: e.path.lower())

    def _topic(self, conn: sqlite3.Connection, name: str) -> Entity:
        entity = self._entity(conn, name)
        if entity.kind != "topic":
            raise EntityNotFound(f"{name!r} is a {entity.kind}, not a topic")
        return entity

    def _insert_entity(
        self,
        conn: sqlite3.Connection,
        path: str,
        kind: str,
        parent_id: int | None,
        props: QueueProperties | TopicProperties | SubscriptionProperties,
        *,
        dead_letter: bool,
    ) -> int:
        try:
            cursor = conn.execute(
                "INSERT INTO entities (path, kind, parent_id, props) VALUES (?, ?, ?, ?)",
                (path, kind, parent_id, props_to_json(props)),
            )
        except sqlite3.IntegrityError:
            raise EntityAlreadyExists(f"messaging entity {path!r} already exists") from None
        entity_id = cursor.lastrowid
        assert entity_id is not None
        if dead_letter:
            conn.execute(
                "INSERT INTO entities (path, kind, parent_id, props) VALUES (?, 'deadletter', ?, ?)",
                (f"{path}/{DEAD_LETTER_SUFFIX}", entity_id, props_to_json(props)),
            )
        self._bump_topology(conn)
        return entity_id
