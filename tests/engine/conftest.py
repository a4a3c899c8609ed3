"""Engine tests drive the reconciler directly (no kopf) against the session's moto server."""

import uuid
from collections import Counter
from typing import Any

import pytest

from infra_operator.operator.engine.objects import ObjectSummary
from infra_operator.operator.engine.outcome import Outcome
from infra_operator.operator.engine.reconciler import EngineSettings, Reconciler
from infra_operator.operator.engine.references import referenced
from infra_operator.operator.kinds import all_kinds
from infra_operator.operator.provider.sessions import ProviderSessions
from infra_operator.operator.provider.session import ProviderConfig, StaticCredentials
from infra_operator.telemetry import Telemetry, TelemetrySettings, setup_telemetry

NAMESPACE = "ns"
KINDS = {kind.kind: kind for kind in all_kinds()}


class Cluster:
    """Our custom objects as the operator's kopf indexes would show them to the engine
    (ClusterView), and the engine's outcomes written back into their status, as the wiring does."""

    def __init__(self, engine: Reconciler):
        self.engine = engine
        self.bodies: dict[tuple[str, str], dict[str, Any]] = {}

    # ClusterView
    def find(self, kind, namespace, name):
        body = self.bodies.get((kind, name))
        return ObjectSummary.of(body["status"], KINDS[kind].identifier) if body else None

    def dependents(self, kind, namespace, name):
        return [f"{k}/{n}" for (k, n), body in self.bodies.items()
                if (kind, name) in referenced(KINDS[k], body["spec"])]

    # Objects
    def apply(self, kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        """Create the object, or change its spec (a new generation)."""
        existing = self.bodies.get((kind, name))
        if existing:
            existing["spec"] = {"providerRef": {"name": "aws"}, **spec}
            existing["metadata"]["generation"] += 1
            return existing
        body = {"kind": kind,
                "metadata": {"namespace": NAMESPACE, "name": name, "uid": str(uuid.uuid4()), "generation": 1,
                             "creationTimestamp": "2026-11-27T00:00:00Z"},
                "spec": {"providerRef": {"name": "aws"}, **spec}, "status": {}}
        self.bodies[(kind, name)] = body
        return body

    def reconcile(self, kind: str, name: str, trigger: str = "create") -> Outcome:
        """One handler run."""
        body = self.bodies[(kind, name)]
        outcome = self.engine.reconcile(KINDS[kind], body, trigger, self)
        write(body, outcome)
        return outcome

    def delete(self, kind: str, name: str) -> Outcome:
        """Run the finalizer; the object leaves the cluster once it asks for no retry."""
        body = self.bodies[(kind, name)]
        outcome = self.engine.finalize(KINDS[kind], body, self)
        write(body, outcome)
        if outcome.retry_after is None:
            del self.bodies[(kind, name)]
        return outcome

    def status(self, kind: str, name: str) -> dict[str, Any]:
        return self.bodies[(kind, name)]["status"]

    def uid(self, kind: str, name: str) -> str:
        return self.bodies[(kind, name)]["metadata"]["uid"]


class Secrets:
    """Kubernetes Secrets (or ConfigMaps) as the engine reads them: decoded data and a version per change."""

    def __init__(self):
        self.data: dict[str, tuple[dict[str, str], str]] = {}

    def put(self, name: str, **values: str) -> None:
        version = int(self.data[name][1].rsplit("/", 1)[1]) + 1 if name in self.data else 1
        self.data[name] = (dict(values), f"uid-{name}/{version}")

    def __call__(self, namespace: str, name: str):
        return self.data.get(name)


def never_seen(outcomes, *values: str) -> None:
    """None of the values in the outcomes' status, messages and events."""
    text = "\n".join(f"{o.status!r} {o.message!r} {[(e.reason, e.message) for e in o.events]!r}" for o in outcomes)
    assert not [v for v in values if v in text]


def write(body: dict[str, Any], outcome: Outcome) -> None:
    """What the wiring writes of an outcome: annotations (None removes one), then the status."""
    annotations = body["metadata"].setdefault("annotations", {})
    for key, value in outcome.annotations.items():
        if value is None:
            annotations.pop(key, None)
        else:
            annotations[key] = value
    body["status"].update(outcome.status)


class CallLog:
    """AWS operations the engine made, counted by a botocore `before-call` hook."""

    def __init__(self):
        self.calls: Counter[str] = Counter()

    def register(self, events) -> None:
        events.register("before-call", self._count)

    def _count(self, model, **_):
        self.calls[model.name] += 1

    def total(self) -> int:
        return sum(self.calls.values())


def make_engine(aws, telemetry: Telemetry, calls: CallLog | None = None,
                providers: tuple[tuple[str, str], ...] = (("aws", "us-east-1"),), read_secret=None,
                secret_sink=None) -> Reconciler:
    """An engine whose providers (name, region) in NAMESPACE are Ready, on moto; `read_secret`
    answers for Kubernetes Secrets (secret inputs); `secret_sink` keeps generated ones."""
    def instrument(events):
        telemetry.instrument_aws(events)
        if calls is not None:
            calls.register(events)
    registry = ProviderSessions(instrument=instrument)
    for name, region in providers:
        registry.apply(ProviderConfig(f"{NAMESPACE}/{name}", region, aws.endpoint, StaticCredentials("testing", "testing")))
        registry.mark(f"{NAMESPACE}/{name}", True)
    return Reconciler(telemetry, registry, EngineSettings(), **({"read_secret": read_secret} if read_secret else {}),
                      **({"secret_sink": secret_sink} if secret_sink is not None else {}))


@pytest.fixture
def calls():
    return CallLog()


@pytest.fixture
def k8s_secrets():
    """The Kubernetes Secrets the `engine` fixture's secret inputs read (none until a test puts some)."""
    return Secrets()


@pytest.fixture
def engine(aws, calls, k8s_secrets):
    return make_engine(aws, Telemetry.noop(), calls, read_secret=k8s_secrets)


@pytest.fixture
def cluster(engine):
    return Cluster(engine)


@pytest.fixture
def telemetry():
    """A live telemetry (its /metrics is read back); engine tests share no state through it."""
    live = setup_telemetry(TelemetrySettings())
    yield live
    live.shutdown()


def value(samples, name, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def kind_metrics(samples, kind: str) -> dict[str, float]:
    """One kind's figures a test compares exactly: drift by severity, heals, reconciles by result,
    resources by status (zeros left out)."""
    figures = {f"drift {severity}": value(samples, "infra_operator_drift_detected_total", resource_type=kind,
                                          severity=severity) for severity in ("critical", "warning", "info")}
    figures["healed"] = value(samples, "infra_operator_drift_healed_total", resource_type=kind)
    for result in ("success", "requeue", "error"):
        figures[f"reconcile {result}"] = value(samples, "infra_operator_reconcile_total", resource_type=kind,
                                               result=result)
    for status in ("ready", "notready", "pending", "deleting", "error"):
        figures[status] = value(samples, "infra_operator_resources_total", resource_type=kind, status=status)
    return {name: figure for name, figure in figures.items() if figure}


def calls_of(samples, service: str, *operations: str) -> dict[str, float]:
    """Successful AWS calls of `service` by operation."""
    return {op: value(samples, "infra_operator_aws_api_calls_total", service=service, operation=op, result="success")
            for op in operations}


def reasons(outcome: Outcome) -> list[str]:
    return [event.reason for event in outcome.events]


def ready_reason(outcome_or_status) -> str:
    status = outcome_or_status.status if isinstance(outcome_or_status, Outcome) else outcome_or_status
    return next(c["reason"] for c in status["conditions"] if c["type"] == "Ready")


def refused(cluster: "Cluster", calls: CallLog, kind: str, spec: dict[str, Any], reason: str,
            message: str) -> Outcome:
    """Bad input for a new object: Ready=False with `reason`, an event of that reason only, the
    message saying `message`, and no AWS call."""
    cluster.apply(kind, "bad", spec)
    outcome = cluster.reconcile(kind, "bad")
    assert ready_reason(outcome) == reason and message in outcome.message and reasons(outcome) == [reason]
    assert calls.total() == 0
    return outcome


def _drive(step, keys, rounds: int, shuffle, goal: str) -> list[tuple[tuple[str, str], Outcome]]:
    """Run `step` on every object whose retry is pending (as kopf would after each delay, but
    without waiting) until none is; returns every run's outcome. `shuffle` reorders each round."""
    pending, runs = list(keys), []
    for _ in range(rounds):
        if shuffle:
            shuffle(pending)
        for key in list(pending):
            outcome = step(*key)
            runs.append((key, outcome))
            assert not outcome.permanent, f"{key}: {outcome.message}"
            if outcome.retry_after is None and not outcome.rerun:
                pending.remove(key)
        if not pending:
            return runs
    raise AssertionError(f"not {goal} after {rounds} rounds: {pending}")


def converge(cluster: Cluster, keys, rounds: int = 12, shuffle=None) -> list[tuple[tuple[str, str], Outcome]]:
    """Reconcile until every object is Ready."""
    return _drive(cluster.reconcile, keys, rounds, shuffle, "Ready")


def delete_all(cluster: Cluster, keys, rounds: int = 12, shuffle=None) -> list[tuple[tuple[str, str], Outcome]]:
    """Run finalizers until every object has left the cluster."""
    return _drive(cluster.delete, keys, rounds, shuffle, "deleted")


RESOURCE_STATUSES = ("ready", "notready", "pending", "deleting", "error")


def check_converged_metrics(samples, per_kind, requeues) -> None:
    """After a stack converged: each kind's objects are all `ready` and each reconciled once
    successfully, besides the runs that waited for a dependency (`requeue`, `sync_failed`)."""
    for kind, count in per_kind.items():
        assert value(samples, "infra_operator_resources_total", resource_type=kind, status="ready") == count
        assert all(value(samples, "infra_operator_resources_total", resource_type=kind, status=s) == 0
                   for s in RESOURCE_STATUSES if s != "ready")
        assert value(samples, "infra_operator_reconcile_total", resource_type=kind, result="success") == count
        assert value(samples, "infra_operator_reconcile_total", resource_type=kind, result="requeue") == requeues[kind]
        assert value(samples, "infra_operator_reconcile_errors_total", resource_type=kind,
                     error_type="sync_failed") == requeues[kind]  # DependencyNotReady's error_type


def check_adoption_after_a_lost_status_write(cluster: Cluster, kind: str, spec: dict[str, Any]) -> None:
    """The operator died between a create and its status write: the next run adopts what it
    made (by the spec's name and our owner tag) instead of making a second one."""
    identifier = KINDS[kind].identifier
    cluster.apply(kind, "adopted", spec)
    made = converge(cluster, [(kind, "adopted")])[0][1].status[identifier]
    cluster.bodies[(kind, "adopted")]["status"] = {}
    again = converge(cluster, [(kind, "adopted")])[0][1]
    assert reasons(again)[0] == "Adopted" and again.status[identifier] == made
    delete_all(cluster, [(kind, "adopted")])


def check_name_taken(cluster: Cluster, kind: str, spec: dict[str, Any]) -> None:
    """A resource with the spec's name that is not this object's is left alone: NameTaken."""
    cluster.apply(kind, "taken", spec)
    taken = cluster.reconcile(kind, "taken")
    assert ready_reason(taken) == "NameTaken" and taken.permanent, taken.message
    del cluster.bodies[(kind, "taken")]


def check_retain(cluster: Cluster, kind: str, spec: dict[str, Any], tags_in_aws) -> str:
    """Delete under `Retain`: the resource stays, with the spec's tags and none of ours;
    returns its identifier (the caller removes it)."""
    cluster.apply(kind, "retained", {**spec, "deletionPolicy": "Retain", "tags": {"keep": "me"}})
    made = converge(cluster, [(kind, "retained")])[-1][1].status
    kept = cluster.delete(kind, "retained")
    assert kept.retry_after is None and reasons(kept) == ["Retained"]
    assert tags_in_aws(made) == {"keep": "me"}
    return made[KINDS[kind].identifier]


def check_stopped_before_aws(cluster: Cluster, calls: CallLog, kind: str, spec: dict[str, Any], reason: str) -> None:
    """Bad input: Ready=False with the reason and its event, terminal, and no AWS call at all;
    deleting the object (nothing was created) takes one run."""
    cluster.apply(kind, "bad", spec)
    outcome = cluster.reconcile(kind, "bad")
    assert outcome.permanent and ready_reason(outcome) == reason and calls.total() == 0, outcome.message
    assert reasons(outcome) == [reason]
    deleted = cluster.delete(kind, "bad")
    assert deleted.retry_after is None and not deleted.permanent, deleted.message


class WrittenSecrets:
    """Kubernetes Secrets the engine writes (engine.secret_outputs.SecretSink), by name; `fail`
    makes the next writes raise."""

    def __init__(self):
        self.secrets: dict[str, dict[str, Any]] = {}
        self.fail = 0

    def inspect(self, namespace, name):
        from infra_operator.operator.engine.secret_outputs import WrittenSecret
        secret = self.secrets.get(name)
        return None if secret is None else WrittenSecret(frozenset(secret["owners"]), secret["written_for"],
                                                         frozenset(secret["data"]))

    def write(self, namespace, name, owner, data, written_for):
        if self.fail:
            self.fail -= 1
            raise ConnectionError("the API server is unreachable")
        existing = self.secrets.get(name)
        assert existing is None or owner.uid in existing["owners"]
        self.secrets[name] = {"owners": [owner.uid], "written_for": written_for,
                              "data": {key: value.reveal() for key, value in data.items()}}

    def disown(self, namespace, name, owner_uid):
        if name in self.secrets:
            self.secrets[name]["owners"] = [o for o in self.secrets[name]["owners"] if o != owner_uid]
