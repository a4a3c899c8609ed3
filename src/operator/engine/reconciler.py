"""The one generic reconciler: lifecycle, adoption, delta, drift, conditions, outcomes and
telemetry for every kind. Kinds only describe their AWS calls and declare their capabilities."""

from __future__ import annotations

import logging
import random
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping

from ...telemetry import SpanRef, Telemetry
from ..provider.errors import (DeletionProtected, DependencyNotReady, EngineError, InProgress, ProviderNotReady,
                               RetryableError, TerminalError, classify, error_code, error_message, is_not_found)
from ..provider.sessions import ProviderSessions
from . import conditions
from .delta import OWNER_KIND, OWNER_NAME, OWNER_UID, Delta, compute_delta, owner_tags, tag_problems
from .describe_cache import DescribeCache
from .kind import Adoption, AWSClients, ErrorMatch, Kind, Raw, SecretInput, SecretValue, Severity, State, TagChange
from .objects import ClusterView, CustomObject
from .outcome import Outcome
from .secret_outputs import NoSecretSink, Owner, SecretSink, WrittenSecret
from .references import resolve

log = logging.getLogger(__name__)

# Triggers on which a difference between spec and AWS is drift (the spec did not change).
DRIFT_TRIGGERS = frozenset({"resync", "resume"})
# The create-pending record: written on the object before a create call whose resource the
# engine could not otherwise find after a crash; cleared once the identity is in status.
PENDING_ANNOTATION = "infra-operator.dev/create-pending"
# Status keys the engine owns besides the kind's fields.
LATE_INITIALIZED = "lateInitialized"
SECRET_VERSIONS = "secretVersions"
# The trace (ids) of the last run that changed the object or its AWS resource.
LAST_CHANGE_TRACE = "lastChangeTrace"
# Attributes of the link from a woken dependent's reconcile to the span that made its dependency Ready.
LINK_CAUSE = "infra_operator.link.cause"
LINK_OBJECT = "infra_operator.link.object"

# Reads a Secret: (decoded data, a version that changes with its content: uid/resourceVersion),
# or None when it does not exist.
SecretSource = Callable[[str, str], "tuple[Mapping[str, str], str] | None"]


@dataclass(frozen=True)
class EngineSettings:
    """Timing knobs of the engine (seconds)."""

    # Requeue delay while AWS reports a resource as still provisioning (or an InProgress
    # without its own delay).
    provisioning_delay: float = 5.0
    # The longest wait between looks at a long AWS operation, whatever the kind proposes (a
    # CloudFront deployment: 30 s; an RDS instance: 30 s).
    in_progress_max_delay: float = 300.0
    # Requeue delay while dependents block a deletion.
    dependents_delay: float = 5.0
    # Delay between asking AWS to delete and reading again to confirm the resource gone.
    deletion_poll_delay: float = 2.0
    # Delay before converging a resource whose describe did not show it yet after its create
    # (eventually consistent describe APIs).
    read_after_create_delay: float = 1.0
    # Retry delay for errors a kind declares as AWS's eventual consistency.
    eventual_consistency_delay: float = 5.0
    # Retry delay while AWS's deletion protection refuses a delete.
    deletion_protected_delay: float = 300.0
    # Retry delay while a Secret a spec names is missing or lacks the key.
    secret_missing_delay: float = 30.0
    # Whether one describe snapshot per (provider, kind) answers a resync round's drift checks.
    describe_cache: bool = True
    # Repeated failures of one object back off exponentially from the error's own delay
    # (doubling per failure, plus up to `backoff_jitter` of it at random) up to `backoff_cap`;
    # a success or a spec change starts again from the error's delay (controller-runtime's
    # per-item exponential failure rate limiter).
    backoff_cap: float = 300.0
    backoff_jitter: float = 0.1


def _no_secrets(namespace: str, name: str) -> None:
    return None


@dataclass
class _Run:
    """What one reconcile of one object knows as its steps go."""

    kind: Kind
    obj: CustomObject
    trigger: str
    outcome: Outcome
    cluster: ClusterView
    aws: AWSClients | None = None
    desired: State = field(default_factory=dict)
    token: str = ""
    raw: Raw | None = None
    delta: Delta | None = None
    drift: Any = None  # the drift check's recorder while one runs, else None
    duplicates: list[Raw] = field(default_factory=list)
    secret_versions: dict[str, str] = field(default_factory=dict)
    changed_secrets: frozenset[str] = frozenset()
    recorder: Any = None  # the reconcile's or finalizer's recorder (its span)
    wrote: bool = False  # whether the run wrote to AWS
    # The Secret a secret output is written to, as it was before this run (kind.SecretOutput),
    # and whether the resource read must be made again because that Secret lost its value.
    written: WrittenSecret | None = None
    regenerate: bool = False

    @property
    def ident(self) -> str | None:
        return self.obj.status.get(self.kind.identifier)


@dataclass
class _ObjectLock:
    lock: threading.Lock = field(default_factory=threading.Lock)
    users: int = 0


