"""The growth benchmark's background data is what the service would have stored: seeded members' ID numbers open
with the service's vault, hash and mask as it hashes and masks them, the rows fit the tables, and no generated
file or seed ever repeats a number."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy import func, insert, select

from services.households.models import Household, HouseholdChange, Member
from services.households.rules.idcard import mask, normalize_id_number
from services.households.settings import HouseholdsConfig, HouseholdsSettings
from shared.db import create_engine

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))  # the benchmarks import their neighbours
seed = importlib.import_module("_growth_seed")
generator = importlib.import_module("_households_file")
REGION, household_tables = seed.REGION, seed.household_tables
SIZES, id_number, member_index = generator.SIZES, generator.id_number, generator.member_index


def test_seeded_members_are_sealed_as_the_service_seals_them() -> None:
    vault = HouseholdsConfig.from_settings(HouseholdsSettings()).vault
    members = household_tables(range(100, 140), vault)["member"]
    for member in members:
        number = vault.open(member["id_kid"], member["id_ciphertext"], member_id=member["id"])
        assert normalize_id_number(number) == number
        assert number.startswith(REGION)
        assert member["id_hash"] == vault.keyed_hash(number)
        assert member["id_masked"] == mask(number)
    assert len({m["id_hash"] for m in members}) == len(members)


def test_generated_numbers_never_repeat_from_one_file_to_the_next() -> None:
    indexes = [member_index(h, m) for h in range(3_000) for m in range(SIZES[h % len(SIZES)])]
    assert indexes == list(range(len(indexes)))  # each household's members follow the previous household's
    assert len({id_number(n)[0] for n in indexes}) == len(indexes)


async def test_seeded_rows_fit_the_tables(sqlite_url: Callable[[str], Awaitable[str]]) -> None:
    engine = create_engine(await sqlite_url("households"))
    tables = household_tables(range(8), HouseholdsConfig.from_settings(HouseholdsSettings()).vault)
    try:
        async with engine.begin() as conn:
            for model in (Household, Member, HouseholdChange):
                await conn.execute(insert(model), tables[str(model.__tablename__)])
            assert await conn.scalar(select(func.count()).select_from(Member)) == sum(SIZES)
    finally:
        await engine.dispose()
