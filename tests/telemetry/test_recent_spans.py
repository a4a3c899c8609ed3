"""RecentSpans through setup_telemetry's extra_span_processors: whole reconcile traces, with
botocore's AWS call spans, kept in memory as plain data."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from infra_operator.telemetry import RecentSpans, Telemetry, TelemetrySettings

from infra_operator.sandbox.aws import MotoServer
from .conftest import ec2_client


def test_a_reconcile_trace_holds_its_aws_calls_and_drift_events(
    make_telemetry: Callable[..., Telemetry], aws: MotoServer
) -> None:
    recent = RecentSpans()
    telemetry = make_telemetry(TelemetrySettings(instance_id="test"), extra_span_processors=[recent])
    ec2 = ec2_client(telemetry, aws.endpoint)
    with telemetry.reconcile("VPC", "default", "main", trigger="resync"):
        with telemetry.drift_check("VPC", "default", "main") as drift:
            ec2.describe_vpcs()
            drift.detected("info", ["tags"])
    with pytest.raises(Exception, match="InvalidVpcID"), telemetry.reconcile("VPC", "default", "gone", "resync"):
        ec2.describe_vpcs(VpcIds=["vpc-00000000"])

    first, second = recent.latest_traces(5, root_prefixes=("reconcile ",))
    root, drift_span, call = first
    assert (root.name, root.parent_id, root.attributes["infra_operator.result"]) == ("reconcile VPC", None, "success")
    assert (drift_span.name, drift_span.parent_id) == ("drift VPC", root.span_id)
    assert [(e.name, e.attributes["infra_operator.drift.fields"]) for e in drift_span.events] == [
        ("drift.detected", ("tags",))
    ]
    assert (call.name, call.parent_id, call.status) == ("EC2.DescribeVpcs", drift_span.span_id, "unset")
    assert call.attributes["rpc.method"] == "DescribeVpcs"
    assert 0 < call.duration <= root.duration
    assert {span.trace_id for span in first} == {root.trace_id}

    failed_root, failed_call = second
    assert failed_root.status == "error" and failed_root.attributes["infra_operator.error_type"] == "sync_failed"
    assert failed_call.status == "error" and failed_call.parent_id == failed_root.span_id
    assert failed_root.trace_id != root.trace_id


def test_only_the_latest_traces_are_kept_and_listed(make_telemetry: Callable[..., Telemetry]) -> None:
    recent = RecentSpans(limit=4)
    telemetry = make_telemetry(TelemetrySettings(instance_id="test"), extra_span_processors=[recent])
    for name in ("a", "b", "c"):
        with telemetry.reconcile("VPC", "default", name, trigger="create"), telemetry.span("provider check"):
            pass
    with telemetry.span("not a reconcile"):
        pass
    # 7 spans ended; 4 are kept: c's two, then the lone root; b's root (its child dropped) before them.
    assert [span.name for span in recent.spans()] == [
        "reconcile VPC", "provider check", "reconcile VPC", "not a reconcile"]
    traces = recent.latest_traces(5, root_prefixes=("reconcile ",))
    assert [[span.attributes.get("infra_operator.resource.name") for span in trace] for trace in traces] == [
        ["b"], ["c", None]]
    assert [trace[0].name for trace in recent.latest_traces(1)] == ["not a reconcile"]
