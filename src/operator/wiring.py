"""The only module that speaks kopf: registers handlers for every kind from the registry and
applies the engine's outcomes (status patch, events, retries). Nothing registers at import."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading
import time
from typing import Any, Callable, Iterable, Iterator, Mapping

import aiohttp.web
import kopf

from ..telemetry import Telemetry
from .engine import providers as provider_kind
from .engine.conditions import is_ready
from .engine.kind import Kind
from .engine.objects import ObjectSummary
from .engine.outcome import Outcome
from .engine.reconciler import Reconciler
from .engine.references import referenced
from .engine.schema import GROUP, VERSION
from .kinds import all_kinds
from .kube import ApiClient, StartupProblem, SecretReader, check_served
from .leader import LeaderElector
from .logs import KopfRoutineLines, ObjectLog, about_object
from .wakeups import DependencyWaker, merged_status
from .provider.sessions import ProviderSessions
from .settings import OperatorConfig

log = logging.getLogger(__name__)

FINALIZER = f"{GROUP}/finalizer"
# Where kopf logs each run of a handler (per object, and per operator-wide activity: login,
# startup, cleanup, probe) and what its queues left when stopping.
KOPF_HANDLER_LOGGERS = ("kopf.objects", "kopf._core.reactor.queueing",
                        *(f"kopf.activities.{activity}" for activity in ("authentication", "startup", "cleanup", "probe")))
PROGRESS_PREFIX = "infra-operator.dev"


class IndexedCluster:
    """ClusterView over kopf's in-memory indexes (passed to handlers as keyword arguments), and
    over the statuses handlers wrote that the indexes do not show yet (`written`)."""

    def __init__(self, plurals: Mapping[str, str], indices: Mapping[str, Any],
                 written: Callable[[str, str, str], ObjectSummary | None] = lambda kind, namespace, name: None):
        self._plurals = plurals
        self._indices = indices
        self._written = written

    def find(self, kind: str, namespace: str, name: str) -> ObjectSummary | None:
        # A kind this operator does not serve (yet) has no objects: who names one waits for it.
        plural = self._plurals.get(kind)
        if plural is None:
            return None
        if (written := self._written(kind, namespace, name)) is not None:
            return written
        index = self._indices.get(_summary_index(plural))
        store = index.get((namespace, name)) if index is not None else None
        return next(iter(store), None) if store else None

    def dependents(self, kind: str, namespace: str, name: str) -> list[str]:
        found: list[str] = []
        for plural in self._plurals.values():
            index = self._indices.get(_references_index(plural))
            if index is not None and (namespace, kind, name) in index:
                found.extend(index[(namespace, kind, name)])
        return found


def _summary_index(plural: str) -> str:
    return f"summaries_{plural}"


def _secret_refs_index(plural: str) -> str:
    return f"secret_refs_{plural}"


def _references_index(plural: str) -> str:
    return f"references_{plural}"


class Term:
    """Whether handlers may act: for the whole run without leader election, for one leadership
    term with it. Every handler runs inside `acting`, which refuses to start once the term is
    over, and logs (at DEBUG) the start and end of each run with wall-clock times, so that the
    runs of two operators can be checked for overlap."""

    def __init__(self) -> None:
        self.active = True

    @contextlib.contextmanager
    def acting(self, body: Mapping[str, Any]) -> Iterator[None]:
        meta = body.get("metadata") or {}
        subject = f"{body.get('kind')} {meta.get('namespace')}/{meta.get('name')}"
        if not self.active:
            raise kopf.TemporaryError("this replica no longer leads", delay=1)
        log.debug("handling %s: started at %.6f", subject, time.time())
        try:
            yield
        finally:
            log.debug("handling %s: ended at %.6f", subject, time.time())


class Handling:
    """What every handler does around the engine: only during the term (Term.acting), lines
    logged meanwhile name the object and its trace, and the outcome is logged once (ObjectLog)
    before `apply` applies it."""

    def __init__(self, telemetry: Telemetry, object_log: ObjectLog, term: Term) -> None:
        self.telemetry = telemetry
        self.object_log = object_log
        self.term = term

    def __call__(self, body: Mapping[str, Any], run: Callable[[], Outcome], apply: Callable[[Outcome], None]) -> None:
        with self.term.acting(body), about_object(body), self.telemetry.traced_logs():
            outcome = run()
            self.object_log.record(body, outcome)
            apply(outcome)


def _apply(outcome: Outcome, body: Mapping[str, Any], patch: Any, *, raise_retry: bool = True) -> None:
    if outcome.status:
        patch.setdefault("status", {}).update(outcome.status)
    if outcome.annotations:
        # kopf writes these before the status, and before the handler runs again.
        patch.setdefault("metadata", {}).setdefault("annotations", {}).update(outcome.annotations)
    # The trace id ends the message: kopf cuts a long message in its middle, the end stays.
    trace = f" (trace {outcome.trace_id})" if outcome.trace_id else ""
    for event in outcome.events:
        kopf.event(body, type=event.type, reason=event.reason, message=event.message + trace)
    if not raise_retry:
        return
    if outcome.permanent:
        raise kopf.PermanentError(outcome.message)
    if outcome.rerun:
        raise kopf.TemporaryError(outcome.message or "running again", delay=0)
    if outcome.retry_after is not None:
        raise kopf.TemporaryError(outcome.message or "waiting", delay=outcome.retry_after)


def connection_info(config: OperatorConfig, settings: kopf.OperatorSettings) -> kopf.ConnectionInfo | None:
    """The API server to talk to: the explicit server (sandbox, tests), else the in-cluster
    service account, else the kubeconfig (KUBECONFIG or ~/.kube/config); None when none exists."""
    if config.kube.server:
        return kopf.ConnectionInfo(server=config.kube.server, insecure=True, default_namespace="default")
    return kopf.login_with_service_account(settings=settings) or kopf.login_with_kubeconfig(settings=settings)


CRD_INSTALL_HINT = ("install them with `kubectl apply -k crds/` from the repository, or render them with "
                    "`python -m infra_operator.operator.crds DIR` and `kubectl apply -f DIR`")


def check_cluster(config: OperatorConfig, kinds: Iterable[Kind] = ()) -> None:
    """Before starting: raise StartupProblem (one line) when no cluster is configured, its API
    is unreachable or refuses us, or our CRDs are not installed."""
    try:
        info = connection_info(config, kopf_settings(config))
    except Exception as exc:  # a missing or malformed kubeconfig: any failure is the user's to fix
        raise StartupProblem(f"cannot log in to the Kubernetes API: {type(exc).__name__}: {exc}") from None
    plurals = [provider_kind.PLURAL, *(kind.plural for kind in (tuple(kinds) or all_kinds()))]
    check_served(info, f"{GROUP}/{VERSION}", plurals, CRD_INSTALL_HINT)


def build_registry(config: OperatorConfig, reconciler: Reconciler,
                   provider: provider_kind.ProviderReconciler, secrets: SecretReader, handling: Handling,
                   kinds: Iterable[Kind] = ()) -> kopf.OperatorRegistry:
    kinds = tuple(kinds) or all_kinds()
    registry = kopf.OperatorRegistry()
    plurals = {provider_kind.KIND: provider_kind.PLURAL, **{k.kind: k.plural for k in kinds}}
    resource = dict(group=GROUP, version=VERSION, registry=registry)
    waker = DependencyWaker(plurals)

    @kopf.on.login(registry=registry)
    def login(settings: kopf.OperatorSettings, **_: Any) -> kopf.ConnectionInfo | None:
        info = connection_info(config, settings)
        if info is not None:
            secrets.connect(info)
            waker.connect(info)
        return info

    @kopf.on.cleanup(registry=registry)
    def cleanup(**_: Any) -> None:
        waker.close()

    def register_summary(plural: str, identifier: str | None, kind: str | None) -> None:
        """`kind`: tell the waker this kind's readiness as the index sees it."""
        @kopf.index(plural=plural, id=_summary_index(plural), **resource)
        def summary(namespace: str, name: str, status: Mapping[str, Any], **_: Any) -> dict:
            found = ObjectSummary.of(status, identifier)
            if kind is not None:
                waker.indexed(kind, namespace, name, found)
            return {(namespace, name): found}

    # A provider's readiness goes to the waker from its check (its status may say Ready from
    # before an operator restart while the check has not run yet).
    register_summary(provider_kind.PLURAL, None, None)

    def provider_checked(outcome: Outcome, body: Any) -> Outcome:
        waker.observed(provider_kind.KIND, body["metadata"]["namespace"], body["metadata"]["name"],
                       is_ready(outcome.status))
        return outcome

    @kopf.on.create(plural=provider_kind.PLURAL, id="reconcile", **resource)
    @kopf.on.update(plural=provider_kind.PLURAL, id="reconcile", **resource)
    @kopf.on.resume(plural=provider_kind.PLURAL, id="reconcile", **resource)
    def provider_reconcile(body: Any, patch: Any, reason: str, **_: Any) -> None:
        handling(body, lambda: provider_checked(provider.reconcile(body, reason), body),
                 lambda outcome: _apply(outcome, body, patch))

    @kopf.timer(plural=provider_kind.PLURAL, id="check", interval=config.provider_check_interval,
                initial_delay=config.provider_check_interval, **resource)
    def provider_check(body: Any, patch: Any, **_: Any) -> None:
        handling(body, lambda: provider_checked(provider.reconcile(body, "resync"), body),
                 lambda outcome: _apply(outcome, body, patch, raise_retry=False))

    @kopf.on.delete(plural=provider_kind.PLURAL, id="finalize", **resource)
    def provider_finalize(body: Any, patch: Any, **indices: Any) -> None:
        handling(body, lambda: provider.finalize(body, IndexedCluster(plurals, indices)),
                 lambda outcome: _apply(outcome, body, patch))

    for kind in kinds:
        register_kind(registry, resource, kind, reconciler, plurals, config, waker, handling)
        register_summary(kind.plural, kind.identifier, kind.kind)
    register_secret_watch(registry, resource, kinds, waker)
    return registry


