"""Instruments built from the catalog, and the recorder objects the engine uses.

Recorders are context managers that run a block inside a span, time it and classify its
outcome; all label values are checked against the catalog's sets, so a typo fails loudly in
the engine's unit tests instead of creating a new series in production.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from opentelemetry import context, metrics, trace
from opentelemetry.trace import Status, StatusCode

from . import catalog
from ._logging import note_span
from ._state import Point, check_label

Attributes = dict[str, str]


@dataclass(frozen=True, slots=True)
class SpanRef:
    """A span by its ids, lowercase hex (32 and 16 digits), as W3C Trace Context writes them."""

    trace_id: str
    span_id: str

# Span attribute names shared by the reconcile, finalizer and drift spans.
ATTR_NAMESPACE = "k8s.namespace.name"
ATTR_RESOURCE_NAME = "infra_operator.resource.name"
ATTR_RESOURCE_TYPE = "infra_operator.resource_type"
ATTR_TRIGGER = "infra_operator.trigger"
ATTR_RESULT = "infra_operator.result"
ATTR_ERROR_TYPE = "infra_operator.error_type"
ATTR_DRIFT_SEVERITY = "infra_operator.drift.severity"
ATTR_DRIFT_FIELDS = "infra_operator.drift.fields"
DRIFT_EVENT = "drift.detected"


class Series:
    """Records into one instrument with label values given in the catalog's label order.

    OTel has no bound instruments; building the attribute dict once per label-value tuple and
    reusing it is the cheap part we can save on every call.
    """

    __slots__ = ("_attributes", "_names", "_record")

    def __init__(self, record: Callable[[float, Attributes], None], names: Sequence[str]) -> None:
        self._record = record
        self._names = tuple(names)
        self._attributes: dict[tuple[str, ...], Attributes] = {}

    def __call__(self, value: float, *label_values: str) -> None:
        attributes = self._attributes.get(label_values)
        if attributes is None:
            attributes = self._attributes[label_values] = dict(zip(self._names, label_values, strict=True))
        self._record(value, attributes)


def _observer(
    names: Sequence[str], source: Callable[[], Iterable[Point]]
) -> Callable[[metrics.CallbackOptions], list[metrics.Observation]]:
    def observe(_options: metrics.CallbackOptions) -> list[metrics.Observation]:
        return [metrics.Observation(value, dict(zip(names, labels, strict=True))) for value, labels in source()]

    return observe


class Instruments:
    """One recording Series per catalog counter/histogram; observable gauges read `sources`
    (catalog metric -> function returning the current points)."""

    def __init__(self, meter: metrics.Meter, sources: Mapping[catalog.MetricSpec, Callable[[], Iterable[Point]]]):
        self._series: dict[str, Series] = {}
        for spec in catalog.METRICS:
            if spec.instrument is catalog.Instrument.COUNTER:
                counter = meter.create_counter(spec.name, unit=spec.unit, description=spec.help)
                self._series[spec.name] = Series(counter.add, spec.labels)
            elif spec.instrument is catalog.Instrument.HISTOGRAM:
                # Buckets come from the Views (setup), which apply to every reader.
                histogram = meter.create_histogram(spec.name, unit=spec.unit, description=spec.help)
                self._series[spec.name] = Series(histogram.record, spec.labels)
            else:
                meter.create_observable_gauge(
                    spec.name,
                    callbacks=[_observer(spec.labels, sources[spec])],
                    unit=spec.unit,
                    description=spec.help,
                )

    def __getitem__(self, spec: catalog.MetricSpec) -> Series:
        return self._series[spec.name]

    def declare(self, **given: str) -> None:
        """Export at 0 every counter series that `given` (label=value) determines with the
        catalog's known values, so a series exists before its first event and `increase()`
        sees that event. Adding 0 to an existing series changes nothing."""
        for spec in catalog.CATALOG:
            for label_values in spec.known_series(given):
                self._series[spec.name](0, *label_values)


class _TimedSpan:
    """Runs a block inside a current span and measures its duration; subclasses record the
    outcome in `_finish`, which is skipped when the block was cancelled (operator shutdown)."""

    __slots__ = ("_attributes", "_context_token", "_span_name", "_started", "_tracer", "span")

    def __init__(self, tracer: trace.Tracer, span_name: str, attributes: Attributes) -> None:
        self._tracer = tracer
        self._span_name = span_name
        self._attributes = attributes
        self.span: trace.Span = trace.INVALID_SPAN

    def _start(self) -> None:
        # What `start_as_current_span` does, without its two generator-based context managers
        # (a measurable share of a span's cost); `__exit__` does the rest.
        self.span = self._tracer.start_span(self._span_name, attributes=self._attributes)
        self._context_token = context.attach(trace.set_span_in_context(self.span))
        note_span(self.span.get_span_context())
        self._started = time.perf_counter()

    def _finish(self, elapsed: float, failed: bool) -> None:
        raise NotImplementedError

    @property
    def sampled_span(self) -> SpanRef | None:
        """This span as a reference others can link to, when it is sampled (exported): a trace
        id written where a person reads it (an event, a status) must lead to a stored trace."""
        context = self.span.get_span_context()
        if not (context.is_valid and context.trace_flags.sampled):
            return None
        return SpanRef(format(context.trace_id, "032x"), format(context.span_id, "016x"))

    def link(self, target: SpanRef, **attributes: str) -> None:
        """Link this span to another trace's span (e.g. the reconcile that made a dependency
        Ready); a malformed reference is ignored, it comes from an object's status."""
        try:
            context = trace.SpanContext(int(target.trace_id, 16), int(target.span_id, 16), is_remote=True,
                                        trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED))
        except (TypeError, ValueError):
            return
        if context.is_valid:
            self.span.add_link(context, attributes)

    def __enter__(self) -> Self:
        self._start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # Cancellation (operator shutdown) and interpreter exits are not outcomes of the work.
        try:
            if exc is None or isinstance(exc, Exception):
                self._finish(time.perf_counter() - self._started, failed=exc is not None)
        finally:
            context.detach(self._context_token)
            # As `use_span` would: an escaping exception is an `exception` event and the status.
            if isinstance(exc, Exception) and self.span.is_recording():
                self.span.record_exception(exc)
                self.span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
            self.span.end()


