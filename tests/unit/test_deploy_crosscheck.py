"""docker-compose.yml and deploy/k8s against the code: every setting named there is one the service reads, every
setting without a safe default is provided (the settings load as the container would load them), ports, probe
paths, topics and commands exist.

The setting names come from `shared.registry.settings_class(service)` (fields and env prefix), so a setting
added to the code is checked here without editing this file.
"""

from __future__ import annotations

import inspect
import os
import re
import sys
import tomllib
import typing
from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from typing import Any
from unittest import mock

import pytest
from pydantic import SecretBytes, SecretStr, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from shared.cli import _parser as cli_parser
from shared.contracts import ALL_TOPICS
from shared.health import router as health_router
from shared.local.kafka import KAFKA_VERSION
from shared.messaging.kafka import ensure_topics
from shared.registry import SERVICES, create_app, settings_class
from shared.settings import DEV_JWT_SECRET, ServiceSettings
from tests.unit.test_deploy_manifests import (
    BASE,
    COMPOSE,
    OVERLAYS,
    ROOT,
    Doc,
    load_docs,
    named,
    objects,
    of_kind,
    pod_spec,
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
}
CNPG_SECRET_KEYS = {"username", "password", "host", "port", "dbname", "uri", "jdbc-uri", "pgpass", "fqdn-uri"}
PLACEHOLDER_SECRET = "s" * 48  # stands for a secret value when the settings are loaded from a manifest
REFERENCE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")
APP_IMAGE = "poverty-platform"
DEFAULT_PARTITIONS = inspect.signature(ensure_topics).parameters["partitions"].default


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
    its own). That secrets are provided at all is checked by name in env_problems.
    """
    env = {k: v for k, v in env.items() if k not in from_secrets}
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
            env_found, settings = env_problems(service, env, essentials, helpers, from_secrets)
            problems += [f"{kind}/{name}: {p}" for p in env_found]
            for env_var, secret, key in secret_refs(container):
                own_cluster = f"{service}-db"
                if secret == f"{own_cluster}-app" and own_cluster in clusters and key in CNPG_SECRET_KEYS:
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
            if kind == "Deployment":
                problems += deployment_problems(docs, workload, container, settings)
    return problems


def deployment_problems(docs: list[Doc], deployment: Doc, container: Doc, settings: ServiceSettings) -> list[str]:
    name = deployment["metadata"]["name"]
    problems = []
    default_port = settings_class(name).model_fields["port"].default
    ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
    if settings.port != default_port or list(ports.values()) != [default_port]:
        problems.append(f"{name}: listens on {settings.port}, container ports {ports}, code default {default_port}")
    if settings.host != "0.0.0.0":
        problems.append(f"{name}: HOST must be 0.0.0.0 in a container")
    if settings.kafka_create_topics:
        problems.append(f"{name}: KafkaTopic resources create the topics: KAFKA_CREATE_TOPICS must be false")
    kafka = of_kind(docs, "Kafka")[0]
    listener = kafka["spec"]["kafka"]["listeners"][0]
    bootstrap = f"{kafka['metadata']['name']}-kafka-bootstrap:{listener['port']}"
    if settings.kafka_bootstrap_servers != bootstrap:
        problems.append(f"{name}: KAFKA_BOOTSTRAP_SERVERS {settings.kafka_bootstrap_servers}, expected {bootstrap}")
    service = named(docs, "Service", name)
    if service is None or [(p["port"], p["targetPort"]) for p in service["spec"]["ports"]] != [
        (default_port, next(iter(ports), None))
    ]:
        problems.append(f"{name}: the Service must expose port {default_port} to the named container port")
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


def test_k8s_base_workloads_match_the_code() -> None:
    assert k8s_problems(objects(BASE), environment_name="prod") == []


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
    assert {"/livez", "/readyz", "/metrics"} <= set(health)
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
    assert demo["command"][:2] == ["python", "-c"]
    code = demo["command"][2]
    compile(code, "demo-data", "exec")
    assert "from shared.local.demo import load" in code
    for service in SERVICES:
        port = settings_class(service).model_fields["port"].default
        assert f'"{service}": "http://{service}:{port}"' in code
        assert demo["depends_on"][service]["condition"] == "service_healthy"
        env, _ = compose_env(services[service])
        assert env[f"{service.upper()}_JWT_SECRET"] == DEV_JWT_SECRET, "the demo loader signs with the dev secret"


# ---- tests: overlays as built --------------------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_built_overlays_match_the_code(overlay: str) -> None:
    docs = rendered(overlay)
    assert k8s_problems(docs, environment_name=overlay) == []
    topics = sorted(t["spec"].get("topicName", t["metadata"]["name"]) for t in of_kind(docs, "KafkaTopic"))
    assert topics == sorted(ALL_TOPICS)
