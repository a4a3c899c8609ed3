"""Generates the infra-operator Grafana dashboard with grafana-foundation-sdk.

    python -m dashboards.generate            # rewrite dashboards/infra-operator.json
    python -m dashboards.generate --check    # exit 1 when the committed JSON is stale

Rows follow the order an on-call engineer reads them: is anything broken (overview), how much
error budget is left (SLOs), is the operator keeping up (reconciliation), is AWS the cause (AWS API), is reality drifting (drift),
are deletions stuck (finalizers and resources), and the supporting machinery (provider, cache).
Every expression comes from `dashboards.promql`, which checks it against the metric catalog.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
from collections.abc import Sequence
from typing import NamedTuple

from grafana_foundation_sdk.builders import bargauge, common as common_builder, dashboard, gauge
from grafana_foundation_sdk.builders import piechart, prometheus, stat, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models.piechart import PieChartType
from grafana_foundation_sdk.models.dashboard import (
    DashboardCursorSync,
    DashboardLinkType,
    DataSourceRef,
    Threshold,
    ThresholdsMode,
    ValueMap,
    ValueMappingResult,
    VariableRefresh,
    VariableSort,
)

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from dashboards import promql  # noqa: E402
from infra_operator.telemetry import catalog as m  # noqa: E402

OUTPUT = pathlib.Path(__file__).with_name("infra-operator.json")
UID = "infra-operator"
DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")
SERVICE_NAME = "infra-operator"
# The latency panels link to the operator's traces of the panel's time range in the Jaeger data
# source the `jaeger` variable picks (Grafana's Explore, Jaeger search by service).
TRACES_LINK = (
    dashboard.DashboardLink("Traces in Jaeger")
    .type(DashboardLinkType.LINK)
    .icon("external link")
    .tooltip("The operator's traces in this time range; exemplar dots open their own trace")
    .url('/explore?schemaVersion=1&panes={"traces":{"datasource":"${jaeger}","queries":[{"refId":"A",'
         '"datasource":{"type":"jaeger","uid":"${jaeger}"},"queryType":"search","service":"' + SERVICE_NAME + '"}],'
         '"range":{"from":"${__from}","to":"${__to}"}}}')
)
LEGEND_CALCS = ["mean", "max", "lastNotNull"]
# The SDK writes the interval variable's settings on every variable; Grafana's schema has them
# only on interval variables.
INTERVAL_VARIABLE_KEYS = ("auto", "auto_count", "auto_min")
RT = "resource_type"


class Query(NamedTuple):
    expr: str
    legend: str
    # Ask Prometheus for the series' exemplars (trace ids of recent observations) too.
    exemplar: bool = False


def _legend(by: Sequence[str], prefix: str = "") -> str:
    return " ".join([prefix, *(f"{{{{{label}}}}}" for label in by)]).strip()


def _rate(spec, *by: str, prefix: str = "") -> Query:
    return Query(promql.rate(spec, by), _legend(by, prefix))


def _quantile(q: float, spec, *by: str, prefix: str = "") -> Query:
    """A latency quantile, shown with the exemplars of the histogram: each dot is one recent
    observation, and its trace_id opens the trace (the Prometheus data source's exemplar link,
    docs/tracing.md)."""
    return Query(promql.quantile(q, spec, by), _legend(by, prefix), exemplar=True)


def _gauge(spec, *by: str, aggregation: str = "sum") -> Query:
    return Query(promql.gauge(spec, by, aggregation), _legend(by))


def _increase(spec, window: str, *by: str) -> Query:
    return Query(promql.increase(spec, window, by), _legend(by))


def _error_ratio() -> Query:
    # Both counters exist per kind from the operator's start (at 0), so the ratio is 0, not
    # "No data", for a kind that never failed.
    reconciles = promql.rate(m.RECONCILE_TOTAL, (RT,))
    errors = promql.rate(m.RECONCILE_ERRORS, (RT,))
    return Query(f"{errors} / {reconciles}", _legend((RT,)))


def _cache_hit_ratio() -> Query:
    hits = promql.rate(m.CACHE_HITS, (RT,))
    misses = promql.rate(m.CACHE_MISSES, (RT,))
    return Query(f"{hits} / ({hits} + {misses})", _legend((RT,)))


def _resource_age() -> Query:
    created = _gauge(m.RESOURCE_CREATION_TIMESTAMP, RT, "resource_name", aggregation="max")
    return Query(f"time() - {created.expr}", "{{resource_type}}/{{resource_name}}")


def _thresholds(base: str, *steps: tuple[float, str]) -> dashboard.ThresholdsConfig:
    return (
        dashboard.ThresholdsConfig()
        .mode(ThresholdsMode.ABSOLUTE)
        .steps([Threshold(value=None, color=base), *(Threshold(value=v, color=c) for v, c in steps)])
    )


# The top finite histogram bucket is 10 s, so a quantile never exceeds 10: red sits at the top.
SLOW_SECONDS = _thresholds("green", (5, "yellow"), (10, "red"))
SLOW_AWS_SECONDS = _thresholds("green", (1, "yellow"), (2.5, "red"))
ERROR_RATIO = _thresholds("green", (0.05, "yellow"), (0.1, "red"))
ANY_IS_WORTH_A_LOOK = _thresholds("green", (1, "yellow"))
QUEUE_BACKLOG = _thresholds("green", (10, "yellow"), (50, "red"))
HIT_RATIO = _thresholds("red", (0.5, "yellow"), (0.8, "green"))
NEUTRAL = _thresholds("blue")
BUDGET_LEFT = _thresholds("red", (0, "yellow"), (0.5, "green"))
# The burn rates of the alerts: 1x (ticket over 3d), 6x and 14.4x (page).
BURN_RATE = _thresholds("green", (1, "yellow"), (6, "orange"), (14.4, "red"))


def _panel(builder, title: str, description: str, unit: str, queries: Sequence[Query],
           thresholds: dashboard.ThresholdsConfig, width: int, height: int = 8):
    builder.title(title).description(description).datasource(DATASOURCE)
    builder.unit(unit).thresholds(thresholds).span(width).height(height)
    for ref_id, query in zip("ABCDEFGH", queries, strict=False):
        target = prometheus.Dataquery().expr(query.expr).legend_format(query.legend)
        if query.exemplar:
            target.exemplar(True)
        builder.with_target(target.ref_id(ref_id).datasource(DATASOURCE))
    if any(query.exemplar for query in queries):
        builder.links([TRACES_LINK])
    return builder


def _timeseries(title, description, unit, queries, thresholds=None, width=12):
    """A time series with a table legend; thresholds, when given, are drawn as dashed lines."""
    panel = _panel(timeseries.Panel(), title, description, unit, queries, thresholds or NEUTRAL, width)
    panel.legend(
        common_builder.VizLegendOptions()
        .display_mode(common.LegendDisplayMode.TABLE)
        .placement(common.LegendPlacement.BOTTOM)
        .show_legend(True)
        .calcs(LEGEND_CALCS)
    )
    panel.fill_opacity(10).line_width(1).min(0)
    if thresholds is not None:
        dashed = common_builder.GraphThresholdsStyleConfig().mode(common.GraphThresholdsStyleMode.DASHED)
        panel.thresholds_style(dashed)
    return panel


def _last_value():
    return common_builder.ReduceDataOptions().calcs(["lastNotNull"]).values(False)


def _count_stat(title, description, queries, thresholds, width):
    """A stat of whole events: increase() extrapolates, so round to whole numbers."""
    panel = _panel(stat.Panel(), title, description, "short", queries, thresholds, width)
    return (
        panel.decimals(0)
        .reduce_options(_last_value())
        .color_mode(common.BigValueColorMode.BACKGROUND)
        .graph_mode(common.BigValueGraphMode.AREA)
    )


def _provider_status():
    ready = ValueMap(options={"0": ValueMappingResult(text="Not ready", color="red"),
                              "1": ValueMappingResult(text="Ready", color="green")})
    return (
        _panel(gauge.Panel(), "Provider Status",
               "1 when the AWSProvider's credentials were verified (STS GetCallerIdentity), 0 when not.",
               "none", [_gauge(m.PROVIDER_READY, "provider_name", "region", aggregation="min")],
               _thresholds("red", (1, "green")), width=6)
        .min(0).max(1).reduce_options(_last_value()).mappings([ready])
    )


def _rows():
    """(row title, panels) in reading order."""
    overview = [
        _provider_status(),
        _panel(piechart.Panel(), "Resources by Status",
               "Managed resources per status (ready, notready, pending, deleting, error).",
               "short", [_gauge(m.RESOURCES, "status")], NEUTRAL, width=6)
        .reduce_options(_last_value()).pie_type(PieChartType.DONUT),
        _timeseries("Reconciliation Error Rate",
                    "Share of reconciles that failed, per resource type; the alert fires above 10 %.",
                    "percentunit", [_error_ratio()], ERROR_RATIO, width=6),
        _count_stat("Drift Detected (last 10m)",
                    "Drift found between spec and AWS in the last 10 minutes, per severity.",
                    [_increase(m.DRIFT_DETECTED, "10m", "severity")], ANY_IS_WORTH_A_LOOK, width=6),
    ]
    reconciliation = [
        _timeseries("Reconciliation Rate by Resource Type", "Reconciles per second, per kind and outcome.",
                    "ops", [_rate(m.RECONCILE_TOTAL, RT, "result")], width=8),
        _timeseries("Reconciliation Duration (p95 & p50)",
                    "Reconcile latency; the top finite bucket is 10 s, so 10 means 10 s or more.", "s",
                    [_quantile(0.95, m.RECONCILE_DURATION, RT, prefix="p95"),
                     _quantile(0.5, m.RECONCILE_DURATION, RT, prefix="p50")],
                    SLOW_SECONDS, width=8),
        _timeseries("Reconciliation Errors by Type", "Failed reconciles per second, by where they failed.",
                    "ops", [_rate(m.RECONCILE_ERRORS, RT, "error_type")], width=8),
        _timeseries("Workqueue Depth", "Objects waiting for a reconcile, per kind.", "short",
                    [_gauge(m.WORKQUEUE_DEPTH, RT)], QUEUE_BACKLOG),
        _timeseries("Workqueue Adds", "Objects queued for a reconcile per second, per kind.", "ops",
                    [_rate(m.WORKQUEUE_ADDS, RT)]),
    ]
    aws = [
        _timeseries("AWS API Call Rate", "AWS API calls per second, per service and outcome.", "reqps",
                    [_rate(m.AWS_API_CALLS, "service", "result")]),
        _timeseries("AWS API Call Duration (p95)", "Latency of one logical AWS call, retries included.", "s",
                    [_quantile(0.95, m.AWS_API_CALL_DURATION, "service", "operation")], SLOW_AWS_SECONDS),
        _timeseries("AWS API Errors", "Failed AWS calls per second, by service and AWS error code.", "reqps",
                    [_rate(m.AWS_API_ERRORS, "service", "error_code")]),
        _timeseries("AWS API Throttling Events", "Throttled attempts per second (botocore retries them).",
                    "reqps", [_rate(m.AWS_API_THROTTLES, "service", "operation")]),
    ]
    drift = [
        _timeseries("Drift Healing (success/failure)", "Drift heals per second: applied vs. failed.", "ops",
                    [_rate(m.DRIFT_HEALED, RT, prefix="healed"),
                     _rate(m.DRIFT_HEALING_FAILURES, RT, prefix="failed")]),
        _timeseries("Drift Detection Duration (p95)", "Time to compare a resource's spec with AWS.", "s",
                    [_quantile(0.95, m.DRIFT_DETECTION_DURATION, RT)], SLOW_AWS_SECONDS),
    ]
    lifecycle = [
        _timeseries("Finalizer Duration (p95)", "Time to delete the AWS side of a resource.", "s",
                    [_quantile(0.95, m.FINALIZER_DURATION, RT)], SLOW_SECONDS, width=8),
        _timeseries("Finalizer Errors", "Failed deletions per second; objects stay until one succeeds.",
                    "ops", [_rate(m.FINALIZER_ERRORS, RT, "error_type")], width=8),
        _panel(bargauge.Panel(), "Resource Age", "Time since each managed resource was created.", "s",
               [_resource_age()], NEUTRAL, width=8)
        .reduce_options(_last_value()).orientation(common.VizOrientation.HORIZONTAL)
        .display_mode(common.BarGaugeDisplayMode.BASIC),
    ]
    provider_and_cache = [
        _count_stat("Credential Rotations", "AWSProvider credential rotations in the dashboard's time range.",
                    [_increase(m.PROVIDER_CREDENTIAL_ROTATIONS, "$__range", "provider_name")], NEUTRAL,
                    width=8),
        _timeseries("Cache Hit Ratio", "Share of AWS reads answered from the operator's cache, per kind.",
                    "percentunit", [_cache_hit_ratio()], HIT_RATIO, width=16),
    ]
    slo = [
        _panel(bargauge.Panel(), "Error Budget Left (3d)",
               "Share of each kind's error budget left over 3 days, for the availability SLI (reconciles not "
               "ending in error) and the latency SLI (reconciles within 10 s); objective 99.5 %.",
               "percentunit", [Query(promql.slo_budget_left("failed", "3d"), "availability {{resource_type}}"),
                               Query(promql.slo_budget_left("slow", "3d"), "latency {{resource_type}}")],
               BUDGET_LEFT, width=8)
        .min(-1).max(1).reduce_options(_last_value()).orientation(common.VizOrientation.HORIZONTAL)
        .display_mode(common.BarGaugeDisplayMode.BASIC),
        _timeseries("Error Budget Burn Rate (1h & 6h)",
                    "How fast each kind burns its budget (1 = as the objective allows); the page alerts fire "
                    "at 14.4x over 1h and 6x over 6h, each confirmed by a short window.", "x",
                    [Query(promql.slo_burn_rate(sli, window), f"{name} {window} {{{{resource_type}}}}")
                     for window in ("1h", "6h") for sli, name in (("failed", "availability"), ("slow", "latency"))],
                    BURN_RATE, width=16),
    ]
    return [
        ("Overview", overview),
        ("SLOs", slo),
        ("Reconciliation", reconciliation),
        ("AWS API", aws),
        ("Drift", drift),
        ("Finalizers and resources", lifecycle),
        ("Provider and cache", provider_and_cache),
    ]


def _filter_variable(label: str, spec, title: str):
    return (
        dashboard.QueryVariable(label)
        .label(title)
        .datasource(DATASOURCE)
        .query(promql.label_values(spec, label))
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        .all_value(".*")
    )


def build_dashboard() -> dashboard.Dashboard:
    builder = (
        dashboard.Dashboard("infra-operator")
        .uid(UID)
        .description("Reconciliation, AWS API, drift and provider health of infra-operator.")
        .tags(["infra-operator", "kubernetes", "aws"])
        .editable()
        .refresh("30s")
        .time("now-1h", "now")
        .timezone("browser")
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .with_variable(dashboard.DatasourceVariable("datasource").label("Data source").type("prometheus"))
        .with_variable(dashboard.DatasourceVariable("jaeger").label("Traces").type("jaeger"))
        .with_variable(_filter_variable("resource_type", m.RECONCILE_TOTAL, "Resource type"))
        .with_variable(_filter_variable("service", m.AWS_API_CALLS, "AWS service"))
    )
    for row_title, panels in _rows():
        builder.with_row(dashboard.Row(row_title))
        for panel in panels:
            builder.with_panel(panel)
    return builder


def dashboard_json() -> str:
    """The dashboard as committed: stable key order, panel ids in reading order."""
    model = json.loads(json.dumps(build_dashboard().build(), cls=JSONEncoder))
    for panel_id, panel in enumerate(model["panels"], start=1):
        panel["id"] = panel_id
    for variable in model["templating"]["list"]:
        if variable["type"] != "interval":
            for key in INTERVAL_VARIABLE_KEYS:
                del variable[key]
    return json.dumps(model, indent=2, sort_keys=True) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=pathlib.Path, default=OUTPUT)
    parser.add_argument("--check", action="store_true", help="exit 1 if the output file is out of date")
    args = parser.parse_args(argv)
    generated = dashboard_json()
    if not args.check:
        args.output.write_text(generated)
    elif args.output.read_text() != generated:
        print(f"{args.output} is stale: run python -m dashboards.generate", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
