"""An event's strings are no longer than the columns its consumers keep them in: a value too long is refused when the
event is read (dead-lettered on its first attempt as malformed), not by the database after every retry.

`STORED` is the map from a contract's field to the column a consumer writes it to, as the handlers do (audit's
findings from the problem events, households' and projects' open findings from `FindingRecorded`, subsidies' facts,
households' transfer receipts and approvals). `COMPOSED` holds the fields that reach a column only inside a text a
handler composes (audit's finding for a subsidy coverage gap or leak: its description and `unpaid_<policy>` code):
each is bounded as its value is where it is kept as such, and the text composed of the longest values fits."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from types import UnionType
from typing import Any, Union, cast, get_args, get_origin

import pytest
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from services.audit import events
from services.audit.domain import findings
from services.audit.handlers import build_handlers
from services.audit.models import Finding, KnownHousehold
from services.audit.rules.findings import ProblemFacts
from services.audit.settings import AuditSettings
from services.households.models import ApprovalRecord, HouseholdOpenFinding, TransferReceipt
from services.projects.models import ProjectOpenFinding, RollHousehold
from services.subsidies.models import HouseholdFacts, MemberFacts
from shared.contracts import IntegrationEvent
from shared.contracts.audit import FindingRecorded
from shared.contracts.households import (
    HouseholdProblemFound,
    HouseholdRegistered,
    HouseholdUpdated,
    MemberAdded,
    MemberSchoolingChanged,
    VisitRecorded,
)
from shared.contracts.projects import IncomeDistributionApproved, PayrollApproved, ProjectProblemFound
from shared.contracts.subsidies import (
    CycleApproved,
    SubsidyCoverageGap,
    SubsidyLeakFound,
    SubsidyPaid,
    SubsidyPaymentCorrected,
)
from shared.messaging.cloudevents import Envelope
from tests.support import household_problem

Column = tuple[type[SQLModel], str]
FINDING_RESPONSIBLE: dict[str, Column] = {
    "responsible.person_id": (Finding, "responsible_person_id"),
    "responsible.name": (Finding, "responsible_person"),
    "responsible.unit": (Finding, "responsible_unit"),
}
PROBLEM: dict[str, Column] = {
    "area_code": (Finding, "area_code"),
    "code": (Finding, "code"),
    "description": (Finding, "description"),
    **FINDING_RESPONSIBLE,
}
STORED: dict[type[IntegrationEvent], dict[str, Column]] = {
    HouseholdProblemFound: PROBLEM,
    ProjectProblemFound: PROBLEM,
    SubsidyCoverageGap: {"area_code": (Finding, "area_code"), **FINDING_RESPONSIBLE},
    SubsidyLeakFound: {"area_code": (Finding, "area_code"), **FINDING_RESPONSIBLE},
    FindingRecorded: {
        "code": (HouseholdOpenFinding, "code"),
        "description": (HouseholdOpenFinding, "description"),
    },
    HouseholdRegistered: {
        "area_code": (HouseholdFacts, "area_code"),
    },
    HouseholdUpdated: {"area_code": (KnownHousehold, "area_code")},
    VisitRecorded: {"area_code": (KnownHousehold, "area_code")},
    MemberAdded: {
        "relationship_to_head": (MemberFacts, "relationship_to_head"),
        "name_masked": (MemberFacts, "name_masked"),
        "id_masked": (MemberFacts, "id_masked"),
    },
    MemberSchoolingChanged: {
        "enrolment": (MemberFacts, "enrolment"),
        "school_stage": (MemberFacts, "school_stage"),
    },
    SubsidyPaid: {"policy_code": (TransferReceipt, "policy_code"), "period": (TransferReceipt, "period")},
    SubsidyPaymentCorrected: {"policy_code": (TransferReceipt, "policy_code"), "period": (TransferReceipt, "period")},
    CycleApproved: {
        "approved_by": (ApprovalRecord, "approved_by"),
        "programme_code": (ApprovalRecord, "programme"),
        "period": (ApprovalRecord, "period"),
    },
    IncomeDistributionApproved: {"approved_by": (ApprovalRecord, "approved_by"), "period": (ApprovalRecord, "period")},
    PayrollApproved: {"approved_by": (ApprovalRecord, "approved_by"), "period": (ApprovalRecord, "period")},
}
# A policy code and a period are kept as such in households' transfer receipts; audit puts them into a finding's text.
COMPOSED: dict[type[IntegrationEvent], dict[str, Column]] = {
    SubsidyCoverageGap: {"policy_code": (TransferReceipt, "policy_code"), "period": (TransferReceipt, "period")},
    SubsidyLeakFound: {"policy_code": (TransferReceipt, "policy_code"), "period": (TransferReceipt, "period")},
}
# The same value lands in more than one consumer's column: the narrowest decides.
ALSO_STORED: list[tuple[type[IntegrationEvent], str, Column]] = [
    (FindingRecorded, "code", (ProjectOpenFinding, "code")),
    (FindingRecorded, "description", (ProjectOpenFinding, "description")),
    (HouseholdRegistered, "area_code", (RollHousehold, "area_code")),
    (HouseholdRegistered, "area_code", (KnownHousehold, "area_code")),
]
KEPT = {**STORED, **{event: {**STORED.get(event, {}), **fields} for event, fields in COMPOSED.items()}}
CASES = [(event, name, column) for event, fields in KEPT.items() for name, column in fields.items()] + ALSO_STORED


def _field(model: type[BaseModel], dotted: str) -> Any:
    """The pydantic field named by `a.b` (a field of the model a field holds, optional or not)."""
    head, _, rest = dotted.partition(".")
    field = model.model_fields[head]
    if not rest:
        return field
    nested = [a for a in (get_args(field.annotation) or (field.annotation,)) if isinstance(a, type)]
    inner = next(a for a in nested if issubclass(a, BaseModel))
    return _field(inner, rest)


def _longest(field: Any) -> int | None:
    """The longest string the field accepts: its `max_length`, else the widest match of an anchored pattern."""
    lengths = [m.max_length for m in field.metadata if getattr(m, "max_length", None) is not None]
    patterns = [m.pattern for m in field.metadata if getattr(m, "pattern", None)]
    widths = [
        re._parser.parse(p).getwidth()[1]  # type: ignore[attr-defined]
        for p in patterns
        if p.startswith("^") and p.endswith("$")
    ]
    bounds = [n for n in lengths + widths if n < re._constants.MAXREPEAT]  # type: ignore[attr-defined]
    return min(bounds) if bounds else None


def _is_text(field: Any) -> bool:
    annotation = field.annotation
    options = get_args(annotation) if get_origin(annotation) in (Union, UnionType) else (annotation,)
    return str in options


@pytest.mark.parametrize(
    ("event", "name", "column"), CASES, ids=[f"{e.__name__}.{n}->{c[0].__name__}.{c[1]}" for e, n, c in CASES]
)
def test_a_stored_string_is_bounded_by_its_column(event: type[IntegrationEvent], name: str, column: Column) -> None:
    field = _field(event, name)
    assert _is_text(field), f"{event.__name__}.{name} is not a string"
    model, attribute = column
    length = model.__table__.c[attribute].type.length  # type: ignore[attr-defined]
    assert length is not None, f"{model.__name__}.{attribute} is not a bounded column"
    longest = _longest(field)
    assert longest is not None, f"{event.__name__}.{name} has no length limit; its column holds {length}"
    assert longest <= length, f"{event.__name__}.{name} allows {longest} characters; its column holds {length}"


def test_a_value_longer_than_its_column_is_refused_when_the_event_is_read() -> None:
    """The limit holds where a consumer reads the event: validating its JSON."""
    event = household_problem(uuid.uuid4())
    for name, length in (("area_code", 12), ("code", 60), ("description", 1000)):
        data = event.model_dump(mode="json") | {name: "3" * (length + 1)}
        with pytest.raises(ValidationError) as refused:
            HouseholdProblemFound.model_validate_json(json.dumps(data))
        assert [e["loc"] for e in refused.value.errors()] == [(name,)]


@pytest.mark.parametrize("contract", [SubsidyCoverageGap, SubsidyLeakFound])
async def test_a_findings_text_composed_of_the_longest_values_fits_its_columns(
    contract: type[SubsidyCoverageGap | SubsidyLeakFound], monkeypatch: pytest.MonkeyPatch
) -> None:
    recorded: list[ProblemFacts] = []

    async def record_finding(_: Any, facts: ProblemFacts, **__: Any) -> None:
        recorded.append(facts)

    monkeypatch.setattr(findings, "record_finding", record_finding)
    monkeypatch.setattr(events, "log_received", lambda *_: None)
    longest = {"policy_code": "p" * 60, "period": "2026-S1", "area_code": "3" * 12}
    common = {"household_id": uuid.uuid4(), "check_id": uuid.uuid4(), **longest}
    if contract is SubsidyLeakFound:
        common |= {"leak_id": uuid.uuid4(), "payment_id": uuid.uuid4(), "kind": "paid_not_entitled"}
        common |= {"detail": "d" * 500}
    else:
        common |= {"member_id": uuid.uuid4()}
    event = contract.model_validate(common)
    envelope = Envelope(
        id=str(uuid.uuid4()), type=event.event_type, source="/subsidies", subject=event.aggregate_id(),
        time=datetime.now(UTC), data=event.model_dump_json().encode(),
    )  # fmt: skip
    application = build_handlers(AuditSettings(database_url="unused")).bind(event.topic, envelope)
    assert application is not None
    await application(cast(AsyncSession, None))
    [facts] = recorded
    for text, (model, attribute) in ((facts.description, (Finding, "description")), (facts.code, (Finding, "code"))):
        assert len(text) <= model.__table__.c[attribute].type.length  # type: ignore[attr-defined]
