"""docker-compose.yml and deploy/k8s against the code: every setting named there is one the service reads, every
setting without a safe default is provided (the settings load as the container would load them), ports, probe
paths, topics and commands exist; each service reaches Kafka through the Kafka resource's TLS/SCRAM listener as
its own KafkaUser, whose ACLs cover what its code consumes and produces and nothing else.

The setting names come from `shared.service_index.settings_class(service)` (fields and env prefix), so a setting
added to the code is checked here without editing this file.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import os
import re
import sys
import tomllib
import typing
from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple
from unittest import mock

import pytest
from prometheus_client import REGISTRY
from prometheus_client.metrics import MetricWrapperBase
from pydantic import SecretBytes, SecretStr, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from shared.cli import _parser as cli_parser
from shared.contracts import ALL_TOPICS, AUDIT_TOPIC, SERVICE_TOPICS, dead_letter_topic, registered_types
from shared.db import MAX_CONNECTIONS_PER_ENGINE
from shared.health import router as health_router
from shared.local.kafka import KAFKA_VERSION
from shared.messaging.dlq import DLQ_SUFFIX
from shared.messaging.kafka import ensure_topics, topic_config
from shared.messaging.retention import DEAD_LETTER_RETENTION, SEGMENT_SPAN, TOPIC_RETENTION
from shared.server import HTTP_DRAIN_TIMEOUT_S
from shared.service import SHUTDOWN_STEP_TIMEOUT_S, SHUTDOWN_STEPS, ServiceSpec
from shared.service_index import SERVICES, create_app, settings_class
from shared.settings import DEV_JWT_SECRET, ServiceSettings
from tests.unit.test_deploy_manifests import (
    BASE,
    COMPOSE,
    OVERLAYS,
    ROOT,
    Doc,
    alert_rules,
    dashboard_panels,
    dashboards,
    label_problems,
    load_docs,
    named,
    objects,
    of_kind,
    pod_spec,
    promql_parse,
    rendered,
    walk,
)

# What a container must set although the code has a default: the default suits `poverty up` on a laptop only.
SERVE_ESSENTIALS = ("environment", "database_url", "kafka_bootstrap_servers", "host", "port")
MIGRATE_ESSENTIALS = ("environment", "database_url")
# A secret setting that another setting may stand in for: jwt_secret is unused when tokens are RS256.
SECRET_ALTERNATIVES = {"jwt_secret": ("jwt_algorithm", "RS256", "jwt_public_key")}
# Secrets the cluster must hold before deploying (README, Operations), with the keys the manifests read
# (a Secret named after a service, e.g. households-idcard, is that service's alone).
EXTERNAL_SECRETS = {
    "poverty-jwt": {"hs256-secret", "rs256-public-key"},
    "households-idcard": {"keys", "active-kid", "hmac-key"},
    "subsidies-payee": {"keys", "active-kid", "hmac-key"},
    "audit-grievance-contact": {"keys", "active-kid"},
    "audit-webhook": {"url", "secret"},  # optional (`optional: true`): without it notifications stay in the inbox
    # The login of audit's own role (the audit-db Cluster's `managed.roles`), apart from the database's owner.
    "audit-db-service": {"username", "password"},
}
CNPG_SECRET_KEYS = {"username", "password", "host", "port", "dbname", "uri", "jdbc-uri", "pgpass", "fqdn-uri"}
# The Secret Strimzi's user operator writes for a SCRAM KafkaUser (named after the user), and the cluster CA's.
STRIMZI_USER_SECRET_KEYS = {"password", "sasl.jaas.config"}
STRIMZI_CA_SECRET, STRIMZI_CA_KEY = "{cluster}-cluster-ca-cert", "ca.crt"
# A listener's `authentication.type` -> the clients' SASL mechanism (None: no SASL); others are not checked here.
STRIMZI_SASL_MECHANISMS: dict[str | None, str | None] = {"scram-sha-512": "SCRAM-SHA-512", None: None}
OTEL_PREFIX = "OTEL_"  # tracing's standard variables, read by the OpenTelemetry SDK without a service prefix
PLACEHOLDER_SECRET = "s" * 48  # stands for a secret value when the settings are loaded from a manifest
REFERENCE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")
APP_IMAGE = "poverty-platform"
DEFAULT_PARTITIONS = inspect.signature(ensure_topics).parameters["partitions"].default
# Settings naming a file the settings require to exist (the Kafka TLS files): in a pod, a mounted Secret.
FILE_SETTINGS = frozenset(name for name in ServiceSettings.model_fields if name.endswith("file"))
STAND_IN_FILE = str(Path(__file__).resolve())  # an existing file, loaded in place of a mounted one
REPLAY_GROUP: str = cli_parser().parse_args(["replay-dlq", dead_letter_topic(SERVICE_TOPICS[0])]).group


# ---- what the code reads ---------------------------------------------------------------------------------------


def prefix(service: str) -> str:
    value: str = settings_class(service).model_config.get("env_prefix", "")
    return value


def env_names(service: str) -> dict[str, str]:
    """Environment variable name -> field name, as pydantic-settings reads them for `service`."""
    names = {}
    for name, info in settings_class(service).model_fields.items():
        alias = info.validation_alias if isinstance(info.validation_alias, str) else info.alias
        names[(alias or prefix(service) + name).upper()] = name
    return names


def env_name(service: str, field_name: str) -> str:
    return next(env for env, name in env_names(service).items() if name == field_name)


def _is_secret(annotation: Any) -> bool:
    if annotation in (SecretStr, SecretBytes):
        return True
    return any(_is_secret(arg) for arg in typing.get_args(annotation))


def must_provide(service: str) -> set[str]:
    """Fields a deployment must set: required ones and secrets with a default (a development value). A secret
    that defaults to None belongs to an optional feature (Kafka SASL): the settings refuse the feature without it."""
    fields: dict[str, FieldInfo] = settings_class(service).model_fields
    return {
        name
        for name, info in fields.items()
        if info.is_required() or (_is_secret(info.annotation) and info.default is not None)
    }


def owner(name: str) -> str | None:
    """The service an object or compose service belongs to, by name (`audit`, `audit-migrate`, `audit-config`)."""
    return next((s for s in SERVICES if name == s or name.startswith(f"{s}-")), None)


@functools.cache
def service_spec(service: str) -> ServiceSpec:
    """The ServiceSpec the service's app is built from: its name is the consumer group (and client id), its
    handlers' topics are what it consumes."""
    module = importlib.import_module(f"services.{service}.app")
    build_app = module.build_app
    specs: list[ServiceSpec] = []

    def capture(spec: ServiceSpec) -> Any:
        specs.append(spec)
        return build_app(spec)

    with mock.patch.object(module, "build_app", capture):
        create_app(service, settings_class(service)(kafka_enabled=False))
    assert len(specs) == 1, f"{service}: create_app builds one ServiceSpec"
    return specs[0]


def produced_topics(service: str) -> set[str]:
    """The topics of the events `service` publishes: the contracts typed gov.poverty.<service>.<event>.v<N>."""
    return {c.topic for c in registered_types().values() if c.event_type.split(".")[2] == service}


Acl = tuple[str, str, str]  # (resource type, resource name, operation), as a KafkaUser spells them


