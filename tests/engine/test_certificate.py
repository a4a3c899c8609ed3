"""Certificate (ACM) through the engine against moto over HTTP, without kopf: DNS validation end to
end (records published in status and written into a Route 53 zone, PENDING_VALIDATION as a clear
Ready=False reason, Ready once ISSUED), records moved with the zone and healed when deleted, a
delete that waits while a load balancer uses the certificate and then removes the records it wrote
(but not those another certificate validates with), Retain, adoption, bad input.

moto issues a certificate MOTO_ACM_VALIDATION_WAIT seconds after the request whatever DNS says;
the tests set moto's setting in this process: high to hold a certificate pending, below zero to
issue at the next describe."""

from __future__ import annotations

import re
import uuid

import moto.settings
import pytest

from conftest import Cluster, calls_of, converge, kind_metrics, make_engine, ready_reason, reasons, refused
from infra_operator.operator.kinds.acm import Certificate

OWNED = "infra-operator.dev/"


@pytest.fixture
def pending(monkeypatch):
    """Certificates stay PENDING_VALIDATION until `issue()` is called."""
    monkeypatch.setattr(moto.settings, "ACM_VALIDATION_WAIT", 10 ** 6)
    return lambda: monkeypatch.setattr(moto.settings, "ACM_VALIDATION_WAIT", -1)


@pytest.fixture
def acm(aws):
    return aws.client("acm")


@pytest.fixture
def route53(aws):
    return aws.client("route53")


def zone(route53, name: str) -> str:
    return route53.create_hosted_zone(Name=name, CallerReference=str(uuid.uuid4()))["HostedZone"]["Id"].rsplit("/")[-1]


