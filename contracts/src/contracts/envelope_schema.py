"""The JSON Schema (2020-12) of a Nightshift CloudEvent in structured mode, `data` aside.

Each event type's `data` has its own schema (`schemas/<type>.json`); this one fixes the envelope
every type shares (ARCHITECTURE.md section 4). asyncapi.yaml embeds it, and the contract tests
validate every example against it.
"""

from __future__ import annotations

from typing import Any

from contracts.common import UTC_SUFFIX_PATTERN
from contracts.registry import SCHEMA_BASE_URL


def _id(description: str) -> dict[str, Any]:
    """An id attribute: 1-128 characters, no whitespace."""
    schema: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": 128, "pattern": r"^\S+$"}
    return schema | {"description": description}


def envelope_schema() -> dict[str, Any]:
    """A fresh copy of the envelope schema (callers may mutate it)."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "NightshiftCloudEvent",
        "description": (
            "A CloudEvents 1.0 event in structured JSON mode as Nightshift sends it. `sequence` is the "
            "aggregate version as a decimal string: compare it as an integer, not lexicographically."
        ),
        "type": "object",
        "required": [
            "specversion",
            "id",
            "source",
            "type",
            "subject",
            "time",
            "datacontenttype",
            "dataschema",
            "partitionkey",
            "data",
        ],
        "properties": {
            "specversion": {"const": "1.0"},
            "id": _id("Unique per event, stable across retries; the Service Bus message id."),
            "source": {
                "type": "string",
                "pattern": "^/nightshift/(inventory|orders|reporting|migration)$",
                "description": "/nightshift/<producing service>.",
            },
            "type": {
                "type": "string",
                "pattern": r"^com\.nightshift\.[a-z]+\.[a-z-]+\.[a-z-]+\.v[1-9][0-9]*$",
                "description": "com.nightshift.<service>.<entity>.<happened>.v<major>.",
            },
            "subject": _id("The aggregate id."),
            "time": {
                "type": "string",
                "format": "date-time",
                "pattern": UTC_SUFFIX_PATTERN,
                "description": "When it happened, RFC 3339 UTC.",
            },
            "datacontenttype": {"const": "application/json"},
            "dataschema": {
                "type": "string",
                "format": "uri",
                "pattern": "^" + SCHEMA_BASE_URL.replace(".", r"\.") + r".+\.json$",
                "description": "The `$id` of the data's schema.",
            },
            "partitionkey": _id("The aggregate id; Event Hubs key, Service Bus session id."),
            "sequence": {
                "type": "string",
                "pattern": "^[1-9][0-9]*$",
                "description": "The aggregate version after this event, as a decimal string.",
            },
            "correlationid": _id("Id of the business flow (e.g. the order id)."),
            "causationid": _id("Id of the event or request that caused this one."),
            "traceparent": {
                "type": "string",
                "pattern": "^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$",
                "description": "W3C trace context of the producing operation.",
            },
            "data": {"type": "object", "description": "The event's data; see `dataschema`."},
        },
    }
