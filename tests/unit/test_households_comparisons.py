"""Data comparisons (数据比对): market regulation's companies, the traffic police's vehicles and the public payroll
compared with the register (a 低保/特困供养 member found there is a hit), deaths compared with the payments counted
for the member, and one person in two households refused; each hit once, published for audit with its evidence and
the household's helper cadre, never an ID number or a name."""

from __future__ import annotations

import json
from datetime import date
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import select
from sqlmodel import col

from services.households.models import IntegrityHit, TransferReceipt
from services.households.rules.comparisons import paid_for_after, period_first_day
from shared.contracts.households import HouseholdProblemFound
from shared.contracts.subsidies import CorrectionKind, SubsidyPaid, SubsidyPaymentCorrected
from shared.timeutil import district_today
from tests.support import apply_event, assert_problem, auth
from tests.unit.test_households_helpers import OFFICE, VILLAGE, household, households_app, make_id, member, outbox

HEAD_BORN, SPOUSE_BORN = date(1960, 3, 1), date(1962, 7, 9)
MARKET, TRAFFIC = auth("dept_market_regulation", sub="amr"), auth("dept_traffic_police", sub="police")
PAYROLL, CIVIL = auth("dept_public_payroll", sub="payroll"), auth("dept_civil_affairs", sub="civil-affairs")
PROBLEM = "gov.poverty.households.problem_found.v1"
CADRE = {"subject": "cadre-wang", "name": "王帮扶", "unit": "区农业农村局", "area_code": "371523101"}
# Each compared kind: its department, a row that hits, and the hit.
KINDS = {
    "market_regulation": (
        MARKET,
        {"company_name": "冠县某某农业科技有限公司", "role": "shareholder", "registered_on": "2019-04-10"},
        "dibao_with_company",
    ),
    "vehicle_registration": (TRAFFIC, {"vehicle_kind": "truck", "registered_on": "2020-01-15"}, "dibao_with_vehicle"),
    "public_payroll": (PAYROLL, {"employer_kind": "civil_service", "since": "2018-09-01"}, "dibao_with_public_salary"),
}


@pytest.fixture
async def api(sqlite_url: Any) -> Any:
    async with households_app(sqlite_url) as running:
        yield running


async def family(client: Any, code: str, seq: int, *, allowance: str = "dibao", cadre: bool = True) -> dict[str, str]:
    """A household of two with ID numbers (head `seq`, spouse `seq + 1`), on `allowance`, with the helper cadre
    assigned if asked: the household's id and its members' ids by relationship."""
    body = household(
        code, VILLAGE, member("张三", "head", HEAD_BORN, seq=seq), member("李四", "spouse", SPOUSE_BORN, seq=seq + 1)
    )
    r = await client.post("/v1/households", json=body, headers=OFFICE)
    assert r.status_code == 201, r.text
    ids = {m["relationship_to_head"]: m["id"] for m in r.json()["members"]} | {"household": r.json()["id"]}
    if allowance != "none":
        row = {"household_code": code, "status": allowance, "effective_on": "2020-03-01"}
        assert (await submit(client, "minimum_allowance", [row], CIVIL))["applied_count"] == 1
    if cadre:
        r = await client.post("/v1/helper-cadres", json=CADRE, headers=OFFICE)
        assignment = {"helper_cadre_id": r.json()["id"]}
        r = await client.put(f"/v1/households/{ids['household']}/helper-cadre", json=assignment, headers=OFFICE)
        assert r.status_code == 200, r.text
    return ids


async def submit(client: Any, kind: str, rows: list[Any], headers: dict[str, str], key: str | None = None) -> Any:
    r = await client.post(
        f"/v1/department-data/{kind}", json={"rows": rows}, headers={**headers, "Idempotency-Key": key or str(uuid4())}
    )
    assert r.status_code in (200, 201), r.text
    return r.json()


async def hits(app: Any) -> list[IntegrityHit]:
    async with app.state.sessions() as s:
        return list((await s.scalars(select(IntegrityHit).order_by(col(IntegrityHit.ref)))).all())


async def problems(app: Any) -> list[dict[str, Any]]:
    return [json.loads(row.payload) for row in await outbox(app) if row.event_type == PROBLEM]


