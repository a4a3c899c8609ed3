"""A custom object as the engine sees it, and the view of the cluster it needs."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol

from .conditions import is_ready


@dataclass(frozen=True)
class CustomObject:
    kind: str
    namespace: str
    name: str
    uid: str
    generation: int | None
    spec: Mapping[str, Any]
    status: Mapping[str, Any]
    created_at: float | None
    deleting: bool
    annotations: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> "CustomObject":
        meta = body.get("metadata") or {}
        created = meta.get("creationTimestamp")
        return cls(
            kind=body.get("kind", ""),
            namespace=meta.get("namespace", ""),
            name=meta.get("name", ""),
            uid=meta.get("uid", ""),
            generation=meta.get("generation"),
            spec=body.get("spec") or {},
            status=body.get("status") or {},
            created_at=_epoch(created) if created else None,
            deleting=bool(meta.get("deletionTimestamp")),
            annotations=meta.get("annotations") or {},
        )

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def provider_key(self) -> str:
        return f"{self.namespace}/{(self.spec.get('providerRef') or {}).get('name', '')}"


@dataclass(frozen=True)
class ObjectSummary:
    """What the engine needs to know of another object of ours."""

    ready: bool
    ident: str | None
    # Its status without conditions (what a dependent may check, e.g. a VPC's CIDR block).
    status: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, status: Mapping[str, Any] | None, identifier: str | None) -> "ObjectSummary":
        status = status or {}
        return cls(is_ready(status), status.get(identifier) if identifier else None,
                   {k: v for k, v in status.items() if k != "conditions"})


class ClusterView(Protocol):
    """Read-only view of our objects in the cluster (the wiring backs it with kopf indexes)."""

    def find(self, kind: str, namespace: str, name: str) -> ObjectSummary | None: ...

    def dependents(self, kind: str, namespace: str, name: str) -> list[str]:
        """'Kind/name' of the objects referencing this one."""
        ...


def _epoch(timestamp: str) -> float:
    return datetime.datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()
