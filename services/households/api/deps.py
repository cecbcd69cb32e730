"""What the routes share: who may call them, the service's configuration, and turning rows into bodies."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response
from pydantic import BaseModel, SecretStr, TypeAdapter
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from services.households.domain import reads
from services.households.models import Household, Member
from services.households.schemas.households import HouseholdRead, MemberRead
from services.households.settings import HouseholdsConfig
from shared.api.pagination import Page
from shared.areas import AreaCode
from shared.auth import Principal, Role, require_roles
from shared.errors import InvalidInput
from shared.openapi import AREA_RULE_KEY

R = Role


async def households_config(request: Request) -> HouseholdsConfig:
    """The configuration the app was built with."""
    config: HouseholdsConfig = request.app.state.households_config
    return config


Config = Annotated[HouseholdsConfig, Depends(households_config)]


async def known_area_filter(config: Config, area_code: Annotated[AreaCode | None, Query()] = None) -> str | None:
    """The `area_code` a list or statistics are asked for, refused unless it is the district or lies in one of its
    townships: another district's code would answer with nothing, as if the area had no households."""
    if area_code is not None and not config.is_known_area(area_code):
        raise InvalidInput(
            "The area code is not a known township or village of this district.",
            errors=[{"field": "query.area_code", "message": "not an area of this district", "code": "unknown_area"}],
        )
    return area_code


AreaFilter = Annotated[str | None, Depends(known_area_filter)]
# 建档立卡: district, township and village officers register and maintain households (and appraise their houses).
REGISTRARS = frozenset({R.DISTRICT_OFFICE, R.TOWNSHIP_OFFICE, R.VILLAGE_CADRE})
Registrar = Annotated[Principal, Depends(require_roles(R.DISTRICT_OFFICE, R.TOWNSHIP_OFFICE, R.VILLAGE_CADRE))]
# A death (死亡注销) is recorded by the registrars or reported by civil affairs (民政殡葬).
DeathRegistrar = Annotated[
    Principal,
    Depends(require_roles(R.DISTRICT_OFFICE, R.TOWNSHIP_OFFICE, R.VILLAGE_CADRE, R.DEPT_CIVIL_AFFAIRS)),
]
# Income and help measures are also collected by helper cadres (帮扶责任人).
Helper = Annotated[
    Principal, Depends(require_roles(R.DISTRICT_OFFICE, R.TOWNSHIP_OFFICE, R.VILLAGE_CADRE, R.HELPER_CADRE))
]
Visitor = Annotated[
    Principal,
    Depends(require_roles(R.DISTRICT_OFFICE, R.TOWNSHIP_OFFICE, R.VILLAGE_CADRE, R.HELPER_CADRE, R.INSPECTOR)),
]
# Status decisions (脱贫/返贫), episode closing and cadre registration: district and township offices.
Approver = Annotated[Principal, Depends(require_roles(R.DISTRICT_OFFICE, R.TOWNSHIP_OFFICE))]
District = Annotated[Principal, Depends(require_roles(R.DISTRICT_OFFICE))]
# Who may see a full ID-card number (each time recorded with a reason).
Revealer = Annotated[
    Principal,
    Depends(require_roles(R.DISTRICT_OFFICE, R.TOWNSHIP_OFFICE, R.VILLAGE_CADRE, R.DISCIPLINE_COMMISSION)),
]
RevealAuditor = Annotated[Principal, Depends(require_roles(R.DISTRICT_OFFICE, R.DISCIPLINE_COMMISSION, R.AUDITOR))]
# The power-holder register and the integrity checks' hits (优亲厚友, 数据比对): who oversees conduct reads them.
IntegrityReader = Annotated[
    Principal,
    Depends(require_roles(R.DISTRICT_OFFICE, R.TOWNSHIP_OFFICE, R.DISCIPLINE_COMMISSION, R.AUDITOR)),
]
Reader = Annotated[
    Principal,
    Depends(
        require_roles(
            R.DISTRICT_OFFICE,
            R.TOWNSHIP_OFFICE,
            R.VILLAGE_CADRE,
            R.HELPER_CADRE,
            R.INSPECTOR,
            R.AUDITOR,
            R.DISCIPLINE_COMMISSION,
            R.SERVICE,
        )
    ),
]
StatisticsReader = Annotated[
    Principal,
    Depends(
        require_roles(
            R.DISTRICT_OFFICE, R.TOWNSHIP_OFFICE, R.VILLAGE_CADRE, R.INSPECTOR, R.AUDITOR, R.DISCIPLINE_COMMISSION
        )
    ),
]
# 行业部门: each department's service account submits only its own kinds of data.
CivilAffairs = Annotated[Principal, Depends(require_roles(R.DEPT_CIVIL_AFFAIRS))]
HealthDepartment = Annotated[Principal, Depends(require_roles(R.DEPT_HEALTH))]
EducationDepartment = Annotated[Principal, Depends(require_roles(R.DEPT_EDUCATION))]
DisabilityFederation = Annotated[Principal, Depends(require_roles(R.DEPT_DISABILITY))]
WaterDepartment = Annotated[Principal, Depends(require_roles(R.DEPT_WATER))]
HousingDepartment = Annotated[Principal, Depends(require_roles(R.DEPT_HOUSING))]
MarketRegulation = Annotated[Principal, Depends(require_roles(R.DEPT_MARKET_REGULATION))]
TrafficPolice = Annotated[Principal, Depends(require_roles(R.DEPT_TRAFFIC_POLICE))]
PublicPayroll = Annotated[Principal, Depends(require_roles(R.DEPT_PUBLIC_PAYROLL))]