def cnames(route53, zone_id: str) -> dict[str, str]:
    return {r["Name"]: r["ResourceRecords"][0]["Value"]
            for r in route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"] if r["Type"] == "CNAME"}


def cert_tags(acm, arn: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in acm.list_tags_for_certificate(CertificateArn=arn)["Tags"]}


def test_dns_validation_end_to_end_update_drift_and_delete(cluster, acm, route53, pending):
    first, second = zone(route53, "shop.example"), zone(route53, "shop.example")
    spec = {"domainName": "shop.example", "subjectAlternativeNames": ["www.shop.example"],
            "validation": {"hostedZoneId": first}, "tags": {"team": "a"}}
    cluster.apply("Certificate", "shop", spec)
    waiting = cluster.reconcile("Certificate", "shop")
    assert reasons(waiting) == ["Created", "Updated"] and ready_reason(waiting) == "PendingValidation"
    arn = waiting.status["certificateArn"]
    records = {r["name"]: r["value"] for r in waiting.status["validationRecords"]}
    assert {r["domainName"] for r in waiting.status["validationRecords"]} == {"shop.example", "www.shop.example"}
    assert all(r["status"] == "PENDING_VALIDATION" and r["type"] == "CNAME" for r in waiting.status["validationRecords"])
    assert cnames(route53, first) == records and waiting.status["validationZoneId"] == first
    assert f"written to hosted zone {first}" in waiting.message and "www.shop.example: CNAME" in waiting.message
    assert waiting.retry_after and not waiting.permanent

    pending()  # ACM sees the records
    issued = cluster.reconcile("Certificate", "shop")
    assert ready_reason(issued) == "Available" and issued.status["status"] == "ISSUED" and issued.status["notAfter"]
    assert cert_tags(acm, arn)[f"{OWNED}owner-uid"] == cluster.uid("Certificate", "shop")

    cluster.apply("Certificate", "shop", {**spec, "validation": {"hostedZoneId": second}, "tags": {"team": "b"}})
    moved = cluster.reconcile("Certificate", "shop", trigger="update")
    assert reasons(moved) == ["Updated"] and moved.status["validationZoneId"] == second
    assert cnames(route53, second) == records and cnames(route53, first) == {}
    assert cert_tags(acm, arn)["team"] == "b"
    assert reasons(cluster.reconcile("Certificate", "shop", trigger="resync")) == []

    name, value_ = next(iter(records.items()))
    route53.change_resource_record_sets(HostedZoneId=second, ChangeBatch={"Changes": [{"Action": "DELETE",
        "ResourceRecordSet": {"Name": name, "Type": "CNAME", "TTL": 300, "ResourceRecords": [{"Value": value_}]}}]})
    healed = cluster.reconcile("Certificate", "shop", trigger="resync")
    assert reasons(healed) == ["DriftHealed"] and cnames(route53, second) == records

    deleted = cluster.delete("Certificate", "shop")
    assert deleted.retry_after is None and reasons(deleted) == ["Deleted"]
    assert cnames(route53, second) == {} and arn not in [c["CertificateArn"] for c in acm.list_certificates()[
        "CertificateSummaryList"]]


def test_validation_records_go_into_the_hosted_zone_a_reference_names(cluster, route53, pending):
    pending()
    cluster.apply("Route53HostedZone", "zone", {"zoneName": "ref.example"})
    cluster.apply("Certificate", "ref", {"domainName": "ref.example", "validation": {"hostedZoneRef": {"name": "zone"}}})
    converge(cluster, [("Route53HostedZone", "zone"), ("Certificate", "ref")])
    zone_id = cluster.status("Route53HostedZone", "zone")["hostedZoneId"]
    records = {r["name"]: r["value"] for r in cluster.status("Certificate", "ref")["validationRecords"]}
    assert cluster.status("Certificate", "ref")["validationZoneId"] == zone_id.rsplit("/")[-1]
    assert records and cnames(route53, zone_id.rsplit("/")[-1]) == records
    assert reasons(cluster.delete("Certificate", "ref")) == ["Deleted"] and cnames(route53, zone_id.rsplit("/")[-1]) == {}
    cluster.delete("Route53HostedZone", "zone")


def test_delete_waits_while_a_load_balancer_uses_the_certificate(aws, cluster, acm, route53, pending):
    pending()
    zone_id = zone(route53, "lb.example")
    cluster.apply("Certificate", "lb", {"domainName": "lb.example", "validation": {"hostedZoneId": zone_id}})
    arn = converge(cluster, [("Certificate", "lb")])[-1][1].status["certificateArn"]
    ec2, elb = aws.client("ec2"), aws.client("elbv2")
    vpc = ec2.create_vpc(CidrBlock="10.60.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.60.{i}.0/24", AvailabilityZone=f"us-east-1{az}")[
        "Subnet"]["SubnetId"] for i, az in ((1, "a"), (2, "b"))]
    lb = elb.create_load_balancer(Name="uses-cert", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    target = elb.create_target_group(Name="uses-cert", Protocol="HTTP", Port=80, VpcId=vpc)["TargetGroups"][0]
    listener = elb.create_listener(LoadBalancerArn=lb, Protocol="HTTPS", Port=443, Certificates=[{"CertificateArn": arn}],
                                   DefaultActions=[{"Type": "forward", "TargetGroupArn": target["TargetGroupArn"]}])
    refused = cluster.delete("Certificate", "lb")
    assert ready_reason(refused) == "CertificateInUse" and refused.retry_after and "uses-cert" in refused.message
    assert acm.describe_certificate(CertificateArn=arn) and cnames(route53, zone_id)  # nothing touched

    # moto never clears InUseBy once a listener used a certificate (AWS does when it is deleted), so
    # the deletion that follows the listener's is not testable here: the object is let go instead.
    cluster.apply("Certificate", "lb", {"domainName": "lb.example", "validation": {"hostedZoneId": zone_id},
                                        "deletionPolicy": "Retain"})
    assert reasons(cluster.delete("Certificate", "lb")) == ["Retained"]
    # The session's moto server is shared: leave no load balancer for the ELBv2 kinds' tests.
    elb.delete_listener(ListenerArn=listener["Listeners"][0]["ListenerArn"])
    elb.delete_load_balancer(LoadBalancerArn=lb)
    elb.delete_target_group(TargetGroupArn=target["TargetGroupArn"])


def test_a_record_another_certificate_validates_with_stays(cluster, acm, route53, pending):
    pending()
    zone_id = zone(route53, "shared.example")
    cluster.apply("Certificate", "one", {"domainName": "shared.example", "validation": {"hostedZoneId": zone_id}})
    converge(cluster, [("Certificate", "one")])
    other = acm.request_certificate(DomainName="shared.example", ValidationMethod="DNS")["CertificateArn"]
    written = cnames(route53, zone_id)
    assert reasons(cluster.delete("Certificate", "one")) == ["Deleted"]
    assert cnames(route53, zone_id) == written
    acm.delete_certificate(CertificateArn=other)


def test_drift_and_metrics_of_a_certificate(aws, telemetry, acm, pending):
    pending()
    cluster = Cluster(make_engine(aws, telemetry))
    cluster.apply("Certificate", "m", {"domainName": "metrics.example", "tags": {"team": "a"}})
    arn = converge(cluster, [("Certificate", "m")])[-1][1].status["certificateArn"]
    acm.add_tags_to_certificate(CertificateArn=arn, Tags=[{"Key": "team", "Value": "evil"}])
    assert reasons(cluster.reconcile("Certificate", "m", trigger="resync")) == ["DriftHealed"]
    assert cert_tags(acm, arn)["team"] == "a"
    samples = telemetry.sample_values()
    assert kind_metrics(samples, "Certificate") == {"drift info": 1, "healed": 1, "reconcile success": 2, "ready": 1}
    assert calls_of(samples, "ACM", "RequestCertificate", "AddTagsToCertificate") == {
        "RequestCertificate": 1, "AddTagsToCertificate": 1}  # the operator's: create, then the heal
    cluster.delete("Certificate", "m")
    assert calls_of(telemetry.sample_values(), "ACM", "DeleteCertificate") == {"DeleteCertificate": 1}


def test_retain_and_adoption(cluster, acm, pending):
    pending()
    cluster.apply("Certificate", "kept", {"domainName": "kept.example", "deletionPolicy": "Retain",
                                          "tags": {"keep": "me"}})
    arn = cluster.reconcile("Certificate", "kept").status["certificateArn"]
    cluster.bodies[("Certificate", "kept")]["status"] = {}  # the operator died before writing status
    again = cluster.reconcile("Certificate", "kept")
    assert reasons(again) == ["Adopted"] and again.status["certificateArn"] == arn
    assert reasons(cluster.delete("Certificate", "kept")) == ["Retained"]
    assert cert_tags(acm, arn) == {"keep": "me"}
    acm.delete_certificate(CertificateArn=arn)


def test_a_changed_domain_needs_replacement(cluster, pending):
    pending()
    cluster.apply("Certificate", "r", {"domainName": "first.example"})
    converge(cluster, [("Certificate", "r")])
    cluster.apply("Certificate", "r", {"domainName": "second.example"})
    refused = cluster.reconcile("Certificate", "r", trigger="update")
    assert ready_reason(refused) == "ReplacementRequired" and "domainName, subjectAlternativeNames" in refused.message
    cluster.apply("Certificate", "r", {"domainName": "first.example"})
    cluster.delete("Certificate", "r")


def test_the_idempotency_token_is_in_acms_alphabet():
    assert re.fullmatch(r"\w{1,32}", Certificate.token.from_uid(str(uuid.uuid4())))


@pytest.mark.parametrize("spec, reason, message", [
    ({"validationMethod": "EMAIL", "validation": {"hostedZoneId": "Z123"}}, "InvalidSpec", "need validationMethod DNS"),
    ({"validation": {"hostedZoneId": "Z123", "hostedZoneRef": {"name": "zone"}}}, "ConflictingReference", "not both"),
    ({"validation": {"hostedZoneRef": {"name": "zone"}}}, "DependencyNotReady", "Route53HostedZone zone"),
    ({"tags": {"infra-operator.dev/validation-zone": "Z1"}}, "InvalidTags", "reserved"),
], ids=["zone-with-email", "ref-and-id", "zone-not-ready", "reserved-tag"])
def test_bad_input_is_answered_without_an_aws_call(cluster, calls, spec, reason, message):
    refused(cluster, calls, "Certificate", {"domainName": "bad.example", **spec}, reason, message)