def register_secret_watch(registry: kopf.OperatorRegistry, resource: dict, kinds: Iterable[Kind],
                          waker: DependencyWaker) -> None:
    """A Secret (or ConfigMap) that secret inputs name was created or changed: the objects naming it run at
    once (the engine writes the new value; status keeps only the Secret's version), not on the
    next resync. Only names are indexed; the handler never reads the Secret's data."""
    users = [kind for kind in kinds if kind.secret_inputs]
    for kind in users:
        register_secret_refs(resource, kind)
    if not users:
        return

    def wake_users(source: str, namespace: str, name: str, indices: Mapping[str, Any]) -> None:
        for kind in users:
            if any(secret.source == source for secret in kind.secret_inputs):
                for kind_name, obj in indices[_secret_refs_index(kind.plural)].get((namespace, name), ()):
                    waker.wake(kind_name, namespace, obj)

    @kopf.on.event(version="v1", plural="secrets", id="secret-inputs", registry=registry,
                   when=lambda type, **_: type in ("ADDED", "MODIFIED"))
    def secret_changed(namespace: str, name: str, **indices: Any) -> None:
        wake_users("Secret", namespace, name, indices)

    if any(secret.source == "ConfigMap" for kind in users for secret in kind.secret_inputs):
        @kopf.on.event(version="v1", plural="configmaps", id="config-map-inputs", registry=registry,
                       when=lambda type, **_: type in ("ADDED", "MODIFIED"))
        def config_map_changed(namespace: str, name: str, **indices: Any) -> None:
            wake_users("ConfigMap", namespace, name, indices)


