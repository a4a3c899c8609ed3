"""RDSInstance through the engine against moto over HTTP, without kopf: an instance in a subnet
group of its own from Subnet objects, behind a SecurityGroup, encrypted with a KMSKey, its master
password from a Kubernetes Secret (a changed Secret changes it in AWS; the value never appears in
an outcome); updates in place, storage growth only, major versions only when allowed; drift healed
by severity; creating and modifying in progress (the fault injector shows the status AWS shows for
minutes, where moto is available at once); pending modifications; each deletion policy (Snapshot,
Delete with and without a final snapshot, Retain); deletion protection; adoption; bad input.

moto applies deferred modifications at once and makes ModifyDBSubnetGroup drop the group: a
subnet change is tested up to the call (docs/kinds.md)."""

from __future__ import annotations

import secrets

import pytest

from conftest import (Cluster, Secrets, calls_of, check_adoption_after_a_lost_status_write, check_stopped_before_aws,
                      converge, delete_all, kind_metrics, make_engine, never_seen, ready_reason, reasons)
from infra_operator.operator.engine.subnet_groups import SubnetGroups
from infra_operator.operator.services.rds import final_snapshot_name, major_version
from infra_operator.telemetry import Telemetry

OWNED = "infra-operator.dev/"
AVAILABLE = "<DBInstanceStatus>available</DBInstanceStatus>"


@pytest.fixture
def k8s_secrets():
    passwords = Secrets()
    passwords.put("db", password=secrets.token_urlsafe(18))
    return passwords


@pytest.fixture
def cluster(aws, calls, k8s_secrets):
    return Cluster(make_engine(aws, Telemetry.noop(), calls, read_secret=k8s_secrets))


@pytest.fixture
def subnets(aws):
    """Two subnets in two zones (raw ids, for the tests that need no Subnet objects)."""
    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.60.0.0/16")["Vpc"]["VpcId"]
    return [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.60.{n}.0/24", AvailabilityZone=f"us-east-1{z}")["Subnet"]["SubnetId"]
            for n, z in ((1, "a"), (2, "b"))]


@pytest.fixture
def rds(aws):
    return aws.client("rds")


def spec(ident: str, subnet_ids=None, **fields):
    base = {"dbInstanceIdentifier": ident, "engine": "postgres", "engineVersion": "15.4",
            "dbInstanceClass": "db.t3.micro", "allocatedStorage": 20, "masterUsername": "app",
            "masterUserPasswordSecretRef": {"name": "db", "key": "password"}}
    if subnet_ids:
        base["subnetIds"] = subnet_ids
    return {**base, **fields}


def described(rds, ident: str):
    return rds.describe_db_instances(DBInstanceIdentifier=ident)["DBInstances"][0]


def tags_of(rds, arn: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in rds.list_tags_for_resource(ResourceName=arn)["TagList"]}


def snapshots(rds, ident: str) -> list[str]:
    return [s["DBSnapshotIdentifier"] for s in rds.describe_db_snapshots(DBInstanceIdentifier=ident)["DBSnapshots"]
            if s.get("SnapshotType") != "automated" and not s["DBSnapshotIdentifier"].startswith("rds:")]


def network(cluster: Cluster) -> None:
    cluster.apply("VPC", "net", {"cidrBlock": "10.61.0.0/16"})
    for name, cidr, zone in (("data-a", "10.61.1.0/24", "us-east-1a"), ("data-b", "10.61.2.0/24", "us-east-1b")):
        cluster.apply("Subnet", name, {"vpcRef": {"name": "net"}, "cidrBlock": cidr, "availabilityZone": zone})
    cluster.apply("SecurityGroup", "db", {"vpcRef": {"name": "net"}, "groupName": "db", "description": "database",
                                          "ingress": [{"protocol": "tcp", "fromPort": 5432,
                                                       "cidrBlocks": ["10.61.0.0/16"]}]})
    cluster.apply("KMSKey", "data", {"alias": "rds-test", "deletionPolicy": "Delete", "pendingWindowInDays": 7})


NETWORK = [("VPC", "net"), ("Subnet", "data-a"), ("Subnet", "data-b"), ("SecurityGroup", "db"), ("KMSKey", "data")]


