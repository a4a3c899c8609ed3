"""Steady state: AWS API calls per managed resource per resync interval, with the describe cache
off (`--describe-cache off`, one describe per resource) and on (the default), side by side
in one run, against the moto server and the Kubernetes API emulation.

    .venv/bin/python bench/resync_calls.py [--sizes 100 1000] [--rounds 3] [--resync-interval 20]

N ElasticIPs are converged once; then, per mode, the operator (`infra-operator run`) is started
on them, its resume round (a drift check of every resource) is let pass, and then `rounds`
times the AWS calls are counted over one resync round (N more drift checks): each resource is
drift-checked once per resync interval, so calls per drift check are the calls per resource
per interval. Prints, over all rounds, the AWS calls per round and per drift check, the
operator's CPU time per drift check, the share of drift checks answered from the cache, and
the off/on ratio of calls.
"""

from __future__ import annotations

import argparse
import time

from _stack import (PROVIDER, apply_elastic_ips, aws_and_kube, cpu_seconds, metric_total,
                    namespace_with_provider, operator, wait_all_ready, wait_metric)

DRIFT_CHECKS = "infra_operator_drift_detection_duration_seconds_count"
HITS, MISSES = "infra_operator_cache_hits_total", "infra_operator_cache_misses_total"
MODES = {"off": ("--describe-cache", "off"), "on": ()}


def quiet_count(url: str, at_least: float, timeout: float, quiet: float) -> float:
    """The drift checks made once at least `at_least` were made and none more for `quiet`
    seconds: every resource's timer fires in the same burst (they started together), so this
    falls between two bursts."""
    deadline = time.monotonic() + timeout
    last = wait_metric(url, DRIFT_CHECKS, at_least, timeout, poll=0.2)
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = metric_total(url, DRIFT_CHECKS)
        if now == last:
            return now
        last = now
    raise TimeoutError(f"drift checks still running after {timeout}s")


def rounds_of(aws, running, count: int, rounds: int, interval: float) -> list[tuple[float, ...]]:
    """Per resync round (one burst of `count` drift checks): drift checks, AWS calls, operator
    CPU seconds, cache hits and misses."""
    url, pid = running.metrics_url, running.process.pid
    quiet, timeout = min(1.0, interval / 4), 2 * interval + count + 10
    checks = quiet_count(url, count, timeout, quiet)  # the resume round
    measured = []
    for _ in range(rounds):
        aws.calls.clear()
        before = (checks, 0, cpu_seconds(pid), metric_total(url, HITS), metric_total(url, MISSES))
        checks = quiet_count(url, checks + count, timeout, quiet)
        after = (checks, aws.calls.count(), cpu_seconds(pid), metric_total(url, HITS), metric_total(url, MISSES))
        measured.append(tuple(a - b for a, b in zip(after, before)))
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--resync-interval", type=float, default=20.0)
    args = parser.parse_args()
    interval = str(args.resync_interval)
    print(f"AWS calls per resource per resync interval ({args.resync_interval:g} s), over {args.rounds} rounds")
    print(f"{'N':>6} {'cache':>6} {'calls/round':>12} {'per resource':>13} {'CPU/check':>10} {'hits':>7}")
    for count in args.sizes:
        with aws_and_kube() as (aws, kube):
            cluster = namespace_with_provider(kube, aws, "bench")
            with operator(kube, "bench", "--resync-interval", "3600", "--provider-check-interval", "3600"):
                cluster.wait_ready("AWSProvider", PROVIDER, timeout=60)
                apply_elastic_ips(cluster, count)
                wait_all_ready(cluster, count, timeout=max(60, count * 0.5), poll=0.5)
            per_resource = {}
            for mode, flags in MODES.items():
                with operator(kube, "bench", "--resync-interval", interval, "--provider-check-interval", "3600",
                              *flags) as running:
                    checks, calls, cpu, hits, _ = (sum(column) for column in zip(
                        *rounds_of(aws, running, count, args.rounds, args.resync_interval)))
                per_resource[mode] = calls / checks
                print(f"{count:>6} {mode:>6} {calls / args.rounds:12.1f} {calls / checks:13.4f} "
                      f"{cpu * 1e3 / checks:8.2f}ms {hits / checks:7.1%}")
            ratio = per_resource["off"] / per_resource["on"] if per_resource["on"] else float("inf")
            print(f"{count:>6} {'ratio':>6} {'':12} {ratio:12.0f}x (off/on)")


if __name__ == "__main__":
    main()
