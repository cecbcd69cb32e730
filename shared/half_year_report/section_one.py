"""THE TEMPLATE: section one of the district's half-year report (半年工作总结), shaped on 茌平区's 2020 first-half
report: its opening paragraph, 一、工作成效 (一)…(五) and, from 二、工作特色亮点, the "双提升" item's figures.

The seed's own sentences, each number either `Stated` (a service's figure, with the seed's number in the figure's
unit for the loop check) or `Missing` (what it is, and how the seed wrote it). Narrative that holds in general stays
as the seed wrote it; what was true only of 2020 (documents issued, the epidemic's goods, forecasts) is left out or,
where the sentence is about a number, kept with the number missing. 全区/我区 become the area's name for a township
or village. (二) and (三) are in `section_one_work`, the sector policies, (四), in `section_one_sectors`.
"""

from __future__ import annotations

from shared.half_year_report.document import Paragraph, Section
from shared.half_year_report.filling import YUAN, Filler, count, missing, wan, yuan
from shared.half_year_report.period import Period
from shared.half_year_report.section_one_sectors import sector_policies
from shared.half_year_report.section_one_work import projects, screening
from shared.reporting import Unit


def opening(f: Filler, period: Period, we: str) -> Paragraph:
    year = str(period.end.year)
    return Paragraph(
        "",
        (
            f"{period.label},{we}立足持续巩固脱贫攻坚工作成效,认真贯彻落实中央、省、市各级脱贫攻坚工作部署,开展自查评估,"
            "强化问题整改,狠抓工作落实,“三保障”、安全饮水、残疾、低保等各项政策均落实到位,",
            f"{period.by_end}贫困户人均收入",
            f.at_least("households", "income.per_capita_average", ("year", year), yuan, 4500 * YUAN),
            "。",
        ),
    )


def epidemic(we: str) -> Paragraph:
    return Paragraph(
        "(一)同步推进贫困人口疫情防控和脱贫攻坚工作。",
        (
            f"为确保如期完成脱贫攻坚目标,{we}坚持疫情防控和脱贫攻坚工作同部署、同推进。在贫困户疫情防控方面,共投入疫情防控资金",
            missing("疫情防控资金", "15.32万元"),
            ",发放口罩",
            missing("口罩发放数量", "1.35万个"),
            ",消毒液",
            missing("消毒液发放数量", "1.41万瓶"),
            ",防疫手册、防疫宣传页",
            missing("防疫手册、宣传页数量", "462份"),
            ",面粉、方便面等各类物资",
            missing("各类物资数量", "2565件(箱)"),
            ";在扶贫项目方面,对存量项目进行了调研,针对特色种养项目因疫情影响出现的生产资料短缺、农产品销售不畅、运输受限等问题开辟了"
            "“绿色通道”,保障了产业扶贫项目的顺利运营;为",
            missing("获疫情补助的扶贫龙头企业数", "两家"),
            "扶贫龙头企业申请疫情补助资金",
            missing("扶贫龙头企业疫情补助资金", "40万元"),
            "。",
        ),
    )


def publicity(period: Period, we: str) -> Paragraph:
    return Paragraph(
        "(五)加强脱贫攻坚宣传和舆论引导。",
        (
            f"深入挖掘{we}扶贫工作亮点,全面总结脱贫攻坚工作成效,大力宣传工作中的典型人物、典型案例和工作事迹。{period.label},"
            f"{we}在中央主要媒体发表扶贫宣传文章",
            missing("中央主要媒体发表的扶贫宣传文章数", "12篇"),
            ",省级以上主要媒体发表",
            missing("省级以上主要媒体发表的文章数", "201篇"),
            ",市级主要媒体发表",
            missing("市级主要媒体发表的文章数", "89篇"),
            "。在《茌平新闻》开设“精准扶贫在攻坚”专栏,播出精准扶贫新闻稿件",
            missing("播出的精准扶贫新闻稿件数", "54篇"),
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
                epidemic(we),
                projects(f, period, townships, area),
                screening(f, area),
                sector_policies(f, period, area),
                publicity(period, we),
            ),
        ),
        Section("二、工作特色亮点", (double_improvement(f),)),
    )
