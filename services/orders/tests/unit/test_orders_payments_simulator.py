"""The payment simulator: the port's contract, its rules, and its ledger (one process)."""

from __future__ import annotations

import pickle
import sqlite3
import uuid
from pathlib import Path

import pytest
from orders.payments import (
    IdempotencyKeyReused,
    LedgerError,
    PaymentDeclined,
    PaymentNotFound,
    PaymentUnavailable,
    RefundExceedsCapture,
    SimulatedPaymentGateway,
    SimulatorRules,
    capture_key,
    refund_key,
)
from orders.payments.contract import PaymentGatewayContract, new_order_id


class TestSimulatedPaymentGateway(PaymentGatewayContract):
    @pytest.fixture
    def gateway(self, tmp_path: Path) -> SimulatedPaymentGateway:
        return SimulatedPaymentGateway(tmp_path / "payments" / "simulator.db", SimulatorRules())

    @pytest.fixture
    def declining_customer(self) -> str:
        return f"decline-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    return tmp_path / "simulator.db"


def a_customer(prefix: str = "cust-") -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def capture(gateway: SimulatedPaymentGateway, order_id: str, customer_id: str, amount: int = 1_000) -> str:
    return gateway.capture(
        idempotency_key=capture_key(order_id),
        order_id=order_id,
        customer_id=customer_id,
        amount_minor=amount,
        currency="EUR",
    ).payment_id


def test_an_amount_above_the_limit_is_declined_and_the_limit_itself_is_not(ledger_path: Path) -> None:
    gateway = SimulatedPaymentGateway(ledger_path, SimulatorRules(decline_above=5_000))
    at_limit, above = new_order_id(), new_order_id()

    capture(gateway, at_limit, a_customer(), amount=5_000)
    with pytest.raises(PaymentDeclined) as declined:
        capture(gateway, above, a_customer(), amount=5_001)

    assert declined.value.code == "amount_too_large"
    assert above in str(declined.value) and "5000" in str(declined.value)
    assert gateway.charge_count(at_limit) == 1 and gateway.charge_count(above) == 0


def test_a_declined_card_is_not_charged_and_its_retry_is_not_a_new_attempt(ledger_path: Path) -> None:
    gateway = SimulatedPaymentGateway(ledger_path, SimulatorRules())
    order_id, customer = new_order_id(), a_customer("decline-")

    for _ in range(3):
        with pytest.raises(PaymentDeclined, match="card_declined"):
            capture(gateway, order_id, customer)

    assert gateway.attempts(capture_key(order_id)) == 1
    assert gateway.charge_count(order_id) == 0


def test_a_flaky_customer_fails_the_first_attempts_per_key_then_is_charged_once(ledger_path: Path) -> None:
    gateway = SimulatedPaymentGateway(ledger_path, SimulatorRules(flaky_failures=2))
    order_id, customer = new_order_id(), a_customer("flaky-")

    for attempt in (1, 2):
        with pytest.raises(PaymentUnavailable) as unavailable:
            capture(gateway, order_id, customer)
        assert unavailable.value.idempotency_key == capture_key(order_id)
        assert f"attempt {attempt}" in str(unavailable.value)
    payment_id = capture(gateway, order_id, customer)

    assert capture(gateway, order_id, customer) == payment_id
    assert gateway.attempts(capture_key(order_id)) == 3
    assert gateway.charge_count(order_id) == 1


def test_flaky_attempts_are_counted_in_the_ledger_across_gateway_instances(ledger_path: Path) -> None:
    rules = SimulatorRules(flaky_failures=2)
    order_id, customer = new_order_id(), a_customer("flaky-")

    for _ in range(2):
        with pytest.raises(PaymentUnavailable):
            capture(SimulatedPaymentGateway(ledger_path, rules), order_id, customer)

    assert capture(SimulatedPaymentGateway(ledger_path, rules), order_id, customer)


def test_each_key_of_a_flaky_customer_has_its_own_failures(ledger_path: Path) -> None:
    gateway = SimulatedPaymentGateway(ledger_path, SimulatorRules(flaky_failures=1))
    customer = a_customer("flaky-")

    for order_id in (new_order_id(), new_order_id()):
        with pytest.raises(PaymentUnavailable):
            capture(gateway, order_id, customer)
        assert capture(gateway, order_id, customer)


