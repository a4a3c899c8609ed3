"""Dependents wake at once: an object waiting for objects it references (DependencyNotReady)
runs again as soon as they are Ready, not after a fixed delay.

The wiring tells the waker what each object waits for (`wait`), the status each handler is about
to write (`written`) and every readiness it sees in the summary indexes (`observed`). When the
last object another waits for becomes Ready, the waker changes the annotation
`wake.infra-operator.dev/dependencies-ready` on the waiting one: kopf sees a new essence and runs
its update handler at once. (A retry delay of kopf's would not do: kopf keeps a delayed handler
delayed whatever event arrives.) The waker learns a readiness from the handler that decides it,
not from the status patch coming back through the watch and the index (a round trip of 0.1-0.2 s
per level of dependencies on a loaded machine), and lends that status to the dependents' view of
the cluster (`latest`) until the index shows it. A wake whose patch fails is tried again, with
backoff; after an operator restart kopf resumes every object anyway."""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterable, Mapping

from ..json_values import merge_patch
from .engine.objects import ObjectSummary
from .engine.schema import GROUP, VERSION
from .kube import ApiClient

log = logging.getLogger(__name__)

WAKE_ANNOTATION = "wake.infra-operator.dev/dependencies-ready"
# Pauses between attempts of a wake whose patch failed (seconds).
PATCH_RETRY_PAUSES = (0.5, 2.0, 8.0)

Key = tuple[str, str, str]  # kind, namespace, name
# Status kopf keeps for itself (handler progress): not the object's state.
KOPF_STATUS = "kopf"


class DependencyWaker:
    def __init__(self, plurals: Mapping[str, str], api: ApiClient | None = None,
                 clock: Callable[[], int] = time.time_ns):
        self._plurals = plurals
        self._api = api or ApiClient()
        self._clock = clock
        self._ready: dict[Key, bool] = {}
        self._waiting: dict[Key, set[Key]] = {}  # awaited object -> objects waiting for it
        self._awaits: dict[Key, set[Key]] = {}  # waiting object -> what it still waits for
        self._written: dict[Key, ObjectSummary] = {}  # status written by a handler, not indexed yet
        self._lock = threading.RLock()  # `exists` in `wait` may ask `latest`
        # Wakes are short PATCH requests; a few at once keep a level of many dependents quick.
        self._pool = ThreadPoolExecutor(8, thread_name_prefix="wake")

    def connect(self, info: Any) -> None:
        self._api.connect(info)

    def observed(self, kind: str, namespace: str, name: str, ready: bool) -> None:
        """This object's readiness (from its handler or the summary index): wake who waits for
        nothing else once it is Ready."""
        key = (kind, namespace, name)
        woken = []
        with self._lock:
            self._ready[key] = ready
            for waiting in self._waiting.pop(key, set()) if ready else ():
                awaited = self._awaits.get(waiting)
                if awaited is not None and key in awaited:
                    awaited.discard(key)
                    if not awaited:
                        del self._awaits[waiting]
                        woken.append(waiting)
        for waiting in woken:
            self._wake(waiting)

    def written(self, kind: str, namespace: str, name: str, before: ObjectSummary, after: ObjectSummary) -> None:
        """A handler of this object is about to write the status summed up by `after` over the
        one summed up by `before`: its dependents see it (`latest`) and wake now."""
        key = (kind, namespace, name)
        with self._lock:
            if _state(after) == _state(before):  # nothing new: the index shows it
                self._written.pop(key, None)
                return
            self._written[key] = after
        self.observed(kind, namespace, name, after.ready and bool(after.ident))

    def indexed(self, kind: str, namespace: str, name: str, summary: ObjectSummary) -> None:
        """The summary index saw this object's status: once it shows what the handler wrote,
        the index answers for the object again."""
        key = (kind, namespace, name)
        with self._lock:
            if key in self._written and _state(self._written[key]) == _state(summary):
                del self._written[key]
            if key in self._written:
                return  # an event from before the handler's write: the written status stands
        self.observed(kind, namespace, name, summary.ready and bool(summary.ident))

    def latest(self, kind: str, namespace: str, name: str) -> ObjectSummary | None:
        """The status a handler wrote that the index does not show yet, if any."""
        with self._lock:
            return self._written.get((kind, namespace, name))

    def forget(self, kind: str, namespace: str, name: str) -> None:
        """The object left the cluster: it neither waits nor is Ready any more."""
        key = (kind, namespace, name)
        with self._lock:
            self._ready.pop(key, None)
            self._written.pop(key, None)
            self._awaits.pop(key, None)
            for waiting in self._waiting.values():
                waiting.discard(key)

    def wait(self, kind: str, namespace: str, name: str, on: Iterable[tuple[str, str]],
             exists: Callable[[str, str], bool]) -> None:
        """`kind/name` waits for the objects `on` (kind, name) in its namespace: it wakes once
        the last of them is Ready, at once if all are Ready by now (they turned Ready after the
        engine looked); `exists` tells those that were deleted (whose last readiness seen is
        stale) from those that merely lag."""
        dependent = (kind, namespace, name)
        with self._lock:
            pending = {(k, namespace, n) for k, n in on
                       if not (self._ready.get((k, namespace, n)) and exists(k, n))}
            for awaited in pending:
                self._waiting.setdefault(awaited, set()).add(dependent)
            if pending:
                self._awaits[dependent] = pending
            else:
                self._awaits.pop(dependent, None)
        if not pending:
            self._wake(dependent)

    def wake(self, kind: str, namespace: str, name: str) -> None:
        """Run the object's handler at once (a Secret it takes a value from changed)."""
        self._wake((kind, namespace, name))

    def _wake(self, key: Key) -> None:
        self._pool.submit(self._patch, key)

    def _patch(self, key: Key) -> None:
        kind, namespace, name = key
        path = f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{self._plurals[kind]}/{name}"
        for pause in (*PATCH_RETRY_PAUSES, None):
            try:
                self._api.merge_patch(path, {"metadata": {"annotations": {WAKE_ANNOTATION: str(self._clock())}}})
                return
            except urllib.error.HTTPError as exc:
                if exc.code == 404:
                    return  # deleted meanwhile: nothing to wake
                error: Exception = exc
            except Exception as exc:  # the API hiccuped: try again
                error = exc
            if pause is None:
                log.warning("could not wake %s %s/%s: %s", kind, namespace, name, error)
                return
            time.sleep(pause)  # on the waker's own thread, never a handler's

    def close(self) -> None:
        self._pool.shutdown(wait=False)


def merged_status(status: Mapping[str, Any] | None, patch: Mapping[str, Any]) -> dict[str, Any]:
    """`status` after the JSON merge patch `patch` (how kopf writes a handler's status), as JSON
    gives it back."""
    return merge_patch(json.loads(json.dumps(status or {})), json.loads(json.dumps(patch)))


def _state(summary: ObjectSummary) -> tuple[bool, str | None, dict[str, Any]]:
    """What dependents may read of an object: kopf's own progress in status is not part of it."""
    return summary.ready, summary.ident, {k: v for k, v in summary.status.items() if k != KOPF_STATUS}
