"""Dependents wake at once: an object waiting for objects it references (DependencyNotReady)
runs again as soon as they are Ready, not after a fixed delay.

The wiring tells the waker what each object waits for (`wait`) and every readiness it sees in
the summary indexes (`observed`). When an awaited object becomes Ready, the waker changes the
annotation `wake.infra-operator.dev/dependencies-ready` on each object waiting for it: kopf
sees a new essence and runs its update handler at once. (A retry delay of kopf's would not do:
kopf keeps a delayed handler delayed whatever event arrives.) A wake whose patch fails is
tried again, with backoff; after an operator restart kopf resumes every object anyway."""

from __future__ import annotations

import logging
import threading
import time
import urllib.error
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterable, Mapping

from .engine.schema import GROUP, VERSION
from .kube import ApiClient

log = logging.getLogger(__name__)

WAKE_ANNOTATION = "wake.infra-operator.dev/dependencies-ready"
# Pauses between attempts of a wake whose patch failed (seconds).
PATCH_RETRY_PAUSES = (0.5, 2.0, 8.0)

Key = tuple[str, str, str]  # kind, namespace, name


class DependencyWaker:
    def __init__(self, plurals: Mapping[str, str], api: ApiClient | None = None,
                 clock: Callable[[], int] = time.time_ns):
        self._plurals = plurals
        self._api = api or ApiClient()
        self._clock = clock
        self._ready: dict[Key, bool] = {}
        self._waiting: dict[Key, set[Key]] = {}  # awaited object -> objects waiting for it
        self._lock = threading.Lock()
        # Wakes are short PATCH requests; a few at once keep a level of many dependents quick.
        self._pool = ThreadPoolExecutor(8, thread_name_prefix="wake")

    def connect(self, info: Any) -> None:
        self._api.connect(info)

    def observed(self, kind: str, namespace: str, name: str, ready: bool) -> None:
        """The summary index saw this object's readiness: wake who waits for it once Ready."""
        key = (kind, namespace, name)
        with self._lock:
            self._ready[key] = ready
            woken = self._waiting.pop(key, set()) if ready else set()
        for waiting in woken:
            self._wake(waiting)

    def forget(self, kind: str, namespace: str, name: str) -> None:
        """The object left the cluster: it neither waits nor is Ready any more."""
        key = (kind, namespace, name)
        with self._lock:
            self._ready.pop(key, None)
            for waiting in self._waiting.values():
                waiting.discard(key)

    def wait(self, kind: str, namespace: str, name: str, on: Iterable[tuple[str, str]],
             exists: Callable[[str, str], bool]) -> None:
        """`kind/name` waits for the objects `on` (kind, name) in its namespace. Those Ready by
        now (they turned Ready after the engine looked) wake it at once; `exists` tells those
        that were deleted (whose last readiness seen is stale) from those that merely lag."""
        dependent = (kind, namespace, name)
        with self._lock:
            pending = [(k, namespace, n) for k, n in on
                       if not (self._ready.get((k, namespace, n)) and exists(k, n))]
            for awaited in pending:
                self._waiting.setdefault(awaited, set()).add(dependent)
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
