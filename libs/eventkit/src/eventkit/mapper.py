"""EventMapper: domain events ↔ stored events, with upcasting of older versions in one place.

Stored events carry `type` = the domain event's `EVENT_TYPE` and `metadata["schema_version"]`.
When a domain event's shape changes, bump its `SCHEMA_VERSION` and register an upcaster from the
old version; reading an old stream then upcasts step by step (v1 → v2 → v3) before validation.
Handlers and aggregates only ever see the current version.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from pydantic import ValidationError

from .aggregate import DomainEvent
from .store import NewEvent, StoredEvent

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class UnknownDomainEvent(LookupError):
    """A stored event's type is not registered with the mapper (a missing registration)."""


class StoredEventInvalid(ValueError):
    """A stored event cannot be read as its domain event even after upcasting."""


class EventMapper:
    """Maps the domain events of one service; register every event class and upcaster once."""

    def __init__(self, event_classes: Iterable[type[DomainEvent]] = ()) -> None:
        self._classes: dict[str, type[DomainEvent]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}
        for cls in event_classes:
            self.register(cls)

    def register(self, cls: type[DomainEvent]) -> None:
        existing = self._classes.get(cls.EVENT_TYPE)
        if existing is not None and existing is not cls:
            raise ValueError(
                f"event type '{cls.EVENT_TYPE}' registered twice ({existing.__name__}, {cls.__name__})"
            )
        self._classes[cls.EVENT_TYPE] = cls

    def upcaster(self, event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Decorator: `fn(data_of_version_n) -> data_of_version_n_plus_1`."""

        def register(fn: Upcaster) -> Upcaster:
            self._upcasters[(event_type, from_version)] = fn
            return fn

        return register

    def to_new_event(self, event: DomainEvent, metadata: dict[str, Any] | None = None) -> NewEvent:
        meta = {**(metadata or {}), "schema_version": type(event).SCHEMA_VERSION}
        return NewEvent(type=event.EVENT_TYPE, data=event.model_dump(mode="json"), metadata=meta)

    def to_domain(self, stored: StoredEvent) -> DomainEvent:
        cls = self._classes.get(stored.type)
        if cls is None:
            raise UnknownDomainEvent(
                f"stream '{stored.stream_id}' v{stored.version}: event type '{stored.type}' is not registered"
            )
        version = int(stored.metadata.get("schema_version", 1))
        data = dict(stored.data)
        while version < cls.SCHEMA_VERSION:
            step = self._upcasters.get((stored.type, version))
            if step is None:
                raise StoredEventInvalid(
                    f"stream '{stored.stream_id}' v{stored.version}: no upcaster for '{stored.type}' "
                    f"from schema version {version} to {version + 1}"
                )
            data = step(data)
            version += 1
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise StoredEventInvalid(
                f"stream '{stored.stream_id}' v{stored.version}: '{stored.type}' does not match "
                f"{cls.__name__}: {exc}"
            ) from exc
