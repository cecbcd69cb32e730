"""Finding a service's parts by name: `services.<name>.settings.<Name>Settings`, `services.<name>.app`."""

from __future__ import annotations

import importlib
from typing import Any

from fastapi import FastAPI

from shared.settings import ServiceSettings

SERVICES = ("households", "projects", "subsidies", "audit")


def settings_class(service: str) -> type[ServiceSettings]:
    """The settings class of `service` (named after it by convention)."""
    module = importlib.import_module(f"services.{service}.settings")
    cls: type[ServiceSettings] = getattr(module, f"{service.capitalize()}Settings")
    return cls


def load_settings(service: str, **overrides: Any) -> ServiceSettings:
    """The service's settings from its environment, with explicit overrides on top."""
    return settings_class(service)(**overrides)


def create_app(service: str, settings: ServiceSettings | None = None) -> FastAPI:
    """The FastAPI app of `service`."""
    app: FastAPI = importlib.import_module(f"services.{service}.app").create_app(settings)
    return app
