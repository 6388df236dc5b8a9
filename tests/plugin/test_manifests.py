"""deploy/: the image, the RBAC, the extender behind kube-scheduler, the standalone scheduler, all consistent."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml
from kubernetes.client import CoreV1Api

from podgym.envs.kube import parse_configuration
from podgym.plugin.scheduler import DEFAULT_SCHEDULER_NAME, build_parser

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
PLUGIN = ROOT / "plugin"

# k8s.io/kube-scheduler/config/v1 Extender, json names (shared/specs/kube-scheduler-v1.35.md section 4.3).
UPSTREAM_EXTENDER_FIELDS = {
    "urlPrefix",
    "filterVerb",
    "preemptVerb",
    "prioritizeVerb",
    "weight",
    "bindVerb",
    "enableHTTPS",
    "tlsConfig",
    "httpTimeout",
    "nodeCacheCapable",
    "managedResources",
    "ignorable",
}

# What each CoreV1Api call needs from RBAC: (resource, verb) in the core group.
CORE_V1_PERMISSIONS = {
    "list_node": {("nodes", "list")},
    "read_node": {("nodes", "get")},
    "list_pod_for_all_namespaces": {("pods", "list")},
    "list_namespaced_pod": {("pods", "list")},
    "read_namespaced_pod": {("pods", "get")},
    "create_namespaced_pod_binding": {("pods/binding", "create")},
    "create_namespaced_binding": {("bindings", "create")},
    "create_namespaced_event": {("events", "create")},
    "patch_namespaced_event": {("events", "patch")},
    "patch_namespaced_pod_status": {("pods/status", "patch")},
    "delete_namespaced_pod": {("pods", "delete")},
}
# What each PolicyV1Api call (plugin code holds it as ``policy_api``) needs: (resource, verb) in group "policy".
POLICY_V1_PERMISSIONS = {
    "list_pod_disruption_budget_for_all_namespaces": {("poddisruptionbudgets", "list")},
}
FORBIDDEN_PACKAGES = ("torch", "stable-baselines3", "stable_baselines3", "sb3-contrib", "sb3_contrib", "gymnasium")


def yaml_files() -> list[Path]:
    return sorted(DEPLOY.rglob("*.yaml"))


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def objects(kind: str, name: str | None = None) -> list[dict[str, Any]]:
    found = [
        d
        for p in yaml_files()
        if p.name != "kustomization.yaml"
        for d in documents(p)
        if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)
    ]
    return found


def one(kind: str, name: str) -> dict[str, Any]:
    (obj,) = objects(kind, name)
    return obj


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    (c,) = deployment["spec"]["template"]["spec"]["containers"]
    return c


def scheduler_config() -> dict[str, Any]:
    return yaml.safe_load(one("ConfigMap", "podgym-scheduler-config")["data"]["config.yaml"])


# ---- YAML and kustomize ------------------------------------------------------------------------------------------


def test_every_yaml_parses_into_kubernetes_objects():
    assert yaml_files()
    for path in yaml_files():
        docs = documents(path)
        assert docs, f"{path} is empty"
        for d in docs:
            assert {"apiVersion", "kind"} <= d.keys(), f"{path}: {d}"
            if d["kind"] != "Kustomization":
                assert d["metadata"]["name"], path
                assert d["metadata"].get("labels", {}).get("app.kubernetes.io/part-of") == "podgym", path


@pytest.mark.parametrize("root", ["", "standalone", "common"])
def test_kustomizations_list_existing_resources(root):
    (k,) = documents(DEPLOY / root / "kustomization.yaml")
    assert "namespace" not in k  # it would move the RoleBinding out of kube-system
    for resource in k["resources"]:
        path = (DEPLOY / root / resource).resolve()
        assert path.exists(), f"{root}/kustomization.yaml: {resource} is missing"
        assert path.is_file() or (path / "kustomization.yaml").exists()


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
@pytest.mark.parametrize("root", ["", "standalone"])
def test_kustomize_builds(root):
    out = subprocess.run(["kubectl", "kustomize", str(DEPLOY / root)], capture_output=True, text=True, check=True)
    kinds = [d["kind"] for d in yaml.safe_load_all(out.stdout) if d]
    assert {"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Deployment"} <= set(kinds)
    if root == "":
        assert {"Service", "ConfigMap", "RoleBinding"} <= set(kinds)


# ---- kube-scheduler with the extender ------------------------------------------------------------------------------


def test_the_scheduler_configuration_passes_podgym_validation():
    config = scheduler_config()
    profiles = parse_configuration(config, source="deploy/kube-scheduler.yaml")
    assert [p.scheduler_name for p in profiles] == [DEFAULT_SCHEDULER_NAME]
    assert config["leaderElection"] == {"leaderElect": False}


def test_the_extender_entry_uses_upstream_field_names():
    (extender,) = scheduler_config()["extenders"]
    assert set(extender) <= UPSTREAM_EXTENDER_FIELDS, set(extender) - UPSTREAM_EXTENDER_FIELDS
    assert extender == {
        "urlPrefix": "http://podgym-extender.podgym.svc:8888",
        "filterVerb": "filter",
        "prioritizeVerb": "prioritize",
        "weight": 5,
        "httpTimeout": "2s",
        "ignorable": True,
        "nodeCacheCapable": True,
    }


def test_the_kube_scheduler_deployment_reads_the_config():
    deployment = one("Deployment", "podgym-kube-scheduler")
    c = container(deployment)
    assert c["image"] == "registry.k8s.io/kube-scheduler:v1.35.0"
    (flag,) = [a for a in c["command"] if a.startswith("--config=")]
    config_path = Path(flag.split("=", 1)[1])
    (mount,) = c["volumeMounts"]
    assert config_path.parent == Path(mount["mountPath"])
    (volume,) = [v for v in deployment["spec"]["template"]["spec"]["volumes"] if v["name"] == mount["name"]]
    assert volume["configMap"]["name"] == "podgym-scheduler-config"
    assert config_path.name in one("ConfigMap", "podgym-scheduler-config")["data"]
    assert deployment["spec"]["replicas"] == 1 and deployment["spec"]["strategy"]["type"] == "Recreate"
    sa = deployment["spec"]["template"]["spec"]["serviceAccountName"]
    roles = {b["roleRef"]["name"] for b in objects("ClusterRoleBinding") if b["subjects"][0]["name"] == sa}
    assert roles == {"system:kube-scheduler", "system:volume-scheduler"}
    (reader,) = objects("RoleBinding")
    assert reader["metadata"]["namespace"] == "kube-system"
    assert reader["roleRef"]["name"] == "extension-apiserver-authentication-reader"


def _port(container_spec: dict[str, Any], name_or_number: str | int) -> int:
    if isinstance(name_or_number, int):
        return name_or_number
    (p,) = [p for p in container_spec["ports"] if p["name"] == name_or_number]
    return p["containerPort"]


def test_url_prefix_service_and_extender_deployment_agree():
    url = urlparse(scheduler_config()["extenders"][0]["urlPrefix"])
    service_name, namespace, svc = url.hostname.split(".")
    assert (url.scheme, svc) == ("http", "svc")
    service = one("Service", service_name)
    assert service["metadata"]["namespace"] == namespace
    (port,) = [p for p in service["spec"]["ports"] if p["port"] == url.port]
    deployment = one("Deployment", "podgym-extender")
    assert deployment["metadata"]["namespace"] == namespace
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    c = container(deployment)
    assert _port(c, port["targetPort"]) == url.port == 8888
    args = c["command"] + c["args"]
    assert args[:1] == ["podgym-serve"]
    assert args[args.index("--port") + 1] == str(url.port) and "--in-cluster" in args
    assert args[args.index("--host") + 1] == "0.0.0.0"
    probe = c["readinessProbe"]["httpGet"]
    assert probe["path"] == "/healthz" and _port(c, probe["port"]) == url.port


# ---- the standalone secondary scheduler ---------------------------------------------------------------------------


def test_the_secondary_scheduler_deployment_runs_plugin_scheduler():
    deployment = one("Deployment", "podgym-scheduler")
    c = container(deployment)
    assert c["command"] == ["podgym-scheduler"]
    args = build_parser().parse_args(c["args"])
    assert args.scheduler_name == DEFAULT_SCHEDULER_NAME and args.in_cluster
    assert args.model == "/opt/podgym/model/policy.onnx"
    assert deployment["spec"]["replicas"] == 1 and deployment["spec"]["strategy"]["type"] == "Recreate"
    assert deployment["spec"]["template"]["metadata"]["labels"].items() >= (
        deployment["spec"]["selector"]["matchLabels"].items()
    )


# ---- RBAC ------------------------------------------------------------------------------------------------------------


def used_permissions() -> set[tuple[str, str, str]]:
    """(apiGroup, resource, verb) that plugin/ code needs: the CoreV1Api methods it calls on its client, which
    plugin code holds as ``api`` / ``self.api``; a list in a file that watches also needs ``watch``."""
    methods = {m for m in dir(CoreV1Api) if not m.startswith("_") and m != "api_client"}
    needed: set[tuple[str, str, str]] = set()
    for path in sorted(PLUGIN.glob("*.py")):
        text = path.read_text()
        names = {m.removesuffix("_with_http_info") for m in re.findall(r"\bapi\.(\w+)\b", text)} & methods
        watches = "watch=True" in text or "Watch(" in text
        for name in names:
            assert name in CORE_V1_PERMISSIONS, f"{path.name} calls CoreV1Api.{name}: add its RBAC to this test"
            for resource, verb in CORE_V1_PERMISSIONS[name]:
                needed.add(("", resource, verb))
                if verb == "list" and watches:
                    needed.add(("", resource, "watch"))
        for name in set(re.findall(r"\bpolicy_api\.(\w+)\b", text)):
            assert name in POLICY_V1_PERMISSIONS, f"{path.name} calls PolicyV1Api.{name}: add its RBAC to this test"
            needed.update(("policy", resource, verb) for resource, verb in POLICY_V1_PERMISSIONS[name])
    return needed


def test_rbac_grants_exactly_what_plugin_code_uses():
    (role,) = objects("ClusterRole")
    granted = {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    used = used_permissions()
    assert ("", "pods/binding", "create") in used and ("", "nodes", "watch") in used
    assert granted == used, f"missing {used - granted}, unused {granted - used}"
    (binding,) = [b for b in objects("ClusterRoleBinding") if b["roleRef"]["name"] == role["metadata"]["name"]]
    (subject,) = binding["subjects"]
    (account,) = objects("ServiceAccount", subject["name"])
    assert subject["namespace"] == account["metadata"]["namespace"]
    for name in ("podgym-extender", "podgym-scheduler"):
        assert one("Deployment", name)["spec"]["template"]["spec"]["serviceAccountName"] == subject["name"]


# ---- the image ---------------------------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def test_the_dockerfile_installs_only_what_the_plugin_needs():
    instructions = dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    installed = set()
    for op, arg in instructions:
        if op == "RUN" and "pip install" in arg:
            for word in shlex.split(arg.split("pip install", 1)[1]):
                if not word.startswith("-") and word != ".":
                    installed.add(re.split(r"[<>=!~\[]", word)[0].lower())
    # podgym itself, without pulling its dependencies (the training stack) in
    assert ("RUN", "pip install --no-deps .") in instructions
    assert installed == {"numpy", "pyyaml", "pydantic", "onnxruntime", "fastapi", "uvicorn", "kubernetes"}
    text = (DEPLOY / "Dockerfile").read_text().lower()
    for package in FORBIDDEN_PACKAGES:
        assert package not in text.replace("no torch, no stable-baselines3, no gymnasium", "")
    copies = {arg.split()[0] for op, arg in instructions if op == "COPY"}
    assert copies == {"pyproject.toml", "envs/", "policies/", "plugin/", "agents/", "configs/", "deploy/model/"}
    (cmd,) = [arg for op, arg in instructions if op == "CMD"]
    assert yaml.safe_load(cmd)[:1] == ["podgym-serve"]


def test_the_build_context_leaves_out_the_rest():
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
    assert ignore[ignore.index("*") :][:1] == ["*"]  # everything out, then the folders the image copies back in
    assert {
        "!pyproject.toml",
        "!README.md",
        "!envs/",
        "!policies/",
        "!plugin/",
        "!agents/",
        "!configs/",
        "!deploy/model/",
    } <= set(ignore)
