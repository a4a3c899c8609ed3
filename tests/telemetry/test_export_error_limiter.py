"""OpenTelemetry's own log messages are rate-limited per message; other loggers pass."""

from __future__ import annotations

import logging

from infra_operator.telemetry import Telemetry

EXPORTER = "opentelemetry.exporter.otlp.proto.http.metric_exporter"
FAILED = "Failed to export %s batch code: %s, reason: %s"
WINDOW = 60.0


def record(logger: str, msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord(logger, logging.ERROR, __file__, 1, msg, args, None)


def test_a_burst_per_message_and_window_passes_and_the_next_window_counts_the_rest() -> None:
    now = [0.0]
    limiter = Telemetry.noop().export_error_filter(burst=2, window_seconds=WINDOW, clock=lambda: now[0])
    passed = [limiter.filter(record(EXPORTER, FAILED, "metrics", 500, "boom")) for _ in range(10)]
    assert passed == [True, True] + [False] * 8
    # Another message of the same logger, and another OTel logger, have their own budget.
    assert limiter.filter(record(EXPORTER, "Transient error %s, retrying in %.2fs.", "x", 1.0))
    assert limiter.filter(record("opentelemetry.exporter.otlp.proto.http.trace_exporter", FAILED, "spans", 500, "x"))
    now[0] += WINDOW - 1
    assert not limiter.filter(record(EXPORTER, FAILED, "metrics", 500, "boom"))  # still the first window
    now[0] += 1
    summary = record(EXPORTER, FAILED, "metrics", 503, "again")
    assert limiter.filter(summary)
    assert summary.getMessage() == ("Failed to export metrics batch code: 503, reason: again "
                                    "[9 similar messages suppressed before this one]")
    # A window in which nothing was suppressed adds nothing to the next one.
    now[0] += WINDOW
    quiet = record(EXPORTER, FAILED, "metrics", 500, "boom")
    assert limiter.filter(quiet) and quiet.getMessage().endswith("reason: boom")


def test_other_loggers_are_never_limited() -> None:
    limiter = Telemetry.noop().export_error_filter(burst=1, window_seconds=60)
    assert all(limiter.filter(record("infra_operator.engine", "reconcile %s failed", "ns/x")) for _ in range(100))
    assert all(limiter.filter(record("kopf.objects", "Handler failed")) for _ in range(100))
