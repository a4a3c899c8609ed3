"""Memory: resident set size of the operator (`infra-operator run`, a subprocess) idle, and
managing N ElasticIPs after they converged, against the moto server and the API emulation.

    .venv/bin/python bench/memory.py [--count 1000] [--repeats 3] [--resync-interval 20]

Idle: one namespace with a Ready AWSProvider and nothing else. Then one ElasticIP (the EC2
client is built), then N-1 more applied at once: measured once they are Ready and a resync
round has run over all of them (describe cache, kopf's per-object state and timers all in
place). RSS is read from /proc.
Prints medians over the repeats, each on a fresh moto, API emulation and operator.
"""

from __future__ import annotations

import argparse

from _stack import (PROVIDER, apply_elastic_ips, aws_and_kube, median, namespace_with_provider, operator, rss_bytes,
                    wait_all_ready, wait_metric)

DRIFT_CHECKS = "infra_operator_drift_detection_duration_seconds_count"


def one_run(count: int, resync_interval: float) -> tuple[int, int, int]:
    """RSS idle, managing one ElasticIP (the EC2 client built) and managing `count`."""
    with aws_and_kube() as (aws, kube):
        cluster = namespace_with_provider(kube, aws, "bench")
        with operator(kube, "bench", "--resync-interval", str(resync_interval),
                      "--provider-check-interval", "3600") as running:
            cluster.wait_ready("AWSProvider", PROVIDER, timeout=60)
            idle = rss_bytes(running.process.pid)
            apply_elastic_ips(cluster, 1, prefix="first")
            wait_all_ready(cluster, 1, timeout=60)
            wait_metric(running.metrics_url, DRIFT_CHECKS, 1, timeout=resync_interval + 30)
            one = rss_bytes(running.process.pid)
            apply_elastic_ips(cluster, count - 1)
            wait_all_ready(cluster, count, timeout=max(60, count * 0.5), poll=0.5)
            wait_metric(running.metrics_url, DRIFT_CHECKS, count + 1, timeout=resync_interval + count)
            return idle, one, rss_bytes(running.process.pid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--resync-interval", type=float, default=20.0)
    args = parser.parse_args()
    runs = [one_run(args.count, args.resync_interval) for _ in range(args.repeats)]
    idle, one, managing = (median([run[i] for run in runs]) for i in range(3))
    print(f"operator resident set size, median of {args.repeats} runs")
    print(f"{'idle (one AWSProvider)':40} {idle / 2**20:8.1f} MiB")
    print(f"{'managing 1 ElasticIP':40} {one / 2**20:8.1f} MiB")
    print(f"{f'managing {args.count} ElasticIPs':40} {managing / 2**20:8.1f} MiB")
    print(f"{'per further managed resource':40} {(managing - one) / (args.count - 1) / 2**10:8.1f} KiB")


if __name__ == "__main__":
    main()