def test_create_update_password_drift_and_delete_with_a_final_snapshot(aws, telemetry, rds, k8s_secrets):
    cluster = Cluster(make_engine(aws, telemetry, read_secret=k8s_secrets))
    first = k8s_secrets.data["db"][0]["password"]
    network(cluster)
    db = spec("orders", subnetRefs=[{"name": "data-a"}, {"name": "data-b"}], securityGroupRefs=[{"name": "db"}],
              kmsKeyRef={"name": "data"}, backupRetentionPeriod=7, preferredBackupWindow="03:00-04:00",
              preferredMaintenanceWindow="sun:05:00-sun:06:00", tags={"team": "shop"})
    cluster.apply("RDSInstance", "orders", db)
    runs = [o for _, o in converge(cluster, [*NETWORK, ("RDSInstance", "orders")])]
    status = dict(cluster.status("RDSInstance", "orders"))
    assert ready_reason(status) == "Available" and status["dbInstanceIdentifier"] == "orders"
    assert status["dbInstanceArn"].endswith(":db:orders") and status["status"] == "available"
    assert status["endpoint"].startswith("orders.") and status["port"] == 5432
    assert status["pendingModifications"] == {} and status["engineVersion"] == "15.4"
    uid = cluster.uid("RDSInstance", "orders")
    instance = described(rds, "orders")
    group = instance["DBSubnetGroup"]
    assert group["DBSubnetGroupName"] == "infra-operator-" + uid.replace("-", "") == status["dbSubnetGroupName"]
    assert sorted(s["SubnetIdentifier"] for s in group["Subnets"]) == sorted(
        cluster.status("Subnet", n)["subnetId"] for n in ("data-a", "data-b"))
    assert [g["VpcSecurityGroupId"] for g in instance["VpcSecurityGroups"]] == [cluster.status("SecurityGroup", "db")["groupId"]]
    assert instance["StorageEncrypted"] and instance["KmsKeyId"] == cluster.status("KMSKey", "data")["arn"]
    assert (instance["BackupRetentionPeriod"], instance["PreferredBackupWindow"]) == (7, "03:00-04:00")
    assert tags_of(rds, status["dbInstanceArn"])[f"{OWNED}owner-uid"] == uid

    # In place: class, storage growth, a minor version, tags; a changed Secret changes the password.
    second = secrets.token_urlsafe(18)
    k8s_secrets.put("db", password=second)
    cluster.apply("RDSInstance", "orders", {**db, "dbInstanceClass": "db.t3.small", "allocatedStorage": 30,
                                            "engineVersion": "15.5", "applyImmediately": True,
                                            "tags": {"team": "orders"}})
    updated = cluster.reconcile("RDSInstance", "orders", trigger="update")
    runs.append(updated)
    assert reasons(updated) == ["Updated"] and "masterUserPassword" in updated.events[0].message
    instance = described(rds, "orders")
    assert (instance["DBInstanceClass"], instance["AllocatedStorage"], instance["EngineVersion"]) == (
        "db.t3.small", 30, "15.5")
    assert tags_of(rds, status["dbInstanceArn"])["team"] == "orders"
    runs.append(cluster.reconcile("RDSInstance", "orders", trigger="resync"))
    assert reasons(runs[-1]) == []

    # Out of band: a public endpoint (critical) and a shorter backup retention (warning), healed.
    rds.modify_db_instance(DBInstanceIdentifier="orders", PubliclyAccessible=True, BackupRetentionPeriod=1,
                           ApplyImmediately=True)
    healed = cluster.reconcile("RDSInstance", "orders", trigger="resync")
    runs.append(healed)
    assert reasons(healed) == ["DriftHealed"]
    instance = described(rds, "orders")
    assert instance["PubliclyAccessible"] is False and instance["BackupRetentionPeriod"] == 7
    never_seen(runs, first, second)

    samples = telemetry.sample_values()
    assert kind_metrics(samples, "RDSInstance") == {
        "drift critical": 1, "drift warning": 1, "healed": 1, "reconcile success": 4, "ready": 1}
    assert calls_of(samples, "RDS", "CreateDBSubnetGroup", "CreateDBInstance", "ModifyDBInstance",
                    "AddTagsToResource") == {"CreateDBSubnetGroup": 1, "CreateDBInstance": 1, "ModifyDBInstance": 2,
                                             "AddTagsToResource": 1}

    # The default policy, Snapshot: a final snapshot named from the object and its UID; the
    # subnet group goes after the instance.
    gone = delete_all(cluster, [("RDSInstance", "orders")])
    assert reasons(gone[-1][1]) == ["Deleted", "Released"]
    assert snapshots(rds, "orders") == [f"final-orders-{uid.replace('-', '')}"]
    assert group["DBSubnetGroupName"] not in [g["DBSubnetGroupName"] for g in rds.describe_db_subnet_groups()["DBSubnetGroups"]]
    samples = telemetry.sample_values()
    assert calls_of(samples, "RDS", "DeleteDBInstance", "DeleteDBSubnetGroup") == {
        "DeleteDBInstance": 1, "DeleteDBSubnetGroup": 1}
    delete_all(cluster, list(reversed(NETWORK)))


