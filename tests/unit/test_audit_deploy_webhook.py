"""audit's webhook on Kubernetes: optional (the pod starts without the Secret `audit-webhook`, notifications then stay
in the inbox), and reachable (HTTPS egress, which a district narrows to its messaging system's address)."""

from __future__ import annotations

from typing import Any

from tests.unit.test_deploy_crosscheck import k8s_problems
from tests.unit.test_deploy_manifests import BASE, named, objects, pod_spec


def audit_container(docs: list[Any]) -> Any:
    deployment = named(docs, "Deployment", "audit")
    assert deployment is not None
    return pod_spec(deployment)["containers"][0]


def test_the_webhook_settings_come_from_an_optional_secret() -> None:
    env = {e["name"]: e for e in audit_container(objects(BASE))["env"]}
    for name, key in (("AUDIT_WEBHOOK_URL", "url"), ("AUDIT_WEBHOOK_SECRET", "secret")):
        ref = env[name]["valueFrom"]["secretKeyRef"]
        assert (ref["name"], ref["key"], ref.get("optional")) == ("audit-webhook", key, True)


def test_audit_pods_may_reach_https() -> None:
    docs = objects(BASE)
    allowed = [
        port
        for policy in docs
        if policy["kind"] == "NetworkPolicy"
        and policy["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/name") == "audit"
        for rule in policy["spec"].get("egress", [])
        for port in rule.get("ports", [])
    ]
    assert {"protocol": "TCP", "port": 443} in allowed


def test_the_cross_check_catches_an_optional_secret_naming_no_setting() -> None:
    docs = objects(BASE)
    [url] = [e for e in audit_container(docs)["env"] if e["name"] == "AUDIT_WEBHOOK_URL"]
    url["name"] = "AUDIT_WEBHOOK_ADDRESS"
    assert "Deployment/audit: AUDIT_WEBHOOK_ADDRESS is not a setting of audit" in k8s_problems(docs)
