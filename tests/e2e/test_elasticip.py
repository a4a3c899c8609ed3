"""ElasticIP end to end: kopf + the engine against the API emulation and moto over HTTP."""

from __future__ import annotations

import urllib.request

from harness.kube import ApiError
from infra_operator.telemetry import parse_samples

from .resources import API_VERSION, condition


def samples(metrics_url: str) -> dict[tuple[str, frozenset], float]:
    return parse_samples(urllib.request.urlopen(metrics_url).read().decode())


def value(metrics_url: str, name: str, **labels: str) -> float:
    return samples(metrics_url).get((name, frozenset(labels.items())), 0.0)


def test_create_ready_with_allocation_printer_columns_and_events(cluster, kube):
    cluster.create("ElasticIP", "web", {"providerRef": {"name": "aws"}, "tags": {"team": "web"}})
    eip = cluster.wait_ready("ElasticIP", "web")
    status = eip["status"]
    assert status["allocationId"].startswith("eipalloc-") and status["publicIp"]
    assert status["observedGeneration"] == eip["metadata"]["generation"]
    assert condition(eip, "Synced")["status"] == "True"
    assert "aws.infra-operator.dev/finalizer" in eip["metadata"]["finalizers"]
    crd = kube.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", None, "elasticips.aws.infra-operator.dev")
    columns = {c["name"]: c["jsonPath"] for c in crd["spec"]["versions"][0]["additionalPrinterColumns"]}
    assert columns["AllocationId"] == ".status.allocationId" and columns["Public IP"] == ".status.publicIp"
    cluster.wait_event("web", "Created")
    [address] = cluster.owned_addresses(eip["metadata"]["uid"])
    tags = {t["Key"]: t["Value"] for t in address["Tags"]}
    assert tags["team"] == "web" and tags["infra-operator.dev/owner"] == f"{cluster.namespace}/web"


def test_tag_update_is_applied(cluster):
    cluster.create("ElasticIP", "tagged", {"providerRef": {"name": "aws"}, "tags": {"team": "a"}})
    uid = cluster.wait_ready("ElasticIP", "tagged")["metadata"]["uid"]
    cluster.patch("ElasticIP", "tagged", {"spec": {"tags": {"team": "b", "env": "prod"}}})
    cluster.kube.wait_for(lambda: {t["Key"]: t["Value"] for t in cluster.owned_addresses(uid)[0]["Tags"]},
                          until=lambda tags: tags.get("team") == "b" and tags.get("env") == "prod",
                          what="tags updated in AWS")
    cluster.wait_event("tagged", "Updated")


def test_out_of_band_tag_change_is_drift_healed_and_counted(cluster, metrics_url):
    detected_before = value(metrics_url, "infra_operator_drift_detected_total", resource_type="ElasticIP",
                            severity="info")
    healed_before = value(metrics_url, "infra_operator_drift_healed_total", resource_type="ElasticIP")
    cluster.create("ElasticIP", "drifty", {"providerRef": {"name": "aws"}, "tags": {"team": "net"}})
    eip = cluster.wait_ready("ElasticIP", "drifty")
    ec2 = cluster.aws.client("ec2")
    ec2.create_tags(Resources=[eip["status"]["allocationId"]], Tags=[{"Key": "team", "Value": "intruder"}])
    ec2.delete_tags(Resources=[eip["status"]["allocationId"]], Tags=[{"Key": "infra-operator.dev/owner"}])
    cluster.wait_event("drifty", "DriftHealed", timeout=20)
    tags = {t["Key"]: t["Value"] for t in cluster.owned_addresses(eip["metadata"]["uid"])[0]["Tags"]}
    assert tags["team"] == "net" and tags["infra-operator.dev/owner"] == f"{cluster.namespace}/drifty"
    assert value(metrics_url, "infra_operator_drift_detected_total", resource_type="ElasticIP",
                 severity="info") > detected_before
    assert value(metrics_url, "infra_operator_drift_healed_total", resource_type="ElasticIP") > healed_before
    assert value(metrics_url, "infra_operator_drift_detection_duration_seconds_count", resource_type="ElasticIP") > 0


