"""The subsidies service (政策补贴): payments, project income distributed to poor households, coverage checks."""

from __future__ import annotations

from fastapi import FastAPI

from services.subsidies.api import routers
from services.subsidies.domain.schedule import scheduled_cycle_checks
from services.subsidies.handlers import build_handlers
from services.subsidies.settings import SubsidiesSettings
from shared.service import ServiceSpec, build_app
from shared.timeutil import utcnow

DESCRIPTION = (
    "Subsidy payments (补贴发放) of the district's policy catalogue (政策目录), exactly once per household, policy "
    "and month, each made with a required Idempotency-Key so that a retried request never pays twice. Project "
    "income (收益) is shared out among the poor households of the project's township by members (差异化分配), and "
    "coverage checks (政策落实覆盖核查) find who was entitled to a policy and went unpaid, each gap going to audit "
    "as a finding. The service decides from facts kept from the households' and projects' events."
)


def create_app(settings: SubsidiesSettings | None = None) -> FastAPI:
    settings = settings or SubsidiesSettings()
    return build_app(
        ServiceSpec(
            name="subsidies",
            title="Subsidies (政策补贴)",
            description=DESCRIPTION,
            settings=settings,
            routers=routers,
            handlers=build_handlers(settings),
            workers=[scheduled_cycle_checks(settings, clock=utcnow)],
        )
    )
