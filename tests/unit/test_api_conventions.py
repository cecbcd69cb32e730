"""Every service's OpenAPI document follows the one API convention (README, "API conventions"), so that an
integrator can generate a client from it: versioned paths, named operations, summaries, roles, declared errors,
examples, paginated lists, published enums, idempotent creates."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import pytest

from shared.service_index import SERVICES
from tests.support import service_app, service_settings

HEALTH = "health"
# Properties whose values are codes from a closed list: a client must see the list.
CODE_PROPERTIES = {"policy_code", "category", "housing_grade", "severity", "status", "kind", "relationship_to_head"}


@cache
def document(service: str) -> dict[str, Any]:
    return service_app(service, service_settings(service)).openapi()


def operations(service: str) -> list[tuple[str, str, dict[str, Any]]]:
    doc = document(service)
    return [
        (path, method, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if op.get("tags") != [HEALTH]
    ]


def resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


@pytest.mark.parametrize("service", SERVICES)
def test_the_document_describes_the_service(service: str) -> None:
    assert len(document(service)["info"].get("description", "")) > 80


@pytest.mark.parametrize("service", SERVICES)
def test_every_path_but_health_carries_the_version_prefix(service: str) -> None:
    for path, method, _ in operations(service):
        assert path.startswith("/v1/"), f"{method} {path}"


@pytest.mark.parametrize("service", SERVICES)
def test_operation_ids_are_tag_and_name(service: str) -> None:
    ids = [op["operationId"] for _, _, op in operations(service)]
    assert len(ids) == len(set(ids)), "operationIds must be unique"
    for path, method, op in operations(service):
        tag = op["tags"][0].replace(" ", "_")
        assert re.fullmatch(rf"{re.escape(tag)}-[a-z][a-z0-9_]*", op["operationId"]), f"{method} {path}"
        assert " " not in op["operationId"], f"{method} {path}: a space in an operationId"
        assert "__" not in op["operationId"], f"{method} {path}: FastAPI's default id"


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_says_what_it_does_and_who_may_call_it(service: str) -> None:
    for path, method, op in operations(service):
        name = op["operationId"].split("-", 1)[1]
        summary = op.get("summary", "")
        assert summary and summary != name.replace("_", " ").title(), f"{method} {path}: summary is the name"
        assert "**Who may call:**" in op.get("description", ""), f"{method} {path}: roles not documented"


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_declares_its_errors(service: str) -> None:
    for path, method, op in operations(service):
        responses = op["responses"]
        assert {"401", "403"} <= responses.keys(), f"{method} {path}"
        if op.get("parameters") or "requestBody" in op:
            assert "422" in responses, f"{method} {path}"
        if "{" in path or "requestBody" in op:
            assert "404" in responses, f"{method} {path}"
        if method in {"post", "put", "patch", "delete"}:
            assert "409" in responses, f"{method} {path}"


@pytest.mark.parametrize("service", SERVICES)
def test_every_request_body_has_an_example(service: str) -> None:
    doc = document(service)
    for path, method, op in operations(service):
        if "requestBody" not in op:
            continue
        for media in op["requestBody"]["content"].values():
            schema = resolve(doc, media["schema"])
            assert media.get("example") or media.get("examples") or schema.get("examples"), f"{method} {path}"


def _is_page(schema: dict[str, Any]) -> bool:
    return bool({"items", "next_cursor"} <= schema.get("properties", {}).keys())


def unbounded_arrays(doc: dict[str, Any], schema: dict[str, Any], where: str, seen: frozenset[str]) -> list[str]:
    """Where a response schema holds an array that is neither a page's `items` nor bounded by `maxItems`: a list
    hidden inside a body, at any depth (a property, a nested object, an array's items, a union's options, a map's
    values). Each schema named by `$ref` is looked into once per path, so a recursive schema ends."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        if name in seen:
            return []
        return unbounded_arrays(doc, resolve(doc, schema), f"{where}<{name}>", seen | {name})
    found = []
    if schema.get("type") == "array" or "items" in schema or "prefixItems" in schema:
        if "maxItems" not in schema:
            found.append(where)
        for item in [schema.get("items"), *schema.get("prefixItems", [])]:
            if isinstance(item, dict):
                found += unbounded_arrays(doc, item, f"{where}[]", seen)
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, []):
            found += unbounded_arrays(doc, option, where, seen)
    for key in ("additionalProperties", "not", "if", "then", "else", "contains"):
        if isinstance(schema.get(key), dict):
            found += unbounded_arrays(doc, schema[key], f"{where}.{key}", seen)
    for name, prop in schema.get("properties", {}).items():
        if name == "items" and _is_page(schema):  # the page's own list: paged, not bounded; its items are looked into
            found += unbounded_arrays(doc, prop.get("items", {}), f"{where}.items[]", seen)
        else:
            found += unbounded_arrays(doc, prop, f"{where}.{name}", seen)
    return found


