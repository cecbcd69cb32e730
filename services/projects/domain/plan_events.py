"""What a distribution plan's change of status tells other services and the discipline commission."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.projects import events
from services.projects.models import DistributionPlan
from services.projects.rules.vocabulary import PlanStatus
from shared.contracts.projects import DistributionPlanStatusChanged

SUBSIDIES = "subsidies"  # who a payment told back, or its reversal, moved a plan


def plan_changed(session: AsyncSession, plan: DistributionPlan, was: PlanStatus | None, *, by: str) -> None:
    """Publish `DistributionPlanStatusChanged` from `was` (None: just prepared) to the plan's status."""
    events.publish(
        session,
        DistributionPlanStatusChanged(
            project_id=plan.project_id,
            plan_id=plan.id,
            income_id=plan.income_id,
            owner_area_code=plan.owner_area_code,
            from_status=was,
            to_status=PlanStatus(plan.status),
            changed_by=by,
            amount_fen=plan.amount_fen,
        ),
    )
