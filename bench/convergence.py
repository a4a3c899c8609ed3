"""Convergence: N ElasticIPs applied at once, seconds until all are Ready under the real operator
(`infra-operator run`, a subprocess) against the moto server and the Kubernetes API emulation,
beside a bare boto3 loop making the same AWS calls against the same moto server in the same run.

    .venv/bin/python bench/convergence.py [--sizes 100 1000] [--repeats 3]

Each repeat starts a fresh moto server, API emulation and operator. Prints medians over the
repeats of the seconds, the operator/loop ratio and the operator's CPU time per resource, and
the EC2 calls per resource each side made.
"""

from __future__ import annotations

import argparse
import time

from _stack import (PROVIDER, apply_elastic_ips, aws_and_kube, cpu_seconds, median, namespace_with_provider,
                    operator, timed, wait_all_ready)

OWNER_UID = "infra-operator.dev/owner-uid"
OPERATIONS = ("DescribeAddresses", "AllocateAddress", "CreateTags", "DeleteTags")


def calls_per_resource(aws, count: int) -> str:
    per_operation = {name: aws.calls.count(service="ec2", operation=name) / count for name in OPERATIONS}
    listed = [f"{value:g} {name}" for name, value in per_operation.items() if value]
    return " + ".join(listed) + f" = {aws.calls.count(service='ec2') / count:g}"


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


def one_run(count: int) -> tuple[float, float, float, str, str]:
    """Seconds until Ready under the operator, its CPU seconds meanwhile, seconds of the loop,
    and each side's AWS calls per resource."""
    with aws_and_kube() as (aws, kube):
        cluster = namespace_with_provider(kube, aws, "bench")
        # Resyncs and provider checks stay out of the measurement.
        with operator(kube, "bench", "--resync-interval", "3600", "--provider-check-interval", "3600") as running:
            cluster.wait_ready("AWSProvider", PROVIDER, timeout=60)
            aws.calls.clear()
            cpu = cpu_seconds(running.process.pid)
            started = time.perf_counter()
            apply_elastic_ips(cluster, count)
            wait_all_ready(cluster, count, timeout=max(60, count * 0.5), poll=0.1 if count <= 100 else 0.5)
            converged = time.perf_counter() - started
            cpu = cpu_seconds(running.process.pid) - cpu
            operator_calls = calls_per_resource(aws, count)
        aws.reset()
        aws.calls.clear()
        looped = timed(lambda: bare_loop(aws, count))
        return converged, cpu, looped, operator_calls, calls_per_resource(aws, count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"seconds until N ElasticIPs are Ready, median of {args.repeats} runs")
    print(f"{'N':>6} {'operator':>9} {'boto3 loop':>11} {'ratio':>6} {'operator CPU/resource':>22}")
    calls = []
    for count in args.sizes:
        runs = [one_run(count) for _ in range(args.repeats)]
        ours, cpu, loop = (median([run[i] for run in runs]) for i in range(3))
        print(f"{count:>6} {ours:8.2f}s {loop:10.2f}s {ours / loop:5.1f}x {cpu * 1e3 / count:20.2f}ms")
        calls.append(f"{count:>6} operator: {runs[-1][3]}; loop: {runs[-1][4]}")
    print("EC2 calls per resource\n" + "\n".join(calls))


if __name__ == "__main__":
    main()
