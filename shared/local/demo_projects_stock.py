"""The demo's industrial projects (产业扶贫项目): the 7 new ones of 2020 and the 83 standing ones (存量项目) of the
district's half-year report, each with its life up to 30 June 2020, as the bodies the projects API takes.

The report gives their number, their townships, the new ones' state and the 耿店村 greenhouses' value; the rest is
made up: the standing projects' kinds, values, agreed returns and years, the villages' names and codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

YUAN = 100  # fen
TOWNSHIP_CODES = ("371523101", "371523102", "371523103", "371523104", "371523105")  # demo.TOWNSHIPS' codes

STANDING_COUNT = 83
GENGDIAN_VALUE_YUAN = 12_850_000  # 耿店村扶贫大棚 95 个
GENGDIAN = "371523101201"  # 耿店村, where the demo households DEMO-0001 and DEMO-0006 live

# Village names of the demo's illustrative codes: the report's, then stems of our own.
NAMED_VILLAGES = {GENGDIAN: "耿店村", "371523105202": "陈铺村", "371523105203": "南关村", "371523104202": "菜张村"}
STEMS = ("前屯", "后屯", "东街", "西街", "王庄", "李庄", "张庄", "刘楼", "赵集", "孙庄", "杨屯", "周店")
TOWNSHIP_NAMES = dict(zip(TOWNSHIP_CODES, ("贾寨镇", "冯屯镇", "博平镇", "胡屯镇", "温陈街道"), strict=True))


def village_name(code: str) -> str:
    return NAMED_VILLAGES.get(code) or f"{STEMS[(int(code[-2:]) - 1) % len(STEMS)]}村"


def place(code: str) -> str:
    return TOWNSHIP_NAMES[code[:9]] + (village_name(code) if len(code) == 12 else "")


@dataclass(frozen=True)
class Milestone:
    name: str
    due_on: date
    completed_on: date | None = None
    progress_pct: int = 0

    def body(self) -> dict[str, Any]:
        return {"name": self.name, "due_on": self.due_on.isoformat()}

    def progress(self) -> dict[str, Any] | None:
        """Its progress as at 30 June 2020, or None while there is none to report."""
        if self.completed_on is not None:
            return {"progress_pct": 100, "completed_on": self.completed_on.isoformat()}
        return {"progress_pct": self.progress_pct} if self.progress_pct else None


@dataclass(frozen=True)
class Asset:
    owner_area_code: str  # a village collective's (12 digits) or a township's (9)
    operator: str
    agreed_return_bp: int
    description: str = ""


@dataclass(frozen=True)
class Finding:
    code: str
    description: str
    severity: str | None = None


ACCEPTANCE_OFFICER = "区扶贫办验收组 赵刚"
INSPECTOR = "区产业项目专班 王磊"


@dataclass(frozen=True)
class Project:
    """A project and its life up to 30 June 2020: each step's day, what it drew and spent, its asset."""

    code: str
    name: str
    kind: str
    area_code: str
    year: int
    draws: tuple[tuple[str, int], ...]  # (funding line key, yuan)
    life: dict[str, date]  # ProjectStatus -> its day; "accepted" is the acceptance (验收)
    due_on: date
    milestones: tuple[Milestone, ...] = ()
    asset: Asset | None = None
    findings: tuple[Finding, ...] | None = None  # of its inspection in 2020 (standing projects only)
    spent_on: tuple[date, ...] = ()  # each draw spent in these tranches: 60 %, then the rest

    @property
    def budget_yuan(self) -> int:
        return sum(yuan for _, yuan in self.draws)

    @property
    def status(self) -> str:
        return list(self.life)[-1]

    @property
    def started_on(self) -> date:
        return self.life["under_construction"]

    def registration(self) -> dict[str, Any]:
        """Its registration, its township's officer its manager (项目负责人: never the one who accepts it)."""
        return {
            "project_code": self.code,
            "name": self.name,
            "kind": self.kind,
            "area_code": self.area_code,
            "budget_fen": self.budget_yuan * YUAN,
            "started_on": self.started_on.isoformat(),
            "manager_id": f"demo-manager-{self.area_code[:9]}",
            "manager_name": f"{TOWNSHIP_NAMES[self.area_code[:9]]}项目负责人",
            "acceptance_due_on": self.due_on.isoformat(),
        }

    def transitions(self) -> list[dict[str, Any]]:
        """The steps a transition makes, in order (the acceptance makes completed → accepted)."""
        return [
            {"to_status": status, "effective_on": on.isoformat(), "note": NOTES[status]}
            for status, on in self.life.items()
            if status != "accepted"
        ]

    def acceptance(self) -> dict[str, Any]:
        on = self.life["accepted"]
        return {"accepted_on": on.isoformat(), "officer_name": ACCEPTANCE_OFFICER, "passed": True, "findings": []}

    def spending(self, draw: str) -> list[dict[str, Any]]:
        """The spending of one draw: its tranches, adding up to it."""
        yuan = dict(self.draws)[draw]
        first = yuan * 6 // 10
        amounts = (first, yuan - first) if len(self.spent_on) == 2 else (yuan,)
        return [
            {
                "amount_fen": amount * YUAN,
                "spent_on": on.isoformat(),
                "purpose": f"{self.name} 工程款 第{n}期",
                "voucher_no": f"记-{on:%Y-%m}-{self.code[-3:]}{draw[0].upper()}{n}",
            }
            for n, (amount, on) in enumerate(zip(amounts, self.spent_on, strict=False), start=1)
        ]

    def asset_body(self) -> dict[str, Any] | None:
        """Its asset, registered (资产确权) five days after the acceptance."""
        if self.asset is None:
            return None
        owner = self.asset.owner_area_code
        return {
            "description": self.asset.description or self.name,
            "value_fen": self.budget_yuan * YUAN,
            "owner_kind": "village_collective" if len(owner) == 12 else "township",
            "owner_area_code": owner,
            "operator": self.asset.operator,
            "agreed_return_bp": self.asset.agreed_return_bp,
            "registered_on": (self.life["accepted"] + timedelta(days=5)).isoformat(),
        }

    def inspection(self) -> dict[str, Any] | None:
        """Its inspection (两看一及时) of 2020, with what it found."""
        if self.findings is None:
            return None
        return {
            "inspected_on": (date(2020, 4, 1) + timedelta(days=int(self.code[-3:]) % 85)).isoformat(),
            "inspector": INSPECTOR,
            "notes": "两看一及时: 看资产, 看运营, 问题及时整改",
            "problems": [
                {"code": f.code, "description": f.description} | ({"severity": f.severity} if f.severity else {})
                for f in self.findings
            ],
        }