def register_secret_refs(resource: dict, kind: Kind) -> None:
    @kopf.index(plural=kind.plural, id=_secret_refs_index(kind.plural), **resource)
    def secret_refs(namespace: str, name: str, spec: Mapping[str, Any], **_: Any) -> dict:
        """The Secrets this object's secret inputs name."""
        named = {(spec.get(secret.field) or {}).get("name") for secret in kind.secret_inputs} - {None}
        return {(namespace, secret): (kind.kind, name) for secret in named}


def register_kind(registry: kopf.OperatorRegistry, resource: dict, kind: Kind, reconciler: Reconciler,
                  plurals: Mapping[str, str], config: OperatorConfig, waker: DependencyWaker,
                  handling: Handling) -> None:
    plural = kind.plural

    def written(outcome: Outcome, body: Any) -> None:
        """The waker learns the status about to be written: dependents see it and wake now."""
        status = body.get("status")
        waker.written(kind.kind, body["metadata"]["namespace"], body["metadata"]["name"],
                      ObjectSummary.of(status, kind.identifier),
                      ObjectSummary.of(merged_status(status, outcome.status), kind.identifier))

    def apply(outcome: Outcome, body: Any, patch: Any, cluster: IndexedCluster, *, raise_retry: bool = True) -> None:
        """An object waiting for others is run again when they are Ready (the waker), not on a
        kopf retry (kopf would hold it until the retry's delay whatever happens meanwhile)."""
        written(outcome, body)
        if outcome.waiting_on:
            namespace, name = body["metadata"]["namespace"], body["metadata"]["name"]
            waker.wait(kind.kind, namespace, name, outcome.waiting_on,
                       lambda other, other_name: cluster.find(other, namespace, other_name) is not None)
            raise_retry = False
        _apply(outcome, body, patch, raise_retry=raise_retry)

    @kopf.index(plural=plural, id=_references_index(plural), **resource)
    def references(namespace: str, name: str, spec: Mapping[str, Any], **_: Any) -> dict:
        """Which objects of ours this one points at (so deletion can wait for dependents)."""
        targets = {(provider_kind.KIND, (spec.get("providerRef") or {}).get("name")), *referenced(kind, spec)}
        return {(namespace, target_kind, target): f"{kind.kind}/{name}" for target_kind, target in targets}

    @kopf.on.create(plural=plural, id="reconcile", **resource)
    @kopf.on.update(plural=plural, id="reconcile", **resource)
    @kopf.on.resume(plural=plural, id="reconcile", **resource)
    def reconcile(body: Any, patch: Any, reason: str, **indices: Any) -> None:
        cluster = IndexedCluster(plurals, indices, waker.latest)
        handling(body, lambda: reconciler.reconcile(kind, body, reason, cluster),
                 lambda outcome: apply(outcome, body, patch, cluster))

    @kopf.timer(plural=plural, id="resync", interval=config.resync_interval,
                initial_delay=config.resync_interval, **resource)
    def resync(body: Any, patch: Any, **indices: Any) -> None:
        cluster = IndexedCluster(plurals, indices, waker.latest)
        handling(body, lambda: reconciler.reconcile(kind, body, "resync", cluster),
                 lambda outcome: apply(outcome, body, patch, cluster, raise_retry=False))

    @kopf.on.event(plural=plural, id="gone", when=lambda type, **_: type == "DELETED", **resource)
    def gone(body: Any, **_: Any) -> None:
        """The object left the cluster, our finalizer or not (removed by hand): drop its state."""
        reconciler.forget(kind, body)
        waker.forget(kind.kind, body["metadata"]["namespace"], body["metadata"]["name"])
        handling.object_log.forget(body["metadata"]["uid"])

    @kopf.on.delete(plural=plural, id="finalize", **resource)
    def finalize(body: Any, patch: Any, **indices: Any) -> None:
        def apply_finalized(outcome: Outcome) -> None:
            written(outcome, body)
            # Retried by kopf, whatever it waits for: a handler that returns releases the finalizer.
            _apply(outcome, body, patch)

        handling(body, lambda: reconciler.finalize(kind, body, IndexedCluster(plurals, indices, waker.latest)),
                 apply_finalized)


