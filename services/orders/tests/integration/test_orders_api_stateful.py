"""schemathesis' stateful testing against orders and inventory on one `devhost run`: it follows the
OpenAPI links of contracts/openapi/orders.yaml (place -> get -> cancel -> get, place -> list,
catalog list -> get/set price) and every response on the way must be one the document promises
(status code, content type, headers, body schema) and none a server error.

A ledger watches every call, so the test also proves the walk really chained operations: orders
placed by the run were read and cancelled by id, and read again after the cancel."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import strategies as st
from hypothesis.errors import FlakyStrategyDefinition
from schemathesis.engine.errors import is_inconsistent_replay
from schemathesis.generation.stateful.state_machine import DEFAULT_STATE_MACHINE_SETTINGS

SPEC = Path(__file__).resolve().parents[4] / "contracts" / "openapi" / "orders.yaml"
PRICED_SKUS = ("SKU-1001", "SKU-1002", "SKU-1003")
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
]
PLACE = "POST /orders"
GET = "GET /orders/{order_id}"
CANCEL = "POST /orders/{order_id}/cancel"
LIST = "GET /orders"
# Problem types that say "this request is malformed": one the document calls valid never gets them.
# (An unknown SKU, a stale continuation token or a reused key are about state, not shape.)
MALFORMED = frozenset(
    {
        "malformed-json",
        "invalid-request",
        "server-owned-field",
        "limit-exceeded",
        "invalid-idempotency-key",
        "missing-idempotency-key",
        "invalid-order-id",
        "invalid-sku",
        "invalid-customer-id",
        "invalid-status",
        "invalid-page-size",
    }
)
# Suites of up to 60 scenarios of up to 10 steps, until 500 calls were made (at most 8 suites).
MIN_CALLS = 500
MAX_SUITES = 8
RUN = hypothesis.settings(
    DEFAULT_STATE_MACHINE_SETTINGS,
    max_examples=60,
    stateful_step_count=10,
    database=None,
)


@dataclass
class LinkLedger:
    """What the run did with the orders it placed: per order id, the calls in order."""

    placed_by: dict[str, str] = field(default_factory=dict)  # order id -> customer id
    calls: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter[str] = field(default_factory=Counter)
    listed_customers: int = 0
    links: Counter[str] = field(default_factory=Counter)
    valid_but_refused: list[str] = field(default_factory=list)

    def observe(self, case: Any, status: int, body: Any) -> None:
        label = case.operation.label
        kind = body.get("type", "").rsplit("/", 1)[-1] if status >= 400 and isinstance(body, dict) else ""
        self.statuses[f"{label} {status} {kind}".rstrip()] += 1
        positive = case.meta is not None and case.meta.generation.mode.name == "POSITIVE"
        if positive and kind in MALFORMED:
            self.valid_but_refused.append(f"{label} {status} {kind}: {_sent(case)} -> {body.get('detail')}")
        if label == PLACE and status == 202 and isinstance(body, dict):
            order_id = str(body["order_id"])
            self.placed_by[order_id] = str(case.body["customer_id"])
            self.calls[order_id].append("place")
        elif label in (GET, CANCEL):
            order_id = str((case.path_parameters or {}).get("order_id"))
            if order_id in self.placed_by:
                self.calls[order_id].append(f"{'get' if label == GET else 'cancel'} {status}")
        elif label == LIST and (case.query or {}).get("customer_id") in self.placed_by.values():
            self.listed_customers += 1

    def total_calls(self) -> int:
        return sum(self.statuses.values())

    def followed(self, kind: str) -> int:
        """How many `kind` calls ("get", "cancel") used an id the run's own placing returned."""
        return sum(1 for calls in self.calls.values() for call in calls if call.startswith(kind))

    def read_after_cancel(self) -> int:
        """Orders the run placed, read, cancelled and read again, in that order."""

        def chained(calls: list[str]) -> bool:
            wanted = iter(("place", "get", "cancel", "get"))
            step = next(wanted)
            for call in calls:
                if call.startswith(step):
                    step = next(wanted, "")
                    if not step:
                        return True
            return False

        return sum(1 for calls in self.calls.values() if chained(calls))


def _sent(case: Any) -> str:
    parts = {**(case.path_parameters or {}), **(case.query or {})}
    if isinstance(case.body, dict | list | str | bytes):
        parts["body"] = case.body
    return ", ".join(f"{name}={value!r:.200}" for name, value in parts.items())


