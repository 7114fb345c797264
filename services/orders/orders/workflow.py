"""Blueprint: the order saga (`order_workflow`, instance id = order id), the post-completion
refund (`order_refund`, instance id = `<order id>-refund`) and their activities.

The orchestrators only sequence; each decision is a pure function of `orders.saga`, each step an
idempotent use case of `orders.handlers` (activities are delivered at least once). A payment
decline comes back as a value, so `call_activity_with_retry` retries only failures, i.e.
`PaymentUnavailable`.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from . import saga
from .blueprint import DurableBlueprint
from .bootstrap import service
from .domain import ReservedLine
from .handlers import (
    cancel_order,
    capture_payment,
    confirm_and_request_fulfillment,
    place_order,
    record_reservation,
)

bp = DurableBlueprint()

Orchestration = Generator[Any, Any, dict[str, Any]]


def _retry(params: dict[str, Any]) -> df.RetryOptions:
    return df.RetryOptions(
        int(params.get("payment_first_retry_ms", 1_000)), int(params.get("payment_max_attempts", 5))
    )


def _stage(context: df.DurableOrchestrationContext, order_id: str, stage: str) -> None:
    context.set_custom_status({"order_id": order_id, "stage": stage})


@bp.orchestration_trigger(context_name="context")
def order_workflow(context: df.DurableOrchestrationContext) -> Orchestration:
    params: dict[str, Any] = context.get_input()
    order_id = str(params["order_id"])
    retry = _retry(params)
    reservation: dict[str, Any] | None = None
    _stage(context, order_id, "validating")
    placed = yield context.call_activity("place_order_step", order_id)
    step = saga.after_placing(placed["status"], bool(placed["cancellation_requested"]))
    if step.action == "record-reservation":
        _stage(context, order_id, "awaiting-stock")
        timeout = float(params.get("reservation_timeout_seconds", 300))
        timer = context.create_timer(context.current_utc_datetime + timedelta(seconds=timeout))
        answer = context.wait_for_external_event(saga.RESERVATION_EVENT)
        cancel = context.wait_for_external_event(saga.CANCEL_EVENT)
        winner = yield context.task_any([answer, cancel, timer])
        if winner != timer:
            timer.cancel()
        kind: saga.Winner = "reservation" if winner == answer else "cancel" if winner == cancel else "timeout"
        reply: dict[str, Any] = answer.result if kind == "reservation" else {}
        step = saga.after_waiting(kind, reply)
        if step.action == "capture":  # recorded by the capture step, before it charges
            reservation = {"reservation_id": reply["reservation_id"], "lines": reply["lines"]}
    if step.action == "capture":
        _stage(context, order_id, "capturing-payment")
        try:
            captured = yield context.call_activity_with_retry(
                "capture_payment_step", retry, {"order_id": order_id, "reservation": reservation}
            )
            step = saga.after_capture(captured)
        except Exception as error:  # every attempt met PaymentUnavailable
            step = saga.after_payment_unavailable(str(error))
    if step.action == "confirm":
        _stage(context, order_id, "confirming")
        # OrderConfirmed and FulfillmentRequested in one append: no cancellation lands between them
        confirmed = yield context.call_activity("confirm_order_step", order_id)
        step = saga.after_confirming(bool(confirmed))
    if step.action == "fulfil":  # requested with the confirmation
        _stage(context, order_id, "fulfillment-requested")
        return {"order_id": order_id, "status": "confirmed"}
    if step.action == "cancel":
        _stage(context, order_id, "cancelling")
        yield context.call_activity_with_retry(
            "cancel_order_step", retry, {"order_id": order_id, "reason": step.reason, "detail": step.detail}
        )
        _stage(context, order_id, "cancelled")
        return {"order_id": order_id, "status": "cancelled", "reason": step.reason}
    _stage(context, order_id, "done")
    return {"order_id": order_id, "status": "done"}


@bp.orchestration_trigger(context_name="context")
def order_refund(context: df.DurableOrchestrationContext) -> Orchestration:
    """A customer cancelled a confirmed order: refund (retried while unavailable) and cancel."""
    params: dict[str, Any] = context.get_input()
    order_id = str(params["order_id"])
    _stage(context, order_id, "refunding")
    yield context.call_activity_with_retry(
        "cancel_order_step", _retry(params), {"order_id": order_id, "reason": "customer", "detail": None}
    )
    _stage(context, order_id, "cancelled")
    return {"order_id": order_id, "status": "cancelled", "reason": "customer"}


@bp.activity_trigger(input_name="orderid")
def place_order_step(orderid: str) -> dict[str, Any]:
    return place_order(service().orders, orderid)


@bp.activity_trigger(input_name="capture")
def capture_payment_step(capture: dict[str, Any]) -> dict[str, Any]:
    """Record inventory's reservation (when the saga just received it; idempotent), then charge."""
    orders, order_id, reservation = service().orders, str(capture["order_id"]), capture.get("reservation")
    if reservation is not None:
        lines = [ReservedLine(**line) for line in reservation["lines"]]
        record_reservation(orders, order_id, reservation["reservation_id"], lines)
    return capture_payment(orders, order_id)


@bp.activity_trigger(input_name="orderid")
def confirm_order_step(orderid: str) -> bool:
    return confirm_and_request_fulfillment(service().orders, orderid)


@bp.activity_trigger(input_name="cancellation")
def cancel_order_step(cancellation: dict[str, Any]) -> dict[str, Any]:
    return cancel_order(
        service().orders, cancellation["order_id"], cancellation["reason"], cancellation.get("detail")
    )
