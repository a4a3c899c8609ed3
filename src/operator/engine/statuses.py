"""An AWS resource's status as the answer to `available`: the statuses in which AWS is still
working on it (in progress, with the Ready condition's reason) and those in which it gave up
(terminal). Any other status is a usable resource."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from ..provider.errors import InProgress, TerminalError


@dataclass(frozen=True)
class Statuses:
    busy: Mapping[str, str]  # status -> the Ready condition's reason while AWS works
    failed: Mapping[str, str] = field(default_factory=dict)  # status -> the terminal reason
    delay: float | None = None  # seconds before looking again (None: the engine's)

    def wait_while_busy(self, status: str | None, what: str) -> None:
        if status in self.busy:
            raise InProgress(f"{what} is {status}", delay=self.delay, reason=self.busy[status])

    def available(self, status: str | None, what: str) -> bool:
        if status in self.failed:
            raise TerminalError(f"{what} is {status} in AWS", reason=self.failed[status])
        self.wait_while_busy(status, what)
        return True
