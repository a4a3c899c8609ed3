"""Reconcile traces as span trees in the terminal (`--show-traces`): what a Jaeger view shows,
from the spans the operator's own tracer provider finished (telemetry's RecentSpans)."""

from __future__ import annotations

import collections
import re
from collections.abc import Sequence

from ..telemetry import FinishedSpan

# Root spans the engine starts (see the telemetry recorders): one trace per reconcile or finalizer run.
ROOT_PREFIXES = ("reconcile ", "finalize ")
_AWS_ERROR = re.compile(r"An error occurred \(([^)]+)\)")
_RESOURCE_ATTRIBUTES = ("k8s.namespace.name", "infra_operator.resource.name")


def _error_code(description: str | None) -> str:
    """botocore's "An error occurred (Code) when calling ..." as its Code; else the text, short."""
    match = _AWS_ERROR.search(description or "")
    return match.group(1) if match else (description or "unknown")[:80]


def _milliseconds(span: FinishedSpan) -> str:
    return f"{span.duration * 1000:.1f} ms"


def describe(span: FinishedSpan) -> str:
    """One line for a span: name, object, trigger, outcome, duration, drift events."""
    attributes = span.attributes
    parts = [span.name]
    if all(key in attributes for key in _RESOURCE_ATTRIBUTES):
        parts[0] += f" {attributes['k8s.namespace.name']}/{attributes['infra_operator.resource.name']}"
    if "infra_operator.trigger" in attributes:
        parts.append(str(attributes["infra_operator.trigger"]))
    if "infra_operator.result" in attributes:
        outcome = str(attributes["infra_operator.result"])
        if "infra_operator.error_type" in attributes:
            outcome += f" ({attributes['infra_operator.error_type']})"
        parts.append(outcome)
    elif attributes.get("rpc.system") == "aws-api":
        # An AWS call: botocore's span status is ERROR for a failed call (after its retries).
        parts.append(f"error: {_error_code(span.status_description)}" if span.status == "error" else "ok")
    parts.append(_milliseconds(span))
    for event in span.events:
        if event.name == "drift.detected":
            fields = ", ".join(event.attributes.get("infra_operator.drift.fields", ()))
            parts.append(f"drift {event.attributes.get('infra_operator.drift.severity')}: {fields}")
    return " · ".join(parts)


def render_trace(trace: Sequence[FinishedSpan]) -> list[str]:
    """A trace (root first, as RecentSpans.latest_traces gives it) as an indented tree."""
    root, spans = trace[0], trace[1:]
    children: dict[str, list[FinishedSpan]] = collections.defaultdict(list)
    for span in sorted(spans, key=lambda span: span.start):
        children[span.parent_id or ""].append(span)
    lines = [describe(root)]

    def walk(parent: FinishedSpan, indent: str) -> None:
        below = children.get(parent.span_id, [])
        for index, child in enumerate(below):
            last = index == len(below) - 1
            lines.append(f"{indent}{'└─ ' if last else '├─ '}{describe(child)}")
            walk(child, indent + ("   " if last else "│  "))

    walk(root, "")
    return lines
