"""The networking kinds through the engine against a moto server over HTTP, without kopf: per
kind create, update in place, out-of-band drift healed, delete, Retain, adoption after a lost
status write; then what only some kinds do."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import pytest
from botocore.exceptions import ClientError

from conftest import KINDS, converge, delete_all, ready_reason, reasons

OWNED = "infra-operator.dev/"


def describe(ec2, kind: str, ident: str) -> dict[str, Any] | None:
    """The AWS description of one resource, straight from boto3 (None when gone)."""
    k = KINDS[kind]
    try:
        found = getattr(ec2, k.resource.describe)(**{k.resource.ids_param: [ident]})[k.resource.list_key]
    except ClientError as exc:
        assert exc.response["Error"]["Code"].endswith(".NotFound")
        return None
    found = [r for r in found if r.get("State") != "deleted"]
    return found[0] if found else None


def tags(raw) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in raw.get("Tags") or ()}


def vpc_attribute(ec2, vpc_id, name):
    return ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute=name)[name[0].upper() + name[1:]]["Value"]


def ingress(raw) -> set[tuple]:
    return {(p["IpProtocol"], p.get("FromPort"), r["CidrIp"], r.get("Description"))
            for p in raw["IpPermissions"] for r in p["IpRanges"]}


def routes(raw) -> dict[str, str]:
    return {r["DestinationCidrBlock"]: r.get("GatewayId") or r.get("NatGatewayId")
            for r in raw["Routes"] if r.get("Origin") == "CreateRoute"}


def associated(raw) -> set[str]:
    return {a["SubnetId"] for a in raw["Associations"] if a.get("SubnetId")}


@dataclass
class Case:
    """One kind's life: `needs` are other objects applied first; `update` is the changed spec;
    `drift` changes the resource out of band; `check(ec2, raw, cluster)` holds after update and
    after healing."""

    kind: str
    spec: dict[str, Any]
    update: dict[str, Any]
    drift: Callable[[Any, str, Any], None]
    check: Callable[[Any, dict, Any], None]
    needs: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    severity: str = "critical"


def _vpc_check(ec2, raw, cluster):
    assert vpc_attribute(ec2, raw["VpcId"], "enableDnsHostnames") is True


def _subnet_check(ec2, raw, cluster):
    assert raw["MapPublicIpOnLaunch"] is True


def _igw_check(ec2, raw, cluster):
    assert [a["VpcId"] for a in raw["Attachments"]] == [cluster.status("VPC", "b")["vpcId"]]


def _nat_check(ec2, raw, cluster):
    assert tags(raw)["stage"] == "two" and "stage-old" not in tags(raw)


def _sg_check(ec2, raw, cluster):
    assert ingress(raw) == {("tcp", 443, "0.0.0.0/0", "https"), ("tcp", 22, "10.0.0.0/8", None)}
    assert [(p["IpProtocol"], p["IpRanges"]) for p in raw["IpPermissionsEgress"]] == [("tcp", [{"CidrIp": "10.0.0.0/8"}])]


def _rt_check(ec2, raw, cluster):
    assert routes(raw) == {"0.0.0.0/0": cluster.status("NATGateway", "n")["natGatewayId"],
                           "192.168.0.0/16": cluster.status("InternetGateway", "i")["internetGatewayId"]}
    assert associated(raw) == {cluster.status("Subnet", "b")["subnetId"]}


VPC_A = ("VPC", "a", {"cidrBlock": "10.1.0.0/16"})
SUBNET_A = ("Subnet", "a", {"vpcRef": {"name": "a"}, "cidrBlock": "10.1.1.0/24"})
SUBNET_B = ("Subnet", "b", {"vpcRef": {"name": "a"}, "cidrBlock": "10.1.2.0/24"})
ALLOW_443 = {"protocol": "tcp", "fromPort": 443, "cidrBlocks": ["0.0.0.0/0"], "description": "https"}

CASES = [
    Case("VPC", {"cidrBlock": "10.0.0.0/16"}, {"cidrBlock": "10.0.0.0/16", "enableDnsHostnames": True},
         drift=lambda ec2, ident, c: ec2.modify_vpc_attribute(VpcId=ident, EnableDnsHostnames={"Value": False}),
         check=_vpc_check, severity="warning"),
    Case("Subnet", {"vpcRef": {"name": "a"}, "cidrBlock": "10.1.7.0/24"},
         {"vpcRef": {"name": "a"}, "cidrBlock": "10.1.7.0/24", "mapPublicIpOnLaunch": True},
         drift=lambda ec2, ident, c: ec2.modify_subnet_attribute(SubnetId=ident, MapPublicIpOnLaunch={"Value": False}),
         check=_subnet_check, needs=[VPC_A], severity="warning"),
    Case("InternetGateway", {"vpcRef": {"name": "a"}}, {"vpcRef": {"name": "b"}},
         drift=lambda ec2, ident, c: ec2.detach_internet_gateway(InternetGatewayId=ident,
                                                                 VpcId=c.status("VPC", "b")["vpcId"]),
         check=_igw_check, needs=[VPC_A, ("VPC", "b", {"cidrBlock": "10.2.0.0/16"})]),
    Case("NATGateway", {"subnetRef": {"name": "a"}, "tags": {"stage": "one", "stage-old": "x"}},
         {"subnetRef": {"name": "a"}, "tags": {"stage": "two"}},
         drift=lambda ec2, ident, c: ec2.create_tags(Resources=[ident], Tags=[{"Key": "stage", "Value": "evil"}]),
         check=_nat_check, needs=[VPC_A, SUBNET_A], severity="info"),
    Case("SecurityGroup", {"vpcRef": {"name": "a"}, "groupName": "web", "ingress": [ALLOW_443]},
         {"vpcRef": {"name": "a"}, "groupName": "web",
          "ingress": [{"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["10.0.0.0/8"]}, ALLOW_443],
          "egress": [{"protocol": "6", "fromPort": 0, "toPort": 65535, "cidrBlocks": ["10.0.0.0/8"]}]},
         drift=lambda ec2, ident, c: (
             ec2.revoke_security_group_ingress(GroupId=ident, IpPermissions=[{
                 "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}]),
             ec2.authorize_security_group_ingress(GroupId=ident, IpPermissions=[{
                 "IpProtocol": "udp", "FromPort": 53, "ToPort": 53, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])),
         check=_sg_check, needs=[VPC_A]),
    Case("RouteTable",
         {"vpcRef": {"name": "a"}, "routes": [{"destinationCidrBlock": "0.0.0.0/0", "gatewayRef": {"name": "i"}}],
          "associations": [{"subnetRef": {"name": "a"}}]},
         {"vpcRef": {"name": "a"},
          "routes": [{"destinationCidrBlock": "0.0.0.0/0", "natGatewayRef": {"name": "n"}},
                     {"destinationCidrBlock": "192.168.0.0/16", "gatewayRef": {"name": "i"}}],
          "associations": [{"subnetRef": {"name": "b"}}]},
         drift=lambda ec2, ident, c: (
             ec2.delete_route(RouteTableId=ident, DestinationCidrBlock="192.168.0.0/16"),
             ec2.create_route(RouteTableId=ident, DestinationCidrBlock="172.16.0.0/12",
                              GatewayId=c.status("InternetGateway", "i")["internetGatewayId"])),
         check=_rt_check,
         needs=[VPC_A, SUBNET_A, SUBNET_B, ("InternetGateway", "i", {"vpcRef": {"name": "a"}}),
                ("NATGateway", "n", {"subnetRef": {"name": "a"}})]),
]
IDS = [case.kind for case in CASES]


def _prepare(cluster, case: Case, **extra) -> tuple[str, str]:
    for kind, name, spec in case.needs:
        cluster.apply(kind, name, spec)
    converge(cluster, [(kind, name) for kind, name, _ in case.needs])
    cluster.apply(case.kind, "it", {**case.spec, **extra})
    return case.kind, "it"


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_create_update_drift_heal_delete(aws, cluster, case):
    ec2 = aws.client("ec2")
    key = _prepare(cluster, case)
    created = cluster.reconcile(*key)
    assert created.retry_after is None and not created.permanent, created.message
    assert ready_reason(created) == "Available" and reasons(created)[0] == "Created"
    ident = created.status[KINDS[case.kind].identifier]
    assert tags(describe(ec2, case.kind, ident))[f"{OWNED}owner-uid"] == cluster.uid(*key)

    cluster.apply(case.kind, "it", case.update)
    updated = cluster.reconcile(*key, trigger="update")
    assert reasons(updated) == ["Updated"] and updated.status[KINDS[case.kind].identifier] == ident
    case.check(ec2, describe(ec2, case.kind, ident), cluster)
    assert reasons(cluster.reconcile(*key, trigger="resync")) == []  # converged: nothing to do

    case.drift(ec2, ident, cluster)
    healed = cluster.reconcile(*key, trigger="resync")
    assert reasons(healed) == ["DriftHealed"] and ready_reason(healed) == "Available"
    case.check(ec2, describe(ec2, case.kind, ident), cluster)

    gone = cluster.delete(*key)
    assert gone.retry_after is None and "Deleted" in reasons(gone)
    assert describe(ec2, case.kind, ident) is None
    delete_all(cluster, list(cluster.bodies))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_retain_leaves_the_resource_without_our_tags(aws, cluster, case):
    ec2 = aws.client("ec2")
    key = _prepare(cluster, case, deletionPolicy="Retain", tags={"keep": "me"})
    status = converge(cluster, [key])[-1][1].status
    kept = cluster.delete(*key)
    assert kept.retry_after is None and reasons(kept) == ["Retained"]
    assert tags(describe(ec2, case.kind, status[KINDS[case.kind].identifier])) == {"keep": "me"}
    if case.kind == "NATGateway":  # the address it allocated stays with it, also without our tags
        assert tags(describe(ec2, "ElasticIP", status["allocationId"])) == {"keep": "me"}


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_adoption_after_a_lost_status_write(aws, cluster, case):
    ec2 = aws.client("ec2")
    key = _prepare(cluster, case)
    ident = cluster.reconcile(*key).status[KINDS[case.kind].identifier]
    cluster.bodies[key]["status"] = {}  # the operator died before writing status
    again = cluster.reconcile(*key)
    assert reasons(again) == ["Adopted"] and again.status[KINDS[case.kind].identifier] == ident
    owner = [{"Name": "tag:infra-operator.dev/owner-uid", "Values": [cluster.uid(*key)]}]
    k = KINDS[case.kind]
    found = getattr(ec2, k.resource.describe)(Filters=owner)[k.resource.list_key]
    assert [r[k.resource.id_key] for r in found if tags(r).get(f"{OWNED}owner-uid") == cluster.uid(*key)] == [ident]
    delete_all(cluster, list(cluster.bodies))


def test_dependency_not_ready_waits_without_any_aws_call(cluster, calls):
    cluster.apply("Subnet", "s", {"vpcRef": {"name": "v"}, "cidrBlock": "10.3.1.0/24"})
    missing = cluster.reconcile("Subnet", "s")
    assert ready_reason(missing) == "DependencyNotReady" and missing.retry_after == 10
    assert "VPC v (spec.vpcRef) does not exist" in missing.message
    cluster.apply("VPC", "v", {"cidrBlock": "10.3.0.0/16"})
    unready = cluster.reconcile("Subnet", "s")
    assert ready_reason(unready) == "DependencyNotReady" and unready.retry_after == 5
    assert "is not Ready" in unready.message
    assert calls.total() == 0
    runs = converge(cluster, [("VPC", "v"), ("Subnet", "s")])
    assert [ready_reason(o) for _, o in runs] == ["Available", "Available"]
    assert cluster.status("Subnet", "s")["vpcId"] == cluster.status("VPC", "v")["vpcId"]
    delete_all(cluster, [("Subnet", "s"), ("VPC", "v")])


def test_deleting_a_vpc_waits_for_its_dependents(aws, cluster, calls):
    cluster.apply("VPC", "v", {"cidrBlock": "10.4.0.0/16"})
    cluster.apply("SecurityGroup", "g", {"vpcRef": {"name": "v"}, "groupName": "g"})
    converge(cluster, [("VPC", "v"), ("SecurityGroup", "g")])
    vpc_id = cluster.status("VPC", "v")["vpcId"]
    calls.calls.clear()
    waiting = cluster.delete("VPC", "v")
    assert ready_reason(waiting) == "DependentsExist" and "SecurityGroup/g" in waiting.message
    assert waiting.retry_after and calls.total() == 0 and describe(aws.client("ec2"), "VPC", vpc_id)
    delete_all(cluster, [("SecurityGroup", "g"), ("VPC", "v")])
    assert describe(aws.client("ec2"), "VPC", vpc_id) is None


def _address(ec2, allocation_id):
    try:
        return ec2.describe_addresses(AllocationIds=[allocation_id])["Addresses"]
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "InvalidAllocationID.NotFound"
        return []


def test_nat_gateway_releases_the_address_it_allocated(aws, cluster):
    ec2 = aws.client("ec2")
    cluster.apply("VPC", "v", {"cidrBlock": "10.5.0.0/16"})
    cluster.apply("Subnet", "s", {"vpcRef": {"name": "v"}, "cidrBlock": "10.5.1.0/24"})
    cluster.apply("NATGateway", "n", {"subnetRef": {"name": "s"}})
    # A previous attempt allocated the address, then the operator died: it is reused, not doubled.
    leftover = ec2.allocate_address(Domain="vpc", TagSpecifications=[{"ResourceType": "elastic-ip", "Tags": [
        {"Key": f"{OWNED}owner-uid", "Value": cluster.uid("NATGateway", "n")}]}])["AllocationId"]
    converge(cluster, [("VPC", "v"), ("Subnet", "s"), ("NATGateway", "n")])
    nat = cluster.status("NATGateway", "n")
    assert nat["allocationId"] == leftover and nat["publicIp"] and nat["state"] == "available"
    gone = cluster.delete("NATGateway", "n")
    assert reasons(gone) == ["Deleted", "Released"] and _address(ec2, leftover) == []
    delete_all(cluster, [("Subnet", "s"), ("VPC", "v")])


def test_nat_gateway_keeps_an_elastic_ip_it_was_given(aws, cluster):
    ec2 = aws.client("ec2")
    cluster.apply("VPC", "v", {"cidrBlock": "10.6.0.0/16"})
    cluster.apply("Subnet", "s", {"vpcRef": {"name": "v"}, "cidrBlock": "10.6.1.0/24"})
    cluster.apply("ElasticIP", "e", {})
    cluster.apply("NATGateway", "n", {"subnetRef": {"name": "s"}, "elasticIPRef": {"name": "e"}})
    converge(cluster, [("NATGateway", "n"), ("ElasticIP", "e"), ("Subnet", "s"), ("VPC", "v")])
    allocation = cluster.status("ElasticIP", "e")["allocationId"]
    assert cluster.status("NATGateway", "n")["allocationId"] == allocation
    assert ready_reason(cluster.delete("ElasticIP", "e")) == "DependentsExist"
    assert reasons(cluster.delete("NATGateway", "n")) == ["Deleted"] and _address(ec2, allocation)
    delete_all(cluster, [("ElasticIP", "e"), ("Subnet", "s"), ("VPC", "v")])
    assert _address(ec2, allocation) == []


def test_internet_gateway_detaches_when_the_spec_names_no_vpc(aws, cluster):
    cluster.apply("VPC", "v", {"cidrBlock": "10.7.0.0/16"})
    cluster.apply("InternetGateway", "i", {"vpcRef": {"name": "v"}})
    converge(cluster, [("VPC", "v"), ("InternetGateway", "i")])
    cluster.apply("InternetGateway", "i", {})
    assert reasons(cluster.reconcile("InternetGateway", "i", "update")) == ["Updated"]
    raw = describe(aws.client("ec2"), "InternetGateway", cluster.status("InternetGateway", "i")["internetGatewayId"])
    assert raw["Attachments"] == []
    delete_all(cluster, [("InternetGateway", "i"), ("VPC", "v")])


def test_security_group_rules_compare_as_sets(cluster):
    rule = {"protocol": "tcp", "fromPort": 80, "toPort": 81, "cidrBlocks": ["10.0.0.0/8", "192.168.0.0/16"]}
    split = [{**rule, "cidrBlocks": ["192.168.0.0/16"]}, {**rule, "protocol": "6", "cidrBlocks": ["10.0.0.0/8"]}]
    cluster.apply("VPC", "v", {"cidrBlock": "10.8.0.0/16"})
    cluster.apply("SecurityGroup", "g", {"vpcRef": {"name": "v"}, "groupName": "g", "ingress": [rule],
                                         "egress": [{"protocol": "all", "cidrBlocks": ["0.0.0.0/0"]}]})
    converge(cluster, [("VPC", "v"), ("SecurityGroup", "g")])
    cluster.apply("SecurityGroup", "g", {"vpcRef": {"name": "v"}, "groupName": "g", "ingress": split,
                                         "egress": [{"protocol": "-1", "cidrBlocks": ["0.0.0.0/0"]}]})
    same = cluster.reconcile("SecurityGroup", "g", "update")
    assert reasons(same) == [] and ready_reason(same) == "Available"
    delete_all(cluster, [("SecurityGroup", "g"), ("VPC", "v")])


def test_immutable_change_asks_for_replacement(aws, cluster):
    cluster.apply("VPC", "v", {"cidrBlock": "10.9.0.0/16"})
    converge(cluster, [("VPC", "v")])
    cluster.apply("VPC", "v", {"cidrBlock": "10.19.0.0/16"})
    refused = cluster.reconcile("VPC", "v", "update")
    assert refused.permanent and ready_reason(refused) == "ReplacementRequired" and "cidrBlock" in refused.message
    raw = describe(aws.client("ec2"), "VPC", cluster.status("VPC", "v")["vpcId"])
    assert raw["CidrBlock"] == "10.9.0.0/16"
    delete_all(cluster, [("VPC", "v")])


@pytest.mark.parametrize("kind, spec, reason", [
    ("VPC", {"cidrBlock": "10.0.0.0/8"}, "InvalidCidr"),
    ("Subnet", {"vpcRef": {"name": "v"}, "cidrBlock": "10.99.1.0/24"}, "CidrOutsideVpc"),
    ("Subnet", {"vpcRef": {"name": "v"}, "vpcId": "vpc-12345678", "cidrBlock": "10.10.1.0/24"}, "ConflictingReference"),
    ("InternetGateway", {"vpcRef": {"name": "v"}}, None),
    ("NATGateway", {"subnetId": "subnet-12345678", "connectivityType": "private", "allocationId": "eipalloc-12345678"},
     "InvalidSpec"),
    ("RouteTable", {"vpcRef": {"name": "v"}, "routes": [{"destinationCidrBlock": "0.0.0.0/0"}]}, "InvalidRoute"),
    ("RouteTable", {"vpcRef": {"name": "v"}, "associations": [{}]}, "MissingReference"),
    ("SecurityGroup", {"vpcRef": {"name": "v"}, "groupName": "g", "ingress": [{"protocol": "tcp", "cidrBlocks": ["10.0.0.0/8"]}]},
     "InvalidRule"),
])
def test_invalid_specs_stop_before_any_aws_call(cluster, calls, kind, spec, reason):
    cluster.apply("VPC", "v", {"cidrBlock": "10.10.0.0/16"})
    converge(cluster, [("VPC", "v")])
    calls.calls.clear()
    cluster.apply(kind, "bad", spec)
    outcome = cluster.reconcile(kind, "bad")
    if reason is None:  # the control case: the same VPC reference is fine
        assert ready_reason(outcome) == "Available"
        delete_all(cluster, [(kind, "bad")])
    else:
        assert outcome.permanent and ready_reason(outcome) == reason and calls.total() == 0, outcome.message
        del cluster.bodies[(kind, "bad")]
    delete_all(cluster, [("VPC", "v")])
