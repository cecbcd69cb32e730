"""Key rotation for ID-card numbers: `python -m services.households.rekey [--database-url URL] [--rehash]`.

Re-encrypt: every member whose number is sealed under another key id than `HOUSEHOLDS_IDCARD_ACTIVE_KID` is
re-sealed under the active key, a batch per transaction (safe to interrupt and run again; the service may
keep running). Afterwards the old key can be removed from `HOUSEHOLDS_IDCARD_KEYS`.

Rehash (`--rehash`): the keyed hashes are recomputed with the key in `HOUSEHOLDS_IDCARD_NEW_HMAC_KEY`
(environment only, never an argument). Stop the service first, run it, then set `HOUSEHOLDS_IDCARD_HMAC_KEY`
to the new key and start the service: between the two, look-ups would use the wrong key. Nothing is logged
but counts.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from services.households.config import RegistryConfig
from services.households.idcard import IdCardVault, parse_hmac_key
from services.households.models import Member
from services.households.settings import HouseholdsSettings
from shared.db import create_engine

BATCH = 500
NEW_HMAC_ENV = "HOUSEHOLDS_IDCARD_NEW_HMAC_KEY"


async def reencrypt(engine: AsyncEngine, vault: IdCardVault, *, batch: int = BATCH) -> int:
    """Re-seal every number not under the active key; returns how many were re-sealed."""
    done = 0
    while True:
        async with engine.begin() as conn:
            rows = (
                (
                    await conn.execute(
                        select(col(Member.id), col(Member.id_kid), col(Member.id_ciphertext))
                        .where(col(Member.id_kid).is_not(None), col(Member.id_kid) != vault.active_kid)
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
        done += len(rows)
        if len(rows) < batch:
            return done


async def rehash(engine: AsyncEngine, vault: IdCardVault, new: IdCardVault, *, batch: int = BATCH) -> int:
    """Recompute every keyed hash with the new HMAC key; returns how many members were rehashed."""
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
    vault = RegistryConfig.from_settings(settings).vault
    engine = create_engine(settings.database_url)
    try:
        if rehash_too:
            return f"rehashed {await rehash(engine, vault, _new_vault(vault))} ID-card numbers"
        return f"re-encrypted {await reencrypt(engine, vault)} ID-card numbers under key {vault.active_kid}"
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.households.rekey", description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", help="households database (default: HOUSEHOLDS_DATABASE_URL)")
    parser.add_argument("--rehash", action="store_true", help=f"recompute keyed hashes with {NEW_HMAC_ENV}")
    args = parser.parse_args(argv)
    print(asyncio.run(run(args.database_url, rehash_too=args.rehash)), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
