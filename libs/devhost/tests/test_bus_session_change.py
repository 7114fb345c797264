"""A state folder outlives code: a queue created with sessions by an earlier version, now bound by a
trigger without them (`make run` keeps `.devhost/`). devhost changes it when it is empty, as the
Azure migration would, and refuses to start, naming it, when messages still wait in it."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from devhost.state import StateLayout
from devhost.testing import DevhostProcess, wait_for
from eventkit.bus.servicebus import OutgoingMessage

APP = Path(__file__).parent / "apps" / "bus_session_change"


def answers_seen(out: Path) -> list[str]:
    path = out / "answers.jsonl"
    return [json.loads(line)["body"] for line in path.read_text().splitlines()] if path.exists() else []


def earlier_version_state(state: Path, waiting: int) -> None:
    """The queue `answers` as an earlier version created it: session-enabled, `waiting` messages in it."""
    bus = StateLayout(state).open_servicebus()
    try:
        bus.create_queue("answers", requires_session=True)
        for n in range(waiting):
            bus.send("answers", OutgoingMessage(f"old-{n}".encode(), session_id="order-1"))
    finally:
        bus.close()


def test_an_empty_queue_with_the_old_session_setting_is_changed_and_then_received_from(
    start_devhost: Callable[..., DevhostProcess], tmp_path: Path
) -> None:
    earlier_version_state(tmp_path / "state", waiting=0)
    out = tmp_path / "out"
    out.mkdir()
    host = start_devhost([APP], env={"BUS_OUT": str(out)}, state=tmp_path / "state")
    host.wait_running(0, APP.name)
    body = f"answer-{uuid.uuid4().hex}"

    bus = StateLayout(host.state).open_servicebus()
    try:
        assert bus.get_queue("answers").requires_session is False
        bus.send("answers", OutgoingMessage(body.encode()))
    finally:
        bus.close()

    wait_for(lambda: body in answers_seen(out), what="the answer to be received")
    assert "Changed 'answers' to requiresSession=false" in host.output


def test_a_queue_with_the_old_session_setting_and_messages_waiting_stops_the_app_naming_it(
    start_devhost: Callable[..., DevhostProcess], tmp_path: Path
) -> None:
    earlier_version_state(tmp_path / "state", waiting=2)
    host = start_devhost([APP], env={"BUS_OUT": str(tmp_path / "out")}, state=tmp_path / "state")

    output = wait_for(lambda: "failed to load" in host.output and host.output, what="the start failure")

    assert "'answers' exists with requiresSession=true, but 'answers' bind(s) it" in output
    assert "2 active, 0 scheduled and 0 dead-lettered message(s)" in output
    bus = StateLayout(host.state).open_servicebus()
    try:
        assert [bytes(m.body) for m in bus.peek("answers", 10)] == [b"old-0", b"old-1"]  # nothing lost
        assert bus.get_queue("answers").requires_session is True
    finally:
        bus.close()
    with pytest.raises(AssertionError):  # a configuration error is not retried
        wait_for(lambda: "restarting in" in host.output, timeout=3, what="a restart (there must be none)")


def test_a_trigger_without_sessions_on_a_queue_declared_with_sessions_is_in_error_naming_both(
    start_devhost: Callable[..., DevhostProcess], tmp_path: Path
) -> None:
    state = tmp_path / "state"
    state.mkdir()
    declared = {"queues": [{"name": "answers", "properties": {"requiresSession": True}}]}
    (state / "devhost.namespace.json").write_text(json.dumps(declared))
    host = start_devhost([APP], env={"BUS_OUT": str(tmp_path / "out")}, state=state)
    host.wait_running(0, APP.name)  # as on Azure, the host runs and the function's listener is in error

    output = wait_for(lambda: "function is in error" in host.output and host.output, what="the error")

    assert "'answers' has requiresSession=true but the trigger's isSessionsEnabled is false" in output
