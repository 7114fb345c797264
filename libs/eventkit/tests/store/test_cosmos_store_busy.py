"""Cosmos DB's "not now" answers (throttled, unavailable, timed out) that outlived the SDK's own
retries reach callers as `StoreBusy` with the service's retry advice, so an API can answer 503 with
`Retry-After` instead of a bare 500. The local emulator never throttles, so a container stand-in
raises the SDK's own error with the headers Cosmos DB sends."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from azure.cosmos.exceptions import CosmosHttpResponseError

from eventkit.store import NewEvent, StoreBusy
from eventkit.store.cosmos import CosmosEventStore


class AnsweringContainer:
    """Answers every call with one Cosmos DB HTTP error."""

    id = "events"

    def __init__(self, status: int, headers: dict[str, str]) -> None:
        response = SimpleNamespace(headers=headers, status_code=status, reason="", text=lambda *a, **k: "")
        self.error = CosmosHttpResponseError(
            status_code=status, message="Request rate is large", response=response
        )

    def __getattr__(self, name: str) -> Any:
        def answer(*args: Any, **kwargs: Any) -> Any:
            raise self.error

        return answer


def a_store(status: int, headers: dict[str, str] | None = None) -> CosmosEventStore:
    return CosmosEventStore(AnsweringContainer(status, headers or {}))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "call",
    [
        lambda store: store.append("order-1", 0, [NewEvent("shop.thing.happened.v1", {"n": 1})]),
        lambda store: store.read_stream("order-1"),
        lambda store: store.stream_version("order-1"),
        lambda store: store.has_processed("relay", "k"),
    ],
)
def test_a_throttled_call_is_store_busy_with_the_services_retry_advice(call: Any) -> None:
    with pytest.raises(StoreBusy, match="Cosmos DB answered 429") as busy:
        call(a_store(429, {"x-ms-retry-after-ms": "1500"}))

    assert busy.value.retry_after == 1.5
    assert isinstance(busy.value.__cause__, CosmosHttpResponseError)


@pytest.mark.parametrize("status", [408, 503])
def test_a_timeout_or_an_unavailable_service_is_store_busy_without_advice(status: int) -> None:
    with pytest.raises(StoreBusy) as busy:
        a_store(status).stream_version("order-1")

    assert busy.value.retry_after is None


def test_any_other_cosmos_error_passes_through_as_it_is() -> None:
    with pytest.raises(CosmosHttpResponseError) as error:
        a_store(400).stream_version("order-1")

    assert not isinstance(error.value, StoreBusy) and error.value.status_code == 400
