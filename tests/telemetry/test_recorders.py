"""Recorder semantics: outcomes, label checks, span shapes, gauges from state, log context."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator

import pytest
from opentelemetry import metrics
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import StatusCode
from prometheus_client import CollectorRegistry

from infra_operator.telemetry import SpanRef, Telemetry

from .conftest import sample_values, value


class Traced:
    """A Telemetry whose spans land in memory (metrics off): for span-shape unit tests."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.telemetry = Telemetry(metrics.NoOpMeter("test"), provider.get_tracer("test"), CollectorRegistry())

    def span(self, name: str) -> ReadableSpan:
        (span,) = [span for span in self.exporter.get_finished_spans() if span.name == name]
        return span


@pytest.fixture
def traced() -> Iterator[Traced]:
    yield Traced()


def test_reconcile_defaults_to_success(telemetry: Telemetry, traced: Traced) -> None:
    for t in (telemetry, traced.telemetry):
        with t.reconcile("VPC", "default", "main", trigger="create"):
            pass
    assert value(telemetry, "infra_operator_reconcile_total", resource_type="VPC", result="success") == 1
    assert value(telemetry, "infra_operator_reconcile_duration_seconds_count", resource_type="VPC") == 1
    assert not any(name == "infra_operator_reconcile_errors_total" for name, _ in sample_values(telemetry))
    span = traced.span("reconcile VPC")
    assert dict(span.attributes) == {
        "k8s.namespace.name": "default",
        "infra_operator.resource.name": "main",
        "infra_operator.resource_type": "VPC",
        "infra_operator.trigger": "create",
        "infra_operator.result": "success",
    }
    assert span.status.status_code is StatusCode.UNSET


def test_requeue_may_carry_an_error_type(telemetry: Telemetry) -> None:
    with telemetry.reconcile("VPC", "default", "main", trigger="update") as rec:
        rec.outcome("requeue", "aws_api_failed")
    assert value(telemetry, "infra_operator_reconcile_total", resource_type="VPC", result="requeue") == 1
    assert (
        value(telemetry, "infra_operator_reconcile_errors_total", resource_type="VPC", error_type="aws_api_failed") == 1
    )


def test_an_escaping_exception_is_a_sync_failure_recorded_and_reraised(telemetry: Telemetry, traced: Traced) -> None:
    for t in (telemetry, traced.telemetry):
        with pytest.raises(RuntimeError, match="boom"), t.reconcile("Subnet", "default", "a", trigger="update"):
            raise RuntimeError("boom")
    assert value(telemetry, "infra_operator_reconcile_total", resource_type="Subnet", result="error") == 1
    assert (
        value(telemetry, "infra_operator_reconcile_errors_total", resource_type="Subnet", error_type="sync_failed") == 1
    )
    span = traced.span("reconcile Subnet")
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["infra_operator.error_type"] == "sync_failed"
    assert [event.name for event in span.events] == ["exception"]


def test_an_error_type_set_before_the_exception_is_kept(telemetry: Telemetry) -> None:
    with pytest.raises(KeyError), telemetry.reconcile("Subnet", "default", "a", trigger="update") as rec:
        rec.outcome("error", "status_update_failed")
        raise KeyError("status")
    assert (
        value(
            telemetry,
            "infra_operator_reconcile_errors_total",
            resource_type="Subnet",
            error_type="status_update_failed",
        )
        == 1
    )
    assert (
        value(telemetry, "infra_operator_reconcile_errors_total", resource_type="Subnet", error_type="sync_failed") == 0
    )


def test_cancellation_is_not_an_outcome(telemetry: Telemetry) -> None:
    async def cancelled_reconcile() -> None:
        with telemetry.reconcile("VPC", "default", "main", trigger="update"):
            raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(cancelled_reconcile())
    assert not any(name.startswith("infra_operator_reconcile") for name, _ in sample_values(telemetry))


def test_label_values_outside_the_catalog_are_refused() -> None:
    telemetry = Telemetry.noop()
    with telemetry.reconcile("VPC", "default", "main", trigger="update") as rec:
        with pytest.raises(ValueError, match="result"):
            rec.outcome("done")
        with pytest.raises(ValueError, match="error_type"):
            rec.outcome("error", "oops")
    with telemetry.finalizer("VPC", "default", "main") as fin, pytest.raises(ValueError):
        fin.fail("disk_full")
    with telemetry.drift_check("VPC", "default", "main") as drift:
        with pytest.raises(ValueError):
            drift.detected("catastrophic", ["spec.cidrBlock"])
        with pytest.raises(ValueError):
            drift.heal_failed("whatever")
    with pytest.raises(ValueError):
        telemetry.resources.set("VPC", "default/main", "healthy", "main")
    assert telemetry.render_metrics() == b""


