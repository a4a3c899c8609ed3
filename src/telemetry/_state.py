"""Recorded state behind the observable gauges.

Gauges are computed from this state when metrics are collected, never moved by +1/-1, so a
count is always the true number of live objects and a forgotten object's series disappear.
Writers (the engine, on any thread) and readers (a scrape or an OTLP export thread) meet
under one lock per registry.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from dataclasses import dataclass

from . import catalog

# One gauge point: (value, label values in the catalog's label order).
Point = tuple[float, tuple[str, ...]]


def check_label(what: str, value: str, allowed: frozenset[str] | tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"{what} {value!r} is not one of the catalog's values: {sorted(allowed)}")
    return value


@dataclass(frozen=True, slots=True)
class _TrackedResource:
    status: str
    name: str
    created_at: float | None


class ResourceRegistry:
    """Live managed objects per resource type: the source of `resources_total` and
    `resource_creation_timestamp_seconds`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._objects: dict[str, dict[Hashable, _TrackedResource]] = {}

    def set(
        self,
        resource_type: str,
        key: Hashable,
        status: str,
        resource_name: str,
        created_at: float | None = None,
    ) -> None:
        """Record (or update) one live object. `key` identifies it (e.g. namespace/name);
        `created_at` is its creation time in Unix epoch seconds, when known."""
        check_label("status", status, catalog.STATUSES)
        tracked = _TrackedResource(status, resource_name, created_at)
        with self._lock:
            self._objects.setdefault(resource_type, {})[key] = tracked

    def declare(self, resource_type: str) -> None:
        """Count this type's objects (0 of each status) before the first one is seen."""
        with self._lock:
            self._objects.setdefault(resource_type, {})

    def forget(self, resource_type: str, key: Hashable) -> None:
        """The object is gone: it leaves the counts and its timestamp series disappears."""
        with self._lock:
            objects = self._objects.get(resource_type)
            if objects is not None:
                objects.pop(key, None)

    def counts(self) -> list[Point]:
        """(count, (resource_type, status)) for every status of every type seen so far."""
        with self._lock:
            per_type = {rt: [tracked.status for tracked in objects.values()] for rt, objects in self._objects.items()}
        return [
            (float(statuses.count(status)), (resource_type, status))
            for resource_type, statuses in per_type.items()
            for status in catalog.STATUSES
        ]

    def creation_timestamps(self) -> list[Point]:
        """(created_at, (resource_type, resource_name)) per live object with a creation time.
        Two objects of one type may share a name (different namespaces) but not a series: the
        most recently created one is reported."""
        latest: dict[tuple[str, str], float] = {}
        with self._lock:
            for resource_type, objects in self._objects.items():
                for tracked in objects.values():
                    if tracked.created_at is None:
                        continue
                    labels = (resource_type, tracked.name)
                    if tracked.created_at > latest.get(labels, float("-inf")):
                        latest[labels] = tracked.created_at
        return [(created_at, labels) for labels, created_at in latest.items()]


class ProviderRegistry:
    """Readiness per AWSProvider: the source of `provider_ready`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._providers: dict[str, tuple[str, bool]] = {}

    def set_ready(self, provider_name: str, region: str, ready: bool) -> bool:
        """Record the provider's readiness; True when it was not known."""
        with self._lock:
            new = provider_name not in self._providers
            self._providers[provider_name] = (region, ready)
        return new

    def forget(self, provider_name: str) -> None:
        with self._lock:
            self._providers.pop(provider_name, None)

    def readiness(self) -> list[Point]:
        with self._lock:
            providers = list(self._providers.items())
        return [(1.0 if ready else 0.0, (name, region)) for name, (region, ready) in providers]


class Leadership:
    """Whether this replica leads, per leader-election Lease: the source of
    `leader_election_status` (no points until leader election reports)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._leases: dict[str, bool] = {}

    def set(self, lease: str, leading: bool) -> None:
        with self._lock:
            self._leases[lease] = leading

    def status(self) -> list[Point]:
        with self._lock:
            return [(1.0 if leading else 0.0, (lease,)) for lease, leading in self._leases.items()]


class PendingKeys:
    """Keys queued and not yet done, per resource type: the source of `workqueue_depth`
    (a set, so the depth can never go negative or count a key twice)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[str, set[Hashable]] = {}

    def declare(self, resource_type: str) -> None:
        """Report this type's depth (0) before its first key is queued."""
        with self._lock:
            self._pending.setdefault(resource_type, set())

    def add(self, resource_type: str, key: Hashable) -> None:
        with self._lock:
            self._pending.setdefault(resource_type, set()).add(key)

    def discard(self, resource_type: str, key: Hashable) -> None:
        with self._lock:
            keys = self._pending.get(resource_type)
            if keys is not None:
                keys.discard(key)

    def depths(self) -> list[Point]:
        with self._lock:
            return [(float(len(keys)), (resource_type,)) for resource_type, keys in self._pending.items()]
