"""The one generic reconciler: lifecycle, adoption, delta, drift, conditions, outcomes and
telemetry for every kind. Kinds only describe their AWS calls."""

from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping

from ...telemetry import Telemetry
from ..provider.errors import classify
from ..provider.registry import ProviderRegistry
from . import conditions
from .delta import OWNER_UID, Delta, compute_delta, owner_tags, tag_problems
from .describe_cache import DescribeCache
from .errors import (EngineError, NotFound, ProviderNotReady, RetryableError,
                     TerminalError)
from .kind import AWSClients, Kind, Raw, Severity
from .objects import ClusterView, CustomObject
from .outcome import Outcome
from .references import resolve

log = logging.getLogger(__name__)

# Triggers on which a difference between spec and AWS is drift (the spec did not change).
DRIFT_TRIGGERS = frozenset({"resync", "resume"})


@dataclass(frozen=True)
class EngineSettings:
    """Timing knobs of the engine (seconds)."""

    # How long a delete waits, polling, for AWS to confirm the resource is gone before requeueing.
    delete_confirm_timeout: float = 10.0
    # Backoff schedule for re-reading after a create (eventually consistent describe APIs).
    read_after_create_backoff: tuple[float, ...] = (0.1, 0.3, 1.0)
    # Requeue delay while AWS reports a resource as still provisioning.
    provisioning_delay: float = 5.0
    # Requeue delay while dependents block a deletion.
    dependents_delay: float = 5.0
    # Whether one describe snapshot per (provider, kind) answers a resync round's drift checks.
    describe_cache: bool = True