@pytest.mark.parametrize("service", SERVICES)
def test_every_list_is_a_page(service: str) -> None:
    """A list is a page; any other array in a successful response (a property, at any depth) is a bounded part of
    one record and says so with `maxItems` (a household's members), or it is a list hidden inside a body. Only
    2xx bodies are looked into: every error is the one shared `ErrorDocument` (`shared/openapi.py`), not a
    service's (its `errors`, one per invalid field, has no `maxItems` either)."""
    doc = document(service)
    hidden = []
    for path, method, op in operations(service):
        for status, response in op["responses"].items():
            for media in response.get("content", {}).values():
                schema = resolve(doc, media["schema"])
                assert schema.get("type") != "array", f"{method} {path} {status}: a bare array, not a page"
                if "items" in schema.get("properties", {}):
                    assert "next_cursor" in schema["properties"], f"{method} {path}: a page without a cursor"
                if status.startswith("2"):
                    hidden += [
                        f"{method} {path} {status}: {where}"
                        for where in unbounded_arrays(doc, media["schema"], "", frozenset())
                    ]
        if method == "get" and any(p["name"] == "cursor" for p in op.get("parameters", [])):
            assert any(p["name"] == "limit" for p in op["parameters"]), f"{method} {path}"
    assert not hidden, "arrays neither paged nor bounded by maxItems:\n" + "\n".join(sorted(set(hidden)))


# Why a write that a client may retry needs no `Idempotency-Key`: its second identical call cannot record
# anything twice. Every other write (a POST that records something: a create, a decision that adds a record, a
# batch) takes the key.
SETS_STATE = "a PUT or PATCH sets state: the same body again finds it so and records nothing new"
TRANSITION = "moves an existing record on from one state: the second call finds it moved and is a 409"
RUN_ONCE = "a run that reports each thing once: repeated, it finds nothing new (counts 0)"
MARK = "marks something: marking it again keeps the first mark"
RECOMPUTE = "recomputes a draft from the facts: the same facts give the same result, ids kept"
SAME_BYTES = "the same file again answers the first import (replayed by its own bytes' hash)"
DISCLOSURE = (
    "discloses a secret (a full ID or account number, a complainant's contact): each call is a new access that "
    "must be recorded, and the answer, which holds the secret, must never be stored as a replay"
)
READ = "reads only (a search sent as a body to keep an ID number out of the URL)"
NO_KEY_NEEDED: dict[str, str] = {
    "households-search_by_id_number": READ,
    "households-update_household": SETS_STATE,
    "households-change_status": TRANSITION,
    "members-change_member": SETS_STATE,
    "members-reveal_id_number": DISCLOSURE,
    "income-set_poverty_line": SETS_STATE,
    "helper_cadres-assign_cadre": SETS_STATE,
    "monitoring-close_episode": TRANSITION,
    "power_holders-end_power_holder": TRANSITION,
    "power_holders-end_relative": TRANSITION,
    "projects-update_milestone": SETS_STATE,
    "checks-run_checks": RUN_ONCE,
    "plans-review_plan": TRANSITION,
    "plans-approve_plan": TRANSITION,
    "plans-reject_plan": TRANSITION,
    "plans-account_plan": TRANSITION,
    "workshops-end_employment": TRANSITION,
    "posts-end_holding": TRANSITION,
    "posts-end_pairing": TRANSITION,
    "payrolls-approve_payroll": TRANSITION,
    "cycles-compute_list": RECOMPUTE,
    "cycles-post_notice": TRANSITION,
    "cycles-submit_cycle": TRANSITION,
    "cycles-approve_cycle": TRANSITION,
    "cycles-close_cycle": TRANSITION,
    "objections-decide_objection": TRANSITION,
    "bank_results-import_bank_results": SAME_BYTES,
    "batches-export_bank_file": DISCLOSURE,
    "rectification-start_task": TRANSITION,
    "rectification-close_task": TRANSITION,
    "referrals-hand_over_now": RUN_ONCE,
    "campaigns-check_coverage_now": RUN_ONCE,
    "notifications-read_all": MARK,
    "notifications-read_one": MARK,
    "notifications-redeliver": TRANSITION,
    "grievances-check_grievance_deadlines": RUN_ONCE,
    "grievances-triage_grievance": TRANSITION,
    "grievances-reply_to_grievance": TRANSITION,
    "grievances-reveal_contact": DISCLOSURE,
    "people-set_area_officer": SETS_STATE,
}


