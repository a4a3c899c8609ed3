"""The engine driven without kopf, many objects at once: custom objects held in memory (the
ClusterView kopf's indexes give the engine), each reconciled or finalized on a thread pool like
kopf's handlers (one run per object at a time), a retry run after a short pause instead of
its delay (a hundredth of it)."""

from __future__ import annotations

import collections
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from infra_operator.operator.engine.kind import Kind
from infra_operator.operator.engine.objects import ObjectSummary
from infra_operator.operator.engine.outcome import Outcome
from infra_operator.operator.engine.reconciler import Reconciler
from infra_operator.operator.engine.references import referenced

Key = tuple[str, str]  # (kind, name)


class InMemoryCluster:
    def __init__(self, engine: Reconciler, kinds: Iterable[Kind], namespace: str = "ns", provider: str = "aws"):
        self.engine = engine
        self.kinds = {kind.kind: kind for kind in kinds}
        self.namespace = namespace
        self.provider = provider
        self.bodies: dict[Key, dict[str, Any]] = {}
        self._referrers: dict[Key, set[Key]] = collections.defaultdict(set)  # who names whom
        self.runs: list[tuple[Key, Outcome]] = []  # every run's outcome, in order
        self._lock = threading.Lock()

    def add(self, kind: str, name: str, spec: dict[str, Any], created: str = "2026-11-27T00:00:00Z") -> None:
        """A new object (specs do not change afterwards)."""
        body = {"kind": kind, "spec": {"providerRef": {"name": self.provider}, **spec}, "status": {},
                "metadata": {"namespace": self.namespace, "name": name, "uid": str(uuid.uuid4()), "generation": 1,
                             "creationTimestamp": created}}
        with self._lock:
            self.bodies[(kind, name)] = body
            for target in referenced(self.kinds[kind], body["spec"]):
                self._referrers[target].add((kind, name))

    # ClusterView
    def find(self, kind: str, namespace: str, name: str) -> ObjectSummary | None:
        with self._lock:
            body = self.bodies.get((kind, name))
            return ObjectSummary.of(dict(body["status"]), self.kinds[kind].identifier) if body else None

    def dependents(self, kind: str, namespace: str, name: str) -> list[str]:
        with self._lock:
            return [f"{k}/{n}" for k, n in self._referrers[(kind, name)] if (k, n) in self.bodies]

    # Driving
    def converge(self, keys: Iterable[Key], workers: int = 16, timeout: float = 60) -> None:
        """Reconcile until every object is Ready (AssertionError when one is not in time)."""
        self._drive(keys, lambda key, body: self.engine.reconcile(self.kinds[key[0]], body, "create", self),
                    lambda key: None, workers, timeout)

    def resync(self, keys: Iterable[Key], workers: int = 16, timeout: float = 60) -> None:
        """One drift check of every object, retried until it passes."""
        self._drive(keys, lambda key, body: self.engine.reconcile(self.kinds[key[0]], body, "resync", self),
                    lambda key: None, workers, timeout)

    def delete(self, keys: Iterable[Key], workers: int = 16, timeout: float = 60) -> None:
        """Finalize until every object may leave the cluster, and remove each when it may."""
        self._drive(keys, lambda key, body: self.engine.finalize(self.kinds[key[0]], body, self),
                    self.bodies.pop, workers, timeout)

    def _drive(self, keys: Iterable[Key], run: Callable[[Key, dict], Outcome], finished: Callable[[Key], Any],
               workers: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout

        def retry(key: Key, delay: float) -> Outcome:
            time.sleep(delay / 100)
            return run(key, self._snapshot(key))

        with ThreadPoolExecutor(workers) as pool:
            pending: dict[Future, Key] = {pool.submit(run, key, self._snapshot(key)): key for key in keys}
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    key = pending.pop(future)
                    outcome = future.result()
                    assert not outcome.permanent, f"{key}: {outcome.message}"
                    with self._lock:
                        self.runs.append((key, outcome))
                        self.bodies[key]["status"].update(outcome.status)
                        if outcome.retry_after is None:
                            finished(key)
                    if outcome.retry_after is not None:
                        assert time.monotonic() < deadline, f"{key} still retrying after {timeout}s: {outcome.message}"
                        pending[pool.submit(retry, key, outcome.retry_after)] = key

    def _snapshot(self, key: Key) -> dict[str, Any]:
        """What a handler gets: the body as it is now (status written back only between runs)."""
        with self._lock:
            body = self.bodies[key]
            return {**body, "status": dict(body["status"])}
