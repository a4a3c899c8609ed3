"""The PrometheusRule's groups, checked and unit-tested with the real promtool.

The rules come from deploy/prometheusrule.yaml itself (one source): the test writes its spec to
a rules file, then runs `promtool check rules` and `promtool test rules` on tests/deploy/rules_test.yaml.
"""

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from infra_operator.telemetry.catalog import CATALOG, METRICS, THROTTLING_CODES, Instrument

from tools import require_tool

from .manifests import ROOT, alerting_rules, rule_groups, write_rules_file

RULES_TEST = Path(__file__).with_name("rules_test.yaml")
RULES_FILE_NAME = "prometheusrule.rules.yaml"
JOB_MATCHER = 'job="infra-operator"'

# The ten alerts of the original operator, under their original names.
ORIGINAL_ALERTS = {
    "InfraOperatorHighErrorRate",
    "InfraOperatorSlowReconciliation",
    "InfraOperatorAWSAPIErrors",
    "InfraOperatorAWSAPIThrottled",
    "InfraOperatorDriftDetected",
    "InfraOperatorDriftHealingFailed",
    "InfraOperatorResourcesNotReady",
    "InfraOperatorProviderNotReady",
    "InfraOperatorSlowFinalizer",
    "InfraOperatorNoReconciliations",
}

# Alerts on the operator's own metrics (beyond the original's catalog).
OPERATOR_ALERTS = {"InfraOperatorNotExactlyOneLeader"}

LABELS_BY_METRIC = {spec.name: set(spec.labels) for spec in METRICS}
HISTOGRAMS = [spec.name for spec in CATALOG if spec.instrument is Instrument.HISTOGRAM]
TARGET_LABELS = {"job", "instance", "namespace", "pod"}
PROMQL_KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
                   "group_right", "offset", "bool"}

STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
SELECTOR = re.compile(r"([a-zA-Z_:][\w:]*)?\s*\{([^}]*)\}")
MATCHER_LABEL = re.compile(r"(\w+)\s*(?:=~|!~|!=|=)")
GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
TEMPLATE_LABEL = re.compile(r"\$labels\.(\w+)")
IDENTIFIER = re.compile(r"(?<![\w:.])([a-zA-Z_:][\w:]*)(?!\s*\(|[\w:])")
RANGE = re.compile(r"\[[^\]]*\]")


@pytest.fixture(scope="module")
def groups():
    return rule_groups()


@pytest.fixture(scope="module")
def rules_file(groups, tmp_path_factory):
    return write_rules_file(tmp_path_factory.mktemp("rules") / RULES_FILE_NAME, groups)


@pytest.fixture(scope="module")
def unit_tests():
    return yaml.safe_load(RULES_TEST.read_text())


def promtool(*arguments, cwd=None):
    return subprocess.run([require_tool("promtool"), *arguments], cwd=cwd, capture_output=True, text=True, timeout=120)


# Multi-window multi-burn-rate alerts on the reconcile SLOs (tests/deploy/test_slo_rules.py).
BURN_RATE_ALERTS = {
    f"InfraOperatorReconcile{sli}BudgetBurn{speed}" for sli in ("Errors", "Latency") for speed in ("Fast", "Slow")
}


def test_the_ten_original_alerts_are_there_under_their_names(groups):
    assert set(alerting_rules(groups)) == ORIGINAL_ALERTS | BURN_RATE_ALERTS | OPERATOR_ALERTS


def test_promtool_accepts_the_rules(rules_file):
    result = promtool("check", "rules", str(rules_file))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_rule_reads_only_records_of_its_own_group_and_after_them(groups):
    """Prometheus evaluates a group's rules in order and groups independently: a rule reading a
    record of another group, or one later in its own, reads it one evaluation late (and promtool's
    unit tests, which evaluate groups in random order, flake on it)."""
    recorded_in = {rule["record"]: group["name"] for group in groups for rule in group["rules"] if "record" in rule}
    for group in groups:
        seen = set()
        for rule in group["rules"]:
            used = {name for name in IDENTIFIER.findall(RANGE.sub("", STRING.sub("", rule["expr"])))
                    if name in recorded_in}
            assert used <= seen, (rule.get("alert") or rule["record"], group["name"], used - seen,
                                  {name: recorded_in[name] for name in used - seen})
            if "record" in rule:
                seen.add(rule["record"])


def test_promtool_unit_tests_pass(rules_file, unit_tests):
    assert unit_tests["rule_files"] == [RULES_FILE_NAME]
    test_file = rules_file.with_name("rules_test.yaml")
    test_file.write_text(yaml.safe_dump(unit_tests, sort_keys=False))
    result = promtool("test", "rules", test_file.name, cwd=rules_file.parent)
    assert result.returncode == 0, result.stdout + result.stderr


