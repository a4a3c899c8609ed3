"""Deterministic Prometheus/OpenMetrics exposition.

The OTel Prometheus exporter emits families in first-recorded order and series in insertion
order, so the same state can render differently. Here families are sorted by name and series
by their label values (the ordering is a pure function).

The text is written here, byte for byte what prometheus_client's encoders write for the same
families (a test holds the two equal), in one pass that sorts and encodes each sample once:
prometheus_client's encoders take about twice as long at 10,000 series (docs/performance.md).
Exemplars on histogram buckets (see _exemplars.py) are written in OpenMetrics and left out of
text 0.0.4, as prometheus_client does. Anything else outside what the exporter produces
(timestamps, native histograms, other metric types, names needing escaping, escaping schemes
that rewrite names) goes through prometheus_client's own encoders instead.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from operator import itemgetter

from prometheus_client import exposition
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.openmetrics import exposition as openmetrics_exposition
from prometheus_client.openmetrics.exposition import CONTENT_TYPE_LATEST as OPENMETRICS_CONTENT_TYPE
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Exemplar
from prometheus_client.utils import floatToGoString

from . import catalog

OPENMETRICS_ACCEPT = OPENMETRICS_CONTENT_TYPE.split(";")[0]
# One exposed sample: (sample name, its labels) -> value.
SampleKey = tuple[str, frozenset[tuple[str, str]]]
# `le` (and OpenMetrics `quantile`) vary inside one series.
_WITHIN_SERIES = frozenset({"le", "quantile"})
_TYPES = frozenset({"counter", "gauge", "histogram"})
# Escaping schemes under which prometheus_client writes names of the legacy character set as
# they are (DOTS and VALUES rewrite some).
_NAME_PRESERVING = frozenset({openmetrics_exposition.UNDERSCORES, openmetrics_exposition.ALLOWUTF8})
_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


class _NotOurs(Exception):
    """The families hold something only prometheus_client's encoders write."""


