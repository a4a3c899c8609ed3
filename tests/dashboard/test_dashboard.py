"""The committed Grafana dashboard: generated, schema-valid, complete, and every query parses."""

from __future__ import annotations

import copy
import json
import pathlib
import re
import subprocess

import jsonschema
import pytest
import yaml

from dashboards import generate, promql
from dashboards.panel_queries import DASHBOARD, data_panels, load_dashboard, panel_queries, substitute
from infra_operator.telemetry import catalog
from tools import require_tool

SCHEMA = pathlib.Path(generate.__file__).with_name("schema") / "dashboard.schema.json"

# The twelve panels of the original Go operator's dashboard (seed document), by title.
SEED_PANELS = (
    "Reconciliation Rate by Resource Type",
    "Reconciliation Error Rate",
    "Reconciliation Duration (p95 & p50)",
    "Resources by Status",
    "AWS API Call Rate",
    "AWS API Call Duration (p95)",
    "AWS API Errors",
    "AWS API Throttling Events",
    "Drift Detected (last 10m)",
    "Drift Healing (success/failure)",
    "Provider Status",
    "Workqueue Depth",
)
# Added so that every catalog metric is on the dashboard.
EXTRA_PANELS = (
    "Reconciliation Errors by Type",
    "Workqueue Adds",
    "Drift Detection Duration (p95)",
    "Finalizer Duration (p95)",
    "Finalizer Errors",
    "Resource Age",
    "Credential Rotations",
    "Cache Hit Ratio",
)
# The SLO row, on the recorded SLIs (deploy/prometheusrule.yaml).
SLO_PANELS = (
    "Error Budget Left (3d)",
    "Error Budget Burn Rate (1h & 6h)",
)
RECORDED = re.compile(r"\b[a-z_]+:[a-z_]+:[a-z0-9_]+\b")
SERIES = re.compile(r"\b(infra_operator_\w+?)(_bucket|_sum|_count)?\b(\{[^}]*\})?")


@pytest.fixture(scope="module")
def dashboard():
    return load_dashboard()


@pytest.fixture(scope="module")
def validator():
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def expressions(dashboard):
    return [target["expr"] for panel in data_panels(dashboard) for target in panel["targets"]]


def without_recorded(expr):
    return RECORDED.sub("recorded", expr)


def test_committed_json_is_what_the_generator_writes():
    assert DASHBOARD.read_text() == generate.dashboard_json(), "run: python -m dashboards.generate"


def test_generate_check_flags_a_stale_file(tmp_path):
    output = tmp_path / "dashboard.json"
    output.write_text("{}\n")
    assert generate.main(["--output", str(output), "--check"]) == 1
    assert generate.main(["--output", str(output)]) == 0
    assert generate.main(["--output", str(output), "--check"]) == 0
    assert output.read_text() == DASHBOARD.read_text()


def test_dashboard_validates_against_the_committed_schema(dashboard, validator):
    errors = [f"{list(error.absolute_path)}: {error.message}" for error in validator.iter_errors(dashboard)]
    assert errors == []


@pytest.mark.parametrize(
    ("where", "key", "value"),
    [
        (lambda d: d, "refreshRate", "30s"),
        (lambda d: d["panels"][1], "titel", "typo"),
        (lambda d: d["templating"]["list"][0], "auto_count", 30),
        (lambda d: d["panels"][1]["fieldConfig"]["defaults"], "unitt", "s"),
        (lambda d: d["panels"][1]["gridPos"], "w", "wide"),
    ],
    ids=["dashboard-key", "panel-key", "variable-key", "field-config-key", "grid-type"],
)
def test_the_schema_rejects_what_grafana_does_not_define(dashboard, validator, where, key, value):
    broken = copy.deepcopy(dashboard)
    where(broken)[key] = value
    assert not validator.is_valid(broken)


