"""The report page's charts (图表) as inline SVG, drawn with matplotlib from the tables named in `document.CHARTED`:
rectification by township, money paid by programme, funds by source, visits by round. Rows are labelled as the
table names them (the composer turns codes into names where it knows them).

Text stays text (`svg.fonttype: none`), never mathtext (a "$" in a service's name is a "$"): the browser draws the
Chinese with its own fonts. The output is the same bytes for the same tables: no date in the metadata, element ids
hashed with a fixed salt and prefixed with the table's name (four charts in one page, no id twice). A table matplotlib
cannot draw gives a chart without SVG, never a failed report. Figures are `Figure` objects,
never pyplot's; the settings above are rcParams, which matplotlib only reads globally, so drawing holds a lock.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from io import StringIO
from typing import Any

import matplotlib as mpl
import numpy as np
import numpy.typing as npt
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from shared.half_year_report.amounts import in_wan, wan
from shared.half_year_report.document import CHARTED, Table

RED, BLUE, GREY = "#a61b1b", "#2f5597", "#7f7f7f"
# Fonts matplotlib measures the text with; the page's CSS names the fonts the browser draws it in.
CJK_FONTS = ("Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "Microsoft YaHei", "SimHei")
_LOCK = threading.Lock()
# What a browser needs of matplotlib's SVG document inside an HTML page: no XML prolog, DOCTYPE or namespaces.
_PROLOG = re.compile(r"^.*?(?=<svg)", re.DOTALL)
_NAMESPACES = re.compile(r'\s+xmlns(:\w+)?="[^"]*"')
_IDS = re.compile(r'(\bid="|url\(#|href="#)([^")]+)')


Row = dict[str, str | int | None]  # a table's row by its CHARTED column names


@dataclass(frozen=True)
class Chart:
    """A chart of one CHARTED table: its SVG, or None when there is nothing to draw."""

    table: str
    title: str
    svg: str | None


TITLES = {
    "rectification_by_township": "各乡镇(街道)问题整改情况",
    "paid_by_programme": "各项补贴发放金额",
    "funds_by_source": "专项扶贫资金下达与支出(按来源)",
    "visits_by_round": "各轮走访排查户数",
}


def draw_all(tables: Sequence[Table]) -> tuple[Chart, ...]:
    """One chart per CHARTED table in CHARTED's order; a table absent, empty or without a number to draw gives
    a chart without SVG."""
    by_name = {t.name: t for t in tables}
    return tuple(_chart(name, by_name.get(name)) for name in CHARTED)


def _chart(name: str, table: Table | None) -> Chart:
    return Chart(name, table.title if table else TITLES[name], _draw(table))


def _draw(table: Table | None) -> str | None:
    if table is None or not table.rows:
        return None
    wanted = CHARTED[table.name]
    if table.columns != wanted:
        raise ValueError(f"table {table.name} has columns {table.columns}, the chart needs {wanted}")
    rows = [dict(zip(wanted, row, strict=True)) for row in table.rows]
    if all(row[col] is None for row in rows for col in wanted[1:]):
        return None
    with _LOCK, mpl.rc_context(_settings()):
        figure = Figure(figsize=(7.2, 3.4), layout="constrained")
        try:
            _DRAWERS[table.name](figure.add_subplot(), rows)
            svg = _svg(figure)
        except ValueError:  # a label matplotlib cannot lay out: the page says there is no chart
            return None
    return _IDS.sub(rf"\g<1>{table.name}-\g<2>", svg)


def _settings() -> dict[Any, Any]:
    name, weight = _measuring_font()
    return {
        "svg.fonttype": "none",
        "svg.hashsalt": "half-year-report",
        "font.family": "sans-serif",
        "font.sans-serif": [name],
        # the font's own weight: any other makes matplotlib warn on every size it measures
        "font.weight": weight,
        "axes.labelweight": weight,
        "font.size": 10,
        "text.parse_math": False,
        "axes.unicode_minus": False,  # the CJK fonts lack U+2212: a hyphen, not a warning per label
        "axes.spines.top": False,
        "axes.spines.right": False,
    }


@functools.cache
def _measuring_font() -> tuple[str, int | str]:
    """The first CJK font of CJK_FONTS the machine has, to measure Chinese labels with; else matplotlib's own.

    matplotlib lists the machine's fonts once and keeps the list until its own version changes, so a CJK font
    installed after that (a package added to a running host) is looked for among the machine's fonts too."""
    fonts = _cjk_fonts()
    if not fonts:
        _add_unlisted_fonts()
        fonts = _cjk_fonts()
    return next(((name, fonts[name]) for name in CJK_FONTS if name in fonts), ("DejaVu Sans", "normal"))


def _cjk_fonts() -> dict[str, int | str]:
    return {f.name: f.weight for f in font_manager.fontManager.ttflist if f.name in CJK_FONTS}


def _add_unlisted_fonts() -> None:
    """Add the machine's fonts matplotlib's list lacks."""
    listed = {f.fname for f in font_manager.fontManager.ttflist}
    for path in font_manager.findSystemFonts():
        if path not in listed:
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):  # a file FreeType cannot read is no font to measure with
                continue


