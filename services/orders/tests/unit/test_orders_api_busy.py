"""The order API's functions answer 503 with Retry-After when the event store is busy (Cosmos DB
throttling after the SDK's retries), called as the Functions host calls them."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest
from orders import api, bootstrap
from orders.order_index import OrderIndex

from eventkit.publisher import Publisher
from eventkit.store import InMemoryEventStore, StoreBusy


class ThrottledStore(InMemoryEventStore):
    """Every read and write is refused as Cosmos DB refuses a request over the provisioned RU/s."""

    def read_stream(self, stream_id: str, from_version: int = 1) -> Any:
        raise StoreBusy("Cosmos DB answered 429 to read_stream: Request rate is large", retry_after=2.5)

    def stream_version(self, stream_id: str) -> int:
        raise StoreBusy("Cosmos DB answered 429 to stream_version", retry_after=2.5)


class NoPublisher(Publisher):
    def publish(self, destination: str, events: Sequence[Any]) -> None:
        raise AssertionError("nothing is published by a request")

    def close(self) -> None:
        return None


@pytest.fixture
def throttled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    service = bootstrap.bootstrap(
        {}, store=ThrottledStore(), publisher=NoPublisher(), index=OrderIndex(tmp_path / "index.db")
    )
    monkeypatch.setattr(bootstrap, "_service", service)
    yield
    service.orders.index.close()


def user_function(builder: Any) -> Any:
    return builder.build().get_user_function()


def assert_busy(answer: func.HttpResponse, url: str) -> None:
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "3"
    problem = json.loads(answer.get_body())
    assert (problem["type"], problem["status"], problem["instance"]) == (
        "https://nightshift.example/problems/service-unavailable",
        503,
        url,
    )


def test_reading_an_order_from_a_throttled_store_is_a_503_with_retry_after(throttled: None) -> None:
    order_id = f"ord-{uuid.uuid4().hex}"
    url = f"http://localhost/api/orders/{order_id}"
    request = func.HttpRequest("GET", url, body=b"", route_params={"order_id": order_id})

    assert_busy(user_function(api.get_order_by_id)(req=request), url)


def test_placing_an_order_on_a_throttled_store_is_a_503_with_retry_after(throttled: None) -> None:
    url = "http://localhost/api/orders"
    body = {
        "customer_id": "cust-1",
        "lines": [{"sku": "SKU-1", "quantity": 1}],
        "ship_to": {
            "name": "A",
            "line1": "1 Main St",
            "city": "Berlin",
            "postal_code": "10115",
            "country": "DE",
        },
    }
    request = func.HttpRequest(
        "POST",
        url,
        body=json.dumps(body).encode(),
        headers={"Idempotency-Key": "k-1", "Content-Type": "application/json"},
    )

    assert_busy(asyncio.run(user_function(api.place_order)(req=request)), url)
