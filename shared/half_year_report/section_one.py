"""THE TEMPLATE: section one of the district's half-year report (半年工作总结), shaped on 茌平区's 2020 first-half
report: its opening paragraph, 一、工作成效 (一)…(五) and, from 二、工作特色亮点, the "双提升" item's figures.

The seed's own sentences, each number either `Stated` (a service's figure, with the seed's number in the figure's
unit for the loop check) or `Missing` (what it is, and how the seed wrote it). Narrative that holds in general stays
as the seed wrote it; what was true only of 2020 (documents issued, the epidemic's goods, 督战 and 验收, forecasts) or
a one-off act the platform holds nothing of keeps its words as what is missing, never asserted for another period. A
sentence the figures could contradict (各项政策均落实到位, 全覆盖式排查, 全面检查) is written only when they bear it
out, else with the figures. 全区/我区 become the area's name for a township or village. (二) and (三) are in
`section_one_work`, the sector policies, (四), in `section_one_sectors`.
"""

from __future__ import annotations

from shared.half_year_report.amounts import YUAN, wan, yuan
from shared.half_year_report.document import Missing, Paragraph, Part, Section
from shared.half_year_report.filling import Filler, count
from shared.half_year_report.period import Period
from shared.half_year_report.section_one_sectors import sector_policies
from shared.half_year_report.section_one_work import projects, screening
from shared.reporting import Unit


def _policies(f: Filler) -> tuple[Part, ...]:
    """各项政策均落实到位 only when the period's end bears it out: no dangerous house left, no unsafe water, no
    problem open; else what is left, with its figures."""
    left = (
        f.fig("households", "housing.outstanding", Unit.HOUSEHOLDS, count("户")),
        f.fig("households", "water.unsafe", Unit.HOUSEHOLDS, count("户")),
        f.fig("audit", "findings.open", Unit.PROBLEMS, count("个")),
    )
    if all(figure.value == 0 for figure in left):
        return ("“三保障”、安全饮水、残疾、低保等各项政策均落实到位,",)
    houses, water, problems = left
    return (
        "“三保障”、安全饮水等各项政策持续落实,期末尚有未改造危房",
        houses,
        "、饮水不安全",
        water,
        "、未整改问题",
        problems,
        ",",
    )


def opening(f: Filler, period: Period, we: str) -> Paragraph:
    year = str(period.end.year)
    return Paragraph(
        "",
        (
            f"{period.label},{we}立足持续巩固脱贫攻坚工作成效,认真贯彻落实中央、省、市各级脱贫攻坚工作部署,开展自查评估,"
            "强化问题整改,狠抓工作落实,",
            *_policies(f),
            f"{period.by_end}贫困户人均收入",
            f.at_least("households", "income.per_capita_average", ("year", year), yuan, 4500 * YUAN),
            "。",
        ),
    )


def epidemic() -> Paragraph:
    """The seed's heading; its acts and goods were 2020's, held nowhere on the platform: each shown as missing."""
    return Paragraph(
        "(一)同步推进贫困人口疫情防控和脱贫攻坚工作。",
        (
            "疫情防控与脱贫攻坚同部署、同推进的情况",
            Missing("疫情防控与脱贫攻坚同部署、同推进的工作情况", "坚持疫情防控和脱贫攻坚工作同部署、同推进"),
            "。贫困户疫情防控方面:投入疫情防控资金",
            Missing("疫情防控资金", "15.32万元"),
            ",发放口罩",
            Missing("口罩发放数量", "1.35万个"),
            ",消毒液",
            Missing("消毒液发放数量", "1.41万瓶"),
            ",防疫手册、防疫宣传页",
            Missing("防疫手册、宣传页数量", "462份"),
            ",面粉、方便面等各类物资",
            Missing("各类物资数量", "2565件(箱)"),
            "。扶贫项目方面:",
            Missing(
                "存量项目调研及疫情期间为特色种养项目开辟“绿色通道”的情况",
                "对2016年以来存量项目进行了调研,……开辟了“绿色通道”,保障了产业扶贫项目的顺利运营",
            ),
            ";申请疫情补助资金的扶贫龙头企业",
            Missing("获疫情补助的扶贫龙头企业数", "两家"),
            ",补助资金",
            Missing("扶贫龙头企业疫情补助资金", "40万元"),
            "。",
        ),
    )


def publicity(period: Period, we: str) -> Paragraph:
    return Paragraph(
        "(五)加强脱贫攻坚宣传和舆论引导。",
        (
            f"深入挖掘{we}扶贫工作亮点,全面总结脱贫攻坚工作成效,大力宣传工作中的典型人物、典型案例和工作事迹。{period.label},"
            f"{we}在中央主要媒体发表扶贫宣传文章",
            Missing("中央主要媒体发表的扶贫宣传文章数", "12篇"),
            ",省级以上主要媒体发表",
            Missing("省级以上主要媒体发表的文章数", "201篇"),
            ",市级主要媒体发表",
            Missing("市级主要媒体发表的文章数", "89篇"),
            ";地方媒体精准扶贫专栏播出新闻稿件",
            Missing("地方媒体精准扶贫专栏播出的新闻稿件数", "在《茌平新闻》开设“精准扶贫在攻坚”专栏,播出54篇"),
            "。",
        ),
    )


def double_improvement(f: Filler) -> Paragraph:
    return Paragraph(
        "(一)创新开展“双提升”工作。",
        (
            "一是加大资金支持。为进一步巩固脱贫成效,全面提升贫困户生活水平、居住环境,强化环境卫生整改保持,从区级统筹实施的项目收益中切出",
            f.fig("projects", "income.set_aside", Unit.FEN, wan, 503_800 * YUAN, ("purpose", "double_improvement")),
            "用于贫困户“双提升”工作。另外拨付",
            f.fig("projects", "posts.allowances", Unit.FEN, wan, 209_700 * YUAN),
            ",开发扶贫公益岗",
            f.fig("projects", "posts.held", Unit.POSTS, count("个"), 233),
            ",既解决了有劳动能力贫困群众务工问题,同时,安排公益岗贫困群众与不能自理贫困户结成帮扶对子,到其家中打扫卫生。",
        ),
    )


def section_one(f: Filler, period: Period, area: str, townships: dict[str, str]) -> tuple[Section, ...]:
    """The sections of the report for the period, `area` being how it is named ("全区", "贾寨镇", a code)."""
    we = "我区" if area == "全区" else area
    return (
        Section("", (opening(f, period, we),)),
        Section(
            "一、工作成效",
            (
                epidemic(),
                projects(f, period, townships, area),
                screening(f, area),
                sector_policies(f, period, area),
                publicity(period, we),
            ),
        ),
        Section("二、工作特色亮点", (double_improvement(f),)),
    )
