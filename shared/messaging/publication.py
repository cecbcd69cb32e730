"""The sending half of a pass of the outbox relay: rows (read ahead in id order, `shared.messaging.backlog`) sent while
the next batch is read, each marked published once Kafka acknowledged it, in bulk and off the send path.

Rows go to Kafka as record batches the relay fills itself (the producer's batch API): a record costs a few
microseconds there against ~20 through `send`, which builds a future and a coroutine per record. Each row goes to
the partition `send` would choose (the producer's partitioner over the topic's partitions), and a record `send`
would refuse as too large is refused the same way.

Order per key: a partition's rows go in id order, one batch at a time: the next batch is handed to the producer only
once Kafka acknowledged the one before, and after a failure nothing more is. A batch queued behind one that failed
could otherwise be written before it is sent again (a broker that holds no state yet for the producer accepts it
despite the gap in sequence numbers). The producer itself sends a partition one batch per round trip, so this costs
only the hand-over of the next, already filled, batch after each answer. A row refused before it was queued (too
large) stops the pass with the rows before it sent and none after. The next pass starts again from the oldest
unpublished row, leaving out those of the pass before that are being marked (`shared.messaging.backlog`).

A row is marked only once Kafka acknowledged it, and at most `window` rows are sent and not yet marked at any time,
those of the pass before still being marked included: a crash or a lost lock republishes at most that many
(consumers' inboxes absorb the repeats). A pass is over once Kafka answered its batches; its rows are marked while the
next pass reads and sends (`marked` waits for that).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from functools import partial
from types import TracebackType
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import MessageSizeTooLargeError
from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from opentelemetry.trace import Span

from shared.messaging.kafka import MAX_REQUEST_SIZE, PARTITIONER
from shared.messaging.outbox import PublishedRow, kafka_record
from shared.metrics import OUTBOX_PUBLISHED
from shared.tracing import end_publish_span, start_publish_span, traceparent_of

# Rows taken between two turns of the event loop while a batch waits for Kafka's answer to the one before it: every
# answer hands its partition's next batch over, and waits for the loop, which filling batches keeps busy. With no batch
# waiting there is nothing to hand over, and the relay takes a turn only every `LONGEST_TURN_S`: beside a busy consumer,
# whose transactions take milliseconds a turn, a turn every 16 rows left the relay a few rows a turn (a pass of 1,500
# rows took half a second at 500 findings a second in audit).
YIELD_EVERY = 16
LONGEST_TURN_S = 0.002


class _Batch:
    """Rows bound for one partition, in id order, as one record batch."""

    def __init__(self, builder: BatchBuilder) -> None:
        self.builder = builder
        self.ids: list[int] = []
        self.spans: list[Span] = []

    def add(self, row_id: int, span: Span, key: bytes, value: bytes, headers: list[tuple[str, bytes]]) -> bool:
        """False when the batch is full (the first record always fits)."""
        if self.builder.append(timestamp=None, key=key, value=value, headers=headers) is None:
            return False
        self.ids.append(row_id)
        self.spans.append(span)
        return True


class _Lane:
    """One partition's batches: the one being filled, those waiting, and the one at Kafka."""

    def __init__(self, topic: str, partition: int) -> None:
        self.topic, self.partition = topic, partition
        self.filling: _Batch | None = None
        self.waiting: deque[_Batch] = deque()
        self.at_kafka = False


