"""The raw libraries doing audit's writes (`consumer_throughput.py --paths raw_audit,raw_audit_late`): what audit's
handler writes for the benchmark's problem (a D-grade house), built from the record with the standard library and
written with bare asyncpg, in the caller's transaction: the baseline that does `audit`'s work, where `raw_asyncpg`
writes one narrow row a record.

Per record, as the `audit` path writes them (rows counted in `pg_stat_user_tables` after a run): its inbox row, a
finding, its rectification task, its discipline referral, three outbox events (`FindingRecorded`,
`RectificationOpened`, `DisciplineReferralMade`, payloads as audit serializes them) and four entries of the log (the
event received, and one for each event published, with the facts audit logs), chained with sha256 as
`services/audit/rules/ledger.py` states the chain, under the log's advisory lock (the key audit's writers take, then
the head read: two statements where audit's function makes one round trip).

A problem reported more than `late_report_days` (audit's settings' default) after it was found, as `audit_late` and
`audit_findings.py` send them, also opens a finding of late reporting (迟报, `rules.responsibility.late_reporting`)
and its task: per record two findings, two tasks, one referral, five outbox events and six log entries. Late is
decided as audit decides it: the day found against the district day of the envelope's time, neither after the day the
record is applied; and, as in audit, no deadline is before the moment it is applied (the severe task of a problem
found long ago is due at once). Only this problem's cases: severity, deadline, owner, responsible unit and referral
reason are those audit's rules give them, written down here; no look-up of open findings or area officers (the
benchmark's areas have none: the township office answers), no validation of the event beyond `json.loads`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID

from services.audit.domain.ledger import LEDGER_LOCK_KEY
from services.audit.rules.responsibility import LATE_REPORTING, LATE_REPORTING_SEVERITY
from services.audit.settings import AuditSettings
from shared.contracts import AUDIT_TOPIC
from shared.contracts.audit import DisciplineReferralMade, FindingRecorded, RectificationOpened
from shared.contracts.households import ProblemCategory
from shared.ids import uuid7
from shared.messaging.cloudevents import binary_headers
from shared.timeutil import DISTRICT_TZ

SEVERE = "severe"  # a D-grade house (`rules.findings.classify`)
REFERRAL_REASON = "severe_finding"  # referred at opening (`rules.referrals`)
SEVERE_DAYS = AuditSettings.model_fields["deadline_days_severe"].default
# Late reporting (迟报): a finding of conduct, serious (stated so by `late_reporting`), on the term of its severity.
LATE_REPORT_DAYS = AuditSettings.model_fields["late_report_days"].default
LATE_SEVERITY = LATE_REPORTING_SEVERITY.value
LATE_DAYS = AuditSettings.model_fields["deadline_days_serious"].default
CONDUCT = ProblemCategory.CONDUCT.value
SOURCE = "/services/audit"
# No tracing here: a traceparent of the width the platform's rows carry (its spans' context).
TRACEPARENT = "00-135d5e9a70c64209acd0cac36f43c596-e7bf1a87e069f83f-02"
GENESIS_HASH = "0" * 64
# One encoder each, built once: `json.dumps` with options builds a new one per call.
_PAYLOAD_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_SORTED_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)

CLAIM = (
    "INSERT INTO inbox (consumer, event_id, event_type, processed_at)"
    " SELECT $1, claimed.event_id, claimed.event_type, $4"
    " FROM unnest($2::varchar[], $3::varchar[]) AS claimed (event_id, event_type)"
    " ON CONFLICT DO NOTHING RETURNING event_id"
)
INSERT_FINDING = (
    "INSERT INTO finding (id, subject_kind, subject_id, area_code, category, code, severity, description, status,"
    " occurrences, source_ref, opened_at, last_seen_at, responsible_unit, found_on, evidence, referred_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
)
INSERT_TASK = (
    "INSERT INTO rectificationtask (id, finding_id, owner, deadline, status, opened_at, starters, reopen_count)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
)
INSERT_REFERRAL = (
    "INSERT INTO disciplinereferral (id, finding_id, reason, severity, referred_at) VALUES ($1, $2, $3, $4, $5)"
)
INSERT_OUTBOX = (
    "INSERT INTO outbox (event_id, topic, key, event_type, source, occurred_at, payload, traceparent)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
)
LOCK_LOG = "SELECT pg_advisory_xact_lock($1)"
LOG_HEAD = "SELECT seq, entry_hash, recorded_at FROM ledger_entry ORDER BY seq DESC LIMIT 1"
INSERT_ENTRY = (
    "INSERT INTO ledger_entry (seq, recorded_at, source, event_type, payload_hash, prev_hash, entry_hash, facts)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
)
WAKE_RELAY = "SELECT pg_notify('outbox', '')"  # as the platform's commit of outbox rows does
MARK_PUBLISHED = "UPDATE outbox SET published_at = now() WHERE event_id = ANY($1::varchar[])"
LogItem = tuple[str, str, str, str | None]  # source, event type, payload hash, facts: chained at the end


@dataclass
class Rows:
    """A fetch's rows, table by table; its log entries unchained until the log's lock is held."""

    findings: list[tuple[Any, ...]] = field(default_factory=list)
    tasks: list[tuple[Any, ...]] = field(default_factory=list)
    referrals: list[tuple[Any, ...]] = field(default_factory=list)
    outbox: list[tuple[Any, ...]] = field(default_factory=list)
    log: list[LogItem] = field(default_factory=list)

    def publish(self, event_type: str, key: UUID, data: dict[str, Any], facts: dict[str, Any], now: datetime) -> None:
        """An outbox event and its log entry (`audit:<change>/<event id>`, with the facts it leaves)."""
        event_id = str(uuid7())
        payload = _PAYLOAD_JSON.encode(data)
        self.outbox.append((event_id, AUDIT_TOPIC, str(key), event_type, SOURCE, now, payload, TRACEPARENT))
        source = f"audit:{event_type.split('.')[3]}/{event_id}"
        self.log.append((source, event_type, _sha256(payload.encode()), _SORTED_JSON.encode(facts)))


@dataclass(frozen=True)
class Problem:
    """What a finding opens on, as audit records it: its subject, the problem, the day it was found, and the days its
    task's term runs after that day (by severity)."""

    subject: str
    area: str
    category: str
    code: str
    severity: str
    description: str
    source_ref: str
    found_on: date
    term_days: int


