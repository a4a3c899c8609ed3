"""Builds the OTel providers, readers and exporters from TelemetrySettings."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from opentelemetry import metrics as metrics_api
from opentelemetry.instrumentation.botocore import BotocoreInstrumentor
from opentelemetry.sdk.metrics import (
    AlwaysOffExemplarFilter,
    AlwaysOnExemplarFilter,
    Counter,
    Exemplar,
    ExemplarFilter,
    ExemplarReservoir,
    Histogram,
    MeterProvider,
    ObservableCounter,
    ObservableGauge,
    ObservableUpDownCounter,
    TraceBasedExemplarFilter,
    UpDownCounter,
)
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    MetricExporter,
    MetricReader,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider, sampling
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from prometheus_client import CollectorRegistry

from . import catalog
from ._exemplars import ExemplarReader
from ._settings import GRPC, OtlpSettings, TelemetrySettings
from ._telemetry import Telemetry

_log = logging.getLogger(__name__)
_SCOPE = "infra_operator"
_DELTA, _CUMULATIVE = AggregationTemporality.DELTA, AggregationTemporality.CUMULATIVE
# OTel's temporality presets (the OTLP exporter spec's "cumulative", "delta", "lowmemory").
_TEMPORALITY: dict[str, dict[type, AggregationTemporality]] = {
    "cumulative": dict.fromkeys(
        (Counter, UpDownCounter, Histogram, ObservableCounter, ObservableUpDownCounter, ObservableGauge), _CUMULATIVE
    ),
    "delta": {
        Counter: _DELTA,
        Histogram: _DELTA,
        ObservableCounter: _DELTA,
        UpDownCounter: _CUMULATIVE,
        ObservableUpDownCounter: _CUMULATIVE,
        ObservableGauge: _CUMULATIVE,
    },
    "lowmemory": {
        Counter: _DELTA,
        Histogram: _DELTA,
        ObservableCounter: _CUMULATIVE,
        UpDownCounter: _CUMULATIVE,
        ObservableUpDownCounter: _CUMULATIVE,
        ObservableGauge: _CUMULATIVE,
    },
}
_EXEMPLAR_FILTERS: dict[str, Callable[[], ExemplarFilter]] = {
    "trace_based": TraceBasedExemplarFilter,
    "always_on": AlwaysOnExemplarFilter,
    "always_off": AlwaysOffExemplarFilter,
}


class _NoExemplars(ExemplarReservoir):
    """Keeps no exemplar: only the duration histograms promise them, and a counter's reservoir
    would otherwise sample every sampled add (a random draw and a copy of its context)."""

    def __init__(self, **_options: object) -> None:
        pass

    def offer(self, value: float, time_unix_nano: int, attributes: object, context: object) -> None:
        pass

    def collect(self, point_attributes: object) -> list[Exemplar]:
        return []


def catalog_views() -> list[View]:
    """One View per histogram of the catalog (pinning its buckets), per counter (no exemplars)
    and per other metric with a series limit of its own; Views apply to every reader."""
    return [
        View(
            instrument_name=spec.name,
            aggregation=ExplicitBucketHistogramAggregation(boundaries=spec.buckets) if spec.buckets else None,
            aggregation_cardinality_limit=spec.series_limit,
            exemplar_reservoir_factory=(lambda _aggregation: _NoExemplars)
            if spec.instrument is catalog.Instrument.COUNTER else None,
        )
        for spec in catalog.METRICS
        if spec.buckets is not None or spec.series_limit is not None or spec.instrument is catalog.Instrument.COUNTER
    ]


def build_sampler(name: str, arg: float | None) -> sampling.Sampler:
    ratio = 1.0 if arg is None else arg
    roots: dict[str, sampling.Sampler] = {
        "always_on": sampling.ALWAYS_ON,
        "always_off": sampling.ALWAYS_OFF,
        "traceidratio": sampling.TraceIdRatioBased(ratio),
    }
    if name.startswith("parentbased_"):
        return sampling.ParentBased(roots[name.removeprefix("parentbased_")])
    return roots[name]


# The exporters are imported when configured: the grpc one alone takes most of a second.
def _metric_exporter(otlp: OtlpSettings, temporality: str) -> MetricExporter:
    preferred = _TEMPORALITY[temporality]
    if otlp.protocol == GRPC:
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcExporter

        return GrpcExporter(
            endpoint=otlp.endpoint,
            headers=dict(otlp.headers),
            timeout=otlp.timeout_seconds,
            preferred_temporality=preferred,
        )
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpExporter

    return HttpExporter(
        endpoint=otlp.endpoint,
        headers=dict(otlp.headers),
        timeout=otlp.timeout_seconds,
        preferred_temporality=preferred,
    )


def _span_exporter(otlp: OtlpSettings) -> SpanExporter:
    if otlp.protocol == GRPC:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter

        return GrpcExporter(endpoint=otlp.endpoint, headers=dict(otlp.headers), timeout=otlp.timeout_seconds)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

    return HttpExporter(endpoint=otlp.endpoint, headers=dict(otlp.headers), timeout=otlp.timeout_seconds)


def _instrument_botocore(tracer_provider: TracerProvider) -> BotocoreInstrumentor | None:
    """Turn on botocore's CLIENT spans (one per logical call, a child of the current span).
    The instrumentation patches botocore process-wide, so the first live Telemetry owns it
    until its shutdown."""
    instrumentor = BotocoreInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        _log.warning("botocore is already instrumented; AWS call spans go to the first tracer provider")
        return None
    # Its extensions may create their own metrics: keep them out of our catalog's exposition.
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=metrics_api.NoOpMeterProvider())
    return instrumentor


def setup_telemetry(
    settings: TelemetrySettings | None = None, *, extra_span_processors: Sequence[SpanProcessor] = ()
) -> Telemetry:
    """MeterProvider (Views pin the buckets; the Prometheus reader on its own registry, without
    otel_scope_* labels or target_info; an OTLP reader when configured), TracerProvider (OTLP
    when configured, plus `extra_span_processors`, e.g. a `RecentSpans`) and botocore span
    instrumentation. Sets no global provider and starts no server (see `Telemetry.serve_metrics`)."""
    settings = settings or TelemetrySettings.from_env()
    resource = Resource(settings.resource())
    registry = CollectorRegistry(auto_describe=False)

    meter_provider = None
    meter: metrics_api.Meter = metrics_api.NoOpMeter(_SCOPE)
    prometheus_reader = None
    if settings.metrics_enabled:
        prometheus_reader = ExemplarReader(disable_target_info=True, scope_info_enabled=False, registry=registry)
        readers: list[MetricReader] = [prometheus_reader]
        if settings.metrics_otlp is not None:
            readers.append(
                PeriodicExportingMetricReader(
                    _metric_exporter(settings.metrics_otlp, settings.temporality),
                    export_interval_millis=settings.metric_export_interval_seconds * 1000,
                    export_timeout_millis=settings.metric_export_timeout_seconds * 1000,
                )
            )
        meter_provider = MeterProvider(
            metric_readers=readers,
            resource=resource,
            views=catalog_views(),
            exemplar_filter=_EXEMPLAR_FILTERS[settings.exemplar_filter](),
        )
        meter = meter_provider.get_meter(_SCOPE, settings.service_version)

    tracer_provider = TracerProvider(resource=resource, sampler=build_sampler(settings.sampler, settings.sampler_arg))
    if settings.traces_otlp is not None:
        tracer_provider.add_span_processor(BatchSpanProcessor(_span_exporter(settings.traces_otlp)))
    for processor in extra_span_processors:
        tracer_provider.add_span_processor(processor)
    instrumentor = _instrument_botocore(tracer_provider)

    def flush(timeout_seconds: float) -> bool:
        millis = int(timeout_seconds * 1000)
        spans_flushed = tracer_provider.force_flush(millis)
        return (meter_provider is None or meter_provider.force_flush(millis)) and spans_flushed

    def close() -> None:
        if instrumentor is not None:
            instrumentor.uninstrument()
        tracer_provider.shutdown()
        if meter_provider is not None:
            meter_provider.shutdown()

    return Telemetry(
        meter,
        tracer_provider.get_tracer(_SCOPE, settings.service_version),
        registry,
        close=close,
        flush=flush,
        expose_catalog=settings.metrics_enabled,
        exemplars=prometheus_reader,
    )