def kafka_acls_needed(service: str) -> set[Acl]:
    """What the service's Kafka clients do: the relay writes its own topic; the consumer reads the handlers' topics
    in its group and dead-letters to their .dlq; `poverty replay-dlq` in its pod reads its own topic's .dlq in
    the replay group and writes the records back to its own topic. No topic creation (KAFKA_CREATE_TOPICS=false,
    checked in deployment_problems)."""
    spec = service_spec(service)
    needed: set[Acl] = {("group", REPLAY_GROUP, "Read")}
    if spec.handlers.topics:
        needed.add(("group", spec.name, "Read"))
    for topic in spec.handlers.topics:
        needed |= {("topic", topic, "Read"), ("topic", dead_letter_topic(topic), "Write")}
    for topic in produced_topics(service):
        needed |= {("topic", topic, "Write"), ("topic", dead_letter_topic(topic), "Read")}
    return needed


@contextmanager
def environment(env: dict[str, str]) -> Iterator[None]:
    with mock.patch.dict(os.environ, env, clear=True):
        yield


def load_as_container(
    service: str,
    env: dict[str, str],
    from_secrets: AbstractSet[str] = frozenset(),
) -> tuple[ServiceSettings | None, str]:
    """The settings the service would load from this environment (or why they would not load).

    Values kept in Secrets (`from_secrets`) are unknown here: the code's defaults stand in for them, and as
    production refuses exactly those defaults the load then runs as `dev` (the environment's value is checked on
    its own). A setting without a default (an optional feature's, the Kafka SASL password) keeps its placeholder
    value: the settings refuse the feature without it. That secrets are provided at all is checked by name in
    env_problems.
    """
    fields = settings_class(service).model_fields
    no_default = {name for name, field_name in env_names(service).items() if fields[field_name].default is None}
    env = {k: v for k, v in env.items() if k not in from_secrets or k in no_default}
    environment_var = env_name(service, "environment")
    if from_secrets and environment_var in env:
        annotation = settings_class(service).model_fields["environment"].annotation
        try:
            TypeAdapter(annotation).validate_python(env[environment_var])
        except ValidationError as exc:
            return None, f"{environment_var}: {exc}"
        env[environment_var] = "dev"
    try:
        with environment(env):
            return settings_class(service)(), ""
    except Exception as exc:  # pydantic's ValidationError, or a settings validator refusing the values
        return None, f"{type(exc).__name__}: {exc}"


def env_problems(
    service: str,
    env: dict[str, str],
    essentials: tuple[str, ...],
    helpers: AbstractSet[str] = frozenset(),
    from_secrets: AbstractSet[str] = frozenset(),
) -> tuple[list[str], ServiceSettings | None]:
    """Names that are no setting of `service`, settings that are missing, values that do not load."""
    known = env_names(service)
    problems = []
    for name in env:
        if name in known:
            continue
        if name in helpers and not any(name.startswith(prefix(s)) for s in SERVICES):
            continue
        if name.startswith(OTEL_PREFIX):  # the OpenTelemetry SDK's own (README, tracing): no setting of the code
            continue
        problems.append(f"{service}: {name} is not a setting of {service} (prefix {prefix(service)})")
    provided = {known[name] for name in env if name in known}
    for field_name in sorted((must_provide(service) | set(essentials)) - provided):
        alternative = SECRET_ALTERNATIVES.get(field_name)
        if alternative and env.get(env_name(service, alternative[0])) == alternative[1] and alternative[2] in provided:
            continue
        problems.append(f"{service}: {env_name(service, field_name)} must be provided")
    settings, error = load_as_container(service, env, from_secrets)
    if settings is None:
        problems.append(f"{service}: the settings do not load: {error}")
    return problems, settings


# ---- Kubernetes: the environment a container gets -----------------------------------------------------------------


def k8s_env(docs: list[Doc], container: Doc) -> tuple[dict[str, str], set[str], set[str], list[str]]:
    """(environment with placeholder secret values, helper variables referenced by $(NAME), variables set from
    Secrets, problems)."""
    env: dict[str, str] = {}
    problems: list[str] = []
    for source in container.get("envFrom", []):
        if "configMapRef" not in source:
            problems.append(f"{container['name']}: envFrom only from ConfigMaps (secret keys are listed one by one)")
            continue
        configmap = named(docs, "ConfigMap", source["configMapRef"]["name"])
        if configmap is None:
            problems.append(f"{container['name']}: ConfigMap {source['configMapRef']['name']} does not exist")
            continue
        env.update({str(k): str(v) for k, v in configmap.get("data", {}).items()})
    helpers: set[str] = set()
    from_secrets: set[str] = set()
    for entry in container.get("env", []):
        name = entry["name"]
        if "value" in entry:
            value = str(entry["value"])
            for ref in REFERENCE.findall(value):
                if ref not in env:
                    problems.append(f"{name} refers to $({ref}) which is not defined before it")
                helpers.add(ref)
            env[name] = REFERENCE.sub(lambda m: env.get(m.group(1), m.group(0)), value)
        elif entry.get("valueFrom", {}).get("secretKeyRef", {}).get("optional"):
            continue  # an optional feature's Secret: the pod is checked as it starts without it (its name below)
        elif "secretKeyRef" in entry.get("valueFrom", {}):
            key = entry["valueFrom"]["secretKeyRef"]["key"]
            env[name] = "5432" if key == "port" else PLACEHOLDER_SECRET
            from_secrets.add(name)
        else:
            problems.append(f"{name}: only values and secretKeyRefs are expected")
    return env, helpers, from_secrets, problems


