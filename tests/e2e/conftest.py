"""End-to-end fixtures: one in-process operator for this package's tests (package scope: its
telemetry owns the process-wide botocore instrumentation only while they run), serving the API emulation (or the
KUBECONFIG cluster) cluster-wide, talking to the session's moto server over HTTP. Each test works
in a namespace of its own."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator

import pytest

from infra_operator.telemetry import RecentSpans, Telemetry, TelemetrySettings, setup_telemetry

from .runner import InProcessOperator, kube_server, test_config
from .resources import Cluster


@pytest.fixture(scope="package")
def spans() -> RecentSpans:
    """The operator's finished spans (every trace is sampled)."""
    return RecentSpans()


@pytest.fixture(scope="package")
def telemetry(spans: RecentSpans) -> Iterator[Telemetry]:
    live = setup_telemetry(TelemetrySettings.from_env(environ={}), extra_span_processors=[spans])
    yield live
    live.shutdown()


@pytest.fixture(scope="package")
def metrics_url(telemetry: Telemetry) -> Iterator[str]:
    server = telemetry.serve_metrics("127.0.0.1", 0)
    yield server.url
    server.close()


@pytest.fixture(scope="package")
def operator(kube, aws, telemetry: Telemetry) -> Iterator[InProcessOperator]:
    running = InProcessOperator(test_config(kube_server(kube)), telemetry).start()
    yield running
    running.stop()


@pytest.fixture
def cluster(kube, aws, operator, request: pytest.FixtureRequest) -> Iterator[Cluster]:
    """A fresh `e2e-…` namespace with a Ready AWSProvider `aws`; every object of ours created in
    it is deleted (and its deletion awaited) afterwards."""
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:30].strip("-")
    namespace = f"e2e-{slug}-{secrets.token_hex(3)}"
    kube.create_namespace(namespace)
    env = Cluster(kube, aws, namespace)
    env.create_provider("aws")
    env.wait_ready("AWSProvider", "aws")
    yield env
    env.delete_everything()
    kube.delete_namespace(namespace)
