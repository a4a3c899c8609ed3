"""KMSKey through the engine against moto over HTTP, without kopf: create with alias and rotation,
update in place (the alias moves), drift healed by severity, a scheduled deletion that a re-created
object cancels, Retain by default, adoption after a lost status write, bad input without an AWS
call, and the metrics of a whole life."""

from __future__ import annotations

import json

import pytest

from conftest import Cluster, calls_of, converge, kind_metrics, make_engine, ready_reason, reasons, refused

OWNED = "infra-operator.dev/"
POLICY = {"Version": "2012-10-17", "Statement": [
    {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
     "Action": "kms:*", "Resource": "*"}]}


def key_tags(kms, key_id) -> dict[str, str]:
    return {t["TagKey"]: t["TagValue"] for t in kms.list_resource_tags(KeyId=key_id)["Tags"]}


def aliases(kms, key_id) -> list[str]:
    return sorted(a["AliasName"] for a in kms.list_aliases(KeyId=key_id)["Aliases"])


def state(kms, key_id) -> str:
    return kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"]


@pytest.fixture
def kms(aws):
    return aws.client("kms")


def test_create_update_and_delete_with_a_pending_window(cluster, kms):
    cluster.apply("KMSKey", "orders", {"alias": "orders", "description": "orders data", "enableKeyRotation": True,
                                  "deletionPolicy": "Delete", "pendingWindowInDays": 7, "tags": {"team": "a"}})
    created = cluster.reconcile("KMSKey", "orders")
    assert ready_reason(created) == "Available" and reasons(created) == ["Created", "Updated"]
    key_id = created.status["keyId"]
    assert created.status["arn"].endswith(f":key/{key_id}") and created.status["alias"] == "alias/orders"
    assert created.status["keyState"] == "Enabled" and created.status["keyManager"] == "CUSTOMER"
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is True
    assert key_tags(kms, key_id)[f"{OWNED}owner-uid"] == cluster.uid("KMSKey", "orders")
    # The default key policy AWS chose is recorded, so a change made outside is drift.
    assert json.loads(created.status["lateInitialized"]["keyPolicy"])["Statement"]["Effect"] == "Allow"

    cluster.apply("KMSKey", "orders", {"alias": "orders-v2", "description": "orders", "enableKeyRotation": False,
                                  "keyPolicy": json.dumps(POLICY), "deletionPolicy": "Delete",
                                  "pendingWindowInDays": 7, "tags": {"team": "b"}})
    updated = cluster.reconcile("KMSKey", "orders", trigger="update")
    assert reasons(updated) == ["Updated"] and updated.status["alias"] == "alias/orders-v2"
    assert aliases(kms, key_id) == ["alias/orders-v2"]  # moved: the old alias is gone
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["Description"] == "orders"
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is False
    assert json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]) == POLICY
    assert reasons(cluster.reconcile("KMSKey", "orders", trigger="resync")) == []

    deleted = cluster.delete("KMSKey", "orders")
    assert deleted.retry_after is None and reasons(deleted) == ["DeletionScheduled"]
    described = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert described["KeyState"] == "PendingDeletion"
    assert deleted.status["deletionDate"] == described["DeletionDate"].strftime("%Y-%m-%dT%H:%M:%SZ")
    assert deleted.status["keyState"] == "PendingDeletion"


def test_re_creating_the_object_before_the_deletion_date_cancels_it_and_adopts_the_key(cluster, kms):
    spec = {"alias": "billing", "deletionPolicy": "Delete", "pendingWindowInDays": 30}
    cluster.apply("KMSKey", "billing", spec)
    key_id = converge(cluster, [("KMSKey", "billing")])[-1][1].status["keyId"]
    assert reasons(cluster.delete("KMSKey", "billing")) == ["DeletionScheduled"]
    assert state(kms, key_id) == "PendingDeletion"

    cluster.apply("KMSKey", "billing", spec)  # a new object: a new uid, the same namespace and name
    again = cluster.reconcile("KMSKey", "billing")
    assert reasons(again) == ["Adopted", "DeletionCancelled", "Updated"] and again.status["keyId"] == key_id
    assert ready_reason(again) == "Available" and state(kms, key_id) == "Enabled"
    assert key_tags(kms, key_id)[f"{OWNED}owner-uid"] == cluster.uid("KMSKey", "billing")
    assert aliases(kms, key_id) == ["alias/billing"] and not again.status.get("deletionDate")
    cluster.apply("KMSKey", "billing", {**spec, "pendingWindowInDays": 7})
    cluster.delete("KMSKey", "billing")