def secret_refs(container: Doc) -> list[tuple[str, str, str]]:
    """(env name, secret name, key) of every secretKeyRef."""
    return [
        (e["name"], e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"])
        for e in container.get("env", [])
        if "secretKeyRef" in e.get("valueFrom", {})
    ]


class MountedFile(NamedTuple):
    secret: str
    key: str
    read_only: bool


def mounted_file(workload: Doc, container: Doc, path: str) -> MountedFile | None:
    """The Secret key a container sees at `path`, if a Secret volume puts one there."""
    volumes = {v["name"]: v for v in pod_spec(workload).get("volumes", [])}
    for mount in container.get("volumeMounts", []):
        secret = volumes.get(mount["name"], {}).get("secret")
        if secret is None:
            continue
        files = {item["path"]: item["key"] for item in secret.get("items", [])}
        directory = mount["mountPath"].rstrip("/")
        if "subPath" in mount:
            key = files.get(mount["subPath"], mount["subPath"]) if mount["mountPath"] == path else None
        elif path.startswith(f"{directory}/"):
            relative = path[len(directory) + 1 :]
            key = files.get(relative) if files else relative
        else:
            key = None
        if key is not None:
            return MountedFile(secret["secretName"], key, mount.get("readOnly") is True)
    return None


def with_mounted_files(
    service: str, workload: Doc, container: Doc, env: dict[str, str]
) -> tuple[dict[str, str], list[str]]:
    """The environment with each file setting that names a mounted file pointed at a file that exists here (the
    settings check that it is there), and the file settings naming a file the pod does not mount."""
    loadable, problems = dict(env), []
    for name, field_name in env_names(service).items():
        if field_name not in FILE_SETTINGS or not env.get(name):
            continue
        if mounted_file(workload, container, env[name]) is None:
            problems.append(f"{name}={env[name]} is no file the pod mounts from a Secret")
        else:
            loadable[name] = STAND_IN_FILE
    return loadable, problems


def kafka_client_problems(
    docs: list[Doc], service: str, workload: Doc, container: Doc, env: dict[str, str], settings: ServiceSettings
) -> list[str]:
    """The service's Kafka settings against the Kafka resource: the bootstrap address names a listener, the
    security protocol and SASL mechanism are that listener's, the user is the service's KafkaUser with the password
    from the Secret Strimzi writes for it, and the CA file is the cluster CA mounted from its Secret."""
    kafka = of_kind(docs, "Kafka")[0]
    cluster = kafka["metadata"]["name"]
    listeners = {f"{cluster}-kafka-bootstrap:{lst['port']}": lst for lst in kafka["spec"]["kafka"]["listeners"]}
    listener = listeners.get(settings.kafka_bootstrap_servers)
    if listener is None:
        return [f"KAFKA_BOOTSTRAP_SERVERS {settings.kafka_bootstrap_servers}, expected one of {sorted(listeners)}"]
    problems = []
    authentication = (listener.get("authentication") or {}).get("type")
    if authentication not in STRIMZI_SASL_MECHANISMS:
        return [f"listener {listener['name']}: authentication {authentication} is not checked here"]
    mechanism = STRIMZI_SASL_MECHANISMS[authentication]
    protocol = ("SASL_" if mechanism else "") + ("SSL" if listener.get("tls") else "PLAINTEXT")
    if settings.kafka_security_protocol != protocol:
        problems.append(f"KAFKA_SECURITY_PROTOCOL {settings.kafka_security_protocol}, the listener needs {protocol}")
    if mechanism is not None:
        if settings.kafka_sasl_mechanism != mechanism:
            problems.append(f"KAFKA_SASL_MECHANISM {settings.kafka_sasl_mechanism}, the listener needs {mechanism}")
        username = settings.kafka_sasl_username or ""
        user = named(docs, "KafkaUser", username)
        if user is None or owner(username) != service:
            problems.append(f"KAFKA_SASL_USERNAME {username or None} is no KafkaUser of {service}")
        elif (user["spec"].get("authentication") or {}).get("type") != authentication:
            problems.append(f"KafkaUser {username} does not authenticate with {authentication}")
        password = env_name(service, "kafka_sasl_password")
        sources = {env_var: (secret, key) for env_var, secret, key in secret_refs(container)}
        if sources.get(password) != (username, "password"):
            problems.append(f"{password} must come from the KafkaUser's Secret {username or service}, key password")
    if listener.get("tls"):
        cafile = env_name(service, "kafka_ssl_cafile")
        path = env.get(cafile)
        mounted = mounted_file(workload, container, path) if path else None
        ca_secret = STRIMZI_CA_SECRET.format(cluster=cluster)
        if mounted is None or (mounted.secret, mounted.key) != (ca_secret, STRIMZI_CA_KEY):
            problems.append(f"{cafile} must be {ca_secret}/{STRIMZI_CA_KEY} mounted into the pod, is {path}: {mounted}")
        elif not mounted.read_only:
            problems.append(f"{cafile}: the CA volume must be mounted read-only")
    return problems


def kafka_acl_problems(docs: list[Doc]) -> list[str]:
    """Each service's KafkaUser grants exactly what its code does (kafka_acls_needed); a Describe beside a Read or
    Write of the same resource is tolerated (they imply it)."""
    problems = []
    for service in SERVICES:
        user = named(docs, "KafkaUser", service)
        if user is None:
            problems.append(f"no KafkaUser {service}")
            continue
        authorization = user["spec"].get("authorization") or {}
        if authorization.get("type") != "simple":
            problems.append(f"KafkaUser {service}: simple authorization expected")
        granted: set[Acl] = set()
        for acl in authorization.get("acls", []):
            resource = acl["resource"]
            label = f"KafkaUser {service}: ACL on {resource.get('type')} {resource.get('name')}"
            if resource.get("patternType", "literal") != "literal":
                problems.append(f"{label}: literal names only (a prefix grants topics nobody reviewed)")
            if acl.get("type", "allow") != "allow" or acl.get("host", "*") != "*":
                problems.append(f"{label}: allow rules for any host only")
            operations = acl.get("operations") or ([acl["operation"]] if "operation" in acl else [])
            granted |= {(resource["type"], resource.get("name", ""), operation) for operation in operations}
        needed = kafka_acls_needed(service)
        used_resources = {(kind, name) for kind, name, _ in needed}
        for kind, name, operation in sorted(needed - granted):
            problems.append(f"KafkaUser {service}: lacks {operation} on {kind} {name}")
        for kind, name, operation in sorted(granted - needed):
            if operation == "Describe" and (kind, name) in used_resources:
                continue
            problems.append(f"KafkaUser {service}: grants {operation} on {kind} {name}, which its code does not use")
    return problems


def k8s_problems(docs: list[Doc], environment_name: str | None = None) -> list[str]:
    """Every service's Deployment and migration Job against the code."""
    problems: list[str] = []
    clusters = {c["metadata"]["name"] for c in of_kind(docs, "Cluster")}
    for service in SERVICES:
        for kind, name, essentials, verb in (
            ("Deployment", service, SERVE_ESSENTIALS, "serve"),
            ("Job", f"{service}-migrate", MIGRATE_ESSENTIALS, "migrate"),
        ):
            workload = named(docs, kind, name)
            if workload is None:
                problems.append(f"no {kind} {name}")
                continue
            containers = pod_spec(workload)["containers"]
            if len(containers) != 1:
                problems.append(f"{kind}/{name}: one container expected")
            container = containers[0]
            command = container.get("command", []) + container.get("args", [])
            if command != ["poverty", verb, service]:
                problems.append(f"{kind}/{name}: command {command}, expected poverty {verb} {service}")
            env, helpers, from_secrets, found = k8s_env(docs, container)
            problems += [f"{kind}/{name}: {p}" for p in found]
            loadable, found = with_mounted_files(service, workload, container, env)
            problems += [f"{kind}/{name}: {p}" for p in found]
            env_found, settings = env_problems(service, loadable, essentials, helpers, from_secrets)
            problems += [f"{kind}/{name}: {p}" for p in env_found]
            for env_var, secret, key in secret_refs(container):
                if env_var not in env and env_var not in env_names(service):  # an optional one, left out of env
                    problems.append(f"{kind}/{name}: {env_var} is not a setting of {service}")
                own_cluster = f"{service}-db"
                if secret == f"{own_cluster}-app" and own_cluster in clusters and key in CNPG_SECRET_KEYS:
                    continue
                if secret == service and named(docs, "KafkaUser", secret) and key in STRIMZI_USER_SECRET_KEYS:
                    continue
                if key in EXTERNAL_SECRETS.get(secret, set()) and owner(secret) in (None, service):
                    continue
                problems.append(f"{kind}/{name}: {env_var} reads {secret}/{key}, which nothing provides")
            for entry in container.get("env", []):
                field_name = env_names(service).get(entry["name"])
                if field_name in must_provide(service) and "value" in entry:
                    problems.append(f"{kind}/{name}: {entry['name']} is a secret: reference a Secret")
            given_environment = env.get(env_name(service, "environment"))
            if environment_name and given_environment != environment_name:
                problems.append(f"{kind}/{name}: environment {given_environment}, expected {environment_name}")
            if settings is None:
                continue
            if not settings.database_url.startswith("postgresql+asyncpg://"):
                problems.append(f"{kind}/{name}: database_url must be postgresql+asyncpg://")
            # The Jobs never connect, but they load the same settings, which refuse incomplete Kafka security.
            found = kafka_client_problems(docs, service, workload, container, env, settings)
            problems += [f"{kind}/{name}: {p}" for p in found]
            if kind == "Deployment":
                problems += deployment_problems(docs, workload, container, settings)
    return problems


def deployment_problems(docs: list[Doc], deployment: Doc, container: Doc, settings: ServiceSettings) -> list[str]:
    name = deployment["metadata"]["name"]
    problems = []
    default_port = settings_class(name).model_fields["port"].default
    ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
    if settings.port != default_port or ports != {"http": default_port, "metrics": settings.metrics_port}:
        problems.append(f"{name}: listens on {settings.port}, container ports {ports}, code default {default_port}")
    if settings.metrics_port != ServiceSettings.model_fields["metrics_port"].default:
        problems.append(f"{name}: metrics on {settings.metrics_port}, not the default port")
    if settings.host != "0.0.0.0":
        problems.append(f"{name}: HOST must be 0.0.0.0 in a container")
    if settings.kafka_create_topics:
        problems.append(f"{name}: KafkaTopic resources create the topics: KAFKA_CREATE_TOPICS must be false")
    service = named(docs, "Service", name)
    if service is None or [(p["port"], p["targetPort"]) for p in service["spec"]["ports"]] != [
        (default_port, "http"),
        (settings.metrics_port, "metrics"),
    ]:
        problems.append(f"{name}: the Service must expose {default_port} and the metrics port to the named ports")
    return problems


# ---- compose ------------------------------------------------------------------------------------------------------

INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}")


