"""ECRRepository through the engine against moto over HTTP, without kopf: create → Ready with
its URI, updates in place (mutability, scanning, policies as JSON compared canonically), drift
healed with its severity, encryption with our KMS key (fixed at creation: ReplacementRequired),
a repository with images kept unless forceDelete, Retain, adoption by name after a crash, a name
someone else holds, and bad input stopped before AWS."""

from __future__ import annotations

import json

import pytest

from conftest import (Cluster, calls_of, check_adoption_after_a_lost_status_write, check_name_taken, check_retain,
                      check_stopped_before_aws, converge, delete_all, kind_metrics, make_engine, ready_reason,
                      reasons)

OWNER_UID = "infra-operator.dev/owner-uid"
LIFECYCLE = {"rules": [{"rulePriority": 1, "description": "expire untagged",
                        "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days",
                                      "countNumber": 14}, "action": {"type": "expire"}}]}
LIFECYCLE_TWO = {"rules": [LIFECYCLE["rules"][0], {
    "rulePriority": 2, "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 100},
    "action": {"type": "expire"}}]}
POLICY = {"Version": "2012-10-17", "Statement": [{"Sid": "pull", "Effect": "Allow",
                                                  "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                                                  "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]}]}
# The same policy as AWS may hand it back: keys reordered, list order changed.
POLICY_REORDERED = {"Statement": [{"Action": ["ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
                                   "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Effect": "Allow",
                                   "Sid": "pull"}], "Version": "2012-10-17"}
MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                       "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 7023,
                                  "digest": "sha256:" + "a" * 64},
                       "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 32654,
                                   "digest": "sha256:" + "b" * 64}]})


@pytest.fixture
def ecr(aws):
    return aws.client("ecr")


def describe(ecr, name: str) -> dict:
    return ecr.describe_repositories(repositoryNames=[name])["repositories"][0]


def repo_tags(ecr, name: str) -> dict[str, str]:
    arn = describe(ecr, name)["repositoryArn"]
    return {t["Key"]: t["Value"] for t in ecr.list_tags_for_resource(resourceArn=arn)["tags"]}


def exists(ecr, name: str) -> bool:
    try:
        describe(ecr, name)
        return True
    except ecr.exceptions.RepositoryNotFoundException:
        return False


def lifecycle(ecr, name: str) -> dict:
    return json.loads(ecr.get_lifecycle_policy(repositoryName=name)["lifecyclePolicyText"])


