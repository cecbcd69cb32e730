"""Bodies of a department's bulk submissions (行业部门数据): one per kind of data, typed by its row model.

The document shows each kind's rows as its row model, but the body takes the rows as they come and the use case
validates them one by one (`SkipValidation`), so that a bad row is reported while the valid rows apply.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, SkipValidation, create_model

from services.households.domain.departments.rows import ROW_MODELS, DataKind, MemberRef


def _example(schema: dict[str, Any], model: type[BaseModel]) -> None:
    schema["examples"] = [{"rows": [model.row_model.example]}]  # type: ignore[attr-defined]


class BatchSubmission(BaseModel):
    """Up to the configured number of rows (413 above); each row is validated on its own."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_example)
    row_model: ClassVar[type[MemberRef]]

    rows: list[Any]


def _submission(kind: DataKind, row_model: type[MemberRef]) -> type[BatchSubmission]:
    model = create_model(
        row_model.__name__.removesuffix("Row") + "Submission",
        __base__=BatchSubmission,
        __doc__=f"Rows of `{kind}` data, each a `{row_model.__name__}`; a row that is not is reported, not applied.",
        rows=(list[SkipValidation[row_model]], Field(description="the rows, each validated and applied on its own")),  # type: ignore[valid-type]
    )
    model.row_model = row_model
    return model


SUBMISSIONS: dict[DataKind, type[BatchSubmission]] = {kind: _submission(kind, row) for kind, row in ROW_MODELS.items()}
