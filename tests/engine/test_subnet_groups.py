"""engine.subnet_groups against moto: a kind's subnet group, named from the object's UID, made once
(a second ensure after a crash finds it), found as held, released; RDS and ElastiCache alike."""

from __future__ import annotations

import uuid

import pytest

from infra_operator.operator.engine.subnet_groups import SubnetGroups

RDS = SubnetGroups("rds", "DB", "DBSubnetGroupArn")
ELASTICACHE = SubnetGroups("elasticache", "Cache", "ARN")
OWNER = "infra-operator.dev/owner-uid"


class Clients:
    region = "us-east-1"

    def __init__(self, aws):
        self.aws = aws

    def client(self, service, region=None):
        return self.aws.client(service)


@pytest.fixture
def subnets(aws):
    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    made = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.40.{n}.0/24", AvailabilityZone=f"us-east-1{z}")["Subnet"]["SubnetId"]
            for n, z in ((1, "a"), (2, "b"))]
    yield sorted(made)
    for subnet in made:
        ec2.delete_subnet(SubnetId=subnet)
    ec2.delete_vpc(VpcId=vpc)


@pytest.mark.parametrize("groups", [RDS, ELASTICACHE], ids=["rds", "elasticache"])
def test_a_group_is_made_once_from_the_uid_and_found_as_held(aws, subnets, groups):
    clients, uid = Clients(aws), str(uuid.uuid4())
    name = groups.ensure(clients, uid, subnets, {OWNER: uid}, "test")
    assert name == "infra-operator-" + uid.replace("-", "") and len(name) == 47
    assert groups.ensure(clients, uid, list(reversed(subnets)), {OWNER: uid}, "test") == name  # after a crash
    described = groups.describe(clients, name)
    assert groups.subnets(described) == subnets
    assert groups.held(clients, (OWNER, uid)) == [described[groups.arn_key]]
    assert groups.held(clients, (OWNER, str(uuid.uuid4()))) == []
    if groups is RDS:  # moto 5.2.5 has no DeleteCacheSubnetGroup
        groups.release(clients, described[groups.arn_key])
        assert groups.describe(clients, name) is None and groups.held(clients, (OWNER, uid)) == []
