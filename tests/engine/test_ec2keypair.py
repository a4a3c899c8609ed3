"""EC2KeyPair through the engine against moto over HTTP, without kopf: a generated key pair
whose private key goes only to a Secret owned by the object; an imported public key; tags
updated and healed; a key pair deleted out of band re-created with a new key in the Secret; a
failed Secret write, a crash before it and a lost Secret each make the pair be created again
(never left without its key); Retain; adoption; bad input stopped before AWS. The private key
never appears in an outcome."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from conftest import (Cluster, WrittenSecrets, calls_of, check_adoption_after_a_lost_status_write, converge, delete_all,
                      kind_metrics, make_engine, ready_reason, reasons)

OWNER_UID = "infra-operator.dev/owner-uid"
KIND = "EC2KeyPair"
GENERATED = {"keyName": "deploy", "keyType": "ed25519", "privateKeySecretRef": {"name": "deploy-key", "key": "id"},
             "tags": {"team": "platform"}}


def public_key(comment: str = "me@laptop") -> str:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode() + " " + comment


@pytest.fixture
def written():
    return WrittenSecrets()


@pytest.fixture
def cluster(aws, calls, written):
    from infra_operator.telemetry import Telemetry
    return Cluster(make_engine(aws, Telemetry.noop(), calls, secret_sink=written))


@pytest.fixture
def ec2(aws):
    return aws.client("ec2")


def pairs(ec2, name: str) -> list[dict]:
    return [p for p in ec2.describe_key_pairs()["KeyPairs"] if p["KeyName"] == name]


def never_shown(outcomes, written: WrittenSecrets) -> None:
    keys = [data for secret in written.secrets.values() for data in secret["data"].values()]
    text = "\n".join(f"{o.status!r} {o.message!r} {[(e.reason, e.message) for e in o.events]!r}" for o in outcomes)
    assert keys and not [key for key in keys if key in text or key.splitlines()[1] in text]


def test_generated_pair_key_in_the_secret_tags_updated_and_healed_deleted_out_of_band(aws, calls, ec2):
    from infra_operator.telemetry import setup_telemetry, TelemetrySettings
    telemetry = setup_telemetry(TelemetrySettings())
    written = WrittenSecrets()
    cluster = Cluster(make_engine(aws, telemetry, calls, secret_sink=written))
    try:
        cluster.apply(KIND, "deploy", GENERATED)
        created = cluster.reconcile(KIND, "deploy")
        status = created.status
        pair = pairs(ec2, "deploy")[0]
        assert ready_reason(created) == "Available" and reasons(created) == ["Created"]
        assert (status["keyPairId"], status["keyName"], status["keyType"]) == (pair["KeyPairId"], "deploy", "ed25519")
        assert status["keyFingerprint"] == pair["KeyFingerprint"] and status["createTime"].endswith("Z")
        secret = written.secrets["deploy-key"]
        assert secret["owners"] == [cluster.uid(KIND, "deploy")] and secret["written_for"] == pair["KeyPairId"]
        assert secret["data"]["id"].startswith("-----BEGIN")
        tags = {t["Key"]: t["Value"] for t in pair["Tags"]}
        assert tags["team"] == "platform" and tags[OWNER_UID] == cluster.uid(KIND, "deploy")
        outcomes = [created, cluster.reconcile(KIND, "deploy", "resync")]
        assert reasons(outcomes[-1]) == []

        cluster.apply(KIND, "deploy", {**GENERATED, "tags": {"team": "infra"}})
        outcomes.append(cluster.reconcile(KIND, "deploy", "update"))
        assert reasons(outcomes[-1]) == ["Updated"] and "tags" in outcomes[-1].events[0].message

        ec2.create_tags(Resources=[status["keyPairId"]], Tags=[{"Key": "team", "Value": "oops"}])
        outcomes.append(cluster.reconcile(KIND, "deploy", "resync"))
        assert reasons(outcomes[-1]) == ["DriftHealed"]
        assert {t["Key"]: t["Value"] for t in pairs(ec2, "deploy")[0]["Tags"]}["team"] == "infra"

        # Deleted out of band: a new pair, whose new key replaces the old one in the Secret.
        old_key = secret["data"]["id"]
        ec2.delete_key_pair(KeyName="deploy")
        outcomes.append(cluster.reconcile(KIND, "deploy", "resync"))
        new_id = outcomes[-1].status["keyPairId"]
        assert reasons(outcomes[-1]) == ["DeletedInAWS", "Created"] and new_id != status["keyPairId"]
        assert written.secrets["deploy-key"]["written_for"] == new_id
        assert written.secrets["deploy-key"]["data"]["id"] != old_key
        never_shown(outcomes, written)

        delete_all(cluster, [(KIND, "deploy")])
        assert pairs(ec2, "deploy") == []
        samples = telemetry.sample_values()
        assert kind_metrics(samples, KIND) == {"drift critical": 1, "drift info": 1, "healed": 1,
                                               "reconcile success": 5}
        assert calls_of(samples, "EC2", "CreateKeyPair", "DeleteKeyPair", "CreateTags", "DeleteTags",
                        "ImportKeyPair") == {"CreateKeyPair": 2, "DeleteKeyPair": 1, "CreateTags": 2,
                                             "DeleteTags": 0, "ImportKeyPair": 0}
    finally:
        telemetry.shutdown()


def test_an_imported_public_key_is_compared_without_its_comment_and_cannot_change_in_place(cluster, ec2, written):
    material = public_key()
    cluster.apply(KIND, "laptop", {"keyName": "laptop", "publicKeyMaterial": material})
    converge(cluster, [(KIND, "laptop")])
    status = cluster.status(KIND, "laptop")
    assert status["keyType"] == "ed25519" and status["keyFingerprint"] and not written.secrets
    assert reasons(cluster.reconcile(KIND, "laptop", "resync")) == []  # the describe cache's listing too
    assert reasons(cluster.reconcile(KIND, "laptop", "resync")) == []
    cluster.apply(KIND, "laptop", {"keyName": "laptop", "publicKeyMaterial": public_key()})
    replaced = cluster.reconcile(KIND, "laptop", "update")
    assert ready_reason(replaced) == "ReplacementRequired" and "publicKeyMaterial" in replaced.message
    delete_all(cluster, [(KIND, "laptop")])
    assert pairs(ec2, "laptop") == []


def test_a_failed_secret_write_deletes_the_pair_and_the_next_run_makes_one_whose_key_is_kept(cluster, ec2, written):
    written.fail = 1
    cluster.apply(KIND, "deploy", GENERATED)
    failed = cluster.reconcile(KIND, "deploy")
    assert ready_reason(failed) == "SecretWriteFailed" and not failed.permanent and failed.retry_after
    assert pairs(ec2, "deploy") == [] and "keyPairId" not in cluster.status(KIND, "deploy")
    done = cluster.reconcile(KIND, "deploy", "update")
    assert ready_reason(done) == "Available" and len(pairs(ec2, "deploy")) == 1
    assert written.secrets["deploy-key"]["written_for"] == done.status["keyPairId"]
    never_shown([failed, done], written)
    delete_all(cluster, [(KIND, "deploy")])


def test_a_crash_before_the_write_or_a_deleted_secret_creates_the_pair_again(aws, ec2, calls):
    from infra_operator.telemetry import setup_telemetry, TelemetrySettings
    telemetry = setup_telemetry(TelemetrySettings())
    written = WrittenSecrets()
    cluster = Cluster(make_engine(aws, telemetry, calls, secret_sink=written))
    try:
        # The write fails and so does the delete after it: the pair stays, its key is nowhere
        # (what an operator killed between the create and the write leaves).
        written.fail = 1
        aws.faults.server_error(service="ec2", operation="DeleteKeyPair", times=10)
        cluster.apply(KIND, "deploy", GENERATED)
        cluster.reconcile(KIND, "deploy")
        aws.faults.clear()
        lost = pairs(ec2, "deploy")[0]["KeyPairId"]
        adopted = cluster.reconcile(KIND, "deploy", "resume")
        assert reasons(adopted) == ["Adopted", "SecretRegenerated", "Created"]
        assert ready_reason(adopted) == "Available" and adopted.status["keyPairId"] != lost
        assert [p["KeyPairId"] for p in pairs(ec2, "deploy")] == [adopted.status["keyPairId"]]
        del written.secrets["deploy-key"]  # deleted by someone: the key is lost, a resync makes another
        again = cluster.reconcile(KIND, "deploy", "resync")
        assert reasons(again) == ["SecretRegenerated", "Created"] and ready_reason(again) == "Available"
        assert written.secrets["deploy-key"]["written_for"] == again.status["keyPairId"] != adopted.status["keyPairId"]
        never_shown([adopted, again], written)
        delete_all(cluster, [(KIND, "deploy")])
        samples = telemetry.sample_values()
        assert kind_metrics(samples, KIND) == {"drift critical": 1, "healed": 1, "reconcile success": 2,
                                               "reconcile requeue": 1}
    finally:
        telemetry.shutdown()


def test_retain_keeps_the_pair_without_our_tags_and_the_secret_outlives_the_object(cluster, ec2, written):
    cluster.apply(KIND, "kept", {**GENERATED, "keyName": "kept", "deletionPolicy": "Retain", "tags": {"keep": "me"}})
    converge(cluster, [(KIND, "kept")])
    kept = cluster.delete(KIND, "kept")
    assert kept.retry_after is None and reasons(kept) == ["Retained"]
    pair = pairs(ec2, "kept")[0]
    assert {t["Key"]: t["Value"] for t in pair["Tags"]} == {"keep": "me"}
    assert written.secrets["deploy-key"]["owners"] == []
    ec2.delete_key_pair(KeyName="kept")


def test_adoption_after_a_lost_status_write(cluster):
    check_adoption_after_a_lost_status_write(cluster, KIND, GENERATED)


@pytest.mark.parametrize("spec, reason, message", [
    ({"keyName": "both", "publicKeyMaterial": public_key(), "privateKeySecretRef": {"name": "s", "key": "k"}},
     "InvalidSpec", "exactly one of publicKeyMaterial"),
    ({"keyName": "neither"}, "InvalidSpec", "exactly one of publicKeyMaterial"),
    ({"keyName": "typed", "publicKeyMaterial": public_key(), "keyType": "rsa"}, "InvalidSpec", "generated key pair"),
    ({**GENERATED, "tags": {"aws:x": "y"}}, "InvalidTags", "aws:"),
    ({**GENERATED, "privateKeySecretRef": {"name": "theirs", "key": "id"}}, "SecretTaken", "Secret theirs"),
])
def test_bad_input_is_answered_without_an_aws_call(cluster, calls, written, spec, reason, message):
    written.secrets["theirs"] = {"owners": ["another-uid"], "written_for": None, "data": {"id": "x"}}
    cluster.apply(KIND, "bad", spec)
    outcome = cluster.reconcile(KIND, "bad")
    assert outcome.permanent and ready_reason(outcome) == reason and message in outcome.message
    assert reasons(outcome) == [reason] and calls.total() == 0
    assert written.secrets["theirs"]["data"] == {"id": "x"}
