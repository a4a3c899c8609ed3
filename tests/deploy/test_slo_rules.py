"""The SLO rules of the PrometheusRule: one objective, two SLIs per kind over seven windows, and
multi-window multi-burn-rate alerts, run with the real promtool on generated series histories.

For every alert and each of its two window pairs there is a history where that pair fires (bad
share 1.25x its burn factor over the long window) and one where the long window is over the
threshold but the short window has recovered, so the alert stays quiet; plus a steady burn just
below the alert's lower factor, also quiet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from .manifests import alerting_rules, rule_groups, write_rules_file
from .test_rules import promtool

OBJECTIVE = 0.995
BUDGET = 1 - OBJECTIVE
# Reconciliations per input interval; the bad ones are a share of these.
PER_STEP = 1000
SERIES_LABELS = 'job="infra-operator", instance="op:8080", resource_type="VPC"'
MINUTES = {"m": 1, "h": 60, "d": 1440}


def minutes(window: str) -> int:
    value, unit = re.fullmatch(r"(\d+)([mhd])", window).groups()
    return int(value) * MINUTES[unit]


@dataclass(frozen=True)
class Pair:
    factor: float
    long: str
    short: str


@dataclass(frozen=True)
class BurnAlert:
    name: str
    sli: str  # "failed" or "slow"
    severity: str
    pairs: tuple[Pair, Pair]
    # Minutes between input samples (and rule evaluations) in its histories.
    step: int


PAGE = (Pair(14.4, "1h", "5m"), Pair(6, "6h", "30m"))
TICKET = (Pair(3, "1d", "2h"), Pair(1, "3d", "6h"))
ALERTS = [
    BurnAlert("InfraOperatorReconcileErrorsBudgetBurnFast", "failed", "critical", PAGE, 1),
    BurnAlert("InfraOperatorReconcileErrorsBudgetBurnSlow", "failed", "warning", TICKET, 10),
    BurnAlert("InfraOperatorReconcileLatencyBudgetBurnFast", "slow", "critical", PAGE, 1),
    BurnAlert("InfraOperatorReconcileLatencyBudgetBurnSlow", "slow", "warning", TICKET, 10),
]
WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")


def cumulative(increments: list[float]) -> str:
    """The counter's values, one per step from 0, compressed where increments repeat."""
    values, total = [0.0], 0.0
    for increment in increments:
        total += increment
        values.append(total)
    parts, index = [], 0
    while index < len(values):
        start = values[index]
        if index + 1 < len(values):
            step = values[index + 1] - start
            count = 1
            while index + count + 1 < len(values) and values[index + count + 1] - values[index + count] == step:
                count += 1
            parts.append(f"{start:g}+{step:g}x{count}")
            index += count + 1
        else:
            parts.append(f"{start:g}")
            index += 1
    return " ".join(parts)


