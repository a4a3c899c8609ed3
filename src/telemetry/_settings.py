"""Telemetry settings, read from the standard OTEL_* environment variables (pure functions)."""

from __future__ import annotations

import dataclasses
import os
import socket
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata

GRPC = "grpc"
HTTP_PROTOBUF = "http/protobuf"
PROTOCOLS = (GRPC, HTTP_PROTOBUF)
TEMPORALITIES = ("cumulative", "delta", "lowmemory")
SAMPLERS = (
    "always_on",
    "always_off",
    "traceidratio",
    "parentbased_always_on",
    "parentbased_always_off",
    "parentbased_traceidratio",
)
EXEMPLAR_FILTERS = ("trace_based", "always_on", "always_off")
# The Prometheus reader behind /metrics always runs, so `prometheus` adds nothing to it.
_METRICS_EXPORTERS = ("otlp", "prometheus", "none")
_TRACES_EXPORTERS = ("otlp", "none")
_DEFAULT_ENDPOINTS = {GRPC: "http://localhost:4317", HTTP_PROTOBUF: "http://localhost:4318"}
_SIGNAL_PATHS = {"metrics": "v1/metrics", "traces": "v1/traces"}


def _package_version() -> str:
    try:
        return metadata.version("infra-operator")
    except metadata.PackageNotFoundError:
        return "0.0.0"


@dataclass(frozen=True, slots=True)
class OtlpSettings:
    """Where and how one signal is pushed over OTLP.

    `endpoint` is the full URL the exporter uses: for http/protobuf it includes the signal
    path (`/v1/metrics`, `/v1/traces`); for grpc it is `scheme://host:port` (`http` means
    no TLS). `headers` may carry API keys, so they are kept out of `repr`.
    """

    endpoint: str
    protocol: str = HTTP_PROTOBUF
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    timeout_seconds: float = 10.0

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"OTLP protocol must be one of {PROTOCOLS}, not {self.protocol!r}")


@dataclass(frozen=True, slots=True)
class TelemetrySettings:
    """Everything `setup_telemetry` needs. Build it with `TelemetrySettings.from_env()`.

    Defaults push nothing anywhere: OTLP export of a signal is on when OTEL_<SIGNAL>_EXPORTER
    says `otlp`, or when it is unset and an OTLP endpoint variable is set (the OTel default of
    `otlp` towards localhost would fail forever in a cluster without a collector).
    TLS and compression options (OTEL_EXPORTER_OTLP_CERTIFICATE, _INSECURE, _COMPRESSION, ...)
    are read by the OTLP exporters themselves from the process environment.
    """

    service_name: str = "infra-operator"
    service_version: str = field(default_factory=_package_version)
    # service.instance.id; None means the pod name, else the host name. Stable across restarts
    # of the same pod, so downstream systems do not see a new target each start.
    instance_id: str | None = None
    pod_name: str | None = None  # k8s.pod.name (downward API env POD_NAME)
    pod_namespace: str | None = None  # k8s.namespace.name (POD_NAMESPACE)
    node_name: str | None = None  # k8s.node.name (NODE_NAME)
    # Extra resource attributes (OTEL_RESOURCE_ATTRIBUTES); the ones above win on conflict.
    resource_attributes: Mapping[str, str] = field(default_factory=dict)
    # False: no MeterProvider at all (the metric recorders become no-ops, /metrics is empty).
    metrics_enabled: bool = True
    metrics_otlp: OtlpSettings | None = None
    traces_otlp: OtlpSettings | None = None
    metric_export_interval_seconds: float = 60.0  # OTEL_METRIC_EXPORT_INTERVAL (ms in env)
    metric_export_timeout_seconds: float = 30.0  # OTEL_METRIC_EXPORT_TIMEOUT (ms in env)
    temporality: str = "cumulative"  # OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE
    sampler: str = "parentbased_always_on"  # OTEL_TRACES_SAMPLER
    sampler_arg: float | None = None  # OTEL_TRACES_SAMPLER_ARG (ratio for *traceidratio)
    exemplar_filter: str = "trace_based"  # OTEL_METRICS_EXEMPLAR_FILTER

    def __post_init__(self) -> None:
        _check_choice("temporality", self.temporality, TEMPORALITIES)
        _check_choice("sampler", self.sampler, SAMPLERS)
        _check_choice("exemplar_filter", self.exemplar_filter, EXEMPLAR_FILTERS)

    @property
    def resolved_instance_id(self) -> str:
        return self.instance_id or self.pod_name or socket.gethostname()

    def resource(self) -> dict[str, str]:
        """The OTel Resource attributes, as a plain dict."""
        attributes = dict(self.resource_attributes)
        attributes.update(
            {
                "service.name": self.service_name,
                "service.version": self.service_version,
                "service.instance.id": self.resolved_instance_id,
            }
        )
        for key, value in (
            ("k8s.pod.name", self.pod_name),
            ("k8s.namespace.name", self.pod_namespace),
            ("k8s.node.name", self.node_name),
        ):
            if value:
                attributes[key] = value
        return attributes

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ, **overrides: object) -> TelemetrySettings:
        """Settings from the standard OTEL_* and downward-API variables; `overrides` (field
        names) win over the environment."""
        env = {key: value for key, value in environ.items() if value != ""}
        values: dict[str, object] = {
            "pod_name": env.get("POD_NAME"),
            "pod_namespace": env.get("POD_NAMESPACE"),
            "node_name": env.get("NODE_NAME"),
            "resource_attributes": parse_key_values(env.get("OTEL_RESOURCE_ATTRIBUTES", "")),
            "metrics_otlp": _otlp_from_env(env, "metrics", _METRICS_EXPORTERS),
            "traces_otlp": _otlp_from_env(env, "traces", _TRACES_EXPORTERS),
        }
        if "OTEL_SERVICE_NAME" in env:
            values["service_name"] = env["OTEL_SERVICE_NAME"]
        if "OTEL_METRIC_EXPORT_INTERVAL" in env:
            values["metric_export_interval_seconds"] = _milliseconds(env, "OTEL_METRIC_EXPORT_INTERVAL")
        if "OTEL_METRIC_EXPORT_TIMEOUT" in env:
            values["metric_export_timeout_seconds"] = _milliseconds(env, "OTEL_METRIC_EXPORT_TIMEOUT")
        if "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE" in env:
            values["temporality"] = env["OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"].strip().lower()
        if "OTEL_TRACES_SAMPLER" in env:
            values["sampler"] = env["OTEL_TRACES_SAMPLER"].strip().lower()
        if "OTEL_TRACES_SAMPLER_ARG" in env:
            values["sampler_arg"] = float(env["OTEL_TRACES_SAMPLER_ARG"])
        if "OTEL_METRICS_EXEMPLAR_FILTER" in env:
            values["exemplar_filter"] = env["OTEL_METRICS_EXEMPLAR_FILTER"].strip().lower()
        if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
            values.update(metrics_enabled=False, metrics_otlp=None, traces_otlp=None)
        unknown = set(overrides) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise TypeError(f"unknown TelemetrySettings fields: {sorted(unknown)}")
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]


