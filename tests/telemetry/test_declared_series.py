"""Every series whose labels are known in advance exists from the start, at 0: for a declared
resource type, a provider's first appearance and an AWS operation's first call; and every
catalog family is exposed (HELP and TYPE) from the first scrape on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from infra_operator.sandbox.aws import MotoServer
from infra_operator.telemetry import Telemetry, catalog
from otlp_receiver import HttpReceiver

from .conftest import ec2_client, sample_values, value
from .test_otlp_export import otlp_settings

# The counters a resource type declares, with the number of series each gets.
PER_RESOURCE_TYPE = {
    catalog.RECONCILE_TOTAL.name: len(catalog.RESULTS),
    catalog.RECONCILE_ERRORS.name: len(catalog.ERROR_TYPES),
    catalog.DRIFT_DETECTED.name: len(catalog.SEVERITIES),
    catalog.DRIFT_HEALED.name: 1,
    catalog.DRIFT_HEALING_FAILURES.name: len(catalog.ERROR_TYPES),
    catalog.FINALIZER_ERRORS.name: len(catalog.ERROR_TYPES),
    catalog.WORKQUEUE_ADDS.name: 1,
    catalog.CACHE_HITS.name: 1,
    catalog.CACHE_MISSES.name: 1,
}


def series_of(telemetry: Telemetry, **labels: str) -> dict[str, list[float]]:
    """Sample values per sample name, of the series carrying all of `labels`."""
    found: dict[str, list[float]] = {}
    for (name, sample_labels), sample_value in sample_values(telemetry).items():
        if set(labels.items()) <= sample_labels:
            found.setdefault(name, []).append(sample_value)
    return found


def test_a_fresh_operator_exposes_every_catalog_family(telemetry: Telemetry) -> None:
    for openmetrics in (False, True):
        text = telemetry.render_metrics(openmetrics=openmetrics).decode()
        families = {family.name: family for family in text_string_to_metric_families(text.replace("# EOF\n", ""))}
        assert len(families) == len(catalog.CATALOG)
        for spec in catalog.CATALOG:
            family = families[spec.name.removesuffix("_total") if spec.prometheus_type == "counter" else spec.name]
            assert (family.type, family.documentation, family.samples) == (spec.prometheus_type, spec.help, [])


def test_a_declared_resource_type_has_its_known_series_at_zero(telemetry: Telemetry) -> None:
    telemetry.declare_kinds(["VPC", "Subnet"])
    for resource_type in ("VPC", "Subnet"):
        found = series_of(telemetry, resource_type=resource_type)
        assert {name: len(values) for name, values in found.items() if name in PER_RESOURCE_TYPE} == PER_RESOURCE_TYPE
        assert found[catalog.RESOURCES.name] == [0.0] * len(catalog.STATUSES)
        assert found[catalog.WORKQUEUE_DEPTH.name] == [0.0]
        assert set().union(*map(set, found.values())) == {0.0}
    # Histograms appear at their first observation: a zero there would be a fake observation.
    assert not any(name.startswith(catalog.RECONCILE_DURATION.name) for name, _ in sample_values(telemetry))


def test_the_first_event_after_declaring_counts_one_and_declaring_again_keeps_counts(telemetry: Telemetry) -> None:
    telemetry.declare_kinds(["VPC"])
    with telemetry.reconcile("VPC", "default", "main", trigger="create") as rec:
        rec.outcome("requeue", "aws_api_failed")
    with telemetry.drift_check("VPC", "default", "main") as drift:
        drift.detected("critical", ["spec.cidrBlock"])
    drift.heal_failed("drift_healing_failed")
    telemetry.declare_kinds(["VPC"])
    assert value(telemetry, catalog.RECONCILE_TOTAL.name, resource_type="VPC", result="requeue") == 1
    assert value(telemetry, catalog.RECONCILE_TOTAL.name, resource_type="VPC", result="success") == 0
    assert value(telemetry, catalog.RECONCILE_ERRORS.name, resource_type="VPC", error_type="aws_api_failed") == 1
    assert value(telemetry, catalog.DRIFT_DETECTED.name, resource_type="VPC", severity="critical") == 1
    assert value(telemetry, catalog.DRIFT_HEALING_FAILURES.name, resource_type="VPC",
                 error_type="drift_healing_failed") == 1
    assert value(telemetry, catalog.DRIFT_HEALED.name, resource_type="VPC") == 0


def test_a_provider_gets_its_rotation_count_when_it_first_appears(telemetry: Telemetry) -> None:
    assert not series_of(telemetry, provider_name="default")
    telemetry.providers.set_ready("default", "us-east-1", False)
    assert series_of(telemetry, provider_name="default")[catalog.PROVIDER_CREDENTIAL_ROTATIONS.name] == [0.0]


def test_an_operation_has_its_throttle_and_error_result_series_from_its_first_call(
    telemetry: Telemetry, aws: MotoServer
) -> None:
    ec2_client(telemetry, aws.endpoint).describe_vpcs()
    labels = {"service": "EC2", "operation": "DescribeVpcs"}
    assert value(telemetry, catalog.AWS_API_THROTTLES.name, **labels) == 0
    assert (catalog.AWS_API_THROTTLES.name, frozenset(labels.items())) in sample_values(telemetry)
    assert (catalog.AWS_API_CALLS.name, frozenset({**labels, "result": "error"}.items())) in sample_values(telemetry)
    assert value(telemetry, catalog.AWS_API_CALLS.name, result="success", **labels) == 1
    # The error code is not known before an error: no series for it.
    assert catalog.AWS_API_ERRORS.name not in series_of(telemetry, **labels)


def test_declared_series_arrive_over_otlp_at_zero(make_telemetry: Callable[..., Any]) -> None:
    with HttpReceiver() as receiver:
        telemetry = make_telemetry(otlp_settings(receiver.endpoint, "http/protobuf"))
        telemetry.declare_kinds(["VPC"])
        assert telemetry.force_flush()
        receiver.wait_for(lambda received: received.metrics(catalog.FINALIZER_ERRORS.name))
        points = {metric.name: list(metric.sum.data_points) for metric in receiver.metrics() if metric.HasField("sum")}
        assert {name: len(points[name]) for name in PER_RESOURCE_TYPE} == PER_RESOURCE_TYPE
        assert {point.as_double or point.as_int for name in PER_RESOURCE_TYPE for point in points[name]} == {0}
        telemetry.shutdown()


def test_the_leader_election_gauge_follows_the_term_and_is_absent_without_election(telemetry: Telemetry) -> None:
    assert series_of(telemetry).get(catalog.LEADER_ELECTION_STATUS.name) is None
    telemetry.set_leading("infra-operator/infra-operator", False)
    assert series_of(telemetry, lease="infra-operator/infra-operator")[catalog.LEADER_ELECTION_STATUS.name] == [0.0]
    telemetry.set_leading("infra-operator/infra-operator", True)
    assert series_of(telemetry, lease="infra-operator/infra-operator")[catalog.LEADER_ELECTION_STATUS.name] == [1.0]
