"""Dependency chains: CHAINS chains of DEPTH objects, each referencing the previous one, applied
at once; how long until all are Ready, against the time their AWS calls took.

    .venv/bin/python bench/dependency_chain.py [--chains 20] [--depth 5]

The objects are of a benchmark kind, `ChainLink` (an SSM parameter on the moto server whose value
names the previous link's parameter; identity derived from the object's UID), served by the
real operator (`run_operator`, in a process of its own) against the Kubernetes API emulation. Each link
can only be created once the link before it is Ready, so a chain converges no faster than the
sum of its links' AWS calls; the rest is the operator's own latency: noticing that a dependency
became Ready and running the dependent (before dependents woke at once: a fixed 5 s retry per
level). Prints, per chain, the seconds from the apply of its root (applied last, so nothing of
the chain can start before) to its last link Ready, the seconds its AWS calls took, and the
difference; medians and the maximum over the chains.

The operator runs without its client-side rate limit for SSM (`--aws-rate-limit ssm=0`): at the
default 10 requests/s, the 300 calls of 100 links would queue for 30 s, which a chain's calls
would count as AWS time (the wait is inside the call) and which is not what this measures.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import pathlib
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any, Mapping

from _stack import API_VERSION, PROVIDER, aws_and_kube, condition, namespace_with_provider

from infra_operator.operator.cli import config_from_args, parser
from infra_operator.operator.engine.kind import Adoption, DriftField, Kind, Reference, Severity
from infra_operator.operator.engine.schema import kind_crd
from infra_operator.operator.wiring import run_operator
from infra_operator.telemetry import Telemetry


class ChainLink(Kind):
    """An SSM parameter whose value names the previous link's parameter (or "root")."""

    kind = "ChainLink"
    plural = "chainlinks"
    short_names = ("link",)
    description = "A benchmark object: one SSM parameter, created once the previous link is Ready."
    identifier = "parameterName"
    tagging = None
    adoption = Adoption.TOKEN
    references = (Reference("previousRef", "ChainLink", "previous", required=False),)
    drift_fields = (DriftField("previous", Severity.WARNING),)

    def __init__(self) -> None:
        self.aws_seconds: dict[str, float] = collections.defaultdict(float)  # by parameter name
        self._lock = threading.Lock()

    def _timed(self, name: str, call: Any, **params: Any) -> Any:
        started = time.perf_counter()
        try:
            return self.absent_if_missing(call, **params)
        finally:
            with self._lock:
                self.aws_seconds[name] += time.perf_counter() - started

    def desired(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        return {"previous": spec.get("previous") or "root"}

    def observe(self, raw):
        return {"previous": raw["Value"]}

    def identify(self, raw):
        return raw["Name"]

    def read(self, aws, ident):
        found = self._timed(ident, aws.client("ssm").get_parameter, Name=ident)
        return found["Parameter"] if found else None

    def find_created(self, aws, desired, token):
        return self.read(aws, f"/bench/{token}")

    def create(self, aws, desired, tags, token):
        name = f"/bench/{token}"
        self._timed(name, aws.client("ssm").put_parameter, Name=name, Value=desired["previous"], Type="String")
        return {"Name": name, "Value": desired["previous"]}

    def update(self, aws, ident, desired, raw, changed):
        self._timed(ident, aws.client("ssm").put_parameter, Name=ident, Value=desired["previous"], Overwrite=True)

    def delete(self, aws, ident, raw, spec):
        self._timed(ident, aws.client("ssm").delete_parameter, Name=ident)


def serve(server: str, namespace: str, report: str) -> None:
    """The operator with the ChainLink kind, in a process of its own (moto and the benchmark's
    polling do not share its interpreter lock); on SIGTERM it stops and writes the seconds of
    AWS calls per parameter to `report`."""
    link = ChainLink()
    config = config_from_args(parser().parse_args(
        ["run", "--server", server, "--namespace", namespace, "--metrics-address", "off",
         "--liveness-address", "off", "--log-level", "WARNING", "--aws-rate-limit", "ssm=0"]))
    asyncio.run(run_operator(config, Telemetry.noop(), kinds=(link,)))
    pathlib.Path(report).write_text(json.dumps(link.aws_seconds))


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    options.add_argument("--chains", type=int, default=20)
    options.add_argument("--depth", type=int, default=5)
    options.add_argument("--serve", nargs=3, metavar=("SERVER", "NAMESPACE", "REPORT"), help=argparse.SUPPRESS)
    args = options.parse_args()
    if args.serve:
        serve(*args.serve)
        return
    namespace = "chains"
    with aws_and_kube() as (aws, kube), tempfile.TemporaryDirectory() as scratch:
        kube.apply_crds([kind_crd(ChainLink())])
        cluster = namespace_with_provider(kube, aws, namespace)
        report = pathlib.Path(scratch) / "aws-seconds.json"
        operator = subprocess.Popen([sys.executable, __file__, "--serve", kube.access.server, namespace, str(report)])
        try:
            cluster.wait_ready("AWSProvider", PROVIDER, timeout=60)
            names, applied_at, ready_at = apply_and_wait(kube, cluster, namespace, args.chains, args.depth)
            objects = {obj["metadata"]["name"]: obj for obj in kube.list(API_VERSION, "ChainLink", namespace)}
        finally:
            operator.send_signal(signal.SIGTERM)
            operator.wait(60)
        aws_seconds = json.loads(report.read_text())
    walls, aws_times = [], []
    for chain in names:
        walls.append(max(ready_at[name] for name in chain) - applied_at[chain[0]])
        aws_times.append(sum(aws_seconds.get(objects[name]["status"]["parameterName"], 0.0) for name in chain))
    overheads = [wall - spent for wall, spent in zip(walls, aws_times)]
    levels = [statistics.median(ready_at[chain[level]] for chain in names) for level in range(args.depth)]
    print(f"{args.chains} chains x {args.depth} links = {args.chains * args.depth} objects, "
          f"all Ready after {max(walls):.2f} s")
    print("median seconds to Ready by level: " + ", ".join(f"{level}: {at:.2f}" for level, at in enumerate(levels)))
    print(f"per chain, from its root's apply: Ready after median {statistics.median(walls):.2f} s "
          f"(max {max(walls):.2f}); "
          f"its AWS calls took median {statistics.median(aws_times):.2f} s (max {max(aws_times):.2f}); "
          f"difference median {statistics.median(overheads):.2f} s (max {max(overheads):.2f})")


def apply_and_wait(kube, cluster, namespace: str, chains: int,
                   depth: int) -> tuple[list[list[str]], dict[str, float], dict[str, float]]:
    """Apply the chains (deepest links first: each but the root waits for the one before it);
    seconds from the first apply to each link's apply and to its Ready."""
    names = [[f"c{chain:03d}-l{level}" for level in range(depth)] for chain in range(chains)]
    started = time.perf_counter()
    applied_at: dict[str, float] = {}
    for level in reversed(range(depth)):
        for chain in names:
            spec: dict[str, Any] = {"providerRef": {"name": PROVIDER}}
            if level:
                spec["previousRef"] = {"name": chain[level - 1]}
            cluster.create("ChainLink", chain[level], spec)
            applied_at[chain[level]] = time.perf_counter() - started
    ready_at: dict[str, float] = {}
    deadline = time.monotonic() + 300
    while len(ready_at) < chains * depth:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(ready_at)} of {chains * depth} links Ready after 300 s")
        for obj in kube.list(API_VERSION, "ChainLink", namespace):
            name = obj["metadata"]["name"]
            if name not in ready_at and condition(obj).get("status") == "True":
                ready_at[name] = time.perf_counter() - started
        time.sleep(0.02)
    return names, applied_at, ready_at


if __name__ == "__main__":
    main()
