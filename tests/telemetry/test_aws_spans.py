"""What docs/tracing.md promises of the AWS call spans (OpenTelemetry's botocore instrumentation),
against a moto server over HTTP: one CLIENT span per logical call, its name, attributes, status
and parent, and the X-Ray trace header each attempt carries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from infra_operator.sandbox.aws import MotoServer
from infra_operator.telemetry import Telemetry
from local_process import free_port

from .conftest import ec2_client


@pytest.fixture
def exported(make_telemetry: Callable[..., Telemetry]) -> tuple[Telemetry, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    return make_telemetry(extra_span_processors=[SimpleSpanProcessor(exporter)]), exporter


def trace_headers(client: Any) -> list[bytes | None]:
    """The X-Amzn-Trace-Id header of every attempt the client sends from now on, as sent."""
    sent: list[bytes | None] = []
    client.meta.events.register("before-send", lambda request, **_: sent.append(request.headers.get("X-Amzn-Trace-Id")))
    return sent


def xray_header(span: ReadableSpan) -> bytes:
    trace_id = f"{span.context.trace_id:032x}"
    return f"Root=1-{trace_id[:8]}-{trace_id[8:]};Parent={span.context.span_id:016x};Sampled=1".encode()


def only(spans: tuple[ReadableSpan, ...], name: str) -> ReadableSpan:
    [span] = [span for span in spans if span.name == name]
    return span


def test_a_call_is_a_client_span_with_the_instrumentation_attributes_under_the_current_span(
    exported: tuple[Telemetry, InMemorySpanExporter], aws: MotoServer
) -> None:
    telemetry, exporter = exported
    ec2 = ec2_client(telemetry, aws.endpoint)
    sent = trace_headers(ec2)
    with telemetry.span("parent"):
        ec2.describe_vpcs()
        assert trace.get_current_span().name == "parent"  # type: ignore[attr-defined]
    spans = exporter.get_finished_spans()
    parent, call = only(spans, "parent"), only(spans, "EC2.DescribeVpcs")
    assert call.kind is SpanKind.CLIENT and call.status.status_code is StatusCode.UNSET
    assert call.parent is not None and call.parent.span_id == parent.context.span_id
    attributes = dict(call.attributes or {})
    assert attributes.pop("aws.request_id")
    assert attributes == {
        "rpc.system": "aws-api", "rpc.service": "EC2", "rpc.method": "DescribeVpcs", "cloud.region": "us-east-1",
        "server.address": "127.0.0.1", "server.port": int(aws.endpoint.rsplit(":", 1)[1]),
        "retry_attempts": 0, "http.status_code": 200,
    }
    assert sent == [xray_header(call)]


def test_retries_stay_inside_the_one_span_and_every_attempt_carries_its_trace(
    exported: tuple[Telemetry, InMemorySpanExporter], aws: MotoServer
) -> None:
    telemetry, exporter = exported
    ec2 = ec2_client(telemetry, aws.endpoint, total_max_attempts=3)
    sent = trace_headers(ec2)
    aws.faults.throttle(operation="DescribeSubnets", times=2)
    ec2.describe_subnets()
    call = only(exporter.get_finished_spans(), "EC2.DescribeSubnets")
    assert (call.attributes or {})["retry_attempts"] == 2
    assert sent == [xray_header(call)] * 3


def test_an_error_answer_is_an_error_span_saying_what_botocore_raises(
    exported: tuple[Telemetry, InMemorySpanExporter], aws: MotoServer
) -> None:
    telemetry, exporter = exported
    ec2 = ec2_client(telemetry, aws.endpoint)
    with pytest.raises(ec2.exceptions.ClientError) as raised:
        ec2.describe_vpcs(VpcIds=["vpc-00000000"])
    call = only(exporter.get_finished_spans(), "EC2.DescribeVpcs")
    assert call.status.status_code is StatusCode.ERROR
    assert call.status.description == str(raised.value)
    assert call.status.description.startswith("An error occurred (InvalidVpcID.NotFound) when calling the DescribeVpcs")
    assert (call.attributes or {})["http.status_code"] == 400


def test_a_call_without_an_answer_is_an_error_span_and_leaves_the_context_as_it_was(
    exported: tuple[Telemetry, InMemorySpanExporter]
) -> None:
    telemetry, exporter = exported
    ec2 = ec2_client(telemetry, f"http://127.0.0.1:{free_port()}", total_max_attempts=1, connect_timeout=1)
    with telemetry.span("parent"):
        with pytest.raises(Exception, match="Could not connect"):
            ec2.describe_vpcs()
        assert trace.get_current_span().name == "parent"  # type: ignore[attr-defined]
    call = only(exporter.get_finished_spans(), "EC2.DescribeVpcs")
    assert call.status.status_code is StatusCode.ERROR
    assert "Could not connect" in (call.status.description or "")
    assert "http.status_code" not in (call.attributes or {})