def spouse_id(seq: int) -> str:
    return make_id(SPOUSE_BORN, seq + 1)


@pytest.mark.parametrize("kind", KINDS)
async def test_a_dibao_member_in_a_departments_data_is_one_serious_problem_naming_the_cadre(
    api: Any, kind: str
) -> None:
    app, client = api
    headers, facts, hit_kind = KINDS[kind]
    ids = await family(client, "CM-1", 1)
    row = {"id_number": spouse_id(1), **facts}
    report = await submit(client, kind, [row], headers, key="batch-1")
    assert (report["applied_count"], report["errors"]) == (1, [])
    [hit] = await hits(app)
    batch = report["batch_id"]
    assert (hit.kind, str(hit.member_id), hit.ref) == (hit_kind, ids["spouse"], batch)
    assert hit.evidence == [{"type": "department_batch", "id": batch, "row": 0}]
    [event] = await problems(app)
    HouseholdProblemFound.model_validate(event)
    assert (event["category"], event["severity"], event["code"], event["problem_id"]) == (
        "policy_delivery", "serious", hit_kind, str(hit.problem_id)
    )  # fmt: skip
    assert event["responsible"] == {
        "person_id": "cadre-wang", "name": "王帮扶", "unit": "区农业农村局", "role": "helper_cadre"
    }  # fmt: skip
    assert batch in event["description"] and ids["spouse"] in event["description"]
    text = json.dumps(event, ensure_ascii=False)
    assert spouse_id(1) not in text and "李四" not in text and spouse_id(1) not in json.dumps(report)
    # The same rows again under the key: the stored report, nothing new; another batch with them: another hit.
    r = await client.post(
        f"/v1/department-data/{kind}", json={"rows": [row]}, headers={**headers, "Idempotency-Key": "batch-1"}
    )
    assert (r.status_code, r.headers["Idempotency-Replayed"], len(await hits(app))) == (200, "true", 1)
    again = await submit(client, kind, [row], headers)
    assert sorted(h.ref for h in await hits(app)) == sorted([batch, again["batch_id"]])


async def test_a_person_in_a_batch_twice_is_one_hit_with_both_rows_and_te_kun_households_are_compared(api: Any) -> None:
    app, client = api
    ids = await family(client, "CM-2", 3, allowance="extreme_poverty", cadre=False)
    company = {"company_name": "某某商贸有限公司", "role": "legal_representative", "registered_on": "2020-02-01"}
    rows = [{"id_number": make_id(date(1990, 1, 1), 9), **company}, {"id_number": spouse_id(3), **company}]
    rows.append({"id_number": spouse_id(3), **company, "role": "shareholder"})
    report = await submit(client, "market_regulation", rows, MARKET)
    assert (report["applied_count"], [(e["row"], e["code"]) for e in report["errors"]]) == (2, [(0, "not-found")])
    [hit] = await hits(app)
    assert str(hit.member_id) == ids["spouse"] and [e["row"] for e in hit.evidence] == [1, 2]
    [event] = await problems(app)
    assert event["responsible"] is None  # no helper cadre: audit names the area's officer


@pytest.mark.parametrize(
    ("allowance", "row", "seq"),
    [
        ("none", {"vehicle_kind": "car", "registered_on": "2020-01-15"}, 5),  # off 低保
        ("dibao", {"vehicle_kind": "other", "registered_on": "2020-01-15"}, 7),  # a motorcycle is no sign of means
    ],
)
async def test_no_hit_off_the_allowance_or_for_another_vehicle(
    api: Any, allowance: str, row: dict[str, Any], seq: int
) -> None:
    app, client = api
    await family(client, f"CM-{seq}", seq, allowance=allowance)
    report = await submit(client, "vehicle_registration", [{"id_number": spouse_id(seq), **row}], TRAFFIC)
    assert (report["applied_count"], report["errors"]) == (1, [])
    assert await hits(app) == [] and await problems(app) == []


async def test_a_dead_members_registration_is_no_hit(api: Any) -> None:
    app, client = api
    ids = await family(client, "CM-9", 9)
    death = {"died_on": "2020-06-03", "source": "民政殡葬"}
    r = await client.post(f"/v1/households/{ids['household']}/members/{ids['spouse']}/death", json=death, headers=CIVIL)
    assert r.status_code == 201, r.text
    await submit(client, "public_payroll", [{"id_number": spouse_id(9), **KINDS["public_payroll"][1]}], PAYROLL)
    assert await hits(app) == []


