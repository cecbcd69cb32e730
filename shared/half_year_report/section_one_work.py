"""(二) projects and (三) screening of the template (see `section_one`): funds, new and standing projects, income,
the rounds of visits, problems found and rectified, referrals."""

from __future__ import annotations

from shared.contracts.projects import FundSource
from shared.contracts.subsidies import PolicyCode
from shared.half_year_report.amounts import WAN, YUAN, wan
from shared.half_year_report.document import FigureRef, Missing, Paragraph, Part, Stated
from shared.half_year_report.filling import Filler, count, percent
from shared.half_year_report.period import Period
from shared.reporting import Unit

_NUMERALS = "零一二三四五六七八九十"
RAIN_AND_DEW = ("programme", PolicyCode.RAIN_AND_DEW_EDUCATION_AID.value)


def round_name(round_: str) -> str:
    """ "第一轮" for round 1, up to 第十轮; a round beyond is written in digits."""
    return f"第{_NUMERALS[int(round_)]}轮" if round_.isdigit() and 0 < int(round_) <= 10 else f"第{round_}轮"


def in_round_order(rounds: dict[str, int]) -> list[str]:
    """The rounds as numbers count (2 before 10), any round not a number after them."""
    return sorted(rounds, key=lambda r: (not r.isdigit(), int(r) if r.isdigit() else 0, r))


def standing_projects(f: Filler) -> Part:
    """存量项目: projects started before the period = those started by its end (every status) − those started in
    it."""
    by_status = f.figures.split("projects", "projects.by_status", "status")
    started = f.figures.split("projects", "projects.started", "township")
    # by_status lists every status when reported: an empty split is a part without it, not zero projects
    value = None if not by_status or started is None else sum(by_status.values()) - sum(started.values())
    how = "sum(projects.by_status) − sum(projects.started)"
    return f.derived("projects", how, Unit.PROJECTS, value, count("个"), 83)


def _new_projects(f: Filler, townships: dict[str, str]) -> tuple[Part, ...]:
    started = f.figures.split("projects", "projects.started", "township")
    names = "、".join(townships.get(code, code) for code in sorted(started or {}))
    places = f.derived(
        "projects",
        "count(projects.started by township)",
        Unit.TOWNSHIPS,
        None if started is None else len(started),
        count("个"),
        5,
    )
    projects = f.derived(
        "projects",
        "sum(projects.started)",
        Unit.PROJECTS,
        None if started is None else sum(started.values()),
        count("个"),
        7,
    )
    return (
        f"在{names}等" if names else "在",
        places,
        "乡镇(街道)实施",
        projects,
        "产业扶贫项目。截至目前,到位项目收益",
        f.fig("projects", "income.received", Unit.FEN, wan, 4_466_400 * YUAN),
        ",期内完成验收项目",
        f.fig("projects", "projects.accepted", Unit.PROJECTS, count("个"), 3),
        # projects.accepted counts every acceptance of the period, of projects started in any year: the new
        # projects not yet accepted are not the difference, and the platform does not report them
        ";期内新实施项目中尚未验收",
        Missing("期内新实施项目中尚未验收的项目数", "其余4个项目"),
        "。",
    )


def _funds(f: Filler, period: Period, whole: str) -> tuple[Part, ...]:
    spent = [FigureRef("projects", "funds.spent", ("source", s.value)) for s in FundSource]
    # the district's allocation is district-wide (projects README): a township's report says so
    allocated_by = "" if whole == "全区" else "全区"
    return (
        f"加大资金投入,{period.end.year}年{allocated_by}安排区级专项扶贫资金",
        f.fig("projects", "funds.allocated", Unit.FEN, wan, 2150 * WAN, ("source", FundSource.DISTRICT.value)),
        ",区级配套资金同比增幅",
        Missing("区级配套资金同比增幅", "超过13%"),
        f"。截至{period.end.month}月{period.end.day}日,{whole}扶贫总支出为",
        f.derived("projects", "sum(funds.spent by source)", Unit.FEN, f.total(spent), wan, 4232 * WAN),
        ",其中:区级财政专项扶贫资金",
        f.fig("projects", "funds.spent", Unit.FEN, wan, 2150 * WAN, ("source", FundSource.DISTRICT.value)),
        ",上级专项扶贫资金",
        f.fig("projects", "funds.higher_levels.spent", Unit.FEN, wan, 2082 * WAN),
    )


