"""OTLP push of metrics and spans to real receivers on loopback, directly and through rotel's
collector binary, over grpc and http/protobuf."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality

from infra_operator.sandbox.aws import MotoServer
from infra_operator.telemetry import Telemetry, TelemetrySettings, catalog
from otlp_receiver import GrpcReceiver, HttpReceiver, OtlpReceiver, resource_attributes
from rotel_agent import RotelAgent

from .conftest import ec2_client

RECONCILE_TOTAL = catalog.RECONCILE_TOTAL.name
RECONCILE_DURATION = catalog.RECONCILE_DURATION.name
DOWNWARD_API = {"POD_NAME": "infra-operator-7d9f-abcde", "POD_NAMESPACE": "infra-operator", "NODE_NAME": "node-1"}


@pytest.fixture(params=["grpc", "http/protobuf"])
def protocol(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def receiver(protocol: str) -> Iterator[OtlpReceiver]:
    with GrpcReceiver() if protocol == "grpc" else HttpReceiver() as server:
        yield server


def otlp_settings(endpoint: str, protocol: str, temporality: str = "cumulative") -> TelemetrySettings:
    return TelemetrySettings.from_env(
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
            "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": temporality,
            # Exports happen on force_flush only, so each test decides when data leaves.
            "OTEL_METRIC_EXPORT_INTERVAL": "600000",
            **DOWNWARD_API,
        }
    )


def reconcile_with_an_aws_call(telemetry: Telemetry, aws: MotoServer) -> None:
    ec2 = ec2_client(telemetry, aws.endpoint)
    with telemetry.reconcile("ElasticIP", "default", "eip-a", trigger="create"):
        ec2.describe_addresses()


def has_metric_and_spans(name: str) -> Callable[[OtlpReceiver], bool]:
    return lambda received: bool(received.metrics(name)) and len(received.spans()) >= 2


def assert_arrived_intact(received: OtlpReceiver, settings: TelemetrySettings) -> None:
    names = {metric.name for metric in received.metrics()}
    assert names <= set(catalog.BY_NAME), names - set(catalog.BY_NAME)
    assert {
        RECONCILE_TOTAL,
        RECONCILE_DURATION,
        catalog.AWS_API_CALLS.name,
        catalog.AWS_API_CALL_DURATION.name,
    } <= names
    for metric in received.metrics():
        assert metric.description == catalog.BY_NAME[metric.name].help
        assert metric.unit == catalog.BY_NAME[metric.name].unit
        if metric.HasField("histogram"):
            for point in metric.histogram.data_points:
                assert tuple(point.explicit_bounds) == catalog.BUCKETS
    resource = resource_attributes(received.resource_metrics[0].resource)
    assert resource == {
        "service.name": "infra-operator",
        "service.version": settings.service_version,
        "service.instance.id": DOWNWARD_API["POD_NAME"],
        "k8s.pod.name": DOWNWARD_API["POD_NAME"],
        "k8s.namespace.name": DOWNWARD_API["POD_NAMESPACE"],
        "k8s.node.name": DOWNWARD_API["NODE_NAME"],
    }
    assert resource_attributes(received.resource_spans[0].resource) == resource
    spans = {span.name: span for span in received.spans()}
    reconcile, aws_call = spans["reconcile ElasticIP"], spans["EC2.DescribeAddresses"]
    assert aws_call.trace_id == reconcile.trace_id
    assert aws_call.parent_span_id == reconcile.span_id
    reconcile_attributes = {kv.key: kv.value.string_value for kv in reconcile.attributes}
    assert reconcile_attributes["infra_operator.result"] == "success"
    assert reconcile_attributes["infra_operator.resource.name"] == "eip-a"


# `receiver` comes before `make_telemetry` in the signatures: fixtures tear down in reverse,
# so each telemetry's final flush on shutdown still finds its receiver up.
def test_metrics_and_spans_arrive_over_otlp(
    receiver: Any, make_telemetry: Callable[..., Telemetry], protocol: str, aws: MotoServer
) -> None:
    settings = otlp_settings(receiver.endpoint, protocol)
    telemetry = make_telemetry(settings)
    reconcile_with_an_aws_call(telemetry, aws)
    assert telemetry.force_flush()
    receiver.wait_for(has_metric_and_spans(RECONCILE_TOTAL))
    assert_arrived_intact(receiver, settings)


@pytest.mark.parametrize(
    ("temporality", "expected", "second_value"),
    [
        ("cumulative", AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE, 2),
        ("delta", AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA, 1),
    ],
)
def test_the_configured_temporality_is_exported(
    receiver: Any,
    make_telemetry: Callable[..., Telemetry],
    protocol: str,
    temporality: str,
    expected: int,
    second_value: int,
) -> None:
    telemetry = make_telemetry(otlp_settings(receiver.endpoint, protocol, temporality))
    for export in (1, 2):
        with telemetry.reconcile("VPC", "default", "main", trigger="update"):
            pass
        assert telemetry.force_flush()
        receiver.wait_for(lambda received, n=export: len(received.metrics(RECONCILE_TOTAL)) >= n)
    counters = receiver.metrics(RECONCILE_TOTAL)
    histograms = receiver.metrics(RECONCILE_DURATION)
    assert [c.sum.aggregation_temporality for c in counters] == [expected, expected]
    assert [h.histogram.aggregation_temporality for h in histograms] == [expected, expected]
    assert [c.sum.data_points[0].as_double or c.sum.data_points[0].as_int for c in counters] == [1, second_value]
    assert [h.histogram.data_points[0].count for h in histograms] == [1, second_value]


@pytest.mark.tools("rotel-agent")
def test_through_rotel_as_an_independent_collector_hop(
    make_telemetry: Callable[..., Telemetry], protocol: str, aws: MotoServer, tmp_path: Path
) -> None:
    with GrpcReceiver() as downstream, RotelAgent(forward_to=downstream.endpoint, workdir=tmp_path) as hop:
        settings = otlp_settings(hop.grpc_endpoint if protocol == "grpc" else hop.http_endpoint, protocol)
        telemetry = make_telemetry(settings)
        reconcile_with_an_aws_call(telemetry, aws)
        assert telemetry.force_flush()
        downstream.wait_for(has_metric_and_spans(RECONCILE_TOTAL))
        assert_arrived_intact(downstream, settings)
        telemetry.shutdown()
