"""The metric catalog: every metric infra-operator exposes, as plain data.

This module is the single source of truth for metric names, instrument kinds, units, label
names, histogram buckets, help texts and the allowed label values. The Views, the /metrics
exposition, the docs, the dashboards and the tests all read it; nothing else declares a metric.

Names, label names and buckets are those of the original Go operator, so existing dashboards,
alerts and PromQL keep working.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from .. import aws_codes

PREFIX = "infra_operator_"

# Written as in Go so that the exposition's `le` strings are identical ("1", not "1.0").
BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class Instrument(enum.Enum):
    """How a metric is recorded; `prometheus_type` is its type in the exposition."""

    COUNTER = "counter"
    HISTOGRAM = "histogram"
    # Computed from recorded state at collection time (never moved by +1/-1).
    OBSERVABLE_GAUGE = "observable_gauge"

    @property
    def prometheus_type(self) -> str:
        return "gauge" if self is Instrument.OBSERVABLE_GAUGE else self.value


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """One metric. `unit` is the OTel (UCUM) unit; gauges and counters of plain counts have
    none, because a Collector turns unit `1` into a `_ratio` suffix."""

    name: str
    instrument: Instrument
    unit: str
    labels: tuple[str, ...]
    help: str
    # The most series the SDK keeps for this metric (a View's cardinality limit); None: OTel's
    # default of 2000. Beyond it, new series fold into one `otel_metric_overflow="true"` series.
    series_limit: int | None = None
    # Labels whose every value is known in advance (label -> its values): a counter's series
    # for them are exported at 0 as soon as its other labels' values are (see `known_series`).
    known_values: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False, compare=False)

    @property
    def buckets(self) -> tuple[float, ...] | None:
        return BUCKETS if self.instrument is Instrument.HISTOGRAM else None

    @property
    def prometheus_type(self) -> str:
        return self.instrument.prometheus_type

    def known_series(self, given: Mapping[str, str]) -> list[tuple[str, ...]]:
        """The label value tuples (in label order) of every series of this counter that `given`
        (label -> value) determines with `known_values`: all of them, or none when `given` is
        not a label of it or a label left over has values not known in advance."""
        if self.instrument is not Instrument.COUNTER or not given.keys() <= set(self.labels):
            return []
        choices = []
        for label in self.labels:
            if label in given:
                choices.append((given[label],))
            elif label in self.known_values:
                choices.append(self.known_values[label])
            else:
                return []
        return list(itertools.product(*choices))


# Label value sets used by the original dashboards and alerts.
RESULTS: frozenset[str] = frozenset({"success", "error", "requeue"})
AWS_CALL_RESULTS: frozenset[str] = frozenset({"success", "error"})
STATUSES: tuple[str, ...] = ("ready", "notready", "pending", "deleting", "error")
SEVERITIES: frozenset[str] = frozenset({"critical", "warning", "info"})
ERROR_TYPES: frozenset[str] = frozenset(
    {
        "get_failed",
        "sync_failed",
        "status_update_failed",
        "finalizer_failed",
        "provider_failed",
        "validation_failed",
        "aws_api_failed",
        "drift_healing_failed",
    }
)
# botocore serviceId -> the `service` label value. Unlisted services fall back to their
# serviceId without spaces (see `service_label`), which is still a bounded set.
SERVICES: MappingProxyType[str, str] = MappingProxyType(
    {
        "EC2": "EC2",
        "S3": "S3",
        "RDS": "RDS",
        "Elastic Load Balancing": "ELB",
        "Elastic Load Balancing v2": "ELBv2",
        "IAM": "IAM",
        "Secrets Manager": "SecretsManager",
        "KMS": "KMS",
        "Lambda": "Lambda",
        "API Gateway": "APIGateway",
        "CloudFront": "CloudFront",
        "Route 53": "Route53",
        "ACM": "ACM",
        "DynamoDB": "DynamoDB",
        "SQS": "SQS",
        "SNS": "SNS",
        "ECR": "ECR",
        "ECS": "ECS",
        "EKS": "EKS",
        "ElastiCache": "ElastiCache",
        "STS": "STS",
    }
)
# The throttling error codes (shared with the operator's retry logic, listed in one place).
THROTTLING_CODES: frozenset[str] = aws_codes.THROTTLING_CODES
# error_code of an AWS call that got no AWS error code at all.
UNKNOWN_ERROR_CODE = "Unknown"
# error_code of an AWS call that failed in transport (connection refused or reset, connect or
# read timeout, proxy or TLS failure): no response to take a code from, and the exception's
# own text would make the label unbounded.
CONNECTION_ERROR_CODE = "ConnectionError"


def service_label(service_id: str) -> str:
    """The `service` label for a botocore serviceId ("Elastic Load Balancing v2" -> "ELBv2")."""
    return SERVICES.get(service_id) or service_id.replace(" ", "").replace("-", "")


def _counter(
    name: str, labels: tuple[str, ...], help_text: str, known_values: Mapping[str, frozenset[str]] | None = None
) -> MetricSpec:
    known = {label: tuple(sorted(values)) for label, values in (known_values or {}).items()}
    return MetricSpec(PREFIX + name, Instrument.COUNTER, "", labels, help_text, known_values=MappingProxyType(known))


def _seconds_histogram(name: str, labels: tuple[str, ...], help_text: str) -> MetricSpec:
    return MetricSpec(PREFIX + name, Instrument.HISTOGRAM, "s", labels, help_text)


def _gauge(
    name: str, unit: str, labels: tuple[str, ...], help_text: str, series_limit: int | None = None
) -> MetricSpec:
    return MetricSpec(PREFIX + name, Instrument.OBSERVABLE_GAUGE, unit, labels, help_text, series_limit)


RT = "resource_type"

RECONCILE_TOTAL = _counter(
    "reconcile_total", (RT, "result"), "Reconciliations finished, by resource type and result.", {"result": RESULTS}
)
RECONCILE_DURATION = _seconds_histogram(
    "reconcile_duration_seconds", (RT,), "Time taken by one reconciliation, in seconds."
)
RECONCILE_ERRORS = _counter(
    "reconcile_errors_total",
    (RT, "error_type"),
    "Reconciliations that hit an error, by error type.",
    {"error_type": ERROR_TYPES},
)
RESOURCES = _gauge(
    "resources_total", "", (RT, "status"), "Managed resources currently known, by resource type and status."
)
# OTel Python keeps every attribute set an observable instrument ever reported (about 1.3 KB
# each, per reader) and counts them all against the limit: this bounds the distinct
# (resource_type, resource_name) pairs seen since the operator started, live or gone.
RESOURCE_SERIES_LIMIT = 20_000
RESOURCE_CREATION_TIMESTAMP = _gauge(
    "resource_creation_timestamp_seconds",
    "s",
    (RT, "resource_name"),
    "Creation time of each live managed resource, as Unix epoch seconds.",
    series_limit=RESOURCE_SERIES_LIMIT,
)
AWS_API_CALLS = _counter(
    "aws_api_calls_total",
    ("service", "operation", "result"),
    "AWS API calls made, one per logical call (retries included), by result.",
    {"result": AWS_CALL_RESULTS},
)
AWS_API_CALL_DURATION = _seconds_histogram(
    "aws_api_call_duration_seconds",
    ("service", "operation"),
    "Duration of one logical AWS API call including its retries, in seconds.",
)
AWS_API_ERRORS = _counter(
    "aws_api_errors_total",
    ("service", "operation", "error_code"),
    "AWS API calls that failed, by the AWS error code of the final attempt.",
)
AWS_API_THROTTLES = _counter(
    "aws_api_throttles_total",
    ("service", "operation"),
    "AWS API attempts answered with a throttling error (each retry counts).",
)
DRIFT_DETECTED = _counter(
    "drift_detected_total",
    (RT, "severity"),
    "Drift found between the desired spec and AWS, by severity.",
    {"severity": SEVERITIES},
)
DRIFT_HEALED = _counter("drift_healed_total", (RT,), "Drifts healed by bringing AWS back to the spec.")
DRIFT_HEALING_FAILURES = _counter(
    "drift_healing_failures_total", (RT, "error_type"), "Attempts to heal a drift that failed.", {"error_type": ERROR_TYPES}
)
DRIFT_DETECTION_DURATION = _seconds_histogram(
    "drift_detection_duration_seconds", (RT,), "Time taken by one drift check, in seconds."
)
FINALIZER_DURATION = _seconds_histogram(
    "finalizer_duration_seconds", (RT,), "Time taken by one finalizer (deletion) run, in seconds."
)
FINALIZER_ERRORS = _counter(
    "finalizer_errors_total", (RT, "error_type"), "Finalizer runs that failed, by error type.", {"error_type": ERROR_TYPES}
)
PROVIDER_READY = _gauge(
    "provider_ready", "", ("provider_name", "region"), "Whether an AWSProvider can reach AWS (1) or not (0)."
)
PROVIDER_CREDENTIAL_ROTATIONS = _counter(
    "provider_credential_rotations_total", ("provider_name",), "Credential rotations seen by an AWSProvider."
)
WORKQUEUE_DEPTH = _gauge(
    "workqueue_depth", "", (RT,), "Objects waiting for or undergoing processing, by resource type."
)
WORKQUEUE_ADDS = _counter("workqueue_adds_total", (RT,), "Objects queued for processing, by resource type.")
CACHE_HITS = _counter("cache_hits_total", (RT,), "Lookups answered from the operator's cache.")
CACHE_MISSES = _counter("cache_misses_total", (RT,), "Lookups the operator's cache could not answer.")

CATALOG: tuple[MetricSpec, ...] = (
    RECONCILE_TOTAL,
    RECONCILE_DURATION,
    RECONCILE_ERRORS,
    RESOURCES,
    RESOURCE_CREATION_TIMESTAMP,
    AWS_API_CALLS,
    AWS_API_CALL_DURATION,
    AWS_API_ERRORS,
    AWS_API_THROTTLES,
    DRIFT_DETECTED,
    DRIFT_HEALED,
    DRIFT_HEALING_FAILURES,
    DRIFT_DETECTION_DURATION,
    FINALIZER_DURATION,
    FINALIZER_ERRORS,
    PROVIDER_READY,
    PROVIDER_CREDENTIAL_ROTATIONS,
    WORKQUEUE_DEPTH,
    WORKQUEUE_ADDS,
    CACHE_HITS,
    CACHE_MISSES,
)

# The operator's own metrics, beyond the original's catalog above (whose names, labels and
# buckets are a contract with existing dashboards and stay exactly as they are).
LEADER_ELECTION_STATUS = _gauge(
    "leader_election_status",
    "",
    ("lease",),
    "Whether this replica holds the leader-election Lease and reconciles (1) or stands by (0); "
    "absent when leader election is off.",
)
ADDITIONS: tuple[MetricSpec, ...] = (LEADER_ELECTION_STATUS,)
METRICS: tuple[MetricSpec, ...] = CATALOG + ADDITIONS
BY_NAME: MappingProxyType[str, MetricSpec] = MappingProxyType({spec.name: spec for spec in METRICS})
