"""The authorization matrix: every operation of every service, called by every role it does not admit.

Who an operation admits is read from its own dependency tree (the `RoleRequirement`s of `require_roles`; an
operation behind several admits the roles common to all of them), so a new route is in the matrix the day it is
added. The rule, for every documented operation but the health and metrics ones, with a plausible call (a body
and path values that pass validation, naming records created beforehand where the operation names one):
- without a token: 401 problem+json;
- with a valid token of a role it does not admit: 403 problem+json. FastAPI resolves the role dependency before it
  validates path, query and body, so the refusal comes first: a caller without the role learns nothing of a
  record's existence (no 404) or of the input's shape (no 422). Only a body that is not JSON at all is answered
  before the token is even read (400 malformed JSON, to anyone): it says nothing of any record or operation;
- with a role it admits that is limited to an area, for a record of one township, by an officer of another
  township: 403 or 404, never the record.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from shared.auth import AREA_SCOPED, BearerToken, Role, RoleRequirement
from tests.api_sweep import PUBLIC, Call, Sweep
from tests.support import auth, running_app
from tests.unit.test_api_sweep import EVERY_DISTRICT_ROLE, SAMPLES, SERVICES

# The records the plausible calls create lie in this township (the sweep's sample village is 371523101201).
HOME_TOWNSHIP = "371523101"
OTHER_TOWNSHIP = "371523102"


@dataclass(frozen=True)
class Operation:
    call: Call
    admitted: frozenset[Role]

    def headers(self, extra: dict[str, str]) -> dict[str, str]:
        return {**self.call.headers, **extra}


def _requirements(dependant: Dependant) -> Iterator[Any]:
    for dependency in dependant.dependencies:
        yield dependency.call
        yield from _requirements(dependency)


def admitted_roles(dependant: Dependant) -> frozenset[Role] | None:
    """The roles that may call an operation of this dependency tree, or None when it takes no token."""
    calls = list(_requirements(dependant))
    if not any(isinstance(call, BearerToken) for call in calls):
        return None
    admitted = frozenset(Role)
    for requirement in calls:
        if isinstance(requirement, RoleRequirement):
            admitted &= requirement.roles
    return admitted


def role_headers(role: Role, area: str = HOME_TOWNSHIP) -> dict[str, str]:
    return auth(role.value, area=area if role in AREA_SCOPED else None, sub="matrix")


async def send(client: httpx.AsyncClient, call: Call, headers: dict[str, str]) -> httpx.Response:
    options: dict[str, Any] = {"params": call.params, "headers": {**call.headers, **headers}}
    if call.has_body:
        options["json"] = call.body
    return await client.request(call.method, call.path, **options)


async def operations(app: FastAPI, client: httpx.AsyncClient) -> list[Operation]:
    """Every authenticated operation with a plausible call, after a first round of plausible calls by a caller of
    every district-wide role has created the records that the later calls' paths name."""
    # Each route as served: its own dependencies and those of the routers that include it.
    routes = {
        (method.lower(), context.path_format): context.dependant
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute) and context.include_in_schema and context.dependant
        if context.path_format not in PUBLIC
        for method in context.methods or ()
    }
    sweep = Sweep(app.openapi(), SAMPLES)
    for call in itertools.islice(sweep.calls(), len(routes)):
        response = await send(client, call, EVERY_DISTRICT_ROLE)
        if response.status_code == 201:
            sweep.learn(call.template, response.json())
    found = []
    for call in itertools.islice(sweep.calls(), len(routes)):
        admitted = admitted_roles(routes[(call.method, call.template)])
        assert admitted is not None, f"{call.method.upper()} {call.template} takes no token"
        found.append(Operation(call, admitted))
    return found


def refusal(response: httpx.Response, statuses: set[int]) -> str | None:
    problem = response.headers.get("content-type", "").startswith("application/problem+json")
    if response.status_code in statuses and problem:
        return None
    return f"{response.status_code} {response.text[:160]}"


@pytest.mark.parametrize("service", SERVICES)
async def test_every_operation_refuses_every_role_it_does_not_admit(
    service: str, sqlite_url: Callable[[str], Awaitable[str]]
) -> None:
    failures: list[str] = []
    calls = reached = 0
    async with running_app(service, await sqlite_url(service)) as (app, client):
        for operation in await operations(app, client):
            where = f"{operation.call.method.upper()} {operation.call.path}"
            assert operation.admitted, f"{where} admits no role"
            wrong = await refusal_of(client, operation, {}, {401})
            failures += [f"{where} without a token -> {wrong}"] if wrong else []
            calls += 1
            for role in sorted(frozenset(Role) - operation.admitted):
                wrong = await refusal_of(client, operation, role_headers(role), {403})
                failures += [f"{where} as {role} -> {wrong}"] if wrong else []
                calls += 1
            outcome = await other_township(client, operation)
            if outcome is not None:
                calls, reached = calls + 1, reached + outcome[0]
                failures += [f"{where} from another township -> {outcome[1]}"] if outcome[1] else []
    print(f"{service}: {calls} calls, {reached} records of one township refused to another")
    assert not failures, "\n".join(failures[:30])


async def refusal_of(
    client: httpx.AsyncClient, operation: Operation, headers: dict[str, str], statuses: set[int]
) -> str | None:
    return refusal(await send(client, operation.call, headers), statuses)


async def other_township(client: httpx.AsyncClient, operation: Operation) -> tuple[int, str | None] | None:
    """For an operation on a record of the home township that an area-limited role may call: the answer to an
    officer of another township (refused), and whether an officer of the record's own township is served by the
    reads (so the refusal was about the area, not a record that does not exist). A record is of the township when
    a district-wide read of it (the path up to its first parameter) names the township; catalogue entries and
    district-wide cycles name none and are out of this part."""
    scoped = sorted(operation.admitted & AREA_SCOPED)
    if not scoped or not await names_home_township(client, operation.call):
        return None
    wrong = await refusal_of(client, operation, role_headers(scoped[0], OTHER_TOWNSHIP), {403, 404})
    if operation.call.method != "get":
        return 0, wrong
    own = await send(client, operation.call, role_headers(scoped[0]))
    return int(own.status_code == 200), wrong


async def names_home_township(client: httpx.AsyncClient, call: Call) -> bool:
    segments = call.template.split("/")
    first = next((i for i, segment in enumerate(segments) if segment.startswith("{")), None)
    if first is None:
        return False
    record = "/".join(call.path.split("/")[: first + 1])
    response = await client.get(record, headers=EVERY_DISTRICT_ROLE)
    return response.status_code == 200 and HOME_TOWNSHIP in response.text
