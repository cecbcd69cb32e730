"""A half-year report `Document` built by hand, shaped like the district's 2020 first half (its headings, a few of
its sentences, every kind of part and all four charted tables), for the HTML page's tests: they test the page, not
the composer."""

from __future__ import annotations

from datetime import UTC, date, datetime

from shared.half_year_report.document import (
    Document,
    FigureRef,
    Missing,
    Paragraph,
    Section,
    Source,
    Stated,
    Table,
)
from shared.reporting import Unit

REGISTERED = Stated(FigureRef("households", "register.households"), Unit.HOUSEHOLDS, 3452, "3452户", 3452)
SPENT = Stated(FigureRef("projects", "funds.spent"), Unit.FEN, 4_232_000_000, "4232万元", 4_232_000_000)
DIBAO_NEW = Stated(
    FigureRef("subsidies", "enrolled.new_households", ("programme", "dibao")), Unit.HOUSEHOLDS, 279, "279户", 279
)
GRADE_D = Stated(FigureRef("households", "housing.appraised", ("grade", "D")), Unit.HOUSEHOLDS, 19, "19户", 19)
UNREAD = Stated(FigureRef("audit", "findings.rectified"), Unit.PROBLEMS, None, "", 200)
MASKS = Missing("发放口罩数量", "1.35万个")
FUNDS = Missing("疫情防控资金", "15.32万元")
# As the composer writes them: townships, programmes, sources and rounds by name (a township it cannot name by code).
RECTIFIED = {"贾寨镇": (60, 58), "冯屯镇": (45, 41), "博平镇": (52, 52), "胡屯镇": (23, 20),
             "温陈街道": (20, 19), "371523106": (4, 1)}  # fmt: skip


def sections() -> tuple[Section, ...]:
    return (
        Section("", (Paragraph("", ("今年以来,我区立足持续巩固脱贫攻坚工作成效,", MASKS, "。")),)),
        Section(
            "一、工作成效",
            (
                Paragraph("(一)同步推进贫困人口疫情防控和脱贫攻坚工作。", ("共投入疫情防控资金", FUNDS, "。")),
                Paragraph("(二)加强扶贫项目建设管理和问题整改。", ("截至6月底,扶贫总支出为", SPENT, "。")),
                Paragraph("(三)深入开展脱贫攻坚问题排查和整改。", ("对全区", REGISTERED, "建档立卡贫困人口进行排查。")),
                Paragraph(
                    "(四)扎实落实行业扶贫政策。",
                    ("共鉴定出D级", GRADE_D, ";新纳入低保", DIBAO_NEW, ";排查整改问题", UNREAD, "处。"),
                ),
            ),
        ),
    )


def tables() -> tuple[Table, ...]:
    rate = {code: found and rectified * 10000 // found for code, (found, rectified) in RECTIFIED.items()}
    return (
        Table(
            "rectification_by_township",
            "各乡镇(街道)问题整改情况",
            ("township", "found", "rectified", "rectification_rate_bp"),
            tuple((code, found, rectified, rate[code]) for code, (found, rectified) in RECTIFIED.items()),
        ),
        Table(
            "paid_by_programme",
            "各项补贴发放情况",
            ("programme", "amount_fen", "people"),
            (
                ("低保", 144_000_000, 623),
                ("雨露计划", 15_750_000, 105),
                ("代缴养老保费", 21_440_000, 2144),
                ("临时救助", 3_500_000, None),
            ),
        ),
        Table(
            "funds_by_source",
            "专项扶贫资金(按来源)",
            ("source", "allocated_fen", "spent_fen"),
            (("区级", 2_150_000_000, 2_150_000_000), ("省级", 2_082_000_000, 2_082_000_000)),
        ),
        Table(
            "visits_by_round",
            "各轮走访户数",
            ("round", "households"),
            (("第一轮", 3452), ("第二轮", 3452), ("第三轮", 3452), ("第四轮", 1210)),
        ),
    )


def document(**changes: object) -> Document:
    """The sample; `changes` replace its fields (e.g. `tables=()`)."""
    fields: dict[str, object] = {
        "title": "全区2020年上半年脱贫攻坚工作总结",
        "period_from": date(2020, 1, 1),
        "period_to": date(2020, 6, 30),
        "area_code": "371523",
        "sections": sections(),
        "tables": tables(),
        "sources": (
            Source("households", "http://127.0.0.1:8001/v1/report", datetime(2026, 12, 6, 10, 0, tzinfo=UTC)),
            Source("audit", "http://127.0.0.1:8004/v1/report", None, "503 Service Unavailable"),
        ),
    }
    fields.update(changes)
    return Document(**fields)  # type: ignore[arg-type]
