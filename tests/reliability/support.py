"""What the reliability scenarios share: operators run as child processes on one namespace,
and what AWS holds that is tagged as ours."""

from __future__ import annotations

import collections
from collections.abc import Iterator
from contextlib import contextmanager

from infra_operator.operator.engine.delta import OWNER_NAME, OWNER_UID

from e2e.runner import SubprocessOperator, kube_server
from e2e.test_elasticip import value


@contextmanager
def operator_process(kube, namespace: str, *args: str, env: dict[str, str] | None = None
                     ) -> Iterator[SubprocessOperator]:
    """`infra-operator run --namespace NAMESPACE ...` until the block ends (then SIGKILLed:
    every scenario checks its own shutdown, if any)."""
    process = SubprocessOperator(kube_server(kube), "--namespace", namespace, *args, env=env).start()
    try:
        process.wait_metrics()
        yield process
    finally:
        process.kill()


def wait_provider_ready(kube, process: SubprocessOperator, provider: str, timeout: float = 20) -> None:
    """Until the operator process reports the AWSProvider (namespace/name) ready on /metrics."""
    kube.wait_for(lambda: process.process.poll() is None and value(process.metrics_url, "infra_operator_provider_ready",
                                                                 provider_name=provider, region="us-east-1"),
                  timeout=timeout, interval=0.05, what=f"{provider} ready on /metrics")


# Every EC2 resource type our kinds make: describe call, list key, id key.
EC2_TYPES = (("describe_addresses", "Addresses", "AllocationId"), ("describe_vpcs", "Vpcs", "VpcId"),
             ("describe_subnets", "Subnets", "SubnetId"),
             ("describe_internet_gateways", "InternetGateways", "InternetGatewayId"),
             ("describe_nat_gateways", "NatGateways", "NatGatewayId"),
             ("describe_security_groups", "SecurityGroups", "GroupId"),
             ("describe_route_tables", "RouteTables", "RouteTableId"))


def owned_in_aws(aws, namespace: str) -> dict[str, list[str]]:
    """AWS ids of the resources tagged as owned by objects of `namespace`, by owner uid
    (deleted NAT gateways, which AWS lists for a while, left out)."""
    ec2 = aws.client("ec2")
    found: dict[str, list[str]] = collections.defaultdict(list)
    for describe, list_key, id_key in EC2_TYPES:
        # Not every describe call of moto honours tag filters: the tags are checked here.
        for item in getattr(ec2, describe)()[list_key]:
            tags = {t["Key"]: t["Value"] for t in item.get("Tags", [])}
            if tags.get(OWNER_NAME, "").startswith(f"{namespace}/") and item.get("State") != "deleted":
                found[tags[OWNER_UID]].append(item[id_key])
    return dict(found)
