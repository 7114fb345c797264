"""``devhost.namespace.json``: entity properties for the embedded namespaces, in the spirit of the
Service Bus emulator's ``Config.json``.

devhost creates every entity an app binds to with Azure's defaults. This file, read from the app
folder and from the state folder, declares entities (they are created even when no function binds
to them) and sets the properties the defaults do not give. Keys are case-insensitive, so the
emulator's PascalCase spelling works too::

    {
      "queues": [
        {"name": "jobs", "properties": {"lockDuration": "PT5S", "maxDeliveryCount": 3,
                                         "requiresSession": false, "requiresDuplicateDetection": true,
                                         "duplicateDetectionHistoryTimeWindow": "PT10M",
                                         "defaultMessageTimeToLive": "PT1H",
                                         "deadLetteringOnMessageExpiration": false}}
      ],
      "topics": [
        {"name": "orders", "properties": {"requiresDuplicateDetection": true},
         "subscriptions": [
           {"name": "audit", "properties": {"maxDeliveryCount": 5},
            "rules": [
              {"name": "placed",
               "properties": {"filterType": "Correlation",
                              "correlationFilter": {"label": "x", "properties": {"k": "v"}}}},
              {"name": "big",
               "properties": {"filterType": "Sql", "sqlFilter": {"sqlExpression": "total > 100"}}}
            ]}
         ]}
      ],
      "eventHubs": [{"name": "inventory-stock", "partitionCount": 4, "consumerGroups": [{"name": "audit"}]}]
    }

Durations are ISO 8601 (``PT1M``) or .NET TimeSpan (``00:01:00``). The emulator's wrapper
(``{"UserConfig": {"Namespaces": [{...}]}}``) is accepted too. Properties apply when an entity is
created; an entity already in the state folder keeps its properties (delete the state folder to
change them), as create-if-missing in Azure's Bicep does not update either. One exception: an
empty queue or subscription whose ``requiresSession`` differs from what a trigger binds now is
re-created (``devhost.session_settings``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from devhost.errors import DevhostError
from devhost.timespan import parse_timespan
from eventkit.bus.servicebus import CorrelationFilter, Filter, RuleProperties, SqlFilter, TrueFilter

CONFIG_FILE = "devhost.namespace.json"

_ISO = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)S)?)?$",
    re.IGNORECASE,
)

_QUEUE_PROPS = {
    "lockduration": ("lock_duration", "duration"),
    "maxdeliverycount": ("max_delivery_count", "int"),
    "requiressession": ("requires_session", "bool"),
    "defaultmessagetimetolive": ("default_message_time_to_live", "duration"),
    "requiresduplicatedetection": ("requires_duplicate_detection", "bool"),
    "duplicatedetectionhistorytimewindow": ("duplicate_detection_history_time_window", "duration"),
    "deadletteringonmessageexpiration": ("dead_lettering_on_message_expiration", "bool"),
}
_TOPIC_PROPS = {
    key: _QUEUE_PROPS[key]
    for key in (
        "defaultmessagetimetolive",
        "requiresduplicatedetection",
        "duplicatedetectionhistorytimewindow",
    )
}
_SUBSCRIPTION_PROPS = {
    key: _QUEUE_PROPS[key]
    for key in (
        "lockduration",
        "maxdeliverycount",
        "requiressession",
        "defaultmessagetimetolive",
        "deadletteringonmessageexpiration",
    )
}
_CORRELATION_FIELDS = {
    "correlationid": "correlation_id",
    "messageid": "message_id",
    "to": "to",
    "replyto": "reply_to",
    "label": "subject",
    "subject": "subject",
    "sessionid": "session_id",
    "contenttype": "content_type",
}


class NamespaceConfigError(DevhostError):
    """``devhost.namespace.json`` is not valid JSON or has a value of the wrong shape."""


@dataclass(frozen=True)
class SubscriptionConfig:
    topic: str
    name: str
    properties: dict[str, Any] = field(default_factory=dict)
    rules: tuple[RuleProperties, ...] = ()


@dataclass(frozen=True)
class EventHubConfig:
    name: str
    partition_count: int | None = None
    consumer_groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class NamespaceConfig:
    """Declared entities with their properties (as keyword arguments of eventkit's create_*)."""

    queues: dict[str, dict[str, Any]] = field(default_factory=dict)
    topics: dict[str, dict[str, Any]] = field(default_factory=dict)
    subscriptions: dict[tuple[str, str], SubscriptionConfig] = field(default_factory=dict)
    event_hubs: dict[str, EventHubConfig] = field(default_factory=dict)

    def merged_over(self, base: NamespaceConfig) -> NamespaceConfig:
        """This config with ``base``'s entities added where this one does not declare them."""
        return NamespaceConfig(
            {**base.queues, **self.queues},
            {**base.topics, **self.topics},
            {**base.subscriptions, **self.subscriptions},
            {**base.event_hubs, **self.event_hubs},
        )

    def queue(self, name: str) -> dict[str, Any]:
        return _lookup(self.queues, name) or {}

    def topic(self, name: str) -> dict[str, Any]:
        return _lookup(self.topics, name) or {}

    def subscription(self, topic: str, name: str) -> SubscriptionConfig | None:
        for (t, s), config in self.subscriptions.items():
            if t.lower() == topic.lower() and s.lower() == name.lower():
                return config
        return None

    def event_hub(self, name: str) -> EventHubConfig | None:
        found: EventHubConfig | None = _lookup(self.event_hubs, name)
        return found


def _lookup(table: dict[str, Any], name: str) -> Any:
    for key, value in table.items():
        if key.lower() == name.lower():
            return value
    return None


def parse_duration(value: object, where: str) -> timedelta:
    """ISO 8601 (``PT5S``, ``P1DT2H``) or TimeSpan (``00:00:05``); raises NamespaceConfigError."""
    text = str(value).strip()
    match = _ISO.match(text)
    if match and text.upper() not in ("P", "PT"):
        parts = {key: float(number) for key, number in match.groupdict().items() if number}
        return timedelta(
            days=parts.get("d", 0),
            hours=parts.get("h", 0),
            minutes=parts.get("m", 0),
            seconds=parts.get("s", 0),
        )
    try:
        return parse_timespan(text)
    except ValueError as error:
        raise NamespaceConfigError(f"{where}: {value!r} is not an ISO 8601 duration like PT1M") from error


def _get(section: dict[str, Any], key: str) -> Any:
    for name, value in section.items():
        if name.lower() == key.lower():
            return value
    return None


def _list(section: dict[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    value = _get(section, key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise NamespaceConfigError(f"{where}.{key} must be a list of objects")
    return value


def _name(item: dict[str, Any], where: str) -> str:
    name = _get(item, "name")
    if not isinstance(name, str) or not name:
        raise NamespaceConfigError(f'{where}: every entity needs a non-empty "name"')
    return name


def _properties(item: dict[str, Any], known: dict[str, tuple[str, str]], where: str) -> dict[str, Any]:
    raw = _get(item, "properties") or {}
    if not isinstance(raw, dict):
        raise NamespaceConfigError(f"{where}.properties must be an object")
    result: dict[str, Any] = {}
    for key, value in raw.items():
        spec = known.get(key.lower())
        if spec is None:
            continue  # ForwardTo and friends: accepted, not modelled (see README)
        attribute, kind = spec
        if kind == "duration":
            result[attribute] = parse_duration(value, f"{where}.properties.{key}")
        elif kind == "int":
            if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
                raise NamespaceConfigError(
                    f"{where}.properties.{key} must be a positive integer, got {value!r}"
                )
            result[attribute] = int(value)
        else:
            if not isinstance(value, bool):
                raise NamespaceConfigError(f"{where}.properties.{key} must be true or false, got {value!r}")
            result[attribute] = value
    return result


def _rule(item: dict[str, Any], where: str) -> RuleProperties:
    name = _name(item, where)
    props = _get(item, "properties") or item
    kind = str(_get(props, "filterType") or "").lower()
    flt: Filter
    if kind == "sql":
        sql = _get(props, "sqlFilter")
        expression = _get(sql, "sqlExpression") if isinstance(sql, dict) else sql
        if not isinstance(expression, str):
            raise NamespaceConfigError(f"{where}: a Sql rule needs sqlFilter.sqlExpression")
        flt = SqlFilter(expression)
    elif kind == "correlation":
        correlation = _get(props, "correlationFilter")
        if not isinstance(correlation, dict):
            raise NamespaceConfigError(f"{where}: a Correlation rule needs a correlationFilter object")
        fields = {
            _CORRELATION_FIELDS[key.lower()]: str(value)
            for key, value in correlation.items()
            if key.lower() in _CORRELATION_FIELDS
        }
        user = _get(correlation, "properties") or {}
        try:
            flt = CorrelationFilter(**fields, properties=dict(user))
        except ValueError as error:
            raise NamespaceConfigError(f"{where}: {error}") from error
    elif kind in ("true", "truefilter"):
        flt = TrueFilter()
    else:
        raise NamespaceConfigError(f"{where}: filterType must be Correlation or Sql, got {kind!r}")
    return RuleProperties(name, flt)


def parse_namespace_config(data: object, source: str = CONFIG_FILE) -> NamespaceConfig:
    """Build a NamespaceConfig from parsed JSON; raises NamespaceConfigError naming the bad value."""
    if not isinstance(data, dict):
        raise NamespaceConfigError(f"{source}: must hold a JSON object")
    sections: list[dict[str, Any]] = [data]
    user = _get(data, "UserConfig")
    if isinstance(user, dict):
        sections = _list(user, "Namespaces", f"{source}: UserConfig") or [user]
    config = NamespaceConfig()
    for section in sections:
        for item in _list(section, "queues", source):
            where = f"{source}: queue {_name(item, source)!r}"
            config.queues[_name(item, source)] = _properties(item, _QUEUE_PROPS, where)
        for item in _list(section, "topics", source):
            topic = _name(item, source)
            config.topics[topic] = _properties(item, _TOPIC_PROPS, f"{source}: topic {topic!r}")
            for sub in _list(item, "subscriptions", f"{source}: topic {topic!r}"):
                name = _name(sub, f"{source}: topic {topic!r}")
                where = f"{source}: subscription {topic}/{name}"
                rules = tuple(_rule(rule, where) for rule in _list(sub, "rules", where))
                props = _properties(sub, _SUBSCRIPTION_PROPS, where)
                config.subscriptions[(topic, name)] = SubscriptionConfig(topic, name, props, rules)
        for item in _list(section, "eventHubs", source):
            name = _name(item, source)
            count = _get(item, "partitionCount")
            if count is not None and not str(count).isdigit():
                raise NamespaceConfigError(f"{source}: event hub {name!r}: partitionCount must be a number")
            groups = tuple(
                g if isinstance(g, str) else _name(g, f"{source}: event hub {name!r}")
                for g in (_get(item, "consumerGroups") or [])
            )
            config.event_hubs[name] = EventHubConfig(name, int(count) if count is not None else None, groups)
    return config


def read_namespace_config(path: Path) -> NamespaceConfig:
    """Read one file; a missing file is an empty config. Raises NamespaceConfigError."""
    if not path.is_file():
        return NamespaceConfig()
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as error:
        raise NamespaceConfigError(f"{path}: not valid JSON: {error}") from error
    return parse_namespace_config(data, str(path))


def load_namespace_config(app_dir: Path | None, state_dir: Path | None) -> NamespaceConfig:
    """The state folder's file overlaid by the app folder's (the app's declarations win)."""
    base = read_namespace_config(state_dir / CONFIG_FILE) if state_dir is not None else NamespaceConfig()
    if app_dir is None:
        return base
    return read_namespace_config(app_dir / CONFIG_FILE).merged_over(base)
