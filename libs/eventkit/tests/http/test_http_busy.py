"""A busy store (throttled, unavailable) or a hot stream that kept clashing answers 503 with
`Retry-After` through `answering_busy`, for sync and async HTTP functions alike."""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

import pytest

from contracts.api import SERVICE_UNAVAILABLE
from eventkit.http.busy import answering_busy
from eventkit.http.problems import ProblemDetails
from eventkit.repository import ConcurrencyRetriesExhausted
from eventkit.store import StoreBusy

URL = "http://localhost:7071/api/orders/ord-1"


def respond(details: ProblemDetails, headers: Mapping[str, str]) -> dict[str, Any]:
    return {"status": details.status, "body": json.loads(details.to_json()), "headers": dict(headers)}


busy = answering_busy(respond)


@busy
def get_order(req: Any, order_id: str = "ord-1") -> str:
    raise req.error


@busy
async def place_order(req: Any) -> str:
    raise req.error


def request(error: BaseException) -> SimpleNamespace:
    return SimpleNamespace(url=URL, error=error)


@pytest.mark.parametrize(
    ("error", "retry_after"),
    [
        (StoreBusy("Cosmos DB answered 429", retry_after=1.2), "2"),
        (StoreBusy("Cosmos DB answered 503"), "1"),
        (ConcurrencyRetriesExhausted("Order 'o': 20 attempts met concurrent writers"), "1"),
    ],
)
def test_a_busy_store_answers_503_with_retry_after_from_sync_and_async_functions(
    error: BaseException, retry_after: str
) -> None:
    for answer in (get_order(req=request(error)), asyncio.run(place_order(req=request(error)))):
        assert answer["status"] == 503
        assert answer["headers"] == {"Retry-After": retry_after}
        assert answer["body"]["type"] == SERVICE_UNAVAILABLE.type
        assert answer["body"]["instance"] == URL


def test_other_errors_pass_through_and_the_functions_keep_their_signature_and_kind() -> None:
    with pytest.raises(KeyError):
        get_order(req=request(KeyError("order_id")))

    assert list(inspect.signature(get_order).parameters) == ["req", "order_id"]
    assert inspect.iscoroutinefunction(place_order) and not inspect.iscoroutinefunction(get_order)
