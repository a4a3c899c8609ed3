"""A start on N ElasticIPs applied while the operator was down, with AWS throttling EC2 requests
beyond a rate: the throttles without the client-side limit (`--aws-rate-limit ec2=0`) and with
it (the default, 20/s), and how long until all were Ready.

    .venv/bin/python bench/restart_stampede.py [--objects 2000] [--aws-rate 25] [--budget 3600]
"""

from __future__ import annotations

import argparse
import time

from _stack import aws_and_kube, apply_elastic_ips, metric_total, namespace_with_provider, operator, wait_metric

MODES = {"limit 20/s (default)": (), "no limit": ("--aws-rate-limit", "ec2=0")}


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    options.add_argument("--objects", type=int, default=2000)
    options.add_argument("--aws-rate", type=float, default=25.0, help="EC2 requests per second before AWS throttles")
    options.add_argument("--budget", type=float, default=3600.0,
                         help="seconds each mode may take; past it, how far it got is reported")
    args = options.parse_args()
    with aws_and_kube() as (aws, kube):
        for index, (mode, flags) in enumerate(MODES.items()):
            cluster = namespace_with_provider(kube, aws, f"stampede-{index}")
            apply_elastic_ips(cluster, args.objects)
            aws.faults.clear()
            aws.calls.clear()
            aws.faults.throttle_above(args.aws_rate, service="ec2")
            with operator(kube, cluster.namespace, "--resync-interval", "3000", *flags) as running:
                started = time.monotonic()
                # The operator's own gauge, not a list of every object: at 2,000 objects, listing them
                # several times a second competes with the operator for the API server.
                try:
                    ready = wait_metric(running.metrics_url, "infra_operator_resources_total", args.objects,
                                        timeout=args.budget, poll=1.0, resource_type="ElasticIP", status="ready")
                except TimeoutError:
                    ready = metric_total(running.metrics_url, "infra_operator_resources_total",
                                         resource_type="ElasticIP", status="ready")
                took = time.monotonic() - started
            print(f"{mode}: {ready:.0f} of {args.objects} addresses Ready in {took:.0f}s, "
                  f"{aws.calls.count(service='ec2')} EC2 requests, {aws.faults.count(kind='throttle')} throttled "
                  f"(AWS above {args.aws_rate:g}/s)", flush=True)


if __name__ == "__main__":
    main()
