"""One valid example of every event, built from its contract: what the AsyncAPI document shows each message as.

Values come by field name in the district's terms (an area code of 371523, dates in 2020); a field no name here
covers gets a value from its JSON schema (an enum's first member, a number within its bounds). Ids are fixed
(uuid5 of the field's name), so a household's id is the same in every example that names it. The contract
validates the result: an example that does not pass its own contract raises here, and in the tests.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from shared.contracts import IntegrationEvent

DISTRICT_TIME = timezone(timedelta(hours=8))
EXAMPLE_DAY = date(2020, 5, 12)
EXAMPLE_TIME = datetime(2020, 5, 12, 9, 30, tzinfo=DISTRICT_TIME)
OFFICER = "wang.wu"  # a token's subject: who did it

# By field name, whatever the contract.
BY_NAME: dict[str, Any] = {
    "area_code": "371523101201",
    "scope_code": "371523101",
    "household_code": "CP-1",
    "member_count": 3,
    "code": "housing_unsafe",
    "description": "住房安全鉴定为D级（整体危险）",
    "housing_grade": "D",
    "grade": "D",
    "new_grade": "B",
    "changed": ["area_code"],
    "reason": "officer_decision",
    "relationship_to_head": "spouse",
    "birth_date": date(1962, 8, 1),
    "disability_type": "physical",
    "enrolment": "dropped_out",
    "school_stage": "junior_secondary",
    "problems": ["fluoride"],
    "year": 2020,
    "round": 2,
    "source": "wages",
    "amount_fen": 120_000,
    "per_capita_income_fen": 420_000,
    "line_fen": 400_000,
    "monitoring_margin_fen": 100_000,
    "budget_fen": 50_000_000,
    "row_count": 120,
    "applied_count": 118,
    "error_count": 2,
    "problem_count": 1,
    "occurrences": 2,
    "evidence_count": 3,
    "period": "2020-05",
    "policy_code": "dibao",
    "name": "王庄扶贫大棚",
    "subject_id": str(uuid5(NAMESPACE_URL, "household_id")),
    "responsible": {"person_id": "jiazhai-li", "name": "李明", "unit": "贾寨镇王庄村", "role": "helper_cadre"},
    "owner": "township_office:371523101",
    "deadline": EXAMPLE_TIME + timedelta(days=7),
    "previous_deadline": EXAMPLE_TIME + timedelta(days=15),
    "renovation_due": date(2020, 11, 30),
    "ends_on": date(2020, 6, 30),
    "entry_hash": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
}
# Where one name means different things in different events.
BY_CONTRACT: dict[tuple[str, str], Any] = {
    ("MemberDisabilityRecorded", "grade"): 2,
    ("HouseholdStatusChanged", "from_status"): "in_poverty",
    ("HouseholdStatusChanged", "to_status"): "exited_receiving_policies",
    ("HouseholdStatusChanged", "reason"): "officer_decision",
    ("IdCardRevealed", "reason"): "subsidy bank account check",
    ("DisciplineReferralMade", "reason"): "severe finding",
    ("MonitoringMeasureTaken", "kind"): "medical_assistance",
    ("ProjectRegistered", "kind"): "greenhouse",
    ("DepartmentDataReceived", "kind"): "civil_affairs",
    ("ProjectProblemFound", "code"): "asset_idle",
    ("ProjectProblemFound", "description"): "大棚闲置未运营",
    ("MemberUpdated", "changed"): ["relationship_to_head"],
    ("MemberAdded", "name_masked"): "李*",
    ("MemberAdded", "id_masked"): "3715**********0023",
    ("MinimumAllowanceChanged", "status"): "dibao",
    ("WaterChecked", "safe"): False,
    ("FindingRecorded", "severity"): "severe",
    ("InspectionCampaignOpened", "scope_level"): "township",
    ("SubsidyLeakFound", "detail"): "the rule did not entitle the holder: household.allowance is none (must be dibao)",
    ("BankFileExported", "encoding"): "gbk",
    ("BankFileExported", "checksum"): "3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b",
    ("BankFileExported", "reason"): "2020年6月低保代发, 报送农商行",
    ("BankFileExported", "line_count"): 279,
    ("BankFileExported", "total_fen"): 7_198_200,
    ("ProjectStatusChanged", "from_status"): "completed",
    ("ProjectStatusChanged", "to_status"): "accepted",
    ("AssetRegistered", "owner_area_code"): "371523101201",
    ("AssetRegistered", "value_fen"): 150_000_000,
    ("AssetRegistered", "agreed_return_bp"): 800,
    ("ProjectProblemFound", "severity"): "severe",
    ("IncomeDistributionApproved", "owner_area_code"): "371523101201",
    ("IncomeDistributionApproved", "shares"): [
        {"household_id": uuid5(NAMESPACE_URL, "household_id"), "amount_fen": 60_000},
        {"household_id": uuid5(NAMESPACE_URL, "another household_id"), "amount_fen": 40_000},
    ],
    ("DistributionPlanStatusChanged", "from_status"): "reviewed",
    ("DistributionPlanStatusChanged", "to_status"): "approved",
    ("DistributionPlanStatusChanged", "owner_area_code"): "371523101201",
    ("PayrollStatusChanged", "from_status"): "prepared",
    ("PayrollStatusChanged", "to_status"): "approved",
    ("PayrollStatusChanged", "total_fen"): 1_800_000,
    ("ProjectSpendingRecorded", "source"): "district",
    ("ProjectSpendingRecorded", "amount_fen"): 38_000_000,
    ("PostHolderChanged", "started_on"): date(2020, 3, 1),
    ("PayrollApproved", "lines"): [
        {
            "household_id": uuid5(NAMESPACE_URL, "household_id"),
            "member_id": uuid5(NAMESPACE_URL, "member_id"),
            "post_id": uuid5(NAMESPACE_URL, "post_id"),
            "amount_fen": 90_000,
        }
    ],
}


def example_event(contract: type[IntegrationEvent]) -> IntegrationEvent:
    """A valid instance of `contract` (ValidationError if the values above no longer fit it)."""
    schema = contract.model_json_schema()
    definitions = schema.get("$defs", {})
    values = {field: BY_CONTRACT.get((contract.__name__, field), BY_NAME.get(field)) for field in schema["properties"]}
    for field, prop in schema["properties"].items():
        if values[field] is None:
            values[field] = _from_schema(field, prop, definitions)
    return contract.model_validate(values)


def _from_schema(field: str, schema: dict[str, Any], definitions: dict[str, Any]) -> Any:
    while "$ref" in schema or "anyOf" in schema:  # an enum's definition; an optional field, shown present
        ref = schema.get("$ref")
        schema = (
            definitions[ref.rsplit("/", 1)[-1]] if ref else next(s for s in schema["anyOf"] if s.get("type") != "null")
        )
    if "enum" in schema:
        return schema["enum"][0]
    if schema.get("format") == "uuid":
        return uuid5(NAMESPACE_URL, field)
    by_kind = {
        "date": EXAMPLE_DAY,
        "date-time": EXAMPLE_TIME,
        "integer": max(schema.get("minimum", 1), schema.get("exclusiveMinimum", 0) + 1),
        "boolean": True,
        "string": OFFICER,  # the remaining free strings name who acted: found_by, changed_by, verified_by, ...
    }
    kind = schema.get("format") or schema.get("type")
    if kind not in by_kind:
        raise ValueError(f"no example value for {field}: {schema}")
    return by_kind[kind]


def example_key(event: IntegrationEvent) -> tuple[str, str | None]:
    """The example's Kafka key and the field it comes from (None when the key is not one field's value)."""
    key = event.aggregate_id()
    field = next((name for name, value in event if isinstance(value, UUID) and str(value) == key), None)
    return key, field