def test_create_update_drift_heal_delete(aws, telemetry, ecr):
    cluster = Cluster(make_engine(aws, telemetry))
    spec = {"repositoryName": "shop/api", "scanOnPush": True, "lifecyclePolicy": json.dumps(LIFECYCLE),
            "tags": {"team": "shop"}}
    cluster.apply("ECRRepository", "api", spec)
    created = converge(cluster, [("ECRRepository", "api")])[-1][1]
    status = created.status
    assert ready_reason(created) == "Available" and status["repositoryName"] == "shop/api"
    assert status["repositoryUri"].endswith("/shop/api") and status["repositoryArn"].endswith(":repository/shop/api")
    assert status["registryId"] == "123456789012" and status["imageCount"] == 0 and status["createdAt"]
    now = describe(ecr, "shop/api")
    assert now["imageScanningConfiguration"]["scanOnPush"] is True and now["imageTagMutability"] == "MUTABLE"
    assert now["encryptionConfiguration"]["encryptionType"] == "AES256"
    assert lifecycle(ecr, "shop/api") == LIFECYCLE
    assert repo_tags(ecr, "shop/api")["team"] == "shop"
    assert repo_tags(ecr, "shop/api")[OWNER_UID] == cluster.uid("ECRRepository", "api")

    # Update in place: mutability, scanning, a second lifecycle rule, a repository policy, tags.
    cluster.apply("ECRRepository", "api", {**spec, "imageTagMutability": "IMMUTABLE", "scanOnPush": False,
                                           "lifecyclePolicy": json.dumps(LIFECYCLE_TWO),
                                           "repositoryPolicy": json.dumps(POLICY), "tags": {"team": "platform"}})
    updated = cluster.reconcile("ECRRepository", "api", "update")
    assert reasons(updated) == ["Updated"] and ready_reason(updated) == "Available"
    now = describe(ecr, "shop/api")
    assert now["imageTagMutability"] == "IMMUTABLE" and now["imageScanningConfiguration"]["scanOnPush"] is False
    assert lifecycle(ecr, "shop/api") == LIFECYCLE_TWO and repo_tags(ecr, "shop/api")["team"] == "platform"
    assert json.loads(ecr.get_repository_policy(repositoryName="shop/api")["policyText"]) == POLICY
    assert reasons(cluster.reconcile("ECRRepository", "api", "resync")) == []

    # The same policy in another spelling is not drift.
    ecr.set_repository_policy(repositoryName="shop/api", policyText=json.dumps(POLICY_REORDERED))
    assert reasons(cluster.reconcile("ECRRepository", "api", "resync")) == []
    # Out of band: the policy removed (critical), tags made mutable and a rule dropped (warning).
    ecr.delete_repository_policy(repositoryName="shop/api")
    ecr.put_image_tag_mutability(repositoryName="shop/api", imageTagMutability="MUTABLE")
    ecr.put_lifecycle_policy(repositoryName="shop/api", lifecyclePolicyText=json.dumps(LIFECYCLE))
    healed = cluster.reconcile("ECRRepository", "api", "resync")
    assert reasons(healed) == ["DriftHealed"] and ready_reason(healed) == "Available"
    assert "repositoryPolicy" in healed.events[0].message and "imageTagMutability" in healed.events[0].message
    assert json.loads(ecr.get_repository_policy(repositoryName="shop/api")["policyText"]) == POLICY
    assert describe(ecr, "shop/api")["imageTagMutability"] == "IMMUTABLE"
    assert lifecycle(ecr, "shop/api") == LIFECYCLE_TWO

    # Removing the policies from the spec removes them from the repository.
    cluster.apply("ECRRepository", "api", {"repositoryName": "shop/api", "imageTagMutability": "IMMUTABLE"})
    assert reasons(cluster.reconcile("ECRRepository", "api", "update")) == ["Updated"]
    with pytest.raises(ecr.exceptions.RepositoryPolicyNotFoundException):
        ecr.get_repository_policy(repositoryName="shop/api")
    with pytest.raises(ecr.exceptions.LifecyclePolicyNotFoundException):
        ecr.get_lifecycle_policy(repositoryName="shop/api")

    gone = cluster.delete("ECRRepository", "api")
    assert gone.retry_after is None and reasons(gone) == ["Deleted"] and not exists(ecr, "shop/api")
    samples = telemetry.sample_values()
    # One drift check found a critical and two warning fields: one detection per severity.
    assert kind_metrics(samples, "ECRRepository") == {"drift critical": 1, "drift warning": 1, "healed": 1,
                                                      "reconcile success": 6}
    assert calls_of(samples, "ECR", "CreateRepository", "PutLifecyclePolicy", "SetRepositoryPolicy",
                    "PutImageTagMutability", "PutImageScanningConfiguration", "DeleteRepositoryPolicy",
                    "DeleteLifecyclePolicy", "DeleteRepository") == {
        # The test's own out-of-band calls are made with another client and not counted.
        "CreateRepository": 1, "PutLifecyclePolicy": 3, "SetRepositoryPolicy": 2, "PutImageTagMutability": 2,
        "PutImageScanningConfiguration": 1, "DeleteRepositoryPolicy": 1, "DeleteLifecyclePolicy": 1,
        "DeleteRepository": 1}


