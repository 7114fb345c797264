"""The saga's decisions: which step follows what the saga has seen (no I/O, no SDK)."""

from __future__ import annotations

import pytest
from orders import saga


def test_a_reservation_leads_to_capture_and_a_rejection_to_an_out_of_stock_cancellation() -> None:
    reserved = saga.after_waiting("reservation", {"outcome": "reserved", "reservation_id": "r"})
    rejected = saga.after_waiting("reservation", {"outcome": "rejected", "reason": "insufficient-stock"})
    assert reserved == saga.Next("capture")
    assert (rejected.action, rejected.reason, rejected.detail) == (
        "cancel",
        "out-of-stock",
        "insufficient-stock",
    )


def test_the_timer_and_the_customer_each_cancel_with_their_own_reason() -> None:
    assert saga.after_waiting("timeout", None).reason == "timeout"
    assert saga.after_waiting("cancel", None).reason == "customer"


def test_a_decline_cancels_without_retry_and_an_exhausted_provider_cancels_as_declined() -> None:
    assert saga.after_capture({"outcome": "captured", "payment_id": "p"}) == saga.Next("confirm")
    declined = saga.after_capture({"outcome": "declined", "code": "card_declined"})
    assert (declined.action, declined.reason, declined.detail) == (
        "cancel",
        "payment-declined",
        "card_declined",
    )
    assert saga.after_capture({"outcome": "cancel-requested"}).reason == "customer"
    assert saga.after_capture({"outcome": "not-capturable"}) == saga.Next("done")
    assert saga.after_payment_unavailable("down").reason == "payment-declined"


def test_a_cancellation_that_beats_confirmation_or_fulfilment_is_compensated() -> None:
    assert saga.after_confirming(True) == saga.Next("fulfil")
    assert saga.after_confirming(False) == saga.Next("cancel", "customer")
    assert saga.after_fulfilment(True) == saga.Next("done")
    assert saga.after_fulfilment(False) == saga.Next("cancel", "customer")


@pytest.mark.parametrize(
    ("status", "requested", "action"),
    [
        ("placed", False, "record-reservation"),
        ("placed", True, "cancel"),
        ("cancelled", False, "done"),
        ("reserved", False, "capture"),
    ],
)
def test_after_placing_the_saga_waits_unless_the_order_is_decided(
    status: str, requested: bool, action: str
) -> None:
    assert saga.after_placing(status, requested).action == action


def test_settings_give_the_orchestration_input_and_refuse_malformed_values() -> None:
    settings = saga.SagaSettings.from_settings({"ORDERS_RESERVATION_TIMEOUT_SECONDS": "2.5"})
    assert settings.input_for("ord-1")["reservation_timeout_seconds"] == 2.5
    with pytest.raises(ValueError, match="ORDERS_PAYMENT_RETRY_MAX_ATTEMPTS"):
        saga.SagaSettings.from_settings({"ORDERS_PAYMENT_RETRY_MAX_ATTEMPTS": "many"})
