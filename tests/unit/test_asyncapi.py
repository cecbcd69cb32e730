"""The AsyncAPI document (`poverty asyncapi`): valid for AsyncAPI's own parser, and true to the code and the cluster.

The parser is the npm package @asyncapi/parser, installed by `make test` into tools/asyncapi/node_modules
(`npm ci --prefix tools/asyncapi`); tools/asyncapi/validate.mjs runs it. The examples are checked here (the parser
does not check them against their schemas), and the document's topics, partitions, consumer groups and servers
against the code, the KafkaTopic resources and the KafkaUsers' ACLs.
"""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from shared.cli import _parser as cli_parser
from shared.contracts import ALL_TOPICS, SERVICE_TOPICS, dead_letter_topic, registered_types
from shared.contracts.asyncapi import DEAD_LETTER, PRODUCTION_BOOTSTRAP, REPLAY_GROUP, asyncapi_document
from shared.contracts.examples import example_event
from shared.local.kafka import KAFKA_VERSION
from shared.messaging.kafka import topic_config
from shared.service_index import SERVICES
from shared.settings import ServiceSettings
from tests.unit.test_deploy_crosscheck import Acl, kafka_acls_needed, service_spec
from tests.unit.test_deploy_manifests import BASE, ROOT, load_docs, named, objects, of_kind

TOOLS = ROOT / "tools" / "asyncapi"
DOCUMENT_URI = "urn:poverty:asyncapi"


@functools.cache
def document() -> dict[str, Any]:
    return asyncapi_document()


