"""A sweep of every operation a service documents with hostile input: each request must get an answer below 500,
and every 4xx must be a problem document. Bodies are built from the operation's own schema: one valid-looking
body, then that body with one field at a time set to an edge value (out-of-range numbers, NUL bytes, long text,
impossible dates), then bodies of the wrong shape; path and query parameters get the same treatment.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

Schema = dict[str, Any]
PUBLIC = {"/livez", "/readyz", "/metrics"}

EDGE_STRINGS = ["", " ", "\x00", "a\x00b", "x" * 5000, "💥", "\u202e", "../../etc/passwd", "' OR 1=1 --", "%00"]
EDGE_INTEGERS = [2**63, -(2**63) - 1, 10**30, -1, 0]
EDGE_NUMBERS = [1e308, -1e308, 1e-320, 10**30]
EDGE_DATES = ["0001-01-01", "9999-12-31", "2020-02-30", "2020-13-01", "1900-01-01", "20200101"]
EDGE_DATETIMES = ["9999-12-31T23:59:59+14:00", "0001-01-01T00:00:00-12:00", "2020-01-01T25:00:00Z"]
WRONG_SHAPES: list[Any] = [None, [], "x", 0, True, {"": None}, [{}] * 50]


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    params: dict[str, Any]
    body: Any
    has_body: bool
    headers: dict[str, str]
    template: str  # the documented path, e.g. /households/{household_id}

    def describe(self) -> str:
        body = repr(self.body)[:160] if self.has_body else "-"
        return f"{self.method.upper()} {self.path} params={self.params!r:.120} body={body}"


class Sweep:
    """The calls of one OpenAPI document."""

    def __init__(self, document: dict[str, Any], samples: dict[str, Any] | None = None) -> None:
        self._doc = document
        self._samples = samples or {}  # field name -> a valid value the schema cannot say (an ID-card number)
        self._created: dict[str, Any] = {}

    def calls(self) -> Iterator[Call]:
        """Every operation's plausible call first (so that what they create can be named by the later calls'
        paths, see `learn`), then every operation's hostile ones."""
        operations = [
            (method, path, operation)
            for path, item in self._doc["paths"].items()
            if path not in PUBLIC
            for method, operation in item.items()
        ]
        for method, path, operation in operations:
            yield self._request(method, path, operation).plausible()
        for method, path, operation in operations:
            yield from self._request(method, path, operation).hostile()

    def learn(self, path: str, response: Any) -> None:
        """Remember the id a creation returned under its resource's name (`/v1/households/{id}/visits` -> `visit_id`),
        so that a path parameter ending the same way (`visit_id`, `housing_appraisal_id` -> `appraisal_id`)
        names a resource that exists."""
        if isinstance(response, dict) and isinstance(response.get("id"), str):
            noun = path.rstrip("/").rsplit("/", 1)[-1].replace("-", "_")
            self._created[noun.removesuffix("s") + "_id"] = response["id"]

    def _existing(self, name: str) -> Any | None:
        matches = [value for key, value in self._created.items() if key.endswith(name)]
        return matches[-1] if matches else None

    def _request(self, method: str, path: str, operation: dict[str, Any]) -> _Operation:
        parameters = operation.get("parameters", [])
        path_values = {
            p["name"]: self._existing(p["name"]) or self.sample(p.get("schema", {}), p["name"])
            for p in parameters
            if p["in"] == "path"
        }
        query = {
            p["name"]: self.sample(p.get("schema", {}), p["name"])
            for p in parameters
            if p["in"] == "query" and p.get("required")
        }
        headers = {
            p["name"]: str(self.sample(p.get("schema", {}), p["name"])) for p in parameters if p["in"] == "header"
        }
        body_schema = self._body_schema(operation)
        body = self.sample(body_schema) if body_schema is not None else None
        return _Operation(self, method, path, parameters, path_values, query, headers, body_schema, body)

    def body_variants(self, schema: Schema, body: Any) -> Iterator[Any]:
        yield from WRONG_SHAPES
        resolved = self.resolve(schema)
        if isinstance(body, dict):
            for name, field in resolved.get("properties", {}).items():
                for edge in self.edges(field):
                    yield {**body, name: edge}
                yield {k: v for k, v in body.items() if k != name}
        if isinstance(body, list) and body:
            yield body * 300

    def _body_schema(self, operation: dict[str, Any]) -> Schema | None:
        content = operation.get("requestBody", {}).get("content", {})
        for media in ("application/json", *content):
            if media in content and "json" in media:
                schema: Schema = content[media].get("schema", {})
                return schema
        return None

    def resolve(self, schema: Schema) -> Schema:
        while "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            schema = self._doc["components"]["schemas"][name]
        for key in ("anyOf", "oneOf", "allOf"):
            options = [s for s in schema.get(key, []) if self.resolve(s).get("type") != "null"]
            if options:
                return self.resolve(options[0])
        return schema

    def sample(self, schema: Schema, name: str = "") -> Any:
        """A value that passes the schema where that is easy: the point is to get past validation."""
        if name in self._samples:
            return self._samples[name]
        s = self.resolve(schema)
        if "enum" in s:
            return s["enum"][0]
        if "const" in s:
            return s["const"]
        kind, fmt = s.get("type"), s.get("format")
        if kind == "object" or "properties" in s:
            return {key: self.sample(field, key) for key, field in s.get("properties", {}).items()}
        if kind == "array":
            return [self.sample(s.get("items", {}))] * max(1, s.get("minItems", 1))
        if kind == "integer":
            return max(s.get("minimum", 1), s.get("exclusiveMinimum", 0) + 1)
        if kind == "number":
            return float(max(s.get("minimum", 1), s.get("exclusiveMinimum", 0) + 1))
        if kind == "boolean":
            return True
        return _sample_string(s, fmt)

    def edges(self, schema: Schema) -> list[Any]:
        s = self.resolve(schema)
        kind, fmt = s.get("type"), s.get("format")
        if kind == "integer":
            return [*EDGE_INTEGERS, "1", 1.5, None]
        if kind == "number":
            return [*EDGE_NUMBERS, "1", None]
        if kind == "boolean":
            return ["maybe", 2, None]
        if kind in ("array", "object") or "properties" in s:
            return [None, "x", [None], {"": {}}]
        if fmt == "date":
            return [*EDGE_DATES, None, 20200101]
        if fmt == "date-time":
            return [*EDGE_DATETIMES, None]
        return [*EDGE_STRINGS, None, 12, ["x"]]


