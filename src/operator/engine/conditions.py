"""Pure functions for status conditions (Kubernetes API conventions)."""

from __future__ import annotations

import datetime
from typing import Any, Iterable, Mapping

READY = "Ready"
SYNCED = "Synced"


def now_rfc3339() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def merge_conditions(existing: Iterable[Mapping[str, Any]] | None,
                     updates: Mapping[str, tuple[bool, str, str]],
                     now: str, generation: int | None) -> list[dict[str, Any]]:
    """Apply {type: (status, reason, message)}; lastTransitionTime moves only when the status
    flips, so "Ready since" stays truthful across repeated reconciles."""
    previous = {c.get("type"): c for c in existing or ()}
    merged = {t: dict(c) for t, c in previous.items() if t}
    for type_, (ok, reason, message) in updates.items():
        status = "True" if ok else "False"
        old = previous.get(type_)
        merged[type_] = {
            "type": type_,
            "status": status,
            "reason": reason,
            "message": message,
            "lastTransitionTime": old["lastTransitionTime"]
            if old and old.get("status") == status and old.get("lastTransitionTime") else now,
            **({"observedGeneration": generation} if generation is not None else {}),
        }
    return [merged[t] for t in sorted(merged)]


def is_ready(status: Mapping[str, Any] | None) -> bool:
    return any(c.get("type") == READY and c.get("status") == "True"
               for c in (status or {}).get("conditions") or ())


def reason(status: Mapping[str, Any] | None, type_: str) -> str | None:
    """The reason of the condition `type_`, None when there is none."""
    return next((c.get("reason") for c in (status or {}).get("conditions") or () if c.get("type") == type_), None)
