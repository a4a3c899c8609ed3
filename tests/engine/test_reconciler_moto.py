"""The engine against a moto server over HTTP, without kopf: create, adopt, drift, delete."""

import pytest

from infra_operator.operator.engine.objects import ObjectSummary
from infra_operator.operator.engine.reconciler import EngineSettings, Reconciler
from infra_operator.operator.kinds.elasticip import ElasticIP
from infra_operator.operator.provider.registry import ProviderRegistry
from infra_operator.operator.provider.session import ProviderConfig, StaticCredentials
from infra_operator.telemetry import Telemetry


class DictCluster:
    def __init__(self):
        self.objects: dict[tuple[str, str, str], ObjectSummary] = {}
        self.refs: dict[tuple[str, str, str], list[str]] = {}

    def find(self, kind, namespace, name):
        return self.objects.get((kind, namespace, name))

    def dependents(self, kind, namespace, name):
        return self.refs.get((namespace, kind, name), [])


@pytest.fixture
def engine(aws):
    providers = ProviderRegistry()
    providers.apply(ProviderConfig("ns/aws", "us-east-1", aws.endpoint, StaticCredentials("testing", "testing")))
    providers.mark("ns/aws", True)
    return Reconciler(Telemetry.noop(), providers, EngineSettings(read_after_create_backoff=(0.05,)),
                      sleep=lambda s: None)


def body(uid, status=None, spec=None, generation=1):
    return {"kind": "ElasticIP",
            "metadata": {"namespace": "ns", "name": f"eip-{uid}", "uid": uid, "generation": generation,
                         "creationTimestamp": "2026-11-27T00:00:00Z"},
            "spec": {"providerRef": {"name": "aws"}, "tags": {"team": "net"}, **(spec or {})},
            "status": status or {}}


def owned(aws, uid):
    return aws.client("ec2").describe_addresses(
        Filters=[{"Name": "tag:infra-operator.dev/owner-uid", "Values": [uid]}])["Addresses"]


def test_create_then_adopt_instead_of_duplicating(aws, engine):
    kind, cluster = ElasticIP(), DictCluster()
    first = engine.reconcile(kind, body("u1"), "create", cluster)
    assert first.retry_after is None and not first.permanent
    alloc = first.status["allocationId"]
    assert first.status["publicIp"] and [e.reason for e in first.events] == ["Created"]
    # The status write was lost (operator killed): the next run adopts by owner tag.
    again = engine.reconcile(kind, body("u1"), "create", cluster)
    assert again.status["allocationId"] == alloc and [e.reason for e in again.events] == ["Adopted"]
    assert len(owned(aws, "u1")) == 1


def test_drift_on_tags_is_healed_and_release_out_of_band_recreates(aws, engine):
    kind, cluster = ElasticIP(), DictCluster()
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


def test_delete_and_retain(aws, engine):
    kind, cluster = ElasticIP(), DictCluster()
    st = engine.reconcile(kind, body("u3"), "create", cluster).status
    done = engine.finalize(kind, body("u3", st), cluster)
    assert done.retry_after is None and owned(aws, "u3") == []
    kept = engine.reconcile(kind, body("u4", spec={"deletionPolicy": "Retain"}), "create", cluster).status
    engine.finalize(kind, body("u4", kept, spec={"deletionPolicy": "Retain"}), cluster)
    address = aws.client("ec2").describe_addresses(AllocationIds=[kept["allocationId"]])["Addresses"][0]
    assert not any(t["Key"].startswith("infra-operator.dev/") for t in address.get("Tags", []))


def test_provider_not_ready_and_invalid_tags(aws, engine):
    kind, cluster = ElasticIP(), DictCluster()
    missing = engine.reconcile(kind, body("u5", spec={"providerRef": {"name": "nope"}}), "create", cluster)
    assert missing.retry_after and missing.status["conditions"][0]["reason"] == "ProviderNotReady"
    bad = engine.reconcile(kind, body("u6", spec={"tags": {"aws:x": "1"}}), "create", cluster)
    assert bad.permanent and bad.status["conditions"][0]["reason"] == "InvalidTags"
    assert owned(aws, "u5") == [] and owned(aws, "u6") == []
