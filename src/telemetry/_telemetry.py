"""The Telemetry facade: the one object the rest of the operator records through."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable, Iterable, Iterator
import contextlib
from contextlib import contextmanager
from typing import Any

from opentelemetry import metrics, trace
from prometheus_client import CollectorRegistry

from . import _exposition, catalog
from ._aws import AwsApiHooks, EventEmitter
from ._exemplars import ExemplarReader
from ._logging import ExportErrorLimiter, TraceContextFilter, traced_logs
from ._recorders import DriftRecorder, FinalizerRecorder, Instruments, ReconcileRecorder
from ._server import MetricsServer
from ._state import Leadership, PendingKeys, ProviderRegistry, ResourceRegistry


class Providers:
    """AWSProvider readiness and credential rotations (`telemetry.providers`)."""

    def __init__(self, registry: ProviderRegistry, instruments: Instruments) -> None:
        self._registry = registry
        self._instruments = instruments
        self._rotations = instruments[catalog.PROVIDER_CREDENTIAL_ROTATIONS]

    def set_ready(self, provider_name: str, region: str, ready: bool) -> None:
        """provider_ready{provider_name, region} becomes 1 (ready) or 0; a provider seen for
        the first time gets its credential rotation count at 0."""
        if self._registry.set_ready(provider_name, region, ready):
            self._instruments.declare(provider_name=provider_name)

    def forget(self, provider_name: str) -> None:
        """The provider is gone: its provider_ready series disappears."""
        self._registry.forget(provider_name)

    def credential_rotated(self, provider_name: str) -> None:
        self._rotations(1, provider_name)


class WorkQueue:
    """Queued work per resource type (`telemetry.workqueue`)."""

    def __init__(self, pending: PendingKeys, adds: Callable[..., None]) -> None:
        self._pending = pending
        self._adds = adds

    def enqueue(self, resource_type: str, key: Hashable) -> None:
        """workqueue_adds_total +1; the key counts in workqueue_depth until `done`."""
        self._adds(1, resource_type)
        self._pending.add(resource_type, key)

    def done(self, resource_type: str, key: Hashable) -> None:
        self._pending.discard(resource_type, key)


class Telemetry:
    """Metrics and traces of the operator. Build it with `setup_telemetry(settings)`, or
    `Telemetry.noop()` where nothing should be recorded (unit tests)."""

    def __init__(
        self,
        meter: metrics.Meter,
        tracer: trace.Tracer,
        registry: CollectorRegistry,
        close: Callable[[], None] = lambda: None,
        flush: Callable[[float], bool] = lambda _timeout: True,
        expose_catalog: bool = False,
        exemplars: ExemplarReader | None = None,
    ) -> None:
        """Low level; `setup_telemetry` and `noop` are the ways in. `registry` is what
        /metrics renders, with every catalog family's HELP and TYPE when `expose_catalog`
        (even before it has samples), with the exemplars `exemplars` kept on the histogram
        buckets; `close` shuts the providers down, `flush(timeout_seconds)` pushes pending
        data out."""
        self._expose_catalog = expose_catalog
        self._exemplars = exemplars
        self._tracer = tracer
        self._registry = registry
        self._close = close
        self._flush = flush
        self._render_lock = threading.Lock()
        self._servers: list[MetricsServer] = []
        self._shut_down = False
        self.resources = ResourceRegistry()
        self._provider_registry = ProviderRegistry()
        self._pending = PendingKeys()
        self._leadership = Leadership()
        self._instruments = Instruments(
            meter,
            {
                catalog.RESOURCES: self.resources.counts,
                catalog.RESOURCE_CREATION_TIMESTAMP: self.resources.creation_timestamps,
                catalog.PROVIDER_READY: self._provider_registry.readiness,
                catalog.WORKQUEUE_DEPTH: self._pending.depths,
                catalog.LEADER_ELECTION_STATUS: self._leadership.status,
            },
        )
        self.providers = Providers(self._provider_registry, self._instruments)
        self.workqueue = WorkQueue(self._pending, self._instruments[catalog.WORKQUEUE_ADDS])
        self._cache_hits = self._instruments[catalog.CACHE_HITS]
        self._cache_misses = self._instruments[catalog.CACHE_MISSES]
        self._aws_hooks = AwsApiHooks(self._instruments)

    @classmethod
    def noop(cls) -> Telemetry:
        """Records nothing and exports nothing; label values are still checked."""
        return cls(metrics.NoOpMeter("infra_operator"), trace.NoOpTracer(), CollectorRegistry(auto_describe=False))

    def declare_kinds(self, resource_types: Iterable[str]) -> None:
        """The resource types the operator manages: every series of theirs whose labels are
        known in advance is exported from now on, at 0 until it counts something (reconcile
        results and error types, drift severities, heals, healing failures, finalizer errors,
        queue adds, cache lookups, resources per status, queue depth). Call it at startup;
        declaring a type again changes nothing."""
        for resource_type in resource_types:
            self._instruments.declare(resource_type=resource_type)
            self.resources.declare(resource_type)
            self._pending.declare(resource_type)

    def set_leading(self, lease: str, leading: bool) -> None:
        """leader_election_status{lease} becomes 1 while this replica holds the Lease and
        reconciles, 0 while it stands by (`lease`: namespace/name, from the settings)."""
        self._leadership.set(lease, leading)

    # Recorders -------------------------------------------------------------------------------

    def reconcile(self, resource_type: str, namespace: str, name: str, trigger: str) -> ReconcileRecorder:
        """Context manager around one reconcile: span `reconcile {resource_type}`; on exit
        reconcile_total{resource_type,result}, reconcile_duration_seconds and, when an
        error_type is set, reconcile_errors_total. Default result success; an exception
        escaping the block means error/sync_failed (unless an error_type was set) and is
        re-raised. Cancellation (BaseException) records no outcome."""
        return ReconcileRecorder(self._tracer, self._instruments, resource_type, namespace, name, trigger)

    def finalizer(self, resource_type: str, namespace: str, name: str) -> FinalizerRecorder:
        """Context manager around one finalizer run: span `finalize {resource_type}`,
        finalizer_duration_seconds; `rec.fail(error_type)` or an escaping exception
        (finalizer_failed) add finalizer_errors_total."""
        return FinalizerRecorder(self._tracer, self._instruments, resource_type, namespace, name)

    def drift_check(self, resource_type: str, namespace: str, name: str) -> DriftRecorder:
        """Context manager around one drift check: span `drift {resource_type}`,
        drift_detection_duration_seconds; `rec.detected(severity, fields)`, `rec.healed()`,
        `rec.heal_failed(error_type)`."""
        return DriftRecorder(self._tracer, self._instruments, resource_type, namespace, name)

    def cache_lookup(self, resource_type: str, hit: bool) -> None:
        (self._cache_hits if hit else self._cache_misses)(1, resource_type)

    def instrument_aws(self, events: EventEmitter) -> None:
        """Record the aws_api_* metrics for every call made through clients using `events`:
        a boto3 Session's `events` (before its clients are created: clients copy the
        session's emitter) or one client's `meta.events`. Registering twice is harmless."""
        self._aws_hooks.register(events)

    @contextmanager
    def span(self, name: str, **attributes: Any) -> Iterator[trace.Span]:
        """A child span of the current one (None-valued attributes are left out); an
        escaping exception is recorded on it."""
        with self._tracer.start_as_current_span(
            name, attributes={key: value for key, value in attributes.items() if value is not None}
        ) as span:
            yield span

    @staticmethod
    def traced_logs() -> contextlib.AbstractContextManager[None]:
        """Around the handling of one object: lines logged after its reconcile or finalize span
        ended (outside any span) still carry that span's trace_id/span_id."""
        return traced_logs()

    def log_filter(self) -> logging.Filter:
        """A filter adding `trace_id`/`span_id` to log records (attach to the handler)."""
        return TraceContextFilter()

    def export_error_filter(self, burst: int = 2, window_seconds: float = 60.0,
                            clock: Callable[[], float] = time.monotonic) -> logging.Filter:
        """A filter letting `burst` records of each of OpenTelemetry's own log messages through
        per window of `clock` (attach to the handler): an unreachable collector makes the
        exporters log every failed export and retry. The first one of a later window says how
        many were dropped."""
        return ExportErrorLimiter(burst, window_seconds, clock)

    # Export ----------------------------------------------------------------------------------

    def render_metrics(self, openmetrics: bool = False) -> bytes:
        """The /metrics body: Prometheus text 0.0.4, or OpenMetrics 1.0 (with exemplars)."""
        return self._render(_exposition.OPENMETRICS_ACCEPT if openmetrics else None)[0]

    def sample_values(self) -> dict[_exposition.SampleKey, float]:
        """The current /metrics samples as {(sample name, frozenset of label pairs): value}
        (histograms as their _bucket/_count/_sum samples): read from the collected families,
        not from a rendered and parsed /metrics (the same samples at a tenth of the CPU)."""
        return {(sample.name, frozenset(sample.labels.items())): sample.value
                for family in self._collect(exemplars=False) for sample in family.samples}

    def _render(self, accept_header: str | None) -> tuple[bytes, str]:
        return _exposition.render(self._collect(exemplars=True), accept_header)

    def _collect(self, exemplars: bool) -> list[Any]:
        """The families /metrics shows (with the kept exemplars, when asked). The OTel Prometheus
        collector hands collected data over through a shared queue, so two concurrent
        collections could each get half of it: one at a time."""
        with self._render_lock:
            families = self._registry.collect()
            if exemplars and self._exemplars is not None:
                families = self._exemplars.attach(families)
            if self._expose_catalog:
                families = _exposition.with_catalog_families(families)
            return list(families)

    def serve_metrics(self, host: str = "0.0.0.0", port: int = 8080) -> MetricsServer:
        """Start serving GET /metrics on host:port (port 0 picks a free one) in a background
        thread. `shutdown()` stops it too."""
        server = MetricsServer(self._render, host, port)
        self._servers.append(server)
        return server

    def force_flush(self, timeout_seconds: float = 10.0) -> bool:
        """Export pending spans and metrics now (OTLP); True when everything went out."""
        return self._flush(timeout_seconds)

    def shutdown(self) -> None:
        """Stop the /metrics servers, flush and shut down the providers. Idempotent."""
        if self._shut_down:
            return
        self._shut_down = True
        for server in self._servers:
            server.close()
        self._close()
