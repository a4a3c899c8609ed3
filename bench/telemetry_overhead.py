"""Per-operation cost of the telemetry facade and /metrics render time, each beside
prometheus_client doing the same work in the same run.

    .venv/bin/python bench/telemetry_overhead.py [--ops 20000] [--repeats 7] [--series 300]

Prints medians over the repeats and the facade/prometheus_client ratio.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from infra_operator.telemetry import Telemetry, TelemetrySettings, catalog, setup_telemetry


def median_seconds(run: Callable[[], None], repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def per_op(action: Callable[[], None], ops: int, repeats: int) -> float:
    def loop() -> None:
        for _ in range(ops):
            action()

    return median_seconds(loop, repeats) / ops


def prometheus_client_registry() -> tuple[CollectorRegistry, dict[str, object]]:
    registry = CollectorRegistry(auto_describe=False)
    metrics: dict[str, object] = {}
    for spec in catalog.CATALOG:
        if spec.prometheus_type == "counter":
            metrics[spec.name] = Counter(spec.name, spec.help, spec.labels, registry=registry)
        elif spec.prometheus_type == "histogram":
            metrics[spec.name] = Histogram(
                spec.name, spec.help, spec.labels, registry=registry, buckets=catalog.BUCKETS
            )
        else:
            metrics[spec.name] = Gauge(spec.name, spec.help, spec.labels, registry=registry)
    return registry, metrics


def label_values(spec: catalog.MetricSpec, index: int) -> tuple[str, ...]:
    return tuple(f"{label}-{index}" for label in spec.labels)


def fill_facade(telemetry: Telemetry, series: int) -> None:
    """`series` series in each of the 21 families, through the facade's own recording paths
    (gauges from state, counters and histograms through the catalog's instruments)."""
    instruments = telemetry._instruments  # the benchmark fills every family directly
    for index in range(series):
        for spec in catalog.CATALOG:
            if spec.prometheus_type == "counter":
                instruments[spec](1, *label_values(spec, index))
            elif spec.prometheus_type == "histogram":
                instruments[spec](0.1, *label_values(spec, index))
        # resources_total reports every status per type: series/5 types give `series` series.
        if index % len(catalog.STATUSES) == 0:
            telemetry.resources.set(f"Kind{index}", f"ns/r{index}", "ready", f"r{index}")
        telemetry.resources.set("VPC", f"ns/vpc{index}", "ready", f"vpc{index}", created_at=1_700_000_000 + index)
        telemetry.providers.set_ready(f"provider-{index}", "us-east-1", True)
        telemetry.workqueue.enqueue(f"Kind{index}", "ns/a")


def fill_prometheus_client(metrics: dict[str, object], series: int) -> None:
    for index in range(series):
        for spec in catalog.CATALOG:
            child = metrics[spec.name].labels(*label_values(spec, index))  # type: ignore[attr-defined]
            if spec.prometheus_type == "counter":
                child.inc()
            elif spec.prometheus_type == "histogram":
                child.observe(0.1)
            else:
                child.set(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--series", type=int, default=300)
    args = parser.parse_args()

    telemetry = setup_telemetry(TelemetrySettings(instance_id="bench"))
    _, metrics = prometheus_client_registry()
    duration = telemetry._instruments[catalog.RECONCILE_DURATION]
    cache_hits = metrics[catalog.CACHE_HITS.name]
    histogram = metrics[catalog.RECONCILE_DURATION.name]

    def reconcile() -> None:
        with telemetry.reconcile("VPC", "default", "main", trigger="update"):
            pass

    rows = [
        (
            "counter add (cache_lookup)",
            per_op(lambda: telemetry.cache_lookup("VPC", True), args.ops, args.repeats),
            per_op(lambda: cache_hits.labels("VPC").inc(), args.ops, args.repeats),  # type: ignore[attr-defined]
        ),
        (
            "histogram record",
            per_op(lambda: duration(0.1, "VPC"), args.ops, args.repeats),
            per_op(lambda: histogram.labels("VPC").observe(0.1), args.ops, args.repeats),  # type: ignore[attr-defined]
        ),
        (
            "reconcile recorder (span + counter + histogram)",
            per_op(reconcile, args.ops // 4, args.repeats),
            None,
        ),
    ]
    print(f"per operation, median of {args.repeats} runs x {args.ops} ops (prometheus_client with .labels() per call)")
    print(f"{'operation':50} {'facade':>10} {'prom_client':>12} {'ratio':>7}")
    for name, ours, theirs in rows:
        if theirs is None:
            print(f"{name:50} {ours * 1e6:8.2f}us {'-':>12} {'-':>7}")
        else:
            print(f"{name:50} {ours * 1e6:8.2f}us {theirs * 1e6:10.2f}us {ours / theirs:6.1f}x")
    telemetry.shutdown()

    render_telemetry = setup_telemetry(TelemetrySettings(instance_id="bench-render"))
    fill_facade(render_telemetry, args.series)
    render_registry, render_metrics = prometheus_client_registry()
    fill_prometheus_client(render_metrics, args.series)
    ours_body = render_telemetry.render_metrics()
    theirs_body = generate_latest(render_registry)
    ours = median_seconds(render_telemetry.render_metrics, args.repeats)
    theirs = median_seconds(lambda: generate_latest(render_registry), args.repeats)
    print(f"\n/metrics render, 21 families x {args.series} series, median of {args.repeats}")
    print(f"{'facade (OTel collect + sort + encode)':50} {ours * 1e3:8.1f}ms ({len(ours_body) / 1e6:.2f} MB)")
    print(f"{'prometheus_client generate_latest':50} {theirs * 1e3:8.1f}ms ({len(theirs_body) / 1e6:.2f} MB)")
    print(f"{'ratio':50} {ours / theirs:8.1f}x")
    render_telemetry.shutdown()


if __name__ == "__main__":
    main()