def kopf_settings(config: OperatorConfig) -> kopf.OperatorSettings:
    settings = kopf.OperatorSettings()
    settings.persistence.finalizer = FINALIZER
    settings.persistence.progress_storage = kopf.SmartProgressStorage(prefix=PROGRESS_PREFIX)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=PROGRESS_PREFIX, key="last-handled-configuration")
    settings.posting.reporting_component = "infra-operator"
    settings.execution.max_workers = config.workers
    if config.kube.label_selector:
        # Filtered by the API server: objects of other shards never reach this operator, so it
        # never touches them (not even their finalizers).
        settings.watching.label_selectors[GROUP, kopf.EVERYTHING] = config.kube.label_selector
    # Our CRDs are known, so kopf need not watch CRDs; it must watch namespaces only to resolve
    # namespace globs ("team-*").
    settings.scanning.disabled = not any(set(ns) & set("*?[!") for ns in config.kube.namespaces)
    settings.peering.standalone = config.kube.peering is None
    if config.kube.peering:
        settings.peering.name = config.kube.peering
    settings.peering.clusterwide = config.kube.clusterwide
    # A deleted object's finalizer waits for its resync timer to exit, and a resync already
    # running (a synchronous handler) cannot be interrupted: check every second whether it has
    # ended, not every 60 s (kopf's default), so a deletion is not held up for a minute.
    settings.background.cancellation_polling = 1.0
    # Watches are re-established quickly: a dropped stream must not delay reconciles.
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    # kopf, cancelled rather than stopped by its own flag (see _run_term), would SIGKILL the
    # loop's thread 10 minutes later if the loop still runs: a standby that lost the Lease would
    # die then. Our stop is bounded without it: handler threads end with their AWS call's
    # timeouts, a term with the Lease (_end_term), the pod with its grace period.
    settings.process.ultimate_exiting_timeout = None
    return settings


