"""SecretsManagerSecret through the engine against moto over HTTP, without kopf: a value built from
Kubernetes Secret keys (JSON object, string, binary) and encrypted with a KMSKey of ours, a changed
Secret written as a new version, a value changed in AWS healed as critical drift, replicas, rotation,
a recovery window that a re-created object cancels, forced deletion, Retain, adoption, bad input.
The values never appear in an outcome: status, events, messages."""

from __future__ import annotations

import io
import json
import secrets
import urllib.request
import zipfile

import pytest

from conftest import (Cluster, Secrets, calls_of, converge, kind_metrics, make_engine, never_seen, ready_reason, reasons,
                      refused)

OWNED = "infra-operator.dev/"


@pytest.fixture
def sm(aws):
    return aws.client("secretsmanager")


@pytest.fixture
def rotation_lambda(aws) -> str:
    """A rotation function's ARN. moto invokes it when rotation starts; its Docker-less Lambda
    (a moto setting) answers without running code."""
    urllib.request.urlopen(urllib.request.Request(f"{aws.endpoint}/moto-api/config", method="POST",
                                                  data=json.dumps({"lambda": {"use_docker": False}}).encode()))
    role = aws.client("iam").create_role(RoleName=f"rotation-{secrets.token_hex(4)}",
                                         AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("rotate.py", "def handler(event, context):\n    return None\n")
    return aws.client("lambda").create_function(
        FunctionName=f"rotate-{secrets.token_hex(4)}", Runtime="python3.12", Role=role, Handler="rotate.handler",
        Code={"ZipFile": code.getvalue()})["FunctionArn"]


def current(sm, name: str) -> str:
    return sm.get_secret_value(SecretId=name)["SecretString"]


def test_create_from_secret_keys_encrypted_with_our_key_update_and_heal(aws, cluster, sm, k8s_secrets):
    password, changed_password = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    k8s_secrets.put("db", username="app", password=password, other="not-included")
    cluster.apply("KMSKey", "key", {"alias": "secrets-test", "deletionPolicy": "Delete", "pendingWindowInDays": 7})
    spec = {"secretName": "app/db", "description": "db", "kmsKeyRef": {"name": "key"},
            "secretJsonRef": {"name": "db", "keys": ["username", "password"]},
            "replicaRegions": [{"region": "us-west-2"}], "tags": {"team": "a"}}
    cluster.apply("SecretsManagerSecret", "db", spec)
    runs = [o for _, o in converge(cluster, [("KMSKey", "key"), ("SecretsManagerSecret", "db")])]
    status = dict(cluster.status("SecretsManagerSecret", "db"))
    assert ready_reason(status) == "Available" and status["secretName"] == "app/db"
    assert status["arn"].startswith("arn:aws:secretsmanager:") and status["versionId"]
    assert json.loads(current(sm, "app/db")) == {"username": "app", "password": password}
    described = sm.describe_secret(SecretId="app/db")
    assert described["KmsKeyId"] == cluster.status("KMSKey", "key")["keyId"]
    assert [r["Region"] for r in described["ReplicationStatus"]] == ["us-west-2"]
    assert {t["Key"]: t["Value"] for t in described["Tags"]}[f"{OWNED}owner-uid"] == cluster.uid(
        "SecretsManagerSecret", "db")

    k8s_secrets.put("db", username="app", password=changed_password)  # the watch reconciles the object
    cluster.apply("SecretsManagerSecret", "db", {**spec, "description": "database",
                                                  "replicaRegions": [{"region": "eu-west-1"}]})
    updated = cluster.reconcile("SecretsManagerSecret", "db", trigger="update")
    runs.append(updated)
    assert reasons(updated) == ["Updated"] and "secretJson" in updated.events[0].message
    assert json.loads(current(sm, "app/db"))["password"] == changed_password
    assert updated.status["versionId"] != status["versionId"]
    described = sm.describe_secret(SecretId="app/db")
    assert described["Description"] == "database"
    assert [r["Region"] for r in described["ReplicationStatus"]] == ["eu-west-1"]
    runs.append(cluster.reconcile("SecretsManagerSecret", "db", trigger="resync"))
    assert reasons(runs[-1]) == []

    sm.put_secret_value(SecretId="app/db", SecretString=json.dumps({"username": "app", "password": "evil"}))
    healed = cluster.reconcile("SecretsManagerSecret", "db", trigger="resync")
    runs.append(healed)
    assert reasons(healed) == ["DriftHealed"] and "secretJson" in healed.events[0].message
    assert json.loads(current(sm, "app/db"))["password"] == changed_password
    never_seen(runs, password, changed_password)
    cluster.apply("SecretsManagerSecret", "db", {**spec, "forceDeleteWithoutRecovery": True})
    cluster.delete("SecretsManagerSecret", "db")
    cluster.delete("KMSKey", "key")


def test_drift_is_counted_critical_for_the_value_and_info_for_the_description(aws, telemetry, sm, k8s_secrets):
    cluster = Cluster(make_engine(aws, telemetry, read_secret=k8s_secrets))
    k8s_secrets.put("token", value="t0k3n-value")
    cluster.apply("SecretsManagerSecret", "t", {"secretName": "drift/token", "description": "d",
                                                "secretStringRef": {"name": "token", "key": "value"},
                                                "forceDeleteWithoutRecovery": True})
    converge(cluster, [("SecretsManagerSecret", "t")])
    sm.put_secret_value(SecretId="drift/token", SecretString="changed")
    sm.update_secret(SecretId="drift/token", Description="changed")
    assert reasons(cluster.reconcile("SecretsManagerSecret", "t", trigger="resync")) == ["DriftHealed"]
    assert current(sm, "drift/token") == "t0k3n-value"
    assert sm.describe_secret(SecretId="drift/token")["Description"] == "d"
    samples = telemetry.sample_values()
    assert kind_metrics(samples, "SecretsManagerSecret") == {
        "drift critical": 1, "drift info": 1, "healed": 1, "reconcile success": 2, "ready": 1}
    assert calls_of(samples, "SecretsManager", "CreateSecret", "PutSecretValue", "UpdateSecret") == {
        "CreateSecret": 1, "PutSecretValue": 1, "UpdateSecret": 1}  # the operator's: create, then the heal
    cluster.delete("SecretsManagerSecret", "t")
    assert calls_of(telemetry.sample_values(), "SecretsManager", "DeleteSecret") == {"DeleteSecret": 1}


def test_a_binary_value_is_written_as_bytes(cluster, sm, k8s_secrets):
    raw = bytes(range(256))
    k8s_secrets.put("blob", key=raw.decode("utf-8", "surrogateescape"))  # as the Secret reader decodes it
    cluster.apply("SecretsManagerSecret", "b", {"secretName": "bin/blob", "secretBinaryRef": {"name": "blob", "key": "key"},
                                                "forceDeleteWithoutRecovery": True})
    assert ready_reason(cluster.reconcile("SecretsManagerSecret", "b")) == "Available"
    assert sm.get_secret_value(SecretId="bin/blob")["SecretBinary"] == raw
    assert reasons(cluster.reconcile("SecretsManagerSecret", "b", trigger="resync")) == []
    assert reasons(cluster.delete("SecretsManagerSecret", "b")) == ["Deleted"]


def test_deletion_waits_out_the_recovery_window_and_re_creating_the_object_restores_the_secret(cluster, sm,
                                                                                             k8s_secrets):
    k8s_secrets.put("api", value="first")
    spec = {"secretName": "app/api", "secretStringRef": {"name": "api", "key": "value"}, "recoveryWindowInDays": 7,
            "replicaRegions": [{"region": "us-west-2"}]}
    cluster.apply("SecretsManagerSecret", "api", spec)
    arn = converge(cluster, [("SecretsManagerSecret", "api")])[-1][1].status["arn"]
    deleted = cluster.delete("SecretsManagerSecret", "api")
    assert deleted.retry_after is None and reasons(deleted) == ["DeletionScheduled"]
    assert deleted.status["deletedDate"] and sm.describe_secret(SecretId="app/api").get("DeletedDate")

    cluster.apply("SecretsManagerSecret", "api", spec)  # a new object of the same name
    again = cluster.reconcile("SecretsManagerSecret", "api")
    assert reasons(again)[:2] == ["Adopted", "DeletionCancelled"] and ready_reason(again) == "Available"
    described = sm.describe_secret(SecretId="app/api")
    assert not described.get("DeletedDate") and again.status["arn"] == arn
    assert [r["Region"] for r in described["ReplicationStatus"]] == ["us-west-2"]
    assert current(sm, "app/api") == "first"

    cluster.apply("SecretsManagerSecret", "api", {**spec, "recoveryWindowInDays": None,
                                                  "forceDeleteWithoutRecovery": True})
    assert reasons(cluster.delete("SecretsManagerSecret", "api")) == ["Deleted"]
    assert "app/api" not in [s["Name"] for s in sm.list_secrets(IncludePlannedDeletion=True)["SecretList"]]


def test_rotation_with_a_lambda_function(aws, cluster, sm, k8s_secrets, rotation_lambda):
    k8s_secrets.put("rot", value="rotate-me")
    spec = {"secretName": "app/rotated", "secretStringRef": {"name": "rot", "key": "value"},
            "forceDeleteWithoutRecovery": True}
    cluster.apply("SecretsManagerSecret", "r", spec)
    converge(cluster, [("SecretsManagerSecret", "r")])
    cluster.apply("SecretsManagerSecret", "r", {**spec, "rotationEnabled": True, "rotationLambdaArn": rotation_lambda,
                                                "automaticallyAfterDays": 30})
    rotated = cluster.reconcile("SecretsManagerSecret", "r", trigger="update")
    assert reasons(rotated) == ["Updated"] and rotated.status["rotationEnabled"] is True
    described = sm.describe_secret(SecretId="app/rotated")
    assert described["RotationLambdaARN"] == rotation_lambda
    assert described["RotationRules"]["AutomaticallyAfterDays"] == 30
    assert reasons(cluster.reconcile("SecretsManagerSecret", "r", trigger="resync")) == []
    cluster.apply("SecretsManagerSecret", "r", spec)
    stopped = cluster.reconcile("SecretsManagerSecret", "r", trigger="update")
    assert reasons(stopped) == ["Updated"] and stopped.status["rotationEnabled"] is False
    cluster.delete("SecretsManagerSecret", "r")


def test_retain_leaves_the_secret_without_our_tags(cluster, sm, k8s_secrets):
    k8s_secrets.put("kept", value="v")
    cluster.apply("SecretsManagerSecret", "k", {"secretName": "app/kept", "deletionPolicy": "Retain",
                                                "secretStringRef": {"name": "kept", "key": "value"},
                                                "tags": {"keep": "me"}})
    converge(cluster, [("SecretsManagerSecret", "k")])
    assert reasons(cluster.delete("SecretsManagerSecret", "k")) == ["Retained"]
    described = sm.describe_secret(SecretId="app/kept")
    assert {t["Key"]: t["Value"] for t in described["Tags"]} == {"keep": "me"} and not described.get("DeletedDate")


def test_adoption_after_a_lost_status_write_and_a_name_taken_by_another_secret(cluster, sm, k8s_secrets):
    k8s_secrets.put("a", value="v")
    spec = {"secretName": "app/adopted", "secretStringRef": {"name": "a", "key": "value"},
            "forceDeleteWithoutRecovery": True}
    cluster.apply("SecretsManagerSecret", "a", spec)
    arn = cluster.reconcile("SecretsManagerSecret", "a").status["arn"]
    cluster.bodies[("SecretsManagerSecret", "a")]["status"] = {}  # the operator died before writing status
    again = cluster.reconcile("SecretsManagerSecret", "a")
    assert reasons(again) == ["Adopted"] and again.status["arn"] == arn

    sm.create_secret(Name="app/someone-elses", SecretString="theirs")
    cluster.apply("SecretsManagerSecret", "other", {**spec, "secretName": "app/someone-elses"})
    taken = cluster.reconcile("SecretsManagerSecret", "other")
    assert ready_reason(taken) == "NameTaken" and taken.permanent and current(sm, "app/someone-elses") == "theirs"
    cluster.delete("SecretsManagerSecret", "a")


@pytest.mark.parametrize("spec, reason, message", [
    ({"secretStringRef": {"name": "s", "key": "v"}, "secretJsonRef": {"name": "s"}}, "InvalidSpec",
     "exactly one of secretStringRef"),
    ({"secretStringRef": {"name": "s", "key": "v"}, "rotationEnabled": True}, "InvalidSpec",
     "rotationEnabled needs rotationLambdaArn"),
    ({"secretStringRef": {"name": "s", "key": "v"}, "forceDeleteWithoutRecovery": True, "recoveryWindowInDays": 7},
     "InvalidSpec", "forceDeleteWithoutRecovery deletes at once"),
    ({"secretStringRef": {"name": "s", "key": "binary"}}, "InvalidSecret", "is not UTF-8 text"),
    ({"secretStringRef": {"name": "missing", "key": "v"}}, "SecretNotFound", "Secret missing"),
    ({"secretJsonRef": {"name": "s", "keys": ["v", "nope"]}}, "SecretNotFound", "has no key 'nope'"),
], ids=["two-values", "rotation-without-lambda", "force-and-window", "binary-as-string", "missing-secret",
        "missing-key"])
def test_bad_input_is_answered_without_an_aws_call(cluster, calls, k8s_secrets, spec, reason, message):
    k8s_secrets.put("s", v="text", binary=b"\xff\xfe".decode("utf-8", "surrogateescape"))
    outcome = refused(cluster, calls, "SecretsManagerSecret", {"secretName": "app/bad", **spec}, reason, message)
    assert outcome.permanent == (reason != "SecretNotFound")
