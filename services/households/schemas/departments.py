"""Body of a department's bulk submission (行业部门数据); its rows are validated one by one by the use case."""

from __future__ import annotations

from pydantic import BaseModel


class BatchSubmission(BaseModel):
    """Up to the configured number of rows (413 above); each row is validated on its own."""

    rows: list[object]
