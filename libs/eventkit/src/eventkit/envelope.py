"""CloudEvent envelope: build from a contract model, encode/decode structured JSON, map to brokers.

Conventions (ARCHITECTURE.md section 4): `type` `com.nightshift.<service>.<entity>.<happened>.v<n>`,
`source` `/nightshift/<service>`, `subject` the aggregate id, `dataschema` the schema's `$id`,
extensions `partitionkey`, `sequence`, `traceparent`, `correlationid`, `causationid`.

Promises:
- `build` never produces an event whose data fails its contract: it serialises a validated model.
- `decode` raises `InvalidCloudEvent` for anything that is not a CloudEvent 1.0 in structured JSON
  (naming the attribute and the problem), `UnknownEventType` for a type `contracts` does not know,
  and `EventDataInvalid` (naming the type, the field and the problem) when the data breaks the
  type's schema. It never returns a half-valid event.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from cloudevents.core.exceptions import BaseCloudEventException
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from pydantic import BaseModel, ValidationError

import contracts

from .publisher import PropertyValue, TransportMessage

__all__ = [
    "CE_PROPERTY_PREFIX",
    "STRUCTURED_CONTENT_TYPE",
    "CloudEvent",
    "EnvelopeError",
    "EventDataInvalid",
    "InvalidCloudEvent",
    "UnknownEventType",
    "assemble",
    "build",
    "data_model",
    "decode",
    "decode_valid",
    "encode",
    "from_transport",
    "source_for",
    "to_transport",
]

STRUCTURED_CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"
CE_PROPERTY_PREFIX = "cloudEvents_"
_TYPE_PREFIX = "com.nightshift."
_FORMAT = JSONFormat()
_REQUIRED = ("specversion", "id", "source", "type")


class EnvelopeError(ValueError):
    """Base class: a message could not be turned into a valid Nightshift CloudEvent."""


class InvalidCloudEvent(EnvelopeError):
    """The message is not a CloudEvent 1.0 in structured JSON; `attribute` names what was wrong."""

    def __init__(self, attribute: str, problem: str) -> None:
        self.attribute = attribute
        self.problem = problem
        super().__init__(f"not a valid CloudEvent: attribute '{attribute}': {problem}")


class UnknownEventType(EnvelopeError):
    """The event's `type` is not in `contracts` (a newer producer, or a typo)."""

    def __init__(self, event_type: str) -> None:
        self.event_type = event_type
        super().__init__(
            f"unknown event type '{event_type}': no contract in the `contracts` package names it "
            "(upgrade contracts, or check the producer's type string)"
        )


class EventDataInvalid(EnvelopeError):
    """The event's data breaks its type's schema; `errors` lists (field, problem) pairs."""

    def __init__(self, event_type: str, event_id: str, errors: list[tuple[str, str]]) -> None:
        self.event_type = event_type
        self.event_id = event_id
        self.errors = errors
        detail = "; ".join(f"field '{field}': {problem}" for field, problem in errors)
        super().__init__(f"event {event_id} of type '{event_type}' has invalid data: {detail}")

    @property
    def field(self) -> str:
        """The first offending field (dotted path)."""
        return self.errors[0][0] if self.errors else ""


def source_for(event_type: str) -> str:
    """`/nightshift/<service>` for a `com.nightshift.<service>....` type."""
    if not event_type.startswith(_TYPE_PREFIX):
        raise InvalidCloudEvent("type", f"'{event_type}' does not start with '{_TYPE_PREFIX}'")
    service = event_type[len(_TYPE_PREFIX) :].split(".", 1)[0]
    return f"/nightshift/{service}"


def build(
    model: BaseModel,
    *,
    subject: str,
    event_id: str | None = None,
    time: datetime | None = None,
    partitionkey: str | None = None,
    sequence: int | None = None,
    correlationid: str | None = None,
    causationid: str | None = None,
    traceparent: str | None = None,
) -> CloudEvent:
    """A CloudEvent carrying `model` (a `contracts` model) with Nightshift's attributes.

    `partitionkey` defaults to `subject` (the aggregate id). `event_id` should be stable across
    retries (derive it from the stored event); a random one is made if omitted.
    """
    event_type = _event_type_of(model)
    attributes: dict[str, Any] = {
        "specversion": "1.0",
        "id": event_id or str(uuid.uuid4()),
        "source": source_for(event_type),
        "type": event_type,
        "subject": subject,
        "time": (time or datetime.now(UTC)).astimezone(UTC),
        "datacontenttype": "application/json",
        "dataschema": contracts.schema_id(event_type),
        "partitionkey": partitionkey if partitionkey is not None else subject,
    }
    optional = {
        "sequence": None if sequence is None else str(sequence),
        "correlationid": correlationid,
        "causationid": causationid,
        "traceparent": traceparent,
    }
    attributes.update({k: v for k, v in optional.items() if v is not None})
    return assemble(attributes, model.model_dump(mode="json", exclude_none=True))


