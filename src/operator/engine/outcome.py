"""What one engine run decided; the kopf wiring applies it (status patch, events, retry)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Event:
    type: str  # Normal | Warning
    reason: str
    message: str


@dataclass
class Outcome:
    status: dict[str, Any] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    # Seconds until the engine wants to run again; None when converged.
    retry_after: float | None = None
    # The spec cannot be satisfied: do not retry until it changes.
    permanent: bool = False
    message: str = ""
    # Annotations to write on the object (None: remove) before anything else happens to it.
    annotations: dict[str, str | None] = field(default_factory=dict)
    # Run again at once, once `annotations` are written (the create-pending record).
    rerun: bool = False
    # Objects of ours (kind, name) this one waits for: run it again as soon as they are Ready
    # (`retry_after` is then the fallback should that signal be lost).
    waiting_on: tuple[tuple[str, str], ...] = ()
    # The run's trace, when sampled: its events name it, so `kubectl describe` leads to it.
    trace_id: str | None = None

    def event(self, type_: str, reason: str, message: str) -> None:
        self.events.append(Event(type_, reason, message))
