"""Exemplars for the /metrics exposition: the trace of a recent observation per histogram bucket.

The SDK samples exemplars (a sampled span's trace_id and span_id with the observed value) into
every reader's data, so OTLP carries them as they are; the Prometheus reader drops them when it
builds its families. `ExemplarReader` keeps the latest one per bucket of the catalog's
histograms from each collection (the SDK hands each exemplar over once) and `attach` puts them
on the bucket samples, where the OpenMetrics writer shows them (text 0.0.4 has no exemplars).
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Iterable
from typing import Any

from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics.export import Histogram, MetricsData
from prometheus_client.metrics_core import Metric
from prometheus_client.samples import Exemplar

from . import catalog

# (histogram name, its labels without `le`, sorted) and the bucket's `le`.
_BucketKey = tuple[str, tuple[tuple[str, str], ...], str]
_HISTOGRAMS = frozenset(spec.name for spec in catalog.CATALOG if spec.instrument is catalog.Instrument.HISTOGRAM)


def _le(bounds: tuple[float, ...], value: float) -> str:
    """The `le` of the bucket holding `value`, written as the exporter writes it."""
    index = bisect_left(bounds, value)
    return f"{bounds[index]}" if index < len(bounds) else "+Inf"


class ExemplarReader(PrometheusMetricReader):
    """The OTel Prometheus reader, keeping the catalog histograms' exemplars it would drop."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._lock = threading.Lock()
        self._latest: dict[_BucketKey, Exemplar] = {}

    def _receive_metrics(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> None:
        if metrics_data is not None:
            self._keep_exemplars(metrics_data)
        super()._receive_metrics(metrics_data, timeout_millis, **kwargs)

    def _keep_exemplars(self, metrics_data: MetricsData) -> None:
        latest: dict[_BucketKey, Exemplar] = {}
        for resource_metrics in metrics_data.resource_metrics:
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    if metric.name not in _HISTOGRAMS or not isinstance(metric.data, Histogram):
                        continue
                    for point in metric.data.data_points:
                        if not point.exemplars:
                            continue
                        labels = tuple(sorted((str(k), str(v)) for k, v in (point.attributes or {}).items()))
                        bounds = tuple(point.explicit_bounds)
                        for exemplar in point.exemplars:
                            if exemplar.trace_id is None or exemplar.span_id is None:
                                continue
                            latest[(metric.name, labels, _le(bounds, exemplar.value))] = Exemplar(
                                {"trace_id": format(exemplar.trace_id, "032x"),
                                 "span_id": format(exemplar.span_id, "016x")},
                                exemplar.value,
                                exemplar.time_unix_nano / 1e9,
                            )
        if latest:
            with self._lock:
                self._latest.update(latest)

    def attach(self, families: Iterable[Metric]) -> list[Metric]:
        """`families` (fresh from this reader's registry) with the kept exemplars on their
        histogram buckets."""
        families = list(families)
        with self._lock:
            if not self._latest:
                return families
            latest = dict(self._latest)
        for family in families:
            if family.name not in _HISTOGRAMS:
                continue
            samples = family.samples
            for index, sample in enumerate(samples):
                if not sample.name.endswith("_bucket"):
                    continue
                labels = sample.labels
                key = (family.name, tuple(sorted(item for item in labels.items() if item[0] != "le")), labels["le"])
                exemplar = latest.get(key)
                if exemplar is not None:
                    samples[index] = sample._replace(exemplar=exemplar)
        return families