def test_no_flaky_failures_configured_means_a_flaky_customer_pays_at_once(ledger_path: Path) -> None:
    gateway = SimulatedPaymentGateway(ledger_path, SimulatorRules(flaky_failures=0))

    assert capture(gateway, new_order_id(), a_customer("flaky-"))


def test_a_refund_follows_the_flaky_rule_of_the_payments_customer(ledger_path: Path) -> None:
    gateway = SimulatedPaymentGateway(ledger_path, SimulatorRules(flaky_failures=1))
    order_id, customer = new_order_id(), a_customer("flaky-")
    with pytest.raises(PaymentUnavailable):
        capture(gateway, order_id, customer)
    payment_id = capture(gateway, order_id, customer)

    def refund() -> str:
        return gateway.refund(
            idempotency_key=refund_key(order_id), payment_id=payment_id, amount_minor=400, currency="EUR"
        ).refund_id

    with pytest.raises(PaymentUnavailable, match=refund_key(order_id)):
        refund()
    refund_id = refund()

    assert refund() == refund_id
    assert [r.refund_id for r in gateway.refunds(payment_id)] == [refund_id]


def test_a_refund_over_what_is_left_names_captured_refunded_and_refundable(ledger_path: Path) -> None:
    gateway = SimulatedPaymentGateway(ledger_path, SimulatorRules())
    order_id = new_order_id()
    payment_id = capture(gateway, order_id, a_customer(), amount=1_000)
    gateway.refund(idempotency_key="refund-1", payment_id=payment_id, amount_minor=700, currency="EUR")

    with pytest.raises(RefundExceedsCapture) as refused:
        gateway.refund(idempotency_key="refund-2", payment_id=payment_id, amount_minor=301, currency="EUR")

    message = str(refused.value)
    assert "captured 1000" in message and "already refunded 700" in message and "refundable 300" in message
    assert order_id in message and "refund-2" in message
    gateway.refund(idempotency_key="refund-3", payment_id=payment_id, amount_minor=300, currency="EUR")
    assert gateway.charges(order_id)[0].refunded_minor == 1_000


def test_a_refused_refund_is_refused_again_for_its_key_even_after_room_appears(ledger_path: Path) -> None:
    gateway = SimulatedPaymentGateway(ledger_path, SimulatorRules())
    payment_id = capture(gateway, new_order_id(), a_customer(), amount=1_000)

    for _ in range(2):
        with pytest.raises(RefundExceedsCapture):
            gateway.refund(
                idempotency_key="too-much", payment_id=payment_id, amount_minor=1_001, currency="EUR"
            )

    assert gateway.attempts("too-much") == 1
    assert gateway.refunds(payment_id) == []


def test_a_refund_of_an_unknown_payment_is_remembered_as_not_found(ledger_path: Path) -> None:
    gateway = SimulatedPaymentGateway(ledger_path, SimulatorRules())

    for _ in range(2):
        with pytest.raises(PaymentNotFound, match="pay_nope"):
            gateway.refund(idempotency_key="r-unknown", payment_id="pay_nope", amount_minor=1, currency="EUR")

    assert gateway.attempts("r-unknown") == 1


def test_a_refund_in_another_currency_is_declined(ledger_path: Path) -> None:
    gateway = SimulatedPaymentGateway(ledger_path, SimulatorRules())
    payment_id = capture(gateway, new_order_id(), a_customer())

    with pytest.raises(PaymentDeclined) as refused:
        gateway.refund(idempotency_key="r-usd", payment_id=payment_id, amount_minor=1, currency="USD")

    assert refused.value.code == "currency_mismatch"


def test_a_key_reused_for_another_order_names_the_differing_fields(ledger_path: Path) -> None:
    gateway = SimulatedPaymentGateway(ledger_path, SimulatorRules())
    customer = a_customer()
    gateway.capture(
        idempotency_key="shared", order_id="ord-a", customer_id=customer, amount_minor=10, currency="EUR"
    )

    with pytest.raises(IdempotencyKeyReused) as refused:
        gateway.capture(
            idempotency_key="shared", order_id="ord-b", customer_id=customer, amount_minor=10, currency="EUR"
        )

    assert refused.value.differences == ("order_id",)
    assert gateway.charge_count("ord-b") == 0


