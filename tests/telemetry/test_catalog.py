"""The catalog is the contract: names, kinds, labels and buckets of the original operator."""

from __future__ import annotations

import re

from infra_operator.telemetry import catalog

DESIGN_TABLE = {
    "infra_operator_reconcile_total": ("counter", ("resource_type", "result")),
    "infra_operator_reconcile_duration_seconds": ("histogram", ("resource_type",)),
    "infra_operator_reconcile_errors_total": ("counter", ("resource_type", "error_type")),
    "infra_operator_resources_total": ("gauge", ("resource_type", "status")),
    "infra_operator_resource_creation_timestamp_seconds": ("gauge", ("resource_type", "resource_name")),
    "infra_operator_aws_api_calls_total": ("counter", ("service", "operation", "result")),
    "infra_operator_aws_api_call_duration_seconds": ("histogram", ("service", "operation")),
    "infra_operator_aws_api_errors_total": ("counter", ("service", "operation", "error_code")),
    "infra_operator_aws_api_throttles_total": ("counter", ("service", "operation")),
    "infra_operator_drift_detected_total": ("counter", ("resource_type", "severity")),
    "infra_operator_drift_healed_total": ("counter", ("resource_type",)),
    "infra_operator_drift_healing_failures_total": ("counter", ("resource_type", "error_type")),
    "infra_operator_drift_detection_duration_seconds": ("histogram", ("resource_type",)),
    "infra_operator_finalizer_duration_seconds": ("histogram", ("resource_type",)),
    "infra_operator_finalizer_errors_total": ("counter", ("resource_type", "error_type")),
    "infra_operator_provider_ready": ("gauge", ("provider_name", "region")),
    "infra_operator_provider_credential_rotations_total": ("counter", ("provider_name",)),
    "infra_operator_workqueue_depth": ("gauge", ("resource_type",)),
    "infra_operator_workqueue_adds_total": ("counter", ("resource_type",)),
    "infra_operator_cache_hits_total": ("counter", ("resource_type",)),
    "infra_operator_cache_misses_total": ("counter", ("resource_type",)),
}


def test_the_catalog_is_the_design_table() -> None:
    assert {spec.name: (spec.prometheus_type, spec.labels) for spec in catalog.CATALOG} == DESIGN_TABLE
    assert len(catalog.CATALOG) == 21
    assert len(catalog.BY_NAME) == len(catalog.METRICS) == len(catalog.CATALOG) + len(catalog.ADDITIONS)


def test_histograms_share_the_go_buckets_and_seconds() -> None:
    for spec in catalog.CATALOG:
        if spec.prometheus_type == "histogram":
            assert spec.buckets == catalog.BUCKETS and spec.unit == "s" and spec.name.endswith("_seconds")
        else:
            assert spec.buckets is None
    # Written as Go writes them: `le="1"`, not `le="1.0"`.
    assert [f"{bound}" for bound in catalog.BUCKETS] == [
        "0.005",
        "0.01",
        "0.025",
        "0.05",
        "0.1",
        "0.25",
        "0.5",
        "1",
        "2.5",
        "5",
        "10",
    ]


def test_units_never_add_a_suffix_downstream() -> None:
    for spec in catalog.CATALOG:
        assert spec.unit != "1", spec.name  # a Collector would append `_ratio`
        assert spec.unit in ("", "s"), spec.name
        if spec.unit == "s":
            assert spec.name.endswith("_seconds")


def test_help_texts_are_ours_and_single_line() -> None:
    for spec in catalog.CATALOG:
        assert spec.help and "\n" not in spec.help and spec.help.endswith(".")
        assert re.fullmatch(r"[a-z_]+", spec.name)


def test_label_value_sets() -> None:
    assert catalog.RESULTS == {"success", "error", "requeue"}
    assert set(catalog.STATUSES) == {"ready", "notready", "pending", "deleting", "error"}
    assert catalog.SEVERITIES == {"critical", "warning", "info"}
    assert len(catalog.ERROR_TYPES) == 8
    assert catalog.THROTTLING_CODES == {
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestThrottled",
        "SlowDown",
    }


def test_service_labels_map_botocore_service_ids() -> None:
    assert catalog.service_label("EC2") == "EC2"
    assert catalog.service_label("Elastic Load Balancing") == "ELB"
    assert catalog.service_label("Elastic Load Balancing v2") == "ELBv2"
    assert catalog.service_label("API Gateway") == "APIGateway"
    assert catalog.service_label("Route 53") == "Route53"
    assert catalog.service_label("Secrets Manager") == "SecretsManager"
    # Not in the catalog: still bounded (AWS's own service ids), without spaces.
    assert catalog.service_label("Auto Scaling") == "AutoScaling"
    assert len(set(catalog.SERVICES.values())) == 21