@pytest.mark.parametrize("policy, skip, kept", [("Snapshot", False, True), ("Delete", False, True),
                                                ("Delete", True, False)])
def test_each_deletion_policy(cluster, rds, subnets, policy, skip, kept):
    ident = f"policy-{policy.lower()}-{'skip' if skip else 'snap'}"
    cluster.apply("RDSInstance", "db", spec(ident, subnets, deletionPolicy=policy, skipFinalSnapshot=skip,
                                            backupRetentionPeriod=1))
    converge(cluster, [("RDSInstance", "db")])
    uid = cluster.uid("RDSInstance", "db").replace("-", "")
    gone = delete_all(cluster, [("RDSInstance", "db")])
    assert reasons(gone[-1][1]) == ["Deleted", "Released"]
    assert ident not in [i["DBInstanceIdentifier"] for i in rds.describe_db_instances()["DBInstances"]]
    assert snapshots(rds, ident) == ([f"final-db-{uid}"] if kept else [])


def test_retain_leaves_the_instance_and_its_subnet_group_without_our_tags(cluster, rds, subnets):
    cluster.apply("RDSInstance", "kept", spec("retained", subnets, deletionPolicy="Retain", tags={"keep": "me"}))
    status = converge(cluster, [("RDSInstance", "kept")])[-1][1].status
    kept = cluster.delete("RDSInstance", "kept")
    assert kept.retry_after is None and reasons(kept) == ["Retained"]
    instance = described(rds, "retained")
    assert instance["DBInstanceStatus"] == "available" and snapshots(rds, "retained") == []
    assert tags_of(rds, instance["DBInstanceArn"]) == {"keep": "me"}
    group = rds.describe_db_subnet_groups(DBSubnetGroupName=status["dbSubnetGroupName"])["DBSubnetGroups"][0]
    assert not [k for k in tags_of(rds, group["DBSubnetGroupArn"]) if k.startswith(OWNED)]
    rds.delete_db_instance(DBInstanceIdentifier="retained", SkipFinalSnapshot=True)
    rds.delete_db_subnet_group(DBSubnetGroupName=status["dbSubnetGroupName"])


def test_adoption_after_a_crash_makes_no_second_instance_or_group(cluster, rds, subnets):
    before = len(rds.describe_db_subnet_groups()["DBSubnetGroups"])
    check_adoption_after_a_lost_status_write(cluster, "RDSInstance", spec("adopted", subnets, deletionPolicy="Delete",
                                                                          skipFinalSnapshot=True))
    assert len(rds.describe_db_subnet_groups()["DBSubnetGroups"]) == before


def test_a_subnet_group_left_by_a_crash_before_the_instance_is_used_not_made_again(cluster, rds, subnets):
    cluster.apply("RDSInstance", "c", spec("crashed", subnets, deletionPolicy="Delete", skipFinalSnapshot=True))
    name = SubnetGroups.name(cluster.uid("RDSInstance", "c"))
    rds.create_db_subnet_group(DBSubnetGroupName=name, DBSubnetGroupDescription="left by a crash", SubnetIds=subnets)
    groups = len(rds.describe_db_subnet_groups()["DBSubnetGroups"])
    assert converge(cluster, [("RDSInstance", "c")])[-1][1].status["dbSubnetGroupName"] == name
    assert len(rds.describe_db_subnet_groups()["DBSubnetGroups"]) == groups
    assert reasons(delete_all(cluster, [("RDSInstance", "c")])[-1][1]) == ["Deleted", "Released"]
    assert name not in [g["DBSubnetGroupName"] for g in rds.describe_db_subnet_groups()["DBSubnetGroups"]]