def add_problem(rows: Rows, record: Any, event_id: str, event_type: str, reported_at: datetime, now: datetime) -> None:
    """The rows one `HouseholdProblemFound` record makes, reported at `reported_at` (its envelope's time): the severe
    finding, its task and referral; reported late, also the finding of late reporting and its task
    (`domain.findings.record_finding`). Neither day is after the day the record is applied, as in audit."""
    rows.log.append((f"{record.topic}/{event_id}", event_type, _sha256(record.value), None))
    problem, today = json.loads(record.value), _district_day(now)
    found_on = min(date.fromisoformat(problem["found_on"]), today)
    severe = Problem(
        subject=problem["household_id"],
        area=problem["area_code"],
        category=problem["category"],
        code=problem["code"],
        severity=SEVERE,
        description=problem["description"],
        source_ref=problem["problem_id"],
        found_on=found_on,
        term_days=SEVERE_DAYS,
    )
    finding_id = open_finding(rows, severe, now)
    refer(rows, finding_id, severe.subject, now)
    reported_on = min(_district_day(reported_at), today)
    if (reported_on - found_on).days > LATE_REPORT_DAYS:  # `rules.responsibility.days_late`
        open_finding(rows, late_reporting(severe, finding_id, reported_on), now)


def late_reporting(problem: Problem, finding_id: UUID, reported_on: date) -> Problem:
    """The finding of late reporting (迟报) `problem` opens (`rules.responsibility.late_reporting`): on the same
    subject, found the day it was reported, its source the finding reported late (once per finding); the problem's
    code and both days in its description."""
    waited = (reported_on - problem.found_on).days
    description = (
        f"Problem {problem.code} was found on {problem.found_on.isoformat()} and reported on "
        f"{reported_on.isoformat()}, {waited} days later."
    )
    return replace(
        problem,
        category=CONDUCT,
        code=LATE_REPORTING,
        severity=LATE_SEVERITY,
        description=description,
        source_ref=str(finding_id),
        found_on=reported_on,
        term_days=LATE_DAYS,
    )


