"""How many of a thing one record may hold: the bounds the read models state as `maxItems`.

Each is either guaranteed by what the input allows (and nothing adds later) or enforced by the domain with a 409
(`RuleViolation`) that changes nothing; a response therefore never holds more than its schema says.
"""

from __future__ import annotations

from shared.contracts.households import RiskKind

MAX_MEMBERS = 30
"""Members of one household (registration takes at most this many, adding one more is refused)."""

HOUSEHOLD_GAPS = 3
"""Gaps of the household as a whole: income, housing and water, at most one each."""

MEMBER_GAPS = 2
"""Gaps of one member: schooling and medical cover, at most one each."""

MAX_GAPS = HOUSEHOLD_GAPS + MEMBER_GAPS * MAX_MEMBERS
"""Gaps an assessment can find: the household's, and each member's."""

MAX_INCOME_RECORDS_PER_YEAR = 100
"""Income records of one household for one year; recording one more is refused."""

MAX_EPISODE_FLAGS = len(RiskKind)
"""Risk flags of one monitoring episode: it takes each kind once."""

MAX_EPISODE_MEASURES = 200
"""Help measures of one monitoring episode; recording one more is refused."""

AREA_CHILD_DIGITS = 3
MAX_AREA_PARTS = 10**AREA_CHILD_DIGITS
"""Areas one level below an area (townships of a district, villages of a township): three more digits of code."""

DEPARTMENT_MAX_ROWS_CEILING = 10_000
"""The most rows per department submission any configuration may allow (`department_max_rows`)."""

MAX_ERRORS_PER_ROW = 20
"""A refused row's errors reported; a row invalid in more ways reports its first ones."""

MAX_BATCH_ERRORS = DEPARTMENT_MAX_ROWS_CEILING * MAX_ERRORS_PER_ROW
"""Errors one department submission's report can hold."""