def projects(f: Filler, period: Period, townships: dict[str, str], whole: str) -> Paragraph:
    return Paragraph(
        "(二)加强扶贫项目建设管理和问题整改。",
        (
            *_funds(f, period, whole),
            f"。{period.label}",
            *_new_projects(f, townships),
            "“雨露计划”帮扶贫困家庭学生",
            f.fig("subsidies", "paid.people", Unit.PEOPLE, count("名"), 105, RAIN_AND_DEW),
            ",发放补助资金",
            f.fig("subsidies", "paid.amount", Unit.FEN, wan, 157_500 * YUAN, RAIN_AND_DEW),
            "。扶贫大棚项目区修建道路、解决排水问题的投入",
            Missing("扶贫大棚项目区修建道路、解决排水问题的投入", "投入500万元为贾寨、博平等4个扶贫大棚项目区修建道路"),
            ";产业扶贫项目保险投入",
            f.fig("projects", "contracts.cost", Unit.FEN, wan, 148_000 * YUAN, ("kind", "insurance")),
            "。目前",
            whole,
            standing_projects(f),
            # by_status counts every project of the area, the period's new ones too: not "the standing ones all run"
            "存量项目;期末正常运营项目(含新实施项目)",
            f.fig("projects", "projects.by_status", Unit.PROJECTS, count("个"), by=("status", "operating")),
            "。项目专班采取“两看一及时”的方式,常态化排查存量项目,一看项目外观,二看项目运营,及时解决经营者在项目运营中存在的困难和问题,"
            "确保资产完整,收益到位。",
        ),
    )


def _rounds(f: Filler) -> tuple[Part, ...]:
    rounds = f.figures.split("households", "visits.households", "round") or {}
    parts: list[Part] = []
    for r in in_round_order(rounds):
        parts += [
            "," if parts else ",其中",
            round_name(r),
            f.fig("households", "visits.households", Unit.HOUSEHOLDS, count("户"), by=("round", r)),
        ]
    return tuple(parts)


def _visits(f: Filler, registered: Stated) -> tuple[Part, ...]:
    """全方位、全覆盖式排查 only when every household on the roll was visited in the period; else the share."""
    visited = f.fig("households", "visits.households", Unit.HOUSEHOLDS, count("户"))
    if visited.value is not None and registered.value and visited.value >= registered.value:
        return ("进行全方位、全覆盖式排查,期内入户排查走访", visited, *_rounds(f))
    share = None if visited.value is None or not registered.value else visited.value * 10_000 // registered.value
    how = "visits.households × 10000 ÷ register.households"
    return (
        "开展排查,期内入户排查走访",
        visited,
        "(占建档立卡户",
        f.derived("households", how, Unit.PERCENT_BP, share, percent),
        ")",
        *_rounds(f),
    )


def _rectification(f: Filler) -> tuple[Part, ...]:
    found = f.fig("audit", "findings.found", Unit.PROBLEMS, count("个"))
    rectified = f.fig("audit", "findings.rectified", Unit.PROBLEMS, count("个"))
    # the rate is of the period's findings: none found, no rate (audit README), which is not a service's failure
    rate: tuple[Part, ...] = (
        (",期内未发现新问题,不计整改率",)
        if found.value == 0
        else (",整改率", f.fig("audit", "findings.rectification_rate", Unit.PERCENT_BP, percent))
    )
    return ("期内发现问题", found, ",整改到位", rectified, *rate)


def screening(f: Filler, whole: str) -> Paragraph:
    registered = f.fig("households", "register.households", Unit.HOUSEHOLDS, count("户"), 3452)
    return Paragraph(
        "(三)深入开展脱贫攻坚问题排查和整改。",
        (
            "成立了入户自查评估专班和项目自查评估专班,对",
            whole,
            registered,
            "建档立卡贫困人口和",
            standing_projects(f),
            "产业扶贫项目",
            *_visits(f, registered),
            ",并对问题整改情况开展“回头看”。挂牌督战:",
            # the seed's own events of 2020: never asserted for a period the platform cannot say they happened in
            Missing(
                "挂牌督战的组织、日期和乡镇",
                "成立了督战工作领导小组和督战专班,于3月21日、4月7日分别对韩屯镇和博平镇开展了全面督战",
            ),
            ";督战问题整改“回头看”:",
            Missing("督战问题整改“回头看”的日期", "5月13—15日"),
            ";市脱贫攻坚评估验收组现场验收:",
            Missing("通过市脱贫攻坚评估验收组现场验收的日期", "5月20日通过"),
            "。",
            *_rectification(f),
            "。同时,纪委跟踪督导,问题整改不到位的,直接对相关责任人予以问责处理,期内移交问题线索",
            f.fig("audit", "referrals.made", Unit.REFERRALS, count("条")),
            ",问责",
            f.fig("audit", "accountability.decisions", Unit.PERSON_TIMES, count("人次")),
            ",竖起不负责就问责的鲜明导向。",
        ),
    )
