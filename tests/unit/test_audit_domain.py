"""Audit use cases on a migrated SQLite file: auto-open, de-duplication, referral, events, the log."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from services.audit.domain import findings, ledger
from services.audit.domain.rectification import AUDIT_RULES
from services.audit.handlers import build_handlers
from services.audit.models import DeadlineChange, DisciplineReferral, Finding, LedgerEntry, RectificationTask
from services.audit.rules.findings import DeadlinePolicy, EvidenceRef, ProblemFacts
from services.audit.rules.ledger import sha256_hex
from services.audit.rules.responsibility import end_of_day
from services.audit.settings import AuditSettings
from shared.contracts import HOUSEHOLDS_TOPIC, PROJECTS_TOPIC, SUBSIDIES_TOPIC
from shared.contracts.audit import RectificationRescheduled, Severity, SubjectKind
from shared.contracts.households import HouseholdProblemFound, ProblemCategory
from shared.contracts.projects import ProjectProblemFound
from shared.contracts.subsidies import SubsidyCoverageGap
from shared.db import create_engine, unit_of_work
from shared.messaging.outbox import OutboxMessage
from tests.support import envelope_of, household_problem

NOW = datetime(2020, 5, 1, tzinfo=UTC)
POLICY = DeadlinePolicy()


def facts(household: str = "h1", code: str = "housing_unsafe", grade: str | None = "D") -> ProblemFacts:
    return ProblemFacts(
        subject_kind=SubjectKind.HOUSEHOLD,
        subject_id=household,
        area_code="371523101201",
        category=ProblemCategory.HOUSING,
        code=code,
        description="unsafe house",
        source_ref="p",
        housing_grade=grade,
    )


@pytest.fixture
async def sessions(sqlite_url: Any) -> Any:
    engine = create_engine(await sqlite_url("audit"))
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


async def count(session: AsyncSession, model: Any) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def events(session: AsyncSession) -> list[str]:
    rows = await session.scalars(select(OutboxMessage.event_type).order_by(OutboxMessage.id))  # type: ignore[arg-type]
    return [t.split(".")[3] for t in rows.all()]


async def test_severe_finding_opens_task_and_referral_with_events(sessions: Any) -> None:
    async with unit_of_work(sessions) as s:
        finding = await findings.record_finding(s, facts(), policy=POLICY, now=NOW)
    async with sessions() as s:
        task = (await s.scalars(select(RectificationTask))).one()
        # Found the day it was recorded: the end of that district day plus the severe term.
        assert task.finding_id == finding.id and task.deadline == end_of_day(NOW.date() + timedelta(days=7))
        assert (await s.scalars(select(DisciplineReferral))).one().reason == "severe_finding"
        assert await events(s) == ["finding_recorded", "rectification_opened", "discipline_referral_made"]


async def test_serious_finding_opens_a_task_but_no_referral(sessions: Any) -> None:
    async with unit_of_work(sessions) as s:
        await findings.record_finding(s, facts(grade="C"), policy=POLICY, now=NOW)
    async with sessions() as s:
        assert await count(s, RectificationTask) == 1
        assert await count(s, DisciplineReferral) == 0


async def test_repeat_of_an_open_problem_adds_an_occurrence(sessions: Any) -> None:
    for _ in range(3):
        async with unit_of_work(sessions) as s:
            await findings.record_finding(s, facts(), policy=POLICY, now=NOW)
    async with sessions() as s:
        assert (await s.scalars(select(Finding.occurrences))).all() == [3]
        assert await count(s, RectificationTask) == 1
        assert await count(s, DisciplineReferral) == 1
        assert (await events(s)).count("finding_recurred") == 2


async def test_a_repeat_found_worse_raises_the_finding_and_refers_it_once(sessions: Any) -> None:
    for grade in ("C", "D", "D", "C"):  # a C-grade house appraised D: now collapsing, then the same again
        async with unit_of_work(sessions) as s:
            await findings.record_finding(s, facts(grade=grade), policy=POLICY, now=NOW)
    async with sessions() as s:
        finding = (await s.scalars(select(Finding))).one()
        reasons = (await s.scalars(select(DisciplineReferral.reason))).all()
        assert (finding.severity, finding.occurrences, reasons) == ("severe", 4, ["severe_finding"])
        assert await count(s, RectificationTask) == 1


@pytest.mark.parametrize(
    ("found_worse_after", "deadline_after"),
    [
        (timedelta(days=2), timedelta(days=9)),  # the severe term (7 days) from the day it was found worse
        (timedelta(0), timedelta(days=7)),  # found worse in the transaction that opened it: the same
        (timedelta(days=10), timedelta(days=15)),  # the serious term ends sooner: kept
    ],
)
async def test_a_problem_found_worse_gets_the_shorter_term_of_its_new_severity(
    sessions: Any, found_worse_after: timedelta, deadline_after: timedelta
) -> None:
    async with unit_of_work(sessions) as s:
        await findings.record_finding(s, facts(grade="C"), policy=POLICY, now=NOW)  # serious: 15 days
        if not found_worse_after:
            await findings.record_finding(s, facts(grade="D"), policy=POLICY, now=NOW)
    if found_worse_after:
        async with unit_of_work(sessions) as s:
            await findings.record_finding(s, facts(grade="D"), policy=POLICY, now=NOW + found_worse_after)
    async with sessions() as s:
        task = (await s.scalars(select(RectificationTask))).one()
        changes = (await s.scalars(select(DeadlineChange))).all()
        rescheduled = (await events(s)).count(RectificationRescheduled.event_type.split(".")[3])
    serious_term = end_of_day(NOW.date() + timedelta(days=15))  # from the day found, to the end of that day
    shortened = deadline_after < timedelta(days=15)
    assert task.deadline == (NOW + deadline_after if shortened else serious_term)
    assert [(c.previous_deadline, c.deadline, c.changed_by) for c in changes] == (
        [(serious_term, NOW + deadline_after, AUDIT_RULES)] if shortened else []
    )
    assert rescheduled == int(shortened)


async def test_other_subjects_or_problems_are_separate_findings(sessions: Any) -> None:
    async with unit_of_work(sessions) as s:
        await findings.record_finding(s, facts("h1"), policy=POLICY, now=NOW)
        await findings.record_finding(s, facts("h2"), policy=POLICY, now=NOW)
        await findings.record_finding(s, facts("h1", code="school_dropout", grade=None), policy=POLICY, now=NOW)
    async with sessions() as s:
        assert await count(s, Finding) == 3


async def test_every_change_is_logged_with_its_event_id(sessions: Any) -> None:
    async with unit_of_work(sessions) as s:
        await findings.record_finding(s, facts(), policy=POLICY, now=NOW)
    async with sessions() as s:
        outbox = (await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()  # type: ignore[arg-type]
        entries = (await s.scalars(select(LedgerEntry).order_by(LedgerEntry.seq))).all()  # type: ignore[arg-type]
        verdict = await ledger.verify(s)
    assert [e.source for e in entries] == [f"audit:{m.event_type.split('.')[3]}/{m.event_id}" for m in outbox]
    assert [e.payload_hash for e in entries] == [sha256_hex(m.payload.encode()) for m in outbox]
    assert verdict.ok and verdict.entries_checked == 3


async def test_a_failed_use_case_leaves_neither_event_nor_log_entry(sessions: Any) -> None:
    with pytest.raises(RuntimeError):
        async with unit_of_work(sessions) as s:
            await findings.record_finding(s, facts(), policy=POLICY, now=NOW)
            raise RuntimeError("the request failed after the finding was recorded")
    async with sessions() as s:
        assert [await count(s, m) for m in (Finding, OutboxMessage, LedgerEntry)] == [0, 0, 0]


async def test_a_repeat_adds_its_evidence_to_the_open_finding(sessions: Any) -> None:
    first = EvidenceRef(kind="photo", reference="archive://a.jpg")
    second = EvidenceRef(kind="document", reference="archive://b.pdf", note="appraisal")
    for evidence in (first, second):
        async with unit_of_work(sessions) as s:
            await findings.record_finding(s, replace(facts(), evidence=(evidence,)), policy=POLICY, now=NOW)
    async with sessions() as s:
        finding = (await s.scalars(select(Finding))).one()
    assert finding.evidence == [first.as_json(), second.as_json()]


async def test_a_closed_problem_found_again_is_a_new_finding(sessions: Any) -> None:
    async with unit_of_work(sessions) as s:
        finding = await findings.record_finding(s, facts(), policy=POLICY, now=NOW)
        finding.status = "closed"
    async with unit_of_work(sessions) as s:
        again = await findings.record_finding(s, facts(), policy=POLICY, now=NOW)
    assert again.id != finding.id and again.occurrences == 1


async def test_a_consumed_problem_is_logged_then_recorded_at_the_handlers_clock(sessions: Any) -> None:
    handlers = build_handlers(AuditSettings(database_url="unused"), clock=lambda: NOW)
    event = household_problem(uuid.uuid4())  # a child out of school, found on a visit
    envelope = envelope_of(event)
    application = handlers.bind(HOUSEHOLDS_TOPIC, envelope)
    assert application is not None
    async with unit_of_work(sessions) as s:
        await application(s)
    async with sessions() as s:
        finding = (await s.scalars(select(Finding))).one()
        sources = (await s.scalars(select(LedgerEntry.source).order_by(LedgerEntry.seq))).all()  # type: ignore[arg-type]
    assert (finding.opened_at, finding.severity, finding.subject_id) == (NOW, "serious", str(event.household_id))
    assert sources[0] == f"{HOUSEHOLDS_TOPIC}/{envelope.id}"
    assert [s.split("/")[0] for s in sources[1:]] == ["audit:finding_recorded", "audit:rectification_opened"]


def replace_fields(event: HouseholdProblemFound, **changes: Any) -> HouseholdProblemFound:
    """The same problem for another household, with `changes`, validated as a producer's would be."""
    return HouseholdProblemFound.model_validate({**event.model_dump(), "household_id": uuid.uuid4(), **changes})


