"""Leader election over a `coordination.k8s.io/v1` Lease, as client-go's leaderelection package
(and so controller-runtime) does it.

A candidate reads the Lease; when nobody holds it, or the holder's record has not changed for
the holder's lease duration (timed by this candidate's own clock from when it saw the record
change: no clock of another machine is trusted), it writes itself in as holder. Every write
carries the resourceVersion it read, so of two candidates writing at once the API server
refuses one (409 Conflict). The leader renews every retry period; when no renewal succeeded for
the renew deadline, its term ends — before its lease can have expired for anyone else, since
the deadline is shorter than the duration. `LeaderElector.expires_at` is that last moment.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import logging
import math
import os
import socket
import time
import urllib.error
import uuid
from typing import Any, Callable

from .kube import ApiClient

log = logging.getLogger(__name__)


def default_identity() -> str:
    """The pod's name (POD_NAME, from the Deployment's downward API), else the host name; with
    a random suffix, so a restarted process never mistakes its predecessor's lease for its own."""
    return f"{os.environ.get('POD_NAME') or socket.gethostname()}_{uuid.uuid4().hex[:8]}"


@dataclasses.dataclass(frozen=True)
class LeaseSettings:
    name: str = "infra-operator"
    namespace: str = "default"
    identity: str = dataclasses.field(default_factory=default_identity)
    # Seconds a standby waits after the holder's last renewal before it takes the lease.
    duration: float = 10.0
    # Seconds the leader keeps trying to renew before it stops acting (less than duration:
    # the difference is the time it has to stop).
    renew_deadline: float = 7.0
    # Seconds between renewals, and between a standby's attempts.
    retry_period: float = 2.0

    def __post_init__(self) -> None:
        if not 0 < self.retry_period < self.renew_deadline < self.duration:
            raise ValueError("leader election needs 0 < retry period < renew deadline < lease duration, got "
                             f"{self.retry_period} < {self.renew_deadline} < {self.duration}")


