"""Entity properties with Azure's defaults, and the entity path grammar.

Paths are Azure's: `queue`, `topic/subscriptions/sub`, each optionally followed by
`/$deadletterqueue`. Names compare case-insensitively, as in Azure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from .errors import InvalidEntityName

#: Azure's "never expires" (TimeSpan.MaxValue, P10675199DT2H48M5.4775807S).
INFINITE_TTL = timedelta(days=10675199, seconds=10085, microseconds=477580)
DEFAULT_LOCK_DURATION = timedelta(minutes=1)
DEFAULT_MAX_DELIVERY_COUNT = 10
DEFAULT_DUPLICATE_DETECTION_WINDOW = timedelta(minutes=10)
DEAD_LETTER_SUFFIX = "$deadletterqueue"

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,259}$")
_SUBSCRIPTION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,49}$")


@dataclass(frozen=True)
class QueueProperties:
    """A queue's settings (azure.servicebus.management.QueueProperties, the part devhost uses)."""

    name: str
    lock_duration: timedelta = DEFAULT_LOCK_DURATION
    max_delivery_count: int = DEFAULT_MAX_DELIVERY_COUNT
    requires_session: bool = False
    default_message_time_to_live: timedelta = INFINITE_TTL
    requires_duplicate_detection: bool = False
    duplicate_detection_history_time_window: timedelta = DEFAULT_DUPLICATE_DETECTION_WINDOW
    dead_lettering_on_message_expiration: bool = False


@dataclass(frozen=True)
class TopicProperties:
    """A topic's settings (azure.servicebus.management.TopicProperties, the part devhost uses)."""

    name: str
    default_message_time_to_live: timedelta = INFINITE_TTL
    requires_duplicate_detection: bool = False
    duplicate_detection_history_time_window: timedelta = DEFAULT_DUPLICATE_DETECTION_WINDOW


@dataclass(frozen=True)
class SubscriptionProperties:
    """A subscription's settings (azure.servicebus.management.SubscriptionProperties, in part)."""

    topic_name: str
    name: str
    lock_duration: timedelta = DEFAULT_LOCK_DURATION
    max_delivery_count: int = DEFAULT_MAX_DELIVERY_COUNT
    requires_session: bool = False
    default_message_time_to_live: timedelta = INFINITE_TTL
    dead_lettering_on_message_expiration: bool = False


@dataclass(frozen=True)
class RuntimeProperties:
    """Message counts of a queue, subscription or topic (Azure's *RuntimeProperties).

    `active_message_count` includes locked messages; for a topic the counts are summed over
    its subscriptions. Transfer counts are always 0 (no auto-forwarding here).
    """

    path: str
    active_message_count: int
    scheduled_message_count: int
    dead_letter_message_count: int
    transfer_message_count: int = 0
    transfer_dead_letter_message_count: int = 0
    subscription_count: int = 0

    @property
    def total_message_count(self) -> int:
        """Active + scheduled + dead-lettered, as Azure's `total_message_count`."""
        return self.active_message_count + self.scheduled_message_count + self.dead_letter_message_count


@dataclass(frozen=True)
class EntityPath:
    """A parsed path: the queue or topic, the subscription if any, and whether it is the DLQ."""

    entity: str
    subscription: str | None = None
    dead_letter: bool = False

    @property
    def base(self) -> str:
        """The receivable entity without the DLQ suffix (`queue` or `topic/subscriptions/sub`)."""
        if self.subscription is None:
            return self.entity
        return f"{self.entity}/subscriptions/{self.subscription}"

    def __str__(self) -> str:
        return f"{self.base}/{DEAD_LETTER_SUFFIX}" if self.dead_letter else self.base


def check_name(name: str, what: str = "queue or topic") -> str:
    """Return `name` if it is a valid Azure entity name, else raise `InvalidEntityName`."""
    pattern = _SUBSCRIPTION_NAME if what == "subscription" else _NAME
    if not pattern.fullmatch(name):
        raise InvalidEntityName(
            f"{what} name {name!r} is invalid: use letters, digits, '.', '-', '_' "
            f"(starting with a letter or digit, at most {50 if what == 'subscription' else 260} characters)"
        )
    return name


def parse_path(path: str) -> EntityPath:
    """Parse `queue`, `topic/subscriptions/sub`, either with `/$deadletterqueue`.

    Raises `InvalidEntityName` for anything else.
    """
    parts = path.strip("/").split("/")
    dead_letter = bool(parts) and parts[-1].lower() == DEAD_LETTER_SUFFIX
    if dead_letter:
        parts = parts[:-1]
    if len(parts) == 1:
        return EntityPath(check_name(parts[0]), None, dead_letter)
    if len(parts) == 3 and parts[1].lower() == "subscriptions":
        return EntityPath(check_name(parts[0]), check_name(parts[2], "subscription"), dead_letter)
    raise InvalidEntityName(
        f"entity path {path!r} is invalid: expected 'queue', 'topic/subscriptions/name', "
        f"optionally followed by '/{DEAD_LETTER_SUFFIX}'"
    )