class Reconciler:
    def __init__(self, telemetry: Telemetry, providers: ProviderSessions,
                 settings: EngineSettings = EngineSettings(), describe_cache: DescribeCache | None = None,
                 read_secret: SecretSource = _no_secrets, read_config_map: SecretSource = _no_secrets,
                 secret_sink: SecretSink = NoSecretSink()):
        self.telemetry = telemetry
        self.providers = providers
        self.settings = settings
        self.read_secret = read_secret
        self.secret_sink = secret_sink
        self.read_config_map = read_config_map
        self.describe_cache = describe_cache or DescribeCache(settings.describe_cache)
        # Per object uid: its lock and how many runs hold or wait for it (the entry goes when
        # none does, so no lock outlives its use and no two runs ever hold different locks).
        self._locks: dict[str, _ObjectLock] = {}
        self._locks_guard = threading.Lock()
        # Consecutive failures per object uid, with the generation they failed at.
        self._failures: dict[str, tuple[int | None, int]] = {}

    # -- entry points -------------------------------------------------------------------------

    def reconcile(self, kind: Kind, body: Mapping[str, Any], trigger: str, cluster: ClusterView) -> Outcome:
        """Create, update, resume or resync one object (trigger: create|update|resume|resync)."""
        obj = CustomObject.from_body(body)
        if trigger == "update" and not obj.status.get(kind.identifier):
            # Not created yet (e.g. woken once its dependencies are Ready): still its creation.
            trigger = "create"
        if trigger == "resync" and (not obj.status.get(kind.identifier)
                                    or obj.status.get("observedGeneration") != obj.generation):
            # Never created, or a spec change is pending: the handler path owns it and retries it.
            return Outcome()
        with self._locked(obj.uid, wait=trigger != "resync") as acquired:
            if not acquired:
                return Outcome()  # a handler is running for this object; resync next interval
            return self._run(_Run(kind, obj, trigger, Outcome(), cluster))

    def finalize(self, kind: Kind, body: Mapping[str, Any], cluster: ClusterView) -> Outcome:
        """Delete (or retain) the AWS resource; an empty retry means the finalizer may go."""
        obj = CustomObject.from_body(body)
        tel = self.telemetry
        tel.resources.set(kind.kind, obj.uid, "deleting", obj.key, obj.created_at)
        tel.workqueue.enqueue(kind.kind, obj.uid)
        run = _Run(kind, obj, "delete", Outcome(), cluster)
        with self._locked(obj.uid, wait=True), tel.finalizer(kind.kind, obj.namespace, obj.name) as rec:
            run.recorder = rec
            try:
                self._delete(run)
            except InProgress as progress:
                self._in_progress(run, progress, "Deleting")
            except Exception as exc:  # every failure becomes a condition, an event and a retry
                error = self._engine_error(kind, exc)
                rec.fail("provider_failed" if isinstance(error, ProviderNotReady) else "finalizer_failed")
                self._fail(obj, error, run.outcome, action="delete")
            self._trace(run)
        if run.outcome.retry_after is None and not run.outcome.permanent:
            self._forget(kind, obj)
        return run.outcome

    def forget(self, kind: Kind, body: Mapping[str, Any]) -> None:
        """The object left the cluster without our finalizer (e.g. it was never ours)."""
        self._forget(kind, CustomObject.from_body(body))

    def _forget(self, kind: Kind, obj: CustomObject) -> None:
        self.telemetry.resources.forget(kind.kind, obj.uid)
        self.telemetry.workqueue.done(kind.kind, obj.uid)
        self._failures.pop(obj.uid, None)

    # -- reconcile ----------------------------------------------------------------------------

    def _run(self, run: _Run) -> Outcome:
        tel, kind, obj, outcome = self.telemetry, run.kind, run.obj, run.outcome
        tel.workqueue.enqueue(kind.kind, obj.uid)
        if not obj.status.get("conditions"):
            tel.resources.set(kind.kind, obj.uid, "pending", obj.key, obj.created_at)
        with tel.reconcile(kind.kind, obj.namespace, obj.name, run.trigger) as rec:
            run.recorder = rec
            try:
                self._converge(run)
            except InProgress as progress:
                self._in_progress(run, progress, "Updating")
                rec.outcome("requeue")
            except Exception as exc:
                error = self._engine_error(kind, exc)
                self._fail(obj, error, outcome, action="reconcile")
                rec.outcome("error" if outcome.permanent else "requeue", error.error_type)
            else:
                if outcome.retry_after is not None or outcome.rerun:
                    rec.outcome("requeue")
            self._trace(run)
        converged = outcome.retry_after is None and not outcome.rerun
        if converged and not outcome.permanent:
            self._succeeded(obj)
        status = ("ready" if converged and not outcome.permanent
                  else "error" if outcome.permanent else "notready")
        tel.resources.set(kind.kind, obj.uid, status, obj.key, obj.created_at)
        if converged:
            tel.workqueue.done(kind.kind, obj.uid)
        return outcome

    def _converge(self, run: _Run) -> None:
        """The steps of one reconcile, each a method: resolve references and secrets, read,
        adopt, create, compare, update (tags included), report."""
        resolved = self._resolve(run)
        run.aws = self._clients(run.obj)
        self._want(run, resolved)
        self._output_target(run)
        self._read(run)
        if run.raw is None:
            self._adopt(run)
        if run.raw is not None and run.kind.deletion_date(run.raw):
            self._restore(run)
        if run.duplicates:
            self._delete_duplicates(run)
        if run.regenerate:
            self._regenerate(run)
        if run.raw is None:
            if self._create(run):
                return
        self._late_initialize(run)
        if run.delta is not None and not run.delta.empty:
            self._update(run)
        self._report(run)

    def _resolve(self, run: _Run) -> dict[str, Any]:
        """Check tags and the kind's rules, fill in references; raise while a reference waits."""
        kind, obj = run.kind, run.obj
        problems = tag_problems(obj.spec.get("tags") or {}, kind.tagging)
        if problems:
            raise TerminalError("; ".join(problems), reason="InvalidTags")
        resolution = resolve(kind, obj.spec, obj.namespace, run.cluster)
        kind.validate(resolution.spec, resolution.related)
        if resolution.waiting is not None:
            raise resolution.waiting
        if conditions.reason(obj.status, conditions.READY) == DependencyNotReady.reason:
            # Woken because what it waited for is Ready: the trace says which change did it.
            for (other, name), status in sorted(resolution.ready.items()):
                made_ready = status.get(LAST_CHANGE_TRACE) or {}
                if made_ready.get("traceId") and made_ready.get("spanId"):
                    run.recorder.link(SpanRef(made_ready["traceId"], made_ready["spanId"]),
                                      **{LINK_CAUSE: "dependency_ready", LINK_OBJECT: f"{other}/{name}"})
        return resolution.spec

    def _want(self, run: _Run, spec: Mapping[str, Any]) -> None:
        """The desired state: the kind's, the tags (owner tags where the kind carries tags),
        values AWS chose that were recorded, and the secret inputs' values."""
        kind, obj = run.kind, run.obj
        desired = kind.desired(spec)
        recorded = obj.status.get(LATE_INITIALIZED) or {}
        for drift_field in kind.drift_fields:
            if drift_field.late_init and desired.get(drift_field.name) is None and drift_field.name in recorded:
                desired[drift_field.name] = recorded[drift_field.name]
        if kind.tagging is not None:
            # Tags the kind's desired state implies (an instance's Name from instanceName) give
            # way to the spec's own.
            desired["tags"] = {**(desired.get("tags") or {}), **(obj.spec.get("tags") or {}),
                               **owner_tags(kind.kind, obj.namespace, obj.name, obj.uid)}
        applied = obj.status.get(SECRET_VERSIONS) or {}
        changed = set()
        for secret in kind.secret_inputs:
            value, version = self._secret(obj, secret)
            if value is None:
                continue
            desired[secret.name] = value
            run.secret_versions[secret.name] = version
            if applied.get(secret.name) != version:
                changed.add(secret.name)
        run.changed_secrets = frozenset(changed)
        kind.inputs(run.aws, desired)
        run.desired = desired
        run.token = kind.token.from_uid(obj.uid)

    def _secret(self, obj: CustomObject, secret: SecretInput) -> tuple[SecretValue | None, str]:
        """The value of a secret input in its shape, and the Secret's version. Messages name
        the Secret and its keys, never a value."""
        ref_field = secret.field
        ref = obj.spec.get(ref_field) or {}
        if not ref:
            if secret.required:
                raise TerminalError(f"spec.{ref_field} is required", reason="MissingSecretRef")
            return None, ""
        found = (self.read_config_map if secret.source == "ConfigMap" else self.read_secret)(obj.namespace, ref["name"])
        keys = ([ref["key"]] if secret.shape != "json" else
                list(ref.get("keys") or (sorted(found[0]) if found else [])))
        missing = [key for key in keys if found is None or key not in found[0]]
        if found is None or missing or not keys:
            what = ("does not exist" if found is None else "has no keys" if not keys
                    else f"has no key {', '.join(map(repr, missing))}")
            raise RetryableError(f"{secret.source} {ref['name']} ({ref_field}) {what}", reason=f"{secret.source}NotFound",
                                 delay=self.settings.secret_missing_delay)
        data, version = found
        if secret.shape == "binary":
            # The reader decodes with surrogateescape: this gives the Secret's bytes back exactly.
            return SecretValue(data[keys[0]].encode("utf-8", "surrogateescape")), version
        text = [key for key in keys if not _is_text(data[key])]
        if text:
            raise TerminalError(f"{secret.source} {ref['name']} key {', '.join(map(repr, text))} ({ref_field}) is not UTF-8 "
                                "text", reason="InvalidSecret")
        if secret.shape == "json":
            return SecretValue.json_object({key: data[key] for key in keys}), version
        return SecretValue(data[keys[0]]), version

    def _read(self, run: _Run) -> None:
        """Read the resource in status (a drift check: from the describe cache, and counting
        what differs), and the duplicates a drift check finds."""
        kind, obj, ident = run.kind, run.obj, run.ident
        drift_check = run.trigger in DRIFT_TRIGGERS and bool(ident)
        owner = (OWNER_UID, obj.uid)
        with self._drift_scope(kind, obj, drift_check) as drift:
            owned: list[Raw] | None = None
            if drift_check:
                run.raw, owned = self._drift_read(kind, run.aws, obj, ident, owner)
            else:
                run.raw = self._describe(kind, run.aws, ident) if ident else None
            if run.raw is not None:
                run.delta = self._delta(run)
                if drift and not run.delta.empty:
                    for severity, fields in run.delta.by_severity().items():
                        drift.detected(severity.value, fields)
                if drift and kind.deletion_date(run.raw):
                    drift.detected(Severity.CRITICAL.value, ["deletion"])
                run.regenerate = not self._output_kept(run)
                if drift and run.regenerate:
                    drift.detected(Severity.CRITICAL.value, [kind.secret_output.field])
                if drift and kind.adoption is Adoption.OWNER_TAG:
                    owned = kind.find_all_owned(run.aws, owner) if owned is None else owned
                    run.duplicates = [r for r in owned if kind.identify(r) != ident]
                    if run.duplicates:
                        drift.detected(Severity.CRITICAL.value, ["duplicates"])
            elif ident and drift:
                drift.detected(Severity.CRITICAL.value, ["existence"])
        run.drift = drift if drift_check else None
        if run.raw is None and ident:
            self._gone_out_of_band(run)

    def _adopt(self, run: _Run) -> None:
        """Find the resource this object created before its identity reached status, per the
        kind's adoption strategy (see kind.Adoption)."""
        kind, obj, aws = run.kind, run.obj, run.aws
        found: Raw | None = None
        if kind.adoption is Adoption.OWNER_TAG:
            owned = kind.find_all_owned(aws, (OWNER_UID, obj.uid))
            if not owned and kind.deletion.scheduled:
                owned = [r for r in kind.find_all_owned(aws, (OWNER_NAME, f"{obj.namespace}/{obj.name}"))
                         if self._predecessor(run, r)][:1]
            if owned:
                found = self._describe(kind, aws, kind.identify(owned[0])) or owned[0]
                run.duplicates = owned[1:]
        else:
            found = _describing(kind.find_created, aws, run.desired, run.token)
            if found is not None and not self._ours(run, found):
                raise TerminalError(
                    f"{kind.kind} {kind.identify(found)} already exists and is not this object's: choose "
                    "another name, or delete it first", reason="NameTaken")
        if found is not None:
            run.raw = found
            run.drift = None
            run.delta = self._delta(run)
            run.regenerate = not self._output_kept(run)
            run.outcome.event("Normal", "Adopted", f"adopted {kind.kind} {kind.identify(found)} created for this object")

    def _ours(self, run: _Run, raw: Raw) -> bool:
        """Whether a resource `find_created` found is the one this object created: always for
        keys derived from the UID; under a name, when the create-pending record or our owner
        tag says so."""
        if run.kind.adoption is Adoption.TOKEN or PENDING_ANNOTATION in run.obj.annotations:
            return True
        return (run.kind.tagging is not None
                and self._observe(run.kind, run.aws, raw).get("tags", {}).get(OWNER_UID) == run.obj.uid
                or self._predecessor(run, raw))

    def _predecessor(self, run: _Run, raw: Raw) -> bool:
        """Whether `raw` awaits a deletion an earlier object of the same namespace, name and kind
        scheduled: re-creating the object restores it (see Deletion.scheduled)."""
        kind, obj = run.kind, run.obj
        if not (kind.deletion.scheduled and kind.tagging is not None and kind.deletion_date(raw)):
            return False
        tags = self._observe(kind, run.aws, raw).get("tags", {})
        return tags.get(OWNER_NAME) == f"{obj.namespace}/{obj.name}" and tags.get(OWNER_KIND) == kind.kind

    def _restore(self, run: _Run) -> None:
        """Cancel a deletion AWS has scheduled (out of band, or by an earlier object of the same
        name): a drift check counts it healed."""
        kind, ident, date = run.kind, run.kind.identify(run.raw), run.kind.deletion_date(run.raw)
        with _healing(run.drift, lambda exc: self._engine_error(kind, exc)), self._writing(run):
            kind.restore(run.aws, ident, run.raw)
        run.outcome.event("Warning" if run.drift is not None else "Normal", "DeletionCancelled",
                          f"cancelled the deletion of {kind.kind} {ident} AWS had scheduled for {date}")
        run.raw = self._describe(kind, run.aws, ident) or run.raw
        run.delta = self._delta(run)

    def _needs_pending_record(self, kind: Kind) -> bool:
        """Whether only a create-pending record lets a crash after the create find the resource."""
        return (kind.adoption is Adoption.PENDING_RECORD
                or (kind.adoption is Adoption.SPEC_NAME and (kind.tagging is None or not kind.tagging.at_create)))

    def _create(self, run: _Run) -> bool:
        """Create the resource (after persisting a create-pending record where the kind needs
        one). True when the run ends here (the record must be written first)."""
        kind, obj, aws, outcome = run.kind, run.obj, run.aws, run.outcome
        if self._needs_pending_record(kind):
            if PENDING_ANNOTATION not in obj.annotations:
                outcome.annotations[PENDING_ANNOTATION] = run.token
                outcome.rerun = True
                outcome.message = f"recording the create of {kind.kind} before making it"
                self._conditions(obj, outcome, ready=(False, "Creating", outcome.message))
                return True
        tags = run.desired.get("tags") or {}
        with self._writing(run):
            created = kind.create(aws, run.desired, tags, run.token)
            ident = kind.identify(created)
            if self._output_ref(run):
                self._write_output(run, created, ident)
            if kind.tagging is not None and not kind.tagging.at_create:
                kind.set_tags(aws, ident, TagChange(dict(tags), frozenset(), dict(tags)))
        outcome.event("Normal", "Created", f"created {kind.kind} {ident}")
        run.raw = self._describe(kind, aws, ident)
        run.drift = None
        run.changed_secrets = frozenset()  # the create applied them
        if run.raw is None:
            # Not visible yet (eventually consistent describe): converge on the next run.
            run.raw = created
            outcome.retry_after = self.settings.read_after_create_delay
            run.delta = None
        else:
            run.delta = self._delta(run)
        return False

    # -- secret outputs (kind.SecretOutput) -----------------------------------------------------

    def _output_ref(self, run: _Run) -> Mapping[str, str] | None:
        """The spec's `{name, key}` of the Secret the kind's generated value goes to, if any."""
        output = run.kind.secret_output
        return (run.obj.spec.get(output.field) or None) if output else None

    def _output_target(self, run: _Run) -> None:
        """Look at the Secret a generated value goes to; one that is not this object's is never
        overwritten (before any AWS call)."""
        ref, obj = self._output_ref(run), run.obj
        if not ref:
            return
        run.written = self.secret_sink.inspect(obj.namespace, ref["name"])
        if run.written is not None and obj.uid not in run.written.owners:
            raise TerminalError(f"Secret {ref['name']} ({run.kind.secret_output.field}) exists and is not this "
                                "object's: name another Secret, or delete that one", reason="SecretTaken")

    def _output_kept(self, run: _Run) -> bool:
        """Whether the resource read has its generated value in the Secret (or generates none)."""
        ref = self._output_ref(run)
        return (not ref or run.raw is None
                or run.written is not None and run.written.holds(run.obj.uid, run.kind.identify(run.raw), ref["key"]))

    def _write_output(self, run: _Run, created: Raw, ident: str) -> None:
        """Write the value the create answered to the Secret; when that fails, delete the
        resource (its value would be lost) and retry: the next run creates it again."""
        kind, obj, ref = run.kind, run.obj, self._output_ref(run)
        try:
            self.secret_sink.write(obj.namespace, ref["name"], Owner(kind.kind, obj.name, obj.uid),
                                   {ref["key"]: kind.generated_secret(created)}, ident)
        except Exception as exc:
            _absent_ok(kind, kind.delete, run.aws, ident, created, {**obj.spec, "deletionPolicy": "Delete"})
            raise RetryableError(
                f"could not write the {kind.secret_output.name} of {kind.kind} {ident} to Secret {ref['name']} "
                f"({type(exc).__name__}: {exc}); deleted {ident} so that the next attempt creates one whose "
                f"{kind.secret_output.name} is kept", reason="SecretWriteFailed",
                delay=self.settings.eventual_consistency_delay) from exc

    def _regenerate(self, run: _Run) -> None:
        """The Secret does not hold the value generated for the resource (only its create gave
        it): delete the resource, to create it again in this run."""
        kind, obj, ident, ref = run.kind, run.obj, run.kind.identify(run.raw), self._output_ref(run)
        with _healing(run.drift, lambda exc: self._engine_error(kind, exc)), self._writing(run):
            _absent_ok(kind, kind.delete, run.aws, ident, run.raw, {**obj.spec, "deletionPolicy": "Delete"})
        run.outcome.event("Warning", "SecretRegenerated",
                          f"Secret {ref['name']} does not hold the {kind.secret_output.name} of {kind.kind} {ident}, "
                          f"which AWS gives only at create: deleted {ident} to create it again")
        run.raw, run.delta, run.drift = None, None, None

    def _late_initialize(self, run: _Run) -> None:
        """Record the values AWS chose for late-initialised fields the spec leaves unset."""
        if run.raw is None:
            return
        recorded = dict(run.obj.status.get(LATE_INITIALIZED) or {})
        observed = None
        for drift_field in run.kind.drift_fields:
            if drift_field.late_init and drift_field.name not in recorded:
                observed = observed or self._observe(run.kind, run.aws, run.raw)
                if observed.get(drift_field.name) is not None:
                    recorded[drift_field.name] = observed[drift_field.name]
        if recorded:
            run.outcome.status[LATE_INITIALIZED] = recorded

    def _update(self, run: _Run) -> None:
        kind, obj, aws, delta, outcome = run.kind, run.obj, run.aws, run.delta, run.outcome
        ident = kind.identify(run.raw)
        fields = [f.name for f in delta.changed] + sorted(delta.secrets) + (
            ["tags"] if delta.tags_to_set or delta.tags_to_remove else [])
        with _healing(run.drift, lambda exc: self._engine_error(kind, exc)):
            if delta.needs_replacement:
                raise TerminalError(
                    f"{', '.join(delta.needs_replacement)} cannot change in place on {kind.kind} {ident}; "
                    "delete and re-create the object to replace it", reason="ReplacementRequired")
            changed = frozenset(f.name for f in delta.changed) | delta.secrets
            with self._writing(run):
                if changed:
                    try:
                        kind.update(aws, ident, run.desired, run.raw, changed)
                    except InProgress as progress:
                        if progress.sent and run.secret_versions:
                            outcome.status[SECRET_VERSIONS] = run.secret_versions
                        raise
                if delta.tags_to_set or delta.tags_to_remove:
                    kind.set_tags(aws, ident, TagChange(delta.tags_to_set, delta.tags_to_remove,
                                                        dict(run.desired.get("tags") or {})))
        if run.drift is not None:
            outcome.event("Normal", "DriftHealed", f"healed drift on {kind.kind} {ident}: {', '.join(fields)}")
        else:
            outcome.event("Normal", "Updated", f"updated {kind.kind} {ident}: {', '.join(fields)}")
        run.raw = self._describe(kind, aws, ident) or run.raw

    def _report(self, run: _Run) -> None:
        kind, obj, outcome, raw = run.kind, run.obj, run.outcome, run.raw
        ident = kind.identify(raw)
        outcome.status.update({kind.identifier: ident, **kind.identities(raw), **kind.status(raw),
                               **kind.requested_status(run.aws, raw, obj.spec)})
        if run.secret_versions:
            outcome.status[SECRET_VERSIONS] = run.secret_versions
        if PENDING_ANNOTATION in obj.annotations:
            if obj.status.get(kind.identifier) == ident:
                outcome.annotations[PENDING_ANNOTATION] = None
            else:
                # kopf writes the object before its status: the record goes in a run that
                # finds the identity in status already, at once.
                outcome.rerun = True
        synced = (True, "Synced", "spec applied to AWS")
        if outcome.retry_after is not None:  # created, not visible in AWS's describe yet
            outcome.message = f"{kind.kind} {ident} was created; waiting for AWS to show it"
            self._conditions(obj, outcome, ready=(False, "Provisioning", outcome.message), synced=synced)
            return
        try:
            available = kind.available(raw)
        except InProgress as progress:  # e.g. a certificate's PendingValidation
            self._in_progress(run, progress, "Provisioning", synced=synced)
            return
        if not available:
            outcome.retry_after = self.settings.provisioning_delay
            outcome.message = f"{kind.kind} {ident} is provisioning in AWS"
            self._conditions(obj, outcome, ready=(False, "Provisioning", outcome.message), synced=synced)
            return
        self._conditions(obj, outcome, ready=(True, "Available", f"{kind.kind} {ident} is available"), synced=synced)

    def _delta(self, run: _Run) -> Delta:
        observed = self._observe(run.kind, run.aws, run.raw)
        delta = compute_delta(run.desired, observed, run.kind.drift_fields)
        # Compared in this process only, where the kind reads the value back (SecretValue equality).
        compared = frozenset(s.name for s in run.kind.secret_inputs if s.name in observed and s.name in run.desired)
        differing = frozenset(name for name in compared if observed[name] != run.desired[name])
        return delta.with_secrets(run.changed_secrets, differing, compared)

    def _observe(self, kind: Kind, aws: AWSClients, raw: Raw) -> State:
        """The kind's comparable state, with the tags read by their own call where they are not
        in the description."""
        observed = kind.observe(raw)
        if kind.tagging is not None and not kind.tagging.in_description:
            observed["tags"] = _describing(kind.read_tags, aws, kind.identify(raw), raw)
        return observed

    def _gone_out_of_band(self, run: _Run) -> None:
        kind, obj, ident = run.kind, run.obj, run.ident
        if obj.spec.get("deletionPolicy", kind.deletion.default) == "Retain":
            raise RetryableError(
                f"{kind.kind} {ident} was deleted outside the operator; deletionPolicy Retain: not re-creating",
                reason="DeletedInAWS", error_type="sync_failed", delay=300)
        run.outcome.event("Warning", "DeletedInAWS",
                          f"{kind.kind} {ident} was deleted outside the operator; re-creating")

    def _delete_duplicates(self, run: _Run) -> None:
        """Delete the resources tagged as this object's besides the one it keeps. Only a create
        whose answer was lost (a timeout) and that was made again leaves such twins."""
        kind = run.kind
        kept = kind.identify(run.raw) if run.raw is not None else "?"
        with self._writing(run), _healing(run.drift, lambda exc: self._engine_error(kind, exc)):
            for raw in run.duplicates:
                _absent_ok(kind, kind.delete, run.aws, kind.identify(raw), raw, run.obj.spec)
                run.outcome.event("Warning", "DuplicateDeleted",
                                  f"deleted {kind.kind} {kind.identify(raw)}, a duplicate of {kept} tagged as "
                                  "owned by this object")

    # -- delete -------------------------------------------------------------------------------

    def _delete(self, run: _Run) -> None:
        kind, obj, outcome = run.kind, run.obj, run.outcome
        policy = obj.spec.get("deletionPolicy", kind.deletion.default)
        keeps = policy == "Retain" or policy in kind.deletion.keeping
        if not keeps:
            blocking = run.cluster.dependents(kind.kind, obj.namespace, obj.name)
            if blocking:
                outcome.retry_after = self.settings.dependents_delay
                outcome.message = f"waiting for dependents to be deleted first: {', '.join(sorted(blocking))}"
                self._conditions(obj, outcome, ready=(False, "DependentsExist", outcome.message))
                return
        run.aws = self._clients(obj)
        with self._writing(run):
            if keeps:
                if policy != "Retain":  # the kind acts on the resource it leaves (e.g. stops it)
                    for target in self._targets(run):
                        _absent_ok(kind, kind.delete, run.aws, kind.identify(target), target,
                                   {**obj.spec, "deletionPolicy": policy})
                self._retain(run)
            else:
                self._delete_in_aws(run, {**obj.spec, "deletionPolicy": policy})

    def _targets(self, run: _Run) -> list[Raw]:
        """The resource in status, and any other this object created (a crash before the
        status write, a duplicate)."""
        kind, obj, aws, ident = run.kind, run.obj, run.aws, run.ident
        raw = self._describe(kind, aws, ident) if ident else None
        found = [raw] if raw is not None else []
        if kind.adoption is Adoption.OWNER_TAG:
            found += [r for r in kind.find_all_owned(aws, (OWNER_UID, obj.uid))
                      if raw is None or kind.identify(r) != ident]
        elif not ident:  # never recorded: a create may have happened before a crash
            try:
                resolved = resolve(kind, obj.spec, obj.namespace, run.cluster)
            except TerminalError:
                return found  # every create resolves first: a spec it refuses created nothing
            try:
                kind.validate(resolved.spec, resolved.related)
            except TerminalError:
                # Refused now, but the referenced objects may have changed since a create the
                # create-pending record says may have happened: look for it all the same.
                if PENDING_ANNOTATION not in obj.annotations:
                    return found
            if resolved.waiting is not None:
                if set(resolved.waiting.waiting_on) - set(resolved.missing) or resolved.lacking:
                    raise resolved.waiting  # exists, unresolved now: a create may have used it
                # What a create used waits for its dependents' deletion: a named object that
                # does not exist was never resolved, so nothing was created (a dangling reference).
                return found
            try:
                run.desired = kind.desired(resolved.spec)
            except TerminalError:
                return found
            run.token = kind.token.from_uid(obj.uid)
            created = _describing(kind.find_created, aws, run.desired, run.token)
            found += [created] if created is not None and self._ours(run, created) else []
        return found

    def _retain(self, run: _Run) -> None:
        kind, obj, aws = run.kind, run.obj, run.aws
        ref = self._output_ref(run)
        if ref:  # the generated value stays usable with the retained resource
            self.secret_sink.disown(obj.namespace, ref["name"], obj.uid)
        if kind.tagging is None:
            return
        owned = frozenset(owner_tags(kind.kind, obj.namespace, obj.name, obj.uid))
        kept = []
        for raw in self._targets(run):
            tags = self._observe(kind, aws, raw).get("tags") or {}
            kind.set_tags(aws, kind.identify(raw), TagChange({}, owned & frozenset(tags),
                                                             {k: v for k, v in tags.items() if k not in owned}))
            kept.append(kind.identify(raw))
        for each in kind.held(aws, (OWNER_UID, obj.uid)):
            kind.set_tags(aws, each, TagChange({}, owned))
            kept.append(each)
        if kept:
            run.outcome.event("Normal", "Retained",
                              f"left {kind.kind} {', '.join(kept)} in AWS and removed the ownership tags")

    def _delete_in_aws(self, run: _Run, spec: Mapping[str, Any]) -> None:
        """Ask AWS to delete every target; the finalizer goes only once a read confirms each gone
        (no worker waits: a target still there is looked at again after deletion_poll_delay)."""
        kind, obj, aws, outcome = run.kind, run.obj, run.aws, run.outcome
        remaining = []
        for target in self._targets(run):
            ident = kind.identify(target)
            try:
                _absent_ok(kind, kind.delete, aws, ident, target, spec)
            except DeletionProtected as protected:  # the kind saw it before asking (a certificate in use)
                protected.delay = self.settings.deletion_protected_delay
                raise
            except Exception as exc:
                if _matches(kind.deletion.protected, exc):
                    raise DeletionProtected(
                        f"AWS refuses to delete {kind.kind} {ident} while its deletion protection is on: "
                        f"{error_code(exc)}: {error_message(exc)}", delay=self.settings.deletion_protected_delay) from exc
                raise
            after = self._describe(kind, aws, ident)
            if after is not None and kind.deletion_date(after):
                outcome.status.update(kind.status(after))
                outcome.event("Normal", "DeletionScheduled",
                              f"AWS deletes {kind.kind} {ident} on {kind.deletion_date(after)}; re-creating this "
                              "object before then restores it")
            elif after is not None:
                remaining.append(ident)
            else:
                outcome.event("Normal", "Deleted", f"deleted {kind.kind} {ident}")
        if remaining:
            raise InProgress(f"{kind.kind} {', '.join(remaining)} is being deleted in AWS",
                             delay=self.settings.deletion_poll_delay)
        # Only once the main resource is gone (on this run or an earlier one) can what it held go.
        for each in kind.held(aws, (OWNER_UID, obj.uid)):
            _absent_ok(kind, kind.release_held, aws, each)
            outcome.event("Normal", "Released", f"released {each}, held by the deleted {kind.kind}")

    # -- helpers ------------------------------------------------------------------------------

    def _trace(self, run: _Run) -> None:
        """The run's events name its trace; the status records it when the run changed
        something (wrote to AWS, or Ready flipped), never on a no-op resync (no extra write)."""
        span = run.recorder.sampled_span
        if span is None:
            return
        outcome = run.outcome
        outcome.trace_id = span.trace_id
        flipped = ("conditions" in outcome.status
                   and conditions.is_ready(outcome.status) != conditions.is_ready(run.obj.status))
        if run.wrote or flipped or not run.obj.status.get("conditions"):
            outcome.status[LAST_CHANGE_TRACE] = {"traceId": span.trace_id, "spanId": span.span_id}

    def _clients(self, obj: CustomObject) -> AWSClients:
        return self.providers.get(obj.provider_key)

    def _describe(self, kind: Kind, aws: AWSClients, ident: str) -> Raw | None:
        return _describing(kind.read, aws, ident)

    def _drift_read(self, kind: Kind, aws: AWSClients, obj: CustomObject, ident: str,
                    owner: tuple[str, str]) -> tuple[Raw | None, list[Raw] | None]:
        """A drift check's read, and the resources tagged as this object's when known: from the
        describe cache's snapshot when it holds the resource, from AWS by identifier otherwise
        (which also tells a deleted resource from one that merely lost its managed-by tag)."""
        lookup = _describing(self.describe_cache.lookup, kind, aws, obj.provider_key, ident, owner[1])
        if lookup is None:
            return self._describe(kind, aws, ident), None
        self.telemetry.cache_lookup(kind.kind, lookup.hit)
        if lookup.listed is None:
            return self._describe(kind, aws, ident), None
        return _describing(kind.complete, aws, lookup.listed), list(lookup.owned)

    def _in_progress(self, run: _Run, progress: InProgress, default_reason: str,
                     synced: tuple[bool, str, str] | None = None) -> None:
        """AWS works on a long operation: look again later, no error. The condition's reason is
        the kind's own where it gives one (an ECS cluster's ServicesRemain, an RDS instance's
        Modifying), else `default_reason`."""
        delay = progress.delay if progress.delay is not None else self.settings.provisioning_delay
        run.outcome.retry_after = min(delay, self.settings.in_progress_max_delay)
        run.outcome.message = progress.message
        reason = progress.reason if progress.reason != InProgress.reason else default_reason
        self._conditions(run.obj, run.outcome, ready=(False, reason, progress.message), synced=synced)

    def _engine_error(self, kind: Kind, exc: BaseException) -> EngineError:
        """An exception as an engine error, the kind's eventual-consistency errors retried."""
        match = _match(kind.retryable_errors, exc)
        if match is not None:
            return RetryableError(f"{error_code(exc)}: {error_message(exc)}"
                                  + ("" if match.reason else " (AWS has not caught up yet)"),
                                  reason=match.reason or "AWSEventuallyConsistent",
                                  delay=match.delay or self.settings.eventual_consistency_delay)
        return _as_engine_error(exc)

    @contextmanager
    def _writing(self, run: _Run) -> Iterator[None]:
        """Around the engine's writes to AWS: afterwards (failed writes too, they may have changed
        something) the provider's snapshot of the kind is stale, and the run changed something."""
        run.wrote = True
        try:
            yield
        finally:
            self.describe_cache.invalidate(run.obj.provider_key, run.kind.kind)

    @contextmanager
    def _drift_scope(self, kind: Kind, obj: CustomObject, enabled: bool) -> Iterator[Any]:
        if not enabled:
            yield None
            return
        with self.telemetry.drift_check(kind.kind, obj.namespace, obj.name) as drift:
            yield drift

    def _fail(self, obj: CustomObject, error: EngineError, outcome: Outcome, action: str) -> None:
        if isinstance(error, TerminalError) and action != "delete":
            outcome.permanent = True
        else:
            # A delete never gives up: the finalizer stays until AWS confirms the resource gone.
            delay = getattr(error, "delay", None) or 10.0
            # Waiting for a dependency is no failure of the object's (and the waker ends it).
            outcome.retry_after = delay if isinstance(error, DependencyNotReady) else self._backoff(obj, delay)
        outcome.message = error.message
        if isinstance(error, DependencyNotReady):
            outcome.waiting_on = error.waiting_on
        elif isinstance(error, ProviderNotReady) and error.provider:
            outcome.waiting_on = (("AWSProvider", error.provider.partition("/")[2]),)
        self._conditions(obj, outcome, ready=(False, error.reason, error.message),
                         synced=(False, error.reason, error.message))
        outcome.event("Warning", error.reason, f"{action} failed: {error.message}")
        # DEBUG: the wiring logs each change of the object's state once, at the level it deserves.
        log.debug("%s %s %s failed: %s: %s", action, obj.kind, obj.key, error.reason, error.message)

    def _backoff(self, obj: CustomObject, delay: float) -> float:
        """`delay` doubled for each failure of the object before this one (at its generation),
        with jitter, at most the cap."""
        generation, failures = self._failures.get(obj.uid, (obj.generation, 0))
        if generation != obj.generation:
            failures = 0
        self._failures[obj.uid] = (obj.generation, failures + 1)
        backed_off = min(self.settings.backoff_cap, delay * 2 ** failures)
        return min(self.settings.backoff_cap, backed_off * (1 + random.uniform(0, self.settings.backoff_jitter)))

    def _succeeded(self, obj: CustomObject) -> None:
        self._failures.pop(obj.uid, None)

    def _conditions(self, obj: CustomObject, outcome: Outcome, *, ready: tuple[bool, str, str],
                    synced: tuple[bool, str, str] | None = None) -> None:
        updates = {conditions.READY: ready}
        if synced:
            updates[conditions.SYNCED] = synced
        outcome.status["conditions"] = conditions.merge_conditions(
            obj.status.get("conditions"), updates, conditions.now_rfc3339(), obj.generation)
        outcome.status["observedGeneration"] = obj.generation

    @contextmanager
    def _locked(self, uid: str, wait: bool) -> Iterator[bool]:
        """Holds the object's lock (waiting for it, or not when `wait` is False); yields
        whether it holds it."""
        with self._locks_guard:
            entry = self._locks.setdefault(uid, _ObjectLock())
            entry.users += 1
        acquired = entry.lock.acquire(blocking=wait)
        try:
            yield acquired
        finally:
            if acquired:
                entry.lock.release()
            with self._locks_guard:
                entry.users -= 1
                if entry.users == 0:
                    del self._locks[uid]