def test_a_repository_with_images_is_kept_unless_force_delete(ecr, cluster):
    cluster.apply("ECRRepository", "images", {"repositoryName": "with-images"})
    converge(cluster, [("ECRRepository", "images")])
    ecr.put_image(repositoryName="with-images", imageManifest=MANIFEST, imageTag="v1")
    assert cluster.reconcile("ECRRepository", "images", "resync").status["imageCount"] == 1

    refused = cluster.delete("ECRRepository", "images")
    assert ready_reason(refused) == "DeletionProtected" and refused.retry_after and not refused.permanent
    assert "RepositoryNotEmptyException" in refused.message and exists(ecr, "with-images")

    cluster.apply("ECRRepository", "images", {"repositoryName": "with-images", "forceDelete": True})
    gone = cluster.delete("ECRRepository", "images")
    assert gone.retry_after is None and reasons(gone) == ["Deleted"] and not exists(ecr, "with-images")


def test_encryption_with_our_kms_key_is_fixed_at_creation(aws, ecr, cluster):
    cluster.apply("KMSKey", "images", {"alias": "images", "deletionPolicy": "Delete", "pendingWindowInDays": 7})
    spec = {"repositoryName": "sealed", "encryptionConfiguration": {"encryptionType": "KMS",
                                                                    "kmsKeyRef": {"name": "images"}}}
    cluster.apply("ECRRepository", "sealed", spec)
    waiting = cluster.reconcile("ECRRepository", "sealed")
    assert ready_reason(waiting) == "DependencyNotReady"
    converge(cluster, [("KMSKey", "images"), ("ECRRepository", "sealed")])
    key_arn = cluster.status("KMSKey", "images")["arn"]
    encryption = describe(ecr, "sealed")["encryptionConfiguration"]
    assert encryption == {"encryptionType": "KMS", "kmsKey": key_arn}
    assert reasons(cluster.reconcile("ECRRepository", "sealed", "resync")) == []

    cluster.apply("ECRRepository", "sealed", {"repositoryName": "sealed"})  # back to AES256: not in place
    replaced = cluster.reconcile("ECRRepository", "sealed", "update")
    assert ready_reason(replaced) == "ReplacementRequired" and "encryptionType" in replaced.message
    assert describe(ecr, "sealed")["encryptionConfiguration"]["encryptionType"] == "KMS"
    delete_all(cluster, [("ECRRepository", "sealed"), ("KMSKey", "images")])


def test_retain_leaves_the_repository_without_our_tags(ecr, cluster):
    name = check_retain(cluster, "ECRRepository", {"repositoryName": "kept"}, lambda s: repo_tags(ecr, "kept"))
    assert exists(ecr, name)
    ecr.delete_repository(repositoryName=name)


def test_adoption_after_a_lost_status_write(cluster):
    check_adoption_after_a_lost_status_write(cluster, "ECRRepository", {"repositoryName": "adopted"})


def test_a_name_someone_else_holds_is_not_taken_over(ecr, cluster):
    ecr.create_repository(repositoryName="theirs", tags=[{"Key": "owner", "Value": "them"}])
    check_name_taken(cluster, "ECRRepository", {"repositoryName": "theirs"})
    assert repo_tags(ecr, "theirs") == {"owner": "them"}
    ecr.delete_repository(repositoryName="theirs")


@pytest.mark.parametrize("spec, reason", [
    ({"encryptionConfiguration": {"encryptionType": "AES256",
                                  "kmsKey": "arn:aws:kms:us-east-1:123456789012:key/abc"}}, "InvalidSpec"),
    ({"encryptionConfiguration": {"kmsKeyRef": {"name": "k"}}}, "InvalidSpec"),
    ({"lifecyclePolicy": "{rules: []"}, "InvalidPolicy"),
    ({"lifecyclePolicy": json.dumps({"rules": []})}, "InvalidPolicy"),
    ({"repositoryPolicy": "not json"}, "InvalidPolicy"),
])
def test_invalid_specs_stop_before_any_aws_call(cluster, calls, spec, reason):
    check_stopped_before_aws(cluster, calls, "ECRRepository", {"repositoryName": "bad", **spec}, reason)