NOTES = {
    "approved": "区扶贫开发领导小组批复立项",
    "under_construction": "开工建设",
    "completed": "完工",
    "operating": "资产确权后投入运营",
}


def _new_projects() -> list[Project]:
    """The 7 new industrial projects of 2020: 3 accepted and operating, 4 under construction (验收 by 31 August)."""
    built = {"approved": date(2020, 2, 15), "under_construction": date(2020, 2, 20)}
    done = built | {"completed": date(2020, 5, 10), "accepted": date(2020, 5, 20), "operating": date(2020, 6, 1)}
    building = {"approved": date(2020, 3, 10), "under_construction": date(2020, 3, 16)}
    finished = (
        Milestone("主体工程完工", date(2020, 4, 15), date(2020, 4, 10), 100),
        Milestone("配套设施完工", date(2020, 5, 10), date(2020, 5, 8), 100),
    )
    open_ = (
        Milestone("基础工程完工", date(2020, 4, 30), date(2020, 4, 28), 100),
        Milestone("主体工程完工", date(2020, 6, 30), None, 70),
        Milestone("设备安装调试", date(2020, 8, 15)),
    )
    rows = (  # code, name, kind, area, district yuan, higher yuan, operator of the asset (accepted ones)
        ("001", "冬暖式蔬菜大棚", "greenhouse", "371523101202", 4_500_000, 4_300_000, "蔬菜种植专业合作社"),
        ("002", "村级光伏电站", "photovoltaic", "371523102203", 3_800_000, 3_700_000, "集体 (委托运维)"),
        ("003", "同心就业工场厂房", "employment_workshop", "371523105", 2_600_000, 2_500_000, "博智文具 (租赁)"),
        ("004", "肉牛养殖基地", "livestock", "371523103204", 3_000_000, 2_900_000, None),
        ("005", "扶贫车间", "employment_workshop", "371523104205", 2_900_000, 2_820_000, None),
        ("006", "食用菌大棚", "greenhouse", "371523101206", 2_400_000, 2_400_000, None),
        ("007", "光伏电站", "photovoltaic", "371523103207", 2_300_000, 2_200_000, None),
    )
    return [
        Project(
            code=f"XM-2020-{n}",
            name=f"{place(area)}{name}",
            kind=kind,
            area_code=area,
            year=2020,
            draws=(("district-2020", district), ("higher-2020", higher)),
            life=done if operator else building,
            due_on=date(2020, 5, 31) if operator else date(2020, 8, 31),
            milestones=finished if operator else open_,
            asset=Asset(area, f"{place(area)}{operator}", RETURN_BP[kind]) if operator else None,
            spent_on=(date(2020, 3, 20), date(2020, 5, 15)) if operator else (date(2020, 4, 20), date(2020, 6, 28)),
        )
        for n, name, kind, area, district, higher, operator in rows
    ]


