"""Renders each contract model as the JSON Schema 2020-12 document committed under `schemas/`.

Rendering is pure and deterministic: the same model always gives the same text, so the committed
files can be compared byte for byte.
"""

from __future__ import annotations

import json
from typing import Any

from contracts.registry import model_for, schema_id

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def schema_document(event_type: str) -> dict[str, Any]:
    """The JSON Schema of `event_type`'s data, with `$schema`, `$id`, `title` and `description` first.

    Raises `UnknownEventType` if the type is not a known contract.
    """
    model = model_for(event_type)
    generated = model.model_json_schema(mode="validation")
    head: dict[str, Any] = {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": schema_id(event_type),
        "title": generated.pop("title", model.__name__),
        "description": generated.pop("description", ""),
        "x-cloudevents-type": event_type,
    }
    return head | generated


def render_schema(event_type: str) -> str:
    """The exact text of `event_type`'s committed schema file (2-space JSON, trailing newline)."""
    return json.dumps(schema_document(event_type), indent=2, ensure_ascii=False) + "\n"
