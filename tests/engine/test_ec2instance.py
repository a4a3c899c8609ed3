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
            "securityGroupRefs": [{"name": "web"}], "rootVolume": {"sizeGiB": 8}, **more}


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
                                    securityGroupRefs=[{"name": "web"}, {"name": "ssh"}],
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
                                    rootVolume=root, volumes=[{"deviceName": "/dev/sdf", "sizeGiB": 30}],
                                    tags={"team": "web"}))
    assert reasons(cluster.reconcile(KIND, "web", "update")) == ["Updated"]
    gone = cluster.delete(KIND, "web")
    assert gone.retry_after is None and reasons(gone) == ["Deleted"]
    assert instance(ec2, ident)["State"]["Name"] == "terminated"

    samples = telemetry.sample_values()
    assert kind_metrics(samples, KIND) == {"drift critical": 1, "drift info": 1, "healed": 1,
                                           "reconcile success": 5, "reconcile requeue": 1}
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
        assert [tag_map(v) for v in volumes_at(ec2, ident).values()] == [{"keep": "me"}]  # untagged alike
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
    ({"securityGroupIds": ["sg-0123abcd"], "securityGroupRefs": [{"name": "web"}]}, "ConflictingReference",
     "securityGroupRefs"),
    ({"rootVolume": {"sizeGiB": 8, "volumeType": "gp2", "iops": 3000}}, "InvalidVolume", "iops needs"),
    ({"volumes": [{"deviceName": "/dev/sdf", "sizeGiB": 8, "throughput": 250}]}, "InvalidVolume", "throughput needs"),
    ({"volumes": [{"deviceName": "/dev/sdf", "sizeGiB": 8, "kmsKeyId": "1234abcd"}]}, "InvalidVolume",
     "kmsKeyId needs"),
    ({"instanceName": "web", "tags": {f"k{n}": "v" for n in range(46)}}, "InvalidTags", "instanceName"),
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


def volumes_at(ec2, ident: str) -> dict[str, dict]:
    """The instance's volumes by device, each with its DeleteOnTermination."""
    mappings = {m["Ebs"]["VolumeId"]: m for m in instance(ec2, ident)["BlockDeviceMappings"]}
    return {mappings[v["VolumeId"]]["DeviceName"]: {**v, "DeleteOnTermination": mappings[v["VolumeId"]]["Ebs"][
        "DeleteOnTermination"]} for v in ec2.describe_volumes(VolumeIds=sorted(mappings))["Volumes"]}


def tag_map(resource: dict) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resource.get("Tags") or ()}


def test_extra_volumes_are_added_grown_and_removed_as_a_set(aws, live):
    """A volume added is created in the instance's AZ, tagged like it, and attached (AWS's
    attaching is in progress); a change is made in place; one removed is detached and deleted,
    or kept without our tags when its deleteOnTermination is false."""
    (cluster, telemetry), ec2 = live, aws.client("ec2")
    cluster.apply(KIND, "disks", spec(instanceName="disks-1", tags={"team": "data"}))
    converge(cluster, [(KIND, "disks")])
    ident, uid = cluster.status(KIND, "disks")["instanceId"], cluster.uid(KIND, "disks")
    assert tag_map(instance(ec2, ident))["Name"] == "disks-1"
    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    data = {"deviceName": "/dev/sdg", "sizeGiB": 10, "volumeType": "gp3", "encrypted": True, "kmsKeyId": key}
    scratch = {"deviceName": "/dev/sdh", "sizeGiB": 4, "deleteOnTermination": False}
    cluster.apply(KIND, "disks", spec(instanceName="disks-1", tags={"team": "data"}, volumes=[data, scratch]))
    attaching = cluster.reconcile(KIND, "disks", "update")
    assert ready_reason(attaching) == "Updating" and attaching.retry_after, attaching.message
    assert "attaching" in attaching.message and "/dev/sdg" in attaching.message and "/dev/sdh" in attaching.message
    # Attached (moto at once): the next run sets /dev/sdg's DeleteOnTermination (AWS attaches with false).
    assert ready_reason(cluster.reconcile(KIND, "disks", "update")) == "Available"
    got = volumes_at(ec2, ident)
    assert (got["/dev/sdg"]["Size"], got["/dev/sdg"]["Encrypted"], got["/dev/sdg"]["KmsKeyId"]) == (10, True, key)
    assert got["/dev/sdg"]["AvailabilityZone"] == instance(ec2, ident)["Placement"]["AvailabilityZone"]
    assert (got["/dev/sdg"]["DeleteOnTermination"], got["/dev/sdh"]["DeleteOnTermination"]) == (True, False)
    tags = tag_map(got["/dev/sdg"])
    assert tags["team"] == "data" and tags["Name"] == "disks-1" and tags[OWNER_UID] == uid
    assert tags["infra-operator.dev/device"] == "/dev/sdg"
    assert reasons(cluster.reconcile(KIND, "disks", "resync")) == []

    # Grown and made faster in place.
    data.update(sizeGiB=20, iops=4000)
    cluster.apply(KIND, "disks", spec(instanceName="disks-1", tags={"team": "data"}, volumes=[data, scratch]))
    assert reasons(cluster.reconcile(KIND, "disks", "update")) == ["Updated"]
    assert (volumes_at(ec2, ident)["/dev/sdg"]["Size"], volumes_at(ec2, ident)["/dev/sdg"]["Iops"]) == (20, 4000)

    # Both removed: detached (in progress), then /dev/sdg deleted and /dev/sdh left without our tags.
    cluster.apply(KIND, "disks", spec(instanceName="disks-1", tags={"team": "data"}))
    detaching = cluster.reconcile(KIND, "disks", "update")
    assert ready_reason(detaching) == "Updating" and "detaching" in detaching.message, detaching.message
    assert set(volumes_at(ec2, ident)) == {"/dev/xvda"}
    done = cluster.reconcile(KIND, "disks", "update")
    assert reasons(done) == ["Updated"] and ready_reason(done) == "Available", done.message
    kept = ec2.describe_volumes(VolumeIds=[got["/dev/sdh"]["VolumeId"]])["Volumes"][0]
    assert kept["State"] == "available" and tag_map(kept) == {"team": "data", "Name": "disks-1"}
    gone = ec2.describe_volumes(Filters=[{"Name": "volume-id", "Values": [got["/dev/sdg"]["VolumeId"]]}])["Volumes"]
    assert gone == []
    assert reasons(cluster.reconcile(KIND, "disks", "resync")) == []

    samples = telemetry.sample_values()
    assert calls_of(samples, "EC2", "CreateVolume", "AttachVolume", "ModifyVolume", "DetachVolume", "DeleteVolume",
                    "DeleteTags") == {"CreateVolume": 2, "AttachVolume": 2, "ModifyVolume": 1, "DetachVolume": 2,
                                      "DeleteVolume": 1, "DeleteTags": 1}
    assert kind_metrics(samples, KIND) == {"reconcile success": 6, "reconcile requeue": 2, "ready": 1}
    ec2.delete_volume(VolumeId=kept["VolumeId"])


