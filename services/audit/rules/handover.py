"""The weekly handover package for the discipline commission (每周线索移交): which referrals it holds, the heads of
the tamper-evident log anchored during the week, and the package as JSON, CSV and a readable Markdown document
(times in Asia/Shanghai)."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from services.audit.models import DisciplineReferral, Finding, RectificationTask
from services.audit.rules.documents import markdown_cell, spreadsheet_safe
from services.audit.rules.periods import IsoWeek
from shared.areas import township_of
from shared.contracts.audit import Severity
from shared.timeutil import DISTRICT_TZ

# Severity as referred: a later regrading changes no package already handed over.
HANDED_OVER = (Severity.SERIOUS, Severity.SEVERE)
# The most anchors a package holds: the week's newest (each one vouches for every entry before it).
MAX_PACKAGE_ANCHORS = 1000
# The most leads a package is handed out with as one JSON document; a larger week is read by pages
# (`/v1/handover-packages/{week}/referrals`), or as CSV or Markdown.
MAX_PACKAGE_LEADS = 10_000


@dataclass(frozen=True)
class Lead:
    """One lead (线索) of the package; times in the district's zone."""

    referral_id: str
    referred_at: str
    reason: str
    finding_id: str
    severity: str
    category: str
    code: str
    subject_kind: str
    subject_id: str
    township: str
    area_code: str
    description: str
    occurrences: int
    responsible_unit: str
    responsible_person: str
    owner: str
    task_status: str
    deadline: str


FIELDS = tuple(Lead.__dataclass_fields__)


@dataclass(frozen=True)
class Anchor:
    """A head of the log anchored during the week: with the package, the commission holds it outside audit's
    database (`poverty verify-ledger --anchors <package.json>` checks the log against it)."""

    seq: int
    entry_hash: str
    recorded_at: str
    anchored_at: str


@dataclass(frozen=True)
class HandoverPackage:
    week: IsoWeek
    generated_at: datetime
    leads: tuple[Lead, ...]
    anchors: tuple[Anchor, ...] = ()


def _local(moment: datetime) -> str:
    return moment.astimezone(DISTRICT_TZ).isoformat(timespec="seconds")


def anchor_of(seq: int, entry_hash: str, recorded_at: datetime, anchored_at: datetime) -> Anchor:
    return Anchor(seq, entry_hash, _local(recorded_at), _local(anchored_at))


def lead_of(referral: DisciplineReferral, finding: Finding, task: RectificationTask | None) -> Lead:
    return Lead(
        referral_id=str(referral.id),
        referred_at=_local(referral.referred_at),
        reason=referral.reason,
        finding_id=str(finding.id),
        severity=referral.severity,
        category=finding.category,
        code=finding.code,
        subject_kind=finding.subject_kind,
        subject_id=finding.subject_id,
        township=township_of(finding.area_code),
        area_code=finding.area_code,
        description=finding.description,
        occurrences=finding.occurrences,
        responsible_unit=finding.responsible_unit or "",
        responsible_person=finding.responsible_person or "",
        owner=task.owner if task else "",
        task_status=task.status if task else "",
        deadline=_local(task.deadline) if task else "",
    )


@dataclass(frozen=True)
class PackageTotals:
    """A package's leads counted: in all, by reason, by severity (as referred) and by township (keys sorted)."""

    total: int
    by_reason: dict[str, int]
    by_severity: dict[str, int]
    by_township: dict[str, int]


def totals_of(counts: Iterable[tuple[str, str, str, int]]) -> PackageTotals:
    """The totals of (reason, severity, township, how many) counts."""
    reasons: Counter[str] = Counter()
    severities: Counter[str] = Counter()
    townships: Counter[str] = Counter()
    for reason, severity, township, n in counts:
        reasons[reason] += n
        severities[severity] += n
        townships[township] += n
    return PackageTotals(
        total=reasons.total(),
        by_reason=dict(sorted(reasons.items())),
        by_severity=dict(sorted(severities.items())),
        by_township=dict(sorted(townships.items())),
    )


def to_json(package: HandoverPackage) -> dict[str, Any]:
    """The package as a JSON document, with totals by reason, severity and township."""
    leads = package.leads
    return {
        "week": package.week.label,
        "from": package.week.monday.isoformat(),
        "to": package.week.sunday.isoformat(),
        "timezone": "Asia/Shanghai",
        "generated_at": _local(package.generated_at),
        **asdict(totals_of((lead.reason, lead.severity, lead.township, 1) for lead in leads)),
        "leads": [asdict(lead) for lead in leads],
        "anchors": [asdict(anchor) for anchor in package.anchors],
    }


def to_csv(package: HandoverPackage) -> str:
    """One line per lead, with a header line (RFC 4180, CRLF line ends)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=FIELDS)
    writer.writeheader()
    writer.writerows({k: spreadsheet_safe(v) for k, v in asdict(lead).items()} for lead in package.leads)
    return out.getvalue()


def to_markdown(package: HandoverPackage) -> str:
    """The package as a document a person reads: a summary line and one table row per lead."""
    week, leads = package.week, package.leads
    counts = Counter(lead.severity for lead in leads)
    lines = [
        f"# 线索移交 Weekly handover to the discipline commission — {week.label}",
        "",
        f"Week {week.monday.isoformat()} to {week.sunday.isoformat()} (Asia/Shanghai);"
        f" generated {_local(package.generated_at)}.",
        f"Leads: {len(leads)} (severe {counts[Severity.SEVERE]}, serious {counts[Severity.SERIOUS]}).",
        "",
        "| # | Referred | Reason | Severity | Category | Area | Subject | Problem | Responsible | Task |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for number, lead in enumerate(leads, start=1):
        responsible = " ".join(filter(None, (lead.responsible_unit, lead.responsible_person))) or "-"
        task = f"{lead.task_status}, due {lead.deadline[:10]}" if lead.task_status else "-"
        lines.append(
            f"| {number} | {lead.referred_at[:16].replace('T', ' ')} | {lead.reason} | {lead.severity}"
            f" | {lead.category} | {lead.area_code} | {lead.subject_kind} {markdown_cell(lead.subject_id)}"
            f" | {markdown_cell(lead.description)} | {markdown_cell(responsible)} | {task} |"
        )
    if package.anchors:
        lines += ["", "Heads of the tamper-evident log anchored this week (keep them to check the log against):", ""]
        lines += [f"- {a.anchored_at}: entry {a.seq}, sha256 `{a.entry_hash}`" for a in package.anchors]
    return "\n".join(lines) + "\n"