async def run_operator(config: OperatorConfig, telemetry: Telemetry, *,
                       stop_flag: asyncio.Event | None = None, ready_flag: asyncio.Event | threading.Event | None = None,
                       kinds: Iterable[Kind] = ()) -> None:
    """Run the operator until stop_flag is set (also by SIGINT/SIGTERM once it runs, in the main
    thread) or the task is cancelled; return when the handlers' threads have finished. With leader
    election, it acts only while this replica holds the Lease."""
    kinds = tuple(kinds) or all_kinds()
    telemetry.declare_kinds([provider_kind.KIND, *(kind.kind for kind in kinds)])
    if config.kube.lease is None:
        await _run_term(config, telemetry, Term(), stop_flag=stop_flag, ready_flag=ready_flag, kinds=kinds,
                        liveness=f"http://{config.liveness_address}/healthz" if config.liveness_address else None)
        return
    stop = stop_flag or asyncio.Event()
    async with _serve_liveness(config.liveness_address):
        if ready_flag is not None:
            ready_flag.set()  # serving (/metrics, /healthz) as a standby is being ready
        await _run_elected(config, telemetry, stop, kinds)


async def _run_term(config: OperatorConfig, telemetry: Telemetry, term: Term, *, stop_flag: asyncio.Event | None,
                    ready_flag: asyncio.Event | threading.Event | None, kinds: Iterable[Kind],
                    liveness: str | None) -> None:
    """One kopf operator with fresh state (as a restarted process would have) until stop_flag."""
    providers = ProviderSessions(instrument=telemetry.instrument_aws,
                                 on_rotation=telemetry.providers.credential_rotated,
                                 rate_limits=config.aws_rate_limits)
    secrets = SecretReader()
    reconciler = Reconciler(telemetry, providers, config.engine, read_secret=secrets.versioned,
                            secret_sink=secrets, read_config_map=secrets.config_map)
    provider = provider_kind.ProviderReconciler(telemetry, providers, secrets, config.provider_retry_delay)
    registry = build_registry(config, reconciler, provider, secrets,
                              Handling(telemetry, ObjectLog(config.retry_warning_after), term), kinds)
    settings = kopf_settings(config)
    routine_lines = KopfRoutineLines()
    for logger in KOPF_HANDLER_LOGGERS:
        logging.getLogger(logger).addFilter(routine_lines)
    stop_flag = stop_flag or asyncio.Event()
    started = asyncio.Event()
    # kopf stops by itself on its stop flag or on the signals it takes over when it starts, and then
    # grants its remaining tasks (e.g. workers sleeping out a retry delay) 5 s. Cancelled, it
    # cancels them at once; the handlers' threads are awaited below either way.
    operator = asyncio.create_task(kopf.operator(
        registry=registry,
        settings=settings,
        standalone=config.kube.peering is None,
        peering_name=config.kube.peering,
        clusterwide=config.kube.clusterwide,
        namespaces=config.kube.namespaces,
        liveness_endpoint=liveness,
        ready_flag=started,
    ))
    waiters = [asyncio.create_task(stop_flag.wait()), asyncio.create_task(_signals_to(stop_flag, started, ready_flag))]
    try:
        await asyncio.wait([operator, waiters[0]], return_when=asyncio.FIRST_COMPLETED)
        if operator.done():
            operator.result()  # kopf ends by itself only on a failure (raised here) or its own signal handling
    finally:
        for task in (operator, *waiters):
            task.cancel()
        await asyncio.gather(operator, *waiters, return_exceptions=True)
        for logger in KOPF_HANDLER_LOGGERS:
            logging.getLogger(logger).removeFilter(routine_lines)
        # Cancelled kopf tasks leave the threads running synchronous handlers: let those finish
        # their AWS calls, so that the caller's shutdown follows the last one.
        await asyncio.to_thread(settings.execution.executor.shutdown, wait=True, cancel_futures=True)