def test_released_out_of_band_is_critical_drift_and_recreated(cluster, metrics_url):
    before = value(metrics_url, "infra_operator_drift_detected_total", resource_type="ElasticIP",
                   severity="critical")
    cluster.create("ElasticIP", "released", {"providerRef": {"name": "aws"}})
    first = cluster.wait_ready("ElasticIP", "released")["status"]["allocationId"]
    cluster.aws.client("ec2").release_address(AllocationId=first)
    again = cluster.kube.wait_for(lambda: cluster.get("ElasticIP", "released"),
                                  until=lambda o: o["status"].get("allocationId") not in (None, first)
                                  and condition(o)["status"] == "True", timeout=20, what="re-created address")
    assert len(cluster.owned_addresses(again["metadata"]["uid"])) == 1
    assert value(metrics_url, "infra_operator_drift_detected_total", resource_type="ElasticIP",
                 severity="critical") > before


def test_delete_releases_and_retain_keeps(cluster):
    cluster.create("ElasticIP", "gone", {"providerRef": {"name": "aws"}})
    cluster.create("ElasticIP", "kept", {"providerRef": {"name": "aws"}, "deletionPolicy": "Retain"})
    gone, kept = cluster.wait_ready("ElasticIP", "gone"), cluster.wait_ready("ElasticIP", "kept")
    cluster.delete("ElasticIP", "gone")
    cluster.delete("ElasticIP", "kept")
    cluster.wait_gone("ElasticIP", "gone")
    cluster.wait_gone("ElasticIP", "kept")
    ec2 = cluster.aws.client("ec2")
    assert cluster.owned_addresses(gone["metadata"]["uid"]) == []
    [left] = ec2.describe_addresses(AllocationIds=[kept["status"]["allocationId"]])["Addresses"]
    assert not any(t["Key"].startswith("infra-operator.dev/") for t in left.get("Tags", []))
    ec2.release_address(AllocationId=left["AllocationId"])


def test_deleted_during_a_slow_resync_goes_soon_after_it(cluster):
    """kopf cannot interrupt a running (synchronous) resync timer; the finalizer goes once the
    resync ends, polled every second rather than kopf's default 60 s."""
    cluster.create("ElasticIP", "busy", {"providerRef": {"name": "aws"}})
    cluster.wait_ready("ElasticIP", "busy")
    cluster.aws.faults.delay(3, "ec2", "DescribeAddresses", times=1)
    cluster.kube.wait_for(lambda: cluster.aws.faults.count("delay"), what="a resync's describe held")
    cluster.delete("ElasticIP", "busy")
    cluster.wait_gone("ElasticIP", "busy", timeout=15)


def test_throttling_during_create_converges_and_is_counted(cluster, metrics_url):
    before = value(metrics_url, "infra_operator_aws_api_throttles_total", service="EC2", operation="AllocateAddress")
    cluster.aws.faults.throttle("ec2", "AllocateAddress", times=7)  # more than one call's 5 attempts
    cluster.create("ElasticIP", "throttled", {"providerRef": {"name": "aws"}})
    eip = cluster.wait_ready("ElasticIP", "throttled", timeout=60)
    assert len(cluster.owned_addresses(eip["metadata"]["uid"])) == 1
    assert cluster.aws.faults.count("throttle") == 7
    assert value(metrics_url, "infra_operator_aws_api_throttles_total", service="EC2",
                 operation="AllocateAddress") - before == 7
    assert value(metrics_url, "infra_operator_aws_api_errors_total", service="EC2", operation="AllocateAddress",
                 error_code="RequestLimitExceeded") >= 1


