"""The describe cache: per provider and kind, one snapshot of every resource the operator
manages, taken with one (paged) describe, answers the drift checks of a resync interval that
would otherwise each describe their own resource. See docs/engine.md, "The describe cache"."""

from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from .delta import MANAGED_BY, tags_from_aws
from .kind import AWSClients, Kind, Raw


@dataclass(frozen=True)
class Lookup:
    """A snapshot's answer for one identifier: its description as listed (None when the snapshot
    does not hold it) and whether a valid snapshot answered (a hit) or one had to be taken."""

    listed: Raw | None
    hit: bool
    # Every listed resource carrying the asked owner tag (the resource itself and any twin that
    # a create retried after a lost answer left).
    owned: tuple[Raw, ...] = ()


@dataclass(frozen=True)
class _Snapshot:
    # The provider session the snapshot was taken with: a rebuilt session (new region,
    # endpoint or credentials) must not be answered from the old one's snapshot.
    session: weakref.ref
    taken_at: float
    by_id: Mapping[str, Raw]
    # Identifiers it answered: it answers each at most once.
    answered: set[str] = field(default_factory=set)
    # tag key -> tag value -> the listed resources carrying it, built on first use.
    by_tag: dict[str, dict[str, tuple[Raw, ...]]] = field(default_factory=dict)


class DescribeCache:
    """Snapshots keyed by (provider, kind), each valid for `ttl` seconds from the moment its
    describe started, dropped by `invalidate` after any write of the engine to that kind. A
    snapshot whose describe overlapped a write is not kept (it may predate the write). A
    snapshot answers each resource once: so every drift check of a resource sees a description
    taken after its previous drift check, and a drift one check missed, the next one finds."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic):
        self.ttl = ttl
        self._clock = clock
        self._snapshots: dict[tuple[str, str], _Snapshot] = {}
        self._writes: dict[tuple[str, str], int] = {}
        self._filling: dict[tuple[str, str], threading.Lock] = {}
        self._guard = threading.Lock()

    def lookup(self, kind: Kind, aws: AWSClients, provider: str, ident: str,
               owner: tuple[str, str]) -> Lookup | None:
        """What the current snapshot of (provider, kind) says about `ident` and the resources
        tagged with `owner`, taking a snapshot when there is none valid. None when the cache is
        off (ttl 0) or the kind cannot list its managed resources: the caller asks AWS."""
        if self.ttl <= 0:
            return None
        key = (provider, kind.kind)
        with self._guard:
            filling = self._filling.setdefault(key, threading.Lock())
        # One describe per key at a time: the drift checks arriving meanwhile wait and hit.
        with filling:
            snapshot = self._valid(key, aws, ident)
            if snapshot is not None:
                snapshot.answered.add(ident)
                return Lookup(snapshot.by_id.get(ident), ident in snapshot.by_id, _owned(snapshot, owner))
            with self._guard:
                writes_before = self._writes.get(key, 0)
            started = self._clock()
            listed = kind.list_managed(aws, MANAGED_BY)
            if listed is None:
                return None
            snapshot = _Snapshot(weakref.ref(aws), started, {kind.identify(raw): raw for raw in listed}, {ident})
            with self._guard:
                if self._writes.get(key, 0) == writes_before:
                    self._snapshots[key] = snapshot
            return Lookup(snapshot.by_id.get(ident), False, _owned(snapshot, owner))

    def invalidate(self, provider: str, kind: str) -> None:
        """The engine wrote to a resource of `kind` through `provider`: the next lookup re-describes."""
        key = (provider, kind)
        with self._guard:
            self._writes[key] = self._writes.get(key, 0) + 1
            self._snapshots.pop(key, None)

    def _valid(self, key: tuple[str, str], aws: Any, ident: str) -> _Snapshot | None:
        """The snapshot that may answer `ident` now, if any."""
        with self._guard:
            snapshot = self._snapshots.get(key)
        if (snapshot is None or snapshot.session() is not aws or ident in snapshot.answered
                or self._clock() - snapshot.taken_at >= self.ttl):
            return None
        return snapshot


def _owned(snapshot: _Snapshot, owner: tuple[str, str]) -> tuple[Raw, ...]:
    """The snapshot's resources tagged (key, value), from an index of the tag key: every drift
    check asks, so scanning the snapshot each time would make a round cost O(n²)."""
    key, value = owner
    index = snapshot.by_tag.get(key)
    if index is None:
        grouped: dict[str, list[Raw]] = {}
        for raw in snapshot.by_id.values():
            tagged = tags_from_aws(raw.get("Tags")).get(key)
            if tagged is not None:
                grouped.setdefault(tagged, []).append(raw)
        index = snapshot.by_tag[key] = {tagged: tuple(raws) for tagged, raws in grouped.items()}
    return index.get(value, ())