def history(alert: BurnAlert, segments: list[tuple[int, float]]) -> tuple[list[dict], str]:
    """Input series for segments of (minutes, bad share as a multiple of the budget), and their
    interval."""
    bad: list[float] = []
    for length, burn in segments:
        bad += [round(PER_STEP * burn * BUDGET, 6)] * (length // alert.step)
    total = [float(PER_STEP)] * len(bad)
    interval = f"{alert.step}m"
    if alert.sli == "failed":
        good = [t - b for t, b in zip(total, bad, strict=True)]
        series = {f'infra_operator_reconcile_total{{{SERIES_LABELS}, result="error"}}': bad,
                  f'infra_operator_reconcile_total{{{SERIES_LABELS}, result="success"}}': good}
    else:
        fast = [t - b for t, b in zip(total, bad, strict=True)]
        series = {f'infra_operator_reconcile_duration_seconds_bucket{{{SERIES_LABELS}, le="10"}}': fast,
                  f'infra_operator_reconcile_duration_seconds_count{{{SERIES_LABELS}}}': total}
    return [{"series": name, "values": cumulative(increments)} for name, increments in series.items()], interval


def record(alert: BurnAlert, window: str) -> str:
    return f"resource_type:infra_operator_reconcile_{alert.sli}:ratio_rate{window}"


def over_threshold(alert: BurnAlert, pair: Pair, window: str) -> dict:
    """The `window` SLI is above the pair's threshold (1) at the end of the history."""
    return {"expr": f"{record(alert, window)} > bool {pair.factor} * (1 - scalar(infra_operator:reconcile_slo:objective))",
            "exp_samples": [{"labels": '{job="infra-operator", resource_type="VPC"}', "value": 1}]}


def case(alert: BurnAlert, name: str, segments: list[tuple[int, float]], fires: float | None,
         expr_tests: list[dict] = ()) -> dict:
    series, interval = history(alert, segments)
    end = f"{sum(length for length, _ in segments) - alert.step}m"
    expected = []
    if fires is not None:
        action = "fail" if alert.sli == "failed" else "take longer than 10 s"
        pairs = ", or ".join(f"{pair.long} and {pair.short} at {pair.factor:g}x" for pair in alert.pairs)
        noun = "availability" if alert.sli == "failed" else "latency"
        speed = "fast" if alert.pairs == PAGE else "steadily"
        expected = [{
            "exp_labels": {"severity": alert.severity, "job": "infra-operator", "resource_type": "VPC"},
            "exp_annotations": {
                "summary": f"VPC reconciliations burn their {noun} error budget {speed}",
                "description": f"{fires * BUDGET * 100:g}% of VPC reconciliations {action} ({pairs} the rate the "
                               f"error budget allows). Runbook: docs/alerts.md#{alert.name.lower()}",
            },
        }]
    return {
        "name": f"{alert.name}: {name}",
        "interval": interval,
        "input_series": series,
        "alert_rule_test": [{"alertname": alert.name, "eval_time": end, "exp_alerts": expected}],
        "promql_expr_test": [{**test, "eval_time": end} for test in expr_tests],
    }


def cases(alert: BurnAlert) -> list[dict]:
    longest = max(minutes(pair.long) for pair in alert.pairs)
    # Longer than every short window of the alert: a quiet end that both guards see.
    recovered = max(minutes(pair.short) for pair in alert.pairs) + 5 * alert.step
    margin = 3 * alert.step
    found = []
    for pair in alert.pairs:
        long = minutes(pair.long)
        burn = 1.25 * pair.factor
        # Clean before, so the alert's longer window stays under its own threshold; the bad
        # stretch a little longer than the long window, so that window holds one share only.
        found.append(case(alert, f"{pair.long} and {pair.short} above {pair.factor:g}x fire",
                          [(longest - long + margin, 0), (long + margin, burn)], fires=burn))
        # Bad until `recovered` minutes ago, enough for the long window to stay above threshold.
        bad = long - recovered
        quiet_burn = 1.25 * pair.factor * long / bad
        found.append(case(alert, f"{pair.long} above {pair.factor:g}x but {pair.short} recovered stays quiet",
                          [(longest + margin, 0), (bad, quiet_burn), (recovered, 0)], fires=None,
                          expr_tests=[over_threshold(alert, pair, pair.long)]))
    lowest = min(pair.factor for pair in alert.pairs)
    found.append(case(alert, f"a steady burn at 0.9x of {lowest:g}x stays quiet",
                      [(longest + recovered + margin, 0.9 * lowest)], fires=None))
    return found


@pytest.fixture(scope="module")
def groups():
    return rule_groups()


def test_the_objective_is_written_once_and_every_sli_window_is_recorded(groups):
    records = {rule["record"]: rule["expr"].strip() for group in groups for rule in group["rules"] if "record" in rule}
    assert records["infra_operator:reconcile_slo:objective"] == f"vector({OBJECTIVE})"
    manifest = (Path(__file__).resolve().parents[2] / "deploy" / "prometheusrule.yaml").read_text()
    assert manifest.count(str(OBJECTIVE)) == 1
    for sli in ("failed", "slow"):
        assert {name for name in records if name.startswith(f"resource_type:infra_operator_reconcile_{sli}:")} == {
            f"resource_type:infra_operator_reconcile_{sli}:ratio_rate{window}" for window in WINDOWS}
    burn_alerts = {name: rule for name, rule in alerting_rules(groups).items() if "BudgetBurn" in name}
    assert set(burn_alerts) == {alert.name for alert in ALERTS}
    for alert in ALERTS:
        expr = burn_alerts[alert.name]["expr"]
        assert burn_alerts[alert.name]["labels"]["severity"] == alert.severity
        for pair in alert.pairs:
            for window in (pair.long, pair.short):
                assert (f"{record(alert, window)} > {pair.factor:g} * (1 - scalar(infra_operator:reconcile_slo:objective))"
                        in expr), (alert.name, window)


@pytest.mark.parametrize("alert", ALERTS, ids=[alert.name for alert in ALERTS])
def test_each_window_pair_fires_and_stays_quiet(alert, groups, tmp_path):
    # Only the rules the alert reads, and the alert itself: promtool evaluates every rule at
    # every step of three days. One group, records first, in the deployed order (an alert read
    # before its records would see samples one 10-minute step old, beyond the 5-minute lookback).
    needed = {"infra_operator:reconcile_slo:objective", alert.name, *(record(alert, window) for window in WINDOWS)}
    own = [rule for group in groups for rule in group["rules"] if rule.get("record", rule.get("alert")) in needed]
    rules = write_rules_file(tmp_path / "rules.yaml", [{"name": "slo-under-test", "rules": own}])
    tests = {"rule_files": [rules.name], "evaluation_interval": f"{alert.step}m", "tests": cases(alert)}
    (tmp_path / "slo_test.yaml").write_text(yaml.safe_dump(tests, sort_keys=False))
    result = promtool("test", "rules", "slo_test.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
