"""The households file the import benchmark generates: N households of 1-5 members (3 on average), each member's
ID number unique among every member the generator writes, whichever household numbers a file starts from.
"""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

from services.households.domain.imports.rows import OPTIONAL, REQUIRED
from shared.personal_data import check_digit

TOWNSHIPS = ("371523101", "371523102", "371523103", "371523104", "371523105")
SURNAMES = "王李张刘陈杨赵黄周吴"
GIVEN = ("秀英", "桂兰", "玉珍", "凤英", "淑珍", "建国", "德明", "志强", "海燕", "春梅")
SIZES = (1, 2, 3, 4, 5, 3, 2, 4)  # members per household, 3 on average
FIRST_BIRTH = date(1930, 1, 1)
BIRTH_DAYS = 30_000  # birth dates spread over ~82 years; the sequence digits keep ID numbers unique
DISABLED_EVERY = 20  # one member in twenty holds a disability certificate
DISABILITY = {"disability_type": "physical", "disability_grade": "3", "disability_certified_on": "2019-05-06"}


def member_index(household: int, member: int) -> int:
    """The member's number among every member the generator ever writes: a file of later households (the import
    benchmark continues after the last household it imported into a kept database) never repeats a number."""
    cycle, at = divmod(household, len(SIZES))
    return cycle * sum(SIZES) + sum(SIZES[:at]) + member


def id_number(n: int, region: str = "371523") -> tuple[str, date]:
    """The n-th member's (unique) ID number and birth date."""
    born = FIRST_BIRTH + timedelta(days=n % BIRTH_DAYS)
    first17 = f"{region}{born:%Y%m%d}{n // BIRTH_DAYS:03d}"
    return first17 + check_digit(first17), born


def household_code(h: int) -> str:
    return f"BM-{h:07d}"


def write_csv(path: Path, households: range) -> int:
    """Stream `households` (their numbers) to `path`, row by row; returns the number of member rows."""
    rows = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=[*REQUIRED, *OPTIONAL], restval="")
        writer.writeheader()
        for h in households:
            area = f"{TOWNSHIPS[h % len(TOWNSHIPS)]}{h // len(TOWNSHIPS) % 60 + 1:03d}"
            head = SURNAMES[h % 10] + GIVEN[h // 10 % 10]
            for m in range(SIZES[h % len(SIZES)]):
                n = member_index(h, m)
                number, born = id_number(n)
                writer.writerow(
                    {
                        "household_code": household_code(h),
                        "area_code": area,
                        "head_name": head,
                        "member_name": head if m == 0 else SURNAMES[h % 10] + GIVEN[(h + m) % 10],
                        "relationship_to_head": "head" if m == 0 else ("spouse" if m == 1 else "son"),
                        "birth_date": born.isoformat(),
                        "id_number": number,
                        "medical_insured": "true" if (h + m) % 7 else "false",
                        "labour_capacity": "able",
                        **(DISABILITY if n % DISABLED_EVERY == 0 else {}),
                    }
                )
                rows += 1
    return rows
