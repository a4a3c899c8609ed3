"""Offline validation of every manifest we ship, and the invariants that tie them together.

Core kinds and CRDs are checked strictly against the Kubernetes schemas (kubernetes-validate);
the monitoring.coreos.com kinds against the committed Prometheus Operator schemas
(tests/schemas/). A kind with no schema is a failure, never a warning.
"""

import json
import re
import subprocess
from functools import cache
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import latest_version

from infra_operator.operator.crds import all_crds, file_name

from tools import require_tool

from .manifests import CRDS, DEPLOY, ROOT, documents, kustomization_resources, manifest_files

# The oldest Kubernetes minor we support and the newest the validator knows.
KUBERNETES_VERSIONS = ("1.29.0", latest_version())
MONITORING_API = "monitoring.coreos.com/v1"
MONITORING_SCHEMAS = ROOT / "tests" / "schemas" / "monitoring.coreos.com"
GROUP = "aws.infra-operator.dev"
# The eight kinds of the shared contract; RBAC grants them all, CRDs arrive kind by kind.
PLURALS = ("awsproviders", "elasticips", "vpcs", "subnets", "internetgateways", "natgateways",
           "securitygroups", "routetables", "kmskeys",
           "secretsmanagersecrets", "certificates", "sqsqueues", "snstopics", "dynamodbtables",
           "route53hostedzones", "route53recordsets", "apigateways", "cloudfronts", "iamroles", "s3buckets",
           "ecrrepositories", "ecsclusters", "elasticacheclusters", "rdsinstances", "albs", "nlbs",
           "ec2keypairs", "ec2instances", "lambdafunctions", "eksclusters")
NAMESPACE = "infra-operator"
JOB = "infra-operator"
DOCKERFILE = ROOT / "Dockerfile"


@cache
def monitoring_validator(kind: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((MONITORING_SCHEMAS / f"{kind.lower()}_v1.json").read_text())
    return jsonschema.Draft202012Validator(schema)


def validate(document: dict) -> None:
    """Raises unless the object is valid; an unknown kind raises too."""
    if document["apiVersion"] == MONITORING_API:
        validator = monitoring_validator(document["kind"])
        error = jsonschema.exceptions.best_match(validator.iter_errors(document))
        if error is not None:
            raise error
        return
    for version in KUBERNETES_VERSIONS:
        kubernetes_validate.validate(document, version, strict=True)


def all_objects() -> list[dict]:
    return [document for path in manifest_files() for document in documents(path)]


def the(kind: str) -> dict:
    (found,) = [document for document in all_objects() if document["kind"] == kind]
    return found


@pytest.mark.parametrize("path", manifest_files(), ids=lambda path: path.relative_to(ROOT).as_posix())
def test_manifest_is_valid(path):
    for document in documents(path):
        validate(document)


@pytest.mark.parametrize(
    "document",
    [
        {"apiVersion": "example.com/v1", "kind": "Unknown", "metadata": {"name": "x"}},
        {"apiVersion": MONITORING_API, "kind": "Probe", "metadata": {"name": "x"}, "spec": {}},
        {"apiVersion": MONITORING_API, "kind": "ServiceMonitor", "metadata": {"name": "x"},
         "spec": {"selector": {}, "endpoints": [{"port": "metrics", "intervall": "30s"}]}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}, "spec": {"portz": []}},
    ],
    ids=["unknown kind", "monitoring kind without schema", "misspelt monitoring field", "misspelt core field"],
)
def test_the_validation_rejects(document):
    with pytest.raises((kubernetes_validate.SchemaNotFoundError, kubernetes_validate.ValidationError,
                        jsonschema.ValidationError, FileNotFoundError)):
        validate(document)


# --- kustomization ------------------------------------------------------------------------------

def crd_files() -> list[Path]:
    return sorted(CRDS.glob(f"{GROUP}_*.yaml"))


def test_the_crd_kustomization_lists_every_rendered_crd():
    listed = documents(CRDS / "kustomization.yaml")[0]["resources"]
    assert sorted(listed) == sorted(file_name(crd) for crd in all_crds()) == [path.name for path in crd_files()]


