"""Free text of the subsidies API never keeps a bank account number: every reason, note and document is refused
(422 naming the field) when one is typed into it, whole or in groups, and the refusal never repeats it."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest

from services.subsidies.schemas.batches import BankFileRequest
from services.subsidies.schemas.corrections import CorrectionCreate
from services.subsidies.schemas.cycles import ObjectionCreate, ObjectionDecisionCreate
from services.subsidies.schemas.programmes import FundCreate, ProgrammeCreate, VersionCreate
from shared.schemas import RequestBody
from tests.support import assert_problem, auth, running_app

FINANCE = auth("finance_officer", sub="cashier-1")
DISTRICT = auth("district_office", sub="district-1")
ACCOUNTS = ["6217 0000 1234 5678 901", "6217-0000-1234-5678", "6217000012345"]
SOME = uuid4()

# (path, the body's model, the field holding free text, who may post it)
FIELDS: list[tuple[str, type[RequestBody], str, dict[str, str]]] = [
    (f"/v1/batches/{SOME}/bank-file", BankFileRequest, "reason", FINANCE),
    (f"/v1/payments/{SOME}/corrections", CorrectionCreate, "reason", FINANCE),
    (f"/v1/cycles/{SOME}/objections", ObjectionCreate, "grounds", FINANCE),
    (f"/v1/cycles/{SOME}/objections/{SOME}/decision", ObjectionDecisionCreate, "note", FINANCE),
    ("/v1/programmes/dibao/funds", FundCreate, "source", DISTRICT),
    ("/v1/programmes/dibao/versions", VersionCreate, "reason", DISTRICT),
    ("/v1/programmes", ProgrammeCreate, "reason", DISTRICT),
    ("/v1/programmes", ProgrammeCreate, "funding_source", DISTRICT),
    ("/v1/programmes", ProgrammeCreate, "name", DISTRICT),
]


@pytest.fixture
async def client(sqlite_url: Any) -> Any:
    async with running_app("subsidies", await sqlite_url("subsidies")) as (_, client):
        yield client


@pytest.mark.parametrize(("path", "model", "field", "headers"), FIELDS, ids=lambda v: getattr(v, "__name__", None))
async def test_an_account_number_in_free_text_is_refused_naming_the_field(
    client: Any, path: str, model: type[RequestBody], field: str, headers: dict[str, str]
) -> None:
    assert model.example is not None
    for account in ACCOUNTS:
        body = {**model.example, field: f"卡号 {account} 户名更正"}
        response = await client.post(path, json=body, headers=headers)
        problem = assert_problem(response, 422)
        assert [e["field"] for e in problem["errors"]] == [f"body.{field}"]
        assert "bank account number" in problem["errors"][0]["message"]
        assert account not in response.text and account.replace(" ", "").replace("-", "") not in response.text