def _takes_the_key(op: dict[str, Any]) -> bool:
    return "Idempotency-Key" in {p["name"] for p in op.get("parameters", []) if p["in"] == "header"}


@pytest.mark.parametrize("service", SERVICES)
def test_every_create_takes_an_idempotency_key_and_documents_the_replay(service: str) -> None:
    for path, method, op in operations(service):
        if "201" not in op["responses"] and not _takes_the_key(op):
            continue
        assert _takes_the_key(op), f"{method} {path}"
        assert "200" in op["responses"], f"{method} {path}: the replay's status is not documented"
        assert op["operationId"] not in NO_KEY_NEEDED, f"{method} {path}: takes a key, yet listed as needing none"


@pytest.mark.parametrize("service", SERVICES)
def test_every_write_a_client_may_retry_takes_a_key_or_cannot_duplicate(service: str) -> None:
    """A retried write whose first call committed but whose answer was lost must not record anything twice: it
    takes an `Idempotency-Key`, or it is listed in `NO_KEY_NEEDED` with the reason its second call cannot. A new
    write must be placed on one side; a PUT or PATCH may not create (a 201 is a create and takes the key)."""
    writes = [(path, method, op) for path, method, op in operations(service) if method != "get"]
    unkeyed = {op["operationId"]: f"{method} {path}" for path, method, op in writes if not _takes_the_key(op)}
    unexplained = sorted(f"{where} ({op_id})" for op_id, where in unkeyed.items() if op_id not in NO_KEY_NEEDED)
    assert not unexplained, "writes neither taking an Idempotency-Key nor listed in NO_KEY_NEEDED:\n" + "\n".join(
        unexplained
    )
    for path, method, op in writes:
        if NO_KEY_NEEDED.get(op["operationId"]) == SETS_STATE:
            assert method in {"put", "patch"}, f"{method} {path}: only a PUT or PATCH sets state"
    listed = {op["operationId"] for _, _, op in operations(service)} & NO_KEY_NEEDED.keys()
    stale = listed - unkeyed.keys()
    assert not stale, f"listed in NO_KEY_NEEDED, yet no longer an unkeyed write: {sorted(stale)}"


def test_every_write_listed_as_needing_no_key_exists() -> None:
    known = {op["operationId"] for service in SERVICES for _, _, op in operations(service)}
    assert not NO_KEY_NEEDED.keys() - known, "NO_KEY_NEEDED names operations no service has"


def _code_properties(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for name, schema in doc["components"]["schemas"].items():
        if name in {"ErrorDocument", "FieldError"}:
            continue
        for prop, value in schema.get("properties", {}).items():
            if prop in CODE_PROPERTIES:
                found.append((name, prop, value))
    return found


def _is_enumerated(doc: dict[str, Any], schema: dict[str, Any]) -> bool:
    if "enum" in schema or "const" in schema:
        return True
    if "$ref" in schema:
        return _is_enumerated(doc, resolve(doc, schema))
    options = schema.get("anyOf") or schema.get("oneOf") or schema.get("allOf")
    if options:
        return all(_is_enumerated(doc, o) or o.get("type") == "null" for o in options)
    return False


@pytest.mark.parametrize("service", SERVICES)
def test_codes_are_published_as_enums(service: str) -> None:
    doc = document(service)
    for schema, prop, value in _code_properties(doc):
        assert _is_enumerated(doc, value), f"{schema}.{prop} is a free string: publish its codes as an enum"
