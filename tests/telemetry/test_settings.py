"""TelemetrySettings from the standard OTEL_* and downward-API variables (pure functions)."""

from __future__ import annotations

import socket

import pytest

from infra_operator.telemetry import OtlpSettings, TelemetrySettings


def test_defaults_push_nothing_and_name_the_host() -> None:
    settings = TelemetrySettings.from_env({})
    assert settings.metrics_otlp is None and settings.traces_otlp is None
    assert settings.metrics_enabled
    assert settings.resource() == {
        "service.name": "infra-operator",
        "service.version": settings.service_version,
        "service.instance.id": socket.gethostname(),
    }


def test_downward_api_variables_become_k8s_attributes_and_the_instance_id() -> None:
    env = {
        "POD_NAME": "infra-operator-0",
        "POD_NAMESPACE": "ops",
        "NODE_NAME": "n1",
        "OTEL_RESOURCE_ATTRIBUTES": "k8s.cluster.name=prod,service.name=ignored",
    }
    resource = TelemetrySettings.from_env(env).resource()
    assert resource["service.instance.id"] == "infra-operator-0"
    assert resource["k8s.pod.name"] == "infra-operator-0"
    assert resource["k8s.namespace.name"] == "ops"
    assert resource["k8s.node.name"] == "n1"
    assert resource["k8s.cluster.name"] == "prod"
    assert resource["service.name"] == "infra-operator"
    assert TelemetrySettings.from_env(env, instance_id="explicit").resource()["service.instance.id"] == "explicit"


def test_generic_endpoint_gets_signal_paths_for_http() -> None:
    settings = TelemetrySettings.from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/"})
    assert settings.metrics_otlp == OtlpSettings("http://collector:4318/v1/metrics", "http/protobuf")
    assert settings.traces_otlp == OtlpSettings("http://collector:4318/v1/traces", "http/protobuf")


def test_signal_specific_variables_win() -> None:
    settings = TelemetrySettings.from_env(
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://jaeger:4318/v1/traces",
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf",
            "OTEL_EXPORTER_OTLP_HEADERS": "api-key=s%3Dcret,x-team=ops",
            "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT": "2500",
        }
    )
    assert settings.metrics_otlp == OtlpSettings(
        "http://collector:4317", "grpc", {"api-key": "s=cret", "x-team": "ops"}, 2.5
    )
    assert settings.traces_otlp == OtlpSettings(
        "http://jaeger:4318/v1/traces", "http/protobuf", {"api-key": "s=cret", "x-team": "ops"}
    )


def test_headers_stay_out_of_repr() -> None:
    settings = TelemetrySettings.from_env(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_HEADERS": "api-key=topsecret"}
    )
    assert "topsecret" not in repr(settings)


@pytest.mark.parametrize(
    ("env", "metrics_on", "traces_on"),
    [
        ({"OTEL_METRICS_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, False, True),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, True, False),
        ({"OTEL_METRICS_EXPORTER": "otlp"}, True, False),
        ({"OTEL_METRICS_EXPORTER": "prometheus,otlp", "OTEL_TRACES_EXPORTER": "otlp"}, True, True),
        ({"OTEL_METRICS_EXPORTER": "prometheus", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, False, True),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, False, False),
    ],
)
def test_exporter_selection(env: dict[str, str], metrics_on: bool, traces_on: bool) -> None:
    settings = TelemetrySettings.from_env(env)
    assert (settings.metrics_otlp is not None, settings.traces_otlp is not None) == (metrics_on, traces_on)


def test_explicit_otlp_without_endpoint_uses_the_local_default() -> None:
    assert TelemetrySettings.from_env({"OTEL_TRACES_EXPORTER": "otlp"}).traces_otlp == OtlpSettings(
        "http://localhost:4318/v1/traces"
    )


def test_intervals_temporality_sampler() -> None:
    settings = TelemetrySettings.from_env(
        {
            "OTEL_METRIC_EXPORT_INTERVAL": "15000",
            "OTEL_METRIC_EXPORT_TIMEOUT": "5000",
            "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "DELTA",
            "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
            "OTEL_TRACES_SAMPLER_ARG": "0.25",
            "OTEL_SERVICE_NAME": "infra-operator-canary",
        }
    )
    assert settings.metric_export_interval_seconds == 15.0
    assert settings.metric_export_timeout_seconds == 5.0
    assert settings.temporality == "delta"
    assert (settings.sampler, settings.sampler_arg) == ("parentbased_traceidratio", 0.25)
    assert settings.service_name == "infra-operator-canary"


@pytest.mark.parametrize(
    "env",
    [
        {"OTEL_METRICS_EXPORTER": "zipkin"},
        {"OTEL_TRACES_EXPORTER": "prometheus"},
        {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"},
        {"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "sometimes"},
        {"OTEL_TRACES_SAMPLER": "jaeger_remote"},
        {"OTEL_RESOURCE_ATTRIBUTES": "novalue"},
    ],
)
def test_invalid_configuration_fails_at_startup(env: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        TelemetrySettings.from_env(env)


def test_unknown_override_is_an_error() -> None:
    with pytest.raises(TypeError):
        TelemetrySettings.from_env({}, instance="x")