class Sending:
    """Rows sent on one producer in the order given, each marked published once Kafka acknowledged it. Use it as an
    async context: leaving waits for every answer and leaves the acknowledged rows being marked (`marked` waits for
    that; a cancellation stops the marking, though a marking statement already sent runs to its end)."""

    def __init__(
        self,
        producer: AIOKafkaProducer,
        mark: Callable[[list[int]], Awaitable[None]],
        window: int,
        still_allowed: Callable[[], Awaitable[None]],
        behind: Sending | None = None,
    ) -> None:
        """`still_allowed` raises once no more rows may go (the relay's lock lost): asked at every turn of the event
        loop, so rows stop within a turn of the loop learning it, not at the end of the batch. `behind`: the
        pass before, whose rows may still be being marked: they count against the window, and its marking failing
        stops this pass too."""
        self._producer, self._mark, self._window, self._still_allowed = producer, mark, window, still_allowed
        self._behind = behind
        self.failure: BaseException | None = None  # the first: a row refused, a batch failed, a marking failed
        self._broken = False  # a batch or a marking failed: nothing more goes to Kafka
        self._unanswered = 0  # batches handed to the producer and not answered yet
        self._unmarked = 0  # rows taken and neither marked nor failed
        self._lanes: dict[tuple[str, int], _Lane] = {}
        self._partitions: dict[str, list[int]] = {}
        self._acked: list[int] = []
        self._answers = asyncio.Event()  # wakes the marker
        self._progress = asyncio.Event()  # wakes a sender waiting for room or for the last answer
        self._closing = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._marker: asyncio.Task[None] | None = None
        self._in_marking: list[int] = []  # the ids of the marking under way

    async def __aenter__(self) -> Sending:
        self._marker = self._start(self._mark_acked())
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._behind = None  # else each pass would keep every pass before it alive
        if kind is not None and issubclass(kind, asyncio.CancelledError):
            await self.abandon()
            return
        self._flush()
        while self._unanswered:
            await self._wait_for_progress()
        self._closing = True
        self._answers.set()  # the marker marks the rest, then ends: `marked` waits for it

    def being_marked(self) -> list[int]:
        """The ids of the rows Kafka acknowledged that are not marked yet, while the marker runs: none once it ended,
        all marked, or its marking failed and they are to be published again."""
        if self._marker is None or self._marker.done():
            return []
        return self._in_marking + self._acked

    async def marked(self) -> None:
        """Wait until every row Kafka acknowledged is marked, or its marking failed (`failure`)."""
        if self._tasks:
            await asyncio.wait(self._tasks)

    async def abandon(self) -> None:
        """Stop marking: stopping, the unmarked rows are published again by the next relay."""
        for task in self._tasks:
            task.cancel()
        await self.marked()

    async def send(self, rows: Sequence[PublishedRow]) -> bool:
        """Queue `rows` in order; False once anything failed (a refused row and the rest wait for the next pass)."""
        placed: dict[tuple[str, bytes], int] = {}
        self._behind_failed()
        turn = time.perf_counter()
        for n, row in enumerate(rows, 1):
            if n % YIELD_EVERY == 0 and (self._handing_over() or time.perf_counter() - turn >= LONGEST_TURN_S):
                await asyncio.sleep(0)  # let Kafka's answers and the marker's replies in
                turn = time.perf_counter()
                await self._allowed_on()
            if self._unmarked + self._behind_unmarked() >= self._window:
                self._flush()  # the rows filling batches count against the window: they must be on their way
                await self._wait_for_behind()
                while self._unmarked >= self._window and self.failure is None:
                    await self._wait_for_progress()
                await self._allowed_on()
            if self.failure is not None:
                break
            # A PRODUCER span per row, child of the context saved with it; the header carries the span's own.
            span = start_publish_span(row)
            try:
                await self._add(row, span, placed)
            except Exception as exc:
                end_publish_span(span, exc)
                self._flush()  # the rows before this one go; none after it
                self.failure = self.failure or exc
        self._flush()
        return self.failure is None

    def _handing_over(self) -> bool:
        """Whether a batch waits for Kafka's answer to the one before it."""
        return any(lane.waiting for lane in self._lanes.values())

    def _behind_unmarked(self) -> int:
        return self._behind._unmarked if self._behind is not None else 0

    async def _wait_for_behind(self) -> None:
        if self._behind is not None:
            await self._behind.marked()
            self._behind_failed()
            self._behind = None

    def _behind_failed(self) -> None:
        """The pass behind failed to mark its rows (the database is away): this pass stops too."""
        if self._behind is not None and self._behind.failure is not None:
            self._fail(self._behind.failure)

    async def _allowed_on(self) -> None:
        """Stop the pass, sending none of the rows not yet handed over, once no more may go."""
        self._behind_failed()
        if self.failure is None:
            try:
                await self._still_allowed()
            except Exception as exc:
                self._fail(exc)

    async def _add(self, row: PublishedRow, span: Span, placed: dict[tuple[str, bytes], int]) -> None:
        key, value, headers = kafka_record(row, traceparent=traceparent_of(span))
        size = DefaultRecordBatchBuilder.estimate_size_in_bytes(key, value, headers)
        if size > MAX_REQUEST_SIZE:
            raise MessageSizeTooLargeError(f"the record is {size} bytes, more than a request may carry")
        partition = placed.get((row.topic, key))
        if partition is None:
            partition = placed[row.topic, key] = await self._partition(row.topic, key)
        lane = self._lanes.get((row.topic, partition))
        if lane is None:
            lane = self._lanes[row.topic, partition] = _Lane(row.topic, partition)
        if lane.filling is not None and lane.filling.add(row.id, span, key, value, headers):
            self._unmarked += 1
            return
        if lane.filling is not None:
            self._queue(lane)  # full
        lane.filling = _Batch(self._producer.create_batch())
        lane.filling.add(row.id, span, key, value, headers)  # the first record always fits
        self._unmarked += 1

    async def _partition(self, topic: str, key: bytes) -> int:
        """The partition the producer's `send` would choose for `key`."""
        partitions = self._partitions.get(topic)
        if partitions is None:
            partitions = self._partitions[topic] = list(await self._producer.partitions_for(topic))
        return int(PARTITIONER(key, partitions, partitions))

    def _flush(self) -> None:
        """Queue the batches being filled (dropped once something failed)."""
        for lane in self._lanes.values():
            if lane.filling is not None:
                self._queue(lane)

    def _queue(self, lane: _Lane) -> None:
        assert lane.filling is not None
        lane.filling.builder.close()  # complete: the producer sends it without lingering
        lane.waiting.append(lane.filling)
        lane.filling = None
        self._next(lane)

    def _next(self, lane: _Lane) -> None:
        """Hand the lane's next batch to the producer if none of its batches is at Kafka; after a failure, drop the
        waiting ones."""
        if self._broken:
            while lane.waiting:
                self._failed(lane.waiting.popleft(), self.failure)
        elif lane.waiting and not lane.at_kafka:
            lane.at_kafka = True
            self._unanswered += 1
            self._start(self._submit(lane, lane.waiting.popleft()))

    async def _submit(self, lane: _Lane, batch: _Batch) -> None:
        try:
            future = await self._producer.send_batch(batch.builder, lane.topic, partition=lane.partition)
        except Exception as exc:
            self._answered(lane, batch, exc)
            return
        future.add_done_callback(partial(self._batch_answered, lane, batch))

    def _batch_answered(self, lane: _Lane, batch: _Batch, future: asyncio.Future[Any]) -> None:
        if future.cancelled():
            self._answered(lane, batch, asyncio.CancelledError())
        else:
            self._answered(lane, batch, future.exception() or future.result())

    def _answered(self, lane: _Lane, batch: _Batch, answer: Any) -> None:
        """Kafka's answer to a batch: a failure, or aiokafka's RecordMetadata of its first record."""
        lane.at_kafka = False
        self._unanswered -= 1
        if isinstance(answer, BaseException):
            self._failed(batch, answer)
            self._fail(answer)
        else:
            partition, first = (answer.partition, answer.offset) if answer is not None else (-1, -1)
            for n, span in enumerate(batch.spans):
                end_publish_span(span, None, partition=partition, offset=first + n if first >= 0 else -1)
            self._acked.extend(batch.ids)
        self._next(lane)
        self._answers.set()
        if not self._unanswered:
            self._progress.set()

    def _failed(self, batch: _Batch, failure: BaseException | None) -> None:
        for span in batch.spans:
            end_publish_span(span, failure)
        self._unmarked -= len(batch.ids)

    def _fail(self, exc: BaseException) -> None:
        """A batch or a marking failed: nothing more goes to Kafka in this pass."""
        self.failure = self.failure or exc
        if not self._broken:
            self._broken = True
            for lane in self._lanes.values():
                self._next(lane)
        self._progress.set()

    def _start(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _wait_for_progress(self) -> None:
        self._progress.clear()
        await self._progress.wait()

    async def _mark_acked(self) -> None:
        """Mark what Kafka acknowledged, a quarter of the window at a time while more answers are due (each marking is
        a transaction), the rest as soon as nothing more is, until closed."""
        while True:
            await self._answers.wait()
            self._answers.clear()
            if self._unanswered and len(self._acked) < self._window // 4 and not self._closing:
                continue
            acked, self._acked = self._acked, []
            if acked:
                self._in_marking = acked
                try:
                    await self._mark(acked)
                except Exception as exc:  # they stay unmarked and are published again: no more sends meanwhile
                    self._fail(exc)
                    return
                finally:
                    self._in_marking = []
                self._unmarked -= len(acked)
                OUTBOX_PUBLISHED.inc(len(acked))
                self._progress.set()
            if self._closing and not self._acked:
                return