def test_a_capture_is_replayed_by_a_gateway_opened_later_on_the_same_ledger(ledger_path: Path) -> None:
    order_id, customer = new_order_id(), a_customer()
    first = capture(SimulatedPaymentGateway(ledger_path, SimulatorRules()), order_id, customer)

    reopened = SimulatedPaymentGateway(ledger_path, SimulatorRules())

    assert capture(reopened, order_id, customer) == first
    [charge] = reopened.charges(order_id)
    assert (charge.payment_id, charge.customer_id, charge.idempotency_key) == (
        first,
        customer,
        capture_key(order_id),
    )


def test_the_ledger_lists_every_charge_oldest_first(ledger_path: Path) -> None:
    gateway = SimulatedPaymentGateway(ledger_path, SimulatorRules())
    orders = [new_order_id() for _ in range(3)]
    payment_ids = [capture(gateway, order_id, a_customer()) for order_id in orders]

    assert [c.payment_id for c in gateway.charges()] == payment_ids
    assert [c.order_id for c in gateway.charges()] == orders


def test_the_latency_rule_waits_before_every_answer(ledger_path: Path) -> None:
    waits: list[float] = []
    gateway = SimulatedPaymentGateway(ledger_path, SimulatorRules(latency_ms=250), sleep=waits.append)
    order_id = new_order_id()

    payment_id = capture(gateway, order_id, a_customer())
    gateway.refund(
        idempotency_key=refund_key(order_id), payment_id=payment_id, amount_minor=1, currency="EUR"
    )

    assert waits == [0.25, 0.25]


def test_no_latency_configured_means_no_wait(ledger_path: Path) -> None:
    waits: list[float] = []
    gateway = SimulatedPaymentGateway(ledger_path, SimulatorRules(), sleep=waits.append)

    capture(gateway, new_order_id(), a_customer())

    assert waits == []


@pytest.mark.parametrize(
    ("key", "order_id", "amount", "currency", "named"),
    [
        ("", "ord-1", 100, "EUR", "idempotency_key"),
        ("k-1", "", 100, "EUR", "order_id"),
        ("k-1", "ord-1", 0, "EUR", "amount_minor"),
        ("k-1", "ord-1", True, "EUR", "amount_minor"),
        ("k-1", "ord-1", 100, "eur", "currency"),
    ],
)
def test_a_malformed_capture_is_refused_before_the_ledger_naming_the_argument(
    ledger_path: Path, key: str, order_id: str, amount: int, currency: str, named: str
) -> None:
    gateway = SimulatedPaymentGateway(ledger_path, SimulatorRules())

    with pytest.raises(ValueError, match=named):
        gateway.capture(
            idempotency_key=key,
            order_id=order_id,
            customer_id="cust-1",
            amount_minor=amount,
            currency=currency,
        )

    assert gateway.charges() == []


def test_rules_refuse_negative_numbers_naming_the_rule() -> None:
    with pytest.raises(ValueError, match="flaky_failures"):
        SimulatorRules(flaky_failures=-1)


def test_a_ledger_written_by_a_newer_version_is_refused(ledger_path: Path) -> None:
    SimulatedPaymentGateway(ledger_path, SimulatorRules())
    with sqlite3.connect(ledger_path) as connection:
        connection.execute("PRAGMA user_version=99")

    with pytest.raises(LedgerError, match="newer"):
        SimulatedPaymentGateway(ledger_path, SimulatorRules())


@pytest.mark.parametrize(
    "error",
    [
        PaymentDeclined("card_declined", "no", idempotency_key="k", order_id="o"),
        RefundExceedsCapture("refund_exceeds_capture", "too much", idempotency_key="k", payment_id="p"),
        PaymentUnavailable("outage", idempotency_key="k"),
        IdempotencyKeyReused("k", ("amount_minor",)),
    ],
)
def test_payment_errors_survive_pickling_with_their_message(error: Exception) -> None:
    copy = pickle.loads(pickle.dumps(error))

    assert type(copy) is type(error) and str(copy) == str(error)
