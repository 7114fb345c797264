"""The order saga's decisions, as pure functions of what the saga has seen (no I/O, no SDK).

`workflow.py` runs them inside the Durable orchestrator `order_workflow`; tests call them
directly. The saga (instance id = order id):

1. `place_order`: record OrderPlaced (the relay publishes it; inventory reserves on it);
2. race inventory's answer (external event `reservation`), the customer's `cancel` and a durable
   timer of `reservation_timeout_seconds`;
3. `record_reservation` and `capture_payment`, one activity, with retries for PaymentUnavailable
   (a decline is an answer, not a failure);
4. `confirm_and_request_fulfillment` (OrderConfirmed and FulfillmentRequested in one append, so
   no cancellation lands between them): done;
5. compensation: `cancel_order` with a reason (it refunds first when money was captured);
   OrderCancelled makes inventory release the order's stock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .domain import CancellationReason

RESERVATION_EVENT = "reservation"
"""External event carrying inventory's answer: {"outcome": "reserved"|"rejected", ...}."""
CANCEL_EVENT = "cancel"
"""External event raised when the customer asks to cancel."""

Action = Literal["record-reservation", "capture", "confirm", "fulfil", "cancel", "done"]
Winner = Literal["reservation", "cancel", "timeout"]


@dataclass(frozen=True)
class SagaSettings:
    """Saga settings, passed in the orchestration's input so replays see the same values."""

    reservation_timeout_seconds: float = 300.0
    payment_first_retry_ms: int = 1_000
    payment_max_attempts: int = 5

    @classmethod
    def from_settings(cls, env: Mapping[str, str]) -> SagaSettings:
        """From ORDERS_RESERVATION_TIMEOUT_SECONDS, ORDERS_PAYMENT_RETRY_FIRST_MS and
        ORDERS_PAYMENT_RETRY_MAX_ATTEMPTS. Raises `ValueError` naming a malformed setting."""
        return cls(
            reservation_timeout_seconds=_number(env, "ORDERS_RESERVATION_TIMEOUT_SECONDS", 300.0),
            payment_first_retry_ms=int(_number(env, "ORDERS_PAYMENT_RETRY_FIRST_MS", 1_000)),
            payment_max_attempts=int(_number(env, "ORDERS_PAYMENT_RETRY_MAX_ATTEMPTS", 5)),
        )

    def input_for(self, order_id: str) -> dict[str, Any]:
        """The orchestration input for one order."""
        return {
            "order_id": order_id,
            "reservation_timeout_seconds": self.reservation_timeout_seconds,
            "payment_first_retry_ms": self.payment_first_retry_ms,
            "payment_max_attempts": self.payment_max_attempts,
        }


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"setting {name}={raw!r} must be a number") from None
    if value <= 0:
        raise ValueError(f"setting {name}={raw!r} must be greater than 0")
    return value


@dataclass(frozen=True)
class Next:
    """What the saga does next; `reason`/`detail` say why when the action is "cancel"."""

    action: Action
    reason: CancellationReason | None = None
    detail: str | None = None


def after_placing(status: str, cancellation_requested: bool) -> Next:
    """After `place_order`: wait for stock unless the order is already decided or cancelled."""
    if status == "cancelled":
        return Next("done")
    if cancellation_requested:
        return Next("cancel", "customer")
    if status in ("reserved", "paid", "confirmed"):  # a replayed saga after a crash mid-way
        return Next("capture")
    return Next("record-reservation")


def after_waiting(winner: Winner, answer: Mapping[str, Any] | None) -> Next:
    """After the race between inventory's answer, the customer's cancel and the timer."""
    if winner == "timeout":
        return Next("cancel", "timeout", "no stock reservation arrived in time")
    if winner == "cancel":
        return Next("cancel", "customer")
    if answer and answer.get("outcome") == "reserved":
        return Next("capture")
    detail = str((answer or {}).get("reason") or "rejected by inventory")
    return Next("cancel", "out-of-stock", detail)


def after_capture(result: Mapping[str, Any]) -> Next:
    """After `capture_payment` (which returns rather than raises for a decline)."""
    outcome = result.get("outcome")
    if outcome == "captured":
        return Next("confirm")
    if outcome == "declined":
        return Next("cancel", "payment-declined", str(result.get("code") or "declined"))
    if outcome == "cancel-requested":
        return Next("cancel", "customer")
    return Next("done")  # the order was cancelled meanwhile: nothing left to do


def after_payment_unavailable(error: str) -> Next:
    """Every capture attempt met an unavailable provider: the order cannot be paid. Nothing was
    charged (PaymentUnavailable promises it), so it is cancelled as declined."""
    return Next("cancel", "payment-declined", f"payment provider unavailable: {error}"[:500])


def after_confirming(confirmed: bool) -> Next:
    """After `confirm_and_request_fulfillment`: done ("fulfil": fulfilment was requested with the
    confirmation), or compensate a cancel that came first."""
    return Next("fulfil") if confirmed else Next("cancel", "customer")


def after_fulfilment(requested: bool) -> Next:
    """After `request_fulfillment`: done, or compensate a cancel that came first."""
    return Next("done") if requested else Next("cancel", "customer")
