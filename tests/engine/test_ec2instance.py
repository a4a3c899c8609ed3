"""EC2Instance through the engine against moto over HTTP, without kopf: create in a subnet of ours
with security groups, a key pair, user data, volumes and IMDSv2; updates in place; drift healed
with its severity; an instance type change that needs a restart (refused without allowRestart,
else stop, modify, start, answered "in progress" while AWS shows pending or stopping: the AWS
middleware's rewrite shows those states, which moto skips); a stopped instance started again;
Delete, Retain and Stop; adoption and duplicates (moto's ClientToken is not idempotent: the
owner tag finds a second instance); bad input stopped before AWS."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from conftest import (Cluster, calls_of, check_adoption_after_a_lost_status_write, converge, delete_all, kind_metrics,
                      make_engine, ready_reason, reasons)

OWNER_UID = "infra-operator.dev/owner-uid"
KIND = "EC2Instance"
IMAGE = "ami-0f8848d57eb4fe2d2"  # moto's amzn2 (root device /dev/xvda)
STACK = [("VPC", "v"), ("Subnet", "s"), ("SecurityGroup", "web"), ("SecurityGroup", "ssh"), ("EC2KeyPair", "k")]
RUNNING = (r"<code>16</code>(\s*)<name>running</name>", r"<code>0</code>\1<name>pending</name>")
STOPPED = (r"<code>80</code>(\s*)<name>stopped</name>", r"<code>64</code>\1<name>stopping</name>")


def public_key() -> str:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def spec(**more) -> dict:
    # The root volume is always set: without a mapping moto attaches the default root volume at
    # /dev/sda1 whatever the AMI's root device is (/dev/xvda here), where AWS uses the AMI's.
    return {"imageId": IMAGE, "instanceType": "t3.micro", "subnetRef": {"name": "s"},
            "securityGroups": [{"securityGroupRef": {"name": "web"}}], "rootVolume": {"sizeGiB": 8}, **more}


def build_stack(cluster: Cluster, net: int, key_name: str) -> Cluster:
    """A VPC 10.<net>.0.0/16 with a subnet, the security groups web and ssh, the key pair k."""
    cluster.apply("VPC", "v", {"cidrBlock": f"10.{net}.0.0/16"})
    cluster.apply("Subnet", "s", {"vpcRef": {"name": "v"}, "cidrBlock": f"10.{net}.1.0/24"})
    for group in ("web", "ssh"):
        cluster.apply("SecurityGroup", group, {"vpcRef": {"name": "v"}, "groupName": group})
    cluster.apply("EC2KeyPair", "k", {"keyName": key_name, "publicKeyMaterial": public_key()})
    converge(cluster, STACK)
    return cluster


def tear_down(cluster: Cluster) -> None:
    delete_all(cluster, [key for key in cluster.bodies if key[0] == KIND])
    delete_all(cluster, list(reversed(STACK)))


@pytest.fixture
def stack(cluster):
    yield build_stack(cluster, 20, "ops")
    tear_down(cluster)


@pytest.fixture
def live(aws, calls):
    """The stack with a live telemetry, whose metrics a test reads back."""
    from infra_operator.telemetry import TelemetrySettings, setup_telemetry
    telemetry = setup_telemetry(TelemetrySettings())
    cluster = build_stack(Cluster(make_engine(aws, telemetry, calls)), 21, "ops-live")
    yield cluster, telemetry
    tear_down(cluster)
    telemetry.shutdown()


def instance(ec2, ident: str) -> dict:
    return ec2.describe_instances(InstanceIds=[ident])["Reservations"][0]["Instances"][0]


def owned(ec2, uid: str) -> list[str]:
    found = ec2.describe_instances(Filters=[{"Name": f"tag:{OWNER_UID}", "Values": [uid]}])["Reservations"]
    return [i["InstanceId"] for r in found for i in r["Instances"] if i["State"]["Name"] != "terminated"]


def test_create_update_in_place_drift_heal_delete(aws, live):
    (cluster, telemetry), ec2 = live, aws.client("ec2")
    cluster.apply(KIND, "web", spec(keyPairRef={"name": "k"}, userData="#!/bin/sh\necho hello\n",
                                    rootVolume={"sizeGiB": 12, "volumeType": "gp3", "encrypted": True},
                                    volumes=[{"deviceName": "/dev/sdf", "sizeGiB": 20, "volumeType": "gp2"}],
                                    monitoring=True, tags={"team": "web"}))
    # AWS shows a new instance pending for a while (moto does not): in progress, then Ready.
    # (The adoption lookup's DescribeInstances finds nothing to rewrite; the read's is rewritten.)
    aws.faults.rewrite(*RUNNING, "ec2", "DescribeInstances", times=1)
    first = cluster.reconcile(KIND, "web")
    assert reasons(first) == ["Created"] and ready_reason(first) == "Provisioning" and first.retry_after
    ready = cluster.reconcile(KIND, "web", "update")
    status = cluster.status(KIND, "web")
    assert ready_reason(ready) == "Available" and reasons(ready) == []
    ident = status["instanceId"]
    assert status["state"] == "running" and status["instanceType"] == "t3.micro"
    assert status["privateIp"].startswith("10.21.1.") and status["availabilityZone"].startswith("us-east-1")
    assert status["launchTime"].endswith("Z") and status["privateDnsName"]
    got = instance(ec2, ident)
    assert got["SubnetId"] == cluster.status("Subnet", "s")["subnetId"] and got["KeyName"] == "ops-live"
    assert [g["GroupId"] for g in got["SecurityGroups"]] == [cluster.status("SecurityGroup", "web")["groupId"]]
    assert got["MetadataOptions"]["HttpTokens"] == "required" and got["Monitoring"]["State"] == "enabled"
    assert got["ClientToken"] == cluster.uid(KIND, "web").replace("-", "")
    user_data = ec2.describe_instance_attribute(InstanceId=ident, Attribute="userData")["UserData"]["Value"]
    assert base64.b64decode(user_data).decode() == "#!/bin/sh\necho hello\n"
    volumes = {m["DeviceName"]: m["Ebs"]["VolumeId"] for m in got["BlockDeviceMappings"]}
    sizes = {v["VolumeId"]: (v["Size"], v["VolumeType"]) for v in ec2.describe_volumes(
        VolumeIds=list(volumes.values()))["Volumes"]}
    assert sizes[volumes["/dev/xvda"]] == (12, "gp3") and sizes[volumes["/dev/sdf"]] == (20, "gp2")
    assert reasons(cluster.reconcile(KIND, "web", "resync")) == []

    # In place: a second security group, the hop limit, termination protection, volume sizes.
    cluster.apply(KIND, "web", spec(keyPairRef={"name": "k"}, userData="#!/bin/sh\necho hello\n",
                                    securityGroups=[{"securityGroupRef": {"name": "web"}},
                                                    {"securityGroupRef": {"name": "ssh"}}],
                                    rootVolume={"sizeGiB": 16, "volumeType": "gp3", "encrypted": True},
                                    volumes=[{"deviceName": "/dev/sdf", "sizeGiB": 30, "volumeType": "gp3"}],
                                    metadataOptions={"httpPutResponseHopLimit": 1}, terminationProtection=True,
                                    monitoring=True, tags={"team": "web"}))
    updated = cluster.reconcile(KIND, "web", "update")
    assert reasons(updated) == ["Updated"] and ready_reason(updated) == "Available", updated.message
    got = instance(ec2, ident)
    assert len(got["SecurityGroups"]) == 2 and got["MetadataOptions"]["HttpPutResponseHopLimit"] == 1
    assert ec2.describe_instance_attribute(InstanceId=ident, Attribute="disableApiTermination")[
        "DisableApiTermination"]["Value"] is True
    sizes = {v["VolumeId"]: (v["Size"], v["VolumeType"]) for v in ec2.describe_volumes(
        VolumeIds=list(volumes.values()))["Volumes"]}
    assert sizes[volumes["/dev/xvda"]] == (16, "gp3") and sizes[volumes["/dev/sdf"]] == (30, "gp3")

    # Out of band: IMDSv1 allowed again (critical) and a tag changed (info): healed.
    ec2.modify_instance_metadata_options(InstanceId=ident, HttpTokens="optional")
    ec2.create_tags(Resources=[ident], Tags=[{"Key": "team", "Value": "oops"}])
    healed = cluster.reconcile(KIND, "web", "resync")
    assert reasons(healed) == ["DriftHealed"] and ready_reason(healed) == "Available"
    assert instance(ec2, ident)["MetadataOptions"]["HttpTokens"] == "required"

    # Termination protection off again, then deleted (terminated).
    root = {"sizeGiB": 16, "volumeType": "gp3", "encrypted": True}
    cluster.apply(KIND, "web", spec(keyPairRef={"name": "k"}, userData="#!/bin/sh\necho hello\n", monitoring=True,
                                    rootVolume=root, tags={"team": "web"}))
    assert ready_reason(cluster.reconcile(KIND, "web", "update")) == "ReplacementRequired"  # volumes unlisted
    cluster.apply(KIND, "web", spec(keyPairRef={"name": "k"}, userData="#!/bin/sh\necho hello\n", monitoring=True,
                                    rootVolume=root, volumes=[{"deviceName": "/dev/sdf", "sizeGiB": 30}],
                                    tags={"team": "web"}))
    assert reasons(cluster.reconcile(KIND, "web", "update")) == ["Updated"]
    gone = cluster.delete(KIND, "web")
    assert gone.retry_after is None and reasons(gone) == ["Deleted"]
    assert instance(ec2, ident)["State"]["Name"] == "terminated"

    samples = telemetry.sample_values()
    assert kind_metrics(samples, KIND) == {"drift critical": 1, "drift info": 1, "healed": 1,
                                           "reconcile success": 5, "reconcile requeue": 1, "reconcile error": 1}
    assert calls_of(samples, "EC2", "RunInstances", "TerminateInstances", "ModifyInstanceMetadataOptions",
                    "ModifyVolume", "StopInstances") == {
        "RunInstances": 1, "TerminateInstances": 1, "ModifyInstanceMetadataOptions": 3, "ModifyVolume": 2,
        "StopInstances": 0}


def test_an_instance_type_change_needs_allow_restart_then_stops_modifies_and_starts(aws, stack, calls):
    ec2, cluster = aws.client("ec2"), stack
    cluster.apply(KIND, "app", spec())
    converge(cluster, [(KIND, "app")])
    ident = cluster.status(KIND, "app")["instanceId"]
    cluster.apply(KIND, "app", spec(instanceType="t3.small"))
    calls.calls.clear()
    refused = cluster.reconcile(KIND, "app", "update")
    assert ready_reason(refused) == "RestartRequired" and refused.permanent and "allowRestart" in refused.message
    assert calls.calls["StopInstances"] == 0 and instance(ec2, ident)["InstanceType"] == "t3.micro"

    cluster.apply(KIND, "app", spec(instanceType="t3.small", allowRestart=True))
    stopping = cluster.reconcile(KIND, "app", "update")
    assert ready_reason(stopping) == "Updating" and "stopping" in stopping.message and stopping.retry_after
    # AWS takes a while to stop it (moto does not): still in progress, nothing else asked.
    aws.faults.rewrite(*STOPPED, "ec2", "DescribeInstances", times=1)
    waiting = cluster.reconcile(KIND, "app", "update")
    assert ready_reason(waiting) == "Updating" and "stopping" in waiting.message
    # Stopped: the type is changed and the instance started; AWS shows it pending first (the
    # read after the start: the one before it shows no running instance to rewrite).
    aws.faults.rewrite(*RUNNING, "ec2", "DescribeInstances", times=1)
    started = cluster.reconcile(KIND, "app", "update")
    assert reasons(started) == ["Updated"] and ready_reason(started) == "Provisioning"
    done = cluster.reconcile(KIND, "app", "update")
    assert ready_reason(done) == "Available" and done.status["instanceType"] == "t3.small"
    assert (calls.calls["StopInstances"], calls.calls["StartInstances"]) == (1, 1)
    assert instance(ec2, ident)["InstanceType"] == "t3.small" and instance(ec2, ident)["State"]["Name"] == "running"

    # User data changes the same way.
    cluster.apply(KIND, "app", spec(instanceType="t3.small", allowRestart=True, userData="echo changed"))
    outcomes = converge(cluster, [(KIND, "app")])
    assert [ready_reason(o) for _, o in outcomes] == ["Updating", "Available"]
    data = ec2.describe_instance_attribute(InstanceId=ident, Attribute="userData")["UserData"]["Value"]
    assert base64.b64decode(data).decode() == "echo changed"


def test_an_instance_stopped_outside_the_operator_is_started_again_as_critical_drift(aws, live):
    (cluster, telemetry), ec2 = live, aws.client("ec2")
    cluster.apply(KIND, "i", spec())
    converge(cluster, [(KIND, "i")])
    ident = cluster.status(KIND, "i")["instanceId"]
    ec2.stop_instances(InstanceIds=[ident])
    healed = cluster.reconcile(KIND, "i", "resync")
    assert reasons(healed) == ["DriftHealed"] and "state" in healed.events[0].message
    assert instance(ec2, ident)["State"]["Name"] == "running"
    samples = telemetry.sample_values()
    assert kind_metrics(samples, KIND) == {"drift critical": 1, "healed": 1, "reconcile success": 2, "ready": 1}


def test_stop_policy_stops_and_keeps_the_instance_and_retain_keeps_it_running(aws, stack):
    ec2, cluster = aws.client("ec2"), stack
    cluster.apply(KIND, "stopped", spec(deletionPolicy="Stop", tags={"keep": "me"}))
    cluster.apply(KIND, "kept", spec(deletionPolicy="Retain", tags={"keep": "me"}))
    converge(cluster, [(KIND, "stopped"), (KIND, "kept")])
    stopped, kept = (cluster.status(KIND, name)["instanceId"] for name in ("stopped", "kept"))
    for name, ident, state in (("stopped", stopped, "stopped"), ("kept", kept, "running")):
        outcome = cluster.delete(KIND, name)
        assert outcome.retry_after is None and reasons(outcome) == ["Retained"]
        got = instance(ec2, ident)
        assert got["State"]["Name"] == state and {t["Key"]: t["Value"] for t in got["Tags"]} == {"keep": "me"}
    ec2.terminate_instances(InstanceIds=[stopped, kept])


def test_adoption_after_a_lost_status_write(stack):
    check_adoption_after_a_lost_status_write(stack, KIND, spec())


def test_a_second_instance_from_a_retried_create_is_found_by_the_owner_tag_and_deleted(aws, stack):
    """moto's ClientToken is not idempotent (AWS's is): a create retried after a lost answer
    makes a second instance there. The owner tag finds it; the drift check deletes it."""
    ec2, cluster = aws.client("ec2"), stack
    cluster.apply(KIND, "once", spec())
    converge(cluster, [(KIND, "once")])
    uid, ident = cluster.uid(KIND, "once"), cluster.status(KIND, "once")["instanceId"]
    ours = [tag for tag in instance(ec2, ident)["Tags"] if tag["Key"].startswith("infra-operator.dev/")]
    twin = ec2.run_instances(ImageId=IMAGE, MinCount=1, MaxCount=1, SubnetId=instance(ec2, ident)["SubnetId"],
                             ClientToken=uid.replace("-", ""),
                             TagSpecifications=[{"ResourceType": "instance", "Tags": ours}])["Instances"][0]
    assert sorted(owned(ec2, uid)) == sorted([ident, twin["InstanceId"]])
    outcome = cluster.reconcile(KIND, "once", "resync")
    assert "DuplicateDeleted" in reasons(outcome) and owned(ec2, uid) == [ident]


@pytest.mark.parametrize("changes, reason, message", [
    ({"subnetId": None}, "MissingReference", "subnetRef"),
    ({"securityGroups": [{"securityGroupRef": {"name": "web"}, "groupId": "sg-0123abcd"}]}, "ConflictingReference",
     "securityGroupRef"),
    ({"rootVolume": {"sizeGiB": 8, "volumeType": "gp2", "iops": 3000}}, "InvalidVolume", "iops needs"),
    ({"volumes": [{"deviceName": "/dev/sdf", "sizeGiB": 8, "throughput": 250}]}, "InvalidVolume", "throughput needs"),
    ({"tags": {"aws:owner": "me"}}, "InvalidTags", "aws:"),
])
def test_bad_input_is_answered_without_an_aws_call(cluster, calls, changes, reason, message):
    good = {"imageId": IMAGE, "instanceType": "t3.micro", "subnetId": "subnet-0123abcd"}
    cluster.apply(KIND, "bad", {k: v for k, v in {**good, **changes}.items() if v is not None})
    outcome = cluster.reconcile(KIND, "bad")
    assert outcome.permanent and ready_reason(outcome) == reason and message in outcome.message, outcome.message
    assert reasons(outcome) == [reason] and calls.total() == 0


def test_the_instance_profile_by_name_or_arn_is_replaced_in_place(aws, stack):
    ec2, iam, cluster = aws.client("ec2"), aws.client("iam"), stack
    first, second = (iam.create_instance_profile(InstanceProfileName=name)["InstanceProfile"]
                     for name in ("app-a", "app-b"))
    cluster.apply(KIND, "p", spec(iamInstanceProfile="app-a"))
    converge(cluster, [(KIND, "p")])
    ident = cluster.status(KIND, "p")["instanceId"]
    assert instance(ec2, ident)["IamInstanceProfile"]["Arn"] == first["Arn"]
    assert reasons(cluster.reconcile(KIND, "p", "resync")) == []  # a name matches AWS's ARN
    cluster.apply(KIND, "p", spec(iamInstanceProfile=second["Arn"]))
    assert reasons(cluster.reconcile(KIND, "p", "update")) == ["Updated"]
    # moto's DescribeInstances keeps showing the replaced profile (AWS shows the new one); its
    # association is the new one.
    associations = ec2.describe_iam_instance_profile_associations(
        Filters=[{"Name": "instance-id", "Values": [ident]}])["IamInstanceProfileAssociations"]
    assert [a["IamInstanceProfile"]["Arn"] for a in associations] == [second["Arn"]]
