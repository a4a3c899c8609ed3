"""Deterministic Prometheus/OpenMetrics exposition.

The OTel Prometheus exporter emits families in first-recorded order and series in insertion
order, so the same state can render differently. Here families are sorted by name and series
by their label values (the ordering is a pure function); prometheus_client's own encoders then
write the text, so escaping and the formats stay exactly theirs.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable

from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics.exposition import CONTENT_TYPE_LATEST as OPENMETRICS_CONTENT_TYPE
from prometheus_client.parser import text_string_to_metric_families

OPENMETRICS_ACCEPT = OPENMETRICS_CONTENT_TYPE.split(";")[0]
# One exposed sample: (sample name, its labels) -> value.
SampleKey = tuple[str, frozenset[tuple[str, str]]]


def _series_key(labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    # `le` (and OpenMetrics `quantile`) vary inside one series; leaving them out keeps a
    # histogram's buckets, _count and _sum together in their original order (the sort is stable).
    return tuple(sorted((name, value) for name, value in labels.items() if name not in ("le", "quantile")))


def sorted_families(families: Iterable[Metric]) -> list[Metric]:
    """Families sorted by name (the last one wins on a duplicate name), each with its samples
    grouped per series and the series sorted by label values. Input objects are not modified."""
    by_name: dict[str, Metric] = {}
    for family in families:
        by_name[family.name] = family
    result = []
    for name in sorted(by_name):
        family = copy.copy(by_name[name])
        family.samples = sorted(family.samples, key=lambda sample: _series_key(sample.labels))
        result.append(family)
    return result


class _FixedCollector:
    """The `registry` argument of prometheus_client's encoders: anything with collect()."""

    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> list[Metric]:
        return self._families


def encoder_for(accept_header: str | None) -> tuple[Callable[[list[Metric]], bytes], str]:
    """The encoder and Content-Type for a scrape's Accept header (text 0.0.4 unless the
    scraper asks for OpenMetrics)."""
    encode, content_type = choose_encoder(accept_header or "")
    return (lambda families: encode(_FixedCollector(families))), content_type


def render(families: Iterable[Metric], accept_header: str | None = None) -> tuple[bytes, str]:
    """Sorted exposition of `families` and its Content-Type."""
    encode, content_type = encoder_for(accept_header)
    return encode(sorted_families(families)), content_type


def parse_samples(text: str) -> dict[SampleKey, float]:
    """Every sample of a text exposition as {(sample name, labels): value}."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