def test_finalizer_failures(telemetry: Telemetry, traced: Traced) -> None:
    with telemetry.finalizer("ElasticIP", "default", "a") as fin:
        fin.fail("aws_api_failed")
    with pytest.raises(OSError), traced.telemetry.finalizer("ElasticIP", "default", "b"):
        raise OSError("gone")
    with pytest.raises(OSError), telemetry.finalizer("ElasticIP", "default", "b"):
        raise OSError("gone")
    assert value(telemetry, "infra_operator_finalizer_duration_seconds_count", resource_type="ElasticIP") == 2
    assert (
        value(
            telemetry, "infra_operator_finalizer_errors_total", resource_type="ElasticIP", error_type="aws_api_failed"
        )
        == 1
    )
    assert (
        value(
            telemetry, "infra_operator_finalizer_errors_total", resource_type="ElasticIP", error_type="finalizer_failed"
        )
        == 1
    )
    span = traced.span("finalize ElasticIP")
    assert span.attributes["infra_operator.error_type"] == "finalizer_failed"
    assert span.status.status_code is StatusCode.ERROR


def test_drift_records_field_names_never_values(telemetry: Telemetry, traced: Traced) -> None:
    for t in (telemetry, traced.telemetry):
        with t.drift_check("SecurityGroup", "default", "web") as drift:
            drift.detected("critical", ["spec.ingress", "spec.description"])
        drift.healed()
    with telemetry.drift_check("SecurityGroup", "default", "web") as drift:
        drift.detected("info", ["spec.tags"])
    drift.heal_failed("drift_healing_failed")
    assert (
        value(telemetry, "infra_operator_drift_detected_total", resource_type="SecurityGroup", severity="critical") == 1
    )
    assert value(telemetry, "infra_operator_drift_detected_total", resource_type="SecurityGroup", severity="info") == 1
    assert value(telemetry, "infra_operator_drift_healed_total", resource_type="SecurityGroup") == 1
    assert (
        value(
            telemetry,
            "infra_operator_drift_healing_failures_total",
            resource_type="SecurityGroup",
            error_type="drift_healing_failed",
        )
        == 1
    )
    assert value(telemetry, "infra_operator_drift_detection_duration_seconds_count", resource_type="SecurityGroup") == 2
    (event,) = traced.span("drift SecurityGroup").events
    assert event.name == "drift.detected"
    assert dict(event.attributes) == {
        "infra_operator.drift.severity": "critical",
        "infra_operator.drift.fields": ("spec.description", "spec.ingress"),
    }


def test_workqueue_depth_is_the_pending_set(telemetry: Telemetry) -> None:
    telemetry.workqueue.done("VPC", "default/never-queued")
    telemetry.workqueue.enqueue("VPC", "default/a")
    telemetry.workqueue.enqueue("VPC", "default/a")
    telemetry.workqueue.enqueue("VPC", "default/b")
    telemetry.workqueue.done("VPC", "default/a")
    assert value(telemetry, "infra_operator_workqueue_depth", resource_type="VPC") == 1
    assert value(telemetry, "infra_operator_workqueue_adds_total", resource_type="VPC") == 3
    telemetry.workqueue.done("VPC", "default/b")
    telemetry.workqueue.done("VPC", "default/b")
    assert ("infra_operator_workqueue_depth", frozenset({("resource_type", "VPC")})) in sample_values(telemetry)
    assert value(telemetry, "infra_operator_workqueue_depth", resource_type="VPC") == 0


def test_provider_gauge_and_rotations(telemetry: Telemetry) -> None:
    telemetry.providers.set_ready("default", "us-east-1", True)
    telemetry.providers.set_ready("backup", "eu-west-1", False)
    telemetry.providers.credential_rotated("default")
    assert value(telemetry, "infra_operator_provider_ready", provider_name="default", region="us-east-1") == 1
    assert value(telemetry, "infra_operator_provider_ready", provider_name="backup", region="eu-west-1") == 0
    assert value(telemetry, "infra_operator_provider_credential_rotations_total", provider_name="default") == 1
    assert value(telemetry, "infra_operator_provider_credential_rotations_total", provider_name="backup") == 0
    assert ("infra_operator_provider_credential_rotations_total",
            frozenset({("provider_name", "backup")})) in sample_values(telemetry)
    telemetry.providers.forget("backup")
    # Its readiness disappears; a counter's series (rotations, at 0 since it appeared) stays.
    assert not any(name == "infra_operator_provider_ready" and dict(labels).get("provider_name") == "backup"
                   for name, labels in sample_values(telemetry))


def test_cache_lookups(telemetry: Telemetry) -> None:
    telemetry.cache_lookup("VPC", hit=True)
    telemetry.cache_lookup("VPC", hit=True)
    telemetry.cache_lookup("VPC", hit=False)
    assert value(telemetry, "infra_operator_cache_hits_total", resource_type="VPC") == 2
    assert value(telemetry, "infra_operator_cache_misses_total", resource_type="VPC") == 1