async def _signals_to(stop_flag: asyncio.Event, started: asyncio.Event,
                      ready_flag: asyncio.Event | threading.Event | None) -> None:
    """Once kopf has started (and taken SIGINT/SIGTERM over), let them set stop_flag; then raise
    ready_flag (a caller may take the signals over in turn)."""
    await started.wait()
    if threading.current_thread() is threading.main_thread():
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, _stop_on, sig, stop_flag)
    if ready_flag is not None:
        ready_flag.set()


def _stop_on(sig: signal.Signals, stop_flag: asyncio.Event) -> None:
    log.info("%s received: stopping; handlers in flight finish their AWS calls first", sig.name)
    stop_flag.set()


async def _run_elected(config: OperatorConfig, telemetry: Telemetry, stop: asyncio.Event,
                       kinds: Iterable[Kind]) -> None:
    """Stand by until this replica holds the Lease, act (one kopf operator per term) while it
    holds it, stand by again when it loses it; release it when stopped."""
    assert config.kube.lease is not None
    info = connection_info(config, kopf_settings(config))
    if info is None:
        raise StartupProblem("no Kubernetes cluster configured for the leader-election Lease")
    elector = LeaderElector(config.kube.lease, ApiClient(info))
    lease = f"{config.kube.lease.namespace}/{config.kube.lease.name}"
    while not stop.is_set():
        telemetry.set_leading(lease, False)
        log.info("standing by for the lease %s as %s", lease, elector.identity)
        if not await elector.acquire(stop):
            break
        telemetry.set_leading(lease, True)
        term, term_over = Term(), asyncio.Event()
        # A signal during the term sets term_over (kopf's signals are handed to it once it runs).
        acting = asyncio.create_task(_run_term(config, telemetry, term, stop_flag=term_over, ready_flag=None,
                                               kinds=kinds, liveness=None))
        holding = asyncio.create_task(elector.hold(stop))
        done, _ = await asyncio.wait({acting, holding}, return_when=asyncio.FIRST_COMPLETED)
        term.active = False
        signalled = term_over.is_set()
        term_over.set()
        await _end_term(elector, acting)
        telemetry.set_leading(lease, False)
        holding.cancel()
        if threading.current_thread() is threading.main_thread():
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):  # the next term's kopf takes them over again
                loop.add_signal_handler(sig, _stop_on, sig, stop)
        if acting in done or signalled:  # a signal stopped the term, or kopf failed
            stop.set()
            if acting.exception() is not None:
                await elector.release()
                raise acting.exception()  # type: ignore[misc]
    await elector.release()


async def _end_term(elector: LeaderElector, acting: asyncio.Task) -> None:
    """Wait until kopf has stopped (its stop flag is set; it cancels its tasks at once) and its
    handlers' threads have finished, but not past the lease: if anything still runs then (an
    AWS call cannot be interrupted), the process exits, so that two replicas never act at once.
    The next leader resumes every object anyway."""
    # Leave a margin for the exit itself: our clock and the standby's may drift apart a little.
    deadline = elector.expires_at - elector.settings.retry_period / 2
    stopped, _ = await asyncio.wait({acting}, timeout=max(0.0, deadline - time.monotonic()))
    if not stopped:
        log.critical("still acting %.1fs before the lease can expire: exiting so that two replicas never act at "
                     "once", max(0.0, elector.expires_at - time.monotonic()))
        logging.shutdown()
        os._exit(3)
    log.info("stopped acting %.2fs before the lease could expire", elector.expires_at - time.monotonic())


@contextlib.asynccontextmanager
async def _serve_liveness(address: str | None) -> Any:
    """/healthz while the event loop runs (kopf serves it only while it runs, i.e. while
    leading; a standby must stay alive too)."""
    if not address:
        yield
        return
    app = aiohttp.web.Application()
    app.router.add_get("/healthz", lambda request: aiohttp.web.json_response({}))
    runner = aiohttp.web.AppRunner(app, access_log=None)
    await runner.setup()
    host, _, port = address.rpartition(":")
    await aiohttp.web.TCPSite(runner, host, int(port)).start()
    try:
        yield
    finally:
        await runner.cleanup()
