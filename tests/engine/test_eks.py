"""EKSCluster through the engine against moto over HTTP: create (CREATING for a while, as in AWS,
through the fault injector's rewritten describe), one update at a time, drift healed with its
severity, delete while DELETING, Retain, adoption, a taken name, version rules, bad input."""

from __future__ import annotations

import secrets

import pytest

from conftest import (Cluster, check_adoption_after_a_lost_status_write, check_name_taken,
                      check_stopped_before_aws, converge, delete_all, kind_metrics, make_engine, ready_reason, reasons)

TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "eks.amazonaws.com"}}]}
DESCRIBE = r"GET /clusters/[^/]+"
ACTIVE = r'"status": ?"ACTIVE"'  # moto's cluster state, at once
OWNER_UID = "infra-operator.dev/owner-uid"


@pytest.fixture
def eks(aws):
    return aws.client("eks")


@pytest.fixture
def network(aws):
    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.60.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.60.{i}.0/24")["Subnet"]["SubnetId"] for i in (1, 2)]
    group = ec2.create_security_group(VpcId=vpc, GroupName=f"eks-{secrets.token_hex(3)}", Description="eks")["GroupId"]
    yield subnets, group
    ec2.delete_security_group(GroupId=group)
    for subnet in subnets:
        ec2.delete_subnet(SubnetId=subnet)
    ec2.delete_vpc(VpcId=vpc)


def make_role(cluster: Cluster) -> None:
    cluster.apply("IAMRole", "role", {"roleName": f"eks-{secrets.token_hex(4)}", "assumeRolePolicy": TRUST})
    converge(cluster, [("IAMRole", "role")])


@pytest.fixture
def role(cluster):
    make_role(cluster)
    yield
    delete_all(cluster, [("IAMRole", "role")])


def spec(name: str, network, **extra):
    subnets, group = network
    return {"clusterName": name, "version": "1.30", "roleRef": {"name": "role"},
            "subnetIds": list(subnets), "securityGroupIds": [group], **extra}


def described(eks, name: str) -> dict:
    return eks.describe_cluster(name=name)["cluster"]


def test_create_in_progress_update_drift_and_delete(aws, eks, network, telemetry, calls):
    cluster = Cluster(make_engine(aws, telemetry, calls))
    make_role(cluster)
    key = ("EKSCluster", "main")
    creating = aws.faults.rewrite(ACTIVE, '"status": "CREATING"', service="eks", path=DESCRIBE)
    cluster.apply(*key, spec("main", network, logging=["api", "audit"], tags={"team": "platform"}))
    first = cluster.reconcile(*key)
    assert ready_reason(first) == "Provisioning" and first.retry_after >= 30 and not first.permanent
    assert first.status["status"] == "CREATING" and calls.calls["CreateCluster"] == 1
    assert ready_reason(cluster.reconcile(*key)) == "Provisioning" and calls.calls["CreateCluster"] == 1
    creating.times = creating.used  # AWS is done
    ready = cluster.reconcile(*key)
    assert ready_reason(ready) == "Available"
    status = ready.status
    assert status["arn"].endswith(":cluster/main") and status["status"] == "ACTIVE" and status["version"] == "1.30"
    assert status["endpoint"] and status["certificateAuthority"] and status["oidcIssuer"]
    now = described(eks, "main")
    assert now["roleArn"] == cluster.status("IAMRole", "role")["arn"]
    assert now["resourcesVpcConfig"]["subnetIds"] == network[0] and now["tags"]["team"] == "platform"
    assert now["tags"][OWNER_UID] == cluster.uid(*key)

    # Two changes: the network first; the logging waits until the cluster is ACTIVE again.
    cluster.apply(*key, spec("main", network, logging=["api"], endpointPrivateAccess=True,
                             tags={"team": "platform"}))
    calls.calls.clear()
    step = cluster.reconcile(*key, "update")
    assert ready_reason(step) == "Updating" and step.retry_after and calls.calls["UpdateClusterConfig"] == 1
    updating = aws.faults.rewrite(ACTIVE, '"status": "UPDATING"', service="eks", path=DESCRIBE, times=1)
    waiting = cluster.reconcile(*key, "update")
    assert ready_reason(waiting) == "Updating" and calls.calls["UpdateClusterConfig"] == 1 and updating.used == 1
    done = cluster.reconcile(*key, "update")
    assert reasons(done) == ["Updated"] and calls.calls["UpdateClusterConfig"] == 2
    now = described(eks, "main")
    enabled = [t for s in now["logging"]["clusterLogging"] if s["enabled"] for t in s["types"]]
    assert enabled == ["api"] and now["resourcesVpcConfig"]["endpointPrivateAccess"] is True

    assert now["resourcesVpcConfig"]["subnetIds"] == network[0]  # the whole VPC config was sent
    assert reasons(cluster.reconcile(*key, "resync")) == []

    # Out of band: a tag changed (info), all logging turned on (warning).
    eks.tag_resource(resourceArn=status["arn"], tags={"team": "intruder"})
    eks.update_cluster_config(name="main", logging={"clusterLogging": [{"types": ["api", "audit"], "enabled": True}]})
    healed = cluster.reconcile(*key, "resync")
    assert reasons(healed) == ["DriftHealed"]
    now = described(eks, "main")
    assert now["tags"]["team"] == "platform"
    assert [t for s in now["logging"]["clusterLogging"] if s["enabled"] for t in s["types"]] == ["api"]

    # Delete: DELETING for a while, then gone.
    deleting = aws.faults.rewrite(ACTIVE, '"status": "DELETING"', service="eks", path=DESCRIBE, times=1)
    pending = cluster.delete(*key)
    assert ready_reason(pending) == "Deleting" and pending.retry_after and deleting.used == 1
    gone = cluster.delete(*key)
    assert gone.retry_after is None and "main" not in eks.list_clusters()["clusters"]
    assert calls.calls["DeleteCluster"] == 1
    delete_all(cluster, [("IAMRole", "role")])
    samples = telemetry.sample_values()
    figures = kind_metrics(samples, "EKSCluster")
    assert figures == {"drift warning": 1, "drift info": 1, "healed": 1, "reconcile success": 4,
                       "reconcile requeue": 4}, figures


