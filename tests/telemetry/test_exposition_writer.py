"""The exposition's own text writers give byte for byte what prometheus_client's encoders give
for the same sorted families; what they do not write falls back to prometheus_client's."""

from __future__ import annotations

import pytest
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import (CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily,
                                            InfoMetricFamily, Metric)
from prometheus_client.samples import Exemplar, Sample

from infra_operator.telemetry import Telemetry, _exposition

from .test_exposition import state_changes

PROMETHEUS_SCRAPE_ACCEPT = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
                            "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
OURS = [None, _exposition.OPENMETRICS_ACCEPT, PROMETHEUS_SCRAPE_ACCEPT, "text/plain;version=1.0.0;escaping=allow-utf-8",
        "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8"]


def edge_families() -> list[Metric]:
    replaced = GaugeMetricFamily("aaa_first", "replaced by the later family of the same name")
    replaced.add_metric([], 1)
    counter = CounterMetricFamily("edge_requests", 'help with \\ a backslash,\na newline and "quotes"',
                                  labels=["path", "code"])
    counter.add_metric(['/a"b', "200"], 3)
    counter.add_metric(["c:\\d\ne", "500"], float("inf"))
    counter.add_metric(["", "200"], 0)
    gauge = GaugeMetricFamily("edge_temperature_celsius", "no labels", value=float("nan"), unit="celsius")
    histogram = HistogramMetricFamily("edge_latency_seconds", "buckets", labels=["kind"], unit="seconds")
    histogram.add_metric(["b"], buckets=[("0.1", 1), ("1", 2), ("+Inf", 3)], sum_value=1234567.0)
    histogram.add_metric(["a"], buckets=[("0.1", 0), ("1", 0), ("+Inf", 0)], sum_value=-0.0)
    histogram.add_metric(["c"], sum_value=2.5, buckets=[
        ("0.1", 1, Exemplar({"trace_id": "0af7651916cd43dd8448eb211c80319c", "span_id": "b7ad6b7169203331"}, 0.05,
                            1700000000.25)),
        ("1", 1),
        ("+Inf", 2, Exemplar({"span_id": "00f067aa0ba902b7", "trace_id": 'odd"\\one'}, 2.45)),
    ])
    first = GaugeMetricFamily("aaa_first", "sorts first; labels in any order", labels=["zone", "app"])
    first.add_metric(["2", "x"], 1e-7)
    first.add_metric(["1", "y"], -5)
    first.add_metric(["1", "x"], 12345678901234.0)
    return [replaced, histogram, counter, gauge, first]


def live_families(telemetry: Telemetry) -> list[Metric]:
    for change in state_changes(telemetry):
        change()
    return list(telemetry._registry.collect())


def prometheus_client_rendering(families: list[Metric], accept: str | None) -> tuple[bytes, str]:
    encode, content_type = choose_encoder(accept or "")
    return encode(_exposition._FixedCollector(_exposition.sorted_families(families))), content_type


@pytest.mark.parametrize("accept", OURS)
def test_the_writers_match_prometheus_client_byte_for_byte(telemetry: Telemetry, accept: str | None) -> None:
    encode, _ = choose_encoder(accept or "")
    writer = _exposition._writer_for(encode)
    assert writer is not None
    for families in (edge_families(), live_families(telemetry)):
        expected = prometheus_client_rendering(families, accept)
        assert writer(_exposition._by_name(families)) == expected[0]
        assert _exposition.render(families, accept) == expected


def with_sample(family: Metric, **fields: object) -> Metric:
    family.samples = [Sample(**{**sample._asdict(), **fields}) for sample in family.samples]
    return family


def not_ours() -> list[list[Metric]]:
    def counter(labels: list[str]) -> CounterMetricFamily:
        family = CounterMetricFamily("odd_total", "odd", labels=labels)
        family.add_metric(["v"] * len(labels), 1)
        return family

    info = InfoMetricFamily("build", "build info", value={"version": "1"})
    return [[counter(["a"]), info], [with_sample(counter(["a"]), timestamp=1700000000)], [counter(["__reserved"])],
            [counter(["a.b"])]]


@pytest.mark.parametrize("families", not_ours(), ids=["info", "timestamp", "reserved-label", "utf8-label"])
@pytest.mark.parametrize("accept", [None, _exposition.OPENMETRICS_ACCEPT])
def test_what_the_writers_do_not_write_goes_to_prometheus_client(families: list[Metric], accept: str | None) -> None:
    writer = _exposition._writer_for(choose_encoder(accept or "")[0])
    with pytest.raises(_exposition._NotOurs):
        writer(_exposition._by_name(families))
    assert _exposition.render(families, accept) == prometheus_client_rendering(families, accept)


def test_a_counters_exemplar_goes_to_prometheus_client_in_openmetrics_and_is_left_out_of_text() -> None:
    family = CounterMetricFamily("odd_total", "odd", labels=["a"])
    family.add_metric(["v"], 1)
    families = [with_sample(family, exemplar=Exemplar({"trace_id": "ab"}, 1.0))]
    with pytest.raises(_exposition._NotOurs):
        _exposition._write_openmetrics(families)
    for accept in (None, _exposition.OPENMETRICS_ACCEPT):
        assert _exposition.render(families, accept) == prometheus_client_rendering(families, accept)
    assert b"trace_id" not in _exposition.render(families)[0]


@pytest.mark.parametrize("accept", ["application/openmetrics-text;version=1.0.0;escaping=dots",
                                    "application/openmetrics-text;version=1.0.0;escaping=values",
                                    "text/plain;version=1.0.0;escaping=dots"])
def test_an_escaping_that_rewrites_names_goes_to_prometheus_client(accept: str) -> None:
    assert _exposition._writer_for(choose_encoder(accept)[0]) is None
    assert _exposition.render(edge_families(), accept) == prometheus_client_rendering(edge_families(), accept)
