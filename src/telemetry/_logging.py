"""Trace context on log records, and a rate limit on OpenTelemetry's own export errors."""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from opentelemetry import trace

# Loggers of the OTel SDK and exporters: they log every failed export (and every retry of it).
OTEL_LOGGER_PREFIX = "opentelemetry"


# Inside `traced_logs()`: the first recorded span begun there (see `note_span`).
_first_span: contextvars.ContextVar[list[trace.SpanContext] | None] = contextvars.ContextVar(
    "infra_operator_first_span", default=None)


@contextlib.contextmanager
def traced_logs() -> Iterator[None]:
    """Records logged inside, outside any span, carry the first recorded span begun inside (e.g.
    a line about a reconcile's outcome, logged after its span ended, names that reconcile)."""
    token = _first_span.set([])
    try:
        yield
    finally:
        _first_span.reset(token)


def note_span(context: trace.SpanContext) -> None:
    """A recorded span began: the first one inside `traced_logs()` names the lines after it."""
    first = _first_span.get()
    if first is not None and not first:
        first.append(context)


class TraceContextFilter(logging.Filter):
    """Adds `trace_id` (32 hex digits) and `span_id` (16 hex digits) of the current span to
    every record (inside `traced_logs()` and no span: its first span), "" otherwise, so text
    formats can use `%(trace_id)s` and JSON formatters find them as attributes. Attach it to the
    handler, so records of every logger get it."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = trace.get_current_span().get_span_context()
        if not context.is_valid:
            context = next(iter(_first_span.get() or ()), context)
        if context.is_valid:
            record.trace_id = trace.format_trace_id(context.trace_id)
            record.span_id = trace.format_span_id(context.span_id)
        else:
            record.trace_id = ""
            record.span_id = ""
        return True


@dataclass
class _Window:
    start: float
    passed: int = 1
    suppressed: int = 0


class ExportErrorLimiter(logging.Filter):
    """Lets at most `burst` records of each OpenTelemetry message through per `window` seconds.

    With the collector down, the OTLP exporters log every failed export and every retry: one
    to several lines per export interval and signal, forever. A message is its logger and
    format string (a bounded set), so distinct problems still show; the first record let
    through in a new window says how many were dropped in the last one. Records of other
    loggers pass untouched. Attach it to the handler."""

    def __init__(self, burst: int = 2, window_seconds: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.burst = burst
        self.window_seconds = window_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, object], _Window] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(OTEL_LOGGER_PREFIX):
            return True
        key = (record.name, record.msg)
        now = self._clock()
        with self._lock:
            window = self._windows.get(key)
            if window is None or now - window.start >= self.window_seconds:
                self._windows[key] = _Window(now)
                if window is not None and window.suppressed:
                    record.msg = f"{record.msg} [{window.suppressed} similar messages suppressed before this one]"
                return True
            if window.passed < self.burst:
                window.passed += 1
                return True
            window.suppressed += 1
            return False