def test_the_seed_panels_and_the_extra_ones_are_there(dashboard):
    titles = [panel["title"] for panel in data_panels(dashboard)]
    assert sorted(titles) == sorted(SEED_PANELS + EXTRA_PANELS + SLO_PANELS)


def test_every_catalog_metric_is_queried_and_nothing_else(dashboard):
    queried = set()
    for expr in expressions(dashboard):
        for name, suffix, _ in SERIES.findall(without_recorded(expr)):
            spec = catalog.BY_NAME.get(name)
            assert spec is not None, f"{name} is not a catalog metric: {expr}"
            assert (suffix == "_bucket") == (spec.prometheus_type == "histogram"), expr
            queried.add(name)
    assert queried == {spec.name for spec in catalog.CATALOG}
    assert len(queried) == 21


def test_every_selector_carries_the_filters_its_labels_allow(dashboard):
    for expr in expressions(dashboard):
        for name, _, braces in SERIES.findall(without_recorded(expr)):
            labels = catalog.BY_NAME[name].labels
            for label in promql.FILTER_LABELS:
                assert (f'{label}=~"${label}"' in braces) == (label in labels), expr


def test_variables_datasource_and_refresh(dashboard):
    assert dashboard["refresh"] == "30s"
    variables = {variable["name"]: variable for variable in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for label in ("resource_type", "service"):
        variable = variables[label]
        assert variable["type"] == "query"
        assert variable["query"].startswith("label_values(infra_operator_")
        assert variable["query"].endswith(f", {label})")
        assert variable["multi"] and variable["includeAll"] and variable["allValue"] == ".*"
        assert variable["datasource"]["uid"] == "${datasource}"
    for panel in data_panels(dashboard):
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert all(target["datasource"] == panel["datasource"] for target in panel["targets"])


def test_every_panel_has_a_unit_thresholds_and_a_description(dashboard):
    for panel in data_panels(dashboard):
        defaults = panel["fieldConfig"]["defaults"]
        assert defaults["unit"], panel["title"]
        assert defaults["thresholds"]["steps"][0]["value"] is None, panel["title"]
        assert panel["description"], panel["title"]
    units = {panel["title"]: panel["fieldConfig"]["defaults"]["unit"] for panel in data_panels(dashboard)}
    assert units["Reconciliation Duration (p95 & p50)"] == "s"
    assert units["Reconciliation Error Rate"] == "percentunit"
    assert units["Cache Hit Ratio"] == "percentunit"
    assert units["AWS API Call Rate"] == "reqps"


def test_panels_sit_in_rows_on_the_grid_without_overlapping(dashboard):
    assert dashboard["panels"][0]["type"] == "row"
    occupied = set()
    rows = 0
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert 0 <= grid["x"] and grid["x"] + grid["w"] <= 24, panel["title"]
        cells = {(x, y) for x in range(grid["x"], grid["x"] + grid["w"])
                 for y in range(grid["y"], grid["y"] + grid["h"])}
        assert not cells & occupied, f"{panel['title']} overlaps another panel"
        occupied |= cells
        rows += panel["type"] == "row"
    assert rows >= 5


def test_queries_substitute_every_template_variable(dashboard):
    queries = panel_queries(dashboard)
    assert len(queries) == len(expressions(dashboard))
    assert all("$" not in query.expr for query in queries)
    assert {query.title for query in queries} == set(SEED_PANELS + EXTRA_PANELS + SLO_PANELS)
    with pytest.raises(KeyError, match=r"\$unknown"):
        substitute('x{a=~"$unknown"}')
    assert substitute("rate(x[${__rate_interval}])") == "rate(x[1m])"


def promtool_check_rules(rules_file: pathlib.Path) -> subprocess.CompletedProcess:
    promtool = require_tool("promtool")
    return subprocess.run([promtool, "check", "rules", str(rules_file)], capture_output=True, text=True,
                          timeout=60)


def recording_rules(exprs) -> dict:
    """Prometheus 2.42's promtool parses PromQL only inside rules: wrap each query in one."""
    rules = [{"record": f"dashboard:query_{index}", "expr": expr} for index, expr in enumerate(exprs)]
    return {"groups": [{"name": "dashboard-queries", "rules": rules}]}


def test_every_panel_query_parses_with_promtool(dashboard, tmp_path):
    queries = panel_queries(dashboard)
    rules_file = tmp_path / "dashboard.rules.yaml"
    rules_file.write_text(yaml.safe_dump(recording_rules(query.expr for query in queries)))
    result = promtool_check_rules(rules_file)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(queries)} rules found" in result.stdout