def compose() -> Doc:
    return load_docs(COMPOSE)[0]


def interpolate(value: str) -> tuple[str, list[str]]:
    """Compose's `${VAR:-default}` with the defaults (what `docker compose up` uses without a .env file)."""
    missing = [m.group(1) for m in INTERPOLATION.finditer(value) if m.group(2) is None]
    return INTERPOLATION.sub(lambda m: m.group(2) or "", value).replace("$$", "$"), missing


def compose_env(service: Doc) -> tuple[dict[str, str], list[str]]:
    raw = service.get("environment", {})
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) for item in raw)
    env, problems = {}, []
    for name, value in raw.items():
        env[name], missing = interpolate(str(value))
        problems += [f"{name} needs ${{{var}}} set (give it a default)" for var in missing]
    return env, problems


def compose_problems(spec: Doc) -> list[str]:
    problems: list[str] = []
    services: dict[str, Doc] = spec["services"]
    for service in SERVICES:
        for name, verb, essentials in (
            (service, "serve", SERVE_ESSENTIALS),
            (f"{service}-migrate", "migrate", MIGRATE_ESSENTIALS),
        ):
            entry = services.get(name)
            if entry is None:
                problems.append(f"compose: no service {name}")
                continue
            if entry.get("command") != ["poverty", verb, service]:
                problems.append(f"compose {name}: command {entry.get('command')}")
            if not str(entry.get("image", "")).startswith(APP_IMAGE):
                problems.append(f"compose {name}: image must be {APP_IMAGE}")
            env, found = compose_env(entry)
            problems += [f"compose {name}: {p}" for p in found]
            env_found, settings = env_problems(service, env, essentials)
            problems += [f"compose {name}: {p}" for p in env_found]
            if settings is None:
                continue
            if (
                not settings.database_url.startswith("postgresql+asyncpg://")
                or "@postgres:5432/" not in settings.database_url
            ):
                problems.append(f"compose {name}: database_url must point at the postgres service")
            if verb == "serve":
                problems += compose_serve_problems(services, service, entry, settings)
    return problems


def compose_serve_problems(services: dict[str, Doc], name: str, entry: Doc, settings: ServiceSettings) -> list[str]:
    problems = []
    default_port = settings_class(name).model_fields["port"].default
    if settings.port != default_port or settings.host != "0.0.0.0":
        problems.append(f"compose {name}: must listen on 0.0.0.0:{default_port}")
    if f"127.0.0.1:{default_port}:{default_port}" not in entry.get("ports", []):
        problems.append(f"compose {name}: publish {default_port} on 127.0.0.1")
    if not settings.metrics_port or str(settings.metrics_port) not in entry.get("expose", []):
        problems.append(f"compose {name}: expose the metrics port")
    healthcheck = " ".join(entry.get("healthcheck", {}).get("test", []))
    if f"http://127.0.0.1:{default_port}/readyz" not in healthcheck or "python" not in healthcheck:
        problems.append(f"compose {name}: healthcheck must GET /readyz on {default_port} with python (no curl)")
    if settings.kafka_create_topics:
        problems.append(f"compose {name}: kafka-topics creates the topics: KAFKA_CREATE_TOPICS must be false")
    kafka_env = services["kafka"]["environment"]
    advertised = dict(item.split("://", 1) for item in kafka_env["KAFKA_ADVERTISED_LISTENERS"].split(","))
    if settings.kafka_bootstrap_servers != advertised.get(kafka_env.get("KAFKA_INTER_BROKER_LISTENER_NAME", "")):
        problems.append(f"compose {name}: KAFKA_BOOTSTRAP_SERVERS must be the broker's advertised in-network address")
    conditions = {dep: cond.get("condition") for dep, cond in entry.get("depends_on", {}).items()}
    expected = {
        f"{name}-migrate": "service_completed_successfully",
        "kafka-topics": "service_completed_successfully",
    }
    for dep, condition in expected.items():
        if conditions.get(dep) != condition:
            problems.append(f"compose {name}: depends_on {dep} must be {condition}")
    migrate = services.get(f"{name}-migrate", {})
    if migrate.get("depends_on", {}).get("postgres", {}).get("condition") != "service_healthy":
        problems.append(f"compose {name}-migrate: must wait for a healthy postgres")
    return problems


# ---- tests: settings --------------------------------------------------------------------------------------------


def test_settings_are_derived_from_the_code() -> None:
    for service in SERVICES:
        assert prefix(service) == f"{service.upper()}_"
        names = env_names(service)
        assert f"{service.upper()}_DATABASE_URL" in names
        for essential in SERVE_ESSENTIALS:
            assert essential in names.values(), f"{essential} is no longer a setting: update the manifests"
        assert "jwt_secret" in must_provide(service)
    for field_name, (switch, _, substitute) in SECRET_ALTERNATIVES.items():
        assert {field_name, switch, substitute} <= set(ServiceSettings.model_fields)
    kafka_fields = {"kafka_security_protocol", "kafka_sasl_mechanism", "kafka_sasl_username", "kafka_sasl_password"}
    assert kafka_fields <= set(ServiceSettings.model_fields)
    assert "kafka_ssl_cafile" in FILE_SETTINGS