def test_counts_from_many_threads_add_up_exactly(telemetry: Telemetry) -> None:
    # Handler threads count at once (and a scrape may come in the middle): no add gets lost.
    def count() -> None:
        for _ in range(2000):
            telemetry.cache_lookup("VPC", True)

    threads = [threading.Thread(target=count) for _ in range(8)]
    for thread in threads:
        thread.start()
    sample_values(telemetry)
    for thread in threads:
        thread.join()
    assert value(telemetry, "infra_operator_cache_hits_total", resource_type="VPC") == 16000


def test_a_forgotten_resource_leaves_counts_and_timestamps(telemetry: Telemetry) -> None:
    telemetry.resources.set("VPC", "a/main", "pending", "main", created_at=1_700_000_000)
    telemetry.resources.set("VPC", "a/main", "ready", "main", created_at=1_700_000_000)
    assert value(telemetry, "infra_operator_resources_total", resource_type="VPC", status="ready") == 1
    assert value(telemetry, "infra_operator_resources_total", resource_type="VPC", status="pending") == 0
    assert (
        value(
            telemetry, "infra_operator_resource_creation_timestamp_seconds", resource_type="VPC", resource_name="main"
        )
        == 1.7e9
    )
    telemetry.resources.forget("VPC", "a/main")
    telemetry.resources.forget("VPC", "a/main")
    assert value(telemetry, "infra_operator_resources_total", resource_type="VPC", status="ready") == 0
    assert not any(name == "infra_operator_resource_creation_timestamp_seconds" for name, _ in sample_values(telemetry))


def test_generic_spans_nest_and_drop_none_attributes(traced: Traced) -> None:
    with (
        traced.telemetry.reconcile("AWSProvider", "default", "p", trigger="timer"),
        traced.telemetry.span("provider check", region="us-east-1", role_arn=None),
    ):
        pass
    parent, child = traced.span("reconcile AWSProvider"), traced.span("provider check")
    assert child.parent is not None and child.parent.span_id == parent.context.span_id
    assert dict(child.attributes) == {"region": "us-east-1"}


def test_log_records_carry_the_trace_context(traced: Traced, caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("infra_operator.test")
    caplog.handler.addFilter(traced.telemetry.log_filter())
    with caplog.at_level(logging.INFO, logger="infra_operator.test"):
        logger.info("outside")
        with traced.telemetry.reconcile("VPC", "default", "main", trigger="create") as rec:
            logger.info("inside")
    outside, inside = caplog.records
    assert (outside.trace_id, outside.span_id) == ("", "")
    context = rec.span.get_span_context()
    assert inside.trace_id == f"{context.trace_id:032x}" and inside.span_id == f"{context.span_id:016x}"


def test_inside_traced_logs_lines_after_the_reconcile_carry_its_trace(traced: Traced,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("infra_operator.test")
    caplog.handler.addFilter(traced.telemetry.log_filter())
    with caplog.at_level(logging.INFO, logger="infra_operator.test"):
        with traced.telemetry.traced_logs():
            with traced.telemetry.reconcile("VPC", "default", "main", trigger="create") as rec:
                pass
            with traced.telemetry.reconcile("VPC", "default", "other", trigger="create"):
                pass
            logger.info("the outcome of the first reconcile")
        logger.info("after the handling")
    outcome, after = caplog.records
    context = rec.span.get_span_context()
    assert (outcome.trace_id, outcome.span_id) == (f"{context.trace_id:032x}", f"{context.span_id:016x}")
    assert (after.trace_id, after.span_id) == ("", "")


def test_a_sampled_reconcile_is_a_reference_others_link_to(traced: Traced) -> None:
    with traced.telemetry.reconcile("VPC", "default", "main", trigger="create") as made_ready:
        target = made_ready.sampled_span
    assert target is not None
    with traced.telemetry.reconcile("Subnet", "default", "a", trigger="update") as dependent:
        dependent.link(target, **{"infra_operator.link": "dependency_ready"})
        dependent.link(SpanRef("not-hex", "0" * 16))  # from an object's status: ignored
    vpc, subnet = traced.span("reconcile VPC"), traced.span("reconcile Subnet")
    assert (target.trace_id, target.span_id) == (format(vpc.context.trace_id, "032x"),
                                                 format(vpc.context.span_id, "016x"))
    (link,) = subnet.links
    assert (link.context.trace_id, link.context.span_id) == (vpc.context.trace_id, vpc.context.span_id)
    assert dict(link.attributes) == {"infra_operator.link": "dependency_ready"}
    assert subnet.context.trace_id != vpc.context.trace_id


def test_an_unsampled_reconcile_gives_no_reference() -> None:
    provider = TracerProvider(sampler=ALWAYS_OFF)
    telemetry = Telemetry(metrics.NoOpMeter("test"), provider.get_tracer("test"), CollectorRegistry())
    with telemetry.reconcile("VPC", "default", "main", trigger="create") as rec:
        assert rec.sampled_span is None
    with Telemetry.noop().reconcile("VPC", "default", "main", trigger="create") as rec:
        assert rec.sampled_span is None
