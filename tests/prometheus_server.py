"""A real Prometheus (Debian's /usr/bin/prometheus) on 127.0.0.1: the one runner every test uses.

    with PrometheusServer(["127.0.0.1:8080"], workdir, rule_files=[rules]) as prometheus:
        prometheus.wait_for('up{job="infra-operator"} == 1')
        prometheus.query("sum(infra_operator_reconcile_total)")
        prometheus.wait_for_alert("InfraOperatorAWSAPIThrottled")

The targets are scraped as one job ("infra-operator" unless told otherwise: what our rules match
on) every `interval`, and rules are evaluated at the same interval. It listens on a free loopback
port, keeps its data and log in `workdir`, and is stopped (and awaited) on exit.
"""

from __future__ import annotations

import json
import math
import pathlib
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence

import yaml
from local_process import LocalProcess, free_port
from tools import find_tool

JOB = "infra-operator"


def finite_values(result: list[dict]) -> list[float]:
    """The finite sample values of an instant query's result (0/0 gives NaN: no answer)."""
    return [value for value in (float(sample["value"][1]) for sample in result) if math.isfinite(value)]


class PrometheusError(RuntimeError):
    """Prometheus refused a request (a bad query, for one); the message is its own."""


class PrometheusServer(LocalProcess):
    name = "prometheus"

    def __init__(self, targets: Sequence[str], workdir: pathlib.Path, *, job: str = JOB,
                 interval: str = "1s", rule_files: Sequence[pathlib.Path] = (),
                 features: Sequence[str] = ("exemplar-storage",)) -> None:
        super().__init__(workdir / "prometheus.log")
        self.targets = list(targets)
        self.workdir = workdir
        self.job = job
        self.interval = interval
        self.rule_files = [str(path) for path in rule_files]
        # Exemplar storage keeps the trace ids the operator's OpenMetrics exposition carries.
        self.features = list(features)
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start_command(self) -> list[str]:
        config = self.workdir / "prometheus.yml"
        config.write_text(yaml.safe_dump({
            "global": {"scrape_interval": self.interval, "scrape_timeout": self.interval,
                       "evaluation_interval": self.interval},
            "rule_files": self.rule_files,
            "scrape_configs": [{"job_name": self.job, "static_configs": [{"targets": self.targets}]}],
        }))
        self.port = free_port()
        return [find_tool("prometheus") or "prometheus", f"--config.file={config}", f"--storage.tsdb.path={self.workdir / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn",
                *(f"--enable-feature={feature}" for feature in self.features)]

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError):
                pass
            time.sleep(0.1)
        raise TimeoutError(f"prometheus not ready after {timeout}s: {self.log_tail()}")

    # HTTP API -------------------------------------------------------------------------------

    def api(self, path: str, **parameters: object) -> dict | list:
        """The `data` of /api/v1/<path>; PrometheusError with Prometheus's message on failure."""
        body = urllib.parse.urlencode(parameters).encode()
        request = urllib.request.Request(f"{self.url}/api/v1/{path}", data=body if parameters else None)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                payload = json.load(response)
        except urllib.error.HTTPError as error:  # bad queries are answered 400/422 with a JSON error
            payload = json.load(error)
        if payload.get("status") != "success":
            raise PrometheusError(f"{path} {parameters}: {payload.get('errorType')}: {payload.get('error')}")
        return payload["data"]

    def query(self, expr: str, at: float | None = None) -> list[dict]:
        """The instant vector of an expression, now or at Unix time `at`:
        [{"metric": {...}, "value": [time, "value"]}]."""
        data = self.api("query", query=expr, **({"time": at} if at is not None else {}))
        if data["resultType"] != "vector":  # a scalar or string: one unlabelled sample
            return [{"metric": {}, "value": data["result"]}]
        return data["result"]

    def wait_for(self, expr: str, timeout: float = 30) -> list[dict]:
        """Polls until the instant query `expr` returns at least one series."""
        deadline = time.monotonic() + timeout
        while not (result := self.query(expr)):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no result for {expr!r} within {timeout}s")
            time.sleep(0.25)
        return result

    def exemplars(self, expr: str, start: float, end: float) -> list[dict]:
        """Stored exemplars of the series `expr` selects between two Unix times:
        [{"seriesLabels": {...}, "exemplars": [{"labels": {...}, "value": "…", "timestamp": …}]}]."""
        return self.api("query_exemplars", query=expr, start=start, end=end)

    def alerts(self) -> list[dict]:
        """Pending and firing alerts, as /api/v1/alerts reports them."""
        return self.api("alerts")["alerts"]

    def wait_for_alert(self, name: str, state: str = "firing", timeout: float = 60) -> dict:
        """The first alert of that name in that state; TimeoutError after the timeout."""
        deadline = time.monotonic() + timeout
        while True:
            found = [alert for alert in self.alerts() if alert["labels"]["alertname"] == name]
            for alert in found:
                if alert["state"] == state:
                    return alert
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} not {state} after {timeout}s; alerts now: {found}")
            time.sleep(0.25)
