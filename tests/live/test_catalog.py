"""The observed run gives every one of the 21 catalog metrics data in Prometheus."""

from infra_operator.telemetry import catalog


def series_name(spec: catalog.MetricSpec) -> str:
    return f"{spec.name}_bucket" if spec.prometheus_type == "histogram" else spec.name


def test_every_catalog_metric_has_data_in_prometheus(run, prometheus):
    counts = prometheus.query('count by (__name__) ({__name__=~"infra_operator_.+"})', at=run.settled)
    present = {result["metric"]["__name__"] for result in counts}
    assert {series_name(spec) for spec in catalog.CATALOG} <= present
