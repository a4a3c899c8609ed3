"""A scrape target exposing all 21 catalog metrics with moving values, for renderer tests.

The instruments are built from the catalog (names, types, labels, buckets) with prometheus_client
on a loopback port; a thread records a little of everything each tick, so every dashboard query
has data after a few scrapes. The operator itself serves these metrics in the end-to-end tests.
"""

from __future__ import annotations

import random
import threading
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from infra_operator.telemetry import catalog as m

KINDS = ("ElasticIP", "VPC", "Subnet")
AWS_OPERATIONS = (("EC2", "AllocateAddress"), ("EC2", "DescribeVpcs"), ("STS", "GetCallerIdentity"))


def _instrument(spec, registry):
    common = {"name": spec.name, "documentation": spec.help, "labelnames": spec.labels, "registry": registry}
    if spec.prometheus_type == "counter":
        return Counter(**common)
    if spec.prometheus_type == "histogram":
        return Histogram(buckets=spec.buckets, **common)
    return Gauge(**common)


class CatalogTarget:
    def __init__(self, tick_seconds: float = 0.1, seed: int = 7) -> None:
        self.registry = CollectorRegistry()
        self.metrics = {spec.name: _instrument(spec, self.registry) for spec in m.CATALOG}
        self.tick_seconds = tick_seconds
        self.random = random.Random(seed)
        self.port = 0
        self._stop = threading.Event()
        self._server = None
        self._thread = threading.Thread(target=self._run, name="catalog-target", daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> CatalogTarget:
        self._tick()  # every family exists before the first scrape
        self._server, _ = start_http_server(0, addr="127.0.0.1", registry=self.registry)
        self.port = self._server.server_port
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()
        self._server.shutdown()
        self._server.server_close()

    def _run(self) -> None:
        while not self._stop.wait(self.tick_seconds):
            self._tick()

    def _metric(self, spec):
        return self.metrics[spec.name]

    def _tick(self) -> None:
        rnd = self.random
        for kind in KINDS:
            result = rnd.choices(("success", "error", "requeue"), weights=(8, 1, 1))[0]
            self._metric(m.RECONCILE_TOTAL).labels(kind, result).inc()
            if result == "error":
                self._metric(m.RECONCILE_ERRORS).labels(kind, rnd.choice(("sync_failed", "aws_api_failed"))).inc()
            self._metric(m.RECONCILE_DURATION).labels(kind).observe(rnd.lognormvariate(-1.5, 1))
            self._metric(m.DRIFT_DETECTION_DURATION).labels(kind).observe(rnd.lognormvariate(-3, 0.7))
            self._metric(m.FINALIZER_DURATION).labels(kind).observe(rnd.lognormvariate(-0.5, 0.8))
            self._metric(m.WORKQUEUE_ADDS).labels(kind).inc()
            self._metric(m.WORKQUEUE_DEPTH).labels(kind).set(rnd.randint(0, 12))
            cache = m.CACHE_HITS if rnd.random() < 0.85 else m.CACHE_MISSES
            self._metric(cache).labels(kind).inc()
            if rnd.random() < 0.1:
                self._metric(m.DRIFT_DETECTED).labels(kind, rnd.choice(("critical", "warning", "info"))).inc()
                if rnd.random() < 0.8:
                    self._metric(m.DRIFT_HEALED).labels(kind).inc()
                else:
                    self._metric(m.DRIFT_HEALING_FAILURES).labels(kind, "drift_healing_failed").inc()
            if rnd.random() < 0.05:
                self._metric(m.FINALIZER_ERRORS).labels(kind, "finalizer_failed").inc()
            for status, count in zip(("ready", "pending", "error"), (5, rnd.randint(0, 2), rnd.randint(0, 1))):
                self._metric(m.RESOURCES).labels(kind, status).set(count)
            self._metric(m.RESOURCE_CREATION_TIMESTAMP).labels(kind, f"{kind.lower()}-a").set(
                time.time() - 3600 * (1 + KINDS.index(kind)))
        for service, operation in AWS_OPERATIONS:
            failed = rnd.random() < 0.1
            self._metric(m.AWS_API_CALLS).labels(service, operation, "error" if failed else "success").inc()
            self._metric(m.AWS_API_CALL_DURATION).labels(service, operation).observe(rnd.lognormvariate(-3, 0.8))
            if failed:
                code = rnd.choice(("RequestLimitExceeded", "InvalidParameterValue"))
                self._metric(m.AWS_API_ERRORS).labels(service, operation, code).inc()
            if rnd.random() < 0.05:
                self._metric(m.AWS_API_THROTTLES).labels(service, operation).inc()
        self._metric(m.PROVIDER_READY).labels("default", "us-east-1").set(1)
        self._metric(m.PROVIDER_READY).labels("legacy", "eu-west-1").set(0)
        rotations = self._metric(m.PROVIDER_CREDENTIAL_ROTATIONS).labels("default")
        if rnd.random() < 0.02:
            rotations.inc()
