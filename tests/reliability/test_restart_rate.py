"""A restart does not stampede AWS: addresses applied while the operator was down (a GitOps sync
during an outage) are all due when it starts, while AWS throttles EC2 requests beyond a rate.
Without the client-side limit the start trips the throttling; with it (below AWS's rate) it
does not. bench/restart_stampede.py runs the same with more addresses."""

from __future__ import annotations

import time

from e2e.resources import Cluster

from .support import operator_process, wait_provider_ready

OBJECTS = 30
AWS_RATE = 10.0  # EC2 requests per second before AWS throttles (moto, through the fault injector)
CLIENT_RATE = "8"  # our limit, below it


def start_on_pending(kube, aws, cluster: Cluster, prefix: str, *args: str) -> tuple[int, float]:
    """Apply OBJECTS addresses with no operator running, then start one under AWS throttling;
    the throttles AWS answered and the seconds until all were Ready."""
    names = [f"{prefix}-{index}" for index in range(OBJECTS)]
    for name in names:
        cluster.create("ElasticIP", name, {"providerRef": {"name": "aws"}})
    aws.faults.clear()
    aws.faults.throttle_above(AWS_RATE, service="ec2")
    with operator_process(kube, cluster.namespace, *args):
        started = time.monotonic()
        for name in names:
            cluster.wait_ready("ElasticIP", name, timeout=120)
        took = time.monotonic() - started
    throttles = aws.faults.count(kind="throttle")
    aws.faults.clear()
    return throttles, took


def test_a_restart_stays_under_the_aws_request_rate(kube, aws, namespace):
    cluster = Cluster(kube, aws, namespace)
    cluster.create_provider("aws")
    with operator_process(kube, namespace) as process:
        wait_provider_ready(kube, process, f"{namespace}/aws")
    unlimited, unlimited_took = start_on_pending(kube, aws, cluster, "a", "--aws-rate-limit", "ec2=0")
    limited, limited_took = start_on_pending(kube, aws, cluster, "b", "--aws-rate-limit", f"ec2={CLIENT_RATE}")
    print(f"\nstart on {OBJECTS} pending addresses, AWS throttling EC2 above {AWS_RATE:g}/s: {unlimited} throttles "
          f"in {unlimited_took:.1f}s without a client-side limit, {limited} in {limited_took:.1f}s at {CLIENT_RATE}/s")
    assert limited <= 3
    with operator_process(kube, namespace):
        cluster.delete_everything()