def test_a_subnet_change_modifies_the_instance_s_own_group(aws, cluster, calls, subnets):
    """moto's ModifyDBSubnetGroup drops the group, so only the call is checked: one modify of the
    group, no new group, no change of the instance."""
    ec2 = aws.client("ec2")
    vpc = ec2.describe_subnets(SubnetIds=subnets[:1])["Subnets"][0]["VpcId"]
    third = ec2.create_subnet(VpcId=vpc, CidrBlock="10.60.3.0/24", AvailabilityZone="us-east-1c")["Subnet"]["SubnetId"]
    db = spec("moved", subnets, deletionPolicy="Delete", skipFinalSnapshot=True)
    cluster.apply("RDSInstance", "m", db)
    converge(cluster, [("RDSInstance", "m")])
    calls.calls.clear()
    cluster.apply("RDSInstance", "m", {**db, "subnetIds": [subnets[0], third]})
    moved = cluster.reconcile("RDSInstance", "m", trigger="update")
    assert reasons(moved) == ["Updated"] and "subnetIds" in moved.events[0].message
    assert calls.calls["ModifyDBSubnetGroup"] == 1
    assert not {"CreateDBSubnetGroup", "ModifyDBInstance", "CreateDBInstance"} & set(calls.calls)
    delete_all(cluster, [("RDSInstance", "m")])


def test_deletion_protection_holds_until_the_spec_turns_it_off(cluster, rds, subnets):
    db = spec("protected", subnets, deletionProtection=True, deletionPolicy="Delete", skipFinalSnapshot=True)
    cluster.apply("RDSInstance", "p", db)
    converge(cluster, [("RDSInstance", "p")])
    held = cluster.delete("RDSInstance", "p")
    assert ready_reason(held) == "DeletionProtected" and held.retry_after == 300
    assert described(rds, "protected")["DBInstanceStatus"] == "available"
    cluster.bodies[("RDSInstance", "p")]["spec"]["deletionProtection"] = False
    assert reasons(delete_all(cluster, [("RDSInstance", "p")])[-1][1]) == ["Deleted", "Released"]


def test_creating_and_modifying_are_in_progress(aws, cluster, rds, subnets):
    """AWS shows `creating` and then `modifying` for minutes: the engine's in-progress path (no
    error, Ready=False with the status as reason, looked at again later)."""
    aws.faults.rewrite(AVAILABLE, "<DBInstanceStatus>creating</DBInstanceStatus>", service="rds",
                       operation="DescribeDBInstances")
    db = spec("slow", subnets, deletionPolicy="Delete", skipFinalSnapshot=True)
    cluster.apply("RDSInstance", "slow", db)
    creating = cluster.reconcile("RDSInstance", "slow")
    assert ready_reason(creating) == "Creating" and creating.retry_after == 30 and not creating.permanent
    assert cluster.status("RDSInstance", "slow")["status"] == "creating" and reasons(creating) == ["Created"]
    again = cluster.reconcile("RDSInstance", "slow", trigger="resync")
    assert ready_reason(again) == "Creating" and reasons(again) == []
    aws.faults.clear()  # created
    assert ready_reason(cluster.reconcile("RDSInstance", "slow", trigger="resync")) == "Available"

    aws.faults.rewrite(AVAILABLE, "<DBInstanceStatus>backing-up</DBInstanceStatus>", service="rds",
                       operation="DescribeDBInstances")
    cluster.apply("RDSInstance", "slow", {**db, "dbInstanceClass": "db.t3.small", "applyImmediately": True})
    busy = cluster.reconcile("RDSInstance", "slow", trigger="update")  # backing up: the change waits
    assert ready_reason(busy) == "Updating" and busy.retry_after == 30 and reasons(busy) == []
    assert described(rds, "slow")["DBInstanceClass"] == "db.t3.micro"
    aws.faults.clear()
    aws.faults.rewrite(r"<DBInstanceClass>db.t3.small</DBInstanceClass>([\s\S]*?)" + AVAILABLE,
                       r"<DBInstanceClass>db.t3.small</DBInstanceClass>\1<DBInstanceStatus>modifying</DBInstanceStatus>",
                       service="rds", operation="DescribeDBInstances")
    modifying = cluster.reconcile("RDSInstance", "slow", trigger="update")
    assert reasons(modifying) == ["Updated"] and ready_reason(modifying) == "Modifying"
    assert modifying.retry_after == 30 and not modifying.permanent
    aws.faults.clear()  # modified
    assert ready_reason(cluster.reconcile("RDSInstance", "slow", trigger="update")) == "Available"
    assert described(rds, "slow")["DBInstanceClass"] == "db.t3.small"
    delete_all(cluster, [("RDSInstance", "slow")])


