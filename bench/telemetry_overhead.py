"""Telemetry overhead: CPU time per reconcile with telemetry on and off, and the per-operation
cost of the facade's counter add and histogram record beside prometheus_client, each measured
side by side in one run.

    .venv/bin/python bench/telemetry_overhead.py [--ops 20000] [--reconciles 200] [--repeats 7]

Reconciles: the engine resyncs ElasticIPs against the moto server (describe cache off, so each
reconcile reads its address from AWS: by id, and by owner tag for twins), with telemetry on
(`setup_telemetry`: Prometheus reader, spans without an exporter, botocore spans and AWS call
metrics) or off (`Telemetry.noop()`, no instrumentation). CPU time is the reconciling thread's
(`time.thread_time`), which leaves out moto, serving in threads of its own. On and off
alternate within each repeat. Prints medians and the on/off and facade/prometheus_client ratios.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from collections.abc import Callable

from _stack import MotoServer
from scrape_cost import medians, prometheus_client_registry

from infra_operator.operator.engine.reconciler import EngineSettings, Reconciler
from infra_operator.operator.kinds.elasticip import ElasticIP
from infra_operator.operator.provider.sessions import ProviderSessions
from infra_operator.operator.provider.session import ProviderConfig, StaticCredentials
from infra_operator.telemetry import Telemetry, TelemetrySettings, catalog, setup_telemetry

PROVIDER = "bench/aws"


def looped(action: Callable[[], None], ops: int) -> Callable[[], None]:
    def loop() -> None:
        for _ in range(ops):
            action()

    return loop


class NoOtherObjects:
    """The engine's ClusterView for ElasticIPs alone: no references, no dependents."""

    def find(self, kind: str, namespace: str, name: str) -> None:
        return None

    def dependents(self, kind: str, namespace: str, name: str) -> list[str]:
        return []


def engine_for(aws: MotoServer, telemetry: Telemetry, instrument: bool) -> Reconciler:
    providers = ProviderSessions(instrument=telemetry.instrument_aws if instrument else lambda events: None)
    providers.apply(ProviderConfig(PROVIDER, "us-east-1", aws.endpoint, StaticCredentials("testing", "testing")))
    providers.mark(PROVIDER, True)
    return Reconciler(telemetry, providers, EngineSettings(describe_cache=False))


def elastic_ips(aws: MotoServer, count: int) -> list[dict]:
    """`count` ElasticIP bodies, created in moto by the engine (status filled in)."""
    engine, bodies = engine_for(aws, Telemetry.noop(), instrument=False), []
    for index in range(count):
        body = {"kind": "ElasticIP", "metadata": {"namespace": "bench", "name": f"eip-{index}",
                                                  "uid": str(uuid.uuid4()), "generation": 1},
                "spec": {"providerRef": {"name": "aws"}}, "status": {}}
        body["status"] = dict(engine.reconcile(ElasticIP(), body, "create", NoOtherObjects()).status)
        bodies.append(body)
    return bodies


def reconcile_cpu(aws: MotoServer, bodies: list[dict], telemetry_on: bool) -> float:
    """Thread CPU seconds per resync of every body, on a fresh engine (its clients built first)."""
    telemetry = setup_telemetry(TelemetrySettings(instance_id="bench")) if telemetry_on else Telemetry.noop()
    try:
        engine, kind, cluster = engine_for(aws, telemetry, instrument=telemetry_on), ElasticIP(), NoOtherObjects()
        engine.reconcile(kind, bodies[0], "resync", cluster)
        started = time.thread_time()
        for body in bodies:
            outcome = engine.reconcile(kind, body, "resync", cluster)
            assert outcome.retry_after is None and not outcome.permanent, outcome.message
        return (time.thread_time() - started) / len(bodies)
    finally:
        telemetry.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=20000)
    parser.add_argument("--reconciles", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    with MotoServer() as aws:
        aws.warm_up()
        bodies = elastic_ips(aws, args.reconciles)
        runs: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(args.repeats):
            for telemetry_on in (True, False):
                runs[telemetry_on].append(reconcile_cpu(aws, bodies, telemetry_on))
    on, off = statistics.median(runs[True]), statistics.median(runs[False])
    print(f"CPU time per reconcile (ElasticIP resync, two describes), median of {args.repeats} x {args.reconciles}")
    print(f"{'telemetry on':50} {on * 1e3:8.3f}ms")
    print(f"{'telemetry off':50} {off * 1e3:8.3f}ms")
    print(f"{'ratio (on/off)':50} {on / off:8.2f}x   (+{(on - off) * 1e6:.0f}us per reconcile)\n")

    telemetry = setup_telemetry(TelemetrySettings(instance_id="bench"))
    _, metrics = prometheus_client_registry()
    series = telemetry._instruments._series  # the OTel instruments behind the facade
    attributes = {"resource_type": "VPC"}
    duration = telemetry._instruments[catalog.RECONCILE_DURATION]

    def reconcile() -> None:
        with telemetry.reconcile("VPC", "default", "main", trigger="update"):
            pass

    actions = {
        ("counter add (cache_lookup)", "facade"): lambda: telemetry.cache_lookup("VPC", True),
        ("counter add (cache_lookup)", "sdk"): lambda: series[catalog.CACHE_HITS.name]._record(1, attributes),
        ("counter add (cache_lookup)", "prometheus_client"):
            lambda: metrics[catalog.CACHE_HITS.name].labels("VPC").inc(),  # type: ignore[attr-defined]
        ("histogram record", "facade"): lambda: duration(0.1, "VPC"),
        ("histogram record", "sdk"): lambda: series[catalog.RECONCILE_DURATION.name]._record(0.1, attributes),
        ("histogram record", "prometheus_client"):
            lambda: metrics[catalog.RECONCILE_DURATION.name].labels("VPC").observe(0.1),  # type: ignore[attr-defined]
        ("reconcile recorder (span + counter + histogram)", "facade"): reconcile,
    }
    cost = {key: seconds / args.ops
            for key, seconds in medians({key: looped(action, args.ops) for key, action in actions.items()},
                                        args.repeats).items()}
    print(f"per operation, median of {args.repeats} runs x {args.ops} ops, interleaved "
          "(prometheus_client with .labels() per call)")
    print(f"{'operation':48} {'facade':>9} {'OTel SDK alone':>15} {'prom_client':>12} {'facade/prom_client':>19}")
    for name in dict.fromkeys(name for name, _ in actions):
        ours, sdk, theirs = (cost.get((name, side)) for side in ("facade", "sdk", "prometheus_client"))
        if theirs is None:
            print(f"{name:48} {ours * 1e6:7.2f}us")
        else:
            print(f"{name:48} {ours * 1e6:7.2f}us {sdk * 1e6:13.2f}us {theirs * 1e6:10.2f}us {ours / theirs:18.1f}x")
    telemetry.shutdown()


if __name__ == "__main__":
    main()
