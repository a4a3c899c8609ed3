"""Trace context on log records."""

from __future__ import annotations

import logging

from opentelemetry import trace


class TraceContextFilter(logging.Filter):
    """Adds `trace_id` (32 hex digits) and `span_id` (16 hex digits) of the current span to
    every record, "" outside a span, so text formats can use `%(trace_id)s` and JSON
    formatters find them as attributes. Attach it to the handler, so records of every logger
    get it."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            record.trace_id = trace.format_trace_id(context.trace_id)
            record.span_id = trace.format_span_id(context.span_id)
        else:
            record.trace_id = ""
            record.span_id = ""
        return True
