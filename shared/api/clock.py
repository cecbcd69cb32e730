"""The one clock of a request: routes receive it as a dependency and hand it to use cases.

Use cases and rules take `now` or `today` as arguments and never read the wall clock, so a test moves time by
overriding `request_time` (`app.dependency_overrides[request_time] = lambda: moment`) and schemas stay pure.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import Depends

from shared.timeutil import district_today, utcnow


# Dependencies are coroutines, even those that never wait: FastAPI runs a plain function in a worker thread, a hop
# to another thread and back for every request.
async def request_time() -> datetime:
    """The moment a request acts at (aware UTC)."""
    return utcnow()


async def request_day(now: Annotated[datetime, Depends(request_time)]) -> date:
    """The district's calendar day (Asia/Shanghai) at the request's moment."""
    return district_today(now)


Now = Annotated[datetime, Depends(request_time)]
Today = Annotated[date, Depends(request_day)]
