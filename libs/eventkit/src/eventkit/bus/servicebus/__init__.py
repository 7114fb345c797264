"""The embedded Service Bus: Azure Service Bus semantics on one SQLite file.

devhost and the tests use it in place of an Azure Service Bus namespace; several processes
may share one namespace file. See `EmbeddedServiceBus` and docs/adr/0004-embedded-service-bus.md.
"""

from .entities import (
    DEAD_LETTER_SUFFIX,
    INFINITE_TTL,
    EntityPath,
    QueueProperties,
    RuntimeProperties,
    SubscriptionProperties,
    TopicProperties,
    parse_path,
)
from .errors import (
    EntityAlreadyExists,
    EntityNotFound,
    FilterSyntaxError,
    InvalidEntityName,
    InvalidMessage,
    MessageLockLost,
    NoSessionAvailable,
    ServiceBusError,
    SessionCannotBeLocked,
    SessionIdRequired,
    SessionLockLost,
    SessionRequired,
)
from .filters import (
    DEFAULT_RULE_NAME,
    CorrelationFilter,
    FalseFilter,
    Filter,
    RuleProperties,
    SqlFilter,
    TrueFilter,
)
from .messages import MessageState, OutgoingMessage, ReceivedMessage, to_outgoing
from .namespace import EmbeddedServiceBus
from .sessions import SessionReceiver

__all__ = [
    "DEAD_LETTER_SUFFIX",
    "DEFAULT_RULE_NAME",
    "INFINITE_TTL",
    "CorrelationFilter",
    "EmbeddedServiceBus",
    "EntityAlreadyExists",
    "EntityNotFound",
    "EntityPath",
    "FalseFilter",
    "Filter",
    "FilterSyntaxError",
    "InvalidEntityName",
    "InvalidMessage",
    "MessageLockLost",
    "MessageState",
    "NoSessionAvailable",
    "OutgoingMessage",
    "QueueProperties",
    "ReceivedMessage",
    "RuleProperties",
    "RuntimeProperties",
    "ServiceBusError",
    "SessionCannotBeLocked",
    "SessionIdRequired",
    "SessionLockLost",
    "SessionReceiver",
    "SessionRequired",
    "SqlFilter",
    "SubscriptionProperties",
    "TopicProperties",
    "TrueFilter",
    "parse_path",
    "to_outgoing",
]
