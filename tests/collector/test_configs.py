"""The Collector configs of otel-collector/: parse, consistent pipelines, backends set up right."""

from __future__ import annotations

import copy
import re

import pytest
import yaml

from .collector_config import (
    BASE,
    COMPONENT_KINDS,
    CONTRIB_COMPONENTS,
    DIRECTORY,
    ENV_REFERENCE,
    OVERLAYS,
    component_type,
    env_references,
    load,
    merged,
    pipelines,
    problems,
    signal,
)

DEPLOYMENTS = {
    "standalone": (BASE,),
    "in-cluster": (BASE, "kubernetes.yaml"),
    "standalone, all backends": (BASE, "datadog.yaml", "newrelic.yaml"),
    "in-cluster, all backends": (BASE, *OVERLAYS),
}
CONFIG_FILES = (BASE, *OVERLAYS)
# Keys of exporters and extensions whose value is a credential: exactly one ${env:NAME}, no default.
SECRET_KEY = re.compile(r"(^|[-_])(key|api[-_]?key|token|secret|password|license)$", re.IGNORECASE)
# Shapes of real credentials: Datadog API keys (32 hex), New Relic license keys (40, ending NRAL),
# and any other long random-looking token.
CREDENTIAL_LITERAL = re.compile(r"\b([0-9a-f]{32}|[0-9A-Za-z]{36}NRAL|[A-Za-z0-9+/_-]{40,})\b")