def _check_choice(what: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{what} must be one of {choices}, not {value!r}")


def _milliseconds(env: Mapping[str, str], name: str) -> float:
    return float(env[name]) / 1000.0


def parse_key_values(text: str) -> dict[str, str]:
    """`k1=v1,k2=v2` with percent-encoded values (OTEL_RESOURCE_ATTRIBUTES, OTLP headers)."""
    pairs: dict[str, str] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"expected key=value, got {item.split('=')[0]!r}=...")
        pairs[urllib.parse.unquote(key.strip())] = urllib.parse.unquote(value.strip())
    return pairs


def _signal_env(env: Mapping[str, str], signal: str, suffix: str) -> str | None:
    """The signal-specific OTEL_EXPORTER_OTLP_<SIGNAL>_<SUFFIX>, else the generic one."""
    return env.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_{suffix}", env.get(f"OTEL_EXPORTER_OTLP_{suffix}"))


def _otlp_from_env(env: Mapping[str, str], signal: str, allowed: tuple[str, ...]) -> OtlpSettings | None:
    variable = f"OTEL_{signal.upper()}_EXPORTER"
    exporters = [name.strip().lower() for name in env.get(variable, "").split(",") if name.strip()]
    for name in exporters:
        if name not in allowed:
            raise ValueError(f"{variable}: unsupported exporter {name!r} (supported: {', '.join(allowed)})")
    signal_endpoint = env.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT")
    generic_endpoint = env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    wanted = "otlp" in exporters if exporters else bool(signal_endpoint or generic_endpoint)
    if not wanted:
        return None
    protocol = (_signal_env(env, signal, "PROTOCOL") or HTTP_PROTOBUF).strip().lower()
    timeout = _signal_env(env, signal, "TIMEOUT")
    return OtlpSettings(
        endpoint=otlp_endpoint(protocol, signal, signal_endpoint, generic_endpoint),
        protocol=protocol,
        headers=parse_key_values(_signal_env(env, signal, "HEADERS") or ""),
        timeout_seconds=float(timeout) / 1000.0 if timeout else 10.0,
    )


def otlp_endpoint(protocol: str, signal: str, signal_endpoint: str | None, generic_endpoint: str | None) -> str:
    """The exporter URL per the OTLP exporter spec: a signal-specific endpoint is used as is;
    the generic one is a base URL to which http/protobuf appends `/v1/<signal>`."""
    if signal_endpoint:
        return signal_endpoint
    base = generic_endpoint or _DEFAULT_ENDPOINTS[protocol]
    if protocol == GRPC:
        return base
    return base.rstrip("/") + "/" + _SIGNAL_PATHS[signal]
