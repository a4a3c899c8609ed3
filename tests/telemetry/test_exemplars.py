"""Exemplars: the four duration histograms link a bucket to the trace of a recent sampled
observation, in the OpenMetrics exposition and over OTLP; text 0.0.4 has none."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from prometheus_client.openmetrics.parser import text_string_to_metric_families

from infra_operator.sandbox.aws import MotoServer
from infra_operator.telemetry import RecentSpans, Telemetry, catalog
from otlp_receiver import HttpReceiver

from .conftest import ec2_client
from .test_otlp_export import otlp_settings

HISTOGRAMS = [spec.name for spec in catalog.CATALOG if spec.instrument is catalog.Instrument.HISTOGRAM]
# Counters `observe_everything` adds to inside a sampled span.
COUNTED = [catalog.RECONCILE_TOTAL.name, catalog.AWS_API_CALLS.name]


def observe_everything(telemetry: Telemetry, aws: MotoServer) -> None:
    """One reconcile with an AWS call and a drift check inside, and one finalizer run."""
    ec2 = ec2_client(telemetry, aws.endpoint)
    with telemetry.reconcile("VPC", "default", "main", trigger="create"):
        ec2.describe_vpcs()
        with telemetry.drift_check("VPC", "default", "main"):
            pass
    with telemetry.finalizer("VPC", "default", "main"):
        pass


def exemplars(telemetry: Telemetry) -> dict[str, list[tuple[dict[str, str], Any]]]:
    """Per histogram: (bucket labels, exemplar) for every bucket of the OpenMetrics exposition
    carrying one."""
    found: dict[str, list[tuple[dict[str, str], Any]]] = {}
    for family in text_string_to_metric_families(telemetry.render_metrics(openmetrics=True).decode()):
        for sample in family.samples:
            if sample.exemplar is not None:
                found.setdefault(family.name, []).append((sample.labels, sample.exemplar))
    return found


def test_the_duration_histograms_carry_the_trace_of_their_observation(
    make_telemetry: Callable[..., Telemetry], aws: MotoServer
) -> None:
    recent = RecentSpans()
    telemetry = make_telemetry(extra_span_processors=[recent])
    observe_everything(telemetry, aws)
    spans = {span.name: span for span in recent.spans()}
    expected_span = {
        catalog.RECONCILE_DURATION.name: spans["reconcile VPC"],
        catalog.DRIFT_DETECTION_DURATION.name: spans["drift VPC"],
        catalog.AWS_API_CALL_DURATION.name: spans["EC2.DescribeVpcs"],
        catalog.FINALIZER_DURATION.name: spans["finalize VPC"],
    }
    found = exemplars(telemetry)
    assert set(found) == set(HISTOGRAMS)
    for name, [(labels, exemplar)] in found.items():
        span = expected_span[name]
        assert exemplar.labels == {"trace_id": span.trace_id, "span_id": span.span_id}
        # The observed duration, timed inside its span.
        assert 0 < exemplar.value <= span.duration
        # On the bucket its value belongs to: the first whose bound it does not exceed.
        bounds = [*catalog.BUCKETS, float("inf")]
        assert float(labels["le"]) == next(bound for bound in bounds if exemplar.value <= bound)
        assert span.start <= float(exemplar.timestamp) <= time.time()
    # The reconcile, its drift check and its AWS call share one trace; the text format has none.
    assert len({spans[name].trace_id for name in ("reconcile VPC", "drift VPC", "EC2.DescribeVpcs")}) == 1
    assert b"trace_id" not in telemetry.render_metrics()


def test_an_exemplar_stays_until_a_newer_observation_of_its_bucket_replaces_it(telemetry: Telemetry) -> None:
    with telemetry.reconcile("VPC", "default", "a", trigger="create") as first:
        pass
    before = exemplars(telemetry)[catalog.RECONCILE_DURATION.name]
    assert exemplars(telemetry)[catalog.RECONCILE_DURATION.name] == before
    with telemetry.reconcile("VPC", "default", "b", trigger="create") as second:
        pass
    [(_, exemplar)] = exemplars(telemetry)[catalog.RECONCILE_DURATION.name]
    assert exemplar.labels["trace_id"] == format(second.span.get_span_context().trace_id, "032x")
    assert exemplar.labels["trace_id"] != format(first.span.get_span_context().trace_id, "032x")


def test_unsampled_observations_carry_no_exemplar(make_telemetry: Callable[..., Telemetry]) -> None:
    telemetry = make_telemetry(sampler="always_off")
    with telemetry.reconcile("VPC", "default", "a", trigger="create"):
        pass
    assert exemplars(telemetry) == {}


def test_exemplars_arrive_over_otlp(make_telemetry: Callable[..., Telemetry], aws: MotoServer) -> None:
    with HttpReceiver() as receiver:
        recent = RecentSpans()
        telemetry = make_telemetry(otlp_settings(receiver.endpoint, "http/protobuf"), extra_span_processors=[recent])
        observe_everything(telemetry, aws)
        assert telemetry.force_flush()
        receiver.wait_for(lambda received: all(received.metrics(name) for name in [*HISTOGRAMS, *COUNTED]))
        trace_ids = {span.trace_id for span in recent.spans()}
        for name in HISTOGRAMS:
            points = [point for metric in receiver.metrics(name) for point in metric.histogram.data_points]
            carried = {exemplar.trace_id.hex() for point in points for exemplar in point.exemplars}
            assert carried and carried <= trace_ids, name
        # Counters promise none (sampling one on every add is a cost per record), sampled spans or not.
        for name in COUNTED:
            points = [point for metric in receiver.metrics(name) for point in metric.sum.data_points]
            assert points and not [exemplar for point in points for exemplar in point.exemplars], name
        telemetry.shutdown()
