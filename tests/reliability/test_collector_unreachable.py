"""Collector unreachable or refusing: the operator keeps reconciling, /metrics keeps serving,
memory stays bounded and OpenTelemetry's export errors are logged at a bounded rate."""

from __future__ import annotations

import collections
import re
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from e2e.resources import Cluster
from e2e.runner import free_port
from e2e.test_elasticip import value

from .support import operator_process, wait_provider_ready

RUN_SECONDS = 6.0
# The operator lets each OpenTelemetry message through twice per window (cli.py's log handler).
LOG_LIMIT, LOG_WINDOW_SECONDS = 2, 60.0
# RSS may grow this much once warmed up (measured: about 0.1 MiB/s while objects are added).
RSS_GROWTH_KIB = 5 * 1024
# Export as often as possible, so that failures pile up quickly.
FAST_EXPORT = {"OTEL_METRIC_EXPORT_INTERVAL": "100", "OTEL_BSP_SCHEDULE_DELAY": "100",
               "OTEL_EXPORTER_OTLP_TIMEOUT": "500", "OTEL_METRICS_EXPORTER": "otlp", "OTEL_TRACES_EXPORTER": "otlp"}
# Text log lines of OpenTelemetry's loggers: (logger, message).
OTEL_LOG_LINE = re.compile(r"^\S+ \S+ (?:WARNING|ERROR)\s+(opentelemetry\.\S+) \[[^]]*\] (.*)$", re.MULTILINE)


class RefusingCollector:
    """An HTTP endpoint answering every OTLP export with 500; counts what it was sent."""

    def __init__(self) -> None:
        self.requests = 0
        collector = self

        class Refuse(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                collector.requests += 1
                self.send_response(500)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def exporters_logged(log: str) -> set[str]:
    return {logger.rsplit(".", 1)[-1] for logger, _ in OTEL_LOG_LINE.findall(log)}


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


def test_operator_keeps_working_with_the_collector_down_or_refusing(kube, aws, namespace):
    """Metrics go to a closed port, spans to an endpoint answering 500, both every 100 ms."""
    cluster = Cluster(kube, aws, namespace)
    collector = RefusingCollector()
    env = {**FAST_EXPORT, "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": f"http://127.0.0.1:{free_port()}/v1/metrics",
           "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"{collector.endpoint}/v1/traces"}
    operator_started = time.monotonic()
    try:
        with operator_process(kube, namespace, env=env) as process:
            cluster.create_provider("aws")
            wait_provider_ready(kube, process, f"{namespace}/aws")
            started = time.monotonic()
            scrapes, names, rss = 0, [], []
            while time.monotonic() - started < RUN_SECONDS:  # a new address, then 5 scrapes, each second
                names.append(f"eip-{len(names)}")
                cluster.create("ElasticIP", names[-1], {"providerRef": {"name": "aws"}})
                for _ in range(5):
                    scraped = urllib.request.urlopen(process.metrics_url, timeout=5).read()
                    assert b"infra_operator_reconcile_total" in scraped
                    scrapes += 1
                    time.sleep(0.2)
                rss.append(rss_kib(process.process.pid))
            for name in names:
                cluster.wait_ready("ElasticIP", name)
            # Resyncs went on too: more successful reconciles than creates.
            reconciles = kube.wait_for(lambda: value(process.metrics_url, "infra_operator_reconcile_total",
                                                     resource_type="ElasticIP", result="success"),
                                       until=lambda count: count > len(names), timeout=60, what="resyncs")
            kube.wait_for(lambda: collector.requests, until=lambda count: count >= 10, timeout=60,
                          what="span exports refused")
            cluster.delete_everything()
            # Both failures are reported.
            log = kube.wait_for(process.log, timeout=60, what="both exporters' failures logged",
                                until=lambda text: exporters_logged(text) == {"metric_exporter", "trace_exporter"})
            log_windows = 1 + (time.monotonic() - operator_started) // LOG_WINDOW_SECONDS
    finally:
        collector.close()
    # The first sample is taken once the EC2 client (and its service model) exists.
    assert rss[-1] - rss[0] < RSS_GROWTH_KIB, rss
    # Each message at most twice a minute, however often it recurs (a slow run may span more
    # than one minute: each window it spans allows two).
    otel_lines = collections.Counter((logger, re.sub(r"\d+", "N", message))
                                     for logger, message in OTEL_LOG_LINE.findall(log))
    assert max(otel_lines.values()) <= LOG_LIMIT * log_windows, (otel_lines, log_windows)
    print(f"\ncollector down: {len(names)} addresses Ready, {reconciles:g} successful reconciles, {scrapes} scrapes, "
          f"RSS {rss[0]} -> {rss[-1]} KiB, {collector.requests} span exports refused, "
          f"{sum(otel_lines.values())} OTel log lines: {dict(otel_lines)}")
