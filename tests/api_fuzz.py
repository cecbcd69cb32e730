"""Requests valid by a service's own OpenAPI document, generated from it (schemathesis, positive mode only).

The document is a promise to integrators: a request it allows must get past the service's input validation. A
422 that comes from validation (not from a domain rule about the records involved) means the document and the
service disagree, and a client generated from the document would send requests the service refuses.
"""

from __future__ import annotations

from typing import Any, get_args

import httpx
import pydantic_core.core_schema
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.core import NotSet
from schemathesis.generation import GenerationMode

# Errors of input validation (pydantic's own kinds), as opposed to a domain rule's (`start_too_late`): a rule about
# the records involved or today's date may refuse a request the document allows; validation may not.
VALIDATION_ERRORS = frozenset(get_args(pydantic_core.core_schema.ErrorType))


def generated_cases(document: dict[str, Any], examples: int) -> list[Any]:
    """`examples` requests per operation (health excluded), the same ones on every run."""
    cases: list[Any] = []
    for result in schemathesis.openapi.from_dict(document).get_all_operations():
        operation = result.ok()
        if operation.definition.raw.get("tags") == ["health"]:
            continue

        @given(operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
        @settings(
            max_examples=examples,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate],
        )
        def collect(case: Any) -> None:
            cases.append(case)

        collect()
    return cases


def with_samples(value: Any, samples: dict[str, Any]) -> Any:
    """Fields whose validity no schema can state (an ID-card number's check digit) get a valid sample, and whole
    numbers are written as integers: to JSON Schema `1500.0` is an integer, but an amount of money is refused with a
    decimal point (integer fen, never a float), a rule no schema can state either (the fields' descriptions do)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: samples[k] if k in samples and v is not None else with_samples(v, samples) for k, v in value.items()}
    if isinstance(value, list):
        return [with_samples(v, samples) for v in value]
    return value


async def refusals(
    client: httpx.AsyncClient, cases: list[Any], headers: dict[str, str], samples: dict[str, Any]
) -> list[str]:
    """Each generated request the service refused as invalid input (or failed on), described."""
    found = []
    for case in cases:
        body = {} if isinstance(case.body, NotSet) else {"json": with_samples(case.body, samples)}
        sent = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
        response = await client.request(
            case.method, case.formatted_path, params=case.query, headers={**sent, **headers}, **body
        )
        refused = response.status_code == 422 and any(
            error["code"] in VALIDATION_ERRORS for error in response.json().get("errors") or []
        )
        if refused or response.status_code >= 500:
            errors = response.json().get("errors") if refused else response.text[:200]
            found.append(f"{case.method} {case.formatted_path} -> {response.status_code} {errors} body={body}"[:600])
    return found
