"""Key rotation for ID-card numbers: `poverty rekey [--database-url URL] [--rehash]`.

Re-encrypt: every member whose number is sealed under another key id than `HOUSEHOLDS_IDCARD_ACTIVE_KID` is
re-sealed under the active key, a batch per transaction (safe to interrupt and run again; the service may
keep running). Rows a member's edit holds are waited for a while, then reported left (exit status 1): once a run
exits 0, none is left and the old key can be removed from `HOUSEHOLDS_IDCARD_KEYS`.

Rehash (`--rehash`): the keyed hashes are recomputed with the key in `HOUSEHOLDS_IDCARD_NEW_HMAC_KEY`
(environment only, never an argument). Stop the service first, run it, then set `HOUSEHOLDS_IDCARD_HMAC_KEY`
to the new key and start the service: between the two, look-ups would use the wrong key. Nothing is logged
but counts. Power holders' and their relatives' numbers are kept only as keyed hashes, which nothing can recompute:
while any is registered the rehash changes nothing and says so (exit status 1), since under a new key their
conflict-of-interest checks (优亲厚友) would silently stop matching.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from uuid import UUID

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from services.households.models import Member, PowerHolder, PowerHolderRelative
from services.households.rules.idcard import IdCardVault, parse_hmac_key
from services.households.settings import HouseholdsConfig, HouseholdsSettings
from shared.db import create_engine

BATCH = 500
NEW_HMAC_ENV = "HOUSEHOLDS_IDCARD_NEW_HMAC_KEY"
HELD_ROW_RETRIES, HELD_ROW_WAIT_S = 10, 1.0


class RowsLeft(Exception):
    """Some numbers are still sealed under an older key after the run."""


async def reencrypt(engine: AsyncEngine, vault: IdCardVault, *, batch: int = BATCH) -> tuple[int, int]:
    """Re-seal every number not under the active key: how many were re-sealed, and how many are left because other
    transactions held their rows all along (a member being edited), which a later run re-seals."""
    done = 0
    for _ in range(HELD_ROW_RETRIES):
        while resealed := await _reseal_batch(engine, vault, batch):
            done += resealed
        left = await _left_under_old_keys(engine, vault)
        if not left:
            return done, 0
        await asyncio.sleep(HELD_ROW_WAIT_S)  # the rows skipped as locked: their transactions end soon
    return done, left


def _under_old_keys(vault: IdCardVault) -> list[ColumnElement[bool]]:
    return [col(Member.id_kid).is_not(None), col(Member.id_kid) != vault.active_kid]


async def _reseal_batch(engine: AsyncEngine, vault: IdCardVault, batch: int) -> int:
    async with engine.begin() as conn:
        rows = (
            (
                await conn.execute(
                    select(col(Member.id), col(Member.id_kid), col(Member.id_ciphertext))
                    .where(*_under_old_keys(vault))
                    .limit(batch)
                    .with_for_update(skip_locked=True)
                )
            )
            .tuples()
            .all()
        )
        for member_id, kid, ciphertext in rows:
            assert kid is not None and ciphertext is not None
            number = vault.open(kid, ciphertext, member_id=member_id)
            new_kid, sealed = vault.encrypt(number, member_id=member_id)
            stmt = update(Member).where(col(Member.id) == member_id).values(id_kid=new_kid, id_ciphertext=sealed)
            await conn.execute(stmt)
    return len(rows)


async def _left_under_old_keys(engine: AsyncEngine, vault: IdCardVault) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(Member).where(*_under_old_keys(vault))) or 0)


class HashesOnly(RowsLeft):
    """Numbers known only by their keyed hash (power holders', relatives'): a new HMAC key cannot recompute them."""


async def rehash(engine: AsyncEngine, vault: IdCardVault, new: IdCardVault, *, batch: int = BATCH) -> int:
    """Recompute every keyed hash with the new HMAC key; returns how many members were rehashed. HashesOnly, with
    nothing changed, while power holders or relatives are registered by number."""
    async with engine.connect() as conn:
        holders = await conn.scalar(select(func.count()).where(col(PowerHolder.id_hash).is_not(None)))
        relatives = await conn.scalar(select(func.count()).select_from(PowerHolderRelative))
    if holders or relatives:
        raise HashesOnly(
            f"nothing rehashed: {holders} power holders and {relatives} relatives are known only by their numbers'"
            " keyed hashes, which a new key cannot recompute; their conflict-of-interest checks would stop matching"
        )
    done, after = 0, UUID(int=0)
    while True:
        async with engine.begin() as conn:
            rows = (
                (
                    await conn.execute(
                        select(col(Member.id), col(Member.id_kid), col(Member.id_ciphertext))
                        .where(col(Member.id_kid).is_not(None), col(Member.id) > after)
                        .order_by(col(Member.id))
                        .limit(batch)
                    )
                )
                .tuples()
                .all()
            )
            for member_id, kid, ciphertext in rows:
                assert kid is not None and ciphertext is not None
                keyed = new.keyed_hash(vault.open(kid, ciphertext, member_id=member_id))
                await conn.execute(update(Member).where(col(Member.id) == member_id).values(id_hash=keyed))
        done += len(rows)
        if len(rows) < batch:
            return done
        after = rows[-1][0]


def _new_vault(vault: IdCardVault) -> IdCardVault:
    raw = os.environ.get(NEW_HMAC_ENV)
    if not raw:
        raise SystemExit(f"--rehash needs the new key in {NEW_HMAC_ENV}")
    return vault.with_hmac_key(parse_hmac_key(raw))


async def run(database_url: str | None, *, rehash_too: bool) -> str:
    settings = HouseholdsSettings(database_url=database_url) if database_url else HouseholdsSettings()
    vault = HouseholdsConfig.from_settings(settings).vault
    engine = create_engine(settings.database_url)
    try:
        if rehash_too:
            return f"rehashed {await rehash(engine, vault, _new_vault(vault))} ID-card numbers"
        done, left = await reencrypt(engine, vault)
        report = f"re-encrypted {done} ID-card numbers under key {vault.active_kid}"
        if left:  # the old key must stay configured until a run leaves none
            raise RowsLeft(f"{report}; {left} still under older keys: run again before removing the old key")
        return report
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="poverty rekey", description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", help="households database (default: HOUSEHOLDS_DATABASE_URL)")
    parser.add_argument("--rehash", action="store_true", help=f"recompute keyed hashes with {NEW_HMAC_ENV}")
    args = parser.parse_args(argv)
    try:
        print(asyncio.run(run(args.database_url, rehash_too=args.rehash)), file=sys.stderr)
    except RowsLeft as left:
        print(left, file=sys.stderr)
        return 1
    return 0