def test_k8s_base_workloads_match_the_code() -> None:
    assert k8s_problems(objects(BASE), environment_name="prod") == []


def database_login(docs: list[Doc], kind: str, name: str, variable: str) -> str | None:
    """The Secret the user of a workload's database URL (`variable`, composed of `$(NAME)`s) comes from."""
    env = {e["name"]: e for e in pod_spec(named(docs, kind, name) or {})["containers"][0].get("env", [])}
    user = REFERENCE.search(env.get(variable, {}).get("value", ""))
    source = env.get(user.group(1), {}) if user else {}
    found: str | None = source.get("valueFrom", {}).get("secretKeyRef", {}).get("name")
    return found


def test_audit_migrates_as_the_databases_owner_and_serves_as_a_role_of_its_own() -> None:
    """The service's role may only insert into the tamper-evident log and read it: it must not be the owner the
    migrations run as (README, the tamper-evident log)."""
    docs = objects(BASE)
    cluster = named(docs, "Cluster", "audit-db")
    assert cluster is not None
    [role] = cluster["spec"]["managed"]["roles"]
    assert role["name"] != cluster["spec"]["bootstrap"]["initdb"]["owner"]
    service_login = role["passwordSecret"]["name"]
    assert database_login(docs, "Job", "audit-migrate", "AUDIT_MIGRATION_DATABASE_URL") == "audit-db-app"
    assert database_login(docs, "Job", "audit-migrate", "AUDIT_DATABASE_URL") == service_login
    assert database_login(docs, "Deployment", "audit", "AUDIT_DATABASE_URL") == service_login
    services = compose()["services"]
    migrate_env, serve_env = compose_env(services["audit-migrate"])[0], compose_env(services["audit"])[0]
    owner_url, service_url = migrate_env["AUDIT_MIGRATION_DATABASE_URL"], migrate_env["AUDIT_DATABASE_URL"]
    assert service_url == serve_env["AUDIT_DATABASE_URL"] and owner_url.split(":")[1] != service_url.split(":")[1]


def test_k8s_patches_only_name_real_settings() -> None:
    """Overlay patches are partial objects: their setting names must still be the service's own."""
    problems = []
    for overlay in OVERLAYS.values():
        for path in walk(overlay).patches:
            for doc in load_docs(path):
                service = owner(doc["metadata"]["name"])
                names: list[str] = (
                    list(doc.get("data", {}))
                    if doc["kind"] == "ConfigMap"
                    else [
                        e["name"]
                        for c in doc.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [])
                        for e in c.get("env", [])
                    ]
                )
                for name in names:
                    if service is None or name not in env_names(service):
                        problems.append(f"{path.relative_to(ROOT)}: {name} is not a setting of {service}")
    assert problems == []


def test_configmaps_only_name_settings_of_their_service() -> None:
    problems = []
    for configmap in of_kind(objects(BASE), "ConfigMap"):
        service = owner(configmap["metadata"]["name"])
        assert service is not None, configmap["metadata"]["name"]
        problems += [key for key in configmap.get("data", {}) if key not in env_names(service)]
    assert problems == []


def test_no_secret_values_in_the_repository() -> None:
    for overlay in OVERLAYS.values():
        tree = walk(overlay)
        for path in tree.resources + tree.patches:
            assert not [d for d in load_docs(path) if d["kind"] == "Secret"], path


def test_cross_check_catches_an_insecure_kafka_client() -> None:
    """Each service's pods (Deployment and migration Job) need the listener's TLS and SASL settings, the password
    from the KafkaUser's Secret and the cluster CA mounted where KAFKA_SSL_CAFILE points."""
    docs = objects(BASE)
    plain, borrowed, unmounted, foreign_ca = SERVICES

    def container(kind: str, name: str) -> Doc:
        workload = named(docs, kind, name)
        assert workload is not None
        found: Doc = pod_spec(workload)["containers"][0]
        return found

    def drop_env(kind: str, name: str, env_var: str) -> None:
        entries = container(kind, name)["env"]
        container(kind, name)["env"] = [e for e in entries if e["name"] != env_var]

    configmap = named(docs, "ConfigMap", f"{plain}-config")
    assert configmap is not None
    for setting in ("kafka_security_protocol", "kafka_sasl_mechanism", "kafka_sasl_username", "kafka_ssl_cafile"):
        del configmap["data"][env_name(plain, setting)]
    for kind, name in (("Deployment", plain), ("Job", f"{plain}-migrate")):
        drop_env(kind, name, env_name(plain, "kafka_sasl_password"))
    password = next(e for e in container("Deployment", borrowed)["env"] if e["name"].endswith("_KAFKA_SASL_PASSWORD"))
    password["valueFrom"]["secretKeyRef"]["name"] = plain
    job_password = next(
        e for e in container("Job", f"{borrowed}-migrate")["env"] if e["name"].endswith("_KAFKA_SASL_PASSWORD")
    )
    del job_password["valueFrom"]
    job_password["value"] = PLACEHOLDER_SECRET
    for mount in container("Deployment", unmounted)["volumeMounts"]:
        if mount["mountPath"] != "/tmp":
            mount["mountPath"] = "/etc/elsewhere"
    job = named(docs, "Job", f"{foreign_ca}-migrate")
    assert job is not None
    for volume in pod_spec(job)["volumes"]:
        if "secret" in volume:
            volume["secret"]["secretName"] = "poverty-clients-ca-cert"
    for mount in container("Deployment", foreign_ca)["volumeMounts"]:
        if mount["mountPath"] != "/tmp":
            mount["readOnly"] = False

    problems = "\n".join(k8s_problems(docs))
    for kind, name in (("Deployment", plain), ("Job", f"{plain}-migrate")):
        assert f"{kind}/{name}: KAFKA_SECURITY_PROTOCOL PLAINTEXT, the listener needs SASL_SSL" in problems
    assert (
        f"Deployment/{borrowed}: {env_name(borrowed, 'kafka_sasl_password')} must come from the KafkaUser's Secret"
        in problems
    )
    assert f"Job/{borrowed}-migrate: {env_name(borrowed, 'kafka_sasl_password')} must come from" in problems
    cafile = env_name(unmounted, "kafka_ssl_cafile")
    unmounted_config = named(docs, "ConfigMap", f"{unmounted}-config")
    assert unmounted_config is not None
    assert f"Deployment/{unmounted}: {cafile}={unmounted_config['data'][cafile]} is no file the pod mounts" in problems
    assert (
        f"Job/{foreign_ca}-migrate: {env_name(foreign_ca, 'kafka_ssl_cafile')} must be poverty-cluster-ca-cert"
        in problems
    )
    assert (
        f"Deployment/{foreign_ca}: {env_name(foreign_ca, 'kafka_ssl_cafile')}: the CA volume must be mounted read-only"
        in problems
    )


