"""Projects reacts to audit: a project's open findings, as audit tracks them."""

from __future__ import annotations

from services.projects.models import ProjectOpenFinding
from services.projects.settings import ProjectsSettings
from shared.contracts.audit import SubjectKind
from shared.messaging.handlers import HandlerRegistry
from shared.open_findings import track_open_findings


def build_handlers(settings: ProjectsSettings) -> HandlerRegistry:
    """Projects' event handlers: the open-findings read model fed by `audit.events`."""
    handlers = HandlerRegistry()
    track_open_findings(handlers, ProjectOpenFinding, kind=SubjectKind.PROJECT, subject="project_id")
    return handlers