def test_drift_is_healed_and_counted_by_severity(aws, telemetry, kms):
    cluster = Cluster(make_engine(aws, telemetry))
    cluster.apply("KMSKey", "drifting", {"alias": "drift", "description": "d", "enableKeyRotation": True})
    key_id = converge(cluster, [("KMSKey", "drifting")])[-1][1].status["keyId"]

    kms.disable_key_rotation(KeyId=key_id)  # critical: security
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=json.dumps(  # critical: security
        {"Version": "2012-10-17", "Statement": [{**POLICY["Statement"][0], "Principal": {"AWS": "*"}}]}))
    kms.update_key_description(KeyId=key_id, Description="changed")  # info
    kms.delete_alias(AliasName="alias/drift")  # warning
    healed = cluster.reconcile("KMSKey", "drifting", trigger="resync")
    assert reasons(healed) == ["DriftHealed"] and ready_reason(healed) == "Available"
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is True
    assert aliases(kms, key_id) == ["alias/drift"]
    policy = json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    assert policy["Statement"][0]["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["Description"] == "d"

    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)  # someone scheduled its deletion
    restored = cluster.reconcile("KMSKey", "drifting", trigger="resync")
    assert reasons(restored) == ["DeletionCancelled", "DriftHealed"] and state(kms, key_id) == "Enabled"

    samples = telemetry.sample_values()
    # One heal of the first check; the second cancels the deletion, then enables the key again.
    assert kind_metrics(samples, "KMSKey") == {"drift critical": 2, "drift warning": 1, "drift info": 1,
                                               "healed": 3, "reconcile success": 3, "ready": 1}
    assert calls_of(samples, "KMS", "CreateKey", "CreateAlias", "EnableKeyRotation", "PutKeyPolicy",
                    "CancelKeyDeletion", "EnableKey") == {
        "CreateKey": 1, "CreateAlias": 2, "EnableKeyRotation": 2, "PutKeyPolicy": 1, "CancelKeyDeletion": 1,
        "EnableKey": 1}  # the operator's calls: create, then the heals
    cluster.delete("KMSKey", "drifting")


def test_retain_is_the_default_and_leaves_the_key_without_our_tags(cluster, kms):
    cluster.apply("KMSKey", "kept", {"alias": "kept", "tags": {"keep": "me"}})
    key_id = converge(cluster, [("KMSKey", "kept")])[-1][1].status["keyId"]
    kept = cluster.delete("KMSKey", "kept")
    assert kept.retry_after is None and reasons(kept) == ["Retained"]
    assert state(kms, key_id) == "Enabled" and key_tags(kms, key_id) == {"keep": "me"}
    assert aliases(kms, key_id) == ["alias/kept"]


def test_adoption_after_a_lost_status_write(aws, cluster, kms):
    cluster.apply("KMSKey", "adopted", {"alias": "adopted", "deletionPolicy": "Delete", "pendingWindowInDays": 7})
    key_id = cluster.reconcile("KMSKey", "adopted").status["keyId"]
    cluster.bodies[("KMSKey", "adopted")]["status"] = {}  # the operator died before writing status
    again = cluster.reconcile("KMSKey", "adopted")
    assert reasons(again) == ["Adopted"] and again.status["keyId"] == key_id
    tagged = aws.client("resourcegroupstaggingapi").get_resources(
        ResourceTypeFilters=["kms:key"],
        TagFilters=[{"Key": f"{OWNED}owner-uid", "Values": [cluster.uid("KMSKey", "adopted")]}])["ResourceTagMappingList"]
    assert len(tagged) == 1
    cluster.delete("KMSKey", "adopted")


def test_a_changed_key_spec_needs_replacement(cluster):
    cluster.apply("KMSKey", "replaced", {"deletionPolicy": "Delete", "pendingWindowInDays": 7})
    converge(cluster, [("KMSKey", "replaced")])
    cluster.apply("KMSKey", "replaced", {"keySpec": "RSA_2048", "keyUsage": "SIGN_VERIFY", "deletionPolicy": "Delete",
                                  "pendingWindowInDays": 7})
    refused = cluster.reconcile("KMSKey", "replaced", trigger="update")
    assert ready_reason(refused) == "ReplacementRequired" and refused.permanent
    assert "keyUsage, keySpec" in refused.message
    cluster.delete("KMSKey", "replaced")


def test_an_alias_naming_another_key_is_not_taken(cluster, kms):
    other = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/taken", TargetKeyId=other)
    cluster.apply("KMSKey", "taken", {"alias": "taken", "deletionPolicy": "Delete", "pendingWindowInDays": 7})
    refused = cluster.reconcile("KMSKey", "taken")
    assert ready_reason(refused) == "AliasTaken" and refused.permanent
    assert kms.list_aliases(KeyId=other)["Aliases"][0]["AliasName"] == "alias/taken"
    cluster.delete("KMSKey", "taken")


@pytest.mark.parametrize("spec, message", [
    ({"keySpec": "ECC_NIST_P256", "keyUsage": "ENCRYPT_DECRYPT"}, "keyUsage ENCRYPT_DECRYPT does not fit keySpec"),
    ({"keySpec": "RSA_2048", "keyUsage": "SIGN_VERIFY", "enableKeyRotation": True}, "only for SYMMETRIC_DEFAULT"),
    ({"rotationPeriodInDays": 180}, "rotationPeriodInDays needs enableKeyRotation"),
    ({"alias": "aws/ebs"}, "must not start with aws/"),
    ({"keyPolicy": "{not json"}, "not JSON"),
], ids=["usage-spec", "asymmetric-rotation", "period-without-rotation", "aws-alias", "policy-json"])
def test_bad_input_is_refused_without_an_aws_call(cluster, calls, spec, message):
    reason = "InvalidPolicy" if "keyPolicy" in spec else "InvalidSpec"
    assert refused(cluster, calls, "KMSKey", spec, reason, message).permanent