def open_finding(rows: Rows, problem: Problem, now: datetime) -> UUID:
    """A finding and its task, with their events; returns the finding's id. The township office answers for it and
    owns the task (no person named, no officer set); a severe finding, referred at opening, carries its referral
    date from the start. The deadline is the end of the district day the term ends, never before `now`
    (`rules.responsibility.deadline`: a problem found longer ago than its term is overdue at once)."""
    finding_id, task_id = uuid7(), uuid7()
    owner = f"township_office:{problem.area[:9]}"
    term_ends = problem.found_on + timedelta(days=problem.term_days)
    deadline = max(datetime.combine(term_ends, time(23, 59, 59), DISTRICT_TZ), now)
    referred_at = now if problem.severity == SEVERE else None
    what = (finding_id, "household", problem.subject, problem.area, problem.category, problem.code, problem.severity)
    state = ("open", 1, problem.source_ref, now, now, owner, problem.found_on, "[]", referred_at)
    rows.findings.append((*what, problem.description, *state))
    rows.tasks.append((task_id, finding_id, owner, deadline, "open", now, "[]", 0))
    about = _about(finding_id, problem.subject)
    recorded: dict[str, Any] = {**about, "area_code": problem.area, "category": problem.category, "code": problem.code}
    recorded |= {"severity": problem.severity, "description": problem.description, "responsible": None}
    recorded["found_on"] = problem.found_on.isoformat()
    finding_facts = {"severity": problem.severity, "status": "open"}
    rows.publish(FindingRecorded.event_type, finding_id, recorded, {f"finding/{finding_id}": finding_facts}, now)
    opened = {**about, "task_id": str(task_id), "owner": owner, "deadline": _json_moment(deadline)}
    task_facts = {"deadline": _moment(deadline), "finding_id": str(finding_id), "status": "open"}
    rows.publish(RectificationOpened.event_type, finding_id, opened, {f"task/{task_id}": task_facts}, now)
    return finding_id


def refer(rows: Rows, finding_id: UUID, subject: str, now: datetime) -> None:
    """A severe finding's referral at opening (`rules.referrals`), and its event."""
    referral_id = uuid7()
    rows.referrals.append((referral_id, finding_id, REFERRAL_REASON, SEVERE, now))
    referred = {**_about(finding_id, subject), "referral_id": str(referral_id), "reason": REFERRAL_REASON}
    referral_facts = {"finding_id": str(finding_id), "reason": REFERRAL_REASON}
    rows.publish(
        DisciplineReferralMade.event_type, finding_id, referred, {f"referral/{referral_id}": referral_facts}, now
    )


def chained(log: list[LogItem], head: Any, now: datetime) -> list[tuple[Any, ...]]:
    """The log's rows appending `log` after `head` (None: the log is empty), all recorded at `now` (never before the
    head): entry_hash = sha256 of the entry's fields as sorted, compact JSON (`rules/ledger.py`'s canonical form)."""
    seq, prev_hash = (head["seq"], head["entry_hash"]) if head else (0, GENESIS_HASH)
    recorded_at = max(now, head["recorded_at"]) if head else now
    stamp = _moment(recorded_at)
    entries = []
    for source, event_type, payload_hash, facts in log:
        seq += 1
        canonical = {"event_type": event_type, "payload_hash": payload_hash, "prev_hash": prev_hash}
        canonical |= {"recorded_at": stamp, "seq": seq, "source": source}
        if facts is not None:
            canonical["facts"] = facts
        entry_hash = _sha256(_SORTED_JSON.encode(canonical).encode())
        entries.append((seq, recorded_at, source, event_type, payload_hash, prev_hash, entry_hash, facts))
        prev_hash = entry_hash
    return entries


async def write(connection: Any, consumer: str, records: list[Any]) -> Rows:
    """Apply a fetch's records not applied before (the inbox's claim, as the platform's: one statement returning the
    new ids), in the caller's transaction; the log's lock is taken last, as audit does. Returns the rows written."""
    now = datetime.now(UTC)
    headers = [dict(r.headers) for r in records]
    ids = [h["ce_id"].decode() for h in headers]
    types = [h["ce_type"].decode() for h in headers]
    claimed = {row[0] for row in await connection.fetch(CLAIM, consumer, ids, types, now)}
    rows = Rows()
    if not claimed:
        return rows
    for record, header, id_, type_ in zip(records, headers, ids, types, strict=True):
        if id_ in claimed:
            add_problem(rows, record, id_, type_, datetime.fromisoformat(header["ce_time"].decode()), now)
    await connection.executemany(INSERT_FINDING, rows.findings)
    await connection.executemany(INSERT_TASK, rows.tasks)
    await connection.executemany(INSERT_REFERRAL, rows.referrals)
    await connection.executemany(INSERT_OUTBOX, rows.outbox)
    await connection.execute(LOCK_LOG, LEDGER_LOCK_KEY)
    head = await connection.fetchrow(LOG_HEAD)  # its own statement: a snapshot taken once the lock is granted
    await connection.executemany(INSERT_ENTRY, chained(rows.log, head, datetime.now(UTC)))
    await connection.execute(WAKE_RELAY)
    return rows


