"""Workshops, posts and payrolls on PostgreSQL: the unit tier's flows again; requests racing for one post, one
member, one month's payroll, one month's wages; payments of one payroll applied at once; a payroll of the most
holders it pays, each to the fen, inserted and published whole."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import delete, func, insert, select
from sqlmodel import col

from services.projects.models import (
    Payroll,
    PayrollLine,
    PostHolding,
    PublicWelfarePost,
    RollHousehold,
    RollMember,
    WorkshopWage,
)
from shared.api.clock import request_time
from shared.contracts.projects import MAX_PAYROLL_LINES
from tests.support import apply_event, assert_problem, auth, running_app
from tests.unit import test_projects_posts as posts
from tests.unit import test_projects_workshops as workshops
from tests.unit.test_projects_posts import APPROVED, FINANCE, NOW, OFFICE, VILLAGE

pytestmark = pytest.mark.integration


@pytest.fixture
async def api(pg_database: Any) -> Any:
    async with running_app("projects", await pg_database("projects")) as (app, client):
        app.dependency_overrides[request_time] = lambda: NOW
        yield app, client


@pytest.mark.parametrize(
    "scenario",
    [
        posts.test_a_post_is_listed_with_its_holder_and_by_vacancy_within_reach,
        posts.test_a_holder_is_a_living_entitled_member_on_the_roll_of_the_posts_area,
        posts.test_a_post_has_one_holder_and_a_member_one_post_at_a_time,
        posts.test_a_holder_is_paired_with_a_household_of_the_posts_township,
        posts.test_a_holders_pairings_end_with_the_holding,
        posts.test_a_payroll_pays_each_holder_pro_rata_to_the_fen,
        posts.test_a_payroll_is_one_per_month_of_a_month_begun_with_someone_to_pay,
        posts.test_a_holding_in_a_payroll_does_not_end_before_the_months_end,
        posts.test_a_payroll_is_approved_by_another_officer_and_published,
        posts.test_subsidies_payments_mark_lines_paid_once_and_reversals_take_them_back,
        posts.test_a_households_wage_income_holds_its_approved_allowances,
        workshops.test_a_workshop_counts_its_workers_and_with_its_branches,
        workshops.test_only_living_members_on_the_roll_are_employed_and_once_at_a_time,
        workshops.test_wages_are_recorded_once_per_employment_and_month_and_published,
        workshops.test_wages_for_no_employment_of_the_month_are_refused_and_change_nothing,
        workshops.test_a_township_office_employs_only_entitled_members_of_households_within_its_reach,
        posts.test_a_payroll_pays_a_holder_to_the_day_of_death_and_none_whose_household_exited_without_policies,
        posts.test_a_holders_death_ends_their_post_pairings_and_employment_that_day_once,
        posts.test_taking_and_leaving_a_post_is_published_with_the_posts_area,
        posts.test_a_payroll_is_not_approved_by_its_preparer_however_the_subject_is_written,
        posts.test_a_payment_of_another_amount_than_the_line_is_refused_and_changes_nothing,
        posts.test_every_change_of_a_payrolls_status_is_published,
    ],
    ids=lambda scenario: scenario.__name__.removeprefix("test_"),
)
async def test_the_flows_hold_on_postgres(api: Any, scenario: Any) -> None:
    await scenario(api)


async def _count(app: Any, model: Any) -> int:
    async with app.state.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(model)))


async def test_two_holders_given_one_post_at_once_one_wins(api: Any) -> None:
    app, client = api
    post = await posts._post(client)
    household, members = await posts.on_roll(app, members=2)
    answers = await asyncio.gather(
        *(client.post(f"/v1/posts/{post}/holder", json=posts._holder(household, m), headers=OFFICE) for m in members)
    )
    assert sorted(r.status_code for r in answers) == [201, 409]
    assert assert_problem(next(r for r in answers if r.status_code == 409), 409)["code"] == "post_taken"
    assert await _count(app, PostHolding) == 1


async def test_one_member_given_two_posts_at_once_holds_one(api: Any) -> None:
    app, client = api
    first, second = await posts._post(client), await posts._post(client, title="护林员", duty="forest_ranger")
    household, [member] = await posts.on_roll(app)
    holder = posts._holder(household, member)
    answers = await asyncio.gather(
        *(client.post(f"/v1/posts/{p}/holder", json=holder, headers=OFFICE) for p in (first, second))
    )
    assert sorted(r.status_code for r in answers) == [201, 409]
    assert assert_problem(next(r for r in answers if r.status_code == 409), 409)["code"] == "already_holds_post"
    assert await _count(app, PostHolding) == 1


async def test_two_payrolls_for_one_month_at_once_make_one(api: Any) -> None:
    app, client = api
    await posts._holders_of_june(app, client)
    preparers = (FINANCE, auth("finance_officer", sub="finance-2"))
    answers = await asyncio.gather(
        *(client.post("/v1/payrolls", json={"period": "2020-06"}, headers=h) for h in preparers)
    )
    assert sorted(r.status_code for r in answers) == [201, 409]
    assert assert_problem(next(r for r in answers if r.status_code == 409), 409)["code"] == "payroll_exists"
    assert (await _count(app, Payroll), await _count(app, PayrollLine)) == (1, 3)


async def test_the_same_wages_recorded_twice_at_once_are_recorded_once(api: Any) -> None:
    app, client = api
    workshop = await workshops._workshop(client)
    household, [member] = await workshops.on_roll(app)
    employment = await workshops._employ(client, workshop, household, member)
    body = {"period": "2020-06", "lines": [{"employment_id": employment, "amount_fen": 180_000}]}
    answers = await asyncio.gather(
        *(client.post(f"/v1/workshops/{workshop}/wages", json=body, headers=FINANCE) for _ in range(2))
    )
    assert sorted(r.status_code for r in answers) == [201, 409]
    assert await _count(app, WorkshopWage) == 1
    assert len(await workshops._events(app, workshops.WAGE_RECORDED)) == 1


async def test_payments_of_one_payroll_applied_at_once_count_every_fen(api: Any) -> None:
    app, client = api
    total = await _holders(app, 40)
    payroll = (await client.post("/v1/payrolls", json={"period": "2020-06"}, headers=FINANCE)).json()
    assert (await client.post(f"/v1/payrolls/{payroll['id']}/approval", headers=OFFICE)).status_code == 200
    lines = (await client.get(f"/v1/payrolls/{payroll['id']}/lines", headers=OFFICE)).json()["items"]
    await asyncio.gather(
        *(
            apply_event(
                app,
                posts._paid(UUID(x["household_id"]), UUID(x["member_id"]), payroll["id"], uuid4(), x["amount_fen"]),
            )
            for x in lines
        )
    )
    done = (await client.get(f"/v1/payrolls/{payroll['id']}", headers=OFFICE)).json()
    assert (done["status"], done["paid_fen"], done["total_fen"]) == ("paid", total, total)


async def _holders(app: Any, count: int) -> int:
    """`count` holders of as many posts in one village, put in directly: allowances 50,000 fen and up, started on
    each day of June in turn. Returns what June pays them in all, computed here by hand."""
    households = [uuid4() for _ in range(count)]
    members, posts_ = [uuid4() for _ in range(count)], [uuid4() for _ in range(count)]
    starts = [date(2020, 6, 1) + timedelta(days=i % 30) for i in range(count)]
    async with app.state.sessions() as s, s.begin():
        await s.execute(
            insert(RollHousehold),
            [{"household_id": h, "area_code": VILLAGE, "member_count": 1, "updated_at": NOW} for h in households],
        )
        await s.execute(
            insert(RollMember),
            [
                {"member_id": m, "household_id": h, "birth_date": date(1980, 1, 1)}
                for h, m in zip(households, members, strict=True)
            ],
        )
        await s.execute(
            insert(PublicWelfarePost),
            [
                {
                    "id": p,
                    "title": "保洁员",
                    "duty": "cleaning",
                    "area_code": VILLAGE,
                    "monthly_allowance_fen": 50_000 + i,
                    "created_by": "office-1",
                    "created_at": NOW,
                }
                for i, p in enumerate(posts_)
            ],
        )
        await s.execute(insert(PostHolding), [
            {"id": uuid4(), "post_id": p, "household_id": h, "member_id": m, "started_on": on,
             "recorded_by": "office-1", "recorded_at": NOW}
            for p, h, m, on in zip(posts_, households, members, starts, strict=True)
        ])  # fmt: skip
    return sum((50_000 + i) * (30 - (i % 30)) // 30 for i in range(count))


async def test_a_payroll_of_the_most_holders_pays_each_to_the_fen_and_is_published_whole(api: Any) -> None:
    app, client = api
    expected = await _holders(app, MAX_PAYROLL_LINES + 1)
    problem = assert_problem(await client.post("/v1/payrolls", json={"period": "2020-06"}, headers=FINANCE), 409)
    assert problem["code"] == "too_many_lines"
    async with app.state.sessions() as s, s.begin():  # one holding fewer
        last = await s.scalar(select(PostHolding).order_by(col(PostHolding.started_on).desc()).limit(1))
        assert last is not None
        await s.execute(delete(PostHolding).where(col(PostHolding.id) == last.id))
        post = await s.get(PublicWelfarePost, last.post_id)
        assert post is not None
        left_out = post.monthly_allowance_fen * (30 - (last.started_on.day - 1)) // 30
    r = await client.post("/v1/payrolls", json={"period": "2020-06"}, headers=FINANCE)
    assert r.status_code == 201, r.text
    payroll = r.json()
    assert (payroll["line_count"], payroll["total_fen"]) == (MAX_PAYROLL_LINES, expected - left_out)
    async with app.state.sessions() as s:
        line_sum = await s.scalar(select(func.sum(col(PayrollLine.amount_fen))))
    assert line_sum == payroll["total_fen"]
    assert (await client.post(f"/v1/payrolls/{payroll['id']}/approval", headers=OFFICE)).status_code == 200
    [event] = await posts._events(app, APPROVED)
    assert len(event["lines"]) == MAX_PAYROLL_LINES
    assert sum(line["amount_fen"] for line in event["lines"]) == payroll["total_fen"]
    assert len({UUID(line["member_id"]) for line in event["lines"]}) == MAX_PAYROLL_LINES
