"""The in-cluster collector: kustomization, Deployment, Service, RBAC and the backend components."""

from __future__ import annotations

import os
import subprocess

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import latest_version

from tools import require_tool

from .collector_config import BASE, DIRECTORY, OVERLAYS, env_references

COMPONENTS = {"datadog": "datadog.yaml", "newrelic": "newrelic.yaml"}
CONFIG_MOUNT = "/conf"


def documents(relative: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all((DIRECTORY / relative).read_text()) if doc]


@pytest.fixture(scope="module")
def kustomization():
    return documents("kustomization.yaml")[0]


@pytest.fixture(scope="module")
def manifests(kustomization):
    return {(doc["kind"], doc["metadata"]["name"]): doc
            for resource in kustomization["resources"] for doc in documents(resource)}


@pytest.fixture(scope="module")
def container(manifests):
    (container,) = manifests["Deployment", "otel-collector"]["spec"]["template"]["spec"]["containers"]
    return container


def config_args(container) -> list[str]:
    return [arg.removeprefix(f"--config={CONFIG_MOUNT}/") for arg in container["args"]]


def required_env(config_file: str) -> set[str]:
    text = (DIRECTORY / config_file).read_text()
    return {match.group("name") for match in env_references(text) if match.group("default") is None}


def component_patch(name: str) -> list[dict]:
    component = documents(f"components/{name}/kustomization.yaml")[0]
    assert component["kind"] == "Component"
    (patch,) = component["patches"]
    assert patch["target"] == {"kind": "Deployment", "name": "otel-collector"}
    return yaml.safe_load(patch["patch"])


def test_the_config_map_ships_every_config_file(kustomization):
    (generator,) = kustomization["configMapGenerator"]
    assert generator["name"] == "otel-collector-config"
    assert generator["files"] == [BASE, *OVERLAYS]


def test_the_deployment_runs_the_in_cluster_configs_from_the_config_map(manifests, container):
    pod = manifests["Deployment", "otel-collector"]["spec"]["template"]["spec"]
    assert config_args(container) == [BASE, "kubernetes.yaml"]
    (mount,) = container["volumeMounts"]
    (volume,) = pod["volumes"]
    assert mount["mountPath"] == CONFIG_MOUNT and mount["name"] == volume["name"]
    assert volume["configMap"]["name"] == "otel-collector-config"
    image, version = container["image"].split(":")
    assert image == "otel/opentelemetry-collector-contrib"
    # without_scope_info of the prometheus exporter arrived in 0.141.0.
    assert tuple(map(int, version.split("."))) >= (0, 141, 0)
    assert manifests["Deployment", "otel-collector"]["spec"]["replicas"] == 1  # cumulativetodelta state


def test_configs_the_deployment_runs_need_no_secret(container):
    assert required_env(BASE) | required_env("kubernetes.yaml") == set()
    assert not any("secretKeyRef" in str(env) for env in container.get("env", []))


@pytest.mark.parametrize("component", COMPONENTS)
def test_each_backend_component_adds_its_overlay_and_exactly_the_secrets_it_needs(component):
    operations = component_patch(component)
    args = [op["value"] for op in operations if op["path"].endswith("/args/-")]
    assert args == [f"--config={CONFIG_MOUNT}/{COMPONENTS[component]}"]
    env = [op["value"] for op in operations if op["path"].endswith("/env/-")]
    for variable in env:
        assert variable["valueFrom"]["secretKeyRef"]["name"] == "otel-collector-backends"
        assert "value" not in variable
    required = {v["name"] for v in env if not v["valueFrom"]["secretKeyRef"].get("optional")}
    assert required == required_env(COMPONENTS[component])


def test_service_exposes_otlp_and_metrics_to_the_pods(manifests, container):
    service = manifests["Service", "otel-collector"]
    pod_labels = manifests["Deployment", "otel-collector"]["spec"]["template"]["metadata"]["labels"]
    assert service["metadata"]["namespace"] == "observability"  # deploy/: otel-collector.observability.svc:4317
    assert service["spec"]["selector"].items() <= pod_labels.items()
    container_ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    ports = {port["name"]: port for port in service["spec"]["ports"]}
    assert {ports[name]["port"] for name in ("otlp-grpc", "otlp-http", "metrics")} == {4317, 4318, 8889}
    for port in ports.values():
        assert container_ports[port["targetPort"]] == port["port"]


def test_rbac_lets_k8sattributes_read_pods_and_owners(manifests):
    rules = manifests["ClusterRole", "otel-collector"]["rules"]
    granted = {(group, resource) for rule in rules for group in rule["apiGroups"] for resource in rule["resources"]
               if {"get", "list", "watch"} <= set(rule["verbs"])}
    assert {("", "pods"), ("", "namespaces"), ("", "nodes"), ("apps", "replicasets")} <= granted
    assert all(set(rule["verbs"]) <= {"get", "list", "watch"} for rule in rules)  # read-only
    (subject,) = manifests["ClusterRoleBinding", "otel-collector"]["subjects"]
    deployment = manifests["Deployment", "otel-collector"]
    assert subject["name"] == deployment["spec"]["template"]["spec"]["serviceAccountName"]
    assert ("ServiceAccount", subject["name"]) in manifests


def test_manifests_validate_against_the_kubernetes_schemas(manifests):
    for document in manifests.values():
        kubernetes_validate.validate(document, latest_version(), strict=True)


def test_kustomize_renders_with_both_backend_components(tmp_path):
    kubectl = require_tool("kubectl")
    root = os.path.relpath(DIRECTORY, tmp_path)  # kustomize wants relative roots
    (tmp_path / "kustomization.yaml").write_text(yaml.safe_dump({
        "resources": [root], "components": [f"{root}/components/{name}" for name in COMPONENTS]}))
    rendered = subprocess.run([kubectl, "kustomize", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert rendered.returncode == 0, rendered.stderr
    docs = {(d["kind"], d["metadata"]["name"].split("-config-")[0]): d for d in yaml.safe_load_all(rendered.stdout)}
    config_map = docs["ConfigMap", "otel-collector"]
    assert config_map["data"][BASE] == (DIRECTORY / BASE).read_text()
    (container,) = docs["Deployment", "otel-collector"]["spec"]["template"]["spec"]["containers"]
    assert config_args(container) == [BASE, "kubernetes.yaml", "datadog.yaml", "newrelic.yaml"]
    pod = docs["Deployment", "otel-collector"]["spec"]["template"]["spec"]
    assert pod["volumes"][0]["configMap"]["name"] == config_map["metadata"]["name"]  # hashed name followed
    for document in docs.values():
        kubernetes_validate.validate(document, latest_version(), strict=True)
