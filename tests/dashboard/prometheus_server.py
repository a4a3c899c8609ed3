"""A real Prometheus (Debian's /usr/bin/prometheus) on 127.0.0.1 scraping given targets.

    with PrometheusServer(["127.0.0.1:8080"], data_dir) as prometheus:
        prometheus.wait_for("up == 1")
        prometheus.query("sum(infra_operator_reconcile_total)")

Scrapes every second; listens on a free loopback port; stops (and waits) on exit.
"""

from __future__ import annotations

import json
import pathlib
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence

import yaml
from local_process import LocalProcess, free_port

JOB = "infra-operator"


def binary() -> str | None:
    return shutil.which("prometheus")


class PrometheusServer(LocalProcess):
    name = "prometheus"

    def __init__(self, targets: Sequence[str], data_dir: pathlib.Path, job: str = JOB,
                 scrape_interval: str = "1s") -> None:
        super().__init__(data_dir / "prometheus.log")
        self.targets = list(targets)
        self.data_dir = data_dir
        self.job = job
        self.scrape_interval = scrape_interval
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start_command(self) -> list[str]:
        config = self.data_dir / "prometheus.yml"
        config.write_text(yaml.safe_dump({
            "global": {"scrape_interval": self.scrape_interval, "evaluation_interval": self.scrape_interval},
            "scrape_configs": [{"job_name": self.job, "static_configs": [{"targets": self.targets}]}],
        }))
        self.port = free_port()
        return [binary() or "prometheus", f"--config.file={config}", f"--storage.tsdb.path={self.data_dir / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"]

    def wait_ready(self, timeout: float = 20) -> None:
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

    def query(self, expr: str) -> list[dict]:
        """The `result` of an instant query."""
        url = f"{self.url}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"
        with urllib.request.urlopen(url, timeout=10) as response:
            payload = json.load(response)
        if payload["status"] != "success":
            raise RuntimeError(f"{expr!r}: {payload}")
        return payload["data"]["result"]

    def wait_for(self, expr: str, timeout: float = 30) -> list[dict]:
        """Polls until the instant query `expr` returns at least one series."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = self.query(expr)
            if result:
                return result
            time.sleep(0.25)
        raise TimeoutError(f"no result for {expr!r} within {timeout}s")