def test_cross_check_catches_a_wrong_setting() -> None:
    docs = objects(BASE)
    configmap = named(docs, "ConfigMap", f"{SERVICES[0]}-config")
    assert configmap is not None
    configmap["data"][f"{SERVICES[0].upper()}_NO_SUCH_SETTING"] = "1"
    configmap["data"][f"{SERVICES[0].upper()}_PORT"] = "not-a-port"
    job = named(docs, "Job", f"{SERVICES[1]}-migrate")
    assert job is not None
    pod_spec(job)["containers"][0]["env"] = [
        e for e in pod_spec(job)["containers"][0]["env"] if not e["name"].endswith("_JWT_SECRET")
    ]
    problems = "\n".join(k8s_problems(docs))
    assert f"{SERVICES[0].upper()}_NO_SUCH_SETTING is not a setting" in problems
    assert "do not load" in problems
    assert f"{SERVICES[1].upper()}_JWT_SECRET must be provided" in problems


def test_a_new_required_setting_must_be_provided(monkeypatch: pytest.MonkeyPatch) -> None:
    """A setting added to the code without a safe default fails the check until compose and k8s set it."""
    service, original = SERVICES[0], settings_class
    base_class = original(service)
    extended = typing.cast(
        type[ServiceSettings],
        type(base_class.__name__, (base_class,), {"__annotations__": {"id_card_key": SecretStr}}),
    )
    monkeypatch.setattr(sys.modules[__name__], "settings_class", lambda s: extended if s == service else original(s))
    assert "id_card_key" in must_provide(service)
    for problems in (k8s_problems(objects(BASE)), compose_problems(compose())):
        assert f"{service}: {service.upper()}_ID_CARD_KEY must be provided" in "\n".join(problems)


# ---- tests: ports, probes, commands -------------------------------------------------------------------------------


def test_probe_paths_are_routes_of_every_app() -> None:
    health = {getattr(route, "path", None): getattr(route, "name", None) for route in health_router.routes}
    assert {"/livez", "/readyz"} <= set(health)
    assert "/metrics" not in health, "metrics are served on their own port, never on the API's"
    docs = objects(BASE)
    for service in SERVICES:
        app = create_app(service, settings_class(service)(kafka_enabled=False))
        deployment = named(docs, "Deployment", service)
        assert deployment is not None
        container = pod_spec(deployment)["containers"][0]
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            path = container[probe]["httpGet"]["path"]
            assert path in health, f"{service} {probe}: {path} is not a health route"
            assert app.url_path_for(str(health[path])) == path, f"{service} does not serve {path}"


def test_the_grace_period_covers_the_whole_bounded_shutdown() -> None:
    docs = objects(BASE)
    for service in SERVICES:
        deployment = named(docs, "Deployment", service)
        assert deployment is not None
        spec = pod_spec(deployment)
        pre_stop = spec["containers"][0]["lifecycle"]["preStop"]["exec"]["command"]
        assert pre_stop[0] == "sleep", f"{service}: preStop {pre_stop}"
        needed = int(pre_stop[1]) + HTTP_DRAIN_TIMEOUT_S + SHUTDOWN_STEPS * SHUTDOWN_STEP_TIMEOUT_S
        assert spec["terminationGracePeriodSeconds"] >= needed, f"{service}: SIGKILL before the shutdown ends"


RESERVED_CONNECTIONS = 3  # PostgreSQL's superuser_reserved_connections


def connection_budget_problems(docs: list[Doc]) -> list[str]:
    """Each database admits every pod the HPA may run, one more surging in a rollout, and the migration Job."""
    problems = []
    for service in SERVICES:
        cluster, hpa = named(docs, "Cluster", f"{service}-db"), named(docs, "HorizontalPodAutoscaler", service)
        deployment = named(docs, "Deployment", service)
        if cluster is None or hpa is None or deployment is None:
            problems.append(f"{service}: a database cluster, an HPA and a Deployment expected")
            continue
        pods = hpa["spec"]["maxReplicas"] + int(deployment["spec"]["strategy"]["rollingUpdate"]["maxSurge"])
        needed = (pods + 1) * MAX_CONNECTIONS_PER_ENGINE + RESERVED_CONNECTIONS
        allowed = int(cluster["spec"]["postgresql"]["parameters"]["max_connections"])
        if allowed < needed:
            problems.append(f"{service}: max_connections {allowed}, {pods} pods and a Job may open {needed}")
    return problems


def test_every_database_admits_every_pod_the_autoscaler_may_start() -> None:
    docs = objects(BASE)
    assert connection_budget_problems(docs) == []
    hpa = named(docs, "HorizontalPodAutoscaler", SERVICES[0])
    assert hpa is not None
    hpa["spec"]["maxReplicas"] = 20
    assert [p.split(":")[0] for p in connection_budget_problems(docs)] == [SERVICES[0]]


def test_commands_name_real_entry_points() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert scripts["poverty"] == "shared.cli:main"
    parser = cli_parser()
    for service in SERVICES:
        for verb in ("serve", "migrate"):
            args = parser.parse_args([verb, service])
            assert (args.command, args.service) == (verb, service)
    with pytest.raises(SystemExit):
        parser.parse_args(["serve", "no-such-service"])


# ---- tests: topics --------------------------------------------------------------------------------------------------


def test_every_topic_has_a_kafka_topic_resource() -> None:
    topics = of_kind(objects(BASE), "KafkaTopic")
    names = sorted(t["spec"].get("topicName", t["metadata"]["name"]) for t in topics)
    assert names == sorted(ALL_TOPICS)
    assert {t["spec"]["partitions"] for t in topics} == {DEFAULT_PARTITIONS}


def test_topics_keep_events_as_long_as_the_inbox_retention_assumes() -> None:
    topics = of_kind(objects(BASE), "KafkaTopic")
    keys = ("retention.ms", "segment.ms")
    kept = {t["spec"]["topicName"]: {k: str(t["spec"]["config"][k]) for k in keys} for t in topics}
    assert kept == {t: topic_config(t) for t in ALL_TOPICS}  # as the services create their topics themselves
    expected = {t: (DEAD_LETTER_RETENTION if t.endswith(DLQ_SUFFIX) else TOPIC_RETENTION) for t in ALL_TOPICS}
    assert {t: int(c["retention.ms"]) for t, c in kept.items()} == {
        t: int(r.total_seconds() * 1000) for t, r in expected.items()
    }
    assert {int(c["segment.ms"]) for c in kept.values()} == {int(SEGMENT_SPAN.total_seconds() * 1000)}


def test_kafka_users_grant_what_the_code_uses() -> None:
    assert set().union(*(produced_topics(s) for s in SERVICES)) == set(SERVICE_TOPICS)
    consumed = {topic for s in SERVICES for topic in service_spec(s).handlers.topics}
    assert consumed and consumed <= set(SERVICE_TOPICS), "the handlers' topics are read from the built apps"
    assert kafka_acl_problems(objects(BASE)) == []