def test_a_volume_created_before_a_crash_is_attached_not_made_again(aws, stack):
    """The run dies between CreateVolume and AttachVolume (here AttachVolume fails): the next run
    finds the volume by its owner and device tags and attaches it. AWS's `creating` (which moto
    skips) is in progress without an attach. Deleted with the instance if never attached."""
    ec2, cluster = aws.client("ec2"), stack
    cluster.apply(KIND, "crash", spec())
    converge(cluster, [(KIND, "crash")])
    ident, uid = cluster.status(KIND, "crash")["instanceId"], cluster.uid(KIND, "crash")
    cluster.apply(KIND, "crash", spec(volumes=[{"deviceName": "/dev/sdf", "sizeGiB": 5}]))
    aws.faults.reject("IncorrectState", "the run stops here", "ec2", "AttachVolume", times=1)
    aws.faults.rewrite(r"<status>available</status>", "<status>creating</status>", "ec2", "CreateVolume", times=1)
    failed = cluster.reconcile(KIND, "crash", "update")
    assert ready_reason(failed) == "Updating" and "is creating" in failed.message, failed.message

    def ours() -> list[dict]:
        return ec2.describe_volumes(Filters=[{"Name": f"tag:{OWNER_UID}", "Values": [uid]},
                                             {"Name": "tag:infra-operator.dev/device", "Values": ["/dev/sdf"]}]
                                    )["Volumes"]

    assert [v["State"] for v in ours()] == ["available"]
    crashed = cluster.reconcile(KIND, "crash", "update")
    assert ready_reason(crashed) != "Available" and "the run stops here" in crashed.message, crashed.message
    converge(cluster, [(KIND, "crash")])
    assert [(v["State"], v["Attachments"][0]["InstanceId"]) for v in ours()] == [("in-use", ident)]
    assert volumes_at(ec2, ident)["/dev/sdf"]["DeleteOnTermination"] is True

    # Never attached when the object goes: deleted with the instance.
    cluster.apply(KIND, "crash", spec(volumes=[{"deviceName": "/dev/sdf", "sizeGiB": 5},
                                               {"deviceName": "/dev/sdg", "sizeGiB": 5}]))
    aws.faults.reject("IncorrectState", "the run stops here", "ec2", "AttachVolume", times=1)
    assert ready_reason(cluster.reconcile(KIND, "crash", "update")) != "Available"
    loose = ec2.describe_volumes(Filters=[{"Name": "tag:infra-operator.dev/device", "Values": ["/dev/sdg"]},
                                          {"Name": f"tag:{OWNER_UID}", "Values": [uid]}])["Volumes"]
    assert [v["State"] for v in loose] == ["available"]
    delete_all(cluster, [(KIND, "crash")])
    assert ec2.describe_volumes(Filters=[{"Name": "volume-id", "Values": [loose[0]["VolumeId"]]}])["Volumes"] == []


