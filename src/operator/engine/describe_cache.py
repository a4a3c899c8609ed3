"""The describe cache: per provider and kind, one snapshot of every resource the operator
manages, taken with one (paged) describe, answers the drift checks of a resync round that
would otherwise each describe their own resource. See docs/engine.md, "The describe cache"."""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field
from typing import Any, Mapping

from .delta import MANAGED_BY, OWNER_UID
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
    by_id: Mapping[str, Raw]
    # Owner uid tag value -> the listed resources carrying it.
    by_owner: Mapping[str, tuple[Raw, ...]]
    # Identifiers it answered: it answers each at most once.
    answered: set[str] = field(default_factory=set)


class DescribeCache:
    """Snapshots keyed by (provider, kind), each serving one resync round: a snapshot answers
    each resource at most once and is replaced when a resource asks a second time (its next
    round has begun), when the engine writes to the kind through the provider (`invalidate`),
    or when the provider session was rebuilt. A snapshot whose describe overlapped a write is
    not kept (it may predate the write). No clock is read: a round costs one describe however
    long it takes, and every drift check of a resource still sees a description taken after its
    previous drift check, so a drift one check missed, the next one finds."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self._snapshots: dict[tuple[str, str], _Snapshot] = {}
        self._writes: dict[tuple[str, str], int] = {}
        self._filling: dict[tuple[str, str], threading.Lock] = {}
        self._guard = threading.Lock()

    def lookup(self, kind: Kind, aws: AWSClients, provider: str, ident: str,
               owner_uid: str) -> Lookup | None:
        """What the current snapshot of (provider, kind) says about `ident` and the resources
        tagged as owned by `owner_uid`, taking a snapshot when there is none valid. None when the
        cache is off or the kind cannot list its managed resources: the caller asks AWS."""
        if not self.enabled:
            return None
        key = (provider, kind.kind)
        with self._guard:
            filling = self._filling.setdefault(key, threading.Lock())
        # One describe per key at a time: the drift checks arriving meanwhile wait and hit.
        with filling:
            snapshot = self._valid(key, aws, ident)
            if snapshot is not None:
                snapshot.answered.add(ident)
                return Lookup(snapshot.by_id.get(ident), ident in snapshot.by_id, snapshot.by_owner.get(owner_uid, ()))
            with self._guard:
                writes_before = self._writes.get(key, 0)
            listed = kind.list_managed(aws, MANAGED_BY)
            if listed is None:
                return None
            by_owner: dict[str, tuple[Raw, ...]] = {}
            for raw in listed:
                uid = (kind.observe(raw).get("tags") or {}).get(OWNER_UID)
                by_owner[uid] = (*by_owner.get(uid, ()), raw)
            snapshot = _Snapshot(weakref.ref(aws), {kind.identify(raw): raw for raw in listed},
                                 by_owner, {ident})
            with self._guard:
                if self._writes.get(key, 0) == writes_before:
                    self._snapshots[key] = snapshot
            return Lookup(snapshot.by_id.get(ident), False, by_owner.get(owner_uid, ()))

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
        if snapshot is None or snapshot.session() is not aws or ident in snapshot.answered:
            return None
        return snapshot

