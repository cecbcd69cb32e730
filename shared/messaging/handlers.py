"""Which function applies which event type: a service's consumers declare their handlers here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts import IntegrationEvent
from shared.messaging.cloudevents import Envelope

E = TypeVar("E", bound=IntegrationEvent)
Handler = Callable[[AsyncSession, Any, Envelope], Awaitable[None]]


class HandlerRegistry:
    """Maps CloudEvents types to (contract, handler); the topics to subscribe follow from it."""

    def __init__(self) -> None:
        self._by_type: dict[str, tuple[type[IntegrationEvent], Handler]] = {}

    def on(self, contract: type[E]) -> Callable[[Callable[[AsyncSession, E, Envelope], Awaitable[None]]], Handler]:
        """Decorator: register `handler(session, event, envelope)` for `contract`'s event type."""

        def register(handler: Callable[[AsyncSession, E, Envelope], Awaitable[None]]) -> Handler:
            if contract.event_type in self._by_type:
                raise ValueError(f"two handlers for {contract.event_type}")
            self._by_type[contract.event_type] = (contract, handler)
            return handler

        return register

    def lookup(self, event_type: str) -> tuple[type[IntegrationEvent], Handler] | None:
        return self._by_type.get(event_type)

    @property
    def topics(self) -> list[str]:
        """The topics carrying at least one handled event type."""
        return sorted({contract.topic for contract, _ in self._by_type.values()})
