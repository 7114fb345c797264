"""When an existing queue or subscription's ``requiresSession`` no longer matches what an app binds.

Azure cannot change ``requiresSession`` on an existing entity: a deployment that changes it
deletes and re-creates the entity after draining it. devhost's state folder outlives code changes
(``make run`` keeps ``.devhost/``), so provisioning meets the same case: a subscription created
with sessions by an earlier version, now bound by a trigger without them (or the other way round).
A trigger on such an entity could never receive (the namespace refuses a session-less receive on a
session entity, and a session accept on a plain one).

``reconcile`` does what the Azure migration does when it is safe: an entity that holds no
message (active, scheduled or dead-lettered) gets the wanted setting, and a warning names it. The
check and the change are one transaction of the embedded namespace
(`set_requires_session_if_empty`), so a message another app sends meanwhile is never lost. An
entity that still holds messages is left as it is and `SessionSettingMismatch` names it, both
settings, the functions that bind it and what is waiting, so nothing is thrown away.
"""

from __future__ import annotations

import logging

from devhost.errors import DevhostError
from eventkit.bus.servicebus import EmbeddedServiceBus

log = logging.getLogger("devhost.provisioning")


class SessionSettingMismatch(DevhostError):
    """A queue or subscription exists with the other ``requiresSession`` and still holds messages."""


def _setting(value: bool) -> str:
    return "true" if value else "false"


def reconcile(bus: EmbeddedServiceBus, path: str, existing: bool, wanted: bool, bound_by: list[str]) -> None:
    """Make the entity at ``path`` have ``requiresSession`` = ``wanted``.

    ``existing`` is its current setting, ``bound_by`` names the functions whose triggers bind it
    (none: the app only declares or sends to it, and leaves it as it is). Raises
    SessionSettingMismatch when it differs and the entity holds messages.
    """
    if existing == wanted or not bound_by:
        return
    functions = ", ".join(repr(name) for name in bound_by)
    if bus.set_requires_session_if_empty(path, wanted):
        counts = bus.runtime_properties(path)
        raise SessionSettingMismatch(
            f"'{path}' exists with requiresSession={_setting(existing)}, but {functions} bind(s) it "
            f"with isSessionsEnabled={_setting(wanted)}, and it still holds {counts.active_message_count} "
            f"active, {counts.scheduled_message_count} scheduled and {counts.dead_letter_message_count} "
            "dead-lettered message(s). Azure cannot change requiresSession in place either: drain it "
            "with the previous code (or read it with 'devhost tail' / 'devhost dlq'), or delete the "
            "state folder, then start again."
        )
    log.warning(
        "Changed '%s' to requiresSession=%s: it had %s, %s bind(s) it that way now, and it held no "
        "message (on Azure: drain, delete and re-create it)",
        path,
        _setting(wanted),
        _setting(existing),
        functions,
    )


def check_trigger_sessions(function: str, entity: str, requires_session: bool, sessions: bool) -> None:
    """Raises DevhostError when an entity's ``requiresSession`` is not its trigger's
    ``isSessionsEnabled``: no receive could ever succeed (as the Azure listener fails to start)."""
    if requires_session == sessions:
        return
    raise DevhostError(
        f"function {function!r}: '{entity}' has requiresSession={_setting(requires_session)} but the "
        f"trigger's isSessionsEnabled is {_setting(sessions)}; set is_sessions_enabled={requires_session} "
        "on the trigger, or change the entity (devhost.namespace.json, contracts.topology) and start again"
    )
