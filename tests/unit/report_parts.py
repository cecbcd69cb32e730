"""The four services' parts of the report shaped as the services answer (services/*/domain/report.py), with the
seed report's figures (district 371523, 2020-01-01 … 2020-06-30), for the report composer's unit tests."""

from __future__ import annotations

from datetime import UTC, date, datetime

from shared.reporting import Figure, ReportPart, Unit

H = Unit.HOUSEHOLDS
P = Unit.PEOPLE
FEN = Unit.FEN
WAN = 1_000_000  # fen in 万元
START, END = date(2020, 1, 1), date(2020, 6, 30)
COMPUTED_AT = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)

Row = tuple[str, int, Unit, dict[str, str]]

HOUSEHOLDS: list[Row] = [
    ("register.households", 3452, H, {}),
    ("visits.households", 3452, H, {}),
    *[("visits.households", n, H, {"round": r}) for r, n in (("1", 3452), ("2", 3452), ("3", 3452), ("4", 900))],
    ("visits.problems", 234, Unit.PROBLEMS, {}),
    ("visits.problems", 200, Unit.PROBLEMS, {"category": "housing"}),
    ("visits.problems", 34, Unit.PROBLEMS, {"category": "schooling"}),
    ("housing.appraised", 102, H, {}),
    ("housing.appraised", 83, H, {"grade": "C"}),
    ("housing.appraised", 19, H, {"grade": "D"}),
    ("housing.renovated", 102, H, {}),
    ("housing.outstanding", 0, H, {}),
    ("water.checked", 3452, H, {}),
    ("water.unsafe", 0, H, {}),
    ("monitoring.households", 23, H, {}),
    ("schooling.students", 560, P, {}),
    ("disability.certified", 454, P, {}),
    ("medical.chronic_approved", 477, P, {}),
    ("income.per_capita_average", 471_234, FEN, {"year": "2020"}),
]
SOURCES = ("central", "provincial", "municipal", "district", "matching")
ALLOCATED = {"district": 2150 * WAN, "provincial": 2082 * WAN}
STATUSES = ("planned", "approved", "under_construction", "completed", "accepted", "operating", "closed")
BY_STATUS = {"under_construction": 4, "operating": 86}
PROJECTS: list[Row] = [
    *[("funds.allocated", ALLOCATED.get(s, 0), FEN, {"source": s}) for s in SOURCES],
    *[("funds.spent", ALLOCATED.get(s, 0), FEN, {"source": s}) for s in SOURCES],
    ("funds.higher_levels.spent", 2082 * WAN, FEN, {}),
    *[("projects.by_status", BY_STATUS.get(s, 0), Unit.PROJECTS, {"status": s}) for s in STATUSES],
    *[
        ("projects.started", n, Unit.PROJECTS, {"township": t})
        for t, n in (("371523101", 3), ("371523102", 1), ("371523103", 1), ("371523104", 1), ("371523105", 1))
    ],
    ("projects.accepted", 3, Unit.PROJECTS, {}),
    ("income.received", 446_640_000, FEN, {}),
    ("income.set_aside", 50_380_000, FEN, {"purpose": "double_improvement"}),
    ("income.set_aside", 0, FEN, {"purpose": "public_welfare_jobs"}),
    ("posts.held", 233, Unit.POSTS, {}),
    ("posts.allowances", 20_970_000, FEN, {}),
    ("contracts.cost", 14_800_000, FEN, {"kind": "insurance"}),
    ("contracts.cost", 0, FEN, {"kind": "maintenance"}),
]


def _programme(code: str, **figures: int) -> list[Row]:
    units = {"amount": FEN, "people": P, "person_times": Unit.PERSON_TIMES}
    return [(f"paid.{k}", v, units[k], {"programme": code}) for k, v in figures.items()]


SUBSIDIES: list[Row] = [
    *_programme("rain_and_dew_education_aid", amount=15_750_000, people=105, person_times=105),
    *_programme("health_insurance_premium_subsidy", amount=7149 * WAN, people=9000),
    *_programme("temporary_assistance", amount=6_400_000, person_times=35),
    *_programme("disability_living_subsidy", amount=200 * WAN, people=5000),
    *_programme("disability_nursing_subsidy", amount=135 * WAN, people=2927),
    *_programme("pension_premium_subsidy", amount=21_440_000, people=2144),
    ("enrolled.new_households", 279, H, {"programme": "dibao"}),
    ("enrolled.new_people", 623, P, {"programme": "dibao"}),
    ("enrolled.new_households", 150, H, {"programme": "extreme_poverty_support"}),
    ("enrolled.new_people", 174, P, {"programme": "extreme_poverty_support"}),
    ("standard.monthly", 25_800, FEN, {"programme": "dibao"}),
]
AUDIT: list[Row] = [
    ("findings.found", 260, Unit.PROBLEMS, {}),
    ("findings.found", 302, Unit.PROBLEMS, {"category": "housing"}),
    ("findings.found", 34, Unit.PROBLEMS, {"category": "schooling"}),
    ("findings.found", 150, Unit.PROBLEMS, {"township": "371523101"}),
    ("findings.found", 110, Unit.PROBLEMS, {"township": "371523103"}),
    ("findings.rectified", 240, Unit.PROBLEMS, {}),
    ("findings.rectified", 140, Unit.PROBLEMS, {"township": "371523101"}),
    ("findings.rectified", 100, Unit.PROBLEMS, {"township": "371523103"}),
    ("findings.open", 20, Unit.PROBLEMS, {}),
    ("findings.rectification_rate", 9230, Unit.PERCENT_BP, {}),
    ("findings.rectification_rate", 9333, Unit.PERCENT_BP, {"township": "371523101"}),
    ("findings.rectification_rate", 9090, Unit.PERCENT_BP, {"township": "371523103"}),
    ("referrals.made", 6, Unit.REFERRALS, {}),
    ("accountability.decisions", 4, Unit.PERSON_TIMES, {}),
]
ROWS = {"households": HOUSEHOLDS, "projects": PROJECTS, "subsidies": SUBSIDIES, "audit": AUDIT}


def part(service: str, area_code: str = "371523", start: date = START, end: date = END) -> ReportPart:
    figures = [Figure(key=k, value=v, unit=u, by=by) for k, v, u, by in ROWS[service]]
    return ReportPart(
        service=service,
        period_from=start,
        period_to=end,
        area_code=area_code,
        computed_at=COMPUTED_AT,
        figures=figures,
    )