def test_invalid_spec_rejected_by_schema_or_answered_without_aws_call(cluster):
    for bad in ({"providerRef": {"name": "aws"}, "domain": "moon"},
                {"domain": "vpc"},
                {"providerRef": {"name": "aws"}, "deletionPolicy": "Sometimes"}):
        try:
            cluster.create("ElasticIP", "bad", bad)
        except ApiError as error:
            assert error.code == 422
        else:
            raise AssertionError(f"schema accepted {bad}")
    cluster.aws.calls.clear()
    cluster.create("ElasticIP", "reserved-tag", {"providerRef": {"name": "aws"}, "tags": {"aws:owner": "me"}})
    eip = cluster.wait_condition("ElasticIP", "reserved-tag", status="False", reason="InvalidTags")
    assert "reserved" in condition(eip)["message"]
    cluster.wait_event("reserved-tag", "InvalidTags")
    assert cluster.aws.calls.count(operation="AllocateAddress") == 0


def test_unready_provider_gives_provider_not_ready_and_deletion_says_why(cluster, metrics_url):
    cluster.aws.faults.reject_credentials("revoked-key")
    cluster.create_provider("revoked", access_key="revoked-key")
    cluster.create("AWSProvider", "no-secret", {"region": "eu-west-1", "endpoint": cluster.aws.endpoint,
                                                "credentials": {"secretRef": {"name": "missing"}}})
    cluster.create("ElasticIP", "orphan", {"providerRef": {"name": "revoked"}})
    revoked = cluster.wait_condition("AWSProvider", "revoked", status="False", reason="ProviderNotReady")
    assert "InvalidClientTokenId" in condition(revoked)["message"]
    cluster.wait_condition("AWSProvider", "no-secret", status="False", reason="SecretNotFound")
    cluster.wait_condition("ElasticIP", "orphan", status="False", reason="ProviderNotReady")
    ready = {name: value(metrics_url, "infra_operator_provider_ready", provider_name=f"{cluster.namespace}/{name}",
                         region=region) for name, region in (("revoked", "us-east-1"), ("no-secret", "eu-west-1"),
                                                             ("aws", "us-east-1"))}
    assert ready == {"revoked": 0, "no-secret": 0, "aws": 1}
    assert cluster.aws.calls.count(operation="AllocateAddress") == 0
    # Deleting while the provider is unusable waits with a reason and an event, not silently.
    cluster.delete("ElasticIP", "orphan")
    cluster.kube.wait_for(lambda: cluster.event_reasons("orphan").count("ProviderNotReady"),
                          until=lambda n: n >= 2, what="ProviderNotReady events for the deletion")
    assert cluster.get("ElasticIP", "orphan")["metadata"]["deletionTimestamp"]
    cluster.aws.faults.clear()  # the credentials work again: the deletion completes
    cluster.wait_gone("ElasticIP", "orphan", timeout=60)


def test_exposition_counts_ready_addresses(cluster, metrics_url):
    for name in ("one", "two", "three"):
        cluster.create("ElasticIP", name, {"providerRef": {"name": "aws"}})
    for name in ("one", "two", "three"):
        cluster.wait_ready("ElasticIP", name)
    ready_objects = sum(1 for eip in cluster.kube.list(API_VERSION, "ElasticIP")
                        if condition(eip).get("status") == "True" and not eip["metadata"].get("deletionTimestamp"))
    cluster.kube.wait_for(lambda: value(metrics_url, "infra_operator_resources_total",
                                        resource_type="ElasticIP", status="ready"),
                          until=lambda v: v == ready_objects, what="resources_total ready == ready objects")
    assert value(metrics_url, "infra_operator_reconcile_total", resource_type="ElasticIP", result="success") >= 3
    assert value(metrics_url, "infra_operator_workqueue_adds_total", resource_type="ElasticIP") >= 3
    assert value(metrics_url, "infra_operator_aws_api_calls_total", service="EC2", operation="AllocateAddress",
                 result="success") >= 3
