"""The CloudEvents AMQP binding for messages received from Service Bus or Event Hubs.

Both brokers hand over the same AMQP 1.0 parts: a body (the SDKs expose data bodies as an
iterator of `bytes` sections), a `content-type` property, and application properties whose keys
and string values arrive as `bytes`. `decode_amqp` turns those parts into a CloudEvent:

- structured mode (content type `application/cloudevents+json...`, what Nightshift sends):
  the body is the event, decoded by `envelope.decode`;
- binary mode (any other content type with `cloudEvents_` / `cloudEvents:` application
  properties, as Azure Event Grid and other producers may send): the attributes come from the
  properties, `datacontenttype` from the AMQP content type, and the body is the data;
- anything else is tried as structured JSON, so garbage raises the envelope's errors.

Every failure is an `envelope.InvalidCloudEvent` naming the attribute and the problem.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, cast

from cloudevents.core.exceptions import BaseCloudEventException
from cloudevents.core.v1.event import CloudEvent

from .. import envelope
from ..envelope import InvalidCloudEvent

__all__ = ["body_bytes", "decode_amqp", "is_structured", "text_properties"]

_PREFIXES = ("cloudEvents_", "cloudEvents:")
_REQUIRED = ("specversion", "id", "source", "type")
_JSON_SUFFIXES = ("/json", "+json")


def body_bytes(body: object) -> bytes:
    """The message body as one `bytes` value.

    Accepts `bytes`-like or `str` bodies and iterables of `bytes` sections (an AMQP data body as
    the Azure SDKs expose it). Raises `InvalidCloudEvent` for AMQP value or sequence bodies that
    are not bytes or text (maps, lists, numbers): no CloudEvents binding produces them.
    """
    if isinstance(body, bytes | bytearray | memoryview):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, Iterable) and not isinstance(body, Mapping):
        sections = list(body)
        if all(isinstance(section, bytes | bytearray | memoryview) for section in sections):
            return b"".join(bytes(section) for section in sections)
        kinds = sorted({type(section).__name__ for section in sections})
        raise InvalidCloudEvent("(body)", f"AMQP sequence body of {', '.join(kinds)} is not a CloudEvent")
    raise InvalidCloudEvent("(body)", f"AMQP body of type {type(body).__name__} is not a CloudEvent")


def text_properties(properties: Mapping[Any, object] | None) -> dict[str, object]:
    """Application properties with `str` keys and `bytes` values decoded as UTF-8 text.

    The SDKs return what the wire held: `bytes` keys and `bytes` for AMQP strings. Values that
    are not valid UTF-8 stay `bytes`; other native values (int, bool, timestamps as int) are
    kept as they are.
    """
    result: dict[str, object] = {}
    for key, value in (properties or {}).items():
        name = key.decode("utf-8", "replace") if isinstance(key, bytes) else str(key)
        if isinstance(value, bytes):
            with contextlib.suppress(UnicodeDecodeError):
                value = value.decode("utf-8")
        result[name] = value
    return result


def is_structured(content_type: str | None) -> bool:
    """True for `application/cloudevents+json` (any parameters, any case)."""
    return content_type is not None and content_type.strip().lower().startswith("application/cloudevents")


def decode_amqp(
    body: object, content_type: str | bytes | None, properties: Mapping[Any, object] | None
) -> CloudEvent:
    """A CloudEvent from a received message's body, content type and application properties.

    Structured mode is authoritative when the content type says so (the `cloudEvents_`
    properties Nightshift adds for filtering are then ignored). Raises `InvalidCloudEvent`.
    """
    if isinstance(content_type, bytes):
        content_type = content_type.decode("utf-8", "replace")
    raw = body_bytes(body)
    if is_structured(content_type):
        if content_type is not None and "batch" in content_type.lower():
            raise InvalidCloudEvent("(body)", f"batched CloudEvents ('{content_type}') are not supported")
        return envelope.decode(raw)
    attributes = _binary_attributes(text_properties(properties))
    if not attributes:
        return envelope.decode(raw)
    return _from_binary(attributes, content_type, raw)


def _binary_attributes(properties: Mapping[str, object]) -> dict[str, object]:
    attributes: dict[str, object] = {}
    for name, value in properties.items():
        for prefix in _PREFIXES:
            if name.startswith(prefix) and len(name) > len(prefix):
                attributes[name[len(prefix) :]] = value
    return attributes


def _from_binary(attributes: dict[str, object], content_type: str | None, raw: bytes) -> CloudEvent:
    for name in _REQUIRED:
        value = attributes.get(name)
        if not isinstance(value, str) or not value:
            raise InvalidCloudEvent(
                name,
                f"required in binary mode as application property 'cloudEvents_{name}' (non-empty string)",
            )
    if attributes["specversion"] != "1.0":
        raise InvalidCloudEvent("specversion", f"'{attributes['specversion']}' is not supported (only 1.0)")
    if content_type:
        attributes["datacontenttype"] = content_type
    if "time" in attributes:
        attributes["time"] = _timestamp(attributes["time"])
    for name, value in attributes.items():
        if isinstance(value, bytes):
            raise InvalidCloudEvent(name, "binary (non-UTF-8) values are not supported")
    data = _binary_data(raw, _optional_text(attributes.get("datacontenttype")))
    try:
        return CloudEvent(attributes, data)
    except BaseCloudEventException as exc:
        errors = getattr(exc, "errors", None)
        first = str(next(iter(errors))) if isinstance(errors, dict) and errors else "(envelope)"
        raise InvalidCloudEvent(first, str(exc)) from exc


def _timestamp(value: object) -> datetime:
    """AMQP timestamps arrive as int milliseconds (or datetime); RFC 3339 text is also accepted."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value / 1000, tz=UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise InvalidCloudEvent("time", f"AMQP timestamp {value} is out of range") from exc
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError as exc:
            raise InvalidCloudEvent("time", f"'{value}' is not an RFC 3339 timestamp") from exc
        if parsed.tzinfo is None:
            raise InvalidCloudEvent("time", f"'{value}' has no UTC offset")
        return parsed
    raise InvalidCloudEvent("time", f"a {type(value).__name__} is not a timestamp")


def _optional_text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _binary_data(raw: bytes, datacontenttype: str | None) -> dict[str, Any] | str | bytes | None:
    """JSON content types (and none) parse as JSON, `text/*` as text, anything else stays bytes."""
    if not raw:
        return None
    media_type = (datacontenttype or "application/json").split(";", 1)[0].strip().lower()
    if media_type.endswith(_JSON_SUFFIXES):
        try:
            parsed = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidCloudEvent(
                "data", f"content type '{media_type}' but the body is not JSON: {exc}"
            ) from exc
        # JSON arrays and scalars are kept as parsed, as the structured-mode reader does.
        return cast("dict[str, Any]", parsed)
    if media_type.startswith("text/"):
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidCloudEvent("data", f"content type '{media_type}' but the body is not UTF-8") from exc
    return raw
