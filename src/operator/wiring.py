"""The only module that speaks kopf: registers handlers for every kind from the registry and
applies the engine's outcomes (status patch, events, retries). Nothing registers at import."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import signal
import time
from typing import Any, Iterable, Iterator, Mapping

import aiohttp.web
import kopf

from ..telemetry import Telemetry
from .engine import providers as provider_kind
from .engine.kind import Kind
from .engine.objects import ObjectSummary
from .engine.outcome import Outcome
from .engine.reconciler import Reconciler
from .engine.references import referenced
from .engine.schema import GROUP, VERSION
from .kinds import all_kinds
from .kube import ApiReader, StartupProblem, SecretReader, check_served
from .leader import LeaderElector
from .provider.registry import ProviderRegistry
from .settings import OperatorConfig

log = logging.getLogger(__name__)

FINALIZER = f"{GROUP}/finalizer"
PROGRESS_PREFIX = "infra-operator.dev"


class IndexedCluster:
    """ClusterView over kopf's in-memory indexes (passed to handlers as keyword arguments)."""

    def __init__(self, plurals: Mapping[str, str], indices: Mapping[str, Any]):
        self._plurals = plurals
        self._indices = indices

    def find(self, kind: str, namespace: str, name: str) -> ObjectSummary | None:
        index = self._indices.get(_summary_index(self._plurals[kind]))
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
    def acting(self, handler: str, body: Mapping[str, Any]) -> Iterator[None]:
        meta = body.get("metadata") or {}
        subject = f"{body.get('kind')} {meta.get('namespace')}/{meta.get('name')}"
        if not self.active:
            raise kopf.TemporaryError("this replica no longer leads", delay=1)
        log.debug("%s %s: started at %.6f", handler, subject, time.time())
        try:
            yield
        finally:
            log.debug("%s %s: ended at %.6f", handler, subject, time.time())


def _apply(outcome: Outcome, body: Mapping[str, Any], patch: Any, *, raise_retry: bool = True) -> None:
    if outcome.status:
        patch.setdefault("status", {}).update(outcome.status)
    for event in outcome.events:
        kopf.event(body, type=event.type, reason=event.reason, message=event.message)
    if not raise_retry:
        return
    if outcome.permanent:
        raise kopf.PermanentError(outcome.message)
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
                   provider: provider_kind.ProviderReconciler, secrets: SecretReader,
                   kinds: Iterable[Kind] = (), term: Term | None = None) -> kopf.OperatorRegistry:
    term = term or Term()
    kinds = tuple(kinds) or all_kinds()
    registry = kopf.OperatorRegistry()
    plurals = {provider_kind.KIND: provider_kind.PLURAL, **{k.kind: k.plural for k in kinds}}
    resource = dict(group=GROUP, version=VERSION, registry=registry)

    @kopf.on.login(registry=registry)
    def login(settings: kopf.OperatorSettings, **_: Any) -> kopf.ConnectionInfo | None:
        info = connection_info(config, settings)
        if info is not None:
            secrets.connect(info)
        return info

    def register_summary(plural: str, identifier: str | None) -> None:
        @kopf.index(plural=plural, id=_summary_index(plural), **resource)
        def summary(namespace: str, name: str, status: Mapping[str, Any], **_: Any) -> dict:
            return {(namespace, name): ObjectSummary.of(status, identifier)}

    register_summary(provider_kind.PLURAL, None)

    @kopf.on.create(plural=provider_kind.PLURAL, id="reconcile", **resource)
    @kopf.on.update(plural=provider_kind.PLURAL, id="reconcile", **resource)
    @kopf.on.resume(plural=provider_kind.PLURAL, id="reconcile", **resource)
    def provider_reconcile(body: Any, patch: Any, reason: str, **_: Any) -> None:
        with term.acting("reconcile", body):
            _apply(provider.reconcile(body, reason), body, patch)

    @kopf.timer(plural=provider_kind.PLURAL, id="check", interval=config.provider_check_interval,
                initial_delay=config.provider_check_interval, **resource)
    def provider_check(body: Any, patch: Any, **_: Any) -> None:
        with term.acting("check", body):
            _apply(provider.reconcile(body, "resync"), body, patch, raise_retry=False)

    @kopf.on.delete(plural=provider_kind.PLURAL, id="finalize", **resource)
    def provider_finalize(body: Any, patch: Any, **indices: Any) -> None:
        with term.acting("finalize", body):
            _apply(provider.finalize(body, IndexedCluster(plurals, indices)), body, patch)

    for kind in kinds:
        register_kind(registry, resource, kind, reconciler, plurals, config, term)
        register_summary(kind.plural, kind.identifier)
    return registry


