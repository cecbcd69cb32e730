"""The deployment files, checked offline: Kubernetes schemas (strict), the compose schema, the Kustomize tree,
the custom resources' essentials (Strimzi, CloudNativePG), pod hardening, probes, network policies and the image.

Cross-checks against the code (settings, ports, topics, commands) are in test_deploy_crosscheck.py; the helpers
here are shared with it.
"""

from __future__ import annotations

import copy
import functools
import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import kubernetes_validate
import pytest
import yaml

from shared.service_index import SERVICES

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
BASE = K8S / "base"
OVERLAYS = {"dev": K8S / "overlays" / "dev", "prod": K8S / "overlays" / "prod"}
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
K8S_VERSION = "1.30"  # the oldest Kubernetes the manifests promise to work on (schemas ship in kubernetes-validate)
APP_UID = 10001  # the image's fixed non-root user
CUSTOM_KINDS = {
    "kafka.strimzi.io": {"Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser"},
    "postgresql.cnpg.io": {"Cluster", "ScheduledBackup"},
    "monitoring.coreos.com": {"ServiceMonitor", "PodMonitor", "PrometheusRule"},
}
WORKLOAD_KINDS = {"Deployment", "Job"}

Doc = dict[str, Any]
YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader is ~50x faster where libyaml exists


def _read_schemas_once() -> None:
    """kubernetes-validate re-reads its 1.2 MB definitions file on every call: keep what it read (speed only)."""
    utils = kubernetes_validate.utils
    for name in ("schema_contents", "all_versions"):
        function = getattr(utils, name, None)
        if function is not None and not hasattr(function, "cache_info"):
            setattr(utils, name, functools.cache(function))


_read_schemas_once()


# ---- loading ------------------------------------------------------------------------------------------------


def parse_yaml(text: str) -> list[Doc]:
    return [d for d in yaml.load_all(text, Loader=YamlLoader) if d]


@functools.cache
def _parsed(path: Path) -> tuple[Doc, ...]:
    return tuple(parse_yaml(path.read_text(encoding="utf-8")))


def load_docs(path: Path) -> list[Doc]:
    """The YAML documents of a file (empty documents dropped); a fresh copy the caller may change."""
    return copy.deepcopy(list(_parsed(path)))


def kustomization_file(directory: Path) -> Path | None:
    for name in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
        if (directory / name).is_file():
            return directory / name
    return None


@dataclass
class KustomizeTree:
    """What a kustomization reaches, following `resources:` into sub-directories."""

    kustomizations: list[Path] = field(default_factory=list)
    resources: list[Path] = field(default_factory=list)  # files of complete objects
    patches: list[Path] = field(default_factory=list)  # strategic-merge patch files (partial objects)
    inline_patches: list[Doc] = field(default_factory=list)  # `patches:` entries with an inline `patch:`
    missing: list[str] = field(default_factory=list)


def walk(directory: Path, tree: KustomizeTree | None = None) -> KustomizeTree:
    tree = tree or KustomizeTree()
    kfile = kustomization_file(directory)
    if kfile is None:
        tree.missing.append(f"{directory.relative_to(ROOT)}: no kustomization.yaml")
        return tree
    tree.kustomizations.append(kfile)
    spec = load_docs(kfile)[0]
    for entry in spec.get("resources", []):
        target = (directory / entry).resolve()
        if target.is_dir():
            walk(target, tree)
        elif target.is_file():
            tree.resources.append(target)
        else:
            tree.missing.append(f"{kfile.relative_to(ROOT)}: resource {entry} does not exist")
    for entry in spec.get("patches", []):
        if "path" in entry:
            target = (directory / entry["path"]).resolve()
            if target.is_file():
                tree.patches.append(target)
            else:
                tree.missing.append(f"{kfile.relative_to(ROOT)}: patch {entry['path']} does not exist")
        else:
            tree.inline_patches.append(entry)
    for key in ("patchesStrategicMerge", "patchesJson6902", "bases", "commonLabels", "vars"):
        if key in spec:
            tree.missing.append(f"{kfile.relative_to(ROOT)}: deprecated field {key}")
    return tree


def objects(directory: Path) -> list[Doc]:
    """Every complete object a kustomization includes, before patches (base values)."""
    return [doc for path in walk(directory).resources for doc in load_docs(path)]


def group_of(doc: Doc) -> str:
    api_version: str = doc["apiVersion"]
    return api_version.split("/", maxsplit=1)[0] if "/" in api_version else ""


def is_custom(doc: Doc) -> bool:
    return group_of(doc) in CUSTOM_KINDS


def of_kind(docs: list[Doc], kind: str) -> list[Doc]:
    return [d for d in docs if d.get("kind") == kind]


def named(docs: list[Doc], kind: str, name: str) -> Doc | None:
    return next((d for d in of_kind(docs, kind) if d["metadata"]["name"] == name), None)


def pod_spec(workload: Doc) -> Doc:
    spec: Doc = workload["spec"]["template"]["spec"]
    return spec


def annotation(doc: Doc, key: str) -> str | None:
    value = (doc.get("metadata", {}).get("annotations") or {}).get(key)
    return None if value is None else str(value)


# ---- kustomize (optional) -------------------------------------------------------------------------------------


def kustomize_command() -> list[str] | None:
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    return None


