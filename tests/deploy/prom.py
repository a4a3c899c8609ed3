"""A real Prometheus on 127.0.0.1 scraping one target with the PrometheusRule's rules loaded.

    with running_prometheus("127.0.0.1:8080", hold="2s") as prometheus:
        prometheus.wait_for('up{job="infra-operator"} == 1')
        prometheus.wait_for_alert("InfraOperatorAWSAPIThrottled")
        prometheus.query('service:infra_operator_aws_api_throttles:rate5m')

The target is scraped as job "infra-operator" (what the rules match on) every second, and rules
are evaluated every second (see tests/prometheus_server.py). `hold` rewrites every alert's `for:`
in the temporary rules file only, so a test sees an alert fire in seconds; the manifest keeps the
production durations. Expression windows ([5m], [15m], offset 10m) are left as they are.
"""

import copy
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prometheus_server import PrometheusServer

from .manifests import rule_groups, write_rules_file


def with_hold(groups: list[dict], hold: str) -> list[dict]:
    """A copy of the groups whose alerts wait `hold` instead of their own `for:`."""
    groups = copy.deepcopy(groups)
    for group in groups:
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = hold
    return groups


@contextmanager
def running_prometheus(target: str, hold: str | None = None) -> Iterator[PrometheusServer]:
    """Prometheus scraping `target` ("host:port", path /metrics) with our rules, stopped on exit."""
    groups = rule_groups() if hold is None else with_hold(rule_groups(), hold)
    with tempfile.TemporaryDirectory(prefix="infra-operator-prometheus-") as directory:
        workdir = Path(directory)
        rules = write_rules_file(workdir / "rules.yaml", groups)
        with PrometheusServer([target], workdir, rule_files=[rules]) as prometheus:
            yield prometheus