def test_kustomization_resources_exist_and_are_valid():
    files = kustomization_resources(DEPLOY)
    assert all(path.exists() for path in files), [path for path in files if not path.exists()]
    for path in files:
        for document in documents(path):
            validate(document)


def test_kustomize_builds_the_same_objects():
    kubectl = require_tool("kubectl")
    built = subprocess.run([kubectl, "kustomize", str(DEPLOY)], capture_output=True, text=True, timeout=60)
    assert built.returncode == 0, built.stderr
    identity = lambda document: (document["kind"], document["metadata"]["name"])  # noqa: E731
    expected = [document for path in kustomization_resources(DEPLOY) for document in documents(path)]
    assert sorted(map(identity, yaml.safe_load_all(built.stdout))) == sorted(map(identity, expected))


# --- RBAC ---------------------------------------------------------------------------------------

def test_rbac_is_least_privilege():
    rules = the("ClusterRole")["rules"]
    granted = {(group, resource): set(rule["verbs"]) for rule in rules
               for group in rule["apiGroups"] for resource in rule["resources"]}
    assert not any("*" in group or "*" in resource or "*" in verbs for (group, resource), verbs in granted.items())
    expected = {(GROUP, plural): {"get", "list", "watch", "patch"} for plural in PLURALS}
    expected |= {(GROUP, f"{plural}/status"): {"get", "patch"} for plural in PLURALS}
    expected |= {
        ("", "events"): {"create", "patch"},
        ("", "secrets"): {"get", "list", "watch", "create", "update", "patch"},
        ("", "configmaps"): {"get", "list", "watch"},
        ("", "namespaces"): {"list", "watch"},
        ("apiextensions.k8s.io", "customresourcedefinitions"): {"list", "watch"},
    }
    assert granted == expected


def test_leader_election_may_touch_only_leases_in_the_operators_namespace():
    role, binding = the("Role"), the("RoleBinding")
    assert role["metadata"]["namespace"] == binding["metadata"]["namespace"] == NAMESPACE
    assert role["rules"] == [{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
                              "verbs": ["get", "create", "update"]}]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                  "name": role["metadata"]["name"]}
    assert binding["subjects"] == the("ClusterRoleBinding")["subjects"]


def test_two_replicas_elect_one_leader():
    deployment = the("Deployment")
    assert deployment["spec"]["replicas"] == 2
    assert "--leader-election" in operator_container()["args"]


def test_rbac_covers_every_crd_in_crds():
    granted = {resource for rule in the("ClusterRole")["rules"] for resource in rule["resources"]}
    for path in crd_files():
        (crd,) = documents(path)
        plural = crd["spec"]["names"]["plural"]
        assert crd["spec"]["group"] == GROUP
        assert {plural, f"{plural}/status"} <= granted
        assert "status" in crd["spec"]["versions"][0]["subresources"]


def test_the_binding_gives_the_role_to_the_deployments_service_account():
    binding, deployment = the("ClusterRoleBinding"), the("Deployment")
    assert binding["roleRef"]["name"] == the("ClusterRole")["metadata"]["name"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": the("ServiceAccount")["metadata"]["name"],
                                    "namespace": NAMESPACE}]
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == binding["subjects"][0]["name"]


# --- Deployment ---------------------------------------------------------------------------------

def operator_container() -> dict:
    (container,) = the("Deployment")["spec"]["template"]["spec"]["containers"]
    return container


def test_the_deployment_is_hardened():
    pod = the("Deployment")["spec"]["template"]["spec"]
    container = operator_container()
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] > 0
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert set(container["resources"]) == {"requests", "limits"}
    assert all(set(container["resources"][kind]) == {"cpu", "memory"} for kind in ("requests", "limits"))
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "liveness"}
    assert "httpGet" in container["readinessProbe"]