def _micro_time() -> str:
    """A Lease's MicroTime: RFC 3339 with microseconds."""
    return datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    def __init__(self, settings: LeaseSettings, api: ApiClient, clock: Callable[[], float] = time.monotonic):
        self.settings = settings
        self._api = api
        self._clock = clock
        self._path = f"/apis/coordination.k8s.io/v1/namespaces/{settings.namespace}/leases/{settings.name}"
        # The holder's record as last read, and when (our clock) it was first seen like that.
        self._observed: tuple[Any, ...] | None = None
        self._observed_at = 0.0
        # When (our clock) the request of our last successful acquisition or renewal was sent.
        self._renewed_at = -math.inf

    @property
    def identity(self) -> str:
        return self.settings.identity

    @property
    def expires_at(self) -> float:
        """The earliest moment (this elector's clock) another candidate may take the lease over:
        the leader must have stopped acting by then."""
        return self._renewed_at + self.settings.duration

    @property
    def leading(self) -> bool:
        return self._clock() < self._renewed_at + self.settings.renew_deadline

    async def acquire(self, stop: asyncio.Event) -> bool:
        """Try every retry period until this candidate holds the lease (True) or `stop` is set
        (False)."""
        while not stop.is_set():
            if await self._attempt(self.settings.retry_period):
                log.info("acquired the lease %s/%s as %s", self.settings.namespace, self.settings.name,
                         self.identity)
                return True
            await _wait(stop, self.settings.retry_period)
        return False

    async def hold(self, stop: asyncio.Event) -> None:
        """Renew every retry period; return when `stop` is set or when no renewal succeeded for
        the renew deadline (the term is over: stop acting before `expires_at`)."""
        while not stop.is_set():
            await _wait(stop, self.settings.retry_period)
            if stop.is_set():
                return
            while not await self._attempt(self._renew_deadline_left()):
                if not self.leading:
                    log.warning("could not renew the lease %s/%s for %.1fs: leadership lost",
                                self.settings.namespace, self.settings.name, self.settings.renew_deadline)
                    return
                await _wait(stop, min(self.settings.retry_period, self._renew_deadline_left()))
                if stop.is_set():
                    return

    async def release(self) -> None:
        """Hand the lease back (holder cleared) so that a standby takes over at its next try
        rather than after the lease duration. Only when still holding it; failures are logged."""
        if not self.leading:
            return
        problem: Exception | None = None
        for _ in range(3):  # a renewal still in flight may have changed it since we read it: read again
            try:
                lease = await asyncio.to_thread(self._api.send, "GET", self._path, None, self.settings.retry_period)
                if (lease.get("spec") or {}).get("holderIdentity") != self.identity:
                    return
                lease["spec"] |= {"holderIdentity": "", "leaseDurationSeconds": 1, "renewTime": _micro_time()}
                await asyncio.to_thread(self._api.send, "PUT", self._path, lease, self.settings.retry_period)
            except (urllib.error.URLError, OSError, ValueError) as exc:
                problem = exc
                if isinstance(exc, urllib.error.HTTPError) and exc.code == 409:
                    continue
                break
            self._renewed_at = -math.inf
            log.info("released the lease %s/%s", self.settings.namespace, self.settings.name)
            return
        log.warning("could not release the lease %s/%s: %s", self.settings.namespace, self.settings.name, problem)

    def _renew_deadline_left(self) -> float:
        return max(0.05, self._renewed_at + self.settings.renew_deadline - self._clock())

    async def _attempt(self, timeout: float) -> bool:
        """One try to take or renew the lease, given up after `timeout` seconds."""
        sent = self._clock()
        try:
            return await asyncio.wait_for(asyncio.to_thread(self._try, sent, timeout), timeout)
        except (TimeoutError, urllib.error.URLError, OSError, ValueError) as exc:
            log.debug("lease %s/%s: attempt failed: %s", self.settings.namespace, self.settings.name, exc)
            return False

    def _try(self, sent: float, timeout: float) -> bool:
        """Blocking: read the lease and write ourselves in as holder when we may. A 409 (someone
        else wrote first) is a lost race, not an error."""
        try:
            lease = self._api.send("GET", self._path, None, timeout)
        except urllib.error.HTTPError as exc:
            if exc.code != 404:
                raise
            lease = None
        # When we learned of the record: after the answer (the holder may have renewed just
        # before it was served), never when we asked; a late thread must not backdate it.
        seen = self._clock()
        now = _micro_time()
        if lease is None:
            body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                    "metadata": {"name": self.settings.name, "namespace": self.settings.namespace},
                    "spec": self._spec(now, acquired=now, transitions=0)}
            return self._write("POST", self._path.rsplit("/", 1)[0], body, sent, timeout)
        spec = lease.get("spec") or {}
        holder = spec.get("holderIdentity") or ""
        record = (holder, spec.get("renewTime"), spec.get("leaseDurationSeconds"), spec.get("acquireTime"))
        if record != self._observed:
            self._observed, self._observed_at = record, seen
        held_by_another = holder and holder != self.identity
        if held_by_another and seen < self._observed_at + float(spec.get("leaseDurationSeconds") or 0):
            return False
        ours = holder == self.identity
        lease["spec"] = self._spec(now, acquired=spec.get("acquireTime") if ours else now,
                                   transitions=int(spec.get("leaseTransitions") or 0) + (0 if ours else 1))
        return self._write("PUT", self._path, lease, sent, timeout)

    def _spec(self, now: str, acquired: str | None, transitions: int) -> dict[str, Any]:
        return {"holderIdentity": self.identity, "leaseDurationSeconds": math.ceil(self.settings.duration),
                "acquireTime": acquired, "renewTime": now, "leaseTransitions": transitions}

    def _write(self, method: str, path: str, body: dict[str, Any], sent: float, timeout: float) -> bool:
        try:
            written = self._api.send(method, path, body, timeout)
        except urllib.error.HTTPError as exc:
            if exc.code in (409, 404):  # another candidate wrote first (or deleted it): read again
                return False
            raise
        spec = written["spec"]
        self._observed = (spec["holderIdentity"], spec["renewTime"], spec["leaseDurationSeconds"],
                          spec.get("acquireTime"))
        # Our lease runs from when we asked (the earliest the server can have written it).
        self._renewed_at = sent
        self._observed_at = self._clock()
        return True


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), max(seconds, 0))
    except TimeoutError:
        pass
