"""Which functions apply which events: a service's consumers declare their handlers here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts import IntegrationEvent
from shared.messaging.cloudevents import Envelope

E = TypeVar("E", bound=IntegrationEvent)
Handler = Callable[[AsyncSession, Any, Envelope], Awaitable[None]]
Observer = Callable[[AsyncSession, Envelope, str], Awaitable[None]]
Preparer = Callable[[AsyncSession, list[Any]], Awaitable[None]]


class Application:
    """The work one event asks for: call it with the session of the transaction that applies it."""

    __slots__ = ("_envelope", "_handler", "_observers", "_topic", "event")

    def __init__(
        self,
        event: IntegrationEvent | None,  # the validated payload, when a typed handler takes it
        envelope: Envelope,
        topic: str,
        handler: Handler | None,
        observers: Sequence[Observer],
    ) -> None:
        self.event, self._envelope, self._topic = event, envelope, topic
        self._handler, self._observers = handler, observers

    async def __call__(self, session: AsyncSession) -> None:
        for observer in self._observers:
            await observer(session, self._envelope, self._topic)
        if self._handler is not None:
            await self._handler(session, self.event, self._envelope)


class HandlerRegistry:
    """Typed handlers by CloudEvents type, and observers that see every event of some topics."""

    def __init__(self) -> None:
        self._by_type: dict[str, tuple[type[IntegrationEvent], Handler]] = {}
        self._observers: list[tuple[frozenset[str], Observer]] = []
        self._observers_of: dict[str, list[Observer]] = {}  # by topic, as `bind` finds them
        self._preparers: dict[str, Preparer] = {}

    def on(self, contract: type[E]) -> Callable[[Callable[[AsyncSession, E, Envelope], Awaitable[None]]], Handler]:
        """Decorator: register `handler(session, event, envelope)` for `contract`'s event type."""

        def register(handler: Callable[[AsyncSession, E, Envelope], Awaitable[None]]) -> Handler:
            if contract.event_type in self._by_type:
                raise ValueError(f"two handlers for {contract.event_type}")
            self._by_type[contract.event_type] = (contract, handler)
            return handler

        return register

    def prepare(self, *contracts: type[E]) -> Callable[[Callable[[AsyncSession, list[E]], Awaitable[None]]], Preparer]:
        """Decorator: `preparer(session, events)` runs once per transaction, before the handlers, with all of
        that transaction's events of the `contracts`' types, so that what each event would look up alone can be
        loaded in one query. Handlers must be correct without it."""

        def register(preparer: Callable[[AsyncSession, list[E]], Awaitable[None]]) -> Preparer:
            for contract in contracts:
                self._preparers[contract.event_type] = preparer
            return preparer

        return register

    async def prepare_all(self, session: AsyncSession, applications: Sequence[Application]) -> None:
        """Run the preparers for the events about to be applied in `session`'s transaction."""
        by_preparer: dict[Preparer, list[IntegrationEvent]] = {}
        for application in applications:
            event = application.event
            if event is not None and (preparer := self._preparers.get(event.event_type)) is not None:
                by_preparer.setdefault(preparer, []).append(event)
        for preparer, events in by_preparer.items():
            await preparer(session, events)

    def observe(self, *topics: str) -> Callable[[Observer], Observer]:
        """Decorator: call `observer(session, envelope, topic)` for every event on `topics`, known type or not."""

        def register(observer: Observer) -> Observer:
            self._observers.append((frozenset(topics), observer))
            self._observers_of.clear()
            return observer

        return register

    def bind(self, topic: str, envelope: Envelope) -> Application | None:
        """The work one event asks for, its payload validated (ValidationError if bad); None to ignore it."""
        observers = self._observers_of.get(topic)
        if observers is None:
            observers = self._observers_of[topic] = [obs for topics, obs in self._observers if topic in topics]
        found = self._by_type.get(envelope.type)
        if found is None:
            return Application(None, envelope, topic, None, observers) if observers else None
        return Application(found[0].from_json(envelope.data), envelope, topic, found[1], observers)

    @property
    def topics(self) -> list[str]:
        """The topics carrying at least one handled or observed event."""
        typed = {contract.topic for contract, _ in self._by_type.values()}
        observed = {topic for topics, _ in self._observers for topic in topics}
        return sorted(typed | observed)
