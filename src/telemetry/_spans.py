"""Finished spans kept in memory as plain data, for views that show traces without a backend
(the sandbox's terminal trace view, tests). Add one with
`setup_telemetry(settings, extra_span_processors=[recent])`."""

from __future__ import annotations

import collections
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import StatusCode


@dataclass(frozen=True, slots=True)
class SpanEvent:
    name: str
    attributes: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class SpanLink:
    """A link from a span to a span of another trace (ids lowercase hex)."""

    trace_id: str
    span_id: str
    attributes: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class FinishedSpan:
    """One ended span. Ids are lowercase hex; times are epoch seconds."""

    name: str
    trace_id: str
    span_id: str
    parent_id: str | None
    start: float
    duration: float
    attributes: Mapping[str, Any]
    # "unset", "ok" or "error" (OTel's StatusCode, lowercase), and the error description.
    status: str
    status_description: str | None
    events: tuple[SpanEvent, ...]
    links: tuple[SpanLink, ...] = ()

    @classmethod
    def of(cls, span: ReadableSpan) -> FinishedSpan:
        context = span.get_span_context()
        start, end = span.start_time or 0, span.end_time or span.start_time or 0
        status = span.status
        return cls(
            name=span.name,
            trace_id=format(context.trace_id, "032x"),
            span_id=format(context.span_id, "016x"),
            parent_id=format(span.parent.span_id, "016x") if span.parent is not None else None,
            start=start / 1e9,
            duration=(end - start) / 1e9,
            attributes=dict(span.attributes or {}),
            status=StatusCode(status.status_code).name.lower(),
            status_description=status.description,
            events=tuple(SpanEvent(event.name, dict(event.attributes or {})) for event in span.events),
            links=tuple(SpanLink(format(link.context.trace_id, "032x"), format(link.context.span_id, "016x"),
                                 dict(link.attributes or {})) for link in span.links),
        )


class RecentSpans(SpanProcessor):
    """A span processor keeping the last `limit` finished spans (oldest dropped first)."""

    def __init__(self, limit: int = 5000) -> None:
        self._spans: collections.deque[FinishedSpan] = collections.deque(maxlen=limit)
        self._lock = threading.Lock()

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        pass

    def on_end(self, span: ReadableSpan) -> None:
        finished = FinishedSpan.of(span)
        with self._lock:
            self._spans.append(finished)

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True

    def spans(self) -> list[FinishedSpan]:
        """Every kept span, in the order they ended."""
        with self._lock:
            return list(self._spans)

    def latest_traces(self, count: int, root_prefixes: tuple[str, ...] = ()) -> list[list[FinishedSpan]]:
        """The `count` most recently ended traces whose root span was kept (and whose name
        starts with one of `root_prefixes`, when given), oldest first; each trace is its root
        followed by the kept spans of the same trace in the order they started. A span ends
        after its children, so a trace is complete once its root has ended."""
        spans = self.spans()
        roots = [span for span in reversed(spans)
                 if span.parent_id is None and (not root_prefixes or span.name.startswith(root_prefixes))][:count]
        by_trace: dict[str, list[FinishedSpan]] = {root.trace_id: [] for root in roots}
        for span in spans:
            if span.trace_id in by_trace and span.parent_id is not None:
                by_trace[span.trace_id].append(span)
        return [[root, *sorted(by_trace[root.trace_id], key=lambda span: span.start)] for root in reversed(roots)]
