"""SQLite keeps a transaction whole: a savepoint taken before the first write is undone with the transaction."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from shared.db import create_engine


async def test_a_rolled_back_transaction_undoes_what_its_savepoint_wrote(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/t.db")
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (x INTEGER)"))
        with pytest.raises(RuntimeError):
            async with engine.begin() as conn:
                await conn.execute(text("SELECT 1"))  # a read first: the driver alone would not have begun yet
                async with conn.begin_nested():
                    await conn.execute(text("INSERT INTO t VALUES (1)"))
                raise RuntimeError("the request fails after its savepoint")
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar() == 0
    finally:
        await engine.dispose()