def test_the_deployment_passes_pod_identity_and_otel_settings():
    env = {variable["name"]: variable for variable in operator_container()["env"]}
    assert env["POD_NAME"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert env["POD_NAMESPACE"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
    assert env["OTEL_SERVICE_NAME"]["value"] == "infra-operator"
    attributes = dict(pair.split("=", 1) for pair in env["OTEL_RESOURCE_ATTRIBUTES"]["value"].split(","))
    assert attributes["service.instance.id"] == "$(POD_NAME)"
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" in env


def test_the_cli_flags_match_the_container_ports():
    container = operator_container()
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    flags = dict(argument.removeprefix("--").split("=", 1) for argument in container["args"] if "=" in argument)
    assert flags["metrics-address"] == f"0.0.0.0:{ports['metrics']}"
    assert flags["liveness-address"] == f"0.0.0.0:{ports['liveness']}"
    assert ports["metrics"] == 8080


# --- Service and monitors: the scrape reaches the port named metrics with job "infra-operator" ---

def matches(selector: dict, labels: dict) -> bool:
    return selector["matchLabels"].items() <= labels.items()


def test_every_namespaced_object_is_in_the_operator_namespace():
    cluster_scoped = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}
    for document in all_objects():
        if document["kind"] not in cluster_scoped:
            assert document["metadata"]["namespace"] == NAMESPACE, document["kind"]


def test_the_service_exposes_the_metrics_port_of_the_pods():
    service = the("Service")
    pod_labels = the("Deployment")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    (port,) = service["spec"]["ports"]
    assert port["name"] == "metrics"
    assert port["targetPort"] == "metrics"
    assert service["metadata"]["name"] == JOB


@pytest.mark.parametrize("kind", ["ServiceMonitor", "PodMonitor"])
def test_the_monitors_scrape_the_metrics_port_as_job_infra_operator(kind):
    monitor = the(kind)["spec"]
    target = the("Service")["metadata"] if kind == "ServiceMonitor" else the("Deployment")["spec"]["template"]["metadata"]
    assert matches(monitor["selector"], target["labels"])
    assert monitor["namespaceSelector"]["matchNames"] == [NAMESPACE]
    assert target["labels"][monitor["jobLabel"]] == JOB
    endpoints = monitor["endpoints"] if kind == "ServiceMonitor" else monitor["podMetricsEndpoints"]
    assert [endpoint["port"] for endpoint in endpoints] == ["metrics"]


def test_only_one_monitor_is_applied_by_the_kustomization():
    kinds = [document["kind"] for path in kustomization_resources(DEPLOY) if path.exists()
             for document in documents(path)]
    assert kinds.count("ServiceMonitor") + kinds.count("PodMonitor") == 1


# --- Dockerfile ---------------------------------------------------------------------------------

def final_stage() -> list[tuple[str, str]]:
    """(instruction, arguments) of the Dockerfile's last stage, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    instructions = [tuple(line.split(None, 1)) for line in lines]
    last_from = max(index for index, (instruction, _) in enumerate(instructions) if instruction == "FROM")
    return instructions[last_from:]


def test_hadolint_accepts_the_dockerfile():
    result = subprocess.run([require_tool("hadolint"), str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_installs_the_project_and_runs_it_as_non_root():
    text = DOCKERFILE.read_text()
    stage = final_stage()
    assert stage[0] == ("FROM", "python:3.11-slim")
    (user,) = [arguments for instruction, arguments in stage if instruction == "USER"]
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) > 0
    assert int(uid) == the("Deployment")["spec"]["template"]["spec"]["securityContext"]["runAsUser"]
    assert ("ENTRYPOINT", '["infra-operator", "run"]') in stage
    assert re.search(r"^COPY pyproject\.toml README\.md \./$", text, re.MULTILINE)
    assert re.search(r"^COPY src \./src$", text, re.MULTILINE)
    assert re.search(r"pip install --no-cache-dir .*\.$", text, re.MULTILINE)
    assert not re.search(r"(curl|wget)[^\n]*\|\s*(ba)?sh", text)
    assert "*" in (ROOT / ".dockerignore").read_text().splitlines()
