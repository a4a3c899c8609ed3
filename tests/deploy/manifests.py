"""The deploy/ manifests as data: YAML documents, the kustomization tree, the PrometheusRule's groups."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
CRDS = ROOT / "crds"
PROMETHEUS_RULE = DEPLOY / "prometheusrule.yaml"
KUSTOMIZATION = "kustomization.yaml"


def documents(path: Path) -> list[dict]:
    """The non-empty YAML documents of one file."""
    with path.open() as stream:
        return [document for document in yaml.safe_load_all(stream) if document]


def manifest_files() -> list[Path]:
    """Every Kubernetes manifest we ship: deploy/ and whatever CRDs crds/ holds, not kustomizations."""
    files = sorted(DEPLOY.glob("*.yaml")) + sorted(CRDS.glob("*.yaml"))
    return [path for path in files if path.name != KUSTOMIZATION]


def kustomization_resources(directory: Path) -> list[Path]:
    """The files a kustomization directory pulls in, following nested kustomization directories."""
    listed = documents(directory / KUSTOMIZATION)[0]["resources"]
    files = []
    for entry in listed:
        path = (directory / entry).resolve()
        files += kustomization_resources(path) if path.is_dir() else [path]
    return files


def rule_groups() -> list[dict]:
    """The rule groups of the PrometheusRule manifest: the single source of our rules."""
    (rule,) = documents(PROMETHEUS_RULE)
    return rule["spec"]["groups"]


def alerting_rules(groups: list[dict]) -> dict[str, dict]:
    return {rule["alert"]: rule for group in groups for rule in group["rules"] if "alert" in rule}


def write_rules_file(path: Path, groups: list[dict]) -> Path:
    """A Prometheus rules file (what promtool and prometheus read) holding the given groups."""
    path.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    return path