# Operations on a household that helper cadres may call: their reach is their assignment, not only their area.
HOUSEHOLD_REACH = {
    AREA_RULE_KEY: "**Area rule:** `township_office` and `village_cadre` act only within the area of their token "
    "(`area` claim, reaching every code it prefixes); `helper_cadre` reaches, within that area, the households "
    "assigned to them and those not yet assigned to anyone. A household beyond reach is refused with 403, and lists "
    "hold only what is within reach."
}


# Each body field and the column it is read from: only these are ever read for an answer (never the sealed number).
MEMBER_COLUMNS = {field: "id_masked" if field == "id_number_masked" else field for field in MemberRead.model_fields}
HOUSEHOLD_COLUMNS = {field: field for field in HouseholdRead.model_fields if field != "members"}
HOUSEHOLD_SOURCES = tuple(HOUSEHOLD_COLUMNS.values())
MEMBER_SOURCES = tuple(MEMBER_COLUMNS.values())
_HOUSEHOLD_FIELDS, _MEMBER_FIELDS = tuple(HOUSEHOLD_COLUMNS), tuple(MEMBER_COLUMNS)
# The response models' serializers, which FastAPI would use: the read routes hand it the bytes (`json_response`).
HOUSEHOLD_JSON = TypeAdapter(HouseholdRead)
HOUSEHOLD_PAGE_JSON = TypeAdapter(Page[HouseholdRead])


def member_read(member: Member | Row[Any]) -> MemberRead:
    """A member's body from the member or from a row of `MEMBER_COLUMNS`."""
    return MemberRead.model_validate({field: getattr(member, column) for field, column in MEMBER_COLUMNS.items()})


def household_body(household: Sequence[Any], members: Iterable[Sequence[Any]]) -> HouseholdRead:
    """A household's body from the values of `HOUSEHOLD_SOURCES` and its members' of `MEMBER_SOURCES`, validated
    once as a whole (members included)."""
    return HouseholdRead.model_validate(
        dict(zip(_HOUSEHOLD_FIELDS, household, strict=True))
        | {"members": [dict(zip(_MEMBER_FIELDS, m, strict=True)) for m in members]}
    )


async def household_reads(session: AsyncSession, households: Sequence[Household]) -> list[HouseholdRead]:
    """Bodies of households a use case holds as objects (writes answer with them), with their members (masked ID
    numbers) read in one query."""
    members = await reads.member_rows(session, [h.id for h in households], MEMBER_SOURCES)
    return [
        household_body([getattr(h, c) for c in HOUSEHOLD_SOURCES], (m[1:] for m in members.get(h.id, ())))
        for h in households
    ]


async def household_read(session: AsyncSession, household: Household) -> HouseholdRead:
    return (await household_reads(session, [household]))[0]


def json_response(adapter: TypeAdapter[Any], body: Any) -> Response:
    """The response FastAPI would make of `body` for a route whose response model `adapter` serializes, less
    FastAPI validating the body a second time and looking up the serializer on each request."""
    return Response(adapter.dump_json(body), media_type="application/json")


class NumberedRequest(BaseModel):
    """A request as its Idempotency-Key remembers it: the body (which dumps ID-card numbers masked) and the keyed
    hashes of its numbers, so that a retry with another number is another request (a 409), and no stored digest can
    be brute-forced back to a number."""

    body: Any
    id_hashes: list[str | None]


def numbered(body: BaseModel, numbers: Iterable[SecretStr | None], config: HouseholdsConfig) -> NumberedRequest:
    hashes = [config.vault.keyed_hash(n.get_secret_value()) if n else None for n in numbers]
    return NumberedRequest(body=body, id_hashes=hashes)
