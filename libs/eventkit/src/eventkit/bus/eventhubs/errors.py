"""What the embedded Event Hubs namespace raises. All derive from `EventHubsError`."""

from __future__ import annotations


class EventHubsError(Exception):
    """Base of every error the embedded Event Hubs namespace raises."""


class EntityNameError(EventHubsError, ValueError):
    """An event hub or consumer group name breaks Azure's naming rules."""


class EventHubNotFoundError(EventHubsError, LookupError):
    """The named event hub does not exist in the namespace; create it first."""


class ConsumerGroupNotFoundError(EventHubsError, LookupError):
    """The named consumer group does not exist on the hub; create it first."""


class PartitionNotFoundError(EventHubsError, LookupError):
    """The partition id is not one of the hub's ("0" .. partition_count - 1)."""


class EventHubConflictError(EventHubsError):
    """An event hub exists with settings that cannot be changed to the requested ones."""


class EventTooLargeError(EventHubsError, ValueError):
    """An event body is larger than the namespace accepts."""


class InvalidPositionError(EventHubsError, ValueError):
    """A start position is malformed (bad offset, naive datetime, unknown host.json type)."""
