"""The sandbox's sample stack, timed per object: when each object was applied, when its handler
first ran, how long its AWS calls took, when it turned Ready; then the critical path (the chain
of references ending at the last object Ready) with the gaps between a dependency's Ready and
its dependent's next run.

    .venv/bin/python bench/sandbox_timeline.py [--repeats 3] [--verbose] [--live]

Each repeat runs `infra-operator sandbox` (its `Sandbox`, as the command does) in a process of
its own until every sample object is Ready, with the operator's spans kept in memory. Times are
seconds from the first object's apply. "Ready" is the end of the first reconcile that left the
object converged (its status patch follows). Prints, per repeat, the sandbox's own line and
the critical path, then medians over the repeats.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

READY_LINE = re.compile(r"all (\d+) objects Ready ([\d.]+) s after they were applied")


def one_run(report: str, live: bool) -> None:
    """In a process of its own: the sandbox until all Ready, then what happened, as JSON."""
    from infra_operator.operator import wakeups
    from infra_operator.operator.engine.references import referenced
    from infra_operator.operator.kinds import all_kinds
    from infra_operator.sandbox import app
    from infra_operator.telemetry import RecentSpans

    applied: dict[str, float] = {}
    wakes: list[tuple[str, float, float]] = []
    kinds = {kind.kind: kind for kind in all_kinds()}
    depends: dict[str, list[str]] = {}
    recent = RecentSpans(limit=100_000)

    cpu: dict[str, dict[str, float]] = {}

    def cpu_seconds() -> dict[str, float]:
        """CPU seconds of this process (the operator) and of each child (the servers)."""
        import multiprocessing
        processes = {"operator": os.getpid(), **{child.name: child.pid for child in multiprocessing.active_children()}}
        seconds = {}
        for name, pid in processes.items():
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            seconds[name] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return seconds

    class Timed(app.Sandbox):
        def _apply_samples(self, kube: Any, aws_endpoint: str) -> dict[str, int]:
            cpu["applying"] = cpu_seconds()
            def create(doc: dict[str, Any]) -> None:
                created(doc)
                applied[f"{doc['kind']}/{doc['metadata']['name']}"] = time.time()

            created, kube.create = kube.create, create
            for doc in app.sample_documents(aws_endpoint):
                spec = doc.get("spec") or {}
                if doc["kind"] == "AWSProvider":
                    depends[f"AWSProvider/{doc['metadata']['name']}"] = []
                elif doc["kind"] in kinds:
                    provider = (spec.get("providerRef") or {}).get("name")
                    depends[f"{doc['kind']}/{doc['metadata']['name']}"] = sorted(
                        {f"{k}/{n}" for k, n in referenced(kinds[doc["kind"]], spec)}
                        | ({f"AWSProvider/{provider}"} if provider else set()))
            return super()._apply_samples(kube, aws_endpoint)

    patch = wakeups.DependencyWaker._patch

    def timed_patch(self: Any, key: Any) -> None:
        sent = time.time()
        patch(self, key)
        wakes.append((f"{key[0]}/{key[2]}", sent, time.time()))

    wakeups.DependencyWaker._patch = timed_patch
    out = io.StringIO()
    options = app.SandboxOptions(metrics_address=None, live=live, log_file=os.devnull, duration=120.0)
    sandbox = Timed(options, out)
    sandbox.recent = recent

    def stop_when_ready() -> None:
        while not READY_LINE.search(out.getvalue()):
            time.sleep(0.2)
        cpu["ready"] = cpu_seconds()
        os.kill(os.getpid(), signal.SIGINT)

    import threading
    threading.Thread(target=stop_when_ready, daemon=True).start()
    load = os.getloadavg()[0]
    sandbox.run()
    spans = recent.spans()
    children: dict[str, list[Any]] = {}
    for span in spans:
        if span.parent_id:
            children.setdefault(span.parent_id, []).append(span)

    def aws_calls(span: Any) -> list[tuple[str, float, float]]:
        return [call for child in children.get(span.span_id, ())
                for call in ([(child.name, child.start, child.duration)] if child.attributes.get("rpc.system") == "aws-api"
                             else aws_calls(child))]

    runs = [{"object": f"{s.attributes.get('infra_operator.resource_type')}/{s.attributes.get('infra_operator.resource.name')}",
             "start": s.start, "end": s.start + s.duration, "result": s.attributes.get("infra_operator.result"),
             "error": s.attributes.get("infra_operator.error_type"), "trigger": s.attributes.get("infra_operator.trigger"),
             "aws": sum(call[2] for call in aws_calls(s)), "calls": aws_calls(s)}
            for s in spans if s.parent_id is None and s.name.startswith("reconcile ")]
    line = READY_LINE.search(out.getvalue())
    with open(report, "w") as file:
        json.dump({"cpu": {name: cpu["ready"][name] - cpu["applying"].get(name, 0.0) for name in cpu["ready"]},
                   "applied": applied, "depends": depends, "runs": runs, "wakes": wakes, "load": load,
                   "line": float(line.group(2)) if line else None}, file)


def analyse(data: dict[str, Any], verbose: bool) -> dict[str, float]:
    t0 = min(data["applied"].values())
    applied = {k: v - t0 for k, v in data["applied"].items() if k in data["depends"]}
    runs: dict[str, list[dict[str, Any]]] = {}
    for run in sorted(data["runs"], key=lambda r: r["start"]):
        run["start"] -= t0
        run["end"] -= t0
        runs.setdefault(run["object"], []).append(run)
    ready = {}
    for obj, obj_runs in runs.items():
        done = [r for r in obj_runs if r["result"] == "success" and r["trigger"] != "resync"]
        if done:
            ready[obj] = done[0]["end"]
    wakes: dict[str, list[tuple[float, float]]] = {}
    for obj, sent, answered in data["wakes"]:
        wakes.setdefault(obj, []).append((sent - t0, answered - t0))
    last = max(ready, key=ready.get)
    path = [last]
    while True:
        deps = [d for d in data["depends"][path[-1]] if d in ready]
        if not deps:
            break
        path.append(max(deps, key=ready.get))
    path.reverse()
    if verbose:
        print(f"{'object':34} {'applied':>7} {'1st run':>7} {'runs':>4} {'AWS s':>6} {'Ready':>6}")
        for obj in sorted(ready, key=ready.get):
            print(f"{obj:34} {applied[obj]:7.2f} {runs[obj][0]['start']:7.2f} {len(runs[obj]):4d} "
                  f"{sum(r['aws'] for r in runs[obj] if r['end'] <= ready[obj]):6.2f} {ready[obj]:6.2f}")
    print(f"load {data['load']:.2f}; sandbox line: all Ready {data['line']} s; last Ready (span end) "
          f"{ready[last]:.2f} s; critical path:")
    aws_total = 0.0
    previous_ready = None
    for obj in path:
        obj_runs = [r for r in runs[obj] if r["end"] <= ready[obj]]
        aws = sum(r["aws"] for r in obj_runs)
        aws_total += aws
        after = [r for r in obj_runs if previous_ready is None or r["start"] >= previous_ready]
        wake = [w for w in wakes.get(obj, ()) if previous_ready is None or w[0] >= previous_ready - 0.001]
        steps = " ".join(f"[{r['start']:.2f}-{r['end']:.2f} {r['result']}{'/' + r['error'] if r['error'] else ''}"
                         f" {len(r['calls'])} calls {r['aws'] * 1000:.0f}ms]" for r in obj_runs)
        gap = f"{after[0]['start'] - previous_ready:+.2f}" if previous_ready is not None and after else "   -"
        woken = f" wake sent {wake[0][0]:.2f} answered {wake[0][1]:.2f}" if wake and previous_ready is not None else ""
        print(f"  {obj:32} applied {applied[obj]:.2f}; dep Ready -> next run {gap}{woken}; AWS {aws:.2f} s; "
              f"Ready {ready[obj]:.2f}\n      {steps}")
        if verbose:
            for run in obj_runs:
                print("        " + " ".join(f"{name}@{start - t0:.2f}+{duration * 1000:.0f}"
                                            for name, start, duration in run["calls"]))
            print(f"        wakes: {wakes.get(obj)}")
        previous_ready = ready[obj]
    print(f"  critical path AWS calls {aws_total:.2f} s of {ready[last]:.2f} s")
    print("  CPU seconds from the first apply to the sandbox's line: "
          + ", ".join(f"{name} {seconds:.2f}" for name, seconds in data["cpu"].items()))
    return {"line": data["line"], "last": ready[last], "path_aws": aws_total, "load": data["load"]}


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    options.add_argument("--repeats", type=int, default=3)
    options.add_argument("--verbose", action="store_true", help="every object's row")
    options.add_argument("--live", action="store_true",
                         help="the summary redrawn every second, as on a terminal (default: as piped)")
    options.add_argument("--one", metavar="REPORT", help=argparse.SUPPRESS)
    args = options.parse_args()
    if args.one:
        one_run(args.one, args.live)
        return
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        for repeat in range(args.repeats):
            report = os.path.join(scratch, f"run{repeat}.json")
            subprocess.run([sys.executable, __file__, "--one", report, *(["--live"] if args.live else [])], check=True,
                           stdout=subprocess.DEVNULL)
            with open(report) as file:
                results.append(analyse(json.load(file), args.verbose))
    print("medians: " + ", ".join(f"{key} {statistics.median(r[key] for r in results):.2f}" for key in results[0]))


if __name__ == "__main__":
    main()