def assemble(attributes: dict[str, Any], data: dict[str, Any] | str | bytes | None) -> CloudEvent:
    """`CloudEvent(attributes, data)`, with the SDK's checks, for a caller that builds many events
    of a few shapes (a relay): what is fixed per shape (the attribute names, `specversion`,
    `source`, `type`, `datacontenttype`, `dataschema`) is checked by the SDK once per shape, and
    only `id`, `subject` and `time` are checked per event, as the SDK checks them. Anything else
    (a new shape, a missing `id` / `time` / `specversion` the SDK would fill in, a value that
    fails a check) goes through the SDK constructor, which raises `CloudEventValidationError`
    naming what was wrong. Takes ownership of `attributes` (the event keeps the dict)."""
    try:
        shape = (
            tuple(attributes),
            attributes.get("specversion"),
            attributes.get("source"),
            attributes.get("type"),
            attributes.get("datacontenttype"),
            attributes.get("dataschema"),
        )
        known = shape in _SHAPES
    except TypeError:  # an unhashable value: the SDK will say what is wrong with it
        return CloudEvent(attributes, data)
    if known and _varying_ok(attributes):
        event = CloudEvent.__new__(CloudEvent)
        event._attributes = attributes
        event._data = data
        return event
    event = CloudEvent(attributes, data)
    if "id" in shape[0] and "time" in shape[0] and "specversion" in shape[0] and len(_SHAPES) < 256:
        _SHAPES.add(shape)
    return event


_SHAPES: set[tuple[object, ...]] = set()


def _varying_ok(attributes: dict[str, Any]) -> bool:
    event_id, time = attributes.get("id"), attributes.get("time")
    if not (isinstance(event_id, str) and event_id and isinstance(time, datetime) and time.tzinfo):
        return False
    if "subject" in attributes:
        subject = attributes["subject"]
        return isinstance(subject, str) and subject != ""
    return True


def _event_type_of(model: BaseModel) -> str:
    event_type = getattr(type(model), "EVENT_TYPE", None)
    if not isinstance(event_type, str):
        raise TypeError(f"{type(model).__name__} is not a contracts event model (no EVENT_TYPE)")
    return event_type


def encode(event: CloudEvent) -> bytes:
    """Structured-mode JSON (`application/cloudevents+json`), time in RFC 3339 UTC.

    The bytes are exactly those of the SDK's `JSONFormat.write`; JSON data (the events
    Nightshift publishes) takes a shorter path with the same output."""
    return _encode(event, None)


def _encode(event: CloudEvent, time_text: str | None) -> bytes:
    data = event.get_data()
    if data is None or isinstance(data, bytes | bytearray):
        return _FORMAT.write(event)
    body = dict(event.get_attributes())
    if not _is_json_type(body.get("datacontenttype", _FORMAT.DEFAULT_CONTENT_TYPE)):
        return _FORMAT.write(event)
    if time_text is not None:
        body["time"] = time_text
    body["data"] = data
    return _JSON_ENCODER.encode(body).encode("utf-8")


def _is_json_type(content_type: str) -> bool:
    known = _JSON_TYPES.get(content_type)
    if known is None:
        known = _JSON_TYPES[content_type] = bool(_FORMAT.JSON_CONTENT_TYPE_PATTERN.match(content_type))
    return known


def _rfc3339(value: object) -> object:
    """The SDK's JSON form of a datetime (`isoformat`, `+00:00` written `Z`); the SDK's error else."""
    if isinstance(value, datetime):
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


_JSON_TYPES: dict[str, bool] = {}
_JSON_ENCODER = json.JSONEncoder(default=_rfc3339)
"""`json.dumps(..., cls=<the SDK's datetime encoder>)` with the same (default) settings."""


