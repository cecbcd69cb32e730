"""The money of the district's half-year report's industrial projects (first half of 2020, 茌平区) as demo data:
the funds, the income received, the 双提升 plan, the insurance, as the bodies the projects API takes.

What the report gives is kept exact, in fen: the year's two funding lines, all of them spent by the new projects;
the income received (到位项目收益) across the projects' assets; the plan of 1,007,600 yuan with half set aside for
双提升; the insurance of every project (148,000 yuan). What it does not give is made up, and says so where it is
recorded: the lines the standing projects drew on (one district line a year, their budgets), how the income and the
insurance fall on each project (by value and agreed return, by budget), the solar plants' maintenance (no cost).
The projects are `demo_projects_stock`'s, the posts and workshops `demo_projects_jobs`'; `demo_projects` loads
them all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from shared.local.demo_projects_stock import (
    GREENHOUSES,
    NO_INCOME,
    PROJECTS,
    RETURN_BP,
    STANDING,
    YUAN,
    Project,
)

# The report's figures, in yuan.
DISTRICT_FUNDS_YUAN = 21_500_000  # 区级专项扶贫资金
HIGHER_FUNDS_YUAN = 20_820_000  # 上级专项扶贫资金 (中央、省、市: the report gives no split)
INCOME_YUAN = 4_466_400  # 到位项目收益, first half of 2020
PLAN_INCOME_YUAN = 1_007_600  # 双提升: the income of one plan, half of it set aside
PLAN_SET_ASIDE_BP = 5_000
INSURANCE_YUAN = 148_000


def spread(total: int, weights: Mapping[str, int]) -> dict[str, int]:
    """`total` in proportion to `weights`, whole units by the largest remainder (ties by key): exactly the total."""
    whole = sum(weights.values())
    shares = {key: total * w // whole for key, w in weights.items()}
    by_fraction = sorted(weights, key=lambda key: (-(total * weights[key] % whole), key))
    for key in by_fraction[: total - sum(shares.values())]:
        shares[key] += 1
    return shares


@dataclass(frozen=True)
class FundLine:
    """A funding line (资金指标) the demo records; `key` names it among the demo's."""

    key: str
    source: str
    year: int
    document_no: str
    purpose: str
    amount_yuan: int

    def body(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "year": self.year,
            "document_no": self.document_no,
            "purpose": self.purpose,
            "amount_fen": self.amount_yuan * YUAN,
        }


def _fund_lines() -> list[FundLine]:
    standing = "存量项目资金 (演示: 报告未列各年资金, 按项目投资计)"
    years = {p.year for p in STANDING}
    return [
        FundLine("district-2020", "district", 2020, "茌财农〔2020〕8号", "区级专项扶贫资金", DISTRICT_FUNDS_YUAN),
        FundLine(
            "higher-2020",
            "provincial",
            2020,
            "聊财农〔2020〕5号",
            "上级专项扶贫资金 (中央、省、市, 报告未分列)",
            HIGHER_FUNDS_YUAN,
        ),
        *(
            FundLine(
                f"district-{y}",
                "district",
                y,
                f"茌扶贫〔{y}〕存量项目 (演示)",
                standing,
                sum(p.budget_yuan for p in STANDING if p.year == y),
            )
            for y in sorted(years)
        ),
    ]


FUND_LINES = _fund_lines()


@dataclass(frozen=True)
class Income:
    period: str
    amount_fen: int
    received_on: date

    def body(self, asset_id: str) -> dict[str, Any]:
        return {
            "asset_id": asset_id,
            "period": self.period,
            "amount_fen": self.amount_fen,
            "received_on": self.received_on.isoformat(),
        }


def _received(project: Project) -> tuple[str, date]:
    """Power sales are paid by June, the rents of greenhouses, sheds and stores in January."""
    if project.year == 2020 or project.kind == "photovoltaic":
        return "2020-06", date(2020, 6, 30)
    return "2020-01", date(2020, 1, 20)


def _incomes() -> dict[str, Income]:
    """The half-year's income by project: 耿店村's is the 双提升 plan's; the rest is spread over the other assets
    by value, agreed return and months operated (June only for the new ones); the severe finding's asset earned
    nothing."""
    earning = {p.code: p for p in PROJECTS if p.asset is not None and p.code not in (GREENHOUSES.code, NO_INCOME)}
    weights = {code: p.budget_yuan * RETURN_BP[p.kind] * (1 if p.year == 2020 else 6) for code, p in earning.items()}
    amounts = spread((INCOME_YUAN - PLAN_INCOME_YUAN) * YUAN, weights)
    planned = Income("2020-06", PLAN_INCOME_YUAN * YUAN, date(2020, 6, 28))
    return {GREENHOUSES.code: planned} | {code: _income(p, amounts[code]) for code, p in earning.items()}


def _income(project: Project, amount_fen: int) -> Income:
    period, received_on = _received(project)
    return Income(period, amount_fen, received_on)


INCOMES = _incomes()
INSURANCE_FEN = spread(INSURANCE_YUAN * YUAN, {p.code: p.budget_yuan for p in PROJECTS})
INSURER = "中国人民财产保险股份有限公司茌平支公司"
MAINTAINER = "茌平区光伏扶贫电站运维服务中心"


def contracts(project: Project) -> list[dict[str, Any]]:
    """Its insurance for a year (all projects), and the solar plants' maintenance (the report gives no cost)."""
    starts = max(project.started_on, date(2020, 1, 1))
    insured = {
        "kind": "insurance",
        "provider": INSURER,
        "cost_fen": INSURANCE_FEN[project.code],
        "starts_on": starts.isoformat(),
        "expires_on": (starts + timedelta(days=365)).isoformat(),
    }
    if project.kind != "photovoltaic":
        return [insured]
    return [
        insured,
        {
            "kind": "maintenance",
            "provider": MAINTAINER,
            "cost_fen": 0,
            "starts_on": starts.isoformat(),
            "expires_on": "2022-12-31",
        },
    ]


def plan(income_id: str) -> dict[str, Any]:
    """The 双提升 plan of 耿店村's income: half set aside for 双提升 help, the rest by living members."""
    return {
        "income_id": income_id,
        "basis": "members",
        "set_asides": [{"purpose": "double_improvement", "share_bp": PLAN_SET_ASIDE_BP}],
        "note": "耿店村扶贫大棚 2020年上半年收益分配: 50% 留作双提升, 其余按人口分配",
    }