def test_a_volume_shrink_is_refused_and_attaching_and_detaching_are_in_progress(aws, stack, calls):
    ec2, cluster = aws.client("ec2"), stack
    cluster.apply(KIND, "small", spec(volumes=[{"deviceName": "/dev/sdf", "sizeGiB": 20}]))
    converge(cluster, [(KIND, "small")])
    ident = cluster.status(KIND, "small")["instanceId"]
    cluster.apply(KIND, "small", spec(volumes=[{"deviceName": "/dev/sdf", "sizeGiB": 10, "volumeType": "gp3"}]))
    calls.calls.clear()
    refused = cluster.reconcile(KIND, "small", "update")
    assert ready_reason(refused) == "VolumeShrinkRefused" and refused.permanent, refused.message
    assert "/dev/sdf (20 GiB to 10)" in refused.message and reasons(refused) == ["VolumeShrinkRefused"]
    assert calls.calls["ModifyVolume"] == 0 and volumes_at(ec2, ident)["/dev/sdf"]["Size"] == 20
    # AWS shows a volume attaching for a while (moto attaches at once): in progress until attached.
    cluster.apply(KIND, "small", spec(volumes=[{"deviceName": "/dev/sdf", "sizeGiB": 20}]))
    aws.faults.rewrite(r"<status>attached</status>", "<status>attaching</status>", "ec2", "DescribeInstances",
                       times=1)
    attaching = cluster.reconcile(KIND, "small", "update")
    assert ready_reason(attaching) == "Provisioning" and "attaching" in attaching.message, attaching.message
    assert ready_reason(cluster.reconcile(KIND, "small", "update")) == "Available"
    # Removed while AWS shows it detaching already (moto detaches at once): waited for, not detached again.
    removed = volumes_at(ec2, ident)["/dev/sdf"]["VolumeId"]
    cluster.apply(KIND, "small", spec())
    aws.faults.rewrite(r"<status>attached</status>", "<status>detaching</status>", "ec2", "DescribeInstances",
                       times=1)
    calls.calls.clear()
    detaching = cluster.reconcile(KIND, "small", "update")
    assert ready_reason(detaching) == "Updating" and f"{removed} is detaching" in detaching.message, detaching.message
    assert calls.calls["DetachVolume"] == 0
    converge(cluster, [(KIND, "small")])
    assert calls.calls["DetachVolume"] == 1 and calls.calls["DeleteVolume"] == 1 and set(volumes_at(ec2, ident)) == {
        "/dev/xvda"}


def test_console_output_in_status_on_request(aws, stack, calls):
    ec2, cluster = aws.client("ec2"), stack
    cluster.apply(KIND, "con", spec(enableConsoleOutput=True))
    converge(cluster, [(KIND, "con")])
    status = cluster.status(KIND, "con")
    assert status["consoleOutput"].splitlines()[-1] == "Enabling fast FPU save and restore... done."
    assert status["consoleOutputTime"].endswith("Z")
    # Off again; the Name tag from instanceName gives way to one in tags.
    cluster.apply(KIND, "con", spec(instanceName="from-name", tags={"Name": "from-tags"}))
    calls.calls.clear()
    off = cluster.reconcile(KIND, "con", "update")
    assert off.status["consoleOutput"] is None and calls.calls["GetConsoleOutput"] == 0
    assert tag_map(instance(ec2, status["instanceId"]))["Name"] == "from-tags"


def test_console_tail_keeps_the_last_lines_cut_and_redacts_credentials():
    from infra_operator.operator.services.ec2_instances import CONSOLE_LINE_CHARS, CONSOLE_LINES, console_tail
    text = "\n".join([f"line {n}" for n in range(40)] + [
        "\x1b[32m[  OK  ]\x1b[0m Started nginx.", "x" * 500, "export DB_PASSWORD=hunter2",
        "AKIAABCDEFGHIJKLMNOP", "-----BEGIN OPENSSH PRIVATE KEY-----", "b3BlbnNzaC1rZXk",
        "-----END OPENSSH PRIVATE KEY-----",
        "cloud-init finished"])
    tail = console_tail(base64.b64encode(text.encode()).decode()).splitlines()
    assert len(tail) == CONSOLE_LINES and tail[-1] == "cloud-init finished"
    assert "[  OK  ] Started nginx." in tail and "x" * CONSOLE_LINE_CHARS in tail
    assert not any(word in line for line in tail for word in ("hunter2", "AKIA", "b3BlbnNzaC1rZXk", "PRIVATE"))
    assert sum(line.startswith("[line redacted") for line in tail) == 5
    assert console_tail("plain text as moto answers") == "plain text as moto answers"
    assert console_tail(None) is None