@functools.cache
def rendered(overlay: str) -> list[Doc]:
    """The overlay as the cluster would receive it (skips the test when no kustomize is installed)."""
    command = kustomize_command()
    if command is None:
        pytest.skip("neither kustomize nor kubectl is on PATH: overlays not built")
    result = subprocess.run(
        [*command, str(OVERLAYS[overlay])], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, f"{' '.join(command)} {overlay} failed:\n{result.stderr}"
    return parse_yaml(result.stdout)


# ---- checks shared by the raw files and the built overlays ---------------------------------------------------


def schema_problems(docs: list[Doc], where: str) -> list[str]:
    """Built-in kinds must validate strictly; only the known custom resources may lack a schema."""
    problems = []
    for doc in docs:
        label = f"{where}: {doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
        if is_custom(doc):
            if doc.get("kind") not in CUSTOM_KINDS[group_of(doc)]:
                problems.append(f"{label}: unexpected custom kind")
            continue
        try:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            problems.append(f"{label}: {exc.message} at {'/'.join(str(p) for p in exc.path)}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            problems.append(f"{label}: {exc.message}")
    return problems


def strimzi_problems(docs: list[Doc], *, nodes: int, replicas: int, min_isr: int) -> list[str]:
    problems: list[str] = []
    kafkas = of_kind(docs, "Kafka")
    if len(kafkas) != 1:
        return [f"expected one Kafka resource, found {len(kafkas)}"]
    kafka = kafkas[0]
    name = kafka["metadata"]["name"]
    if kafka["apiVersion"] not in ("kafka.strimzi.io/v1beta2", "kafka.strimzi.io/v1"):
        problems.append(f"Kafka apiVersion {kafka['apiVersion']}")
    for key in ("strimzi.io/kraft", "strimzi.io/node-pools"):
        if annotation(kafka, key) != "enabled":
            problems.append(f"Kafka {name}: annotation {key} must be 'enabled' (KRaft with node pools)")
    spec = kafka["spec"]
    if "zookeeper" in spec:
        problems.append("Kafka: KRaft mode has no zookeeper section")
    config = spec["kafka"].get("config", {})
    expected = {
        "default.replication.factor": replicas,
        "offsets.topic.replication.factor": replicas,
        "transaction.state.log.replication.factor": replicas,
        "min.insync.replicas": min_isr,
        "transaction.state.log.min.isr": min_isr,
        "auto.create.topics.enable": False,
    }
    for key, value in expected.items():
        if config.get(key) != value:
            problems.append(f"Kafka config {key} = {config.get(key)!r}, expected {value!r}")
    if not spec["kafka"].get("listeners"):
        problems.append("Kafka: no listeners")
    authentications: set[str] = set()
    for listener in spec["kafka"].get("listeners", []):
        authentication = (listener.get("authentication") or {}).get("type")
        if listener.get("tls") is not True or authentication is None:
            problems.append(f"Kafka listener {listener['name']}: clients must use TLS and authenticate")
        else:
            authentications.add(authentication)
    if "topicOperator" not in spec.get("entityOperator", {}):
        problems.append("Kafka: the topic operator (entityOperator.topicOperator) turns KafkaTopics into topics")
    users = of_kind(docs, "KafkaUser")
    if users and "userOperator" not in spec.get("entityOperator", {}):
        problems.append("Kafka: the user operator (entityOperator.userOperator) turns KafkaUsers into credentials")
    if (spec["kafka"].get("authorization") or {}).get("type") != "simple":
        problems.append("Kafka: authorization must be simple (the KafkaUsers' ACLs)")
    exporter = spec.get("kafkaExporter") or {}
    if not (exporter.get("topicRegex") and exporter.get("groupRegex")):
        problems.append("Kafka: kafkaExporter with topicRegex and groupRegex (consumer-group lag for the alerts)")
    for user in users:
        user_name = user["metadata"]["name"]
        if user["metadata"].get("labels", {}).get("strimzi.io/cluster") != name:
            problems.append(f"KafkaUser {user_name}: label strimzi.io/cluster must be {name}")
        if (user["spec"].get("authentication") or {}).get("type") not in authentications:
            problems.append(f"KafkaUser {user_name}: authentication matches no listener's {sorted(authentications)}")
        if (user["spec"].get("authorization") or {}).get("type") != "simple":
            problems.append(f"KafkaUser {user_name}: simple authorization (ACLs) expected")

    pools = of_kind(docs, "KafkaNodePool")
    roles: set[str] = set()
    brokers = 0
    for pool in pools:
        pool_name = pool["metadata"]["name"]
        if pool["metadata"].get("labels", {}).get("strimzi.io/cluster") != name:
            problems.append(f"KafkaNodePool {pool_name}: label strimzi.io/cluster must be {name}")
        roles |= set(pool["spec"]["roles"])
        if "broker" in pool["spec"]["roles"]:
            brokers += int(pool["spec"]["replicas"])
        if "controller" in pool["spec"]["roles"] and int(pool["spec"]["replicas"]) % 2 == 0:
            problems.append(f"KafkaNodePool {pool_name}: a KRaft quorum needs an odd number of controllers")
        storage = pool["spec"].get("storage", {})
        volumes = storage.get("volumes", [storage]) if storage.get("type") == "jbod" else [storage]
        if not all(v.get("type") == "persistent-claim" and v.get("size") for v in volumes):
            problems.append(f"KafkaNodePool {pool_name}: storage must be persistent-claim volumes with a size")
        if storage.get("type") == "jbod" and not any(v.get("kraftMetadata") == "shared" for v in volumes):
            problems.append(f"KafkaNodePool {pool_name}: one JBOD volume must hold the KRaft metadata")
    if not {"controller", "broker"} <= roles:
        problems.append(f"KafkaNodePools provide roles {sorted(roles)}, need controller and broker")
    if brokers != nodes:
        problems.append(f"{brokers} broker nodes, expected {nodes}")

    for topic in of_kind(docs, "KafkaTopic"):
        topic_name = topic["spec"].get("topicName", topic["metadata"]["name"])
        if topic["metadata"].get("labels", {}).get("strimzi.io/cluster") != name:
            problems.append(f"KafkaTopic {topic_name}: label strimzi.io/cluster must be {name}")
        topic_replicas = topic["spec"].get("replicas")
        topic_isr = topic["spec"].get("config", {}).get("min.insync.replicas")
        if topic_replicas != replicas or topic_isr != min_isr:
            problems.append(
                f"KafkaTopic {topic_name}: replicas {topic_replicas}, min.insync.replicas {topic_isr}; "
                f"expected {replicas} and {min_isr}"
            )
        if not isinstance(topic["spec"].get("partitions"), int) or topic["spec"]["partitions"] < 1:
            problems.append(f"KafkaTopic {topic_name}: partitions must be a positive integer")
    return problems


def cnpg_problems(docs: list[Doc], *, instances: int) -> list[str]:
    problems = []
    for service in SERVICES:
        cluster = named(docs, "Cluster", f"{service}-db")
        if cluster is None:
            problems.append(f"no CloudNativePG Cluster {service}-db")
            continue
        spec = cluster["spec"]
        if cluster["apiVersion"] != "postgresql.cnpg.io/v1":
            problems.append(f"Cluster {service}-db apiVersion {cluster['apiVersion']}")
        if spec.get("instances") != instances:
            problems.append(f"Cluster {service}-db: {spec.get('instances')} instances, expected {instances}")
        if not spec.get("storage", {}).get("size"):
            problems.append(f"Cluster {service}-db: storage.size missing")
        initdb = spec.get("bootstrap", {}).get("initdb", {})
        if initdb.get("database") != service or initdb.get("owner") != service:
            problems.append(f"Cluster {service}-db: bootstrap.initdb must create database {service} owned by {service}")
        if "secret" in initdb:
            problems.append(f"Cluster {service}-db: credentials must be the operator-generated {service}-db-app")
        if spec.get("enableSuperuserAccess", False):
            problems.append(f"Cluster {service}-db: superuser access must stay off")
        if (spec.get("monitoring") or {}).get("enablePodMonitor") is not True:
            problems.append(f"Cluster {service}-db: monitoring.enablePodMonitor (Prometheus scrapes its instances)")
    return problems


def workload_problems(docs: list[Doc]) -> list[str]:
    """Hardening of every pod the platform runs (Deployments and Jobs)."""
    problems = []
    for workload in [d for d in docs if d.get("kind") in WORKLOAD_KINDS]:
        where = f"{workload['kind']}/{workload['metadata']['name']}"
        pod = pod_spec(workload)
        pod_security = pod.get("securityContext", {})
        if pod_security.get("runAsNonRoot") is not True or pod_security.get("runAsUser") != APP_UID:
            problems.append(f"{where}: pod must run as the image's non-root UID {APP_UID}")
        if pod_security.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            problems.append(f"{where}: pod seccompProfile must be RuntimeDefault")
        if pod.get("automountServiceAccountToken") is not False:
            problems.append(f"{where}: automountServiceAccountToken must be false")
        if pod.get("enableServiceLinks") is not False:
            problems.append(f"{where}: enableServiceLinks must be false (Service env vars collide with setting names)")
        tmp_volumes = {v["name"] for v in pod.get("volumes", []) if "emptyDir" in v}
        for container in pod["containers"]:
            cwhere = f"{where}/{container['name']}"
            security = container.get("securityContext", {})
            if security.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{cwhere}: allowPrivilegeEscalation must be false")
            if security.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{cwhere}: readOnlyRootFilesystem must be true")
            if security.get("capabilities", {}).get("drop") != ["ALL"]:
                problems.append(f"{cwhere}: capabilities must drop ALL")
            if security.get("seccompProfile", {}).get("type", "RuntimeDefault") != "RuntimeDefault":
                problems.append(f"{cwhere}: seccompProfile must be RuntimeDefault")
            if security.get("runAsUser", APP_UID) != APP_UID:
                problems.append(f"{cwhere}: runAsUser must be {APP_UID}")
            mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
            if mounts.get("/tmp") not in tmp_volumes:
                problems.append(f"{cwhere}: /tmp must be an emptyDir (the root filesystem is read-only)")
            resources = container.get("resources", {})
            for kind in ("requests", "limits"):
                if not {"cpu", "memory"} <= set(resources.get(kind, {})):
                    problems.append(f"{cwhere}: resources.{kind} must set cpu and memory")
    return problems


def probe_problems(docs: list[Doc]) -> list[str]:
    problems = []
    for deployment in of_kind(docs, "Deployment"):
        for container in pod_spec(deployment)["containers"]:
            where = f"Deployment/{deployment['metadata']['name']}/{container['name']}"
            port_names = {p.get("name") for p in container.get("ports", [])} | {
                p["containerPort"] for p in container.get("ports", [])
            }
            expected = {"readinessProbe": "/readyz", "livenessProbe": "/livez", "startupProbe": "/livez"}
            for probe, path in expected.items():
                get = container.get(probe, {}).get("httpGet", {})
                if get.get("path") != path:
                    problems.append(f"{where}: {probe} must GET {path}, has {get.get('path')}")
                if get.get("port") not in port_names:
                    problems.append(f"{where}: {probe} port {get.get('port')} is not a container port")
    return problems


# ---- tests: the Kustomize tree ----------------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_every_kustomize_path_exists(overlay: str) -> None:
    tree = walk(OVERLAYS[overlay])
    assert tree.missing == []
    assert BASE / "kustomization.yaml" in tree.kustomizations


def test_every_yaml_file_under_deploy_k8s_is_used() -> None:
    used: set[Path] = set()
    for overlay in OVERLAYS.values():
        tree = walk(overlay)
        used |= set(tree.kustomizations) | set(tree.resources) | set(tree.patches)
    files = {p.resolve() for p in K8S.rglob("*") if p.suffix in (".yaml", ".yml")}
    assert sorted(str(p.relative_to(ROOT)) for p in files - used) == []


def test_manifest_files_parse_and_name_their_objects() -> None:
    for overlay in OVERLAYS.values():
        tree = walk(overlay)
        for path in tree.resources + tree.patches:
            for doc in load_docs(path):
                assert {"apiVersion", "kind", "metadata"} <= set(doc), path
                assert doc["metadata"].get("name"), path
                assert "namespace" not in doc["metadata"], f"{path}: the overlays set the namespace"


# ---- tests: schemas ---------------------------------------------------------------------------------------------


def resource_files() -> list[Path]:
    files: set[Path] = set()
    for overlay in OVERLAYS.values():
        files |= set(walk(overlay).resources)
    return sorted(files)


@pytest.mark.parametrize("path", resource_files(), ids=lambda p: str(p.relative_to(K8S)))
def test_builtin_kinds_validate_strictly(path: Path) -> None:
    assert schema_problems(load_docs(path), str(path.relative_to(ROOT))) == []


def test_schema_check_rejects_a_broken_manifest() -> None:
    deployment = load_docs(BASE / SERVICES[0] / "deployment.yaml")[0]
    pod_spec(deployment)["containers"][0]["ports"][0]["containerPort"] = "8001"
    pod_spec(deployment)["containers"][0]["livenesProbe"] = {}
    assert len(schema_problems([deployment], "broken")) == 1
    assert schema_problems([{**deployment, "apiVersion": "apps/v2"}], "broken") != []
    assert schema_problems([{"apiVersion": "kafka.strimzi.io/v1beta2", "kind": "KafkaConnect"}], "x") != []


def test_compose_file_validates_against_the_compose_spec() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# ---- tests: custom resources ------------------------------------------------------------------------------------


def test_strimzi_kafka_is_kraft_with_production_replication_in_base() -> None:
    assert strimzi_problems(objects(BASE), nodes=3, replicas=3, min_isr=2) == []


def test_strimzi_check_catches_an_open_listener_and_stray_users() -> None:
    docs = objects(BASE)
    kafka = of_kind(docs, "Kafka")[0]
    kafka["spec"]["kafka"]["listeners"].append({"name": "plain", "port": 9092, "type": "internal", "tls": False})
    del kafka["spec"]["entityOperator"]["userOperator"]
    user = of_kind(docs, "KafkaUser")[0]
    user["metadata"]["labels"]["strimzi.io/cluster"] = "other"
    user["spec"]["authentication"]["type"] = "tls"
    problems = "\n".join(strimzi_problems(docs, nodes=3, replicas=3, min_isr=2))
    assert "listener plain: clients must use TLS and authenticate" in problems
    assert "user operator" in problems
    assert f"KafkaUser {user['metadata']['name']}: label strimzi.io/cluster" in problems
    assert f"KafkaUser {user['metadata']['name']}: authentication matches no listener" in problems
    del kafka["spec"]["kafka"]["authorization"]
    assert "authorization must be simple" in "\n".join(strimzi_problems(docs, nodes=3, replicas=3, min_isr=2))


def test_cloudnativepg_cluster_per_service_in_base() -> None:
    assert cnpg_problems(objects(BASE), instances=3) == []


def test_prod_overlay_keeps_the_base_data_layer_sizes() -> None:
    """The base is production-sized; prod must not patch Kafka, topics or PostgreSQL down (it only adds backups)."""
    tree = walk(OVERLAYS["prod"])
    data_kinds = {kind for kinds in CUSTOM_KINDS.values() for kind in kinds}
    patched = [doc["kind"] for path in tree.patches for doc in load_docs(path)]
    patched += [
        entry.get("target", {}).get("kind")
        for entry in tree.inline_patches
        if {op["path"] for op in parse_yaml(entry.get("patch", ""))[0]} != {"/spec/backup"}
    ]
    assert data_kinds.isdisjoint(patched)


def test_dev_overlay_shrinks_the_data_layer() -> None:
    tree = walk(OVERLAYS["dev"])
    targets = {entry.get("target", {}).get("kind") for entry in tree.inline_patches}
    assert {"KafkaNodePool", "KafkaTopic", "Cluster"} <= targets
    assert "Kafka" in {doc["kind"] for path in tree.patches for doc in load_docs(path)}


# ---- tests: pods, probes, policies --------------------------------------------------------------------------------


def test_every_pod_is_hardened() -> None:
    assert workload_problems(objects(BASE)) == []


def test_probes_use_the_health_endpoints_on_a_declared_port() -> None:
    assert probe_problems(objects(BASE)) == []


def scrape_problems(docs: list[Doc]) -> list[str]:
    """Prometheus finds each service's pods and scrapes `/metrics` on the container's port named `metrics` (never the
    API's port)."""
    problems = []
    for deployment in of_kind(docs, "Deployment"):
        where = f"Deployment/{deployment['metadata']['name']}"
        annotations = deployment["spec"]["template"]["metadata"].get("annotations", {})
        containers = pod_spec(deployment)["containers"]
        ports = {str(p["containerPort"]) for c in containers for p in c.get("ports", []) if p["name"] == "metrics"}
        if annotations.get("prometheus.io/scrape") != "true" or annotations.get("prometheus.io/path") != "/metrics":
            problems.append(f"{where}: pods must be annotated for Prometheus to scrape /metrics")
        if annotations.get("prometheus.io/port") not in ports:
            problems.append(f"{where}: prometheus.io/port must be the container's port named metrics")
    return problems


def test_prometheus_scrapes_every_service_on_its_port() -> None:
    assert scrape_problems(objects(BASE)) == []
    deployment = load_docs(BASE / SERVICES[0] / "deployment.yaml")[0]
    deployment["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"] = "9999"
    assert len(scrape_problems([deployment])) == 1
    api_port = pod_spec(deployment)["containers"][0]["ports"][0]
    assert api_port["name"] == "http"
    deployment["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"] = str(api_port["containerPort"])
    assert len(scrape_problems([deployment])) == 1, "metrics are not served on the API's port"


def test_hardening_check_catches_a_weakened_pod() -> None:
    deployment = load_docs(BASE / SERVICES[0] / "deployment.yaml")[0]
    container = pod_spec(deployment)["containers"][0]
    container["securityContext"]["readOnlyRootFilesystem"] = False
    container["readinessProbe"]["httpGet"]["path"] = "/livez"
    assert len(workload_problems([deployment])) == 1
    assert len(probe_problems([deployment])) == 1


def test_every_service_has_its_objects() -> None:
    docs = objects(BASE)
    for service in SERVICES:
        deployment = named(docs, "Deployment", service)
        assert deployment is not None, service
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert selector.items() <= pod_labels.items()
        for kind in ("Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "ServiceAccount"):
            assert named(docs, kind, service) is not None, f"{kind} {service}"
        service_obj = named(docs, "Service", service)
        assert service_obj is not None
        assert service_obj["spec"]["selector"].items() <= pod_labels.items()
        pdb = named(docs, "PodDisruptionBudget", service)
        assert pdb is not None
        assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
        hpa = named(docs, "HorizontalPodAutoscaler", service)
        assert hpa is not None
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": service}
        assert "replicas" not in deployment["spec"], "the HPA owns the replica count"
        assert pod_spec(deployment)["serviceAccountName"] == service
        job = named(docs, "Job", f"{service}-migrate")
        assert job is not None, f"migration Job of {service}"
        assert pod_spec(job)["restartPolicy"] == "Never"


def test_migrations_run_before_the_rollout() -> None:
    docs = objects(BASE)
    waves = {
        f"{d['kind']}/{d['metadata']['name']}": int(annotation(d, "argocd.argoproj.io/sync-wave") or 0) for d in docs
    }
    for service in SERVICES:
        job = named(docs, "Job", f"{service}-migrate")
        assert job is not None
        assert annotation(job, "argocd.argoproj.io/hook") == "Sync"
        assert annotation(job, "argocd.argoproj.io/hook-delete-policy") == "BeforeHookCreation"
        assert waves[f"Cluster/{service}-db"] < waves[f"Job/{service}-migrate"] < waves[f"Deployment/{service}"]


def network_policies(docs: list[Doc]) -> list[Doc]:
    return of_kind(docs, "NetworkPolicy")


def test_network_policies_deny_by_default() -> None:
    policies = network_policies(objects(BASE))
    deny_all = [
        p
        for p in policies
        if p["spec"]["podSelector"] == {}
        and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
        and not p["spec"].get("ingress")
        and not p["spec"].get("egress")
    ]
    assert len(deny_all) == 1


def selects(selector: Doc | None, labels: dict[str, str]) -> bool:
    """Whether a label selector (matchLabels and matchExpressions) selects an object with `labels`."""
    if selector is None:
        return True
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get("values", [])
        present = key in labels
        if (
            (operator == "In" and labels.get(key) not in values)
            or (operator == "NotIn" and labels.get(key) in values)
            or (operator == "Exists" and not present)
            or (operator == "DoesNotExist" and present)
        ):
            return False
    return True


def egress_ports(
    policies: list[Doc], pod: dict[str, str], peer: dict[str, str], peer_namespace: dict[str, str] | None = None
) -> set[int | str]:
    """Ports a pod labelled `pod` may open to a pod labelled `peer` (in the same namespace unless given)."""
    ports: set[int | str] = set()
    for policy in policies:
        spec = policy["spec"]
        if "Egress" not in spec["policyTypes"] or not selects(spec["podSelector"], pod):
            continue
        for rule in spec.get("egress", []):
            rule_ports = {p["port"] for p in rule.get("ports", [])} or {"*"}
            for to in rule.get("to", [{}]):
                if "ipBlock" in to:
                    continue
                namespace_selector = to.get("namespaceSelector")
                same_namespace_only = namespace_selector is None
                if same_namespace_only and peer_namespace is not None:
                    continue
                if namespace_selector is not None and (
                    peer_namespace is None or not selects(namespace_selector, peer_namespace)
                ):
                    continue
                if selects(to.get("podSelector"), peer):
                    ports |= rule_ports
    return ports


def test_network_policies_allow_only_what_the_services_need() -> None:
    docs = objects(BASE)
    policies = network_policies(docs)
    kafka = of_kind(docs, "Kafka")[0]
    kafka_pod = {"strimzi.io/cluster": kafka["metadata"]["name"], "strimzi.io/kind": "Kafka"}
    listener_ports = {listener["port"] for listener in kafka["spec"]["kafka"]["listeners"]}
    dns_pod, kube_system = {"k8s-app": "kube-dns"}, {"kubernetes.io/metadata.name": "kube-system"}
    for service in SERVICES:
        for workload in (named(docs, "Deployment", service), named(docs, "Job", f"{service}-migrate")):
            assert workload is not None
            labels = workload["spec"]["template"]["metadata"]["labels"]
            assert egress_ports(policies, labels, dns_pod, kube_system) == {53}, f"{service}: DNS"
            own_db = {"cnpg.io/cluster": f"{service}-db"}
            assert egress_ports(policies, labels, own_db) == {5432}, f"{service}: its own PostgreSQL"
            for other in SERVICES:
                if other != service:
                    assert not egress_ports(policies, labels, {"cnpg.io/cluster": f"{other}-db"})
        api_labels = pod_spec_labels(docs, service)
        assert egress_ports(policies, api_labels, kafka_pod) == listener_ports, f"{service}: Kafka"
        for namespace in ("monitoring", "observability"):  # an OTLP collector (README, "Tracing on Kubernetes")
            collector = {"kubernetes.io/metadata.name": namespace}
            assert egress_ports(policies, api_labels, {}, collector) == {4318}, f"{service}: OTLP to {namespace}"
        assert ingress_ports(policies, api_labels) == {"http", "metrics"}, f"{service}: ingress only to its ports"
        ingress_nginx, monitoring = ({"kubernetes.io/metadata.name": ns} for ns in ("ingress-nginx", "monitoring"))
        assert ingress_ports(policies, api_labels, ingress_nginx) == {"http"}, f"{service}: API from the ingress"
        assert ingress_ports(policies, api_labels, monitoring) == {"metrics"}, f"{service}: metrics from monitoring"
        assert not ingress_ports(policies, api_labels, {"kubernetes.io/metadata.name": "poverty"})


def ingress_ports(policies: list[Doc], pod: dict[str, str], peer_namespace: dict[str, str] | None = None) -> set[str]:
    """Ports of a pod labelled `pod` open to some pod (of a namespace labelled `peer_namespace`, when given)."""
    ports: set[str] = set()
    for policy in policies:
        spec = policy["spec"]
        if "Ingress" not in spec["policyTypes"] or not selects(spec["podSelector"], pod):
            continue
        for rule in spec.get("ingress", []):
            sources = rule.get("from", [{}])
            admitted = peer_namespace is None or any(
                "namespaceSelector" in source and selects(source["namespaceSelector"], peer_namespace)
                for source in sources
            )
            if admitted:
                ports |= {p["port"] for p in rule.get("ports", [])}
    return ports


def pod_spec_labels(docs: list[Doc], service: str) -> dict[str, str]:
    deployment = named(docs, "Deployment", service)
    assert deployment is not None
    labels: dict[str, str] = deployment["spec"]["template"]["metadata"]["labels"]
    return labels


def test_kafka_listener_admits_only_the_services() -> None:
    """The services' pods reach the brokers; the migration Jobs load the Kafka settings but never connect."""
    docs = objects(BASE)
    policies = network_policies(docs)
    kafka = of_kind(docs, "Kafka")[0]
    kafka_pod = {"strimzi.io/cluster": kafka["metadata"]["name"], "strimzi.io/kind": "Kafka"}
    for listener in kafka["spec"]["kafka"]["listeners"]:
        peers = listener.get("networkPolicyPeers")
        assert peers, f"listener {listener['name']} open to every pod"
        for service in SERVICES:
            labels = pod_spec_labels(docs, service)
            assert any(peer["podSelector"]["matchLabels"].items() <= labels.items() for peer in peers)
            job = named(docs, "Job", f"{service}-migrate")
            assert job is not None
            job_labels = job["spec"]["template"]["metadata"]["labels"]
            assert not any(selects(peer["podSelector"], job_labels) for peer in peers), f"{service}-migrate"
            assert not egress_ports(policies, job_labels, kafka_pod), f"{service}-migrate: no Kafka egress"


# ---- monitoring: the Prometheus Operator's objects, the alerts, the Grafana dashboard -----------------------------

MONITORING = BASE / "monitoring"
SEVERITIES = ("warning", "critical")
RUNBOOK_URL = re.compile(r"^docs/runbooks/[a-z0-9-]+\.md(#[a-z0-9-]+)?$")  # a page of this repository
EXPORTER_PORT, POSTGRES_METRICS_PORT = 9404, 9187  # Strimzi's Kafka Exporter, CloudNativePG's instance exporter
MONITORING_NAMESPACE = {"kubernetes.io/metadata.name": "monitoring"}
# What the alerts must cover (README, Operations → Monitoring); each name may come in several severities.
EXPECTED_ALERTS = {
    "PovertyDeadLetters",
    "PovertyRecordsQuarantined",
    "PovertyOutboxNotDraining",
    "PovertyRelayWithoutLeader",
    "PovertyConsumerLag",
    "PovertyReferralsNotDelivered",
    "PovertyKafkaDisconnected",
    "PovertyKafkaClusterCaExpiring",
    "PovertyKafkaClusterCaExpiryUnknown",
    "PovertyHttpErrors",
    "PovertyDatabasePoolSaturated",
    "PovertyEventsFailing",
    "PovertyScheduledChecksFailing",
}


def service_monitor_problems(docs: list[Doc]) -> list[str]:
    """Each service's ServiceMonitor selects its Service and no other, and scrapes /metrics on the Service's port
    `metrics`, which leads to the container's port of that name (never the API's)."""
    problems = []
    services = of_kind(docs, "Service")
    for service in SERVICES:
        monitor, svc, deployment = (named(docs, kind, service) for kind in ("ServiceMonitor", "Service", "Deployment"))
        if monitor is None or svc is None or deployment is None:
            problems.append(f"{service}: a ServiceMonitor, a Service and a Deployment expected")
            continue
        if monitor["apiVersion"] != "monitoring.coreos.com/v1":
            problems.append(f"ServiceMonitor {service}: apiVersion {monitor['apiVersion']}")
        selector = monitor["spec"].get("selector")
        chosen = [s["metadata"]["name"] for s in services if selects(selector, s["metadata"].get("labels", {}))]
        if not selector or chosen != [service]:
            problems.append(f"ServiceMonitor {service}: selects the Services {chosen}, not {service} alone")
        endpoints = [(e.get("port"), e.get("path", "/metrics")) for e in monitor["spec"].get("endpoints", [])]
        if endpoints != [("metrics", "/metrics")]:
            problems.append(f"ServiceMonitor {service}: endpoints {endpoints}, expected /metrics on port metrics")
        target = next((p.get("targetPort") for p in svc["spec"]["ports"] if p.get("name") == "metrics"), None)
        container_ports = {p.get("name") for c in pod_spec(deployment)["containers"] for p in c.get("ports", [])}
        if target != "metrics" or "metrics" not in container_ports:
            problems.append(f"Service {service}: its port metrics must lead to the container's port named metrics")
    return problems


def operand_monitor_problems(docs: list[Doc]) -> list[str]:
    """A PodMonitor scrapes Strimzi's Kafka Exporter; the monitoring namespace may reach the exporter and the
    PostgreSQL instances' metrics, and nothing else of them (the CloudNativePG operator makes their PodMonitors:
    cnpg_problems)."""
    problems = []
    cluster = of_kind(docs, "Kafka")[0]["metadata"]["name"]
    exporter = {
        "strimzi.io/cluster": cluster,
        "strimzi.io/kind": "Kafka",
        "strimzi.io/name": f"{cluster}-kafka-exporter",
    }
    ports = {
        endpoint.get("port")
        for monitor in of_kind(docs, "PodMonitor")
        if monitor["apiVersion"] == "monitoring.coreos.com/v1" and selects(monitor["spec"].get("selector"), exporter)
        for endpoint in monitor["spec"].get("podMetricsEndpoints", [])
    }
    if ports != {"tcp-prometheus"}:
        problems.append(f"the Kafka Exporter's port tcp-prometheus must be scraped by a PodMonitor, found {ports}")
    policies = network_policies(docs)
    scraped = [(exporter, EXPORTER_PORT, "the Kafka Exporter")]
    scraped += [({"cnpg.io/cluster": f"{service}-db"}, POSTGRES_METRICS_PORT, f"{service}-db") for service in SERVICES]
    for pod, port, what in scraped:
        if ingress_ports(policies, pod, MONITORING_NAMESPACE) != {port}:
            problems.append(f"the monitoring namespace must reach {what} on {port} only")
    return problems


def alert_rules(docs: list[Doc]) -> list[Doc]:
    return [
        rule
        for doc in of_kind(docs, "PrometheusRule")
        for group in doc["spec"]["groups"]
        for rule in group["rules"]
        if "alert" in rule
    ]


def alert_problems(docs: list[Doc]) -> list[str]:
    """Every alert has an expression, a severity, a summary, a description and a runbook in this repository."""
    problems = []
    for doc in of_kind(docs, "PrometheusRule"):
        if doc["apiVersion"] != "monitoring.coreos.com/v1":
            problems.append(f"PrometheusRule {doc['metadata']['name']}: apiVersion {doc['apiVersion']}")
    seen: set[tuple[str, str]] = set()
    for rule in alert_rules(docs):
        name, severity = rule["alert"], str(rule.get("labels", {}).get("severity"))
        annotations = rule.get("annotations", {})
        if severity not in SEVERITIES:
            problems.append(f"alert {name}: severity {severity}, expected one of {SEVERITIES}")
        if (name, severity) in seen:
            problems.append(f"alert {name}: two rules of severity {severity}")
        seen.add((name, severity))
        if not str(rule.get("expr", "")).strip():
            problems.append(f"alert {name}: no expression")
        for key in ("summary", "description"):
            if not str(annotations.get(key, "")).strip():
                problems.append(f"alert {name}: no {key}")
        if not RUNBOOK_URL.match(str(annotations.get("runbook_url", ""))):
            problems.append(f"alert {name}: runbook_url {annotations.get('runbook_url')} is no docs/runbooks/ page")
    missing = EXPECTED_ALERTS - {rule["alert"] for rule in alert_rules(docs)}
    if missing:
        problems.append(f"no alert {sorted(missing)}")
    return problems


def dashboards() -> dict[Path, Doc]:
    """The Grafana dashboards the monitoring kustomization makes ConfigMaps of, labelled for Grafana's sidecar."""
    kfile = kustomization_file(MONITORING)
    assert kfile is not None
    found: dict[Path, Doc] = {}
    for generator in load_docs(kfile)[0].get("configMapGenerator", []):
        if generator.get("options", {}).get("labels", {}).get("grafana_dashboard") != "1":
            continue
        for entry in generator.get("files", []):
            path = MONITORING / entry.split("=", 1)[-1]
            found[path] = json.loads(path.read_text(encoding="utf-8"))
    return found


def dashboard_panels(dashboard: Doc) -> list[Doc]:
    """The panels that show data (rows are only headings), including those inside collapsed rows."""
    panels = [*dashboard.get("panels", []), *(p for row in dashboard.get("panels", []) for p in row.get("panels", []))]
    return [panel for panel in panels if panel.get("type") != "row"]


def dashboard_problems(dashboard: Doc) -> list[str]:
    problems = []
    if not dashboard.get("uid") or not dashboard.get("title"):
        problems.append("a dashboard needs a uid and a title")
    variables = {v.get("name") for v in dashboard.get("templating", {}).get("list", [])}
    if not {"datasource", "namespace"} <= variables:
        problems.append(f"dashboard variables {sorted(variables)}: datasource and namespace expected")
    top = dashboard.get("panels", [])
    ids = [p.get("id") for p in [*top, *(nested for row in top for nested in row.get("panels", []))]]
    if None in ids or len(set(ids)) != len(ids):
        problems.append("every panel needs an id of its own")
    for panel in dashboard_panels(dashboard):
        where = f"panel {panel.get('title')!r}"
        targets = panel.get("targets") or []
        if not targets or not all(str(t.get("expr", "")).strip() for t in targets):
            problems.append(f"{where}: every panel queries Prometheus")
        if (panel.get("datasource") or {}).get("uid") != "${datasource}":
            problems.append(f"{where}: its datasource must be the dashboard's variable")
        if set(panel.get("gridPos", {})) != {"h", "w", "x", "y"}:
            problems.append(f"{where}: gridPos h, w, x, y")
    return problems


def test_every_service_is_scraped_through_its_service_monitor() -> None:
    docs = objects(BASE)
    assert service_monitor_problems(docs) == []
    monitor = named(docs, "ServiceMonitor", SERVICES[0])
    assert monitor is not None
    monitor["spec"]["endpoints"][0]["port"] = "http"
    monitor["spec"]["selector"] = {"matchLabels": {"app.kubernetes.io/part-of": "poverty-platform"}}
    assert len(service_monitor_problems(docs)) == 2


def test_kafka_exporter_and_database_metrics_are_scraped() -> None:
    docs = objects(BASE)
    assert operand_monitor_problems(docs) == []
    kafka = of_kind(docs, "Kafka")[0]
    del kafka["spec"]["kafkaExporter"]
    assert "kafkaExporter" in "\n".join(strimzi_problems(docs, nodes=3, replicas=3, min_isr=2))
    cluster = named(docs, "Cluster", f"{SERVICES[1]}-db")
    assert cluster is not None
    del cluster["spec"]["monitoring"]
    assert [p.split(":")[0] for p in cnpg_problems(docs, instances=3)] == [f"Cluster {SERVICES[1]}-db"]
    for monitor in of_kind(docs, "PodMonitor"):
        monitor["spec"]["podMetricsEndpoints"][0]["port"] = "metrics"
    assert len(operand_monitor_problems(docs)) == 1


def test_every_alert_has_a_severity_a_summary_and_a_runbook() -> None:
    docs = objects(BASE)
    assert alert_problems(docs) == []
    first, second = alert_rules(docs)[:2]
    del first["annotations"]["runbook_url"]
    second["labels"]["severity"] = "page"
    assert len(alert_problems(docs)) == 2


def test_the_dashboard_is_a_configmap_for_grafanas_sidecar() -> None:
    found = dashboards()
    assert found, "no configMapGenerator labelled grafana_dashboard: '1' in monitoring/kustomization.yaml"
    for path, dashboard in found.items():
        assert dashboard_problems(dashboard) == [], path
    dashboard = next(iter(found.values()))
    dashboard_panels(dashboard)[0]["targets"] = []
    assert len(dashboard_problems(dashboard)) == 1


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_built_overlays_carry_the_monitoring(overlay: str) -> None:
    docs = rendered(overlay)
    assert service_monitor_problems(docs) == []
    assert operand_monitor_problems(docs) == []
    assert alert_problems(docs) == []
    configmaps = [c for c in of_kind(docs, "ConfigMap") if c["metadata"].get("labels", {}).get("grafana_dashboard")]
    shipped = {key: json.loads(value) for c in configmaps for key, value in c["data"].items()}
    assert shipped == {path.name: dashboard for path, dashboard in dashboards().items()}


# ---- PromQL, durations and the monitoring custom resources' fields ------------------------------------------------

# Prometheus' duration syntax (`for:`, group and scrape intervals, range selectors): units from ms to y, largest first.
DURATION = re.compile(r"^([0-9]+(ms|s|m|h|d|w|y))+$")
# Every PromQL function (Prometheus 2.x and 3.x, experimental ones included) and aggregation operator.
_FUNCTION_NAMES = """
    abs absent absent_over_time acos acosh asin asinh atan atanh avg_over_time ceil changes clamp clamp_max
    clamp_min cos cosh count_over_time day_of_month day_of_week day_of_year days_in_month deg delta deriv
    double_exponential_smoothing exp first_over_time floor histogram_avg histogram_count histogram_fraction
    histogram_quantile histogram_stddev histogram_stdvar histogram_sum holt_winters hour idelta increase info irate
    label_join label_replace last_over_time ln log10 log2 mad_over_time max_over_time min_over_time minute month pi
    predict_linear present_over_time quantile_over_time rad rate resets round scalar sgn sin sinh sort sort_by_label
    sort_by_label_desc sort_desc sqrt stddev_over_time stdvar_over_time sum_over_time tan tanh time timestamp
    ts_of_max_over_time ts_of_min_over_time ts_of_last_over_time vector year"""
_AGGREGATION_NAMES = "sum min max avg group stddev stdvar count count_values bottomk topk quantile limitk limit_ratio"
PROMQL_FUNCTIONS, PROMQL_AGGREGATIONS = frozenset(_FUNCTION_NAMES.split()), frozenset(_AGGREGATION_NAMES.split())
PROMQL_MODIFIERS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})  # take a label list
PROMQL_KEYWORDS = frozenset({"and", "or", "unless", "bool", "offset", "atan2", "inf", "nan"})
PROMQL_TOKEN = re.compile(
    r"""(?P<space>\s+|\#[^\n]*)
    |(?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`[^`]*`)
    |(?P<duration>(?:[0-9]+(?:ms|s|m|h|d|w|y))+(?![A-Za-z0-9_]))
    |(?P<number>0[xX][0-9a-fA-F]+|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
    |(?P<variable>\$\{[A-Za-z_][A-Za-z0-9_:]*\}|\$[A-Za-z_][A-Za-z0-9_]*)
    |(?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
    |(?P<op>==|!=|>=|<=|=~|!~|[-+*/%^=<>,:@])
    |(?P<bracket>[(){}\[\]])""",
    re.VERBOSE,
)
PAIRS = {")": "(", "]": "[", "}": "{"}


class Selector(NamedTuple):
    """A vector selector: its metric name (None for `{__name__=...}` alone) and the labels its matchers name."""

    metric: str | None
    labels: frozenset[str]


def promql_tokens(expr: str) -> tuple[list[tuple[str, str]], list[str]]:
    """(kind, text) of each token, and what could not be read."""
    tokens, problems, position = [], [], 0
    while position < len(expr):
        match = PROMQL_TOKEN.match(expr, position)
        if match is None:
            problems.append(f"cannot read {expr[position : position + 20]!r}")
            break
        if match.lastgroup != "space":
            tokens.append((str(match.lastgroup), match.group()))
        position = match.end()
    return tokens, problems


def promql_parse(expr: str) -> tuple[list[str], list[Selector]]:
    """Not a full parser, but enough to refuse what Prometheus would: unbalanced brackets, an unknown function, a
    malformed label matcher or range; and the selectors, to check their labels against the metrics' (Grafana's
    `$variables` stand for a value or a range)."""
    tokens, problems = promql_tokens(expr)
    selectors: list[Selector] = []
    stack: list[str] = []
    index = 0

    def matchers(start: int) -> tuple[set[str], int]:
        """The labels of `{label op "value", ...}` opening at `start`, and the index after its `}`."""
        labels, i = set(), start + 1
        while i < len(tokens) and tokens[i][1] != "}":
            kinds = [kind for kind, _ in tokens[i : i + 3]]
            if kinds != ["ident", "op", "string"] or tokens[i + 1][1] not in ("=", "!=", "=~", "!~"):
                problems.append(f"malformed label matcher at {' '.join(t for _, t in tokens[i : i + 3])!r}")
                return labels, len(tokens)
            labels.add(tokens[i][1])
            i += 3
            if i < len(tokens) and tokens[i][1] == ",":
                i += 1
        if i >= len(tokens):
            problems.append("a label matcher list is not closed")
        return labels, i + 1

    while index < len(tokens):
        kind, text = tokens[index]
        following = tokens[index + 1][1] if index + 1 < len(tokens) else ""
        if kind == "ident" and text in PROMQL_MODIFIERS and following == "(":
            close = next((i for i in range(index + 2, len(tokens)) if tokens[i][1] == ")"), None)
            names = tokens[index + 2 : close] if close is not None else []
            if close is None or any(k not in ("ident", "op") or (k == "op" and t != ",") for k, t in names):
                problems.append(f"{text} ( ... ): a list of label names expected")
                break
            index = close + 1
            continue
        if kind == "ident" and text in PROMQL_AGGREGATIONS and following in ("by", "without"):
            pass  # sum by (labels) (...): the modifier and its list come next
        elif kind == "ident" and following == "(":
            if text not in PROMQL_FUNCTIONS | PROMQL_AGGREGATIONS:
                problems.append(f"unknown function {text}()")
        elif kind == "ident" and text.lower() not in PROMQL_KEYWORDS | PROMQL_MODIFIERS:
            labels: set[str] = set()
            if following == "{":
                labels, index = matchers(index + 1)
            else:
                index += 1
            selectors.append(Selector(text, frozenset(labels)))
            continue
        elif text == "{":
            labels, index = matchers(index)
            selectors.append(Selector(None, frozenset(labels)))
            if "__name__" not in labels:
                problems.append("a selector without a metric name must match __name__")
            continue
        elif text == "[":
            inner = [t for _, t in tokens[index + 1 : index + 4]]
            ranges = [t for t in inner[: inner.index("]")]] if "]" in inner else inner
            parts = [t for t in ranges if t != ":"]
            if not parts or not all(DURATION.match(t) or t.startswith("$") for t in parts):
                problems.append(f"range [{''.join(ranges)}]: a duration (5m, 1h30m) expected")
        if kind == "bracket" and text in "([{":
            stack.append(text)
        elif kind == "bracket" and (not stack or stack.pop() != PAIRS[text]):
            problems.append(f"unbalanced {text!r}")
            break
        index += 1
    if stack:
        problems.append(f"unclosed {''.join(stack)!r}")
    return problems, selectors


def label_problems(selectors: list[Selector], labels_of: dict[str, frozenset[str]], extra: frozenset[str]) -> list[str]:
    """Matchers on a label that the metric (when `labels_of` knows it) does not carry, nor its target adds."""
    return [
        f"{selector.metric} has no label {label}"
        for selector in selectors
        if selector.metric in labels_of
        for label in sorted(selector.labels - labels_of[selector.metric] - extra - {"__name__"})
    ]


def monitoring_expressions(docs: list[Doc]) -> dict[str, str]:
    """The PromQL of every rule and of every dashboard panel, by where it is."""
    found = {
        f"rule {rule.get('alert') or rule.get('record')}/{rule.get('labels', {}).get('severity')}": str(rule["expr"])
        for doc in of_kind(docs, "PrometheusRule")
        for group in doc["spec"].get("groups", [])
        for rule in group.get("rules", [])
        if "expr" in rule
    }
    for path, dashboard in dashboards().items():
        for panel in dashboard_panels(dashboard):
            for target in panel.get("targets", []):
                found[f"{path.name}: {panel.get('title')} {target.get('refId')}"] = str(target.get("expr", ""))
    return found


def promql_problems(expressions: dict[str, str]) -> list[str]:
    return [f"{where}: {problem}" for where, expr in expressions.items() for problem in promql_parse(expr)[0]]


# The fields the Prometheus Operator's CRDs (monitoring.coreos.com/v1) define where these manifests use them: a
# misspelt one (scrapeTimout) is dropped silently by a cluster that does not prune, or refused by one that does.
SCRAPE_ENDPOINT_FIELDS = frozenset(
    {
        "port", "portNumber", "targetPort", "path", "scheme", "params", "interval", "scrapeTimeout", "honorLabels",
        "honorTimestamps", "trackTimestampsStaleness", "relabelings", "metricRelabelings", "tlsConfig",
        "bearerTokenSecret", "bearerTokenFile", "basicAuth", "oauth2", "authorization", "followRedirects",
        "enableHttp2", "filterRunning", "proxyUrl", "noProxy", "proxyFromEnvironment", "proxyConnectHeader",
    }
)  # fmt: skip
MONITOR_SPEC_FIELDS = frozenset(
    {
        "selector", "namespaceSelector", "jobLabel", "targetLabels", "podTargetLabels", "sampleLimit",
        "targetLimit", "labelLimit", "labelNameLengthLimit", "labelValueLengthLimit", "attachMetadata",
        "scrapeProtocols", "scrapeClass", "keepDroppedTargets", "bodySizeLimit", "fallbackScrapeProtocol",
    }
)  # fmt: skip
CRD_FIELDS: dict[str, tuple[frozenset[str], str | None, frozenset[str]]] = {
    # kind: (spec fields, the spec's list of endpoints, each endpoint's fields)
    "ServiceMonitor": (MONITOR_SPEC_FIELDS | {"endpoints"}, "endpoints", SCRAPE_ENDPOINT_FIELDS),
    "PodMonitor": (MONITOR_SPEC_FIELDS | {"podMetricsEndpoints"}, "podMetricsEndpoints", SCRAPE_ENDPOINT_FIELDS),
    "PrometheusRule": (frozenset({"groups"}), None, frozenset()),
}
RULE_GROUP_FIELDS = frozenset(
    {"name", "interval", "rules", "limit", "partial_response_strategy", "query_offset", "labels"}
)
RULE_FIELDS = frozenset({"alert", "record", "expr", "for", "keep_firing_for", "labels", "annotations"})
SELECTOR_FIELDS = frozenset({"matchLabels", "matchExpressions"})
NAMESPACE_SELECTOR_FIELDS = frozenset({"any", "matchNames"})


def crd_field_problems(docs: list[Doc]) -> list[str]:
    """Unknown fields of the monitoring custom resources, and durations Prometheus would not read."""
    problems = []
    for doc in docs:
        kind = doc.get("kind")
        if kind not in CRD_FIELDS or group_of(doc) != "monitoring.coreos.com":
            continue
        where = f"{kind}/{doc['metadata']['name']}"
        spec_fields, list_key, item_fields = CRD_FIELDS[kind]
        spec = doc.get("spec", {})
        problems += [
            f"{where}: unknown field {key}" for key in sorted(set(doc) - {"apiVersion", "kind", "metadata", "spec"})
        ]
        problems += [f"{where}: unknown spec field {key}" for key in sorted(set(spec) - spec_fields)]
        problems += [
            f"{where}: unknown selector field {k}" for k in sorted(set(spec.get("selector") or {}) - SELECTOR_FIELDS)
        ]
        problems += [
            f"{where}: unknown namespaceSelector field {k}"
            for k in sorted(set(spec.get("namespaceSelector") or {}) - NAMESPACE_SELECTOR_FIELDS)
        ]
        durations: list[tuple[str, Any]] = []
        for number, item in enumerate(spec.get(list_key, []) if list_key else []):
            problems += [
                f"{where}: {list_key}[{number}]: unknown field {key}" for key in sorted(set(item) - item_fields)
            ]
            durations += [
                (f"{list_key}[{number}].{key}", item[key]) for key in ("interval", "scrapeTimeout") if key in item
            ]
        for group in spec.get("groups", []) if kind == "PrometheusRule" else []:
            name = group.get("name")
            problems += [
                f"{where}: group {name}: unknown field {key}" for key in sorted(set(group) - RULE_GROUP_FIELDS)
            ]
            durations += [(f"group {name} {key}", group[key]) for key in ("interval", "query_offset") if key in group]
            for rule in group.get("rules", []):
                label = f"group {name} rule {rule.get('alert') or rule.get('record')}"
                problems += [f"{where}: {label}: unknown field {key}" for key in sorted(set(rule) - RULE_FIELDS)]
                if ("alert" in rule) == ("record" in rule):
                    problems.append(f"{where}: {label}: either alert or record")
                durations += [(f"{label} {key}", rule[key]) for key in ("for", "keep_firing_for") if key in rule]
        problems += [
            f"{where}: {what}: {value!r} is no duration" for what, value in durations if not DURATION.match(str(value))
        ]
    return problems


def test_monitoring_resources_use_known_fields_and_durations() -> None:
    docs = objects(BASE)
    assert crd_field_problems(docs) == []
    of_kind(docs, "PodMonitor")[0]["spec"]["podMetricsEndpoints"][0]["scrapeTimout"] = "10s"
    of_kind(docs, "ServiceMonitor")[0]["spec"]["endpoints"][0]["interval"] = "30 s"
    rule = of_kind(docs, "PrometheusRule")[0]["spec"]["groups"][0]["rules"][1]
    rule["for"], rule["annotation"] = "5min", {}
    problems = "\n".join(crd_field_problems(docs))
    assert "podMetricsEndpoints[0]: unknown field scrapeTimout" in problems
    assert "endpoints[0].interval: '30 s' is no duration" in problems
    assert "for: '5min' is no duration" in problems
    assert "unknown field annotation" in problems
    assert len(crd_field_problems(docs)) == 4


def test_every_promql_expression_parses() -> None:
    expressions = monitoring_expressions(objects(BASE))
    assert any(where.startswith("rule ") for where in expressions) and any(":" in where for where in expressions)
    assert promql_problems(expressions) == []
    broken = {
        "paren": "sum by (service) (rate(poverty_dead_letters_total[15m]) > 0",
        "bracket": "rate(poverty_dead_letters_total[15m) > 0",
        "brace": 'poverty_relay_leader{service="audit" == 1',
        "function": "sum by (service) (rat(poverty_dead_letters_total[15m]))",
        "range": "rate(poverty_dead_letters_total[15 min])",
        "matcher": "poverty_relay_leader{service=audit}",
    }
    problems = promql_problems(broken)
    assert sorted({p.split(":")[0] for p in problems}) == sorted(broken), problems
    assert "unknown function rat()" in "\n".join(problems)


def test_promql_selectors_name_their_labels() -> None:
    expr = (
        'sum by (namespace, service) (rate(poverty_http_requests_total{route!~"/livez", status=~"5.."}[5m]))'
        " and on (service) max by (service) (poverty_kafka_connected) == 1"
    )
    problems, selectors = promql_parse(expr)
    assert problems == []
    assert selectors == [
        Selector("poverty_http_requests_total", frozenset({"route", "status"})),
        Selector("poverty_kafka_connected", frozenset()),
    ]
    labels_of = {"poverty_http_requests_total": frozenset({"route", "method", "status"})}
    assert label_problems(selectors, labels_of, frozenset({"namespace"})) == []
    _, wrong = promql_parse('rate(poverty_http_requests_total{code="500", namespace="poverty"}[5m])')
    assert label_problems(wrong, labels_of, frozenset({"namespace"})) == [
        "poverty_http_requests_total has no label code"
    ]


# ---- tests: the image ---------------------------------------------------------------------------------------------


def dockerfile_stages() -> list[list[str]]:
    """Instructions of each stage (continuation lines joined, comments dropped)."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    stages: list[list[str]] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.upper().startswith("FROM "):
            stages.append([])
        elif stages:
            stages[-1].append(stripped)
        else:
            assert stripped.upper().startswith("ARG "), f"before FROM: {stripped}"
    return stages


def test_image_is_multi_stage_slim_and_non_root() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    froms = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", text, flags=re.MULTILINE | re.IGNORECASE)
    assert len(froms) >= 2, "build and runtime stages"
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)", text, flags=re.MULTILINE)
    assert base is not None
    assert re.fullmatch(r"python:3\.11[\w.-]*-slim[\w.-]*", base.group(1)), base.group(1)
    final = dockerfile_stages()[-1]
    users = [line.split()[1] for line in final if line.upper().startswith("USER ")]
    assert users == [f"{APP_UID}:{APP_UID}"], "numeric non-root user (runAsNonRoot can verify it)"
    runtime_text = "\n".join(final)
    assert "COPY --from=build" in runtime_text
    for tool in ("gcc", "build-essential", "apt-get install", "pip install", "--mount=type=cache"):
        assert tool not in runtime_text, f"runtime stage uses {tool}"
    build_text = "\n".join(dockerfile_stages()[0])
    assert "PIP_NO_CACHE_DIR=1" in build_text or "--no-cache-dir" in build_text
    assert "useradd" in runtime_text and f"--uid {APP_UID}" in runtime_text


def test_every_package_the_image_installs_is_pinned_with_hashes() -> None:
    text = DOCKERFILE.read_text()
    installs = re.findall(r"pip install ([^\\&\n]*)", text)
    assert installs, "the image installs its packages with pip"
    for install in installs:
        assert "--no-deps" in install or "--require-hashes -r requirements/" in install, install
    wheel = re.search(r"pip wheel ([^\\&\n]*)", text)
    assert wheel is not None and "--no-build-isolation" in wheel.group(1), "an isolated build fetches unpinned tools"
    build = (ROOT / "requirements" / "build.txt").read_text()
    assert re.search(r"^setuptools==\S+ \\\n\s+--hash=sha256:", build, re.MULTILINE)


def test_dockerignore_keeps_only_what_the_image_needs() -> None:
    lines = [line.strip() for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()]
    rules = [line for line in lines if line and not line.startswith("#")]
    assert rules[0] == "*", "allow-list"
    kept = {rule[1:].rstrip("/") for rule in rules if rule.startswith("!")}
    copied = set(re.findall(r"^COPY (?!--from)(\S+)", DOCKERFILE.read_text(encoding="utf-8"), flags=re.MULTILINE))
    assert copied <= kept, f"COPY of files .dockerignore drops: {copied - kept}"


# ---- tests: the overlays as built (when kustomize or kubectl is installed) -------------------------------------


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_overlay_builds_and_validates(overlay: str) -> None:
    docs = rendered(overlay)
    assert schema_problems(docs, overlay) == []
    assert workload_problems(docs) == []
    assert probe_problems(docs) == []
    namespace = next(d["metadata"]["name"] for d in of_kind(docs, "Namespace"))
    for doc in docs:
        if doc["kind"] != "Namespace":
            assert doc["metadata"].get("namespace") == namespace, f"{doc['kind']}/{doc['metadata']['name']}"
    for workload in [d for d in docs if d["kind"] in WORKLOAD_KINDS]:
        for container in pod_spec(workload)["containers"]:
            assert "/" in container["image"] and ":" in container["image"], "the overlay sets registry and tag"


def test_prod_overlay_is_production_sized() -> None:
    docs = rendered("prod")
    assert strimzi_problems(docs, nodes=3, replicas=3, min_isr=2) == []
    assert cnpg_problems(docs, instances=3) == []
    for hpa in of_kind(docs, "HorizontalPodAutoscaler"):
        assert hpa["spec"]["minReplicas"] >= 2


def test_dev_overlay_is_single_node() -> None:
    docs = rendered("dev")
    assert strimzi_problems(docs, nodes=1, replicas=1, min_isr=1) == []
    assert cnpg_problems(docs, instances=1) == []
