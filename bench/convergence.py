"""Convergence: N ElasticIPs applied at once, seconds until all are Ready under the real operator
(`infra-operator run`, a subprocess) against the moto server and the Kubernetes API emulation,
beside a bare boto3 loop making the same AWS calls against the same moto server in the same run.

    .venv/bin/python bench/convergence.py [--sizes 100 1000] [--repeats 3]

Each repeat starts a fresh moto server, API emulation and operator. Prints medians over the
repeats, the operator/loop ratio, and the AWS calls per resource each side made.
"""

from __future__ import annotations

import argparse
import time

from _stack import (PROVIDER, apply_elastic_ips, aws_and_kube, median, namespace_with_provider, operator, timed,
                    wait_all_ready)

OWNER_UID = "infra-operator.dev/owner-uid"
OPERATIONS = ("DescribeAddresses", "AllocateAddress", "CreateTags", "DeleteTags")


def calls_per_resource(aws, count: int) -> dict[str, float]:
    per_operation = {name: aws.calls.count(service="ec2", operation=name) / count for name in OPERATIONS}
    return {name: value for name, value in per_operation.items() if value} | {
        "all": aws.calls.count(service="ec2") / count}


def bare_loop(aws, count: int) -> None:
    """What the engine does for a new ElasticIP: look for one tagged as owned (adoption),
    allocate with the ownership tags, re-read it."""
    ec2 = aws.client("ec2")
    for index in range(count):
        uid = f"bench-{index}"
        ec2.describe_addresses(Filters=[{"Name": f"tag:{OWNER_UID}", "Values": [uid]}])
        allocated = ec2.allocate_address(Domain="vpc", TagSpecifications=[{"ResourceType": "elastic-ip", "Tags": [
            {"Key": OWNER_UID, "Value": uid}, {"Key": "infra-operator.dev/managed-by", "Value": "infra-operator"}]}])
        ec2.describe_addresses(AllocationIds=[allocated["AllocationId"]])


def one_run(count: int) -> tuple[float, float, dict[str, float], dict[str, float]]:
    with aws_and_kube() as (aws, kube):
        cluster = namespace_with_provider(kube, aws, "bench")
        # Resyncs and provider checks stay out of the measurement.
        with operator(kube, "bench", "--resync-interval", "3600", "--provider-check-interval", "3600"):
            cluster.wait_ready("AWSProvider", PROVIDER, timeout=60)
            aws.calls.clear()
            started = time.perf_counter()
            apply_elastic_ips(cluster, count)
            wait_all_ready(cluster, count, timeout=max(60, count * 0.5), poll=0.1 if count <= 100 else 0.5)
            converged = time.perf_counter() - started
            operator_calls = calls_per_resource(aws, count)
        aws.reset()
        aws.calls.clear()
        looped = timed(lambda: bare_loop(aws, count))
        return converged, looped, operator_calls, calls_per_resource(aws, count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"seconds until N ElasticIPs are Ready, median of {args.repeats} runs")
    print(f"{'N':>6} {'operator':>10} {'boto3 loop':>11} {'ratio':>7}   AWS calls per resource (operator | loop)")
    for count in args.sizes:
        runs = [one_run(count) for _ in range(args.repeats)]
        ours, loop = median([r[0] for r in runs]), median([r[1] for r in runs])
        print(f"{count:>6} {ours:9.2f}s {loop:10.2f}s {ours / loop:6.1f}x   {runs[-1][2]} | {runs[-1][3]}")


if __name__ == "__main__":
    main()