def test_acl_check_catches_a_missing_or_a_superfluous_right() -> None:
    docs = objects(BASE)
    reader, writer = SERVICES[2], SERVICES[3]
    consumed = service_spec(reader).handlers.topics[0]
    users = {u["metadata"]["name"]: u for u in of_kind(docs, "KafkaUser")}
    acls = users[reader]["spec"]["authorization"]["acls"]
    users[reader]["spec"]["authorization"]["acls"] = [a for a in acls if a["resource"].get("name") != consumed]
    foreign = next(iter(produced_topics(reader)))
    users[writer]["spec"]["authorization"]["acls"] += [
        {"resource": {"type": "topic", "name": foreign, "patternType": "literal"}, "operations": ["Write"]},
        {"resource": {"type": "topic", "name": "audit", "patternType": "prefix"}, "operations": ["Read"]},
        {"resource": {"type": "cluster"}, "operations": ["Create"]},
    ]
    problems = "\n".join(kafka_acl_problems(docs))
    assert f"KafkaUser {reader}: lacks Read on topic {consumed}" in problems
    assert f"KafkaUser {writer}: grants Write on topic {foreign}, which its code does not use" in problems
    assert f"KafkaUser {writer}: ACL on topic audit: literal names only" in problems
    assert f"KafkaUser {writer}: grants Create on cluster" in problems
    del users[SERVICES[0]]["spec"]["authorization"]
    docs.remove(users[SERVICES[1]])
    problems = "\n".join(kafka_acl_problems(docs))
    assert f"KafkaUser {SERVICES[0]}: simple authorization expected" in problems
    assert f"no KafkaUser {SERVICES[1]}" in problems


def test_kafka_versions_agree() -> None:
    kafka = of_kind(objects(BASE), "Kafka")[0]
    assert kafka["spec"]["kafka"]["version"] == KAFKA_VERSION
    assert compose()["services"]["kafka"]["image"] == f"apache/kafka:{KAFKA_VERSION}"
    assert compose()["services"]["kafka-topics"]["image"] == f"apache/kafka:{KAFKA_VERSION}"


# ---- tests: compose -------------------------------------------------------------------------------------------------


def test_compose_services_match_the_code() -> None:
    assert compose_problems(compose()) == []


def test_compose_check_catches_a_wrong_setting() -> None:
    spec = compose()
    service = SERVICES[2]
    spec["services"][service]["environment"][f"{service.upper()}_DATABSE_URL"] = "x"
    spec["services"][service]["environment"].pop(f"{service.upper()}_JWT_SECRET")
    spec["services"][service]["healthcheck"]["test"] = ["CMD", "curl", "-f", "http://127.0.0.1:8003/livez"]
    problems = "\n".join(compose_problems(spec))
    assert "_DATABSE_URL is not a setting" in problems
    assert f"{service.upper()}_JWT_SECRET must be provided" in problems
    assert "healthcheck must GET /readyz" in problems


def test_compose_creates_every_topic_before_the_services_start() -> None:
    services = compose()["services"]
    step = services["kafka-topics"]
    script = " ".join(step["command"]) if isinstance(step["command"], list) else step["command"]
    assert "kafka-topics.sh" in script and "--create" in script and "--if-not-exists" in script
    named_topics = set(re.findall(r"\b[a-z]+\.events(?:\.dlq)?\b", script))
    assert named_topics == set(ALL_TOPICS)
    assert f"--partitions {DEFAULT_PARTITIONS}" in script
    for topic in ALL_TOPICS:  # each created with the retention and segment span the code expects
        config = topic_config(topic)
        loop = re.search(rf"for topic in [^;]*\b{re.escape(topic)}\b[^;]*; do\s+create \"\$\$topic\" (\d+)", script)
        assert loop is not None and loop.group(1) == config["retention.ms"], topic
        assert f"segment.ms={config['segment.ms']}" in script
    assert step["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert "controller" in services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"], "KRaft"


def test_compose_postgres_has_one_database_per_service() -> None:
    postgres = compose()["services"]["postgres"]
    assert re.fullmatch(r"postgres:1[56](?:[.-].*)?", postgres["image"])
    assert postgres["environment"]["POVERTY_SERVICES"].split() == list(SERVICES)
    mounts = [v.split(":") for v in postgres["volumes"] if v.startswith("./")]
    init = [ROOT / source for source, target, *_ in mounts if target.startswith("/docker-entrypoint-initdb.d/")]
    assert init and all(p.is_file() for p in init)
    named_volumes = set(compose()["volumes"])
    used = {v.split(":")[0] for s in compose()["services"].values() for v in s.get("volumes", [])}
    assert named_volumes == {v for v in used if not v.startswith(".")}


def test_compose_demo_data_uses_the_demo_loader_and_the_dev_secret() -> None:
    services = compose()["services"]
    demo = services["demo-data"]
    port = settings_class("households").model_fields["port"].default
    subsidies_port = settings_class("subsidies").model_fields["port"].default
    projects_port = settings_class("projects").model_fields["port"].default
    households, subsidies = f"http://households:{port}", f"http://subsidies:{subsidies_port}"
    projects = f"http://projects:{projects_port}"
    assert demo["command"] == [
        "poverty",
        "demo-data",
        "--households",
        households,
        "--subsidies",
        subsidies,
        "--projects",
        projects,
    ]
    args = cli_parser().parse_args(demo["command"][1:])
    assert (args.command, args.households, args.subsidies, args.projects) == (
        "demo-data",
        households,
        subsidies,
        projects,
    )
    demo_env, _ = compose_env(demo)
    migrate_env, _ = compose_env(services["subsidies-migrate"])
    assert demo_env == migrate_env, "the loader replays the month on subsidies' database with its keys"
    for service in SERVICES:
        assert demo["depends_on"][service]["condition"] == "service_healthy"
        env, _ = compose_env(services[service])
        assert env[f"{service.upper()}_JWT_SECRET"] == DEV_JWT_SECRET, "the demo loader signs with the dev secret"


# ---- tests: overlays as built --------------------------------------------------------------------------------------


def test_production_backs_up_every_database() -> None:
    docs = rendered("prod")
    scheduled = {b["spec"]["cluster"]["name"] for b in of_kind(docs, "ScheduledBackup")}
    for cluster in of_kind(docs, "Cluster"):
        name = cluster["metadata"]["name"]
        store = cluster["spec"].get("backup", {}).get("barmanObjectStore", {})
        assert store.get("destinationPath") and store.get("wal"), f"{name}: no WAL archive"
        assert name in scheduled, f"{name}: no scheduled base backup"


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_built_overlays_match_the_code(overlay: str) -> None:
    docs = rendered(overlay)
    assert k8s_problems(docs, environment_name=overlay) == []
    assert connection_budget_problems(docs) == []
    assert kafka_acl_problems(docs) == []
    topics = sorted(t["spec"].get("topicName", t["metadata"]["name"]) for t in of_kind(docs, "KafkaTopic"))
    assert topics == sorted(ALL_TOPICS)


# ---- monitoring: the metrics the alerts and the dashboard name, the runbooks the alerts point to -----------------

