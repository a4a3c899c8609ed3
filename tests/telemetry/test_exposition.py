"""The /metrics endpoint over HTTP: the golden family set, promtool, determinism, OpenMetrics."""

from __future__ import annotations

import random
import subprocess
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_prometheus

from infra_operator.telemetry import MetricsServer, Telemetry, TelemetrySettings, _recorders, catalog, setup_telemetry

from infra_operator.sandbox.aws import MotoServer
from tools import require_tool

from .conftest import ec2_client

EXPECTED_LE = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"]
# promtool's lint objects to `_total` on a gauge; the name is inherited from the Go operator
# (dashboards and alerts query it), so this one finding is expected and nothing else.
INHERITED_LINT = 'infra_operator_resources_total non-counter metrics should not have "_total" suffix'


def exercise_every_recorder(telemetry: Telemetry, aws: MotoServer) -> None:
    with telemetry.reconcile("ElasticIP", "default", "eip-a", trigger="create") as rec:
        rec.outcome("requeue", "aws_api_failed")
    with telemetry.finalizer("ElasticIP", "default", "eip-a") as fin:
        fin.fail("finalizer_failed")
    with telemetry.drift_check("VPC", "default", "main") as drift:
        drift.detected("warning", ["spec.tags"])
    drift.healed()
    drift.heal_failed("drift_healing_failed")
    telemetry.resources.set("VPC", "default/main", "ready", "main", created_at=1_700_000_000)
    telemetry.providers.set_ready("default", "us-east-1", True)
    telemetry.providers.credential_rotated("default")
    telemetry.workqueue.enqueue("VPC", "default/main")
    telemetry.cache_lookup("VPC", hit=True)
    telemetry.cache_lookup("VPC", hit=False)
    ec2 = ec2_client(telemetry, aws.endpoint)
    aws.faults.throttle(operation="DescribeAddresses", times=1)
    ec2.describe_addresses()
    with pytest.raises(ec2.exceptions.ClientError):
        ec2.release_address(AllocationId="eipalloc-0000000000000000")


def fetch(url: str, accept: str | None = None) -> tuple[str, str]:
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read().decode(), response.headers["Content-Type"]


@pytest.fixture(scope="module")
def exercised(aws: MotoServer) -> Iterator[MetricsServer]:
    """One telemetry with every recorder exercised, served on a free loopback port."""
    telemetry = setup_telemetry(TelemetrySettings(instance_id="test-instance"))
    aws.faults.clear()
    try:
        exercise_every_recorder(telemetry, aws)
        yield telemetry.serve_metrics("127.0.0.1", 0)
    finally:
        aws.faults.clear()
        telemetry.shutdown()


def test_metrics_endpoint_holds_exactly_the_catalog(exercised: MetricsServer) -> None:
    text, content_type = fetch(exercised.url)
    assert content_type.startswith("text/plain; version=0.0.4")
    families = {family.name: family for family in parse_prometheus(text)}
    # The parser names a counter family without its `_total`.
    expected = {
        spec.name.removesuffix("_total") if spec.prometheus_type == "counter" else spec.name: spec
        for spec in catalog.CATALOG
    }
    assert sorted(families) == sorted(expected)
    assert len(families) == 21
    for name, family in families.items():
        spec = expected[name]
        assert family.type == spec.prometheus_type, name
        assert family.documentation == spec.help, name
        assert family.samples, name
        for sample in family.samples:
            assert set(sample.labels) - {"le"} == set(spec.labels), (name, sample.labels)
        if spec.prometheus_type == "histogram":
            series = {tuple(sorted((k, v) for k, v in s.labels.items() if k != "le")) for s in family.samples}
            for labels in series:
                les = [
                    s.labels["le"]
                    for s in family.samples
                    if s.name.endswith("_bucket")
                    and tuple(sorted((k, v) for k, v in s.labels.items() if k != "le")) == labels
                ]
                assert les == EXPECTED_LE, name
    assert "otel_scope" not in text and "target_info" not in text


def test_promtool_accepts_the_exposition(exercised: MetricsServer) -> None:
    promtool = require_tool("promtool")
    text, _ = fetch(exercised.url)
    result = subprocess.run([promtool, "check", "metrics"], input=text.encode(), capture_output=True, timeout=30)
    # Exit 1 is a parse error; 3 means lint findings only, which must be just the inherited one.
    findings = [line for line in (result.stdout + result.stderr).decode().splitlines() if line.strip()]
    assert result.returncode in (0, 3), findings
    assert findings == ([INHERITED_LINT] if result.returncode == 3 else [])


def test_openmetrics_when_the_scraper_asks(exercised: MetricsServer) -> None:
    text, content_type = fetch(exercised.url, accept="application/openmetrics-text; version=1.0.0,text/plain;q=0.5")
    assert content_type.startswith("application/openmetrics-text")
    assert text.endswith("# EOF\n")
    families = {family.name: family for family in parse_openmetrics(text)}
    assert len(families) == 21
    assert families["infra_operator_reconcile_duration_seconds"].unit == "seconds"


class SteppingClock:
    """perf_counter stand-in advancing a fixed, binary-exact step per reading, so histogram
    sums do not depend on the order of recording."""

    def __init__(self) -> None:
        self.now = 0.0

    def perf_counter(self) -> float:
        self.now += 0.125
        return self.now


def state_changes(telemetry: Telemetry) -> list[Callable[[], Any]]:
    def reconcile(resource_type: str, result: str) -> None:
        with telemetry.reconcile(resource_type, "ns", "a", trigger="update") as rec:
            rec.outcome(result)

    return [
        lambda: telemetry.resources.set("VPC", "ns/b", "pending", "b", created_at=1_700_000_100),
        lambda: telemetry.resources.set("Subnet", "ns/a", "ready", "a", created_at=1_700_000_000),
        lambda: telemetry.resources.set("VPC", "ns/a", "ready", "a", created_at=1_700_000_050),
        lambda: telemetry.cache_lookup("VPC", hit=True),
        lambda: telemetry.cache_lookup("Subnet", hit=True),
        lambda: telemetry.workqueue.enqueue("Subnet", "ns/a"),
        lambda: telemetry.workqueue.enqueue("VPC", "ns/a"),
        lambda: telemetry.providers.set_ready("zeta", "eu-west-1", False),
        lambda: telemetry.providers.set_ready("alpha", "us-east-1", True),
        lambda: reconcile("VPC", "success"),
        lambda: reconcile("Subnet", "requeue"),
        lambda: reconcile("ElasticIP", "success"),
        lambda: reconcile("VPC", "error"),
    ]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_same_state_renders_byte_identical_whatever_the_order(
    make_telemetry: Callable[..., Telemetry], monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    monkeypatch.setattr(_recorders, "time", SteppingClock())
    # Exemplars carry fresh trace ids on every run: the state compared here is the rest.
    in_order, shuffled = make_telemetry(exemplar_filter="always_off"), make_telemetry(exemplar_filter="always_off")
    for change in state_changes(in_order):
        change()
    changes = state_changes(shuffled)
    random.Random(seed).shuffle(changes)
    for change in changes:
        change()
    for openmetrics in (False, True):
        assert in_order.render_metrics(openmetrics) == shuffled.render_metrics(openmetrics)
    rendered = in_order.render_metrics().decode()
    assert rendered.index('provider_name="alpha"') < rendered.index('provider_name="zeta"')
    assert rendered.index("infra_operator_cache_hits_total") < rendered.index("infra_operator_workqueue_depth")
