"""Dependency chains: CHAINS chains of DEPTH objects, each referencing the previous one, applied
at once; how long until all are Ready, against the time their AWS calls took.

    .venv/bin/python bench/dependency_chain.py [--chains 20] [--depth 5]

The objects are of a benchmark kind, `ChainLink` (an SSM parameter on the moto server whose value
names the previous link's parameter; identity derived from the object's UID), served by the
real operator (`run_operator`, in this process) against the Kubernetes API emulation. Each link
can only be created once the link before it is Ready, so a chain converges no faster than the
sum of its links' AWS calls; the rest is the operator's own latency: noticing that a dependency
became Ready and running the dependent (before dependents woke at once: a fixed 5 s retry per
level). Prints, per chain, the seconds from apply to its last link Ready, the seconds its AWS
calls took, and the difference; medians and the maximum over the chains.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import statistics
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


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    options.add_argument("--chains", type=int, default=20)
    options.add_argument("--depth", type=int, default=5)
    args = options.parse_args()
    link = ChainLink()
    namespace = "chains"
    with aws_and_kube() as (aws, kube):
        kube.apply_crds([kind_crd(link)])
        cluster = namespace_with_provider(kube, aws, namespace)
        config = config_from_args(parser().parse_args(
            ["run", "--server", kube.access.server, "--namespace", namespace, "--metrics-address", "off",
             "--liveness-address", "off", "--log-level", "WARNING"]))
        running: dict[str, Any] = {}

        def serve() -> None:
            async def run() -> None:
                running["loop"], running["stop"] = asyncio.get_running_loop(), asyncio.Event()
                await run_operator(config, Telemetry.noop(), stop_flag=running["stop"], kinds=(link,))
            asyncio.run(run())

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        cluster.wait_ready("AWSProvider", PROVIDER, timeout=60)

        names = [[f"c{chain:03d}-l{level}" for level in range(args.depth)] for chain in range(args.chains)]
        started = time.perf_counter()
        # Deepest first: every link but the root waits for the one before it.
        for level in reversed(range(args.depth)):
            for chain in names:
                spec: dict[str, Any] = {"providerRef": {"name": PROVIDER}}
                if level:
                    spec["previousRef"] = {"name": chain[level - 1]}
                cluster.create("ChainLink", chain[level], spec)
        ready_at: dict[str, float] = {}
        deadline = time.monotonic() + 300
        while len(ready_at) < args.chains * args.depth and time.monotonic() < deadline:
            for obj in kube.list(API_VERSION, "ChainLink", namespace):
                name = obj["metadata"]["name"]
                if name not in ready_at and condition(obj).get("status") == "True":
                    ready_at[name] = time.perf_counter() - started
            time.sleep(0.02)
        objects = {obj["metadata"]["name"]: obj for obj in kube.list(API_VERSION, "ChainLink", namespace)}
        walls, aws_times = [], []
        for chain in names:
            walls.append(max(ready_at[name] for name in chain))
            aws_times.append(sum(link.aws_seconds[objects[name]["status"]["parameterName"]] for name in chain))
        overheads = [wall - spent for wall, spent in zip(walls, aws_times)]
        print(f"{args.chains} chains x {args.depth} links = {args.chains * args.depth} objects, "
              f"all Ready after {max(walls):.2f} s")
        print(f"per chain: Ready after median {statistics.median(walls):.2f} s (max {max(walls):.2f}); "
              f"its AWS calls took median {statistics.median(aws_times):.2f} s (max {max(aws_times):.2f}); "
              f"difference median {statistics.median(overheads):.2f} s (max {max(overheads):.2f})")
        running["loop"].call_soon_threadsafe(running["stop"].set)
        thread.join(30)

if __name__ == "__main__":
    main()