def _describing(describe: Callable[..., Any], *args: Any) -> Any:
    """A describe call: a failure is a `get_failed` engine error. Absence is the kind's answer
    (None), never guessed from an error code: a NotFound of a secondary call is an error."""
    try:
        return describe(*args)
    except Exception as exc:
        error = classify(exc)
        if error is None:
            raise
        error.error_type = "get_failed"
        raise error from exc


def _is_text(value: str) -> bool:
    """Whether a Secret's value decoded as UTF-8 (the reader escapes bytes that did not)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _match(matches: tuple[ErrorMatch, ...], exc: BaseException) -> ErrorMatch | None:
    return next((m for m in matches if m.matches(error_code(exc), error_message(exc))), None)


def _matches(matches: tuple[ErrorMatch, ...], exc: BaseException) -> bool:
    return _match(matches, exc) is not None


@contextmanager
def _healing(drift, as_error: Callable[[BaseException], EngineError]) -> Iterator[None]:
    """Around changes made to AWS; when they heal a drift (`drift` not None), counts them as
    healed, or as a failed heal when they raise (as an engine error)."""
    try:
        yield
    except InProgress:
        raise
    except Exception as exc:
        if drift is not None:
            drift.heal_failed("drift_healing_failed")
        raise as_error(exc) from exc
    if drift is not None:
        drift.healed()


def _absent_ok(kind: Kind, delete: Callable[..., None], *args: Any) -> None:
    """A delete call whose target is already gone has done its job."""
    try:
        delete(*args)
    except Exception as exc:
        if not is_not_found(exc, kind.not_found_codes):
            raise


def _as_engine_error(exc: BaseException) -> EngineError:
    error = classify(exc)
    if error is not None:
        return error
    log.exception("unexpected error (retrying)")
    return RetryableError(f"internal error: {type(exc).__name__}: {exc}", reason="InternalError",
                          error_type="sync_failed", delay=30)
