"""The status string AWS shows for a resource (an RDS instance's "backing-up", an ElastiCache
group's "create-failed") read as the engine's outcomes. A kind declares which statuses are ready,
which need someone, which mean a deletion made outside the operator and which AWS never leaves;
any other is an operation AWS is working on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from ..provider.errors import InProgress, RetryableError, TerminalError

# Seconds between looks at a resource that needs someone (a stopped database) or that someone
# is deleting outside the operator.
ATTENTION_DELAY = 60.0


def status_reason(status: str) -> str:
    """An AWS status as a condition reason: backing-up -> BackingUp, create-failed -> CreateFailed."""
    return "".join(part.capitalize() for part in status.split("-"))


@dataclass(frozen=True)
class Statuses:
    ready: frozenset[str]
    # Statuses that need someone: reason Unhealthy, the status in the message.
    unhealthy: frozenset[str] = frozenset()
    # Statuses of a deletion made outside the operator: reason DeletingInAWS.
    deleting: frozenset[str] = frozenset()
    # Statuses AWS never leaves, with what to do: a terminal error named after the status.
    failed: Mapping[str, str] = field(default_factory=dict)
    # Seconds between looks at an operation in progress (None: the engine's provisioning delay).
    delay: float | None = None
    # Whether an operation in progress is the condition's reason (Modifying) rather than the
    # engine's Provisioning or Updating.
    status_reasons: bool = False
    # The condition's reason for a status, where the kind names it (EKS CREATING: Provisioning,
    # FAILED: ClusterFailed).
    reasons: Mapping[str, str] = field(default_factory=dict)

    def available(self, subject: str, status: str) -> bool:
        """`Kind.available`: True when ready, else the outcome the status means."""
        if status in self.ready:
            return True
        if status in self.failed:
            raise TerminalError(f"{subject} is {status} in AWS: {self.failed[status]}",
                                reason=self.reasons.get(status) or status_reason(status))
        if status in self.unhealthy:
            raise RetryableError(f"{subject} is {status} in AWS", reason="Unhealthy", delay=ATTENTION_DELAY)
        if status in self.deleting:
            raise RetryableError(f"{subject} is being deleted outside the operator", reason="DeletingInAWS",
                                 delay=ATTENTION_DELAY)
        raise InProgress(f"{subject} is {status} in AWS", delay=self.delay, **self._reason(status))

    def wait_until_ready(self, subject: str, status: str) -> None:
        """Before a change: AWS takes one operation at a time, on a ready resource."""
        if status not in self.ready:
            raise InProgress(f"{subject} is {status} in AWS: changes wait until it is available", delay=self.delay,
                             **({"reason": self.reasons[status]} if status in self.reasons else {}))

    def _reason(self, status: str) -> dict[str, str]:
        if status in self.reasons:
            return {"reason": self.reasons[status]}
        return {"reason": status_reason(status)} if self.status_reasons else {}