def _named(parameters: list[dict[str, Any]], where: str) -> list[tuple[str, Schema]]:
    return [(p["name"], p.get("schema", {})) for p in parameters if p["in"] == where]


def _segment(value: Any) -> str:
    return quote(str(value), safe="") or "%20"


def _sample_string(s: Schema, fmt: str | None) -> str:
    if fmt == "date":
        return "2020-05-12"
    if fmt == "date-time":
        return "2020-05-12T08:00:00+08:00"
    if fmt == "uuid":
        return str(uuid.uuid4())
    pattern: str = s.get("pattern", "")
    if pattern.startswith("^[") and pattern.endswith("]$"):
        return pattern[2]  # one of a set of letters (a housing grade)
    if "{64}" in pattern:
        return "0" * 64  # a sha256 in hex
    if "{12}" in pattern:
        return "371523101201"  # a village
    if "{9}" in pattern:
        return "371523101"  # a township
    return "x" * max(1, int(s.get("minLength", 1)))


@dataclass(frozen=True)
class _Operation:
    """One operation's calls: a plausible one, and hostile variants of its path, query and body."""

    sweep: Sweep
    method: str
    path: str
    parameters: list[dict[str, Any]]
    path_values: dict[str, Any]
    query: dict[str, Any]
    headers: dict[str, str]
    body_schema: Schema | None
    body: Any

    def call(self, values: dict[str, Any], params: dict[str, Any], payload: Any) -> Call:
        url = self.path.format(**{k: _segment(v) for k, v in values.items()})
        return Call(self.method, url, params, payload, self.body_schema is not None, self.headers, self.path)

    def plausible(self) -> Call:
        return self.call(self.path_values, self.query, self.body)

    def hostile(self) -> Iterator[Call]:
        for name, schema in _named(self.parameters, "path"):
            for edge in [*self.sweep.edges(schema), "x", "-1", "0" * 40]:
                yield self.call({**self.path_values, name: edge}, self.query, self.body)
        for name, schema in _named(self.parameters, "query"):
            for edge in self.sweep.edges(schema):
                yield self.call(self.path_values, {**self.query, name: edge}, self.body)
        if self.body_schema is not None:
            for payload in self.sweep.body_variants(self.body_schema, self.body):
                yield self.call(self.path_values, self.query, payload)


async def sweep(client: httpx.AsyncClient, sweep: Sweep, headers: dict[str, str]) -> list[str]:
    """Make every call of `sweep`; the calls answered with a 5xx, or with a 4xx that is not a problem document."""
    failures = []
    for call in sweep.calls():
        options: dict[str, Any] = {"params": call.params, "headers": {**call.headers, **headers}}
        if call.has_body:
            options["json"] = call.body
        try:
            response = await client.request(call.method, call.path, **options)
        except Exception as exc:  # the app raised through the transport: what a client sees as a 500
            failures.append(f"{call.describe()} -> raised {type(exc).__name__}")
            continue
        if response.status_code == 201:
            sweep.learn(call.template, response.json())
        is_problem = response.headers.get("content-type", "").startswith("application/problem+json")
        if response.status_code >= 500 or (response.status_code >= 400 and not is_problem):
            failures.append(f"{call.describe()} -> {response.status_code} {response.text[:200]}")
    return failures
