"""One observed run for the whole package: the real operator (in process, its /metrics served on
127.0.0.1) against the session's moto server and Kubernetes API, scraped every second by a real
Prometheus holding the PrometheusRule's rules, and exporting OTLP through a real rotel-agent to a
receiver. `run` drives the activity of `scenario.py` once; the tests only look at the results.

Everything is package-scoped: the telemetry (which owns botocore's span instrumentation until its
shutdown) is shut down when the package ends, so other packages' tests are unaffected.
"""

from __future__ import annotations

import pathlib
import secrets
from collections.abc import Iterator
from dataclasses import replace

import pytest

from deploy.prom import running_prometheus
from e2e.resources import Cluster
from e2e.runner import InProcessOperator, kube_server, test_config
from infra_operator.operator.engine.reconciler import EngineSettings
from infra_operator.telemetry import Telemetry, TelemetrySettings, setup_telemetry
from otlp_receiver import GrpcReceiver
from prometheus_server import PrometheusServer
from rotel_agent import RotelAgent

from .scenario import ObservedRun

# Every alert's `for:` in the temporary rules file (the manifest keeps its own).
HOLD = "1s"
# Marks the test that stops the operator's /metrics server: it runs after the package's others.
STOPS_OPERATOR = "stops_operator"

PACKAGE = pathlib.Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark this package's tests live (they need Prometheus and rotel), and move the ones that stop
    the operator behind the others (the package stays contiguous, so its run is set up once)."""
    ours = [index for index, item in enumerate(items) if PACKAGE in item.path.parents]
    if not ours:
        return
    for index in ours:
        for mark in (pytest.mark.live, pytest.mark.tools("prometheus", "rotel-agent")):
            items[index].add_marker(mark)
    end = ours[-1] + 1
    stopping = [items[index] for index in ours if items[index].get_closest_marker(STOPS_OPERATOR)]
    items[:end] = [item for item in items[:end] if item not in stopping] + stopping


@pytest.fixture(autouse=True)
def _clear_aws_faults() -> Iterator[None]:
    """Overrides the per-test clearing: the run's faults (the rejected key) hold for the whole
    package, like the state of a real account; the run clears them when it ends."""
    yield


@pytest.fixture(scope="package")
def receiver() -> Iterator[GrpcReceiver]:
    with GrpcReceiver() as server:
        yield server


@pytest.fixture(scope="package")
def rotel(receiver: GrpcReceiver, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RotelAgent]:
    with RotelAgent(receiver.endpoint, tmp_path_factory.mktemp("rotel")) as agent:
        yield agent


@pytest.fixture(scope="package")
def telemetry(rotel: RotelAgent) -> Iterator[Telemetry]:
    """The operator's telemetry: Prometheus exposition, and OTLP over gRPC to rotel-agent."""
    live = setup_telemetry(TelemetrySettings.from_env(environ={
        "OTEL_EXPORTER_OTLP_ENDPOINT": rotel.grpc_endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        "OTEL_METRIC_EXPORT_INTERVAL": "5000",
        "POD_NAME": "infra-operator-live",
    }))
    yield live
    live.shutdown()


@pytest.fixture(scope="package")
def metrics_server(telemetry: Telemetry):
    server = telemetry.serve_metrics("127.0.0.1", 0)
    yield server
    server.close()


@pytest.fixture(scope="package")
def prometheus(metrics_server) -> Iterator[PrometheusServer]:
    with running_prometheus(f"127.0.0.1:{metrics_server.port}", hold=HOLD) as server:
        yield server


@pytest.fixture(scope="package")
def live_namespace(kube) -> Iterator[str]:
    name = f"live-{secrets.token_hex(3)}"
    kube.create_namespace(name)
    yield name
    kube.delete_namespace(name)


@pytest.fixture(scope="package")
def operator(kube, aws, live_namespace: str, telemetry: Telemetry) -> Iterator[InProcessOperator]:
    config = test_config(kube_server(kube), namespaces=(live_namespace,), resync_interval=1.0)
    config = replace(config, engine=EngineSettings(provisioning_delay=1.0, dependents_delay=1.0))
    running = InProcessOperator(config, telemetry).start()
    yield running
    running.stop()


@pytest.fixture(scope="package")
def run(kube, aws, live_namespace: str, operator: InProcessOperator,
        prometheus: PrometheusServer) -> Iterator[ObservedRun]:
    """The observed run, driven once; ready when Prometheus has scraped it until `settled`."""
    observed = ObservedRun(Cluster(kube, aws, live_namespace))
    try:
        observed.drive()
        prometheus.wait_for(f'timestamp(up{{job="infra-operator"}}) > {observed.settled}')
        yield observed
    finally:
        observed.clean_up()
