import time
from typing import Any
from uuid import uuid4
import pytest
from sqlalchemy import insert
from services.subsidies.domain.catalogue import programme_in_force
from services.subsidies.domain.facts import holder_facts
from services.subsidies.domain.coverage import check_coverage
from services.subsidies.domain.leakage import check_leakage
from services.subsidies.models import HouseholdFacts, Payment, Payee, MemberFacts
from tests.unit.test_subsidies_coverage import install_catalogue, DIBAO_FEN
from tests.unit.test_subsidies_leakage import NOW
from tests.support import running_app
from datetime import date

pytestmark = pytest.mark.integration
N = 100_000

async def test_scale(pg_database: Any) -> None:
    async with running_app("subsidies", await pg_database("subsidies")) as (app, client):
        await install_catalogue(app)
        hs = [uuid4() for _ in range(N)]
        ms = [uuid4() for _ in range(N)]
        ps = [uuid4() for _ in range(N)]
        async with app.state.sessions() as s, s.begin():
            for i in range(0, N, 10000):
                await s.execute(insert(HouseholdFacts), [{"household_id": h, "area_code": "371523101201", "member_count": 1, "risk_kinds": [], "allowance": "dibao" if n % 50 else "none", "updated_at": NOW} for n, h in enumerate(hs[i:i+10000])])
                await s.execute(insert(MemberFacts), [{"member_id": m, "household_id": h} for m, h in zip(ms[i:i+10000], hs[i:i+10000])])
                await s.execute(insert(Payee), [{"id": p, "household_id": h, "holder_key": "-", "bank_code": "RCB", "account_kid": "k", "account_ciphertext": b"x", "account_hash": f"h{n}", "account_masked": "x", "holder_name_ciphertext": b"x", "holder_name_masked": "x", "holder_member_id": m, "recorded_by": "x", "recorded_at": NOW} for n, (p, h, m) in enumerate(zip(ps[i:i+10000], hs[i:i+10000], ms[i:i+10000]), start=i)])
                await s.execute(insert(Payment), [{"id": uuid4(), "household_id": h, "holder_key": "-", "policy_code": "dibao", "period": "2020-06", "amount_fen": DIBAO_FEN, "idempotency_key": f"b-{h}", "status": "paid", "member_count": 1, "area_code": "371523101201", "paid_by": "x", "paid_at": NOW, "payee_id": p} for h, p in zip(hs[i:i+10000], ps[i:i+10000])])
        async with app.state.sessions() as s:
            prog, _ = await programme_in_force(s, "dibao", "2020-06")
            t = time.perf_counter()
            n = 0
            async for chunk in holder_facts(s, prog, "2020-06"):
                n += len(chunk)
            print("FACTS-ALL", n, time.perf_counter() - t)
            t = time.perf_counter()
            n = 0
            for i in range(0, N, 5000):
                async for chunk in holder_facts(s, prog, "2020-06", household_ids=hs[i:i+5000]):
                    n += len(chunk)
            print("FACTS-IDS", n, time.perf_counter() - t)
        t = time.perf_counter()
        async with app.state.sessions() as s, s.begin():
            c = await check_coverage(s, policy_code="dibao", period="2020-06", area_code=None, checked_by="x", today=date(2020, 8, 1), now=NOW)
        print("COVERAGE", c.entitled_count, c.gap_count, time.perf_counter() - t)
        t = time.perf_counter()
        async with app.state.sessions() as s, s.begin():
            l = await check_leakage(s, policy_code="dibao", period="2020-06", checked_by="x", today=date(2020, 8, 1), now=NOW)
        print("LEAKAGE", l.payment_count, l.leak_count, time.perf_counter() - t)