async def test_the_districts_deadline_settings_set_each_severitys_term(sessions: Any) -> None:
    settings = AuditSettings(
        database_url="unused", deadline_days_general=20, deadline_days_serious=10, deadline_days_severe=3
    )
    handlers = build_handlers(settings, clock=lambda: NOW)
    dropout = household_problem(uuid.uuid4())  # serious
    collapsing = replace_fields(dropout, code="housing_unsafe", category="housing", housing_grade="D")
    untidy = replace_fields(dropout, code="helper_visit_late", category="conduct")  # general
    for event in (dropout, collapsing, untidy):
        application = handlers.bind(HOUSEHOLDS_TOPIC, envelope_of(event))
        assert application is not None
        async with unit_of_work(sessions) as s:
            await application(s)
    async with sessions() as s:
        rows = (await s.execute(select(Finding.severity, RectificationTask.deadline).join(RectificationTask))).all()
    found = NOW.date()  # found today, as audit's clock has it: each term runs to the end of that day + its days
    assert {severity: deadline for severity, deadline in rows} == {
        "general": end_of_day(found + timedelta(days=20)),
        "serious": end_of_day(found + timedelta(days=10)),
        "severe": end_of_day(found + timedelta(days=3)),
    }


async def test_a_subsidy_coverage_gap_is_a_policy_delivery_finding_once_per_policy(sessions: Any) -> None:
    handlers = build_handlers(AuditSettings(database_url="unused"), clock=lambda: NOW)
    household = uuid.uuid4()

    async def consume(policy_code: str) -> None:
        event = SubsidyCoverageGap(
            household_id=household,
            check_id=uuid.uuid4(),
            area_code="371523101201",
            policy_code=policy_code,
            period="2020-05",
        )
        application = handlers.bind(SUBSIDIES_TOPIC, envelope_of(event))
        assert application is not None
        async with unit_of_work(sessions) as s:
            await application(s)

    for policy_code in ("dibao", "dibao", "education_aid"):  # the next month's check finds dibao unpaid again
        await consume(policy_code)
    async with sessions() as s:
        found = (await s.scalars(select(Finding).order_by(Finding.code))).all()  # type: ignore[arg-type]
        tasks = await count(s, RectificationTask)
    assert [(f.code, f.category, f.severity, f.occurrences) for f in found] == [
        ("unpaid_dibao", "policy_delivery", "general", 2),
        ("unpaid_education_aid", "policy_delivery", "general", 1),
    ]
    assert (tasks, found[0].subject_id) == (2, str(household))


