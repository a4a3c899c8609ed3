"""Live provider sessions, keyed by the AWSProvider's namespace/name."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from ..engine.errors import ProviderNotReady
from .session import ProviderConfig, ProviderSession


# Seconds before an object retries while its provider is not reconciled yet or its credentials
# are being checked (a fraction of a second: STS GetCallerIdentity), e.g. right after an
# operator start; repeated waits back off (the engine's per-object backoff).
CHECKING_DELAY = 1.0
# Seconds before an object retries while its provider failed its check.
NOT_READY_DELAY = 15.0


@dataclass
class _Entry:
    session: ProviderSession
    ready: bool = False
    reason: str | None = None  # None until the first check of this session ends


class ProviderRegistry:
    def __init__(self, *, instrument: Callable[[Any], None] = lambda events: None,
                 on_rotation: Callable[[str], None] = lambda provider: None,
                 rate_limits: Mapping[str, float] | None = None):
        self._instrument = instrument
        self._rate_limits = rate_limits
        self._on_rotation = on_rotation
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def apply(self, config: ProviderConfig) -> tuple[ProviderSession, bool]:
        """The session for `config`, rebuilt when the config (credentials included) changed.
        Returns (session, rotated): rotated when credentials of a known provider changed."""
        with self._lock:
            entry = self._entries.get(config.name)
            if entry and entry.session.config == config:
                return entry.session, False
        session = ProviderSession(config, instrument=self._instrument, on_rotation=self._on_rotation,
                                  rate_limits=self._rate_limits)
        rotated = bool(entry and (entry.session.config.credentials != config.credentials
                                  or entry.session.config.assume_role != config.assume_role))
        with self._lock:
            self._entries[config.name] = _Entry(session)
        return session, rotated

    def mark(self, name: str, ready: bool, reason: str = "") -> None:
        """The end of a check: `reason` says why the provider is not ready."""
        with self._lock:
            entry = self._entries.get(name)
            if entry:
                entry.ready, entry.reason = ready, reason

    def forget(self, name: str) -> None:
        with self._lock:
            self._entries.pop(name, None)

    def get(self, name: str) -> ProviderSession:
        with self._lock:
            entry = self._entries.get(name)
        if entry is None:
            raise ProviderNotReady(f"AWSProvider {name} is not known (missing, or not reconciled yet)",
                                   delay=CHECKING_DELAY, provider=name)
        if entry.reason is None:
            raise ProviderNotReady(f"AWSProvider {name}: its credentials are being checked", delay=CHECKING_DELAY,
                                   provider=name)
        if not entry.ready:
            raise ProviderNotReady(f"AWSProvider {name} is not ready: {entry.reason}", delay=NOT_READY_DELAY,
                                   provider=name)
        return entry.session