def _svg(figure: Figure) -> str:
    out = StringIO()
    figure.savefig(out, format="svg", metadata={"Creator": None, "Date": None, "Format": None, "Type": None})
    return _NAMESPACES.sub("", _PROLOG.sub("", out.getvalue()), count=2).strip()


def _height(cell: object) -> float:
    """A count cell as a bar's height (a plotting coordinate, which matplotlib takes as a float): a missing number
    draws no bar (NaN), never a zero."""
    return float(cell) if isinstance(cell, int) else float("nan")


def _heights_in_wan(cells: Iterable[object]) -> npt.NDArray[np.object_]:
    """Amount cells (fen) as bars' heights on a 万元 axis, kept Decimal (matplotlib converts them as it draws); a
    missing amount draws no bar (NaN). The amounts written on the chart are `amounts.wan`'s."""
    return np.array([in_wan(c) if isinstance(c, int) else Decimal("NaN") for c in cells], dtype=object)


def _label(axes: Axes, bars: object, texts: Sequence[str]) -> None:
    axes.bar_label(bars, labels=list(texts), padding=2, fontsize=8, color="#333333")  # type: ignore[arg-type]


def _number(cell: object) -> str:
    return f"{cell:,}" if isinstance(cell, int) else "缺"


def _amount(cell: object) -> str:
    """An amount as the sentences write it ("1.01万元", "40元")."""
    return wan(cell) if isinstance(cell, int) else "缺"


def _legend(axes: Axes) -> None:
    axes.legend(frameon=False, loc="lower right", bbox_to_anchor=(1, 1), ncols=2)


def _name(cell: object) -> str:
    return "缺" if cell is None else str(cell)


def _rate(basis_points: object) -> str:
    return f"{basis_points / 100:.1f}%" if isinstance(basis_points, int) else "缺"


def _people(cell: object) -> str:
    return f"{cell:,}人" if isinstance(cell, int) else "人数缺"


def _rectification(axes: Axes, rows: list[Row]) -> None:
    places = range(len(rows))
    found = axes.bar([p - 0.2 for p in places], [_height(r["found"]) for r in rows], 0.4, color=RED, label="发现问题")
    fixed = axes.bar([p + 0.2 for p in places], [_height(r["rectified"]) for r in rows], 0.4, color=BLUE,
                     label="整改到位")  # fmt: skip
    _label(axes, found, [_number(r["found"]) for r in rows])
    _label(axes, fixed, [_number(r["rectified"]) for r in rows])
    names = [f"{_name(r['township'])}\n整改率 {_rate(r['rectification_rate_bp'])}" for r in rows]
    _categories(axes, names)
    axes.set_ylabel("问题数(个)")
    _legend(axes)
    axes.margins(y=0.12)


def _programmes(axes: Axes, rows: list[Row]) -> None:
    rows = sorted(rows, key=lambda r: _height(r["amount_fen"]) if isinstance(r["amount_fen"], int) else -1)
    bars = axes.barh(range(len(rows)), _heights_in_wan(r["amount_fen"] for r in rows), color=RED)
    _label(axes, bars, [f"{_amount(r['amount_fen'])} / {_people(r['people'])}" for r in rows])
    _categories(axes, [_name(r["programme"]) for r in rows], across=False)
    axes.set_xlabel("发放金额(万元)")
    axes.margins(x=0.3)


def _funds(axes: Axes, rows: list[Row]) -> None:
    places = range(len(rows))
    given = axes.bar([p - 0.2 for p in places], _heights_in_wan(r["allocated_fen"] for r in rows), 0.4, color=GREY,
                     label="下达")  # fmt: skip
    spent = axes.bar([p + 0.2 for p in places], _heights_in_wan(r["spent_fen"] for r in rows), 0.4, color=RED,
                     label="支出")  # fmt: skip
    _label(axes, given, [_amount(r["allocated_fen"]) for r in rows])
    _label(axes, spent, [_amount(r["spent_fen"]) for r in rows])
    _categories(axes, [_name(r["source"]) for r in rows])
    axes.set_ylabel("万元")
    _legend(axes)
    axes.margins(y=0.18)


def _visits(axes: Axes, rows: list[Row]) -> None:
    bars = axes.bar(range(len(rows)), [_height(r["households"]) for r in rows], 0.55, color=BLUE)
    _label(axes, bars, [_number(r["households"]) for r in rows])
    _categories(axes, [_name(r["round"]) for r in rows])
    axes.set_ylabel("户数")
    axes.margins(y=0.18)


def _categories(axes: Axes, names: list[str], across: bool = True) -> None:
    """One tick per row, each in view: a row whose number is missing keeps its place, with no bar."""
    places, limits = list(range(len(names))), (-0.5, len(names) - 0.5)
    if across:
        axes.set_xticks(places, names)
        axes.set_xlim(*limits)
    else:
        axes.set_yticks(places, names)
        axes.set_ylim(*limits)


_DRAWERS: dict[str, Callable[[Axes, list[Row]], None]] = {
    "rectification_by_township": _rectification,
    "paid_by_programme": _programmes,
    "funds_by_source": _funds,
    "visits_by_round": _visits,
}
