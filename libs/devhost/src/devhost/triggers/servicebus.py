"""The Service Bus trigger (``serviceBusTrigger``), as the Functions Service Bus extension 5.x runs it.

- A queue (``queueName``) or a topic subscription (``topicName`` + ``subscriptionName``) of the
  embedded namespace; ``connection`` must resolve to the emulator's connection string.
- Peek-lock: a message is completed when the function succeeds and abandoned when it fails, so it
  comes back with its delivery count + 1 and, after the entity's max delivery count (default 10),
  the namespace dead-letters it with ``MaxDeliveryCountExceeded``. With ``autoCompleteMessages``
  false (host.json or the binding) devhost settles nothing: the lock runs out and the message
  comes back (Python has no message actions to settle with).
- Locks of messages being processed are renewed until ``maxAutoLockRenewalDuration`` (default 5 min).
- Up to ``maxConcurrentCalls`` (default 16 x cores) invocations at once per function; with
  ``cardinality=many``, one batch of up to ``maxMessageBatchSize`` (default 1000) at a time, settled
  message by message.
- ``isSessionsEnabled``: up to ``maxConcurrentSessions`` sessions at once; each session's messages
  are processed one at a time in order; a session is released after ``sessionIdleTimeout``
  (default 1 s here) without messages.
- Stopping: no new receives; invocations already running finish and are settled; messages whose
  invocation did not finish stay locked and come back when the lock expires (nothing is lost).
- ``@app.retry`` does not apply (Azure ignores retry policies for Service Bus).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, TypeVar

from devhost.errors import DevhostError
from devhost.indexing import FunctionInfo
from devhost.provisioning import provision_app
from devhost.session_settings import check_trigger_sessions
from devhost.state import StateLayout
from devhost.triggers.base import AppContext
from devhost.triggers.servicebus_messages import (
    admin_message,
    batch_metadata,
    to_function_message,
)
from eventkit.bus.servicebus import (
    EmbeddedServiceBus,
    MessageLockLost,
    NoSessionAvailable,
    QueueProperties,
    ReceivedMessage,
    SessionCannotBeLocked,
    SessionLockLost,
    SessionReceiver,
    SubscriptionProperties,
)

log = logging.getLogger("devhost.servicebus")

RECEIVE_WAIT = 0.5
"""Seconds a receive waits for a message before checking whether the trigger is stopping."""
DEFAULT_SESSION_IDLE = timedelta(seconds=1)
T = TypeVar("T")


class ServiceBusTrigger:
    """The ``serviceBusTrigger`` plugin for one function."""

    retry_policies_apply = False

    def __init__(self, function: FunctionInfo) -> None:
        self.function = function
        trigger = function.trigger
        queue, topic, subscription = (
            trigger.get("queueName"),
            trigger.get("topicName"),
            trigger.get("subscriptionName"),
        )
        self.entity = str(queue) if queue else f"{topic}/subscriptions/{subscription}"
        self.sessions = bool(trigger.get("isSessionsEnabled"))
        self.many = str(trigger.get("cardinality", "one")).lower() == "many"
        self._ctx: AppContext | None = None
        self._bus: EmbeddedServiceBus | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._stopping = asyncio.Event()
        self._loops: list[asyncio.Task[None]] = []
        self._work: set[asyncio.Task[None]] = set()
        self._slot_freed = asyncio.Event()
        self._locked: dict[str, float] = {}
        """Lock token → monotonic time its processing started (for auto-renewal)."""
        self._sessions_held: dict[str, tuple[SessionReceiver, float]] = {}
        self._completions: list[str] = []
        self._completion_ready = asyncio.Event()
        self._lock_duration = timedelta(minutes=1)
        self._auto_complete = True

    # ------------------------------------------------------------------ lifecycle

    def _check_binding(self) -> None:
        trigger = self.function.trigger
        if not trigger.get("queueName") and not (
            trigger.get("topicName") and trigger.get("subscriptionName")
        ):
            raise DevhostError(
                f"function {self.function.name!r}: a serviceBusTrigger needs queueName, or topicName "
                "and subscriptionName"
            )

    async def start(self, ctx: AppContext) -> None:
        """Check the binding and connection, provision the entity, and start receiving.

        Raises DevhostError (bad binding), RealAzureNotSupportedError / ConnectionNotFoundError.
        """
        self._check_binding()
        ctx.connections.require_embedded(
            str(self.function.trigger.get("connection") or "ServiceBus"), self.function.name
        )
        await provision_app(ctx)
        self._ctx = ctx
        options = ctx.host.service_bus
        setting = self.function.trigger.get("autoCompleteMessages", self.function.trigger.get("autoComplete"))
        self._auto_complete = options.auto_complete_messages if setting is None else bool(setting)
        threads = 4 + (max(1, options.max_concurrent_sessions) if self.sessions else 0)
        self._executor = ThreadPoolExecutor(
            max_workers=threads, thread_name_prefix=f"sb-{self.function.name}"
        )
        self._bus = StateLayout(ctx.state_dir).open_servicebus()
        try:
            if "/subscriptions/" in self.entity:
                topic, _, subscription = self.entity.split("/")
                entity: QueueProperties | SubscriptionProperties = self._bus.get_subscription(
                    topic, subscription
                )
            else:
                entity = self._bus.get_queue(self.entity)
            check_trigger_sessions(self.function.name, self.entity, entity.requires_session, self.sessions)
        except BaseException:  # the function is in error: its trigger is never stopped
            self._bus.close()
            self._executor.shutdown(wait=False)
            raise
        self._lock_duration = entity.lock_duration
        name = f"servicebus:{self.function.name}"
        if self.sessions:
            self._loops.append(asyncio.create_task(self._accept_loop(), name=f"{name}:sessions"))
        elif self.many:
            self._loops.append(asyncio.create_task(self._batch_loop(), name=f"{name}:batches"))
        else:
            self._loops.append(asyncio.create_task(self._receive_loop(), name=f"{name}:receive"))
        self._loops.append(asyncio.create_task(self._renew_loop(), name=f"{name}:renew"))
        self._loops.append(asyncio.create_task(self._settle_loop(), name=f"{name}:settle"))

    async def stop(self, drain: bool) -> None:
        """Stop receiving; with ``drain``, let running invocations finish and settle them."""
        self._stopping.set()
        self._slot_freed.set()
        receivers = self._loops[:-2]
        if not drain:
            for task in receivers:
                task.cancel()
        await asyncio.gather(*receivers, return_exceptions=True)
        if self._work:
            await asyncio.gather(*self._work, return_exceptions=True)
        self._completion_ready.set()
        for task in self._loops[-2:]:
            task.cancel()
        await asyncio.gather(*self._loops[-2:], return_exceptions=True)
        await self._flush_completions()
        if self._bus is not None:
            for session, _ in list(self._sessions_held.values()):
                await self._call(session.close)
            self._bus.close()
        if self._executor is not None:
            self._executor.shutdown(wait=False)

    def admin_arguments(self, input_text: str) -> dict[str, Any]:
        message = admin_message(input_text, self.entity)
        return {self.function.trigger.name: [message] if self.many else message}

    # ------------------------------------------------------------------ helpers

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn, *args)

    def _reason(self, message: ReceivedMessage) -> str:
        session = f", SessionId={message.session_id}" if message.session_id else ""
        return (
            f"ServiceBus message on '{self.entity}' (MessageId={message.message_id}, "
            f"DeliveryCount={message.delivery_count}, SequenceNumber={message.sequence_number}{session})"
        )

    async def _invoke(self, messages: list[ReceivedMessage]) -> bool:
        assert self._ctx is not None
        started = time.monotonic()
        for message in messages:
            assert message.lock_token is not None
            self._locked[message.lock_token] = started
        try:
            if self.many:
                metadata = batch_metadata(messages, self.entity)
                argument: Any = [to_function_message(m, self.entity, metadata) for m in messages]
                first, last = messages[0], messages[-1]
                reason = (
                    f"ServiceBus batch of {len(messages)} on '{self.entity}' (MessageIds={first.message_id}"
                    f"..{last.message_id}, SequenceNumbers={first.sequence_number}..{last.sequence_number})"
                )
            else:
                argument = to_function_message(messages[0], self.entity)
                reason = self._reason(messages[0])
            result = await self._ctx.invoker.invoke(
                self.function, {self.function.trigger.name: argument}, reason, use_retry=False
            )
        finally:
            for message in messages:
                self._locked.pop(str(message.lock_token), None)
        return result.succeeded

    async def _settle(self, messages: list[ReceivedMessage], succeeded: bool, queued: bool) -> None:
        if not self._auto_complete:
            return
        tokens = [str(m.lock_token) for m in messages]
        if succeeded and queued:
            self._completions.extend(tokens)
            self._completion_ready.set()
            return
        if succeeded:
            await self._complete(tokens)
            return
        for token in tokens:
            try:
                await self._call(self._abandon, token)
            except MessageLockLost:
                log.warning("Could not abandon a message of '%s': its lock was lost", self.entity)

    def _abandon(self, token: str) -> None:
        assert self._bus is not None
        self._bus.abandon(token)

    async def _complete(self, tokens: list[str]) -> None:
        assert self._bus is not None
        try:
            await self._call(self._bus.complete_many, tokens)
        except MessageLockLost as error:
            log.warning(
                "Could not complete %s message(s) of '%s': the lock was lost; they will be delivered again",
                len(error.args[0]) if error.args and isinstance(error.args[0], list) else "some",
                self.entity,
            )

    async def _flush_completions(self) -> None:
        while self._completions:
            tokens, self._completions = self._completions[:500], self._completions[500:]
            await self._complete(tokens)

    # ------------------------------------------------------------------ loops

    async def _receive_loop(self) -> None:
        assert self._ctx is not None and self._bus is not None
        limit = max(1, self._ctx.host.service_bus.max_concurrent_calls)
        while not self._stopping.is_set():
            free = limit - len(self._work)
            if free <= 0:
                self._slot_freed.clear()
                await self._slot_freed.wait()
                continue
            messages = await self._call(self._bus.receive, self.entity, free, RECEIVE_WAIT)
            for message in messages:
                task = asyncio.create_task(self._process_one(message))
                self._work.add(task)
                task.add_done_callback(self._work_done)

    def _work_done(self, task: asyncio.Task[None]) -> None:
        self._work.discard(task)
        self._slot_freed.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("Service Bus dispatch failed on '%s'", self.entity, exc_info=task.exception())

    async def _process_one(self, message: ReceivedMessage) -> None:
        succeeded = await self._invoke([message])
        await self._settle([message], succeeded, queued=True)

    async def _batch_loop(self) -> None:
        assert self._ctx is not None and self._bus is not None
        size = max(1, self._ctx.host.service_bus.max_message_batch_size)
        while not self._stopping.is_set():
            messages = await self._call(self._bus.receive, self.entity, size, RECEIVE_WAIT)
            if not messages:
                continue
            task = asyncio.create_task(self._process_batch(messages))
            self._work.add(task)
            task.add_done_callback(self._work_done)
            await asyncio.wait({task})

    async def _process_batch(self, messages: list[ReceivedMessage]) -> None:
        succeeded = await self._invoke(messages)
        await self._settle(messages, succeeded, queued=True)

    async def _accept_loop(self) -> None:
        """``maxConcurrentSessions`` session pumps, as the SDK's session processor runs them: each
        accepts the next available session, processes it until it is idle, releases it, and
        accepts again. A single accepting loop would cap the rate of short sessions (one message
        per order) at one accept round trip each. Only one idle pump polls at a time, so idle
        pumps cost nothing."""
        assert self._ctx is not None
        limit = max(1, self._ctx.host.service_bus.max_concurrent_sessions)
        accepting = asyncio.Lock()
        pumps = [
            asyncio.create_task(self._session_pump(accepting), name=f"sessions:{n}") for n in range(limit)
        ]
        try:
            await asyncio.gather(*pumps)  # cancelling this cancels every pump
        finally:
            for pump in pumps:
                if not pump.done() and not pump.cancelling():
                    pump.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)

    async def _session_pump(self, accepting: asyncio.Lock) -> None:
        assert self._bus is not None
        while not self._stopping.is_set():
            async with accepting:  # one idle pump polls for the next session, the others queue
                if self._stopping.is_set():
                    return
                try:
                    session = await self._call(self._accept, self._bus)
                except (NoSessionAvailable, SessionCannotBeLocked):
                    continue
            await self._run_session(session)

    async def _run_session(self, session: SessionReceiver) -> None:
        """Process one session's messages in order until it is idle, then release it."""
        assert self._ctx is not None
        options = self._ctx.host.service_bus
        idle = (options.session_idle_timeout or DEFAULT_SESSION_IDLE).total_seconds()
        size = max(1, options.max_message_batch_size) if self.many else 1
        self._sessions_held[session.session_id] = (session, time.monotonic())
        try:
            while not self._stopping.is_set():
                messages = await self._call(session.receive, size, idle)
                if not messages:
                    break
                task = asyncio.create_task(self._process_in_session(messages))
                self._work.add(task)
                task.add_done_callback(self._work_done)
                await asyncio.wait({task})
        except SessionLockLost:
            log.warning("Lost the lock on session %r of '%s'", session.session_id, self.entity)
        finally:
            self._sessions_held.pop(session.session_id, None)
            with contextlib.suppress(SessionLockLost):
                await self._call(session.close)

    def _accept(self, bus: EmbeddedServiceBus) -> SessionReceiver:
        return bus.accept_session(self.entity, max_wait_time=RECEIVE_WAIT)

    async def _process_in_session(self, messages: list[ReceivedMessage]) -> None:
        if self.many:
            await self._settle(messages, await self._invoke(messages), queued=False)
            return
        for message in messages:
            await self._settle([message], await self._invoke([message]), queued=False)

    async def _settle_loop(self) -> None:
        while True:
            await self._completion_ready.wait()
            self._completion_ready.clear()
            await self._flush_completions()

    async def _renew_loop(self) -> None:
        assert self._ctx is not None
        limit = self._ctx.host.service_bus.max_auto_lock_renewal_duration.total_seconds()
        interval = max(0.1, self._lock_duration.total_seconds() / 2)
        while True:
            await asyncio.sleep(interval)
            now = time.monotonic()
            tokens = [token for token, started in list(self._locked.items()) if now - started < limit]
            sessions = [s for s, started in list(self._sessions_held.values()) if now - started < limit]
            if tokens or sessions:
                await self._call(self._renew, tokens, sessions)

    def _renew(self, tokens: list[str], sessions: list[SessionReceiver]) -> None:
        assert self._bus is not None
        for session in sessions:
            with contextlib.suppress(SessionLockLost):
                session.renew_lock()
        if self.sessions:
            return  # a session message's lock is the session lock
        for token in tokens:
            if token in self._locked:
                with contextlib.suppress(MessageLockLost):
                    self._bus.renew_lock(token)
