"""Reading the Collector configs of otel-collector/ the way otelcol-contrib does.

`--config a.yaml --config b.yaml` merges the files in order: mappings merge key by key, anything
else (lists, scalars) is replaced by the later file. Component ids are `type` or `type/name`.
"""

from __future__ import annotations

import pathlib
import re
from collections.abc import Iterator, Mapping

import yaml

DIRECTORY = pathlib.Path(__file__).resolve().parents[2] / "otel-collector"
BASE = "base.yaml"
OVERLAYS = ("kubernetes.yaml", "datadog.yaml", "newrelic.yaml")
COMPONENT_KINDS = ("receivers", "processors", "exporters", "connectors", "extensions")
SIGNALS = ("metrics", "traces", "logs")

# ${env:NAME} or ${env:NAME:-default}: the env provider of the Collector's confmap.
ENV_REFERENCE = re.compile(r"\$\{env:(?P<name>[A-Z_][A-Z0-9_]*)(?::-(?P<default>[^}]*))?\}")

# Component types of the contrib distribution (otelcol-contrib 0.141.0) that a config of ours
# could reasonably use; a type outside this list is a typo or a component of another build.
CONTRIB_COMPONENTS = {
    "receivers": {
        "otlp", "prometheus", "hostmetrics", "k8s_cluster", "k8s_events", "k8sobjects", "kubeletstats",
        "filelog", "jaeger", "zipkin", "statsd", "syslog", "journald", "fluentforward", "kafka",
        "datadog", "awsxray",
    },
    "processors": {
        "batch", "memory_limiter", "k8sattributes", "resource", "resourcedetection", "attributes",
        "transform", "filter", "cumulativetodelta", "deltatocumulative", "metricstransform",
        "groupbyattrs", "tail_sampling", "probabilistic_sampler", "redaction",
    },
    "exporters": {
        "otlp", "otlphttp", "debug", "prometheus", "prometheusremotewrite", "datadog", "loadbalancing",
        "file", "kafka", "awsxray", "awsemf", "googlecloud", "elasticsearch", "clickhouse", "zipkin",
    },
    "connectors": {"forward", "datadog", "spanmetrics", "servicegraph", "count", "routing", "exceptions"},
    "extensions": {
        "health_check", "pprof", "zpages", "bearertokenauth", "basicauth", "oauth2client", "headers_setter",
        "file_storage", "k8s_observer",
    },
}


def load(name: str) -> dict:
    return yaml.safe_load((DIRECTORY / name).read_text())


def merge(*configs: Mapping) -> dict:
    merged: dict = {}
    for config in configs:
        for key, value in config.items():
            if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
                merged[key] = merge(merged[key], value)
            else:
                merged[key] = value
    return merged


def merged(*names: str) -> dict:
    return merge(*(load(name) for name in names))


def component_type(component_id: str) -> str:
    return component_id.split("/", 1)[0]


def signal(pipeline_id: str) -> str:
    return component_type(pipeline_id)


def pipelines(config: Mapping) -> dict[str, dict]:
    return config.get("service", {}).get("pipelines", {})


def declared(config: Mapping, kind: str) -> set[str]:
    return set(config.get(kind) or {})


def env_references(text: str) -> Iterator[re.Match]:
    return ENV_REFERENCE.finditer(text)


def problems(config: Mapping) -> list[str]:
    """What the Collector would refuse (or silently ignore) in a merged config."""
    found = []
    connectors = declared(config, "connectors")
    allowed = {
        "receivers": declared(config, "receivers") | connectors,
        "processors": declared(config, "processors"),
        "exporters": declared(config, "exporters") | connectors,
    }
    used: set[str] = set()
    for pipeline_id, pipeline in pipelines(config).items():
        if signal(pipeline_id) not in SIGNALS:
            found.append(f"pipeline {pipeline_id}: unknown signal")
        if not pipeline.get("receivers") or not pipeline.get("exporters"):
            found.append(f"pipeline {pipeline_id}: needs receivers and exporters")
        for kind, names in allowed.items():
            for name in pipeline.get(kind, []):
                used.add(name)
                if name not in names:
                    found.append(f"pipeline {pipeline_id}: {kind[:-1]} {name} is not declared")
    for connector in connectors:
        as_exporter = [p for p, spec in pipelines(config).items() if connector in spec.get("exporters", [])]
        as_receiver = [p for p, spec in pipelines(config).items() if connector in spec.get("receivers", [])]
        if not as_exporter or not as_receiver:
            found.append(f"connector {connector} must both export from and receive into a pipeline")
    for kind in ("receivers", "processors", "exporters"):
        found += [f"{kind[:-1]} {name} is declared but in no pipeline" for name in declared(config, kind) - used]
    extensions = config.get("service", {}).get("extensions", [])
    found += [f"extension {name} is not declared" for name in extensions if name not in declared(config, "extensions")]
    return found