def test_a_change_for_the_maintenance_window_is_pending_in_status_not_drift(aws, telemetry, subnets, k8s_secrets):
    """moto applies a deferred change at once; AWS shows the old value and the change under
    PendingModifiedValues until the window: the fault injector shows what AWS shows."""
    cluster = Cluster(make_engine(aws, telemetry, read_secret=k8s_secrets))
    db = spec("pending", subnets, deletionPolicy="Delete", skipFinalSnapshot=True)
    cluster.apply("RDSInstance", "p", db)
    converge(cluster, [("RDSInstance", "p")])
    aws.faults.rewrite(r"<DBInstanceClass>db.t3.large</DBInstanceClass>([\s\S]*?)" + AVAILABLE,
                       r"<DBInstanceClass>db.t3.micro</DBInstanceClass>\1" + AVAILABLE +
                       "<PendingModifiedValues><DBInstanceClass>db.t3.large</DBInstanceClass></PendingModifiedValues>",
                       service="rds", operation="DescribeDBInstances")
    cluster.apply("RDSInstance", "p", {**db, "dbInstanceClass": "db.t3.large"})  # applyImmediately: false
    updated = cluster.reconcile("RDSInstance", "p", trigger="update")
    assert reasons(updated) == ["Updated"] and ready_reason(updated) == "Available"
    assert updated.status["pendingModifications"] == {"dbInstanceClass": "db.t3.large"}
    assert updated.status["dbInstanceClass"] == "db.t3.micro"
    assert reasons(cluster.reconcile("RDSInstance", "p", trigger="resync")) == []
    aws.faults.clear()  # the maintenance window came
    assert cluster.reconcile("RDSInstance", "p", trigger="resync").status["pendingModifications"] == {}
    samples = telemetry.sample_values()
    assert kind_metrics(samples, "RDSInstance") == {"reconcile success": 4, "ready": 1}
    assert calls_of(samples, "RDS", "ModifyDBInstance") == {"ModifyDBInstance": 1}
    delete_all(cluster, [("RDSInstance", "p")])


def test_parameters_waiting_for_a_reboot_are_applied_by_one_only_when_applying_immediately(aws, cluster, calls,
                                                                                            subnets):
    pending = ("<ParameterApplyStatus>in-sync</ParameterApplyStatus>",
               "<ParameterApplyStatus>pending-reboot</ParameterApplyStatus>")
    db = spec("params", subnets, deletionPolicy="Delete", skipFinalSnapshot=True)
    cluster.apply("RDSInstance", "p", db)
    converge(cluster, [("RDSInstance", "p")])
    aws.faults.rewrite(*pending, service="rds", operation="DescribeDBInstances")
    waiting = cluster.reconcile("RDSInstance", "p", trigger="resync")  # the maintenance window's reboot applies them
    assert reasons(waiting) == [] and waiting.status["parameterApplyStatus"] == "pending-reboot"
    cluster.apply("RDSInstance", "p", {**db, "applyImmediately": True})
    aws.faults.clear()
    aws.faults.rewrite(*pending, service="rds", operation="DescribeDBInstances", times=1)
    calls.calls.clear()
    rebooted = cluster.reconcile("RDSInstance", "p", trigger="update")
    assert reasons(rebooted) == ["Updated"] and "parametersApplied" in rebooted.events[0].message
    assert calls.calls["RebootDBInstance"] == 1 and "ModifyDBInstance" not in calls.calls
    assert reasons(cluster.reconcile("RDSInstance", "p", trigger="resync")) == []
    delete_all(cluster, [("RDSInstance", "p")])


