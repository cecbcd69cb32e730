"""Audit's creates over HTTP: each can be retried with an `Idempotency-Key` (the first result again, nothing recorded
twice), each body's example is valid, and the rules a body's fields follow together are stated in the document
exactly as the service applies them."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import jsonschema
import pytest
from pydantic import BaseModel

from services.audit.models import (
    AccountabilityAction,
    DeadlineChange,
    Finding,
    FollowUpCheck,
    InspectionCampaign,
    LedgerEntry,
    RectificationSubmission,
)
from services.audit.schemas.campaigns import CampaignCreate
from services.audit.schemas.findings import FindingCreate
from services.audit.schemas.referrals import AccountabilityCreate
from services.audit.schemas.tasks import DeadlineChangeCreate, FollowUpCheckCreate, SubmissionCreate
from shared.api.clock import request_time
from shared.api.idempotent_requests import IdempotentRequest
from shared.messaging.outbox import OutboxMessage
from tests.support import assert_problem, auth, running_app
from tests.unit.test_audit_support import NOW, VILLAGE, count, facts, open_task

DISTRICT = auth("district_office", sub="district-officer-1")
INSPECTOR = auth("inspector", sub="inspector-1")
COMMISSION = auth("discipline_commission", sub="commission-1")
BODIES: list[type[BaseModel]] = [
    FindingCreate,
    SubmissionCreate,
    FollowUpCheckCreate,
    DeadlineChangeCreate,
    CampaignCreate,
    AccountabilityCreate,
]
Create = tuple[str, dict[str, Any], dict[str, str], Any]  # url, body, headers, the table a create adds to


@pytest.fixture
async def api(sqlite_url: Any) -> Any:
    async with running_app("audit", await sqlite_url("audit")) as (app, client):
        app.dependency_overrides[request_time] = lambda: NOW + timedelta(days=1)
        yield app, client


async def a_finding(app: Any, client: Any) -> Create:
    return "/v1/findings", FindingCreate.example, INSPECTOR, Finding


async def a_campaign(app: Any, client: Any) -> Create:
    return "/v1/campaigns", CampaignCreate.example, DISTRICT, InspectionCampaign


async def a_decision(app: Any, client: Any) -> Create:
    await open_task(app.state.sessions, facts("h1", grade="D"))
    referral = (await client.get("/v1/referrals", headers=COMMISSION)).json()["items"][0]
    body = {**AccountabilityCreate.example, "decided_on": "2020-05-12"}
    return f"/v1/referrals/{referral['id']}/accountability-actions", body, COMMISSION, AccountabilityAction


async def a_submission(app: Any, client: Any) -> Create:
    _, task = await open_task(app.state.sessions)
    await client.post(f"/v1/rectification-tasks/{task.id}/start", headers=DISTRICT)
    return f"/v1/rectification-tasks/{task.id}/submissions", SubmissionCreate.example, DISTRICT, RectificationSubmission


async def a_check(app: Any, client: Any) -> Create:
    url, body, headers, _ = await a_submission(app, client)
    assert (await client.post(url, json=body, headers=headers)).status_code == 201
    return url.replace("submissions", "follow-up-checks"), FollowUpCheckCreate.example, INSPECTOR, FollowUpCheck


async def a_deadline_change(app: Any, client: Any) -> Create:
    _, task = await open_task(app.state.sessions)
    body = {**DeadlineChangeCreate.example, "deadline": (task.deadline + timedelta(days=5)).isoformat()}
    return f"/v1/rectification-tasks/{task.id}/deadline-changes", body, DISTRICT, DeadlineChange


CREATES = [a_finding, a_campaign, a_decision, a_submission, a_check, a_deadline_change]


async def recorded(app: Any, table: Any) -> tuple[int, ...]:
    async with app.state.sessions() as s:
        return tuple([await count(s, model) for model in (table, OutboxMessage, LedgerEntry, IdempotentRequest)])


@pytest.mark.parametrize("create", CREATES, ids=lambda c: c.__name__)
async def test_a_retried_create_answers_the_first_result_and_records_nothing_again(
    api: Any, create: Callable[[Any, Any], Awaitable[Create]]
) -> None:
    app, client = api
    url, body, headers, table = await create(app, client)
    keyed = {**headers, "Idempotency-Key": f"retry-{uuid.uuid4()}"}
    first = await client.post(url, json=body, headers=keyed)
    assert first.status_code == 201 and "Idempotency-Replayed" not in first.headers, first.text
    after_first = await recorded(app, table)
    again = await client.post(url, json=body, headers=keyed)
    assert (again.status_code, again.headers["Idempotency-Replayed"], again.json()) == (200, "true", first.json())
    assert await recorded(app, table) == after_first
    text = next(field for field in ("description", "name", "notes", "summary", "reason") if field in body)
    changed = {**body, text: "另一份记录: 内容不同"}
    assert_problem(await client.post(url, json=changed, headers=keyed), 409)
    assert await recorded(app, table) == after_first


async def test_a_repeat_without_a_key_is_still_an_occurrence_and_a_keyed_retry_is_not(api: Any) -> None:
    app, client = api
    keyed = {**INSPECTOR, "Idempotency-Key": "inspection-2020-05-12-017"}
    first = await client.post("/v1/findings", json=FindingCreate.example, headers=keyed)
    retried = await client.post("/v1/findings", json=FindingCreate.example, headers=keyed)
    assert (retried.status_code, retried.json()["occurrences"]) == (200, 1)
    repeat = await client.post("/v1/findings", json=FindingCreate.example, headers=INSPECTOR)
    assert (repeat.status_code, repeat.json()["id"], repeat.json()["occurrences"]) == (200, first.json()["id"], 2)
    assert "Idempotency-Replayed" not in repeat.headers
    async with app.state.sessions() as s:
        assert await count(s, Finding) == 1


def documented(app: Any, model: type[BaseModel]) -> jsonschema.Draft202012Validator:
    """A validator of the body as the OpenAPI document states it (formats checked)."""
    doc = app.openapi()
    schema = {"$ref": f"#/components/schemas/{model.__name__}", "components": doc["components"]}
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


@pytest.mark.parametrize("model", BODIES, ids=lambda m: m.__name__)
async def test_every_body_example_is_valid_for_the_service_and_the_document(api: Any, model: type[BaseModel]) -> None:
    app, _ = api
    example = model.example  # type: ignore[attr-defined]
    model.model_validate(example)
    documented(app, model).validate(example)


FINDING = FindingCreate.example
CAMPAIGN = CampaignCreate.example


@pytest.mark.parametrize(
    ("url", "body", "headers", "valid"),
    [
        ("/v1/findings", {**FINDING, "subject_kind": "payment", "subject_id": "payment-17"}, INSPECTOR, False),
        ("/v1/findings", {**FINDING, "subject_kind": "project", "subject_id": "西沟村光伏电站"}, INSPECTOR, False),
        ("/v1/findings", {**FINDING, "subject_kind": "unit", "subject_id": "贾寨镇扶贫办"}, INSPECTOR, True),
        ("/v1/findings", {**FINDING, "subject_kind": "payment", "subject_id": str(uuid.uuid4())}, INSPECTOR, True),
        ("/v1/campaigns", {**CAMPAIGN, "scope_level": "village", "scope_code": VILLAGE}, DISTRICT, False),
        ("/v1/campaigns", {**CAMPAIGN, "kind": "self_assessment", "scope_code": VILLAGE}, DISTRICT, False),
        ("/v1/campaigns", {**CAMPAIGN, "kind": "self_assessment", "scope_level": "district"}, DISTRICT, False),
        ("/v1/campaigns", {**CAMPAIGN, "kind": "follow_up_check", "scope_level": "project"}, DISTRICT, False),
        (
            "/v1/campaigns",
            {**CAMPAIGN, "kind": "self_assessment", "scope_level": "district", "scope_code": "371523"},
            DISTRICT,
            True,
        ),
        (
            "/v1/campaigns",
            {**CAMPAIGN, "kind": "follow_up_check", "scope_level": "project", "scope_code": str(uuid.uuid4())},
            DISTRICT,
            True,
        ),
    ],
)
async def test_the_document_states_which_fields_go_together(
    api: Any, url: str, body: dict[str, Any], headers: dict[str, str], valid: bool
) -> None:
    app, client = api
    model = FindingCreate if url == "/v1/findings" else CampaignCreate
    assert documented(app, model).is_valid(body) is valid
    response = await client.post(url, json=body, headers=headers)
    if valid:
        assert response.status_code == 201, response.text
    else:
        assert_problem(response, 422)