@pytest.mark.parametrize("kind", KINDS)
async def test_each_kinds_bad_rows_are_named_and_the_good_ones_compared(api: Any, kind: str) -> None:
    app, client = api
    headers, facts, _ = KINDS[kind]
    await family(client, "CM-11", 11)
    good = {"id_number": spouse_id(11), **facts}
    field = next(iter(facts))
    future = next(name for name in facts if name in ("registered_on", "since"))
    rows: list[Any] = [
        {k: v for k, v in good.items() if k != field},  # 0: a fact missing
        {**good, field: "no-such-code" if field != "company_name" else ""},  # 1: a bad value
        {**good, future: "2199-01-01"},  # 2: after today
        {**good, "member_id": str(uuid4())},  # 3: departments know no member ids
        {**good, "id_number": spouse_id(11)[:-1] + "0"},  # 4: a wrong check digit (unless it was 0)
        {**good, "plate": "鲁P12345"},  # 5: a field no kind has
        "not a row",  # 6
        good,  # 7
    ]
    if spouse_id(11).endswith("0"):
        rows[4] = {**good, "id_number": spouse_id(11)[:-1] + "1"}
    report = await submit(client, kind, rows, headers)
    refused = [(e["row"], e["field"]) for e in report["errors"]]
    assert (report["applied_count"], report["error_count"]) == (1, 7), report
    assert refused == [
        (0, field), (1, field), (2, future), (3, "member_id"), (4, "id_number"), (5, "plate"), (6, "")
    ]  # fmt: skip
    assert spouse_id(11) not in json.dumps(report)
    assert len(await hits(app)) == 1


@pytest.mark.parametrize(
    ("kind", "headers"),
    [
        ("vehicle_registration", MARKET),
        ("market_regulation", TRAFFIC),
        ("market_regulation", PAYROLL),
        ("public_payroll", CIVIL),
        ("public_payroll", OFFICE),
        ("minimum_allowance", PAYROLL),
        ("death", TRAFFIC),
    ],
)
async def test_a_department_submits_only_its_own_kind(api: Any, kind: str, headers: dict[str, str]) -> None:
    _, client = api
    r = await client.post(f"/v1/department-data/{kind}", json={"rows": []}, headers={**headers, "Idempotency-Key": "k"})
    assert_problem(r, 403)


def test_a_periods_first_day_and_whether_it_began_after_a_death() -> None:
    assert [period_first_day(p) for p in ("2020-07", "2020-S1", "2020-S2", "2020")] == [
        date(2020, 7, 1), date(2020, 1, 1), date(2020, 7, 1), date(2020, 1, 1)
    ]  # fmt: skip
    died = date(2020, 6, 3)
    assert [paid_for_after(p, died) for p in ("2020-06", "2020-07", "2020-S1", "2020-S2", "2020", None)] == [
        False, True, False, True, False, False
    ]  # fmt: skip
    assert paid_for_after("2020-06", date(2020, 5, 31)) and not paid_for_after("2020-06", date(2020, 6, 1))
    with pytest.raises(ValueError, match="period"):
        period_first_day("2020-13")


def paid(ids: dict[str, str], period: str, *, member: bool = True) -> SubsidyPaid:
    return SubsidyPaid(
        household_id=UUID(ids["household"]), payment_id=uuid4(), policy_code="disability_living_subsidy",
        period=period, amount_fen=9_000, member_id=UUID(ids["spouse"]) if member else None,
    )  # fmt: skip


