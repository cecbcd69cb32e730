"""Events on `subsidies.events`: subsidy payments (政策补贴发放)."""

from __future__ import annotations

from uuid import UUID

from pydantic import Field

from shared.contracts import SUBSIDIES_TOPIC, IntegrationEvent
from shared.timeutil import PERIOD_PATTERN


class SubsidyEvent(IntegrationEvent):
    topic = SUBSIDIES_TOPIC
    household_id: UUID

    def aggregate_id(self) -> str:
        return str(self.household_id)


class SubsidyPaid(SubsidyEvent):
    """A subsidy was paid to a household, exactly once per policy and period."""

    event_type = "gov.poverty.subsidies.subsidy_paid.v1"
    payment_id: UUID
    policy_code: str
    period: str
    amount_fen: int = Field(gt=0)


class ProjectIncomeAllocated(SubsidyEvent):
    """A share of a project's income was allocated to a registered household (差异化分配)."""

    event_type = "gov.poverty.subsidies.project_income_allocated.v1"
    allocation_id: UUID
    project_id: UUID
    income_id: UUID
    amount_fen: int = Field(gt=0)


class SubsidyCoverageGap(SubsidyEvent):
    """A coverage check (政策落实核查) found a household entitled to a policy for a period and not paid it.

    `member_id` names the entitled member for a member's policy (a disabled person, a pupil); None for a
    household's (低保, 特困供养). Audit opens a finding for it (policy delivery); a later check that finds the same
    gap again adds an occurrence.
    """

    event_type = "gov.poverty.subsidies.coverage_gap_found.v1"
    check_id: UUID
    area_code: str
    policy_code: str
    period: str = Field(pattern=PERIOD_PATTERN)
    member_id: UUID | None = None
