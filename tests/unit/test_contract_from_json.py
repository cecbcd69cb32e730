"""`IntegrationEvent.from_json`, how a consumer reads an event's payload: what `model_validate_json` reads, with the
rule on control characters judged on the raw bytes, and a payload that could hold one refused with the field named."""

from __future__ import annotations

import json
import uuid

import pytest
from pydantic import ValidationError

from shared.contracts import registered_types
from shared.contracts.accountability import ResponsibleRole
from shared.contracts.audit import FindingRecorded, Severity, SubjectKind
from shared.contracts.households import ProblemCategory
from tests.unit.test_backbone_units import CONTRACT_TEXT_FIELDS, contract_sample

# How a refused character can reach a payload's JSON: escaped (either case of hex digit), or a raw DEL.
REFUSED = [r"\u0000", r"\u0001", r"\u001F", r"\u001f", r"\u007f", r"\u007F", r"\b", r"\f", "\x7f"]
# What must still pass: allowed escapes, characters escaped that are no control, raw text of the district's.
ALLOWED = [r"\n", r"\t", r"\r", r"\"", "\\\\", r"\/", r"\u00e9", r"\u4e61", r"\u0020", "耿店村 (冯屯镇)", r"\\b"]


def payload(event_type: str, field: str, written: str) -> bytes:
    """A valid payload of the contract with `field`'s JSON text replaced by `"a<written>b"` as written."""
    sample = contract_sample(registered_types()[event_type])
    marker = f"marker-{uuid.uuid4().hex}"
    return json.dumps({**sample, field: marker}, ensure_ascii=False).replace(marker, f"a{written}b").encode()


@pytest.mark.parametrize(("event_type", "field"), CONTRACT_TEXT_FIELDS)
def test_every_contract_reads_its_payload_as_model_validate_json_does(event_type: str, field: str) -> None:
    contract = registered_types()[event_type]
    for written in ALLOWED:
        data = payload(event_type, field, written)
        try:
            expected = contract.model_validate_json(data)
        except ValidationError as refused:  # a field with a pattern or a length: refused alike
            with pytest.raises(ValidationError) as also:
                contract.from_json(data)
            assert also.value.errors() == refused.errors()
            continue
        read = contract.from_json(data)
        assert type(read) is contract and read == expected


@pytest.mark.parametrize(("event_type", "field"), CONTRACT_TEXT_FIELDS)
def test_every_contract_refuses_a_control_character_however_its_json_writes_it(event_type: str, field: str) -> None:
    contract = registered_types()[event_type]
    for written in REFUSED:
        with pytest.raises(ValidationError, match="control characters") as refused:
            contract.from_json(payload(event_type, field, written))
        assert refused.value.errors()[0]["loc"] == (field,), written


def finding(**changes: object) -> bytes:
    event = FindingRecorded(
        finding_id=uuid.uuid4(),
        subject_kind=SubjectKind.HOUSEHOLD,
        subject_id=str(uuid.uuid4()),
        area_code="371523101201",
        category=ProblemCategory.HOUSING,
        code="housing_unsafe",
        severity=Severity.SEVERE,
        description="危房 (D级)",
    )
    return json.dumps({**json.loads(event.model_dump_json()), **changes}, ensure_ascii=False).encode()


def test_a_control_character_in_a_nested_model_is_refused_too() -> None:
    responsible = {"person_id": "u1", "name": "王\u0000五", "unit": "371523101", "role": ResponsibleRole.VILLAGE_CADRE}
    with pytest.raises(ValidationError, match="control characters") as refused:
        FindingRecorded.from_json(finding(responsible=responsible))
    assert refused.value.errors()[0]["loc"][0] == "responsible"


@pytest.mark.parametrize(
    "data",
    [b"", b"not json", b"[]", b'{"finding_id": 1}', finding(severity="unheard of"), finding(unknown_field="x")],
)
def test_what_is_no_event_is_refused_as_model_validate_json_refuses_it(data: bytes) -> None:
    with pytest.raises(ValidationError) as expected:
        FindingRecorded.model_validate_json(data)
    with pytest.raises(ValidationError) as refused:
        FindingRecorded.from_json(data)
    assert refused.value.errors() == expected.value.errors()