def validate(doc: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    """Run the AsyncAPI parser on `doc` (skips only where node itself is missing)."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the AsyncAPI document cannot be validated here (CI has node)")
    if not (TOOLS / "node_modules" / "@asyncapi" / "parser").is_dir():
        pytest.fail("the AsyncAPI parser is not installed: run `npm ci --prefix tools/asyncapi` (make test does)")
    return subprocess.run(
        [node, str(TOOLS / "validate.mjs"), "-"],
        input=json.dumps(doc),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_document_is_valid_for_the_asyncapi_parser() -> None:
    result = validate(document())
    assert result.returncode == 0, result.stdout + result.stderr
    errors = [line for line in result.stdout.splitlines() if line.startswith("error")]
    assert errors == [] and "valid AsyncAPI 3.0.0" in result.stdout, result.stdout


def test_the_validator_fails_on_an_invalid_document() -> None:
    broken = json.loads(json.dumps(document()))
    del broken["components"]["schemas"]["Severity"]  # dangling refs, as the old generator's #/$defs/... were
    operation = broken["operations"][f"{SERVICES[2]}-receives-{SERVICE_TOPICS[0]}"]
    operation["messages"].append({"$ref": f"#/channels/{SERVICE_TOPICS[1]}/messages/{DEAD_LETTER}"})
    result = validate(broken)
    assert result.returncode == 1, result.stdout
    assert "error invalid-ref" in result.stdout
    assert "error asyncapi3-operation-messages-from-referred-channel" in result.stdout


def test_every_event_is_a_message_on_its_topic_with_its_payload_schema() -> None:
    doc = document()
    messages = doc["components"]["messages"]
    assert {m["name"] for name, m in messages.items() if name != DEAD_LETTER} == set(registered_types())
    for contract in registered_types().values():
        listed = [m for m in messages.values() if m["name"] == contract.event_type]
        assert len(listed) == 1
        schema_name = listed[0]["payload"]["$ref"].removeprefix("#/components/schemas/")
        assert doc["components"]["schemas"][schema_name]["properties"].keys() == contract.model_fields.keys()
    assert "$defs" not in json.dumps(doc), "refs must point into #/components/schemas"
    for topic in ALL_TOPICS:
        assert doc["channels"][topic]["address"] == topic


def validator(doc: dict[str, Any], pointer: str) -> Draft202012Validator:
    """A JSON-schema validator for the schema at `pointer` in the document, its #/components refs resolved."""
    registry: Registry[Any] = Registry().with_resource(DOCUMENT_URI, Resource(contents=doc, specification=DRAFT202012))
    schema = {"$ref": f"{DOCUMENT_URI}#{pointer}"}
    return Draft202012Validator(schema, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER)


def test_every_example_is_valid() -> None:
    doc = document()
    for name, message in doc["components"]["messages"].items():
        (example,) = message["examples"]
        for part in ("headers", "payload"):
            errors = [
                e.message for e in validator(doc, f"/components/messages/{name}/{part}").iter_errors(example[part])
            ]
            assert errors == [], f"{name} {part}: {errors}"
        if name != DEAD_LETTER:
            contract = registered_types()[message["name"]]
            assert contract.model_validate(example["payload"]).aggregate_id() == example["headers"]["ce_subject"]
            assert example["headers"]["ce_type"] == contract.event_type


def test_the_header_schema_refuses_what_a_consumer_refuses() -> None:
    doc = document()
    name = next(iter(doc["components"]["messages"]))
    headers = dict(doc["components"]["messages"][name]["examples"][0]["headers"])
    check = validator(doc, f"/components/messages/{name}/headers")
    assert check.is_valid(headers)
    assert not check.is_valid({**headers, "ce_type": "gov.poverty.households.other.v1"})
    assert not check.is_valid({k: v for k, v in headers.items() if k != "ce_id"})


@pytest.mark.parametrize("event_type", sorted(registered_types()))
def test_every_contract_has_an_example_it_accepts(event_type: str) -> None:
    contract = registered_types()[event_type]
    assert isinstance(example_event(contract), contract)


def test_channels_carry_the_topics_as_deployed() -> None:
    doc = document()
    topics = {t["spec"]["topicName"]: t["spec"] for t in of_kind(objects(BASE), "KafkaTopic")}
    for topic in ALL_TOPICS:
        binding = doc["channels"][topic]["bindings"]["kafka"]
        assert binding["topic"] == topic
        assert (binding["partitions"], binding["replicas"]) == (topics[topic]["partitions"], topics[topic]["replicas"])
        configuration = binding["topicConfiguration"]
        assert {k: str(configuration[k]) for k in ("retention.ms", "segment.ms")} == topic_config(topic)
        assert configuration["cleanup.policy"] == [topics[topic]["config"]["cleanup.policy"]]


def test_servers_are_the_clusters_the_services_use() -> None:
    servers = document()["servers"]
    configmap = named(load_docs(BASE / SERVICES[0] / "configmap.yaml"), "ConfigMap", f"{SERVICES[0]}-config")
    assert configmap is not None
    assert servers["production"]["host"] == PRODUCTION_BOOTSTRAP
    assert configmap["data"][f"{SERVICES[0].upper()}_KAFKA_BOOTSTRAP_SERVERS"] == PRODUCTION_BOOTSTRAP
    assert servers["local"]["host"] == ServiceSettings.model_fields["kafka_bootstrap_servers"].default
    assert {s["protocolVersion"] for s in servers.values()} == {KAFKA_VERSION}
    assert cli_parser().parse_args(["replay-dlq", dead_letter_topic(SERVICE_TOPICS[0])]).group == REPLAY_GROUP


def acls_of_operations(service: str) -> set[Acl]:
    """What the document's operations of `service` need from Kafka: Write to send, Read (and its group) to receive."""
    needed: set[Acl] = set()
    for operation_id, operation in document()["operations"].items():
        if not operation_id.startswith(f"{service}-"):
            continue
        topic = document()["channels"][operation["channel"]["$ref"].rsplit("/", 1)[1]]["address"]
        kafka = operation["bindings"]["kafka"]
        if operation["action"] == "send":
            needed.add(("topic", topic, "Write"))
        else:
            needed |= {("topic", topic, "Read"), ("group", kafka["groupId"]["enum"][0], "Read")}
    return needed


def test_operations_are_what_each_service_does() -> None:
    """Receive what the handlers consume, in the service's group; send its own topic and its dead letters; replay
    its own dead letters. The same as the code's Kafka rights, so the document and the KafkaUsers agree."""
    operations = document()["operations"]
    for service in SERVICES:
        consumed = service_spec(service).handlers.topics
        received = {
            op["channel"]["$ref"].rsplit("/", 1)[1]
            for op_id, op in operations.items()
            if op_id.startswith(f"{service}-receives-")
        }
        assert received == set(consumed), service
        assert acls_of_operations(service) == kafka_acls_needed(service), service


def test_receive_operations_name_only_the_events_the_handlers_apply() -> None:
    operations = document()["operations"]
    households = {
        m["$ref"].rsplit("/", 1)[1] for m in operations[f"households-receives-{SERVICE_TOPICS[3]}"]["messages"]
    }
    assert "audit_discipline_referral_made_v1" in households
    assert "audit_inspection_campaign_opened_v1" not in households
    audit = operations[f"audit-receives-{SERVICE_TOPICS[0]}"]["messages"]
    assert len(audit) == len(document()["channels"][SERVICE_TOPICS[0]]["messages"]), "audit logs every event"