def walk(node, path=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, (*path, str(key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, (*path, str(index)))
    else:
        yield path, node


@pytest.mark.parametrize("name", CONFIG_FILES)
def test_config_file_parses_to_a_mapping_of_known_sections(name):
    config = load(name)
    assert isinstance(config, dict) and config
    assert set(config) <= {*COMPONENT_KINDS, "service"}


@pytest.mark.parametrize("files", DEPLOYMENTS.values(), ids=DEPLOYMENTS.keys())
def test_every_pipeline_names_only_declared_components(files):
    assert problems(merged(*files)) == []


def test_the_consistency_check_catches_mistakes():
    config = merged(BASE, "datadog.yaml")
    broken = copy.deepcopy(config)
    broken["service"]["pipelines"]["metrics/datadog"]["exporters"] = ["datadog/typo"]
    assert any("exporter datadog/typo is not declared" in p for p in problems(broken))
    broken = copy.deepcopy(config)
    del broken["service"]["pipelines"]["metrics/datadog-apm"]
    assert any("connector datadog/connector" in p for p in problems(broken))
    broken = copy.deepcopy(config)
    broken["processors"]["unused"] = {}
    assert "processor unused is declared but in no pipeline" in problems(broken)


@pytest.mark.parametrize("name", CONFIG_FILES)
def test_every_component_is_a_contrib_component(name):
    config = load(name)
    for kind in COMPONENT_KINDS:
        for component_id in config.get(kind) or {}:
            assert component_type(component_id) in CONTRIB_COMPONENTS[kind], f"{kind}: {component_id}"


@pytest.mark.parametrize("files", DEPLOYMENTS.values(), ids=DEPLOYMENTS.keys())
def test_connectors_join_pipelines_of_one_signal(files):
    config = merged(*files)
    for pipeline_id, pipeline in pipelines(config).items():
        for name in pipeline["receivers"] + pipeline["exporters"]:
            if component_type(name) == "forward":
                assert name == f"forward/{signal(pipeline_id)}", pipeline_id


@pytest.mark.parametrize("files", DEPLOYMENTS.values(), ids=DEPLOYMENTS.keys())
def test_memory_limiter_guards_intake_and_batch_precedes_every_exporter(files):
    config = merged(*files)
    for pipeline_id, pipeline in pipelines(config).items():
        if "otlp" in pipeline["receivers"]:
            assert pipeline["processors"][0] == "memory_limiter", pipeline_id
        if set(pipeline["exporters"]) & set(config["exporters"]):
            assert pipeline["processors"][-1] == "batch", pipeline_id


def test_otlp_is_received_over_grpc_and_http():
    protocols = load(BASE)["receivers"]["otlp"]["protocols"]
    assert protocols["grpc"]["endpoint"].endswith(":4317")
    assert protocols["http"]["endpoint"].endswith(":4318")


def test_prometheus_exporter_keeps_the_operator_series_unchanged():
    config = merged(*DEPLOYMENTS["in-cluster, all backends"])
    prometheus = config["exporters"]["prometheus"]
    assert prometheus["without_scope_info"] is True
    assert prometheus["resource_to_telemetry_conversion"] == {"enabled": False}
    # Anything that renames or relabels series would break the dashboards and alerts.
    assert not {"namespace", "const_labels", "translation_strategy"} & set(prometheus)
    assert prometheus.get("add_metric_suffixes", True) is True
    (pipeline,) = [p for p in pipelines(config).values() if "prometheus" in p["exporters"]]
    assert "cumulativetodelta" not in pipeline["processors"]  # Prometheus needs cumulative


def metrics_pipelines_exporting_to(config, exporter):
    return [p for pid, p in pipelines(config).items() if signal(pid) == "metrics" and exporter in p["exporters"]]


def test_new_relic_uses_otlphttp_with_the_api_key_header_and_delta_temporality():
    config = merged(BASE, "newrelic.yaml")
    exporter_id = "otlphttp/newrelic"
    exporter = config["exporters"][exporter_id]
    assert exporter["headers"] == {"api-key": "${env:NEW_RELIC_LICENSE_KEY}"}
    assert exporter["endpoint"].startswith("${env:NEW_RELIC_OTLP_ENDPOINT:-https://otlp.nr-data.net}")
    (metrics,) = metrics_pipelines_exporting_to(config, exporter_id)
    assert "cumulativetodelta" in metrics["processors"]
    assert any(exporter_id in p["exporters"] for pid, p in pipelines(config).items() if signal(pid) == "traces")


def test_datadog_gets_delta_metrics_traces_and_apm_stats():
    config = merged(BASE, "datadog.yaml")
    assert config["exporters"]["datadog"]["api"]["key"] == "${env:DD_API_KEY}"
    delta = [p for p in metrics_pipelines_exporting_to(config, "datadog") if "forward/metrics" in p["receivers"]]
    assert len(delta) == 1 and "cumulativetodelta" in delta[0]["processors"]
    traces = pipelines(config)["traces/datadog"]
    assert traces["exporters"] == ["datadog/connector", "datadog"]
    assert pipelines(config)["metrics/datadog-apm"]["receivers"] == ["datadog/connector"]


def test_jaeger_gets_traces_over_otlp():
    config = load(BASE)
    assert "jaeger" not in {component_type(e) for e in config["exporters"]}  # removed from the Collector
    assert component_type("otlp/jaeger") == "otlp" and "otlp/jaeger" in config["exporters"]
    assert pipelines(config)["traces/jaeger"]["exporters"] == ["otlp/jaeger"]


def test_kubernetes_attributes_only_in_the_in_cluster_config():
    assert all("k8sattributes" not in load(name).get("processors", {}) for name in CONFIG_FILES
               if name != "kubernetes.yaml")
    config = merged(*DEPLOYMENTS["in-cluster"])
    for pipeline_id in ("metrics/intake", "traces/intake"):
        assert pipelines(config)[pipeline_id]["processors"] == ["memory_limiter", "k8sattributes"]
    assert {"from": "connection"} in [s for rule in config["processors"]["k8sattributes"]["pod_association"]
                                      for s in rule["sources"]]


@pytest.mark.parametrize("name", CONFIG_FILES)
def test_credentials_come_only_from_environment_variables(name):
    assert not CREDENTIAL_LITERAL.search((DIRECTORY / name).read_text()), "credential-like literal"
    for path, value in walk(load(name)):
        assert "${" not in ENV_REFERENCE.sub("", str(value)), f"{path}: a ${{...}} that is not ${{env:NAME}}"
        if path[0] in ("exporters", "extensions") and SECRET_KEY.search(path[-1]):
            match = next(env_references(str(value)), None)
            assert match and match.group(0) == value and match.group("default") is None, (path, value)


def test_secret_check_would_catch_an_inline_key(tmp_path):
    leaked = yaml.safe_dump({"exporters": {"datadog": {"api": {"key": "0123456789abcdef0123456789abcdef"}}}})
    assert CREDENTIAL_LITERAL.search(leaked)
    assert SECRET_KEY.search("key") and SECRET_KEY.search("api-key") and not SECRET_KEY.search("keepalive")
