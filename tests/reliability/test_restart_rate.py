"""A restart does not stampede AWS: the operator restarts on N converged addresses, with the
describe cache off (each resume reads its own address: two DescribeAddresses per object), while
AWS throttles EC2 requests beyond a rate. Without the client-side limit the resume round trips
the throttling; with it (below AWS's rate) it does not. bench/restart_stampede.py runs the same
with 2,000 addresses."""

from __future__ import annotations

import time

from e2e.resources import Cluster
from e2e.test_elasticip import value

from .support import operator_process, wait_provider_ready

OBJECTS = 60
AWS_RATE = 10.0  # EC2 requests per second before AWS throttles (moto, through the fault injector)
CLIENT_RATE = "8"  # our limit, below it
DRIFT_CHECKS = "infra_operator_drift_detection_duration_seconds_count"


def resume_round(kube, aws, namespace: str, *args: str) -> tuple[int, float]:
    """Restart on the converged objects; the throttles AWS answered and the seconds taken until
    every object was checked once."""
    aws.faults.clear()
    aws.faults.throttle_above(AWS_RATE, service="ec2")
    with operator_process(kube, namespace, "--resync-interval", "300", "--describe-cache-ttl", "0",
                          *args) as process:
        started = time.monotonic()
        kube.wait_for(lambda: value(process.metrics_url, DRIFT_CHECKS, resource_type="ElasticIP"),
                      until=lambda checks: checks >= OBJECTS, timeout=120, interval=0.2,
                      what="every address checked once")
        took = time.monotonic() - started
    throttles = aws.faults.count(kind="throttle")
    aws.faults.clear()
    return throttles, took


def test_a_restart_stays_under_the_aws_request_rate(kube, aws, namespace):
    cluster = Cluster(kube, aws, namespace)
    cluster.create_provider("aws")
    names = [f"eip-{index}" for index in range(OBJECTS)]
    with operator_process(kube, namespace, "--aws-rate-limit", "ec2=0") as process:
        wait_provider_ready(kube, process, f"{namespace}/aws")
        for name in names:
            cluster.create("ElasticIP", name, {"providerRef": {"name": "aws"}})
        for name in names:
            cluster.wait_ready("ElasticIP", name, timeout=120)
    unlimited, unlimited_took = resume_round(kube, aws, namespace, "--aws-rate-limit", "ec2=0")
    limited, limited_took = resume_round(kube, aws, namespace, "--aws-rate-limit", f"ec2={CLIENT_RATE}")
    print(f"\nrestart on {OBJECTS} addresses (2 DescribeAddresses each), AWS throttling above {AWS_RATE:g}/s: "
          f"{unlimited} throttles in {unlimited_took:.1f}s without a client-side limit, {limited} in "
          f"{limited_took:.1f}s at {CLIENT_RATE}/s")
    assert limited <= 3
    with operator_process(kube, namespace):
        cluster.delete_everything()
