"""What the sandbox shows: a snapshot of the operator's own metrics (the /metrics samples, so the
terminal and a Prometheus scrape always agree), rendered as plain text lines."""

from __future__ import annotations

import collections
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ..telemetry import catalog

Samples = Mapping[tuple[str, frozenset[tuple[str, str]]], float]
RESULTS = ("success", "requeue", "error")
SEVERITIES = ("critical", "warning", "info")


def _nested() -> collections.defaultdict[str, collections.Counter[str]]:
    return collections.defaultdict(collections.Counter)


@dataclass
class Snapshot:
    """Counts read from one rendering of /metrics."""

    resources: dict[str, collections.Counter[str]] = field(default_factory=_nested)  # kind -> status -> n
    reconciles: dict[str, collections.Counter[str]] = field(default_factory=_nested)  # kind -> result -> n
    queue_depth: collections.Counter[str] = field(default_factory=collections.Counter)  # kind -> n
    aws_calls: collections.Counter[tuple[str, str]] = field(default_factory=collections.Counter)  # (service, op)
    aws_results: collections.Counter[str] = field(default_factory=collections.Counter)  # success|error -> n
    aws_error_codes: collections.Counter[str] = field(default_factory=collections.Counter)
    throttles: int = 0
    drift_detected: collections.Counter[str] = field(default_factory=collections.Counter)  # severity -> n
    drift_healed: int = 0
    drift_heal_failures: int = 0

    @classmethod
    def of(cls, samples: Samples) -> Snapshot:
        snapshot = cls()
        for (name, label_pairs), value in samples.items():
            labels, count = dict(label_pairs), int(value)
            kind = labels.get("resource_type", "")
            if name == catalog.RESOURCES.name:
                snapshot.resources[kind][labels["status"]] += count
            elif name == catalog.RECONCILE_TOTAL.name:
                snapshot.reconciles[kind][labels["result"]] += count
            elif name == catalog.WORKQUEUE_DEPTH.name:
                snapshot.queue_depth[kind] += count
            elif name == catalog.AWS_API_CALLS.name:
                snapshot.aws_calls[(labels["service"], labels["operation"])] += count
                snapshot.aws_results[labels["result"]] += count
            elif name == catalog.AWS_API_ERRORS.name:
                snapshot.aws_error_codes[labels["error_code"]] += count
            elif name == catalog.AWS_API_THROTTLES.name:
                snapshot.throttles += count
            elif name == catalog.DRIFT_DETECTED.name:
                snapshot.drift_detected[labels["severity"]] += count
            elif name == catalog.DRIFT_HEALED.name:
                snapshot.drift_healed += count
            elif name == catalog.DRIFT_HEALING_FAILURES.name:
                snapshot.drift_heal_failures += count
        return snapshot

    @property
    def ready(self) -> int:
        return sum(statuses["ready"] for statuses in self.resources.values())

    def ready_of(self, kinds: Mapping[str, int]) -> int:
        """Ready objects, counting at most the expected number per kind."""
        return sum(min(self.resources[kind]["ready"], expected) for kind, expected in kinds.items())


def ready_of(counts: Iterable[tuple[float, tuple[str, str]]], kinds: Mapping[str, int]) -> int:
    """Ready objects in the telemetry's live counts ((count, (kind, status)), what
    `resources_total` exposes), counting at most the expected number per kind."""
    ready = {kind: int(count) for count, (kind, status) in counts if status == "ready"}
    return sum(min(ready.get(kind, 0), expected) for kind, expected in kinds.items())


def progress_bar(done: int, total: int, width: int = 30) -> str:
    filled = width * done // total if total else width
    return f"[{'#' * filled}{'-' * (width - filled)}] {done}/{total} Ready"


def render(snapshot: Snapshot, expected: Mapping[str, int]) -> list[str]:
    """The summary lines: progress, resources by kind and status, reconciles, AWS calls, drift."""
    kinds = list(expected) + sorted(set(snapshot.resources) - set(expected))
    lines = [progress_bar(snapshot.ready_of(expected), sum(expected.values())), ""]
    header = f"{'KIND':<16}" + "".join(f"{status.upper():>9}" for status in catalog.STATUSES)
    lines.append(f"{header}   {'RECONCILES ok/requeue/error':>27} {'QUEUE':>6}")
    for kind in kinds:
        statuses, results = snapshot.resources[kind], snapshot.reconciles[kind]
        reconciles = "/".join(str(results[result]) for result in RESULTS)
        lines.append(f"{kind:<16}" + "".join(f"{statuses[status]:>9}" for status in catalog.STATUSES)
                     + f"   {reconciles:>27} {snapshot.queue_depth[kind]:>6}")
    calls = sum(snapshot.aws_calls.values())
    busiest = ", ".join(f"{service} {operation} {n}" for (service, operation), n in snapshot.aws_calls.most_common(3))
    errors = ", ".join(f"{code} {n}" for code, n in snapshot.aws_error_codes.most_common(3))
    lines += [
        "",
        f"AWS calls   {calls} ({snapshot.aws_results['error']} failed{': ' + errors if errors else ''}; "
        f"{snapshot.throttles} throttled attempts){'  busiest: ' + busiest if busiest else ''}",
        f"Drift       detected {sum(snapshot.drift_detected.values())} ("
        + ", ".join(f"{severity} {snapshot.drift_detected[severity]}" for severity in SEVERITIES)
        + f"), healed {snapshot.drift_healed}, healing failures {snapshot.drift_heal_failures}",
    ]
    return lines