class ReconcileRecorder(_TimedSpan):
    """`with telemetry.reconcile(...) as rec:`; see `Telemetry.reconcile`."""

    __slots__ = ("_instruments", "error_type", "resource_type", "result")

    def __init__(
        self,
        tracer: trace.Tracer,
        instruments: Instruments,
        resource_type: str,
        namespace: str,
        name: str,
        trigger: str,
    ) -> None:
        super().__init__(
            tracer,
            f"reconcile {resource_type}",
            {
                ATTR_NAMESPACE: namespace,
                ATTR_RESOURCE_NAME: name,
                ATTR_RESOURCE_TYPE: resource_type,
                ATTR_TRIGGER: trigger,
            },
        )
        self._instruments = instruments
        self.resource_type = resource_type
        self.result = "success"
        self.error_type: str | None = None

    def outcome(self, result: str, error_type: str | None = None) -> None:
        """Classify the reconcile: result success|error|requeue, optionally an error_type
        (also allowed with requeue, e.g. a throttled call). The last call wins."""
        self.result = check_label("result", result, catalog.RESULTS)
        self.error_type = None if error_type is None else check_label("error_type", error_type, catalog.ERROR_TYPES)

    def _finish(self, elapsed: float, failed: bool) -> None:
        if failed:
            self.result = "error"
            self.error_type = self.error_type or "sync_failed"
        self.span.set_attributes({ATTR_RESULT: self.result} if self.error_type is None
                                 else {ATTR_RESULT: self.result, ATTR_ERROR_TYPE: self.error_type})
        if self.result == "error":
            self.span.set_status(Status(StatusCode.ERROR, self.error_type))
        instruments = self._instruments
        instruments[catalog.RECONCILE_TOTAL](1, self.resource_type, self.result)
        instruments[catalog.RECONCILE_DURATION](elapsed, self.resource_type)
        if self.error_type is not None:
            instruments[catalog.RECONCILE_ERRORS](1, self.resource_type, self.error_type)


class FinalizerRecorder(_TimedSpan):
    """`with telemetry.finalizer(...) as rec:`; see `Telemetry.finalizer`."""

    __slots__ = ("_instruments", "error_type", "resource_type")

    def __init__(self, tracer: trace.Tracer, instruments: Instruments, resource_type: str, namespace: str, name: str):
        super().__init__(
            tracer,
            f"finalize {resource_type}",
            {ATTR_NAMESPACE: namespace, ATTR_RESOURCE_NAME: name, ATTR_RESOURCE_TYPE: resource_type},
        )
        self._instruments = instruments
        self.resource_type = resource_type
        self.error_type: str | None = None

    def fail(self, error_type: str) -> None:
        """The finalizer failed (without raising) for this reason."""
        self.error_type = check_label("error_type", error_type, catalog.ERROR_TYPES)

    def _finish(self, elapsed: float, failed: bool) -> None:
        if failed:
            self.error_type = self.error_type or "finalizer_failed"
        self.span.set_attribute(ATTR_RESULT, "success" if self.error_type is None else "error")
        self._instruments[catalog.FINALIZER_DURATION](elapsed, self.resource_type)
        if self.error_type is not None:
            self.span.set_attribute(ATTR_ERROR_TYPE, self.error_type)
            self.span.set_status(Status(StatusCode.ERROR, self.error_type))
            self._instruments[catalog.FINALIZER_ERRORS](1, self.resource_type, self.error_type)


class DriftRecorder(_TimedSpan):
    """`with telemetry.drift_check(...) as rec:`; see `Telemetry.drift_check`."""

    __slots__ = ("_instruments", "resource_type")

    def __init__(self, tracer: trace.Tracer, instruments: Instruments, resource_type: str, namespace: str, name: str):
        super().__init__(
            tracer,
            f"drift {resource_type}",
            {ATTR_NAMESPACE: namespace, ATTR_RESOURCE_NAME: name, ATTR_RESOURCE_TYPE: resource_type},
        )
        self._instruments = instruments
        self.resource_type = resource_type

    def detected(self, severity: str, fields: Iterable[str]) -> None:
        """Drift found. `fields` are the drifted field paths; their values never leave here."""
        check_label("severity", severity, catalog.SEVERITIES)
        self._instruments[catalog.DRIFT_DETECTED](1, self.resource_type, severity)
        self.span.add_event(DRIFT_EVENT, {ATTR_DRIFT_SEVERITY: severity, ATTR_DRIFT_FIELDS: sorted(fields)})

    def healed(self) -> None:
        """The drift was healed (may be called after the block exited)."""
        self._instruments[catalog.DRIFT_HEALED](1, self.resource_type)

    def heal_failed(self, error_type: str) -> None:
        """Healing the drift failed (may be called after the block exited)."""
        check_label("error_type", error_type, catalog.ERROR_TYPES)
        self._instruments[catalog.DRIFT_HEALING_FAILURES](1, self.resource_type, error_type)

    def _finish(self, elapsed: float, failed: bool) -> None:
        self._instruments[catalog.DRIFT_DETECTION_DURATION](elapsed, self.resource_type)
