"""Every request body of every service is a `RequestBody`: strict about unknown fields and about dates."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import pytest
from pydantic import AfterValidator, ValidationError

from shared.schemas import RequestBody
from shared.service_index import SERVICES, create_app, load_settings


def _bodies() -> list[type[RequestBody]]:
    for service in SERVICES:
        create_app(service, load_settings(service))  # imports each service's schemas
    found, todo = [], list(RequestBody.__subclasses__())
    while todo:
        body = todo.pop()
        found.append(body)
        todo.extend(body.__subclasses__())
    # The services' bodies only: tests define bodies of their own (this module's `Visit`, the API kit's app).
    return sorted((b for b in found if b.__module__.startswith("services.")), key=lambda b: b.__qualname__)


BODIES = _bodies()
TEMPORAL = [
    (body, name)
    for body in BODIES
    for name, field in body.model_fields.items()
    if "date" in str(field.annotation).lower() or "time" in str(field.annotation).lower()
]


class Visit(RequestBody):
    on: Annotated[date, AfterValidator(lambda d: d)]
    until: date | None = None
    at: datetime | None = None
    note: str = ""


def test_every_service_has_request_bodies_with_dates_in_them() -> None:
    assert {b.__module__.split(".")[1] for b in BODIES} == set(SERVICES)
    assert len(TEMPORAL) >= 15


@pytest.mark.parametrize(("body", "name"), TEMPORAL, ids=[f"{b.__qualname__}.{n}" for b, n in TEMPORAL])
@pytest.mark.parametrize("number", [0, 1_589_241_600.0, "1589241600"])
def test_no_request_body_reads_a_number_as_a_date(body: type[RequestBody], name: str, number: object) -> None:
    with pytest.raises(ValidationError) as refused:
        body.model_validate({name: number})
    [error] = [e for e in refused.value.errors() if e["loc"] == (name,)]
    assert "ISO 8601 text" in error["msg"]


def test_text_dates_are_read_and_numbers_elsewhere_are_left_alone() -> None:
    visit = Visit.model_validate({"on": "2020-05-12", "until": None, "at": "2020-05-12T08:00:00+08:00"})
    assert (visit.on, visit.until, visit.at and visit.at.hour) == (date(2020, 5, 12), None, 8)
    with pytest.raises(ValidationError, match="ISO 8601"):
        Visit.model_validate({"on": "2020-05-12", "at": 1_589_241_600.0})
    with pytest.raises(ValidationError, match="extra"):
        Visit.model_validate({"on": "2020-05-12", "surprise": 1})
    assert Visit.model_validate({"on": "2020-05-12", "note": "  kept  "}).note == "kept"
