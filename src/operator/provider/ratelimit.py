"""Client-side request rates per AWS service: a token bucket in front of every HTTP attempt, so
that a burst of reconciles (an operator's restart resuming thousands of objects) spreads its
calls instead of tripping the account's throttling, which every other client of the account
would feel too."""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Mapping

# Requests per second per AWSProvider and service. EC2 refills its per-account bucket of
# describe calls at 20/s and of mutating calls at 5/s (its documented default), so one operator
# staying at 20/s leaves other clients room only for mutating calls: a restart needs mostly
# describes. Services not listed get DEFAULT_RATE.
DEFAULT_RATES: Mapping[str, float] = {"ec2": 20.0, "sts": 10.0}
DEFAULT_RATE = 10.0
# No client-side limit for any service: for an AWS that does not throttle (the sandbox's), where
# the limits would only add waits.
UNLIMITED: Mapping[str, float] = {"*": 0.0, **{service: 0.0 for service in DEFAULT_RATES}}


class TokenBucket:
    """`rate` tokens per second, at most `rate` (one second's worth) saved up; `take` blocks the
    calling thread until a token is there. Thread-safe."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if rate <= 0:
            raise ValueError(f"a request rate must be positive, got {rate}")
        self.rate = rate
        self._capacity = max(rate, 1.0)
        self._tokens = self._capacity
        self._clock, self._sleep = clock, sleep
        self._updated = clock()
        self._lock = threading.Lock()

    def take(self) -> float:
        """Wait for a token; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self._capacity, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            self._tokens -= 1  # reserved now, even if it becomes available only later
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait:
            self._sleep(wait)
        return wait


class RateLimits:
    """One bucket per service, created on first use; rates from `rates`, else DEFAULT_RATES,
    else DEFAULT_RATE. A rate of 0 means no limit for that service."""

    def __init__(self, rates: Mapping[str, float] | None = None) -> None:
        self._rates = {**DEFAULT_RATES, **(rates or {})}
        self._buckets: dict[str, TokenBucket | None] = {}
        self._lock = threading.Lock()

    def bucket(self, service: str) -> TokenBucket | None:
        with self._lock:
            if service not in self._buckets:
                rate = self._rates.get(service, self._rates.get("*", DEFAULT_RATE))
                self._buckets[service] = TokenBucket(rate) if rate > 0 else None
            return self._buckets[service]

    def attach(self, client: Any, service: str) -> None:
        """Make every HTTP attempt of `client` (retries included) take a token of `service`."""
        bucket = self.bucket(service)
        if bucket is None:
            return

        def wait_for_token(**_: Any) -> None:  # returning None lets botocore send the request
            bucket.take()

        client.meta.events.register("before-send", wait_for_token)