def register_kind(registry: kopf.OperatorRegistry, resource: dict, kind: Kind, reconciler: Reconciler,
                  plurals: Mapping[str, str], config: OperatorConfig, term: Term) -> None:
    plural = kind.plural

    @kopf.index(plural=plural, id=_references_index(plural), **resource)
    def references(namespace: str, name: str, spec: Mapping[str, Any], **_: Any) -> dict:
        """Which objects of ours this one points at (so deletion can wait for dependents)."""
        targets = {(provider_kind.KIND, (spec.get("providerRef") or {}).get("name")), *referenced(kind, spec)}
        return {(namespace, target_kind, target): f"{kind.kind}/{name}" for target_kind, target in targets}

    @kopf.on.create(plural=plural, id="reconcile", **resource)
    @kopf.on.update(plural=plural, id="reconcile", **resource)
    @kopf.on.resume(plural=plural, id="reconcile", **resource)
    def reconcile(body: Any, patch: Any, reason: str, **indices: Any) -> None:
        with term.acting("reconcile", body):
            _apply(reconciler.reconcile(kind, body, reason, IndexedCluster(plurals, indices)), body, patch)

    @kopf.timer(plural=plural, id="resync", interval=config.resync_interval,
                initial_delay=config.resync_interval, **resource)
    def resync(body: Any, patch: Any, **indices: Any) -> None:
        with term.acting("resync", body):
            _apply(reconciler.reconcile(kind, body, "resync", IndexedCluster(plurals, indices)), body, patch,
                   raise_retry=False)

    @kopf.on.delete(plural=plural, id="finalize", **resource)
    def finalize(body: Any, patch: Any, **indices: Any) -> None:
        with term.acting("finalize", body):
            _apply(reconciler.finalize(kind, body, IndexedCluster(plurals, indices)), body, patch)


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
    return settings


async def run_operator(config: OperatorConfig, telemetry: Telemetry, *,
                       stop_flag: asyncio.Event | None = None, ready_flag: asyncio.Event | None = None,
                       kinds: Iterable[Kind] = ()) -> None:
    """Run the operator until stop_flag is set or the task is cancelled: acting all along, or,
    with leader election, only while this replica holds the Lease."""
    if config.kube.lease is None:
        liveness = f"http://{config.liveness_address}/healthz" if config.liveness_address else None
        await _run_term(config, telemetry, Term(), stop_flag=stop_flag, ready_flag=ready_flag, kinds=kinds,
                        liveness=liveness)
        return
    stop = stop_flag or asyncio.Event()
    async with _serve_liveness(config.liveness_address):
        if ready_flag is not None:
            ready_flag.set()  # serving (/metrics, /healthz) as a standby is being ready
        await _run_elected(config, telemetry, stop, kinds)


async def _run_term(config: OperatorConfig, telemetry: Telemetry, term: Term, *, stop_flag: asyncio.Event | None,
                    ready_flag: asyncio.Event | None = None, kinds: Iterable[Kind] = (),
                    liveness: str | None = None,
                    executor: concurrent.futures.ThreadPoolExecutor | None = None) -> None:
    """One kopf operator with fresh state (as a restarted process would have) until stop_flag."""
    providers = ProviderRegistry(instrument=telemetry.instrument_aws,
                                 on_rotation=telemetry.providers.credential_rotated,
                                 rate_limits=config.aws_rate_limits)
    secrets = SecretReader()
    reconciler = Reconciler(telemetry, providers, config.engine_settings())
    provider = provider_kind.ProviderReconciler(telemetry, providers, secrets, config.provider_retry_delay)
    registry = build_registry(config, reconciler, provider, secrets, kinds, term)
    settings = kopf_settings(config)
    if executor is not None:
        settings.execution.executor = executor
    await kopf.operator(
        registry=registry,
        settings=settings,
        standalone=config.kube.peering is None,
        peering_name=config.kube.peering,
        clusterwide=config.kube.clusterwide,
        namespaces=config.kube.namespaces,
        liveness_endpoint=liveness,
        stop_flag=stop_flag,
        ready_flag=ready_flag,
    )


