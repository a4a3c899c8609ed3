"""OTLP through a real collector binary (rotel-agent) to a receiver, over gRPC and HTTP."""

from __future__ import annotations

import pytest
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind

from infra_operator.telemetry import catalog
from otlp_receiver import GrpcReceiver, resource_attributes
from rotel_agent import RotelAgent

pytestmark = [
    pytest.mark.live,
    pytest.mark.tools("rotel-agent"),
]

RESOURCE = Resource.create({"service.name": "infra-operator", "service.instance.id": "rotel-test"})


def exporters(rotel: RotelAgent, protocol: str):
    if protocol == "grpc":
        return (GrpcMetricExporter(endpoint=rotel.grpc_endpoint, insecure=True),
                GrpcSpanExporter(endpoint=rotel.grpc_endpoint, insecure=True))
    return (HttpMetricExporter(endpoint=f"{rotel.http_endpoint}/v1/metrics"),
            HttpSpanExporter(endpoint=f"{rotel.http_endpoint}/v1/traces"))


def send_reconcile(metric_exporter, span_exporter) -> None:
    """One reconcile as the operator records it: counter, duration histogram, reconcile -> AWS span."""
    duration = catalog.RECONCILE_DURATION
    meters = MeterProvider(
        resource=RESOURCE,
        metric_readers=[PeriodicExportingMetricReader(metric_exporter, export_interval_millis=60_000)],
        views=[View(instrument_name=duration.name,
                    aggregation=ExplicitBucketHistogramAggregation(boundaries=duration.buckets))],
    )
    meter = meters.get_meter("infra_operator")
    meter.create_counter(catalog.RECONCILE_TOTAL.name).add(1, {"resource_type": "ElasticIP", "result": "success"})
    meter.create_histogram(duration.name, unit="s").record(0.3, {"resource_type": "ElasticIP"})
    tracers = TracerProvider(resource=RESOURCE)
    tracers.add_span_processor(SimpleSpanProcessor(span_exporter))
    tracer = tracers.get_tracer("infra_operator")
    with tracer.start_as_current_span("reconcile ElasticIP"):
        with tracer.start_as_current_span("EC2.AllocateAddress", kind=SpanKind.CLIENT,
                                          attributes={"rpc.system": "aws-api", "rpc.service": "EC2"}):
            pass
    meters.shutdown()  # exports the pending metrics
    tracers.shutdown()


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_metrics_and_spans_cross_rotel_intact(tmp_path, protocol):
    with GrpcReceiver() as receiver, RotelAgent(receiver.endpoint, tmp_path) as rotel:
        send_reconcile(*exporters(rotel, protocol))
        receiver.wait_for(lambda r: len(r.spans()) == 2 and r.metrics(catalog.RECONCILE_DURATION.name))

    (counter,) = [metric.sum for metric in receiver.metrics(catalog.RECONCILE_TOTAL.name)]
    assert counter.is_monotonic and [point.as_int for point in counter.data_points] == [1]
    (histogram,) = receiver.metrics(catalog.RECONCILE_DURATION.name)
    assert histogram.unit == "s"
    (point,) = histogram.histogram.data_points
    assert tuple(point.explicit_bounds) == catalog.BUCKETS
    assert point.count == 1 and point.sum == pytest.approx(0.3)

    spans = {span.name: span for span in receiver.spans()}
    reconcile, aws_call = spans["reconcile ElasticIP"], spans["EC2.AllocateAddress"]
    assert aws_call.trace_id == reconcile.trace_id
    assert aws_call.parent_span_id == reconcile.span_id
    assert aws_call.kind == aws_call.SPAN_KIND_CLIENT
    assert resource_attributes(aws_call) == {"rpc.system": "aws-api", "rpc.service": "EC2"}
    resource = resource_attributes(receiver.resource_spans[0].resource)
    assert resource["service.name"] == "infra-operator"


def test_rotel_start_failure_is_reported_with_its_log(tmp_path):
    with pytest.raises(RuntimeError, match="rotel-agent exited"):
        with RotelAgent("http://127.0.0.1:9", tmp_path, batch_timeout="forever"):
            pass
