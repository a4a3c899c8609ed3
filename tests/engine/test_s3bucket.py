"""S3Bucket against moto: a spec-named kind whose tags replace the whole set after the create (so
its create is recorded on the object first), with sub-configurations read by their own calls."""

from __future__ import annotations

import pytest

from conftest import KINDS, converge, delete_all, ready_reason, reasons
from infra_operator.operator.engine.policies import canonical_policy
from infra_operator.operator.engine.reconciler import PENDING_ANNOTATION

POLICY = {"Version": "2012-10-17", "Statement": [{"Sid": "account-reads", "Effect": "Allow",
                                                 "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                                                 "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::logs-bucket/*"}]}


@pytest.fixture
def s3(aws):
    return aws.client("s3")


def test_create_update_drift_delete_and_force_destroy(cluster, s3):
    key = ("S3Bucket", "logs")
    cluster.apply(*key, {"bucketName": "logs-bucket", "tags": {"team": "a"}, "policy": POLICY,
                         "lifecycleRules": [{"id": "old", "expirationDays": 30}]})
    runs = converge(cluster, [key])
    assert ready_reason(cluster.status(*key)) == "Available" and cluster.status(*key)["arn"] == "arn:aws:s3:::logs-bucket"
    assert PENDING_ANNOTATION not in cluster.bodies[key]["metadata"]["annotations"]
    assert sum(r == "Created" for _, o in runs for r in reasons(o)) == 1
    blocks = s3.get_public_access_block(Bucket="logs-bucket")["PublicAccessBlockConfiguration"]
    assert all(blocks.values())
    rule = s3.get_bucket_encryption(Bucket="logs-bucket")["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket="logs-bucket")["TagSet"]}["team"] == "a"

    # Update in place: versioning on, a second lifecycle rule.
    cluster.apply(*key, {"bucketName": "logs-bucket", "tags": {"team": "a"}, "policy": POLICY, "versioning": True,
                         "lifecycleRules": [{"id": "old", "expirationDays": 30}, {"id": "tmp", "prefix": "tmp/",
                                                                                    "expirationDays": 1}]})
    assert reasons(cluster.reconcile(*key, "update")) == ["Updated"]
    assert s3.get_bucket_versioning(Bucket="logs-bucket")["Status"] == "Enabled"
    assert len(s3.get_bucket_lifecycle_configuration(Bucket="logs-bucket")["Rules"]) == 2

    # Out of band: the public access block lifted and the policy removed: healed (critical).
    s3.delete_public_access_block(Bucket="logs-bucket")
    s3.delete_bucket_policy(Bucket="logs-bucket")
    assert reasons(cluster.reconcile(*key, "resync")) == ["DriftHealed"]
    assert canonical_policy(s3.get_bucket_policy(Bucket="logs-bucket")["Policy"]) == canonical_policy(POLICY)

    # A bucket holding objects is not deleted, and says why; forceDestroy deletes it.
    s3.put_object(Bucket="logs-bucket", Key="a.log", Body=b"x")
    outcome = cluster.delete(*key)
    assert outcome.retry_after and ready_reason(outcome) == "DeletionProtected" and not outcome.permanent
    cluster.apply(*key, {**cluster.bodies[key]["spec"], "forceDestroy": True})
    delete_all(cluster, [key])
    assert "logs-bucket" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_retain_and_adoption_after_a_crash(cluster, s3):
    key = ("S3Bucket", "kept")
    body = cluster.apply(*key, {"bucketName": "kept-bucket", "deletionPolicy": "Retain"})
    cluster.reconcile(*key)  # the create-pending record
    cluster.engine.reconcile(KINDS["S3Bucket"], body, "create", cluster)  # creates; its status write is lost
    assert "Adopted" in reasons(cluster.reconcile(*key))
    converge(cluster, [key])
    delete_all(cluster, [key])
    assert "kept-bucket" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    with pytest.raises(s3.exceptions.ClientError):  # Retain removed our tags, the only ones it had
        s3.get_bucket_tagging(Bucket="kept-bucket")
    s3.delete_bucket(Bucket="kept-bucket")


def test_a_bucket_name_someone_holds_is_name_taken(cluster, s3):
    s3.create_bucket(Bucket="taken-bucket")
    cluster.apply("S3Bucket", "taken", {"bucketName": "taken-bucket"})
    outcome = converge_until_final(cluster, ("S3Bucket", "taken"))
    assert outcome.permanent and ready_reason(outcome) == "NameTaken"
    s3.delete_bucket(Bucket="taken-bucket")


def converge_until_final(cluster, key):
    outcome = cluster.reconcile(*key)
    while outcome.rerun:
        outcome = cluster.reconcile(*key)
    return outcome


@pytest.mark.parametrize("spec,reason", [
    ({"encryption": {"algorithm": "AES256", "kmsKeyId": "alias/x"}}, "InvalidEncryption"),
    ({"lifecycleRules": [{"id": "a", "expirationDays": 1}, {"id": "a", "expirationDays": 2}]}, "InvalidLifecycleRule"),
    ({"policy": {"Version": "2012-10-17"}}, "InvalidPolicy"),
    ({"bucketName": "192.168.10.20"}, "InvalidBucketName"),
])
def test_bad_inputs_are_answered_without_an_aws_call(cluster, calls, spec, reason):
    cluster.apply("S3Bucket", "bad", {"bucketName": "fine-bucket", **spec})
    outcome = cluster.reconcile("S3Bucket", "bad")
    assert outcome.permanent and ready_reason(outcome) == reason and not calls.calls
