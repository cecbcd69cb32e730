"""Row and event ids: RFC 9562 version 7, ordered by the millisecond they were made, random after it."""

from __future__ import annotations

import time
from uuid import RFC_4122

from shared.ids import uuid7


def test_an_id_is_a_version_7_uuid_of_the_rfc_variant() -> None:
    made = uuid7()
    assert (made.version, made.variant) == (7, RFC_4122)


def test_an_id_begins_with_the_millisecond_it_was_made() -> None:
    before = time.time_ns() // 1_000_000
    made = uuid7()
    after = time.time_ns() // 1_000_000
    assert before <= made.int >> 80 <= after


def test_ids_made_in_later_milliseconds_sort_after_earlier_ones() -> None:
    earlier = [uuid7() for _ in range(100)]
    time.sleep(0.002)
    later = [uuid7() for _ in range(100)]
    assert max(earlier) < min(later)


def test_ids_differ_in_every_random_field() -> None:
    made = [uuid7() for _ in range(10_000)]
    assert len(set(made)) == len(made)
    rand_a, rand_b = {u.int >> 64 & 0xFFF for u in made}, {u.int & ((1 << 62) - 1) for u in made}
    assert len(rand_b) == len(made)
    assert len(rand_a) > 1000  # 12 bits: 4,096 values, nearly all drawn among 10,000 ids