def project_problem(severity: Severity | None) -> ProjectProblemFound:
    """An inspection's finding on a project: its asset missing (资产流失)."""
    return ProjectProblemFound(
        project_id=uuid.uuid4(), problem_id=uuid.uuid4(), area_code="371523101", code="asset_missing",
        description="greenhouse 7 of the asset register not found on site", found_on=NOW.date(),
        found_by="inspector-2", severity=severity,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("stated", "severity", "referred"),
    [(Severity.SEVERE, "severe", 1), (Severity.SERIOUS, "serious", 0), (None, "general", 0)],
)
async def test_a_project_problem_takes_the_severity_projects_states(
    sessions: Any, stated: Severity | None, severity: str, referred: int
) -> None:
    handlers = build_handlers(AuditSettings(database_url="unused"), clock=lambda: NOW)
    application = handlers.bind(PROJECTS_TOPIC, envelope_of(project_problem(stated)))
    assert application is not None
    async with unit_of_work(sessions) as s:
        await application(s)
    async with sessions() as s:
        finding = (await s.scalars(select(Finding))).one()
        referrals = (await s.scalars(select(DisciplineReferral))).all()
        task = (await s.scalars(select(RectificationTask))).one()
    assert (finding.severity, finding.category, len(referrals)) == (severity, "project", referred)
    days = {"severe": 7, "serious": 15, "general": 30}[severity]
    assert task.deadline == end_of_day(NOW.date() + timedelta(days=days))
    # A severe problem is referred to the discipline commission at once, when it is found.
    assert [(r.finding_id, r.referred_at) for r in referrals] == [(finding.id, NOW)] * referred


async def test_looking_up_another_problem_of_a_subject_keeps_what_the_transaction_changed(sessions: Any) -> None:
    async with sessions() as s, s.begin():
        await findings.record_manual_finding(s, facts(grade="C"), policy=POLICY, now=NOW)
    async with sessions() as s, s.begin():
        again = await findings.record_manual_finding(s, facts(grade="C"), policy=POLICY, now=NOW)  # not yet written
        await findings.record_manual_finding(s, facts(code="water_unsafe", grade=None), policy=POLICY, now=NOW)
        assert again.occurrences == 2
    async with sessions() as s:
        kept = (await s.scalars(select(Finding).where(col(Finding.code) == "housing_unsafe"))).one()
    assert kept.occurrences == 2
