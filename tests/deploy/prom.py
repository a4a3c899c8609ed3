"""A real Prometheus on 127.0.0.1 scraping one target with the PrometheusRule's rules loaded.

    with running_prometheus("127.0.0.1:8080", hold="2s") as prometheus:
        prometheus.wait_for_result('up{job="infra-operator"} == 1')
        prometheus.wait_for_alert("InfraOperatorAWSAPIThrottled")
        prometheus.query('service:infra_operator_aws_api_throttles:rate5m')

The target is scraped as job "infra-operator" (what the rules match on) every second, and rules
are evaluated every second. `hold` rewrites every alert's `for:` in the temporary rules file
only, so a test sees an alert fire in seconds; the manifest keeps the production durations.
Expression windows ([5m], [15m], offset 10m) are left as they are.
"""

import copy
import json
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

from .manifests import rule_groups, write_rules_file

JOB = "infra-operator"
INTERVAL = "1s"
STARTUP_TIMEOUT = 30.0


class Prometheus:
    """The HTTP API of a running Prometheus."""

    def __init__(self, url: str):
        self.url = url

    def api(self, path: str, **parameters) -> dict | list:
        query = f"?{urllib.parse.urlencode(parameters)}" if parameters else ""
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}{query}", timeout=10) as response:
            body = json.load(response)
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[dict]:
        """The instant vector of an expression: [{"metric": {...}, "value": [time, "value"]}]."""
        return self.api("query", query=expr)["result"]

    def wait_for_result(self, expr: str, timeout: float = 30.0) -> list[dict]:
        """The first non-empty result of an expression (e.g. the first scrape: 'up == 1')."""
        deadline = time.monotonic() + timeout
        while not (result := self.query(expr)):
            if time.monotonic() > deadline:
                raise AssertionError(f"{expr} still empty after {timeout} s")
            time.sleep(0.5)
        return result

    def alerts(self) -> list[dict]:
        """Pending and firing alerts, as /api/v1/alerts reports them."""
        return self.api("alerts")["alerts"]

    def wait_for_alert(self, name: str, state: str = "firing", timeout: float = 60.0) -> dict:
        """The first alert of that name in that state; AssertionError after the timeout."""
        deadline = time.monotonic() + timeout
        while True:
            found = [alert for alert in self.alerts() if alert["labels"]["alertname"] == name]
            for alert in found:
                if alert["state"] == state:
                    return alert
            if time.monotonic() > deadline:
                raise AssertionError(f"{name} not {state} after {timeout} s; alerts now: {found}")
            time.sleep(0.5)


def with_hold(groups: list[dict], hold: str) -> list[dict]:
    """A copy of the groups whose alerts wait `hold` instead of their own `for:`."""
    groups = copy.deepcopy(groups)
    for group in groups:
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = hold
    return groups


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def configuration(target: str, rules_file: Path) -> dict:
    return {
        "global": {"scrape_interval": INTERVAL, "scrape_timeout": INTERVAL, "evaluation_interval": INTERVAL},
        "rule_files": [str(rules_file)],
        "scrape_configs": [{"job_name": JOB, "static_configs": [{"targets": [target]}]}],
    }


def wait_until_ready(process: subprocess.Popen, url: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"prometheus exited with {process.returncode}:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"prometheus not ready after {STARTUP_TIMEOUT} s:\n{log.read_text()[-2000:]}")


@contextmanager
def running_prometheus(target: str, hold: str | None = None) -> Iterator[Prometheus]:
    """Prometheus scraping `target` ("host:port", path /metrics) with our rules, stopped on exit."""
    binary = shutil.which("prometheus")
    if binary is None:
        raise RuntimeError("prometheus not installed (scripts/bootstrap.sh installs Debian's package)")
    groups = rule_groups() if hold is None else with_hold(rule_groups(), hold)
    with tempfile.TemporaryDirectory(prefix="infra-operator-prometheus-") as directory:
        directory = Path(directory)
        rules_file = write_rules_file(directory / "rules.yaml", groups)
        config = directory / "prometheus.yml"
        config.write_text(yaml.safe_dump(configuration(target, rules_file)))
        port = free_port()
        log = directory / "prometheus.log"
        with log.open("w") as output:
            process = subprocess.Popen(
                [binary, f"--config.file={config}", f"--storage.tsdb.path={directory / 'data'}",
                 f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                stdout=output, stderr=subprocess.STDOUT,
            )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_ready(process, url, log)
            yield Prometheus(url)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
