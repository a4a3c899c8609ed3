"""The engine against a moto server over HTTP, without kopf: create, adopt, drift, delete."""

from infra_operator.operator.kinds.elasticip import ElasticIP


def body(uid, status=None, spec=None, generation=1):
    return {"kind": "ElasticIP",
            "metadata": {"namespace": "ns", "name": f"eip-{uid}", "uid": uid, "generation": generation,
                         "creationTimestamp": "2026-11-27T00:00:00Z"},
            "spec": {"providerRef": {"name": "aws"}, "tags": {"team": "net"}, **(spec or {})},
            "status": status or {}}


def owned(aws, uid):
    return aws.client("ec2").describe_addresses(
        Filters=[{"Name": "tag:infra-operator.dev/owner-uid", "Values": [uid]}])["Addresses"]


def test_create_then_adopt_instead_of_duplicating(aws, engine, cluster):
    kind = ElasticIP()
    first = engine.reconcile(kind, body("u1"), "create", cluster)
    assert first.retry_after is None and not first.permanent
    alloc = first.status["allocationId"]
    assert first.status["publicIp"] and [e.reason for e in first.events] == ["Created"]
    # The status write was lost (operator killed): the next run adopts by owner tag.
    again = engine.reconcile(kind, body("u1"), "create", cluster)
    assert again.status["allocationId"] == alloc and [e.reason for e in again.events] == ["Adopted"]
    assert len(owned(aws, "u1")) == 1


def test_drift_on_tags_is_healed_and_release_out_of_band_recreates(aws, engine, cluster):
    kind = ElasticIP()
    created = engine.reconcile(kind, body("u2"), "create", cluster)
    alloc = created.status["allocationId"]
    ec2 = aws.client("ec2")
    ec2.create_tags(Resources=[alloc], Tags=[{"Key": "team", "Value": "intruder"}])
    healed = engine.reconcile(kind, body("u2", created.status), "resync", cluster)
    assert [e.reason for e in healed.events] == ["DriftHealed"]
    tags = {t["Key"]: t["Value"] for t in owned(aws, "u2")[0]["Tags"]}
    assert tags["team"] == "net"
    ec2.release_address(AllocationId=alloc)
    recreated = engine.reconcile(kind, body("u2", healed.status), "resync", cluster)
    assert recreated.status["allocationId"] != alloc
    assert [e.reason for e in recreated.events] == ["DeletedInAWS", "Created"]


def test_delete_and_retain(aws, engine, cluster):
    kind = ElasticIP()
    st = engine.reconcile(kind, body("u3"), "create", cluster).status
    done = engine.finalize(kind, body("u3", st), cluster)
    assert done.retry_after is None and owned(aws, "u3") == []
    kept = engine.reconcile(kind, body("u4", spec={"deletionPolicy": "Retain"}), "create", cluster).status
    engine.finalize(kind, body("u4", kept, spec={"deletionPolicy": "Retain"}), cluster)
    address = aws.client("ec2").describe_addresses(AllocationIds=[kept["allocationId"]])["Addresses"][0]
    assert not any(t["Key"].startswith("infra-operator.dev/") for t in address.get("Tags", []))


def test_provider_not_ready_and_invalid_tags(aws, engine, cluster):
    kind = ElasticIP()
    missing = engine.reconcile(kind, body("u5", spec={"providerRef": {"name": "nope"}}), "create", cluster)
    assert missing.retry_after and missing.status["conditions"][0]["reason"] == "ProviderNotReady"
    bad = engine.reconcile(kind, body("u6", spec={"tags": {"aws:x": "1"}}), "create", cluster)
    assert bad.permanent and bad.status["conditions"][0]["reason"] == "InvalidTags"
    assert owned(aws, "u5") == [] and owned(aws, "u6") == []


def test_twins_tagged_as_one_object_are_deleted_on_adoption_drift_check_and_deletion(aws, engine, cluster):
    """A create made twice (its first answer lost to a timeout) leaves two resources tagged as
    one object: the engine keeps one and deletes the others."""
    kind = ElasticIP()
    ec2 = aws.client("ec2")

    def twin() -> str:
        return ec2.allocate_address(Domain="vpc", TagSpecifications=[{"ResourceType": "elastic-ip", "Tags": [
            {"Key": "infra-operator.dev/managed-by", "Value": "infra-operator"},
            {"Key": "infra-operator.dev/owner-uid", "Value": "u6"}]}])["AllocationId"]

    first = twin()
    twin()
    adopted = engine.reconcile(kind, body("u6"), "create", cluster)
    assert [e.reason for e in adopted.events] == ["Adopted", "DuplicateDeleted", "Updated"]
    assert [a["AllocationId"] for a in owned(aws, "u6")] == [adopted.status["allocationId"]] == [first]
    third = twin()
    checked = engine.reconcile(kind, body("u6", adopted.status), "resync", cluster)
    assert [e.reason for e in checked.events] == ["DuplicateDeleted"] and third in checked.events[0].message
    assert [a["AllocationId"] for a in owned(aws, "u6")] == [first]
    twin()
    assert engine.finalize(kind, body("u6", checked.status), cluster).retry_after is None
    assert owned(aws, "u6") == []


class _DomainFromAWS(ElasticIP):
    """A kind whose desired state has a value the spec does not give: `inputs` asks for it with
    the provider's clients before every comparison."""

    def __init__(self):
        self.asked: list[str] = []
        self.answer: str | None = None

    def inputs(self, aws, desired):
        self.asked.append(aws.region)
        desired["domain"] = self.answer or "vpc"


def test_inputs_complete_the_desired_state_before_create_and_every_comparison(aws, engine, cluster):
    kind = _DomainFromAWS()
    created = engine.reconcile(kind, body("u9"), "create", cluster)
    assert owned(aws, "u9")[0]["Domain"] == "vpc"  # the create was given it
    assert [e.reason for e in engine.reconcile(kind, body("u9", created.status), "resync", cluster).events] == []
    kind.answer = "standard"  # what AWS tells changed: compared like a spec field
    changed = engine.reconcile(kind, body("u9", created.status), "resync", cluster)
    assert changed.permanent and "domain cannot change in place" in changed.message
    assert kind.asked == ["us-east-1"] * 3
    engine.finalize(kind, body("u9", created.status), cluster)