class Reconciler:
    def __init__(self, telemetry: Telemetry, providers: ProviderRegistry,
                 settings: EngineSettings = EngineSettings(), sleep: Callable[[float], None] = time.sleep,
                 describe_cache: DescribeCache | None = None):
        self.telemetry = telemetry
        self.providers = providers
        self.settings = settings
        self._sleep = sleep
        self.describe_cache = describe_cache or DescribeCache(settings.describe_cache)
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    # -- entry points -------------------------------------------------------------------------

    def reconcile(self, kind: Kind, body: Mapping[str, Any], trigger: str, cluster: ClusterView) -> Outcome:
        """Create, update, resume or resync one object (trigger: create|update|resume|resync)."""
        obj = CustomObject.from_body(body)
        if trigger == "resync" and (not obj.status.get(kind.identifier)
                                    or obj.status.get("observedGeneration") != obj.generation):
            # Never created, or a spec change is pending: the handler path owns it and retries it.
            return Outcome()
        lock = self._lock(obj.uid)
        if not lock.acquire(blocking=trigger != "resync"):
            return Outcome()  # a handler is running for this object; resync next interval
        try:
            return self._run(kind, obj, trigger, cluster)
        finally:
            lock.release()

    def finalize(self, kind: Kind, body: Mapping[str, Any], cluster: ClusterView) -> Outcome:
        """Delete (or retain) the AWS resource; an empty retry means the finalizer may go."""
        obj = CustomObject.from_body(body)
        tel = self.telemetry
        tel.resources.set(kind.kind, obj.uid, "deleting", obj.key, obj.created_at)
        tel.workqueue.enqueue(kind.kind, obj.uid)
        outcome = Outcome()
        with self._lock(obj.uid), tel.finalizer(kind.kind, obj.namespace, obj.name) as rec:
            try:
                self._delete(kind, obj, outcome, cluster)
            except Exception as exc:  # every failure becomes a condition, an event and a retry
                error = _as_engine_error(exc)
                rec.fail("provider_failed" if isinstance(error, ProviderNotReady) else "finalizer_failed")
                self._fail(obj, error, outcome, action="delete")
        if outcome.retry_after is None:
            self._forget(kind, obj)
        return outcome

    def forget(self, kind: Kind, body: Mapping[str, Any]) -> None:
        """The object left the cluster without our finalizer (e.g. it was never ours)."""
        self._forget(kind, CustomObject.from_body(body))

    def _forget(self, kind: Kind, obj: CustomObject) -> None:
        self.telemetry.resources.forget(kind.kind, obj.uid)
        self.telemetry.workqueue.done(kind.kind, obj.uid)
        with self._locks_guard:
            self._locks.pop(obj.uid, None)

    # -- reconcile ----------------------------------------------------------------------------

    def _run(self, kind: Kind, obj: CustomObject, trigger: str, cluster: ClusterView) -> Outcome:
        tel = self.telemetry
        tel.workqueue.enqueue(kind.kind, obj.uid)
        if not obj.status.get("conditions"):
            tel.resources.set(kind.kind, obj.uid, "pending", obj.key, obj.created_at)
        outcome = Outcome()
        with tel.reconcile(kind.kind, obj.namespace, obj.name, trigger) as rec:
            try:
                self._converge(kind, obj, trigger, outcome, cluster)
            except Exception as exc:
                error = _as_engine_error(exc)
                self._fail(obj, error, outcome, action="reconcile")
                rec.outcome("error" if outcome.permanent else "requeue", error.error_type)
            else:
                if outcome.retry_after is not None:
                    rec.outcome("requeue")
        status = ("ready" if outcome.retry_after is None and not outcome.permanent
                  else "error" if outcome.permanent else "notready")
        tel.resources.set(kind.kind, obj.uid, status, obj.key, obj.created_at)
        if outcome.retry_after is None:
            tel.workqueue.done(kind.kind, obj.uid)
        return outcome

    def _converge(self, kind: Kind, obj: CustomObject, trigger: str, outcome: Outcome,
                  cluster: ClusterView) -> None:
        problems = tag_problems(obj.spec.get("tags") or {})
        if problems:
            raise TerminalError("; ".join(problems), reason="InvalidTags")
        resolution = resolve(kind, obj.spec, obj.namespace, cluster)
        kind.validate(resolution.spec, resolution.related)
        if resolution.waiting is not None:
            raise resolution.waiting
        aws = self._clients(obj)
        desired = kind.desired(resolution.spec)
        desired["tags"] = {**(obj.spec.get("tags") or {}),
                           **owner_tags(kind.kind, obj.namespace, obj.name, obj.uid)}
        ident = obj.status.get(kind.identifier)
        drift_check = trigger in DRIFT_TRIGGERS and bool(ident)

        owner = (OWNER_UID, obj.uid)
        duplicates: list[Raw] = []
        with self._drift_scope(kind, obj, drift_check) as drift:
            owned: list[Raw] | None = None
            if drift_check:
                raw, owned = self._drift_read(kind, aws, obj, ident, owner)
            else:
                raw = _read(kind, aws, ident) if ident else None
            delta = None
            if raw is not None:
                delta = compute_delta(desired, kind.observe(raw), kind.drift_fields)
                if drift and not delta.empty:
                    for severity, fields in delta.by_severity().items():
                        drift.detected(severity.value, fields)
                if drift:
                    owned = kind.find_all_owned(aws, owner) if owned is None else owned
                    duplicates = [r for r in owned if kind.identify(r) != ident]
                    if duplicates:
                        drift.detected(Severity.CRITICAL.value, ["duplicates"])
            elif ident and drift:
                drift.detected(Severity.CRITICAL.value, ["existence"])

        if raw is None and ident:
            self._gone_out_of_band(kind, obj, ident, outcome)
        if raw is None:
            owned = kind.find_all_owned(aws, owner)
            if owned:
                raw, duplicates = _read(kind, aws, kind.identify(owned[0])) or owned[0], owned[1:]
                outcome.event("Normal", "Adopted",
                              f"adopted {kind.kind} {kind.identify(raw)} tagged as owned by this object")
                delta = compute_delta(desired, kind.observe(raw), kind.drift_fields)
        healing = drift if drift_check else None
        if duplicates:
            with self._writing(kind, obj):
                self._delete_duplicates(kind, aws, kind.identify(raw), duplicates, healing, outcome)
        if raw is None:
            # Create the resource, then converge what the create call could not set like any update.
            with self._writing(kind, obj):
                raw = self._create(kind, aws, obj, desired, outcome)
            delta, healing = compute_delta(desired, kind.observe(raw), kind.drift_fields), None
        if delta is not None and not delta.empty:
            raw = self._apply_delta(kind, aws, obj, raw, desired, delta, healing, outcome)

        ident = kind.identify(raw)
        outcome.status.update({kind.identifier: ident, **kind.status(raw)})
        if not kind.available(raw):
            outcome.retry_after = self.settings.provisioning_delay
            outcome.message = f"{kind.kind} {ident} is provisioning in AWS"
            self._conditions(obj, outcome, ready=(False, "Provisioning", outcome.message),
                             synced=(True, "Synced", "spec applied to AWS"))
            return
        self._conditions(obj, outcome, ready=(True, "Available", f"{kind.kind} {ident} is available"),
                         synced=(True, "Synced", "spec applied to AWS"))

    def _gone_out_of_band(self, kind: Kind, obj: CustomObject, ident: str, outcome: Outcome) -> None:
        if obj.spec.get("deletionPolicy", "Delete") == "Retain":
            raise RetryableError(
                f"{kind.kind} {ident} was deleted outside the operator; deletionPolicy Retain: not re-creating",
                reason="DeletedInAWS", error_type="sync_failed", delay=300)
        outcome.event("Warning", "DeletedInAWS", f"{kind.kind} {ident} was deleted outside the operator; re-creating")

    def _delete_duplicates(self, kind: Kind, aws: AWSClients, kept: str, duplicates: list[Raw], drift,
                           outcome: Outcome) -> None:
        """Delete the resources tagged as this object's besides the one it keeps. Only a create
        whose answer was lost (a timeout) and that was made again leaves such twins."""
        with _healing(drift):
            for raw in duplicates:
                _absent_ok(kind.delete, aws, kind.identify(raw), raw)
                outcome.event("Warning", "DuplicateDeleted",
                              f"deleted {kind.kind} {kind.identify(raw)}, a duplicate of {kept} tagged as owned "
                              "by this object")

    def _create(self, kind: Kind, aws: AWSClients, obj: CustomObject, desired: dict, outcome: Outcome) -> Raw:
        created = kind.create(aws, desired, desired["tags"], token=f"{obj.uid}-{obj.generation or 0}")
        ident = kind.identify(created)
        outcome.event("Normal", "Created", f"created {kind.kind} {ident}")
        for delay in self.settings.read_after_create_backoff:
            raw = _read(kind, aws, ident)
            if raw is not None:
                return raw
            self._sleep(delay)
        return created

    def _apply_delta(self, kind: Kind, aws: AWSClients, obj: CustomObject, raw: Raw, desired: dict,
                     delta: Delta, drift, outcome: Outcome) -> Raw:
        ident = kind.identify(raw)
        fields = [f.name for f in delta.changed] + (["tags"] if delta.tags_to_set or delta.tags_to_remove else [])
        with _healing(drift):
            if delta.needs_replacement:
                raise TerminalError(
                    f"{', '.join(delta.needs_replacement)} cannot change in place on {kind.kind} {ident}; "
                    "delete and re-create the object to replace it", reason="ReplacementRequired")
            changed = frozenset(f.name for f in delta.changed)
            with self._writing(kind, obj):
                if changed:
                    kind.update(aws, ident, desired, raw, changed)
                if delta.tags_to_set or delta.tags_to_remove:
                    kind.set_tags(aws, ident, delta.tags_to_set, delta.tags_to_remove)
        if drift is not None:
            outcome.event("Normal", "DriftHealed", f"healed drift on {kind.kind} {ident}: {', '.join(fields)}")
        else:
            outcome.event("Normal", "Updated", f"updated {kind.kind} {ident}: {', '.join(fields)}")
        return _read(kind, aws, ident) or raw

    # -- delete -------------------------------------------------------------------------------

    def _delete(self, kind: Kind, obj: CustomObject, outcome: Outcome, cluster: ClusterView) -> None:
        retain = obj.spec.get("deletionPolicy", "Delete") == "Retain"
        if not retain:
            blocking = cluster.dependents(kind.kind, obj.namespace, obj.name)
            if blocking:
                outcome.retry_after = self.settings.dependents_delay
                outcome.message = f"waiting for dependents to be deleted first: {', '.join(sorted(blocking))}"
                self._conditions(obj, outcome, ready=(False, "DependentsExist", outcome.message))
                return
        aws = self._clients(obj)
        with self._writing(kind, obj):
            self._delete_in_aws(kind, obj, aws, retain, outcome)

    def _delete_in_aws(self, kind: Kind, obj: CustomObject, aws: AWSClients, retain: bool, outcome: Outcome) -> None:
        owner = (OWNER_UID, obj.uid)
        ident = obj.status.get(kind.identifier)
        raw = _read(kind, aws, ident) if ident else None
        # The one in status, and any other tagged as ours (a crash before the status write, a duplicate).
        targets = ([raw] if raw is not None else []) + [
            r for r in kind.find_all_owned(aws, owner) if raw is None or kind.identify(r) != ident]
        if retain:
            owned = frozenset(owner_tags(kind.kind, obj.namespace, obj.name, obj.uid))
            kept = [kind.identify(r) for r in targets] + kind.held(aws, owner)
            for each in kept:
                kind.set_tags(aws, each, {}, owned)
            if kept:
                outcome.event("Normal", "Retained",
                              f"left {kind.kind} {', '.join(kept)} in AWS and removed the ownership tags")
            return
        for target in targets:
            ident = kind.identify(target)
            _absent_ok(kind.delete, aws, ident, target)
            self._await_gone(kind, aws, ident)
            outcome.event("Normal", "Deleted", f"deleted {kind.kind} {ident}")
        # Only once the main resource is gone (on this run or an earlier one) can what it held go.
        for each in kind.held(aws, owner):
            _absent_ok(kind.release_held, aws, each)
            outcome.event("Normal", "Released", f"released {each}, held by the deleted {kind.kind}")

    def _await_gone(self, kind: Kind, aws: AWSClients, ident: str) -> None:
        deadline = time.monotonic() + self.settings.delete_confirm_timeout
        pause = 0.2
        while _read(kind, aws, ident) is not None:
            if time.monotonic() >= deadline:
                raise RetryableError(f"{kind.kind} {ident} is still being deleted in AWS",
                                     reason="DeletionInProgress", error_type="finalizer_failed", delay=5)
            self._sleep(pause)
            pause = min(pause * 2, 2.0)

    # -- helpers ------------------------------------------------------------------------------

    def _clients(self, obj: CustomObject) -> AWSClients:
        return self.providers.get(obj.provider_key)

    def _drift_read(self, kind: Kind, aws: AWSClients, obj: CustomObject, ident: str,
                    owner: tuple[str, str]) -> tuple[Raw | None, list[Raw] | None]:
        """A drift check's read, and the resources tagged as this object's when known: from the
        describe cache's snapshot when it holds the resource, from AWS by identifier otherwise
        (which also tells a deleted resource from one that merely lost its managed-by tag)."""
        lookup = _describing(self.describe_cache.lookup, kind, aws, obj.provider_key, ident, owner[1])
        if lookup is None:
            return _read(kind, aws, ident), None
        self.telemetry.cache_lookup(kind.kind, lookup.hit)
        if lookup.listed is None:
            return _read(kind, aws, ident), None
        return _describing(kind.complete, aws, lookup.listed), list(lookup.owned)

    @contextmanager
    def _writing(self, kind: Kind, obj: CustomObject) -> Iterator[None]:
        """Around the engine's writes to AWS: afterwards (failed writes too, they may have changed
        something) the provider's snapshot of the kind is stale."""
        try:
            yield
        finally:
            self.describe_cache.invalidate(obj.provider_key, kind.kind)

    @contextmanager
    def _drift_scope(self, kind: Kind, obj: CustomObject, enabled: bool) -> Iterator[Any]:
        if not enabled:
            yield None
            return
        with self.telemetry.drift_check(kind.kind, obj.namespace, obj.name) as drift:
            yield drift

    def _fail(self, obj: CustomObject, error: EngineError, outcome: Outcome, action: str) -> None:
        if isinstance(error, TerminalError):
            outcome.permanent = True
        else:
            outcome.retry_after = getattr(error, "delay", 10.0)
        outcome.message = error.message
        self._conditions(obj, outcome, ready=(False, error.reason, error.message),
                         synced=(False, error.reason, error.message))
        outcome.event("Warning", error.reason, f"{action} failed: {error.message}")
        # DEBUG: the wiring logs each change of the object's state once, at the level it deserves.
        log.debug("%s %s %s failed: %s: %s", action, obj.kind, obj.key, error.reason, error.message)

    def _conditions(self, obj: CustomObject, outcome: Outcome, *, ready: tuple[bool, str, str],
                    synced: tuple[bool, str, str] | None = None) -> None:
        updates = {conditions.READY: ready}
        if synced:
            updates[conditions.SYNCED] = synced
        outcome.status["conditions"] = conditions.merge_conditions(
            obj.status.get("conditions"), updates, conditions.now_rfc3339(), obj.generation)
        outcome.status["observedGeneration"] = obj.generation

    def _lock(self, uid: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(uid, threading.Lock())


def _read(kind: Kind, aws: AWSClients, ident: str) -> Raw | None:
    return _describing(kind.read, aws, ident)


def _describing(describe: Callable[..., Any], *args: Any) -> Any:
    """A describe call: absent is None, a failure is a `get_failed` engine error."""
    try:
        return describe(*args)
    except NotFound:
        return None
    except Exception as exc:
        error = classify(exc)
        if isinstance(error, NotFound):
            return None
        if error is None:
            raise
        error.error_type = "get_failed"
        raise error from exc


@contextmanager
def _healing(drift) -> Iterator[None]:
    """Around changes made to AWS; when they heal a drift (`drift` not None), counts them as
    healed, or as a failed heal when they raise (as an engine error)."""
    try:
        yield
    except Exception as exc:
        if drift is not None:
            drift.heal_failed("drift_healing_failed")
        raise _as_engine_error(exc) from exc
    if drift is not None:
        drift.healed()


def _absent_ok(delete: Callable[..., None], *args: Any) -> None:
    """A delete call whose target is already gone has done its job."""
    try:
        delete(*args)
    except Exception as exc:
        if not isinstance(classify(exc), NotFound):
            raise


def _as_engine_error(exc: BaseException) -> EngineError:
    error = classify(exc)
    if error is not None:
        return error
    log.exception("unexpected error (retrying)")
    return RetryableError(f"internal error: {type(exc).__name__}: {exc}", reason="InternalError",
                          error_type="sync_failed", delay=30)