def evaluations(unit_tests, alert):
    """(test name, eval minutes, fires) for every evaluation of the alert in the unit tests."""
    return [
        (test["name"], minutes(case["eval_time"]), bool(case["exp_alerts"]))
        for test in unit_tests["tests"]
        for case in test.get("alert_rule_test", [])
        if case["alertname"] == alert
    ]


def minutes(duration: str) -> float:
    value, unit = re.fullmatch(r"(\d+)([smh])", duration).groups()
    return int(value) * {"s": 1 / 60, "m": 1, "h": 60}[unit]


@pytest.mark.parametrize("alert", sorted(ORIGINAL_ALERTS | OPERATOR_ALERTS))
def test_every_alert_has_a_firing_and_a_quiet_history(alert, groups, unit_tests):
    cases = evaluations(unit_tests, alert)
    firing_tests = {name for name, _, fires in cases if fires}
    quiet_tests = {name for name, _, _ in cases} - firing_tests
    assert firing_tests, f"no history where {alert} fires"
    assert quiet_tests, f"no history where {alert} stays quiet throughout"
    hold = alerting_rules(groups)[alert].get("for")
    if hold:
        # Respecting `for:`: each firing history is also evaluated earlier, while still pending.
        for name in firing_tests:
            first_firing = min(at for test, at, fires in cases if test == name and fires)
            assert any(test == name and not fires and at < first_firing for test, at, fires in cases), (
                f"{name!r} never checks that {alert} waits {hold} before firing"
            )


def expressions(groups):
    return [(rule.get("alert") or rule["record"], rule["expr"]) for group in groups for rule in group["rules"]]


def test_expressions_use_only_catalog_metrics_and_labels(groups):
    recorded = {rule["record"] for group in groups for rule in group["rules"] if "record" in rule}
    series = set(LABELS_BY_METRIC) | {"up"} | {f"{name}_{suffix}" for name in HISTOGRAMS for suffix in ("bucket", "count", "sum")}
    labels = set().union(*LABELS_BY_METRIC.values()) | TARGET_LABELS | {"le"}
    for name, expr in expressions(groups):
        used_labels = set()
        for _, matchers in SELECTOR.findall(expr):
            used_labels |= set(MATCHER_LABEL.findall(matchers))
        for grouping in GROUPING.findall(expr):
            used_labels |= {label.strip() for label in grouping.split(",") if label.strip()}
        assert used_labels <= labels, f"{name}: labels outside the catalog: {used_labels - labels}"
        bare = RANGE.sub("", GROUPING.sub("", SELECTOR.sub(lambda m: m.group(1) or "", STRING.sub('""', expr))))
        metrics = set(IDENTIFIER.findall(bare)) - PROMQL_KEYWORDS
        assert metrics <= series | recorded, f"{name}: unknown series {metrics - series - recorded}"
    for rule in alerting_rules(groups).values():
        templates = " ".join(rule["annotations"].values())
        assert set(TEMPLATE_LABEL.findall(templates)) <= labels, rule["alert"]


def is_raw(metric):
    return metric.startswith("infra_operator_") or metric == "up"


def test_every_raw_selector_is_limited_to_the_operator_job(groups):
    for name, expr in expressions(groups):
        for metric, matchers in SELECTOR.findall(expr):
            if is_raw(metric):
                assert JOB_MATCHER in matchers.replace(" ", ""), f"{name}: {metric}{{{matchers}}}"
        without_selectors = SELECTOR.sub("", STRING.sub('""', expr))
        bare = [metric for metric in IDENTIFIER.findall(without_selectors) if is_raw(metric)]
        assert not bare, f"{name}: selectors without a job matcher: {bare}"


def test_docs_show_every_expression_and_a_section_per_alert(groups):
    document = (ROOT / "docs" / "alerts.md").read_text()
    shown = {block.strip() for block in re.findall(r"```promql\n(.*?)```", document, re.DOTALL)}
    for name, expr in expressions(groups):
        assert expr.strip() in shown, f"docs/alerts.md does not show the expression of {name}"
    headings = set(re.findall(r"^##+ (\w+)$", document, re.MULTILINE))
    assert ORIGINAL_ALERTS | BURN_RATE_ALERTS <= headings


def test_aws_api_errors_leave_out_exactly_the_catalogs_throttling_codes(groups):
    (expr,) = [expr for name, expr in expressions(groups) if "errors_without_throttling" in name]
    (codes,) = re.findall(r'error_code!~"([^"]*)"', expr)
    assert set(codes.split("|")) == set(THROTTLING_CODES)
