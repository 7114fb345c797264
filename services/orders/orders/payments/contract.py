"""The contract every `PaymentGateway` adapter passes: subclass `PaymentGatewayContract` in a test.

    class TestMyProviderGateway(PaymentGatewayContract):
        @pytest.fixture
        def gateway(self) -> PaymentGateway:
            return MyProviderGateway(...)

        @pytest.fixture
        def declining_customer(self) -> str:
            return "a customer whose payment method the provider declines"

Override `paying_customer`, `currency` or `unknown_payment_id` when the provider needs its own
forms. Every test uses fresh random order ids and keys, so it may run against a shared sandbox
account. Needs pytest (a test dependency), like eventkit's contract test cases.
"""

from __future__ import annotations

import uuid

import pytest

from .port import (
    Capture,
    IdempotencyKeyReused,
    PaymentDeclined,
    PaymentGateway,
    PaymentNotFound,
    RefundExceedsCapture,
    capture_key,
    refund_key,
)


def new_order_id() -> str:
    """A random order id, so that tests never share an idempotency key."""
    return f"ord-{uuid.uuid4().hex[:12]}"


class PaymentGatewayContract:
    """Behaviour the saga relies on, for any provider. Subclasses supply `gateway`."""

    @pytest.fixture
    def gateway(self) -> PaymentGateway:
        raise NotImplementedError("a subclass provides the gateway under test")

    @pytest.fixture
    def paying_customer(self) -> str:
        return f"cust-{uuid.uuid4().hex[:8]}"

    @pytest.fixture
    def declining_customer(self) -> str:
        raise NotImplementedError("a subclass names a customer the provider declines")

    @pytest.fixture
    def currency(self) -> str:
        return "EUR"

    @pytest.fixture
    def unknown_payment_id(self) -> str:
        return f"pay_{uuid.uuid4().hex}"

    def _capture(
        self, gateway: PaymentGateway, customer: str, currency: str, amount: int = 2_500
    ) -> tuple[str, Capture]:
        order_id = new_order_id()
        capture = gateway.capture(
            idempotency_key=capture_key(order_id),
            order_id=order_id,
            customer_id=customer,
            amount_minor=amount,
            currency=currency,
        )
        return order_id, capture

    def test_a_capture_charges_the_amount_and_currency_asked_for(
        self, gateway: PaymentGateway, paying_customer: str, currency: str
    ) -> None:
        _, capture = self._capture(gateway, paying_customer, currency, amount=4_321)

        assert (capture.amount_minor, capture.currency) == (4_321, currency)
        assert capture.payment_id
        assert capture.captured_at.tzinfo is not None

    def test_a_retried_capture_returns_the_first_capture(
        self, gateway: PaymentGateway, paying_customer: str, currency: str
    ) -> None:
        order_id, first = self._capture(gateway, paying_customer, currency)

        again = gateway.capture(
            idempotency_key=capture_key(order_id),
            order_id=order_id,
            customer_id=paying_customer,
            amount_minor=2_500,
            currency=currency,
        )

        assert again == first

    def test_a_key_reused_for_another_amount_is_refused_naming_the_key_and_field(
        self, gateway: PaymentGateway, paying_customer: str, currency: str
    ) -> None:
        order_id, _ = self._capture(gateway, paying_customer, currency)

        with pytest.raises(IdempotencyKeyReused, match="amount_minor") as refused:
            gateway.capture(
                idempotency_key=capture_key(order_id),
                order_id=order_id,
                customer_id=paying_customer,
                amount_minor=9_999,
                currency=currency,
            )

        assert refused.value.idempotency_key == capture_key(order_id)
        assert capture_key(order_id) in str(refused.value)

    def test_a_declined_capture_is_declined_again_for_the_same_key(
        self, gateway: PaymentGateway, declining_customer: str, currency: str
    ) -> None:
        order_id = new_order_id()

        def capture() -> Capture:
            return gateway.capture(
                idempotency_key=capture_key(order_id),
                order_id=order_id,
                customer_id=declining_customer,
                amount_minor=1_000,
                currency=currency,
            )

        with pytest.raises(PaymentDeclined) as first:
            capture()
        with pytest.raises(PaymentDeclined) as second:
            capture()

        assert first.value.code and second.value.code == first.value.code
        assert second.value.message == first.value.message
        assert order_id in str(first.value) and capture_key(order_id) in str(first.value)

    def test_a_refund_and_its_retry_return_one_receipt(
        self, gateway: PaymentGateway, paying_customer: str, currency: str
    ) -> None:
        order_id, capture = self._capture(gateway, paying_customer, currency)

        receipts = [
            gateway.refund(
                idempotency_key=refund_key(order_id),
                payment_id=capture.payment_id,
                amount_minor=1_000,
                currency=currency,
            )
            for _ in range(2)
        ]

        assert receipts[0] == receipts[1]
        assert (receipts[0].payment_id, receipts[0].amount_minor) == (capture.payment_id, 1_000)

    def test_refunds_may_not_exceed_the_captured_amount_minus_earlier_refunds(
        self, gateway: PaymentGateway, paying_customer: str, currency: str
    ) -> None:
        order_id, capture = self._capture(gateway, paying_customer, currency, amount=2_500)
        gateway.refund(
            idempotency_key=f"{refund_key(order_id)}:1",
            payment_id=capture.payment_id,
            amount_minor=2_000,
            currency=currency,
        )

        with pytest.raises(RefundExceedsCapture) as refused:
            gateway.refund(
                idempotency_key=f"{refund_key(order_id)}:2",
                payment_id=capture.payment_id,
                amount_minor=501,
                currency=currency,
            )

        assert refused.value.code == "refund_exceeds_capture"
        assert capture.payment_id in str(refused.value)

    def test_a_refund_of_an_unknown_payment_is_declined_naming_it(
        self, gateway: PaymentGateway, currency: str, unknown_payment_id: str
    ) -> None:
        with pytest.raises(PaymentNotFound) as refused:
            gateway.refund(
                idempotency_key=refund_key(new_order_id()),
                payment_id=unknown_payment_id,
                amount_minor=100,
                currency=currency,
            )

        assert refused.value.code == "payment_not_found"
        assert unknown_payment_id in str(refused.value)

    def test_a_capture_key_reused_for_a_refund_is_refused(
        self, gateway: PaymentGateway, paying_customer: str, currency: str
    ) -> None:
        order_id, capture = self._capture(gateway, paying_customer, currency)

        with pytest.raises(IdempotencyKeyReused):
            gateway.refund(
                idempotency_key=capture_key(order_id),
                payment_id=capture.payment_id,
                amount_minor=100,
                currency=currency,
            )
