"""A restart on N converged ElasticIPs while AWS throttles EC2 requests beyond a rate: the
throttles the resume round trips, without the client-side limit (`--aws-rate-limit ec2=0`) and
with it (the default, 20/s), with the describe cache off (each resume reads its own address:
two DescribeAddresses per object, the worst case) and on (the default: one describe serves
every address of the provider).

    .venv/bin/python bench/restart_stampede.py [--objects 2000] [--aws-rate 25]

Prints, per mode, the EC2 requests and throttles of the resume round and how long it took
until every address was checked once.
"""

from __future__ import annotations

import argparse
import time

from _stack import aws_and_kube, apply_elastic_ips, namespace_with_provider, operator, wait_all_ready, wait_metric

DRIFT_CHECKS = "infra_operator_drift_detection_duration_seconds_count"
MODES = {
    "cache off, no limit": ("--describe-cache-ttl", "0", "--aws-rate-limit", "ec2=0"),
    "cache off, limit 20/s": ("--describe-cache-ttl", "0"),
    "cache on, no limit": ("--aws-rate-limit", "ec2=0"),
    "cache on, limit 20/s": (),
}


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    options.add_argument("--objects", type=int, default=2000)
    options.add_argument("--aws-rate", type=float, default=25.0, help="EC2 requests per second before AWS throttles")
    args = options.parse_args()
    with aws_and_kube() as (aws, kube):
        cluster = namespace_with_provider(kube, aws, "stampede")
        apply_elastic_ips(cluster, args.objects)
        started = time.monotonic()
        with operator(kube, "stampede", "--aws-rate-limit", "ec2=0", "--resync-interval", "3000"):
            wait_all_ready(cluster, args.objects, timeout=3600)
        print(f"{args.objects} addresses converged in {time.monotonic() - started:.0f}s", flush=True)
        for mode, flags in MODES.items():
            aws.faults.clear()
            aws.calls.clear()
            aws.faults.throttle_above(args.aws_rate, service="ec2")
            with operator(kube, "stampede", "--resync-interval", "3000", *flags) as running:
                started = time.monotonic()
                wait_metric(running.metrics_url, DRIFT_CHECKS, args.objects, timeout=3600, poll=1,
                            resource_type="ElasticIP")
                took = time.monotonic() - started
            print(f"{mode}: {aws.calls.count(service='ec2')} EC2 requests, "
                  f"{aws.faults.count(kind='throttle')} throttled (AWS above {args.aws_rate:g}/s), "
                  f"resume round {took:.0f}s", flush=True)


if __name__ == "__main__":
    main()