async def test_a_payment_for_a_period_after_a_recorded_death_hits_once(api: Any) -> None:
    app, client = api
    ids = await family(client, "CD-1", 21)
    death = {"died_on": "2020-06-03", "source": "民政殡葬"}
    r = await client.post(f"/v1/households/{ids['household']}/members/{ids['spouse']}/death", json=death, headers=CIVIL)
    assert r.status_code == 201, r.text
    june, july, household_july = paid(ids, "2020-06"), paid(ids, "2020-07"), paid(ids, "2020-07", member=False)
    for event in (june, july, july, household_july):  # July's sent twice
        await apply_event(app, event)
    [hit] = await hits(app)
    assert (hit.kind, hit.ref, hit.evidence) == (
        "paid_after_death", str(july.payment_id), [{"type": "payment", "id": str(july.payment_id)}]
    )  # fmt: skip
    assert hit.found_on == district_today()
    [problem] = await problems(app)
    assert problem["code"] == "paid_after_death" and problem["responsible"]["person_id"] == "cadre-wang"
    assert "2020-07" in problem["description"] and str(july.payment_id) in problem["description"]
    async with app.state.sessions() as s:
        receipt = await s.get(TransferReceipt, july.payment_id)
    assert receipt is not None and str(receipt.member_id) == ids["spouse"]


async def test_a_death_reported_after_later_payments_were_counted_hits_each_of_them(api: Any) -> None:
    app, client = api
    ids = await family(client, "CD-2", 23, cadre=False)
    may, july, august = paid(ids, "2020-05"), paid(ids, "2020-07"), paid(ids, "2020-08")
    recovered = paid(ids, "2020-09")
    for event in (may, july, august, paid(ids, "2020-08", member=False), recovered):
        await apply_event(app, event)
    correction = SubsidyPaymentCorrected(
        household_id=recovered.household_id, payment_id=recovered.payment_id, kind=CorrectionKind.RECOVERY,
        policy_code=recovered.policy_code, period=recovered.period, amount_fen=recovered.amount_fen,
    )  # fmt: skip
    await apply_event(app, correction)  # recovered already: it counts nothing
    assert await hits(app) == []
    row = {"id_number": spouse_id(23), "died_on": "2020-06-03", "source": "公安户籍注销"}
    assert (await submit(client, "death", [row], CIVIL))["applied_count"] == 1
    found = await hits(app)
    assert sorted(h.ref for h in found) == sorted([str(july.payment_id), str(august.payment_id)])
    assert {h.kind for h in found} == {"counted_after_death"}
    assert {p["code"] for p in await problems(app)} == {"counted_after_death"}
    await apply_event(app, july)  # July's payment sent again after the death: still the one hit
    assert len(await hits(app)) == 2


async def test_one_person_cannot_be_registered_in_two_households(api: Any) -> None:
    """The ID number's keyed hash is unique across the register: the second household, or a member added to
    another household with the number, is refused (409) without repeating it, so no comparison is needed."""
    _, client = api
    ids = await family(client, "TW-1", 31, allowance="none", cadre=False)
    twice = household("TW-2", VILLAGE, member("李四", "head", SPOUSE_BORN, seq=32))
    r = await client.post("/v1/households", json=twice, headers=OFFICE)
    assert spouse_id(31) not in assert_problem(r, 409)["detail"] and spouse_id(31) not in r.text
    other = household("TW-3", VILLAGE, member("王五", "head", date(1970, 1, 1), seq=33))
    r = await client.post("/v1/households", json=other, headers=OFFICE)
    added = member("李四", "spouse", SPOUSE_BORN, seq=32)
    r = await client.post(f"/v1/households/{r.json()['id']}/members", json=added, headers=OFFICE)
    assert_problem(r, 409)
    body = (await client.get(f"/v1/households/{ids['household']}", headers=OFFICE)).json()
    assert [m["id"] for m in body["members"] if m["relationship_to_head"] == "spouse"] == [ids["spouse"]]


async def test_the_comparisons_hits_are_listed_with_the_integrity_hits(api: Any) -> None:
    _, client = api
    ids = await family(client, "LS-1", 41)
    headers, facts, _ = KINDS["vehicle_registration"]
    report = await submit(client, "vehicle_registration", [{"id_number": spouse_id(41), **facts}], headers)
    r = await client.get("/v1/integrity-hits?kind=dibao_with_vehicle", headers=OFFICE)
    assert r.status_code == 200, r.text
    [item] = r.json()["items"]
    assert (item["household_id"], item["member_id"], item["ref"]) == (
        ids["household"],
        ids["spouse"],
        report["batch_id"],
    )
    assert item["evidence"] == [{"type": "department_batch", "id": report["batch_id"], "row": 0}]
    assert (await client.get("/v1/integrity-hits?kind=dibao_with_company", headers=OFFICE)).json()["items"] == []
    assert spouse_id(41) not in r.text
