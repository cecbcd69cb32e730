"""The weekly handover package (每周线索移交): exactly which leads, and exactly what JSON, CSV and Markdown say."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from services.audit.domain import handover, scheduled
from services.audit.domain.referrals import hand_over_serious_findings
from services.audit.models import DisciplineReferral, Finding
from services.audit.rules.handover import HandoverPackage, Lead, to_csv, to_json, to_markdown
from services.audit.rules.periods import IsoWeek
from services.audit.settings import AuditSettings
from shared.contracts.households import ProblemCategory
from shared.db import create_engine, unit_of_work
from tests.unit.test_audit_support import NOW, facts, open_task

WEEK = IsoWeek.parse("2020-W20")  # Monday 2020-05-11 .. Sunday 2020-05-17, Asia/Shanghai
GENERATED = WEEK.ends_at + timedelta(hours=1)  # Monday 2020-05-18 01:00 in the district


@pytest.fixture
async def sessions(sqlite_url: Any) -> Any:
    engine = create_engine(await sqlite_url("audit"))
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


async def referral_of(sessions: async_sessionmaker[AsyncSession], finding: Finding, reason: str) -> DisciplineReferral:
    async with sessions() as s:
        stmt = select(DisciplineReferral).where(
            col(DisciplineReferral.finding_id) == finding.id, col(DisciplineReferral.reason) == reason
        )
        return (await s.scalars(stmt)).one()


async def the_week(sessions: async_sessionmaker[AsyncSession]) -> tuple[Finding, Finding]:
    """A severe lead on Monday and a serious one handed over on Sunday night, plus what must stay out."""
    severe, _ = await open_task(sessions, facts("h-severe", grade="D"), now=NOW)
    serious, _ = await open_task(
        sessions, facts("h-serious", grade="C", responsible_unit="贾寨镇扶贫办", responsible_person="李四"), now=NOW
    )
    async with unit_of_work(sessions) as s:  # Sunday 23:59:59 in the district: still this week
        sunday_night = WEEK.ends_at - timedelta(seconds=1)
        await hand_over_serious_findings(s, recorded_before=NOW + timedelta(hours=1), now=sunday_night)
    general, _ = await open_task(
        sessions, facts("h-general", code="file_incomplete", grade=None, category=ProblemCategory.POLICY_DELIVERY)
    )
    # every task falls overdue a month later: referred again, in a later week, and the general one in none
    await scheduled.run_checks(sessions, AuditSettings(database_url="-"), now=NOW + timedelta(days=31))
    assert await referral_of(sessions, general, "overdue_task")
    await open_task(sessions, facts("h-last-week", grade="D"), now=WEEK.starts_at - timedelta(seconds=1))
    await open_task(sessions, facts("h-next-week", grade="D"), now=WEEK.ends_at)
    return severe, serious


async def package(sessions: async_sessionmaker[AsyncSession]) -> HandoverPackage:
    async with sessions() as s:
        return await handover.weekly_package(s, WEEK, now=GENERATED)


async def test_the_package_holds_the_weeks_serious_and_severe_leads_exactly(sessions: Any) -> None:
    severe, serious = await the_week(sessions)
    r_severe = await referral_of(sessions, severe, "severe_finding")
    r_serious = await referral_of(sessions, serious, "weekly_handover")
    common = {
        "category": "housing",
        "code": "housing_unsafe",
        "subject_kind": "household",
        "township": "371523101",
        "area_code": "371523101201",
        "occurrences": 1,
        "owner": "township_office:371523101",
        "task_status": "open",
    }
    assert to_json(await package(sessions)) == {
        "week": "2020-W20",
        "from": "2020-05-11",
        "to": "2020-05-17",
        "timezone": "Asia/Shanghai",
        "generated_at": "2020-05-18T01:00:00+08:00",
        "total": 2,
        "by_reason": {"severe_finding": 1, "weekly_handover": 1},
        "by_severity": {"serious": 1, "severe": 1},
        "by_township": {"371523101": 2},
        "leads": [
            {
                "referral_id": str(r_severe.id),
                "referred_at": "2020-05-11T10:00:00+08:00",
                "reason": "severe_finding",
                "finding_id": str(severe.id),
                "severity": "severe",
                "subject_id": "h-severe",
                "description": "housing_unsafe at h-severe",
                "responsible_unit": "township_office:371523101",  # no one named: the township office answers
                "responsible_person": "",
                "deadline": "2020-05-18T23:59:59+08:00",  # the end of the day found + the severe term
                **common,
            },
            {
                "referral_id": str(r_serious.id),
                "referred_at": "2020-05-17T23:59:59+08:00",
                "reason": "weekly_handover",
                "finding_id": str(serious.id),
                "severity": "serious",
                "subject_id": "h-serious",
                "description": "housing_unsafe at h-serious",
                "responsible_unit": "贾寨镇扶贫办",
                "responsible_person": "李四",
                "deadline": "2020-05-26T23:59:59+08:00",
                **common,
            },
        ],
        "anchors": [],  # no head of the log anchored in the week
    }


async def test_the_csv_has_a_header_and_one_line_per_lead(sessions: Any) -> None:
    severe, serious = await the_week(sessions)
    r_severe = await referral_of(sessions, severe, "severe_finding")
    r_serious = await referral_of(sessions, serious, "weekly_handover")
    assert to_csv(await package(sessions)) == (
        "referral_id,referred_at,reason,finding_id,severity,category,code,subject_kind,subject_id,township,"
        "area_code,description,occurrences,responsible_unit,responsible_person,owner,task_status,deadline\r\n"
        f"{r_severe.id},2020-05-11T10:00:00+08:00,severe_finding,{severe.id},severe,housing,housing_unsafe,"
        "household,h-severe,371523101,371523101201,housing_unsafe at h-severe,1,township_office:371523101,,"
        "township_office:371523101,open,2020-05-18T23:59:59+08:00\r\n"
        f"{r_serious.id},2020-05-17T23:59:59+08:00,weekly_handover,{serious.id},serious,housing,housing_unsafe,"
        "household,h-serious,371523101,371523101201,housing_unsafe at h-serious,1,贾寨镇扶贫办,李四,"
        "township_office:371523101,open,2020-05-26T23:59:59+08:00\r\n"
    )


async def test_the_readable_document(sessions: Any) -> None:
    await the_week(sessions)
    assert to_markdown(await package(sessions)) == (
        "# 线索移交 Weekly handover to the discipline commission — 2020-W20\n"
        "\n"
        "Week 2020-05-11 to 2020-05-17 (Asia/Shanghai); generated 2020-05-18T01:00:00+08:00.\n"
        "Leads: 2 (severe 1, serious 1).\n"
        "\n"
        "| # | Referred | Reason | Severity | Category | Area | Subject | Problem | Responsible | Task |\n"
        "|---|---|---|---|---|---|---|---|---|---|\n"
        "| 1 | 2020-05-11 10:00 | severe_finding | severe | housing | 371523101201 | household h-severe"
        " | housing_unsafe at h-severe | township_office:371523101 | open, due 2020-05-18 |\n"
        "| 2 | 2020-05-17 23:59 | weekly_handover | serious | housing | 371523101201 | household h-serious"
        " | housing_unsafe at h-serious | 贾寨镇扶贫办 李四 | open, due 2020-05-26 |\n"
    )


async def test_an_empty_week_is_an_empty_package(sessions: Any) -> None:
    async with sessions() as s:
        empty = await handover.weekly_package(s, IsoWeek.parse("2020-W01"), now=GENERATED)
    assert (to_json(empty)["total"], to_csv(empty).count("\r\n")) == (0, 1)


async def test_text_cannot_forge_a_row_or_run_as_a_spreadsheet_formula(sessions: Any) -> None:
    forged = "x | y\r\n| 99 | forged"
    await open_task(sessions, facts(forged, grade="D", responsible_person='=HYPERLINK("http://evil")'), now=NOW)
    package_ = await package(sessions)
    table = to_markdown(package_).splitlines()[7:]
    assert table == [
        "| 1 | 2020-05-11 10:00 | severe_finding | severe | housing | 371523101201 | household x / y / 99 / forged"
        ' | housing_unsafe at x / y / 99 / forged | =HYPERLINK("http://evil") | open, due 2020-05-18 |'
    ]
    assert "'=HYPERLINK" in to_csv(package_)


async def test_markup_in_the_text_is_shown_not_rendered(sessions: Any) -> None:
    person = "<img src=x onerror=alert(1)> [click](javascript:alert(1)) `x` \\ &lt;"
    await open_task(sessions, facts("h1", grade="D", responsible_person=person), now=NOW)
    [row] = to_markdown(await package(sessions)).splitlines()[7:]
    shown = r"\<img src=x onerror=alert(1)\> \[click\](javascript:alert(1)) \`x\` \\ &amp;lt;"
    assert f"| {shown} |" in row


async def test_a_past_weeks_package_stays_as_it_was_handed_over(sessions: Any) -> None:
    general, _ = await open_task(
        sessions, facts("h-general", code="file_incomplete", grade=None, category=ProblemCategory.POLICY_DELIVERY)
    )
    await scheduled.run_checks(sessions, AuditSettings(database_url="-"), now=NOW + timedelta(days=31))
    referral = await referral_of(sessions, general, "overdue_task")
    assert referral.severity == "general"
    week = IsoWeek.of(referral.referred_at)

    async def leads() -> tuple[Lead, ...]:
        async with sessions() as s:
            return (await handover.weekly_package(s, week, now=GENERATED)).leads

    assert await leads() == ()  # a general lead is not in the package
    async with unit_of_work(sessions) as s:  # later the finding is judged serious
        found = await s.get(Finding, general.id)
        assert found is not None
        found.severity = "serious"
    assert await leads() == ()  # nor is it afterwards: the week was handed over as it was