def decode(body: bytes | str) -> CloudEvent:
    """Parse structured-mode JSON into a CloudEvent, checking the envelope but not the data."""
    try:
        raw = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidCloudEvent("(body)", f"not JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise InvalidCloudEvent("(body)", f"expected a JSON object, got {type(raw).__name__}")
    for name in _REQUIRED:
        value = raw.get(name)
        if not isinstance(value, str) or not value:
            raise InvalidCloudEvent(name, "required, must be a non-empty string")
    if raw["specversion"] != "1.0":
        raise InvalidCloudEvent("specversion", f"'{raw['specversion']}' is not supported (only 1.0)")
    if "data" in raw and "data_base64" in raw:
        raise InvalidCloudEvent("data", "both 'data' and 'data_base64' are present")
    try:
        event = _FORMAT.read(CloudEvent, body)
    except BaseCloudEventException as exc:
        raise InvalidCloudEvent(_first_attribute(exc), str(exc)) from exc
    except (ValueError, TypeError, OverflowError) as exc:
        raise InvalidCloudEvent("time", f"not an RFC 3339 timestamp: {exc}") from exc
    if not isinstance(event, CloudEvent):  # pragma: no cover - the factory guarantees it
        raise InvalidCloudEvent("specversion", "not a CloudEvents 1.0 event")
    return event


def _first_attribute(exc: BaseCloudEventException) -> str:
    errors = getattr(exc, "errors", None)
    if isinstance(errors, dict) and errors:
        return str(next(iter(errors)))
    return str(getattr(exc, "attribute_name", "(envelope)"))


def data_model(event: CloudEvent) -> BaseModel:
    """The event's data as its contract model; raises `UnknownEventType` or `EventDataInvalid`."""
    event_type = event.get_type()
    try:
        model_cls = contracts.model_for(event_type)
    except contracts.UnknownEventType as exc:
        raise UnknownEventType(event_type) from exc
    data = event.get_data()
    if isinstance(data, bytes | str):
        try:
            data = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise EventDataInvalid(event_type, event.get_id(), [("(data)", f"not JSON: {exc}")]) from exc
    if data is None:
        raise EventDataInvalid(event_type, event.get_id(), [("(data)", "missing")])
    try:
        return model_cls.model_validate(data)
    except ValidationError as exc:
        errors = [(".".join(str(p) for p in err["loc"]) or "(data)", err["msg"]) for err in exc.errors()]
        raise EventDataInvalid(event_type, event.get_id(), errors) from exc


def decode_valid(body: bytes | str) -> tuple[CloudEvent, BaseModel]:
    """`decode` then `data_model`: the envelope and its validated data, or a specific error."""
    event = decode(body)
    return event, data_model(event)


def to_transport(event: CloudEvent) -> TransportMessage:
    """The broker-neutral message: structured body plus `cloudEvents_*` application properties."""
    attributes = event.get_attributes()
    names = _PROPERTY_NAMES
    properties: dict[str, PropertyValue] = {}
    time_text: str | None = None
    for name, value in attributes.items():
        key = names.get(name)
        if key is None:
            key = names[name] = f"{CE_PROPERTY_PREFIX}{name}"
        if type(value) is str:
            properties[key] = value
        elif name == "time" and type(value) is datetime and value.utcoffset() == _ZERO:
            # A UTC time reads the same in the body and in the property: format it once.
            time_text = properties[key] = value.isoformat()[:-6] + "Z"
        else:
            properties[key] = _property_value(value)
    partition_key = attributes.get("partitionkey")
    return TransportMessage(
        body=_encode(event, time_text),
        message_id=event.get_id(),
        content_type=STRUCTURED_CONTENT_TYPE,
        subject=event.get_type(),
        partition_key=None if partition_key is None else str(partition_key),
        correlation_id=_optional_str(attributes.get("correlationid")),
        application_properties=properties,
    )


_PROPERTY_NAMES: dict[str, str] = {}
_ZERO = timedelta(0)


def _property_value(value: object) -> PropertyValue:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _optional_str(value: object) -> str | None:
    return None if value is None else str(value)


def from_transport(body: bytes | str, properties: Mapping[str, Any] | None = None) -> CloudEvent:
    """Decode a received message. Structured mode is authoritative: the body holds the event,
    and `cloudEvents_*` properties (kept only for filtering) are not consulted."""
    del properties
    return decode(body)