def _priced_lines(context: schemathesis.HookContext, body: Any) -> st.SearchStrategy[Any]:
    """Half the generated orders name only SKUs the catalog prices, so placing succeeds and the
    links from its 202 are followed; the other half keep their random (mostly unknown) SKUs."""
    lines = body.get("lines") if isinstance(body, dict) else None
    if context.operation is None or context.operation.label != PLACE or not isinstance(lines, list):
        return st.just(body)

    def priced(skus: list[str]) -> dict[str, Any]:
        return {
            **body,
            "lines": [
                {**line, "sku": sku} if isinstance(line, dict) else line
                for line, sku in zip(lines, skus, strict=True)
            ],
        }

    skus = st.lists(st.sampled_from(PRICED_SKUS), min_size=len(lines), max_size=len(lines))
    return st.one_of(st.just(body), skus.map(priced))


def run_stateful(host: Any, ledger: LinkLedger) -> None:
    """Drive schemathesis' state machine for the orders API against `host`, suite after suite
    (at most MAX_SUITES) until MIN_CALLS calls were made and one placed order was read, cancelled
    and read again (a random walk does not always find that chain in one suite); raises the
    run's check failures (a server error or a response the document does not promise)."""
    schema = schemathesis.openapi.from_path(str(SPEC))
    schema.config.update(base_url=host.url("/api"), headers=dict(host.admin_key))
    schema.config.checks.update(included_check_names=CHECKS)
    schema.hooks.register_hook_with_name(_priced_lines, "flatmap_body")
    workflow = schema.as_state_machine()

    class OrdersWorkflow(workflow):  # type: ignore[misc, valid-type]
        def step(self, input: Any) -> Any:
            link = input.transition
            if link is not None and not link.is_inferred:
                ledger.links[f"{link.id}{'' if input.is_applied else ' (not applied)'}"] += 1
            return super().step(input)

        def after_call(self, response: Any, case: Any) -> None:
            super().after_call(response, case)
            try:
                body = response.json()
            except ValueError:
                body = None
            ledger.observe(case, response.status_code, body)

    for _ in range(MAX_SUITES):
        try:
            OrdersWorkflow.run(settings=RUN)
        except Exception as error:
            # Hypothesis replays a prefix of an earlier scenario and finds the API in another state
            # (an order now cancelled, a longer list): expected against a live stateful API. Like
            # schemathesis' own engine, end this suite and start a fresh one. A check failure, even
            # one that did not reproduce (FlakyFailure), is not this and fails the test.
            if not (isinstance(error, FlakyStrategyDefinition) or is_inconsistent_replay(error)):
                raise
        if ledger.total_calls() >= MIN_CALLS and ledger.read_after_cancel() > 0:
            return  # enough calls, and at least one order followed from placing to a read after its cancel


@pytest.fixture(scope="module")
def stocked_system(system: Any) -> Any:
    """The catalog prices three SKUs and inventory holds plenty of each, so orders can confirm."""
    for sku in PRICED_SKUS:
        system.set_price(sku, 1999)
    system.upload_feed([(sku, "DE-BER1", 1_000_000) for sku in PRICED_SKUS])
    for sku in PRICED_SKUS:
        system.wait_available(sku, 1_000_000)
    return system


@pytest.mark.timeout(180)
def test_linked_place_get_cancel_chains_only_get_documented_answers(stocked_system: Any) -> None:
    ledger = LinkLedger()
    run_stateful(stocked_system, ledger)

    summary = (
        f"calls by status: {dict(ledger.statuses)}; links: {dict(ledger.links)}; chains: {dict(ledger.calls)}"
    )
    assert ledger.valid_but_refused == [], summary
    assert ledger.placed_by, summary
    assert ledger.followed("get") > 0, summary
    assert ledger.followed("cancel") > 0, summary
    assert ledger.read_after_cancel() > 0, summary
    assert ledger.listed_customers > 0, summary


def test_the_ledger_counts_a_chain_only_in_place_get_cancel_get_order() -> None:
    class Op:
        def __init__(self, label: str) -> None:
            self.label = label

    class Call:
        def __init__(self, label: str, order_id: str, body: Any = None) -> None:
            self.operation = Op(label)
            self.path_parameters = {"order_id": order_id}
            self.query: dict[str, str] = {}
            self.body = body
            self.meta = None

    ledger = LinkLedger()
    chained, unchained = f"ord-{uuid.uuid4().hex}", f"ord-{uuid.uuid4().hex}"
    for order_id in (chained, unchained):
        ledger.observe(Call(PLACE, "", {"customer_id": "c"}), 202, {"order_id": order_id})
    for label, order_id in [(GET, chained), (CANCEL, chained), (GET, chained), (CANCEL, unchained)]:
        ledger.observe(Call(label, order_id), 202 if label == CANCEL else 200, None)
    ledger.observe(Call(GET, f"ord-{uuid.uuid4().hex}"), 404, None)

    assert ledger.read_after_cancel() == 1
    assert ledger.followed("get") == 2
    assert ledger.followed("cancel") == 2
