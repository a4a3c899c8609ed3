"""Operators run as child processes (with leader election, or as shards), and what their logs say
they did: every handler run, with its start and end (wall-clock)."""

from __future__ import annotations

import collections
import dataclasses
import json
import re
import time
import urllib.error
import urllib.request

from e2e.runner import SubprocessOperator, kube_server

LEASE = "infra-operator"
# Short timings keep the scenarios fast; the ratios are those of the defaults (10 s, 7 s, 2 s).
TIMINGS = ("--lease-duration", "3", "--renew-deadline", "2", "--retry-period", "0.5")
_RUN = re.compile(r"^(handling) (\S+ \S+): (started|ended) at ([\d.]+)$")


@dataclasses.dataclass(frozen=True)
class Run:
    """One handler run of one operator on one object; `end` is the kill time of a run cut short."""

    operator: str
    handler: str
    subject: str
    start: float
    end: float


class Replica:
    """`infra-operator run --leader-election` (unless `elect` is false) as POD_NAME `name`, JSON
    logs at DEBUG."""

    def __init__(self, kube, name: str, namespace: str, *args: str, server: str | None = None, elect: bool = True):
        self.name = name
        election = ("--leader-election", "--lease-namespace", namespace, *TIMINGS) if elect else ()
        self.process = SubprocessOperator(
            server or kube_server(kube), "--namespace", namespace, *election, "--log-format", "json",
            "--log-level", "DEBUG", *args, env={"POD_NAME": name})
        self.killed_at: float | None = None

    def start(self) -> Replica:
        self.process.start()
        return self

    def kill(self) -> float:
        """SIGKILL; returns the wall-clock time it was sent."""
        self.killed_at = time.time()
        self.process.kill()
        return self.killed_at

    @property
    def alive(self) -> bool:
        return self.process.process is not None and self.process.process.poll() is None

    def leader_status(self) -> float | None:
        """This replica's `infra_operator_leader_election_status` for the Lease (1 leading, 0
        standing by), None while it serves no /metrics yet or reports no status."""
        try:
            with urllib.request.urlopen(self.process.metrics_url, timeout=5) as response:
                body = response.read().decode()
        except (urllib.error.URLError, OSError):
            return None
        found = re.search(r'^infra_operator_leader_election_status\{lease="[^"]+/' + LEASE + r'"\} (\S+)$', body,
                          re.MULTILINE)
        return float(found.group(1)) if found else None

    def messages(self) -> list[str]:
        found = []
        for line in self.process.log().splitlines():
            try:
                found.append(json.loads(line)["message"])
            except (ValueError, KeyError):
                continue
        return found

    def runs(self) -> list[Run]:
        """Handler runs from the log; a run the kill cut short ends at the kill."""
        open_runs: dict[tuple[str, str], float] = {}
        runs = []
        for message in self.messages():
            match = _RUN.match(message)
            if not match:
                continue
            handler, subject, edge, at = match.groups()
            if edge == "started":
                open_runs[(handler, subject)] = float(at)
            elif (handler, subject) in open_runs:
                runs.append(Run(self.name, handler, subject, open_runs.pop((handler, subject)), float(at)))
        end = self.killed_at if self.killed_at is not None else time.time()
        runs.extend(Run(self.name, handler, subject, start, end) for (handler, subject), start in open_runs.items())
        return runs


def holder(kube, namespace: str) -> str:
    """The POD_NAME part of the Lease's holder ('' when none)."""
    lease = kube.find("coordination.k8s.io/v1", "Lease", namespace, LEASE)
    identity = ((lease or {}).get("spec") or {}).get("holderIdentity") or ""
    return identity.rsplit("_", 1)[0]


def overlaps(runs: list[Run]) -> list[tuple[Run, Run]]:
    """Pairs of runs of different operators on the same object whose windows intersect."""
    by_subject = collections.defaultdict(list)
    for run in runs:
        by_subject[run.subject].append(run)
    found = []
    for subject_runs in by_subject.values():
        subject_runs.sort(key=lambda run: run.start)
        for index, run in enumerate(subject_runs):
            for later in subject_runs[index + 1:]:
                if later.start >= run.end:
                    break
                if later.operator != run.operator:
                    found.append((run, later))
    return found
