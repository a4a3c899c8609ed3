"""PromQL builders over the metric catalog: every expression the dashboard uses comes from here.

Each builder takes a `MetricSpec` of `infra_operator.telemetry.catalog` and checks that the
function fits its Prometheus type (rate over counters, quantiles over histograms, aggregation of
gauges) and that every grouping label exists on it, so a retyped metric or a dropped label breaks
generation instead of leaving an empty panel. The dashboard filters follow the catalog's labels:
a metric carrying `resource_type` or `service` is filtered by the template variable of that name.
"""

from __future__ import annotations

import functools
import pathlib
from collections.abc import Sequence

import yaml

from infra_operator.telemetry.catalog import BY_NAME, MetricSpec

PROMETHEUS_RULE = pathlib.Path(__file__).resolve().parent.parent / "deploy" / "prometheusrule.yaml"
SLO_OBJECTIVE = "infra_operator:reconcile_slo:objective"

# Grafana picks a window of at least four scrape intervals for this variable.
RATE_WINDOW = "$__rate_interval"
# Labels that have a dashboard template variable of the same name (multi-value, regex-matched).
FILTER_LABELS = ("resource_type", "service")


def _require(spec: MetricSpec, prometheus_type: str) -> None:
    if BY_NAME.get(spec.name) != spec:
        raise KeyError(f"{spec.name} is not in the metric catalog")
    if spec.prometheus_type != prometheus_type:
        raise ValueError(f"{spec.name} is a {spec.prometheus_type}, not a {prometheus_type}")


def _grouping(spec: MetricSpec, by: Sequence[str], extra: Sequence[str] = (),
              aggregation: str = "sum") -> str:
    unknown = [label for label in by if label not in spec.labels]
    if unknown:
        raise ValueError(f"{spec.name} has no label(s) {unknown}")
    labels = [*extra, *by]
    return f"{aggregation} by ({', '.join(labels)}) " if labels else f"{aggregation} "


def selector(spec: MetricSpec, suffix: str = "") -> str:
    """The series selector of `spec`, filtered by the dashboard variables its labels allow."""
    matchers = [f'{label}=~"${label}"' for label in FILTER_LABELS if label in spec.labels]
    braces = "{" + ", ".join(matchers) + "}" if matchers else ""
    return f"{spec.name}{suffix}{braces}"


def rate(spec: MetricSpec, by: Sequence[str] = ()) -> str:
    """Per-second rate of a counter, summed by `by`."""
    _require(spec, "counter")
    return f"{_grouping(spec, by)}(rate({selector(spec)}[{RATE_WINDOW}]))"


def increase(spec: MetricSpec, window: str, by: Sequence[str] = ()) -> str:
    """Increase of a counter over `window`, summed by `by`."""
    _require(spec, "counter")
    return f"{_grouping(spec, by)}(increase({selector(spec)}[{window}]))"


def quantile(q: float, spec: MetricSpec, by: Sequence[str] = ()) -> str:
    """The q-quantile of a histogram over the rate window, per `by`."""
    _require(spec, "histogram")
    buckets = f"rate({selector(spec, '_bucket')}[{RATE_WINDOW}])"
    return f"histogram_quantile({q}, {_grouping(spec, by, extra=('le',))}({buckets}))"


def gauge(spec: MetricSpec, by: Sequence[str] = (), aggregation: str = "sum") -> str:
    """A gauge aggregated by `by` (sum for counts, max/min for per-object values)."""
    _require(spec, "gauge")
    return f"{_grouping(spec, by, aggregation=aggregation)}({selector(spec)})"


@functools.cache
def recorded_names() -> frozenset[str]:
    """The series the PrometheusRule's recording rules write."""
    (rule,) = [document for document in yaml.safe_load_all(PROMETHEUS_RULE.read_text()) if document]
    return frozenset(r["record"] for group in rule["spec"]["groups"] for r in group["rules"] if "record" in r)


def _recorded(name: str) -> str:
    if name not in recorded_names():
        raise KeyError(f"{name} is not recorded by {PROMETHEUS_RULE.name}")
    return name


def slo_burn_rate(sli: str, window: str) -> str:
    """How fast a kind burns its SLO error budget over `window` (1: exactly as the objective
    allows): the recorded bad share of `sli` ("failed" or "slow") over the budget, worst pod
    group per kind."""
    share = _recorded(f"resource_type:infra_operator_reconcile_{sli}:ratio_rate{window}")
    return (f'max by (resource_type) ({share}{{resource_type=~"$resource_type"}})'
            f" / scalar(1 - {_recorded(SLO_OBJECTIVE)})")


def slo_budget_left(sli: str, window: str) -> str:
    """The share of the error budget not spent over `window` (negative: overspent)."""
    return f"1 - {slo_burn_rate(sli, window)}"


def label_values(spec: MetricSpec, label: str) -> str:
    """A Grafana variable query listing the values of `label` on the metric."""
    if label not in spec.labels:
        raise ValueError(f"{spec.name} has no label {label}")
    return f"label_values({spec.name}, {label})"