def _series_key(labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    # Without `le`, a histogram's buckets, _count and _sum stay together in their original
    # order (the sorts are stable).
    return tuple(sorted((name, value) for name, value in labels.items() if name not in _WITHIN_SERIES))


def _by_name(families: Iterable[Metric]) -> list[Metric]:
    """Families sorted by name; the last one wins on a duplicate name."""
    by_name = {family.name: family for family in families}
    return [by_name[name] for name in sorted(by_name)]


def sorted_families(families: Iterable[Metric]) -> list[Metric]:
    """Families sorted by name, each with its samples grouped per series and the series sorted
    by label values. Input objects are not modified."""
    result = []
    for family in _by_name(families):
        family = copy.copy(family)
        family.samples = sorted(family.samples, key=lambda sample: _series_key(sample.labels))
        result.append(family)
    return result


@lru_cache(maxsize=4096)
def _metric_name(name: str) -> str:
    if not _METRIC_NAME.fullmatch(name):
        raise _NotOurs(name)
    return name


@lru_cache(maxsize=4096)
def _label_name(name: str) -> str:
    if not _LABEL_NAME.fullmatch(name) or name.startswith("__"):
        raise _NotOurs(name)
    return name


def _escape_value(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _exemplar(family: Metric, sample_name: str, exemplar: Exemplar) -> str:
    """` # {labels} value [timestamp]` after an OpenMetrics histogram bucket's value."""
    if family.type != "histogram" or not sample_name.endswith("_bucket"):
        raise _NotOurs(sample_name)
    labels = ",".join([f'{_label_name(k)}="{_escape_value(v)}"' for k, v in sorted(exemplar.labels.items())])
    timestamp = "" if exemplar.timestamp is None else f" {exemplar.timestamp}"
    return f" # {{{labels}}} {floatToGoString(exemplar.value)}{timestamp}"


def _sample_lines(family: Metric, moved_in_text: frozenset[str], exemplars: bool) -> list[str]:
    """The family's sample lines, series sorted by label values; `moved_in_text` are sample
    names the text format would move to families of their own (not ours to write). Exemplars
    are written when `exemplars` (OpenMetrics), and left out otherwise (text 0.0.4 has none)."""
    keyed = []
    for sample in family.samples:
        if (sample.timestamp is not None or sample.native_histogram is not None
                or sample.value is None or sample.name in moved_in_text):
            raise _NotOurs(sample.name)
        items = sorted(sample.labels.items())
        value = floatToGoString(sample.value)
        if sample.exemplar is not None and exemplars:
            value += _exemplar(family, sample.name, sample.exemplar)
        if items:
            labels = ",".join([f'{_label_name(k)}="{_escape_value(v)}"' for k, v in items])
            line = f"{_metric_name(sample.name)}{{{labels}}} {value}\n"
        else:
            line = f"{_metric_name(sample.name)} {value}\n"
        keyed.append((tuple(item for item in items if item[0] not in _WITHIN_SERIES), line))
    keyed.sort(key=itemgetter(0))
    return [line for _, line in keyed]


def _write_text(families: list[Metric]) -> bytes:
    """Prometheus text format 0.0.4."""
    output = []
    for family in families:
        if family.type not in _TYPES:
            raise _NotOurs(family.type)
        name = _metric_name(family.name + "_total" if family.type == "counter" else family.name)
        help_text = family.documentation.replace("\\", r"\\").replace("\n", r"\n")
        output.append(f"# HELP {name} {help_text}\n# TYPE {name} {family.type}\n")
        moved = frozenset(family.name + suffix for suffix in ("_created", "_gsum", "_gcount"))
        output += _sample_lines(family, moved, exemplars=False)
    return "".join(output).encode("utf-8")


def _write_openmetrics(families: list[Metric]) -> bytes:
    """OpenMetrics 1.0.0."""
    output = []
    for family in families:
        if family.type not in _TYPES:
            raise _NotOurs(family.type)
        name = _metric_name(family.name)
        output.append(f"# HELP {name} {_escape_value(family.documentation)}\n# TYPE {name} {family.type}\n")
        if family.unit:
            output.append(f"# UNIT {name} {family.unit}\n")
        output += _sample_lines(family, frozenset(), exemplars=True)
    output.append("# EOF\n")
    return "".join(output).encode("utf-8")


def _writer_for(encode: Callable[..., bytes]) -> Callable[[list[Metric]], bytes] | None:
    """Our writer for the format prometheus_client chose, when we write it identically."""
    function, options = getattr(encode, "func", encode), getattr(encode, "keywords", {})
    if options.get("escaping", openmetrics_exposition.UNDERSCORES) not in _NAME_PRESERVING:
        return None
    if function is exposition.generate_latest:
        return _write_text
    if function is openmetrics_exposition.generate_latest and options.get("version") == "1.0.0":
        return _write_openmetrics
    return None


class _FixedCollector:
    """The `registry` argument of prometheus_client's encoders: anything with collect()."""

    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> list[Metric]:
        return self._families


_EMPTY_FAMILY: dict[str, type[Metric]] = {
    "counter": CounterMetricFamily,
    "gauge": GaugeMetricFamily,
    "histogram": HistogramMetricFamily,
}
# The Prometheus names of the catalog's UCUM units (the exporter's translation).
_UNITS = {"": "", "s": "seconds"}


def _empty_family(spec: catalog.MetricSpec) -> Metric:
    return _EMPTY_FAMILY[spec.prometheus_type](spec.name, spec.help, labels=spec.labels, unit=_UNITS[spec.unit])


def with_catalog_families(families: Iterable[Metric]) -> list[Metric]:
    """`families` plus, for every catalog metric without samples yet, its family with no
    samples: its HELP and TYPE are exposed from the first scrape on."""
    families = list(families)
    present = {family.name for family in families}
    return [*(_empty_family(spec) for spec in catalog.CATALOG if _empty_family(spec).name not in present), *families]


def render(families: Iterable[Metric], accept_header: str | None = None) -> tuple[bytes, str]:
    """Sorted exposition of `families` in the format the Accept header asks for (text 0.0.4
    unless the scraper asks for OpenMetrics), and its Content-Type."""
    encode, content_type = choose_encoder(accept_header or "")
    families = list(families)
    writer = _writer_for(encode)
    if writer is not None:
        try:
            return writer(_by_name(families)), content_type
        except _NotOurs:
            pass
    return encode(_FixedCollector(sorted_families(families))), content_type


def parse_samples(text: str) -> dict[SampleKey, float]:
    """Every sample of a text exposition as {(sample name, labels): value}."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