Sent = asyncio.Queue[tuple[list[Any], list[str], dict[Any, int]]]  # acknowledgements, event ids, offsets


async def apply_and_relay(
    connections: tuple[Any, Any], consumer: Any, producer: Any, out_topic: str, name: str
) -> None:
    """Until cancelled: each fetch's records written in one transaction on the first connection (`write`) and its
    outbox events handed to the producer, then the next fetch; beside it, in fetch order, the events'
    acknowledgements awaited, their rows marked published on the second connection and the fetch's offsets committed
    (`_acknowledge`). As in the platform, applying a fetch overlaps sending the last one's events; there is no relay
    wake-up, pass or lock: the events are sent by the process that wrote them."""
    connection, marking = connections
    sent: Sent = asyncio.Queue()
    acknowledging = asyncio.create_task(_acknowledge(sent, marking, consumer))
    try:
        while True:
            batches = await consumer.getmany(timeout_ms=100, max_records=500)
            records = [r for rs in batches.values() for r in rs]
            if not records:
                continue
            async with connection.transaction():
                rows = await write(connection, name, records)
            acks = [await producer.send(out_topic, *_as_record(row)) for row in rows.outbox]
            offsets = {tp: rs[-1].offset + 1 for tp, rs in batches.items()}
            sent.put_nowait((acks, [row[0] for row in rows.outbox], offsets))
    finally:
        acknowledging.cancel()
        await asyncio.gather(acknowledging, return_exceptions=True)


async def _acknowledge(sent: Sent, marking: Any, consumer: Any) -> None:
    while True:
        acks, event_ids, offsets = await sent.get()
        await asyncio.gather(*acks)
        await marking.execute(MARK_PUBLISHED, event_ids)
        await consumer.commit(offsets)


def _as_record(row: tuple[Any, ...]) -> tuple[bytes, bytes, None, None, list[tuple[str, bytes]]]:
    """An outbox row's value, key and CloudEvents headers, as the relay sends it (`send`'s positional value, key,
    partition, timestamp, headers)."""
    event_id, _topic, key, event_type, source, occurred_at, payload, traceparent = row
    headers = binary_headers(event_id, event_type, source, key, occurred_at, traceparent)
    return payload.encode(), key.encode(), None, None, headers


async def log_head(connection: Any) -> int:
    """The log's last sequence number (0: empty)."""
    seq: int = await connection.fetchval("SELECT coalesce(max(seq), 0) FROM ledger_entry")
    return seq


async def remove(connection: Any, consumer: str, findings: list[UUID], after_seq: int) -> None:
    """Delete what a pass wrote, so that the next pass (the same records, the same open findings' subjects) and the
    paths after it start from the same tables. The log refuses DELETE (its triggers): they are skipped for this
    transaction (`session_replication_role`, a superuser's: the benchmark's scratch database), and only the tail the
    pass appended goes, so the chain before it stays whole. Vacuumed, so no autovacuum of these deletes runs into the
    next path's clock."""
    async with connection.transaction():
        await connection.execute("SET LOCAL session_replication_role = replica")
        await connection.execute("DELETE FROM disciplinereferral WHERE finding_id = ANY($1::uuid[])", findings)
        await connection.execute("DELETE FROM rectificationtask WHERE finding_id = ANY($1::uuid[])", findings)
        await connection.execute("DELETE FROM outbox WHERE key = ANY($1::varchar[])", [str(f) for f in findings])
        await connection.execute("DELETE FROM finding WHERE id = ANY($1::uuid[])", findings)
        await connection.execute("DELETE FROM ledger_entry WHERE seq > $1", after_seq)
        await connection.execute("DELETE FROM inbox WHERE consumer = $1", consumer)
    await connection.execute("VACUUM finding, rectificationtask, disciplinereferral, outbox, ledger_entry, inbox")


def _about(finding_id: UUID, subject: str) -> dict[str, str]:
    """The fields every event of a finding starts with."""
    return {"finding_id": str(finding_id), "subject_kind": "household", "subject_id": subject}


def _district_day(moment: datetime) -> date:
    """The district's calendar day at `moment` (`rules.periods.district_day`)."""
    return moment.astimezone(DISTRICT_TZ).date()


def _json_moment(value: datetime) -> str:
    """A time as pydantic serializes it in an event's payload: ISO 8601, "Z" for UTC (a deadline that is now)."""
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _moment(value: datetime) -> str:
    """A time as the log's hash and facts state it: UTC, ISO 8601 with microseconds."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