async def _run_elected(config: OperatorConfig, telemetry: Telemetry, stop: asyncio.Event,
                       kinds: Iterable[Kind]) -> None:
    """Stand by until this replica holds the Lease, act (one kopf operator per term) while it
    holds it, stand by again when it loses it; release it when stopped."""
    assert config.kube.lease is not None
    info = connection_info(config, kopf_settings(config))
    if info is None:
        raise StartupProblem("no Kubernetes cluster configured for the leader-election Lease")
    elector = LeaderElector(config.kube.lease, ApiReader(info))
    lease = f"{config.kube.lease.namespace}/{config.kube.lease.name}"
    while not stop.is_set():
        log.info("standing by for the lease %s as %s", lease, elector.identity)
        if not await elector.acquire(stop):
            break
        term, term_over, started = Term(), asyncio.Event(), asyncio.Event()
        executor = concurrent.futures.ThreadPoolExecutor(max_workers=config.workers,
                                                         thread_name_prefix="reconcile")
        acting = asyncio.create_task(_run_term(config, telemetry, term, stop_flag=term_over, ready_flag=started,
                                               kinds=kinds, executor=executor))
        holding = asyncio.create_task(elector.hold(stop))
        # kopf takes SIGINT/SIGTERM over when it starts; they must end the term through `stop`
        # instead, so that the lease is released only once kopf has stopped.
        reclaiming = asyncio.create_task(_stop_on_signals(stop, after=started))
        done, _ = await asyncio.wait({acting, holding}, return_when=asyncio.FIRST_COMPLETED)
        term.active = False
        term_over.set()
        await _end_term(elector, acting, executor, lost=not elector.leading)
        holding.cancel()
        reclaiming.cancel()
        if acting in done:  # kopf stopped on its own: it failed, or a signal came before it started
            stop.set()
            if acting.exception() is not None:
                await elector.release()
                raise acting.exception()  # type: ignore[misc]
    await elector.release()


async def _stop_on_signals(stop: asyncio.Event, after: asyncio.Event) -> None:
    await after.wait()
    loop = asyncio.get_running_loop()
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    except (NotImplementedError, RuntimeError, ValueError):
        pass  # not the main thread (an operator embedded in tests or the sandbox): signals are not ours


async def _end_term(elector: LeaderElector, acting: asyncio.Task, executor: concurrent.futures.Executor,
                    lost: bool) -> None:
    """Stop kopf (its stop flag is set) and wait until no handler runs any more, but not past
    the lease: if anything still runs then (an AWS call cannot be interrupted), the process
    exits, so that two replicas never act at once. A lost lease gives kopf no graceful exit:
    its pending writes (status patches retried against an unreachable API server) are cancelled
    at once; the next leader resumes every object anyway."""
    # Leave a margin for the exit itself: our clock and the standby's may drift apart a little.
    deadline = elector.expires_at - elector.settings.retry_period / 2
    graceful = 0.0 if lost else max(0.0, deadline - time.monotonic()) / 2
    stopped, _ = await asyncio.wait({acting}, timeout=graceful)
    if not stopped:
        acting.cancel()  # kopf cancels its tasks; those running a handler wait for its thread
        stopped, _ = await asyncio.wait({acting}, timeout=max(0.0, deadline - time.monotonic()))
    drained: set[asyncio.Future] = set()
    if stopped:  # kopf submits no more handlers: wait for those still running
        shutdown = asyncio.get_running_loop().run_in_executor(None, executor.shutdown, True)
        drained, _ = await asyncio.wait({shutdown}, timeout=max(0.0, deadline - time.monotonic()))
    if not drained:
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