METRIC = re.compile(r"\bpoverty_[a-z_]+\b")
# Series read from elsewhere than the services, and what exposes them (README, Operations → Monitoring).
EXTERNAL_METRICS = {
    "kafka_consumergroup_lag": "Strimzi's Kafka Exporter (kafka.yaml kafkaExporter, monitoring/kafka-exporter.yaml)",
    "strimzi_certificate_expiration_timestamp_ms": "Strimzi's cluster operator, scraped where it runs",
}
# Labels a scraped series gets from its target (a ServiceMonitor adds namespace, service, pod, ...).
TARGET_LABELS = frozenset({"namespace", "service", "pod", "job", "instance", "endpoint", "container"})
SERIES_SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_sum", "_count"),
    "summary": ("", "_sum", "_count"),
}
RUNBOOKS = ROOT / "docs" / "runbooks"
RUNBOOK_SECTIONS = ("Symptoms", "Checks", "Actions", "Verification")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*$")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def code_metrics() -> dict[str, frozenset[str]]:
    """Every `poverty_` series the services expose -> its label names, from the Prometheus registry once every
    service's modules are imported (a counter's series end in _total; a histogram's in _bucket, _sum and _count)."""
    for service in SERVICES:
        importlib.import_module(f"services.{service}.app")
    labels_of = {
        metric.describe()[0].name: frozenset(getattr(metric, "_labelnames", ()))
        for module in list(sys.modules.values())
        if getattr(module, "__name__", "").startswith(("shared.", "services."))
        for metric in vars(module).values()
        if isinstance(metric, MetricWrapperBase)
    }
    exposed: dict[str, frozenset[str]] = {}
    for family in REGISTRY.collect():
        labels = labels_of.get(family.name, frozenset()) | {key for sample in family.samples for key in sample.labels}
        for suffix in SERIES_SUFFIXES.get(family.type, ("",)):
            exposed[family.name + suffix] = labels | ({"le"} if suffix == "_bucket" else frozenset())
    return {name: labels for name, labels in exposed.items() if name.startswith("poverty_")}


def monitoring_queries() -> dict[str, str]:
    """Every PromQL expression of the alerts and the dashboards (their variables' queries too), by where it is."""
    queries = {f"alert {r['alert']} ({r['labels']['severity']})": str(r["expr"]) for r in alert_rules(objects(BASE))}
    for path, dashboard in dashboards().items():
        for panel in dashboard_panels(dashboard):
            for target in panel.get("targets", []):
                queries[f"{path.name}: {panel['title']} {target.get('refId')}"] = target["expr"]
        for variable in dashboard.get("templating", {}).get("list", []):
            if variable.get("definition"):
                queries[f"{path.name}: variable {variable['name']}"] = variable["definition"]
    return queries


def metric_problems(queries: dict[str, str], exposed: dict[str, frozenset[str]]) -> list[str]:
    """Metric names the code does not expose, labels those metrics do not carry, and series of other exporters
    that EXTERNAL_METRICS does not list."""
    problems = []
    for where, query in queries.items():
        problems += [
            f"{where}: {name} is no metric of the code" for name in METRIC.findall(query) if name not in exposed
        ]
        selectors = promql_parse(query)[1]  # syntax: test_deploy_manifests.py (variables are no PromQL)
        problems += [f"{where}: {problem}" for problem in label_problems(selectors, exposed, TARGET_LABELS)]
        for name in sorted({s.metric for s in selectors if s.labels and s.metric and s.metric not in exposed}):
            if not name.startswith("poverty_") and name not in EXTERNAL_METRICS:
                problems.append(f"{where}: {name} is neither the code's nor in EXTERNAL_METRICS")
    return problems


def test_every_metric_the_alerts_and_the_dashboard_name_is_the_codes() -> None:
    queries, exposed = monitoring_queries(), code_metrics()
    assert exposed, "no poverty_ metric registered"
    assert metric_problems(queries, exposed) == []
    named_metrics = {name for query in queries.values() for name in METRIC.findall(query)}
    assert {"poverty_dead_letters_total", "poverty_consumer_lag", "poverty_relay_leader"} <= named_metrics
    broken = {
        "a": 'rate(poverty_http_request_total{status="500"}[5m])',
        "b": 'poverty_consumer_lag{consumer="audit"}',
        "c": "kafka_server_brokertopicmetrics_messagesin_total{topic='audit.events'}",
        "d": 'sum by (service) (rate(poverty_http_requests_total{path!~"/livez|/readyz"}[5m]))',
    }
    assert [p.split(":")[0] for p in metric_problems(broken, exposed)] == ["a", "b", "c", "d"]


def test_the_referral_alert_watches_every_consumer_of_audits_events() -> None:
    rule = next(r for r in alert_rules(objects(BASE)) if r["alert"] == "PovertyReferralsNotDelivered")
    groups = re.search(r'consumergroup=~"([^"]+)"', rule["expr"])
    assert groups is not None and f'topic="{AUDIT_TOPIC}"' in rule["expr"]
    consumers = {service for service in SERVICES if AUDIT_TOPIC in service_spec(service).handlers.topics}
    assert set(groups.group(1).split("|")) == consumers


def heading_anchors(path: Path) -> set[str]:
    """The anchors GitHub gives a Markdown page's headings (outside code blocks): lower case, punctuation dropped,
    spaces as hyphens."""
    anchors, fenced = set(), False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (match := HEADING.match(line)):
            anchors.add(re.sub(r"[^\w\- ]", "", match.group(1).lower()).replace(" ", "-"))
    return anchors


def link_problems(target: str, where: Path) -> list[str]:
    """A repository link (a path, optionally with #anchor, relative to `where`'s folder, or from the root for
    runbook_url) must reach a file, and its anchor a heading of that page."""
    page, _, anchor = target.partition("#")
    path = (where.parent / page).resolve() if page else where
    if not path.is_file():
        return [f"{where.name}: {target} does not exist"]
    if anchor and path.suffix == ".md" and anchor not in heading_anchors(path):
        return [f"{where.name}: {target}: no heading #{anchor}"]
    return []


def test_every_alert_points_to_a_runbook_page() -> None:
    root = ROOT / "README.md"  # runbook_url is relative to the repository's root
    urls = [str(rule["annotations"]["runbook_url"]) for rule in alert_rules(objects(BASE))]
    assert [p for url in urls for p in link_problems(url, root)] == []
    assert {url.split("#")[0] for url in urls} <= {f"docs/runbooks/{p.name}" for p in RUNBOOKS.glob("*.md")}
    assert len(link_problems("docs/runbooks/no-such-page.md", root)) == 1
    assert len(link_problems("docs/runbooks/dead-letters.md#no-such-heading", root)) == 1


def test_runbooks_are_linked_from_the_readme_and_say_what_to_do() -> None:
    pages = sorted(p for p in RUNBOOKS.glob("*.md") if p.name != "README.md")
    operations = (ROOT / "README.md").read_text(encoding="utf-8").split("\n## Operations", 1)[1]
    index = (RUNBOOKS / "README.md").read_text(encoding="utf-8")
    for page in pages:
        assert f"docs/runbooks/{page.name}" in operations, f"README's Operations does not link {page.name}"
        assert f"({page.name})" in index, f"docs/runbooks/README.md does not list {page.name}"
        headings = " ".join(heading_anchors(page))
        missing = [s for s in RUNBOOK_SECTIONS if s.lower() not in headings]
        assert missing == [], f"{page.name}: no {missing} section"
    problems = [
        problem
        for page in [*pages, RUNBOOKS / "README.md"]
        for target in LINK.findall(page.read_text(encoding="utf-8"))
        if not target.startswith(("http://", "https://", "mailto:"))
        for problem in link_problems(target, page)
    ]
    assert problems == []
