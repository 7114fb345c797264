"""The Event Hubs trigger (``eventHubTrigger``), as the Functions Event Hubs extension 6.x runs it.

- ``eventHubName`` of the embedded namespace, ``consumerGroup`` (default ``$Default``);
  ``connection`` must resolve to the emulator's connection string.
- An eventkit ``EventProcessor`` per function and app process claims a fair share of the
  partitions (several app processes split them), reads batches of up to ``maxEventBatchSize``
  (host.json, default 100) and checkpoints after every ``batchCheckpointFrequency`` invocations
  (default 1). A partition without a checkpoint starts at ``initialOffsetOptions`` (default
  ``fromStart``).
- ``cardinality=many`` passes the batch as ``list[func.EventHubEvent]``; ``one`` (the default when
  the binding omits it, as in function.json) invokes once per event, in order, then checkpoints
  the batch.
- A failed invocation is logged and the batch is still checkpointed, as in Azure; ``@app.retry``
  applies (retry_policies_apply is True).
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

from azure.functions import EventHubEvent
from azure.functions.meta import Datum

from devhost.errors import DevhostError
from devhost.indexing import FunctionInfo
from devhost.provisioning import provision_app
from devhost.state import StateLayout
from devhost.triggers.base import AppContext
from eventkit.bus.eventhubs import (
    DEFAULT_CONSUMER_GROUP,
    EmbeddedEventHubs,
    EventPosition,
    EventProcessor,
    PartitionContext,
    ReceivedEvent,
)


def _partition_context(context: PartitionContext) -> dict[str, str]:
    return {
        "FullyQualifiedNamespace": context.fully_qualified_namespace,
        "EventHubName": context.eventhub_name,
        "ConsumerGroup": context.consumer_group,
        "PartitionId": context.partition_id,
    }


def _system_properties(event: ReceivedEvent) -> dict[str, Any]:
    return {
        "x-opt-sequence-number": event.sequence_number,
        "x-opt-offset": event.offset,
        "x-opt-enqueued-time": event.enqueued_time.isoformat(),
        "x-opt-partition-key": event.partition_key,
        "SequenceNumber": event.sequence_number,
        "Offset": event.offset,
        "PartitionKey": event.partition_key,
        "EnqueuedTimeUtc": event.enqueued_time.isoformat(),
    }


def batch_metadata(context: PartitionContext, events: Sequence[ReceivedEvent]) -> dict[str, Datum]:
    """Trigger metadata of a batch as the extension binds it (``PartitionContext``, ``...Array``)."""
    return {
        "PartitionContext": Datum(json.dumps(_partition_context(context)), "json"),
        "SequenceNumberArray": Datum(json.dumps([e.sequence_number for e in events]), "json"),
        "OffsetArray": Datum(json.dumps([e.offset for e in events]), "json"),
        "PartitionKeyArray": Datum(json.dumps([e.partition_key for e in events]), "json"),
        "EnqueuedTimeUtcArray": Datum(json.dumps([e.enqueued_time.isoformat() for e in events]), "json"),
        "PropertiesArray": Datum(json.dumps([dict(e.properties) for e in events]), "json"),
        "SystemPropertiesArray": Datum(json.dumps([_system_properties(e) for e in events]), "json"),
    }


def event_metadata(context: PartitionContext, event: ReceivedEvent) -> dict[str, Datum]:
    """Trigger metadata of a single event (``cardinality=one``)."""
    return {
        "PartitionContext": Datum(json.dumps(_partition_context(context)), "json"),
        "SequenceNumber": Datum(event.sequence_number, "int"),
        "Offset": Datum(event.offset, "string"),
        "PartitionKey": Datum(event.partition_key, "string"),
        "EnqueuedTimeUtc": Datum(event.enqueued_time.isoformat(), "string"),
        "Properties": Datum(json.dumps(dict(event.properties)), "json"),
        "SystemProperties": Datum(json.dumps(_system_properties(event)), "json"),
    }


def to_function_event(event: ReceivedEvent, metadata: dict[str, Datum]) -> EventHubEvent:
    """A real ``func.EventHubEvent`` (iothub_metadata is None: no IoT Hub here)."""
    return EventHubEvent(
        body=event.body,
        trigger_metadata=metadata,
        enqueued_time=event.enqueued_time,
        partition_key=event.partition_key,
        sequence_number=event.sequence_number,
        offset=event.offset,
        iothub_metadata=None,
    )


class EventHubTrigger:
    """The ``eventHubTrigger`` plugin for one function."""

    retry_policies_apply = True

    def __init__(self, function: FunctionInfo) -> None:
        self.function = function
        self.hub = str(function.trigger.get("eventHubName") or "")
        self.consumer_group = str(function.trigger.get("consumerGroup") or DEFAULT_CONSUMER_GROUP)
        self.many = str(function.trigger.get("cardinality", "one")).lower() == "many"
        self._ctx: AppContext | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._namespace: EmbeddedEventHubs | None = None
        self._processor: EventProcessor | None = None

    async def start(self, ctx: AppContext) -> None:
        """Provision the hub and consumer group and start the processor.

        Raises DevhostError (no eventHubName), RealAzureNotSupportedError, ConnectionNotFoundError.
        """
        if not self.hub:
            raise DevhostError(f"function {self.function.name!r}: an eventHubTrigger needs eventHubName")
        ctx.connections.require_embedded(
            str(self.function.trigger.get("connection") or "EventHub"), self.function.name
        )
        await provision_app(ctx)
        self._ctx = ctx
        self._loop = asyncio.get_running_loop()
        options = ctx.host.event_hubs
        initial = options.initial_offset_options
        position = EventPosition.from_initial_offset_options(
            {"type": initial.type, "enqueuedTimeUtc": initial.enqueued_time_utc}
        )
        self._namespace = StateLayout(ctx.state_dir).open_eventhubs()
        self._processor = EventProcessor(
            self._namespace,
            self.hub,
            self._handle,
            consumer_group=self.consumer_group,
            owner_id=f"{ctx.app_name}-{self.function.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}",
            max_batch_size=max(1, options.max_event_batch_size),
            initial_position=position,
            batch_checkpoint_frequency=max(1, options.batch_checkpoint_frequency),
        )
        self._processor.start()

    async def stop(self, drain: bool) -> None:
        """Stop after the batch in hand (its invocation finishes), checkpoint, release partitions."""
        if self._processor is not None:
            await asyncio.to_thread(self._processor.stop, None)
        if self._namespace is not None:
            self._namespace.close()

    def admin_arguments(self, input_text: str) -> dict[str, Any]:
        event = EventHubEvent(body=input_text.encode())
        return {self.function.trigger.name: [event] if self.many else event}

    def _handle(self, context: PartitionContext, events: Sequence[ReceivedEvent]) -> None:
        """Runs in the processor's thread: invoke on the app's loop and wait for the outcome."""
        assert self._loop is not None
        if self.many:
            future: Future[None] = asyncio.run_coroutine_threadsafe(
                self._invoke_batch(context, events), self._loop
            )
            future.result()
            return
        for event in events:
            asyncio.run_coroutine_threadsafe(self._invoke_one(context, event), self._loop).result()

    async def _invoke_batch(self, context: PartitionContext, events: Sequence[ReceivedEvent]) -> None:
        assert self._ctx is not None
        metadata = batch_metadata(context, events)
        argument = [to_function_event(event, metadata) for event in events]
        reason = (
            f"EventHub batch of {len(events)} on '{self.hub}' partition {context.partition_id} "
            f"(ConsumerGroup={self.consumer_group}, SequenceNumbers={events[0].sequence_number}.."
            f"{events[-1].sequence_number})"
        )
        await self._ctx.invoker.invoke(
            self.function,
            {self.function.trigger.name: argument},
            reason,
            use_retry=self.function.retry is not None,
        )

    async def _invoke_one(self, context: PartitionContext, event: ReceivedEvent) -> None:
        assert self._ctx is not None
        reason = (
            f"EventHub event on '{self.hub}' partition {context.partition_id} "
            f"(ConsumerGroup={self.consumer_group}, SequenceNumber={event.sequence_number}, "
            f"PartitionKey={event.partition_key})"
        )
        await self._ctx.invoker.invoke(
            self.function,
            {self.function.trigger.name: to_function_event(event, event_metadata(context, event))},
            reason,
            use_retry=self.function.retry is not None,
        )
