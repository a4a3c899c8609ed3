"""Log lines by level over a sandbox run, and how long a stop takes.

Runs `infra-operator sandbox` as users do (a child process, JSON logs to a file) through three
phases: converge (the samples applied until all are Ready), drift (out-of-band changes injected
until each kind of drift was detected and healed), delete (every sample object deleted until none
is left). Counts the log lines of each phase by level. Then stops the sandbox with SIGTERM and
measures from the signal to the process's exit; nothing is in flight by then (every object is
gone), so that figure is the stop's own cost. The same for `infra-operator run` with two Ready
ElasticIPs. Run from the repository root with the venv's python:

    .venv/bin/python bench/log_levels.py [--repeats 3] [--level INFO]
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import pathlib
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

from _stack import SubprocessOperator, apply_elastic_ips, aws_and_kube, namespace_with_provider, wait_all_ready
from harness.kube import KubeClient
from infra_operator.operator.engine.references import dependents_first
from infra_operator.operator.kinds import all_kinds
from infra_operator.telemetry import catalog, parse_samples
from local_process import free_port

GROUP = "aws.infra-operator.dev"
API_VERSION = f"{GROUP}/v1alpha1"
LEVELS = ("debug", "info", "warning", "error", "critical")


class SandboxRun:
    def __init__(self, folder: pathlib.Path, level: str) -> None:
        self.log_path = folder / "operator.log"
        self.stdout_path = folder / "stdout.txt"
        self.metrics_port = free_port()
        with self.stdout_path.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "infra_operator.cli", "sandbox", "--plain", "--drift",
                 "--drift-interval", "2", "--resync-interval", "2", "--log-format", "json", "--log-level", level,
                 "--log-file", str(self.log_path), "--metrics-address", f"127.0.0.1:{self.metrics_port}"],
                stdout=out, stderr=subprocess.STDOUT, cwd=folder)

    def wait_output(self, pattern: str, timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            found = re.search(pattern, self.stdout_path.read_text(errors="replace"))
            if found:
                return found
            time.sleep(0.1)
        raise RuntimeError(f"no {pattern!r} in the sandbox's output:\n{self.stdout_path.read_text()[-3000:]}")

    def log_offset(self) -> int:
        return self.log_path.stat().st_size

    def levels_since(self, offset: int, until: int | None = None) -> collections.Counter[str]:
        with self.log_path.open("rb") as log:
            log.seek(offset)
            chunk = log.read() if until is None else log.read(until - offset)
        return collections.Counter(json.loads(line)["level"] for line in chunk.splitlines() if line.strip())

    def drift_detected_and_healed(self) -> bool:
        text = urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).read().decode()
        samples = parse_samples(text)

        def total(metric: str, kind: str) -> float:
            return sum(value for (name, labels), value in samples.items()
                       if name == metric and ("resource_type", kind) in labels)

        return all(total(catalog.DRIFT_DETECTED.name, kind) >= 1 for kind in ("VPC", "SecurityGroup", "ElasticIP")) \
            and all(total(catalog.DRIFT_HEALED.name, kind) >= 1 for kind in ("VPC", "SecurityGroup"))


def wait(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.2)


def one_run(level: str, keep: pathlib.Path | None) -> tuple[dict[str, collections.Counter[str]], float]:
    with contextlib.ExitStack() as stack:
        folder = tempfile.mkdtemp(dir=keep) if keep else stack.enter_context(tempfile.TemporaryDirectory())
        run = SandboxRun(pathlib.Path(folder), level)
        try:
            kube = KubeClient.for_server(run.wait_output(r"Kubernetes API\s+(http://\S+)", 60).group(1))
            run.wait_output(r"all \d+ objects Ready", 120)
            converged = run.log_offset()
            wait(run.drift_detected_and_healed, 120, "drift detected and healed")
            drifted = run.log_offset()
            kinds = (*dependents_first(all_kinds()), "AWSProvider")
            for kind in kinds:
                for obj in kube.list(API_VERSION, kind, "default"):
                    kube.delete(API_VERSION, kind, "default", obj["metadata"]["name"])
            wait(lambda: not any(kube.list(API_VERSION, kind, "default") for kind in kinds), 180,
                 "every object deleted")
            deleted = run.log_offset()
            signalled = time.monotonic()
            run.process.send_signal(signal.SIGTERM)
            run.process.wait(60)
            stop_seconds = time.monotonic() - signalled
        finally:
            if run.process.poll() is None:
                run.process.kill()
                run.process.wait()
        phases = {"converge": run.levels_since(0, converged), "drift": run.levels_since(converged, drifted),
                  "delete": run.levels_since(drifted, deleted), "stop": run.levels_since(deleted)}
        return phases, stop_seconds


def run_stop_seconds() -> float:
    """SIGTERM to exit of `infra-operator run` serving two Ready ElasticIPs, nothing in flight."""
    with aws_and_kube() as (aws, kube):
        cluster = namespace_with_provider(kube, aws, "stop")
        apply_elastic_ips(cluster, 2)
        running = SubprocessOperator(kube.access.server, "--namespace", "stop").start()
        try:
            running.wait_metrics(timeout=60)
            wait_all_ready(cluster, 2, timeout=60)
            time.sleep(1)  # past the creates' status writes
            signalled = time.monotonic()
            running.process.send_signal(signal.SIGTERM)
            running.process.wait(60)
            return time.monotonic() - signalled
        finally:
            running.kill()


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    options.add_argument("--repeats", type=int, default=3, help="sandbox runs (default 3)")
    options.add_argument("--level", default="INFO", choices=("DEBUG", "INFO"), help="--log-level of the sandbox")
    options.add_argument("--keep", type=pathlib.Path, default=None, metavar="DIR",
                         help="keep each run's log and output in a new folder under DIR")
    args = options.parse_args()
    runs = [one_run(args.level, args.keep) for _ in range(args.repeats)]
    print(f"log lines by level at --log-level {args.level} (median of {args.repeats} runs)")
    print(f"{'phase':<10}" + "".join(f"{level:>10}" for level in LEVELS))
    for phase in runs[0][0]:
        print(f"{phase:<10}" + "".join(f"{statistics.median(r[0][phase][level] for r in runs):>10g}"
                                       for level in LEVELS))
    stops = {"sandbox": [seconds for _, seconds in runs], "run": [run_stop_seconds() for _ in range(args.repeats)]}
    for command, seconds in stops.items():
        print(f"stop of infra-operator {command} (SIGTERM to exit, nothing in flight): median "
              f"{statistics.median(seconds):.2f} s, runs {', '.join(f'{s:.2f}' for s in seconds)}")


if __name__ == "__main__":
    main()
