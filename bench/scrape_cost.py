"""Scrape cost: the facade's /metrics render at about 1,000 and 10,000 series beside
prometheus_client rendering exactly the same series (same names and label sets, `_created`
series off), in the same run; and a whole scrape over HTTP of each one's own server.

    .venv/bin/python bench/scrape_cost.py [--series 1000 10000] [--repeats 15]

A series is one sample line of the text exposition (a histogram's label set is 14: 12 buckets,
_sum and _count), i.e. a series as Prometheus stores it. The facade is filled through its own
recording paths. Prints medians over the repeats (the sides alternate within each repeat) and
the facade/prometheus_client ratio; "facade, prometheus_client encoders" is the facade's render
as it was before it wrote the text itself (sorted families handed to prometheus_client's
encoder), for comparison. Renders are text 0.0.4; the HTTP scrapes send Prometheus's Accept
header, so both servers answer in OpenMetrics.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
import urllib.request
from collections.abc import Callable, Hashable

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from infra_operator.telemetry import Telemetry, TelemetrySettings, _exposition, catalog, setup_telemetry


def prometheus_client_registry() -> tuple[CollectorRegistry, dict[str, object]]:
    """prometheus_client instruments for every metric of the catalog, keyed by catalog name."""
    registry = CollectorRegistry(auto_describe=False)
    metrics: dict[str, object] = {}
    for spec in catalog.CATALOG:
        if spec.prometheus_type == "counter":
            metrics[spec.name] = Counter(spec.name, spec.help, spec.labels, registry=registry)
        elif spec.prometheus_type == "histogram":
            metrics[spec.name] = Histogram(spec.name, spec.help, spec.labels, registry=registry,
                                           buckets=catalog.BUCKETS)
        else:
            metrics[spec.name] = Gauge(spec.name, spec.help, spec.labels, registry=registry)
    return registry, metrics


def label_values(spec: catalog.MetricSpec, index: int) -> tuple[str, ...]:
    return tuple(f"{label}-{index}" for label in spec.labels)


def fill_facade(telemetry: Telemetry, series: int) -> None:
    """`series` label sets in each of the 21 families, through the facade's own recording paths
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


def series_in(exposition: bytes) -> int:
    return sum(len(family.samples) for family in text_string_to_metric_families(exposition.decode()))


def facade_with(series: int) -> Telemetry:
    """A live facade holding about `series` series."""
    probe = setup_telemetry(TelemetrySettings(instance_id="bench-probe"))
    fill_facade(probe, 10)
    per_label_set = series_in(probe.render_metrics()) / 10
    probe.shutdown()
    telemetry = setup_telemetry(TelemetrySettings(instance_id="bench"))
    fill_facade(telemetry, max(1, round(series / per_label_set)))
    return telemetry


def mirror(exposition: bytes) -> CollectorRegistry:
    """prometheus_client instruments holding the series of `exposition` (same names and label
    sets; histogram buckets hold one observation)."""
    registry, metrics = prometheus_client_registry()
    by_family = {spec.name.removesuffix("_total") if spec.prometheus_type == "counter" else spec.name: spec
                 for spec in catalog.CATALOG}
    for family in text_string_to_metric_families(exposition.decode()):
        spec = by_family[family.name]
        metric = metrics[spec.name]
        for sample in family.samples:
            labels = {name: value for name, value in sample.labels.items() if name != "le"}
            child = metric.labels(**labels)  # type: ignore[attr-defined]
            if spec.prometheus_type == "counter":
                child.inc(sample.value)
            elif spec.prometheus_type == "gauge":
                child.set(sample.value)
            elif sample.name.endswith("_count"):
                child.observe(0.1)
    return registry


# What Prometheus (2.x and 3.x defaults) asks for: OpenMetrics first.
PROMETHEUS_ACCEPT = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
                     "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")


def scrape(url: str) -> None:
    with urllib.request.urlopen(urllib.request.Request(url, headers={"Accept": PROMETHEUS_ACCEPT}),
                                timeout=30) as response:
        response.read()


def medians(runs: dict[Hashable, Callable[[], object]], repeats: int) -> dict[Hashable, float]:
    """Median seconds of each run, the runs alternating within each repeat."""
    samples: dict[Hashable, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            gc.collect()
            started = time.perf_counter()
            run()
            samples[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    prometheus_client.disable_created_metrics()
    print(f"/metrics cost in ms, median of {args.repeats} (ratio: facade / prometheus_client)")
    print(f"{'series':>7} {'facade':>8} {'prom_client':>12} {'ratio':>6} {'facade, prom_client encoders':>29} "
          f"{'HTTP facade':>12} {'HTTP prom_client':>17} {'ratio':>6}")
    for target in args.series:
        telemetry = facade_with(target)
        ours = telemetry.render_metrics()
        theirs = mirror(ours)
        assert series_in(generate_latest(theirs)) == series_in(ours), "not the same series"
        server = telemetry.serve_metrics("127.0.0.1", 0)
        their_server, their_thread = prometheus_client.start_http_server(0, "127.0.0.1", registry=theirs)
        their_url = f"http://127.0.0.1:{their_server.server_port}/metrics"
        cost = medians({
            "facade": telemetry.render_metrics,
            "prometheus_client": lambda: generate_latest(theirs),
            "facade, prometheus_client encoders": lambda: generate_latest(
                _exposition._FixedCollector(_exposition.sorted_families(telemetry._registry.collect()))),
            "HTTP facade": lambda: scrape(server.url),
            "HTTP prometheus_client": lambda: scrape(their_url),
        }, args.repeats)
        ms = {name: value * 1e3 for name, value in cost.items()}
        print(f"{series_in(ours):>7} {ms['facade']:7.1f} {ms['prometheus_client']:11.1f} "
              f"{ms['facade'] / ms['prometheus_client']:5.2f}x {ms['facade, prometheus_client encoders']:28.1f} "
              f"{ms['HTTP facade']:11.1f} {ms['HTTP prometheus_client']:16.1f} "
              f"{ms['HTTP facade'] / ms['HTTP prometheus_client']:5.2f}x")
        their_server.shutdown()
        their_thread.join()
        telemetry.shutdown()


if __name__ == "__main__":
    main()