STANDING_YEARS = (2016,) * 18 + (2017,) * 22 + (2018,) * 23 + (2019,) * 20
KINDS = ("photovoltaic", "greenhouse", "photovoltaic", "livestock", "greenhouse", "other")
KIND_NAMES = {"photovoltaic": "村级光伏电站", "greenhouse": "扶贫大棚", "livestock": "养殖小区", "other": "果蔬冷库"}
VALUE_YUAN = {"photovoltaic": 650_000, "greenhouse": 950_000, "livestock": 1_250_000, "other": 500_000}
RETURN_BP = {"photovoltaic": 1000, "greenhouse": 800, "livestock": 800, "employment_workshop": 600, "other": 600}
# The inspections' problems: a few general ones, and one severe (收益未到位: no income recorded for the asset).
FINDINGS = {
    1: Finding("panel_soiled", "光伏板积尘, 发电效率下降, 需及时清洗", "general"),
    3: Finding("income_not_received", "收益未到位: 2020年上半年承包费未交村集体", "severe"),
    4: Finding("roof_damaged", "大棚棚膜破损, 需及时修补", "general"),
    5: Finding("ledger_incomplete", "资产台账登记不全"),
}
SEVERE_AT = 3


def _standing(i: int) -> Project:
    """The i-th standing project (存量项目), operating since the year it was built; the first is 耿店村's."""
    year = STANDING_YEARS[i]
    life = {
        "approved": date(year, 3, 1),
        "under_construction": date(year, 3, 10),
        "completed": date(year, 9, 15),
        "accepted": date(year, 9, 25),
        "operating": date(year, 10, 1),
    }
    if i == 0:
        kind, area, yuan, name = "greenhouse", GENGDIAN, GENGDIAN_VALUE_YUAN, "耿店村扶贫大棚 95 个"
        asset = Asset(GENGDIAN, "耿店村蔬菜种植专业合作社", 800, "耿店村扶贫大棚 95 个 (贫困村集体所有)")
    else:
        kind = KINDS[i % len(KINDS)]
        area = f"{TOWNSHIP_CODES[i % 5]}2{(i // 5) % 12 + 1:02d}"
        yuan, name = VALUE_YUAN[kind] + (i % 7) * 40_000, f"{place(area)}{KIND_NAMES[kind]}"
        asset = Asset(area, f"{village_name(area)}集体", RETURN_BP[kind])
    return Project(
        code=f"CL-{year}-{i + 1:03d}",
        name=name,
        kind=kind,
        area_code=area,
        year=year,
        draws=((f"district-{year}", yuan),),
        life=life,
        due_on=date(year, 10, 31),
        asset=asset,
        findings=(FINDINGS[i],) if i in FINDINGS else (),
    )


NEW_PROJECTS = _new_projects()
STANDING = [_standing(i) for i in range(STANDING_COUNT)]
PROJECTS = NEW_PROJECTS + STANDING
GREENHOUSES = STANDING[0]  # 耿店村扶贫大棚 95 个: its income is the 双提升 plan's
NO_INCOME = STANDING[SEVERE_AT].code  # the severe finding's: its income never arrived