def test_version_rules_are_checked_before_the_call(eks, cluster, calls, network, role):
    key = ("EKSCluster", "v")
    cluster.apply(*key, spec("versions", network))
    converge(cluster, [key])
    for version, reason in (("1.29", "DowngradeRefused"), ("1.32", "UpgradeTooFar")):
        cluster.apply(*key, spec("versions", network, version=version))
        refused = cluster.reconcile(*key, "update")
        assert ready_reason(refused) == reason and refused.permanent and reasons(refused) == [reason]
    assert calls.calls["UpdateClusterVersion"] == 0 and described(eks, "versions")["version"] == "1.30"
    cluster.apply(*key, spec("versions", network))
    delete_all(cluster, [key])


def test_secrets_encrypted_with_our_key_which_never_changes(eks, cluster, calls, network, role):
    cluster.apply("KMSKey", "key", {"description": "eks secrets", "deletionPolicy": "Delete", "pendingWindowInDays": 7})
    key = ("EKSCluster", "e")
    cluster.apply(*key, spec("sealed", network, encryption={"kmsKeyRef": {"name": "key"}}))
    converge(cluster, [("KMSKey", "key"), key])
    config = described(eks, "sealed")["encryptionConfig"]
    assert config == [{"resources": ["secrets"], "provider": {"keyArn": cluster.status("KMSKey", "key")["arn"]}}]
    cluster.apply(*key, spec("sealed", network, encryption={"kmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/other"}))
    calls.calls.clear()
    refused = cluster.reconcile(*key, "update")
    assert ready_reason(refused) == "ReplacementRequired" and refused.permanent
    assert calls.calls["AssociateEncryptionConfig"] == 0
    cluster.apply(*key, spec("sealed", network, encryption={"kmsKeyRef": {"name": "key"}}))
    delete_all(cluster, [key, ("KMSKey", "key")])


def test_a_different_role_needs_a_new_cluster(cluster, network, role):
    key = ("EKSCluster", "r")
    cluster.apply(*key, spec("roles", network))
    converge(cluster, [key])
    changed = {**spec("roles", network), "role": "arn:aws:iam::123456789012:role/other"}
    del changed["roleRef"]
    cluster.apply(*key, changed)
    refused = cluster.reconcile(*key, "update")
    assert ready_reason(refused) == "ReplacementRequired" and "role" in refused.message
    cluster.apply(*key, spec("roles", network))
    delete_all(cluster, [key])


def test_retain_leaves_the_cluster_and_asks_to_remove_our_tags(eks, cluster, calls, network, role):
    """moto's UntagResource removes only the first of the keys it is given (AWS removes them all):
    the call is checked, and the key moto does remove."""
    key = ("EKSCluster", "retained")
    cluster.apply(*key, spec("kept", network, deletionPolicy="Retain", tags={"keep": "me"}))
    arn = converge(cluster, [key])[-1][1].status["arn"]
    calls.calls.clear()
    kept = cluster.delete(*key)
    assert kept.retry_after is None and reasons(kept) == ["Retained"]
    assert calls.calls["UntagResource"] == 1 and calls.calls["DeleteCluster"] == 0
    tags = eks.list_tags_for_resource(resourceArn=arn)["tags"]
    assert tags["keep"] == "me" and "infra-operator.dev/kind" not in tags
    eks.delete_cluster(name="kept")


def test_adoption_after_a_lost_status_write(cluster, network, role):
    check_adoption_after_a_lost_status_write(cluster, "EKSCluster", spec("adopted", network))


def test_a_name_someone_else_holds_is_not_taken_over(eks, cluster, network, role):
    eks.create_cluster(name="theirs", roleArn=cluster.status("IAMRole", "role")["arn"],
                       resourcesVpcConfig={"subnetIds": network[0]})
    check_name_taken(cluster, "EKSCluster", spec("theirs", network))
    assert OWNER_UID not in described(eks, "theirs")["tags"]
    eks.delete_cluster(name="theirs")


@pytest.mark.parametrize("extra", [
    {"endpointPublicAccess": False, "endpointPrivateAccess": False},
    {"endpointPublicAccess": False, "publicAccessCidrs": ["10.0.0.0/8"]},
    {"subnetIds": ["subnet-0123456789abcdef0"]},
    {"role": "arn:aws:iam::123456789012:role/x"},  # and roleRef: both
    {"subnetRefs": [{"name": "a"}, {"name": "b"}]},  # and subnetIds: both
])
def test_invalid_specs_stop_before_any_aws_call(cluster, calls, extra):
    bad = {"clusterName": "bad", "role": "arn:aws:iam::123456789012:role/eks",
           "subnetIds": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]}
    if "role" in extra:
        bad = {**bad, "roleRef": {"name": "role"}}
    conflicting = "role" in extra or "subnetRefs" in extra
    check_stopped_before_aws(cluster, calls, "EKSCluster", {**bad, **extra},
                             "ConflictingReference" if conflicting else "InvalidSpec")
