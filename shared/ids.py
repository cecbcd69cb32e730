"""Identifiers of stored rows and of events: time-ordered UUIDs (RFC 9562, version 7).

A random UUID (version 4) lands a new row at a random place of its primary key's index and of every index on a column
holding it (a member's `household_id`, the inbox's event ids): once those indexes outgrow the database's memory,
each insert reads a page back and writes it whole to the WAL after every checkpoint. A version 7 UUID begins with the
millisecond it was made, so new rows gather at one end of those indexes, whatever their size.

The other 74 bits are random (from `os.urandom`): fewer than a version 4 id's 122, still far beyond guessing one
that exists. What an id discloses is the millisecond its row or event was made. For most rows their own timestamps
(registered, opened, occurred) say so anyway; for some (a member, a visit's problem, a batch line) the id is now the
only record of when the row was entered, and member ids travel in events. The millisecond is read from the
machine's clock, not given as use cases are given the time: an id made while a use case runs at another time still
carries the machine's, and ordering by id now orders by when rows were made.
"""

from __future__ import annotations

import os
import time
from uuid import UUID

_VERSION_7 = 0x7 << 76
_VARIANT_RFC = 0b10 << 62
_MS_BITS, _RAND_A_BITS, _RAND_B_BITS = 48, 12, 62


def uuid7() -> UUID:
    """A new time-ordered UUID: the Unix time in milliseconds, the version, then 74 random bits."""
    ms = time.time_ns() // 1_000_000 & ((1 << _MS_BITS) - 1)
    random = int.from_bytes(os.urandom(10), "big")
    rand_a = random >> (80 - _RAND_A_BITS)
    rand_b = random & ((1 << _RAND_B_BITS) - 1)
    return UUID(int=ms << 80 | _VERSION_7 | rand_a << 64 | _VARIANT_RFC | rand_b)