def test_promtool_rejects_a_broken_query(tmp_path):
    rules_file = tmp_path / "broken.rules.yaml"
    rules_file.write_text(yaml.safe_dump(recording_rules(["sum by (le (rate(x[1m]))"])))
    assert promtool_check_rules(rules_file).returncode != 0


def test_promql_builders_refuse_what_the_catalog_does_not_allow():
    with pytest.raises(ValueError, match="is a gauge, not a counter"):
        promql.rate(catalog.WORKQUEUE_DEPTH)
    with pytest.raises(ValueError, match="is a counter, not a histogram"):
        promql.quantile(0.95, catalog.RECONCILE_TOTAL)
    with pytest.raises(ValueError, match="has no label"):
        promql.rate(catalog.RECONCILE_TOTAL, by=("service",))
    stray = catalog.MetricSpec("infra_operator_stray_total", catalog.Instrument.COUNTER, "", (), "not in the catalog")
    with pytest.raises(KeyError, match="not in the metric catalog"):
        promql.rate(stray)
    assert promql.quantile(0.5, catalog.AWS_API_CALL_DURATION, by=("service",)) == (
        'histogram_quantile(0.5, sum by (le, service) (rate(infra_operator_aws_api_call_duration_seconds_bucket'
        '{service=~"$service"}[$__rate_interval])))'
    )


def test_latency_panels_show_exemplars_and_link_to_the_jaeger_variable(dashboard):
    variables = {variable["name"]: variable for variable in dashboard["templating"]["list"]}
    assert (variables["jaeger"]["type"], variables["jaeger"]["query"]) == ("datasource", "jaeger")
    histograms = {spec.name for spec in catalog.CATALOG if spec.instrument is catalog.Instrument.HISTOGRAM}
    latency = [panel for panel in data_panels(dashboard)
               if any(f"{name}_bucket" in target["expr"] for target in panel["targets"] for name in histograms)]
    assert {name for panel in latency for target in panel["targets"] for name in histograms
            if f"{name}_bucket" in target["expr"]} == histograms
    for panel in latency:
        assert all(target["exemplar"] for target in panel["targets"]), panel["title"]
        [link] = panel["links"]
        assert '"uid":"${jaeger}"' in link["url"] and '"service":"infra-operator"' in link["url"], panel["title"]
    others = [panel for panel in data_panels(dashboard) if panel not in latency]
    assert not any(target.get("exemplar") or panel.get("links") for panel in others for target in panel["targets"])


def test_the_slo_row_reads_recorded_slis_and_the_one_objective(dashboard):
    slo = [panel for panel in data_panels(dashboard) if panel["title"] in SLO_PANELS]
    used = {name for panel in slo for target in panel["targets"] for name in RECORDED.findall(target["expr"])}
    assert used <= promql.recorded_names()
    assert "infra_operator:reconcile_slo:objective" in used
    assert {f"resource_type:infra_operator_reconcile_{sli}:ratio_rate{window}"
            for sli in ("failed", "slow") for window in ("3d", "1h", "6h")} <= used
    for panel in slo:
        assert all('resource_type=~"$resource_type"' in target["expr"] for target in panel["targets"])
    with pytest.raises(KeyError, match="not recorded"):
        promql.slo_burn_rate("failed", "7d")
