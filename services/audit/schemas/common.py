"""What the audit API's bodies share: text fields, ratios, the base of responses, evidence references."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, ClassVar, get_args

from pydantic import BaseModel, ConfigDict, Field, GetJsonSchemaHandler, PlainSerializer, StringConstraints
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from services.audit.rules.findings import EvidenceRef
from shared.personal_data import ScreenedText
from shared.schemas import RequestBody

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
# What officers write (published in events, kept in the log's sources and packages): no ID-card number in it.
Prose = Annotated[ScreenedText, StringConstraints(strip_whitespace=True, min_length=1)]
# A unit's name (单位: a township government, an office): what a finding's `responsible_unit` says, and what names a
# unit as a finding's subject and in its history's path (`/v1/subjects/unit/{name}/history`), so one rule for all
# three: at most 64 characters, no `/` (a path segment cannot hold one, even encoded), no control character, not
# blank nor dots only (`.` and `..` are dot segments a client resolves away). Brackets, `#`, `?`, `%`, `&` and
# the like are fine: a client encodes them in the path.
UNIT_NAME_MAX = 64
UNIT_NAME_PATTERN = r"^[^/\x00-\x1f\x7f]*[^/\x00-\x1f\x7f\s.][^/\x00-\x1f\x7f]*$"
# The constraints come before `ScreenedText`'s screening, or the JSON Schema would not state them.
UnitName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=UNIT_NAME_MAX, pattern=UNIT_NAME_PATTERN),
    *get_args(ScreenedText)[1:],
]
# A share such as the rectification rate: exact in the service, a JSON number on the wire.
Ratio = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class DependentFields(RequestBody):
    """A body whose fields depend on each other: `rules` (JSON Schema `if`/`then`, under `allOf`) say how in the
    OpenAPI document, so that a client generated from it sends only what the service accepts."""

    rules: ClassVar[list[dict[str, Any]]] = []

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core_schema)
        handler.resolve_ref_schema(schema)["allOf"] = cls.rules
        return schema


def when(field: str, values: Sequence[str], then: dict[str, Any]) -> dict[str, Any]:
    """A rule of `DependentFields`: when `field` is one of `values`, the other fields' schemas in `then` apply."""
    return {"if": {"properties": {field: {"enum": list(values)}}}, "then": {"properties": then}}


class EvidenceKind(StrEnum):
    PHOTO = "photo"
    DOCUMENT = "document"
    ARCHIVE_RECORD = "archive_record"  # 档案
    SITE_VISIT = "site_visit"
    DATA_RECORD = "data_record"


class EvidenceIn(RequestBody):
    """A reference to evidence kept elsewhere (file store, archive number), never the file itself."""

    kind: EvidenceKind
    reference: Annotated[Text, Field(max_length=300)]  # an archive number may be a long run of digits
    note: Annotated[Prose, Field(max_length=300)] | None = None

    def ref(self) -> EvidenceRef:
        return EvidenceRef(kind=self.kind, reference=self.reference, note=self.note)
