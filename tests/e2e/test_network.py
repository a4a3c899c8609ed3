"""The sample network stack end to end under kopf: applied at once in random order, it converges;
drift on a security group is healed; deleting everything leaves nothing tagged as ours in AWS."""

from __future__ import annotations

import pathlib
import random

import yaml

from .resources import API_VERSION
from .test_elasticip import value

SAMPLE = pathlib.Path(__file__).resolve().parents[2] / "samples" / "20-network.yaml"


def tagged_as_ours(aws) -> dict[str, int]:
    ec2 = aws.client("ec2")
    ours = [{"Name": "tag-key", "Values": ["infra-operator.dev/owner-uid"]}]
    return {
        "vpcs": len(ec2.describe_vpcs(Filters=ours)["Vpcs"]),
        "subnets": len(ec2.describe_subnets(Filters=ours)["Subnets"]),
        "igws": len(ec2.describe_internet_gateways(Filters=ours)["InternetGateways"]),
        "nats": sum(1 for n in ec2.describe_nat_gateways()["NatGateways"] if n["State"] != "deleted"
                    and any(t["Key"] == "infra-operator.dev/owner-uid" for t in n.get("Tags", []))),
        "route_tables": len(ec2.describe_route_tables(Filters=ours)["RouteTables"]),
        "security_groups": len(ec2.describe_security_groups(Filters=ours)["SecurityGroups"]),
        "addresses": len(ec2.describe_addresses(Filters=ours)["Addresses"]),
    }


def test_network_stack_converges_heals_and_cleans_up(cluster, metrics_url):
    documents = [d for d in yaml.safe_load_all(SAMPLE.read_text()) if d]
    random.Random(7).shuffle(documents)
    for document in documents:
        cluster.create(document["kind"], document["metadata"]["name"], document["spec"])
    for document in documents:
        cluster.wait_ready(document["kind"], document["metadata"]["name"], timeout=90)

    vpc = cluster.get("VPC", "main")["status"]["vpcId"]
    subnet = cluster.get("Subnet", "public-a")
    assert subnet["status"]["vpcId"] == vpc
    for kind in {d["kind"] for d in documents}:
        count = sum(1 for d in documents if d["kind"] == kind)
        cluster.kube.wait_for(lambda kind=kind: value(metrics_url, "infra_operator_resources_total",
                                                      resource_type=kind, status="ready"),
                              until=lambda v, count=count: v >= count, what=f"{kind} ready in resources_total")

    # Out-of-band: someone opens SSH to the world on the web security group.
    group = cluster.get("SecurityGroup", "web")["status"]["groupId"]
    before = value(metrics_url, "infra_operator_drift_detected_total", resource_type="SecurityGroup",
                   severity="critical")
    ec2 = cluster.aws.client("ec2")
    ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    cluster.wait_event("web", "DriftHealed", timeout=30)
    rules = ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"][0]["IpPermissions"]
    assert not any(r.get("FromPort") == 22 for r in rules)
    assert value(metrics_url, "infra_operator_drift_detected_total", resource_type="SecurityGroup",
                 severity="critical") > before

    # Deleting the VPC first waits for its dependents instead of failing in a loop.
    cluster.delete("VPC", "main")
    cluster.wait_condition("VPC", "main", status="False", reason="DependentsExist")
    names = [(d["kind"], d["metadata"]["name"]) for d in documents]
    random.Random(11).shuffle(names)
    for kind, name in names:
        cluster.delete(kind, name)
    for kind, name in names:
        cluster.wait_gone(kind, name, timeout=90)
    assert set(tagged_as_ours(cluster.aws).values()) == {0}, tagged_as_ours(cluster.aws)
    assert not cluster.kube.list(API_VERSION, "Subnet", cluster.namespace)