def test_storage_never_shrinks_and_a_major_version_needs_allowing(cluster, rds, subnets):
    db = spec("grow", subnets, allocatedStorage=30, deletionPolicy="Delete", skipFinalSnapshot=True)
    cluster.apply("RDSInstance", "g", db)
    converge(cluster, [("RDSInstance", "g")])
    # moto would shrink it: the kind refuses before asking.
    cluster.apply("RDSInstance", "g", {**db, "allocatedStorage": 20})
    shrink = cluster.reconcile("RDSInstance", "g", trigger="update")
    assert ready_reason(shrink) == "StorageShrinkRefused" and shrink.permanent
    assert described(rds, "grow")["AllocatedStorage"] == 30
    cluster.apply("RDSInstance", "g", {**db, "engineVersion": "16.1"})
    major = cluster.reconcile("RDSInstance", "g", trigger="update")
    assert ready_reason(major) == "MajorVersionUpgradeNotAllowed" and major.permanent
    cluster.apply("RDSInstance", "g", {**db, "engineVersion": "14.9"})
    assert ready_reason(cluster.reconcile("RDSInstance", "g", trigger="update")) == "VersionDowngradeRefused"
    assert described(rds, "grow")["EngineVersion"] == "15.4"
    cluster.apply("RDSInstance", "g", {**db, "engineVersion": "16.1", "allowMajorVersionUpgrade": True,
                                       "applyImmediately": True})
    assert reasons(cluster.reconcile("RDSInstance", "g", trigger="update")) == ["Updated"]
    assert described(rds, "grow")["EngineVersion"] == "16.1"
    # The major version alone: AWS's minor upgrades are not drift.
    cluster.apply("RDSInstance", "g", {**db, "engineVersion": "16", "allowMajorVersionUpgrade": True})
    assert reasons(cluster.reconcile("RDSInstance", "g", trigger="update")) == []
    delete_all(cluster, [("RDSInstance", "g")])


def test_secrets_manager_owns_the_password_when_asked(cluster, rds, subnets):
    db = {k: v for k, v in spec("managed", subnets, deletionPolicy="Delete", skipFinalSnapshot=True).items()
          if k != "masterUserPasswordSecretRef"}
    cluster.apply("RDSInstance", "m", {**db, "manageMasterUserPassword": True})
    status = converge(cluster, [("RDSInstance", "m")])[-1][1].status
    assert status["masterUserSecretArn"].startswith("arn:aws:secretsmanager:")
    assert described(rds, "managed")["MasterUserSecret"]["SecretArn"] == status["masterUserSecretArn"]
    delete_all(cluster, [("RDSInstance", "m")])


@pytest.mark.parametrize("fields, reason", [
    ({"masterUserPasswordSecretRef": None}, "InvalidSpec"),  # no password at all
    ({"manageMasterUserPassword": True}, "InvalidSpec"),  # both
    ({"subnetIds": ["subnet-0123abcd"]}, "InvalidSpec"),  # one subnet
    ({"storageEncrypted": False, "kmsKeyId": "alias/data"}, "InvalidSpec"),
    ({"storageType": "gp2", "storageThroughput": 500}, "InvalidSpec"),
    ({"skipFinalSnapshot": True}, "InvalidSpec"),  # with the default policy, Snapshot
    ({"subnetIds": None}, "MissingReference"),
])
def test_invalid_specs_stop_before_any_aws_call(cluster, calls, fields, reason):
    db = {k: v for k, v in {**spec("bad", ["subnet-0123abcd", "subnet-4567abcd"]), **fields}.items() if v is not None}
    check_stopped_before_aws(cluster, calls, "RDSInstance", db, reason)


def test_names_and_versions():
    assert [major_version(e, v) for e, v in (("postgres", "15.4"), ("postgres", "9.6.24"), ("mysql", "8.0.35"),
                                             ("mariadb", "10.11.6"), ("oracle-ee", "19.0.0.0.ru-2024-01"),
                                             ("sqlserver-se", "15.00.4345.5.v1"))] == [
        "15", "9.6", "8.0", "10.11", "19", "15.00"]
    uid = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
    raw = {"DBInstanceIdentifier": "x", "TagList": [{"Key": f"{OWNED}owner", "Value": "ns/orders.db--main"},
                                                    {"Key": f"{OWNED}owner-uid", "Value": uid}]}
    assert final_snapshot_name(raw) == "final-orders-db-main-" + uid.replace("-", "")
