"""Route53HostedZone and Route53RecordSet through the engine against moto over HTTP, without
kopf: create, update, drift healed with its severity, delete (forceDestroy, the non-empty zone
refused), Retain, adoption after a crash, records the operator did not make left alone, aliases
to our distribution and API by reference, and bad input stopped before AWS."""

from __future__ import annotations

import pathlib
import random

import moto.settings
import pytest
import yaml

from conftest import (Cluster, check_retain, check_stopped_before_aws, converge, delete_all, make_engine,
                      ready_reason, reasons, value)
from infra_operator.operator.services.route53 import change_records, find_record, zone_records
from test_apigateway import DOMAIN_TARGET, TARGET, TARGET_ZONE

OWNER_UID = "infra-operator.dev/owner-uid"
DISTRIBUTION = {"origins": [{"id": "web", "domainName": "backend.shop.example.com"}],
                "defaultCacheBehavior": {"targetOriginId": "web"}}


def zone_tags(route53, zone: str) -> dict[str, str]:
    tags = route53.list_tags_for_resource(ResourceType="hostedzone", ResourceId=zone)["ResourceTagSet"]
    return {tag["Key"]: tag["Value"] for tag in tags.get("Tags", ())}


def our_zone(cluster: Cluster, name: str = "z", zone: str = "shop.example.com", **spec) -> str:
    cluster.apply("Route53HostedZone", name, {"zoneName": zone, **spec})
    return converge(cluster, [("Route53HostedZone", name)])[-1][1].status["hostedZoneId"]


def test_public_zone_create_update_drift_delete(aws, telemetry, calls):
    route53 = aws.client("route53")
    cluster = Cluster(make_engine(aws, telemetry, calls))
    cluster.apply("Route53HostedZone", "z", {"zoneName": "shop.example.com", "comment": "shop",
                                             "tags": {"team": "shop"}})
    created = converge(cluster, [("Route53HostedZone", "z")])[-1][1]
    status = created.status
    zone = status["hostedZoneId"]
    assert ready_reason(created) == "Available" and status["zoneName"] == "shop.example.com."
    assert len(status["nameServers"]) == 4 and status["privateZone"] is False
    described = route53.get_hosted_zone(Id=zone)["HostedZone"]
    assert described["CallerReference"] == cluster.uid("Route53HostedZone", "z").replace("-", "")
    assert zone_tags(route53, zone)["team"] == "shop"
    assert zone_tags(route53, zone)[OWNER_UID] == cluster.uid("Route53HostedZone", "z")

    cluster.apply("Route53HostedZone", "z", {"zoneName": "shop.example.com", "comment": "the shop",
                                             "tags": {"team": "retail"}})
    updated = cluster.reconcile("Route53HostedZone", "z", "update")
    assert reasons(updated) == ["Updated"] and updated.status["hostedZoneId"] == zone
    assert route53.get_hosted_zone(Id=zone)["HostedZone"]["Config"]["Comment"] == "the shop"
    assert zone_tags(route53, zone)["team"] == "retail"

    route53.update_hosted_zone_comment(Id=zone, Comment="someone else's")
    healed = cluster.reconcile("Route53HostedZone", "z", "resync")
    assert reasons(healed) == ["DriftHealed"]
    assert route53.get_hosted_zone(Id=zone)["HostedZone"]["Config"]["Comment"] == "the shop"
    assert reasons(cluster.reconcile("Route53HostedZone", "z", "resync")) == []

    gone = cluster.delete("Route53HostedZone", "z")
    assert gone.retry_after is None and "Deleted" in reasons(gone)
    assert all(z["Id"].split("/")[-1] != zone for z in route53.list_hosted_zones()["HostedZones"])
    samples = telemetry.sample_values()
    assert value(samples, "infra_operator_drift_detected_total", resource_type="Route53HostedZone",
                 severity="info") == 1
    assert value(samples, "infra_operator_drift_healed_total", resource_type="Route53HostedZone") == 1
    assert value(samples, "infra_operator_reconcile_total", resource_type="Route53HostedZone", result="success") == 4
    assert value(samples, "infra_operator_reconcile_total", resource_type="Route53HostedZone", result="error") == 0
    for operation, count in {"CreateHostedZone": 1, "DeleteHostedZone": 1, "UpdateHostedZoneComment": 2}.items():
        assert value(samples, "infra_operator_aws_api_calls_total", service="Route53", operation=operation,
                     result="success") == count


def test_private_zone_vpcs_added_and_removed(aws, cluster):
    route53 = aws.client("route53")
    for name, cidr in (("a", "10.10.0.0/16"), ("b", "10.11.0.0/16")):
        cluster.apply("VPC", name, {"cidrBlock": cidr, "enableDnsSupport": True, "enableDnsHostnames": True})
    converge(cluster, [("VPC", "a"), ("VPC", "b")])
    a, b = (cluster.status("VPC", n)["vpcId"] for n in "ab")
    zone = our_zone(cluster, zone="internal.shop", vpcs=[{"vpcRef": {"name": "a"}}])
    assert cluster.status("Route53HostedZone", "z")["privateZone"] is True
    assert [v["VPCId"] for v in route53.get_hosted_zone(Id=zone)["VPCs"]] == [a]

    cluster.apply("Route53HostedZone", "z", {"zoneName": "internal.shop", "vpcs": [{"vpcRef": {"name": "b"}}]})
    assert reasons(cluster.reconcile("Route53HostedZone", "z", "update")) == ["Updated"]
    assert [v["VPCId"] for v in route53.get_hosted_zone(Id=zone)["VPCs"]] == [b]

    # Out of band: the first VPC associated again (who can resolve the zone is security).
    route53.associate_vpc_with_hosted_zone(HostedZoneId=zone, VPC={"VPCId": a, "VPCRegion": "us-east-1"})
    assert reasons(cluster.reconcile("Route53HostedZone", "z", "resync")) == ["DriftHealed"]
    assert [v["VPCId"] for v in route53.get_hosted_zone(Id=zone)["VPCs"]] == [b]

    # A private zone cannot turn public.
    cluster.apply("Route53HostedZone", "z", {"zoneName": "internal.shop"})
    assert ready_reason(cluster.reconcile("Route53HostedZone", "z", "update")) == "ReplacementRequired"
    cluster.apply("Route53HostedZone", "z", {"zoneName": "internal.shop", "vpcs": [{"vpcRef": {"name": "b"}}]})
    delete_all(cluster, [("Route53HostedZone", "z")])
    delete_all(cluster, [("VPC", "a"), ("VPC", "b")])


def test_a_zone_with_records_is_deleted_only_with_force_destroy(aws, cluster):
    route53 = aws.client("route53")
    zone = our_zone(cluster)
    change_records(route53, zone, [("CREATE", {"Name": "www.shop.example.com", "Type": "A", "TTL": 60,
                                               "ResourceRecords": [{"Value": "192.0.2.1"}]})])
    refused = cluster.delete("Route53HostedZone", "z")
    assert ready_reason(refused) == "DeletionProtected" and refused.retry_after is not None
    cluster.apply("Route53HostedZone", "z", {"zoneName": "shop.example.com", "forceDestroy": True})
    gone = cluster.delete("Route53HostedZone", "z")
    assert gone.retry_after is None and "Deleted" in reasons(gone)
    assert all(z["Id"].split("/")[-1] != zone for z in route53.list_hosted_zones()["HostedZones"])


def test_zone_retain_and_adoption_by_caller_reference(aws, cluster):
    route53 = aws.client("route53")
    zone = check_retain(cluster, "Route53HostedZone", {"zoneName": "kept.example.com"},
                        lambda status: zone_tags(route53, status["hostedZoneId"]))
    route53.delete_hosted_zone(Id=zone)

    made = our_zone(cluster, "adopted", "adopted.example.com")
    cluster.bodies[("Route53HostedZone", "adopted")]["status"] = {}
    again = converge(cluster, [("Route53HostedZone", "adopted")])[0][1]
    assert reasons(again)[0] == "Adopted" and again.status["hostedZoneId"] == made
    assert len(route53.list_hosted_zones_by_name(DNSName="adopted.example.com")["HostedZones"]) == 1
    delete_all(cluster, [("Route53HostedZone", "adopted")])


@pytest.mark.parametrize("spec, reason", [
    ({"zoneName": "a.example", "delegationSetId": "N1", "vpcs": [{"vpcId": "vpc-0abc"}]}, "InvalidSpec"),
    ({"zoneName": "a.example", "vpcs": [{"vpcId": "vpc-0abc"}, {"vpcId": "vpc-0abc"}]}, "DuplicateVPC"),
    ({"zoneName": "a.example", "vpcs": [{}]}, "MissingReference"),
    ({"zoneName": "a.example", "tags": {"aws:x": "y"}}, "InvalidTags"),
])
def test_invalid_zone_specs_stop_before_any_aws_call(cluster, calls, spec, reason):
    check_stopped_before_aws(cluster, calls, "Route53HostedZone", spec, reason)


def record(route53, zone: str, name: str, record_type: str = "A", set_identifier: str = ""):
    return find_record(route53, zone, name, record_type, set_identifier)


def test_record_set_create_update_drift_delete(aws, telemetry, calls):
    route53 = aws.client("route53")
    cluster = Cluster(make_engine(aws, telemetry, calls))
    cluster.apply("Route53RecordSet", "www", {"hostedZoneRef": {"name": "z"}, "name": "www.shop.example.com",
                                              "type": "A", "ttl": 300, "records": ["192.0.2.10", "192.0.2.11"]})
    cluster.apply("Route53HostedZone", "z", {"zoneName": "shop.example.com"})
    converge(cluster, [("Route53RecordSet", "www"), ("Route53HostedZone", "z")])
    zone = cluster.status("Route53HostedZone", "z")["hostedZoneId"]
    status = cluster.status("Route53RecordSet", "www")
    assert status["recordKey"] == f"{zone}/www.shop.example.com./A/"
    assert (status["fqdn"], status["changeStatus"]) == ("www.shop.example.com.", "INSYNC")
    made = record(route53, zone, "www.shop.example.com")
    assert made["TTL"] == 300 and sorted(v["Value"] for v in made["ResourceRecords"]) == ["192.0.2.10", "192.0.2.11"]
    annotations = cluster.bodies[("Route53RecordSet", "www")]["metadata"].get("annotations", {})
    assert "infra-operator.dev/create-pending" not in annotations

    cluster.apply("Route53RecordSet", "www", {"hostedZoneRef": {"name": "z"}, "name": "www.shop.example.com",
                                              "type": "A", "ttl": 60, "records": ["192.0.2.12"]})
    assert reasons(cluster.reconcile("Route53RecordSet", "www", "update")) == ["Updated"]
    made = record(route53, zone, "www.shop.example.com")
    assert made["TTL"] == 60 and made["ResourceRecords"] == [{"Value": "192.0.2.12"}]

    # Out of band: the address is pointed elsewhere.
    change_records(route53, zone, [("UPSERT", {**made, "ResourceRecords": [{"Value": "203.0.113.66"}]})])
    assert reasons(cluster.reconcile("Route53RecordSet", "www", "resync")) == ["DriftHealed"]
    assert record(route53, zone, "www.shop.example.com")["ResourceRecords"] == [{"Value": "192.0.2.12"}]

    # The zone waits for its record set (a dependent) before it goes.
    assert ready_reason(cluster.delete("Route53HostedZone", "z")) == "DependentsExist"
    delete_all(cluster, [("Route53RecordSet", "www"), ("Route53HostedZone", "z")])
    samples = telemetry.sample_values()
    assert value(samples, "infra_operator_drift_detected_total", resource_type="Route53RecordSet",
                 severity="critical") == 1
    assert value(samples, "infra_operator_drift_healed_total", resource_type="Route53RecordSet") == 1
    assert value(samples, "infra_operator_reconcile_total", resource_type="Route53RecordSet", result="error") == 0
    # CREATE at the create, UPSERT at the update and the heal, DELETE; the test's own UPSERT.
    assert value(samples, "infra_operator_aws_api_calls_total", service="Route53",
                 operation="ChangeResourceRecordSets", result="success") == 4


def test_alias_and_weighted_records(aws, cluster):
    route53 = aws.client("route53")
    zone = our_zone(cluster)
    alias = {"dnsName": "shop-lb-1234.us-east-1.elb.amazonaws.com", "hostedZoneId": "Z35SXDOTRQ7X7K",
             "evaluateTargetHealth": True}
    for name, weight in (("blue", 90), ("green", 10)):
        cluster.apply("Route53RecordSet", name, {"hostedZoneId": zone, "name": "app.shop.example.com", "type": "A",
                                                 "aliasTarget": alias, "setIdentifier": name, "weight": weight})
    converge(cluster, [("Route53RecordSet", "blue"), ("Route53RecordSet", "green")])
    blue = record(route53, zone, "app.shop.example.com", set_identifier="blue")
    assert blue["Weight"] == 90 and blue["AliasTarget"]["DNSName"].startswith("shop-lb-1234")
    assert record(route53, zone, "app.shop.example.com", set_identifier="green")["Weight"] == 10
    cluster.apply("Route53RecordSet", "green", {"hostedZoneId": zone, "name": "app.shop.example.com", "type": "A",
                                                "aliasTarget": alias, "setIdentifier": "green", "weight": 50})
    assert reasons(cluster.reconcile("Route53RecordSet", "green", "update")) == ["Updated"]
    assert record(route53, zone, "app.shop.example.com", set_identifier="green")["Weight"] == 50
    assert record(route53, zone, "app.shop.example.com", set_identifier="blue")["Weight"] == 90
    delete_all(cluster, [("Route53RecordSet", "blue"), ("Route53RecordSet", "green"), ("Route53HostedZone", "z")])


def test_aliases_to_our_distribution_and_api_by_reference(aws, cluster):
    route53 = aws.client("route53")
    aws.faults.rewrite(*DOMAIN_TARGET, "apigateway", path=r"GET /v2/domainnames")
    certificate = aws.client("acm").request_certificate(DomainName="api.shop.example.com")["CertificateArn"]
    cluster.apply("CloudFront", "cdn", DISTRIBUTION)
    cluster.apply("APIGateway", "api", {"name": "shop", "domain": {"name": "api.shop.example.com",
                                                                   "certificateArn": certificate}})
    for name, ref in (("cdn", {"cloudFrontRef": {"name": "cdn"}}), ("api", {"apiGatewayRef": {"name": "api"}})):
        cluster.apply("Route53RecordSet", name, {"hostedZoneRef": {"name": "z"}, "name": f"{name}.shop.example.com",
                                                 "type": "A", "aliasTarget": ref})
    our_zone(cluster)
    keys = [("CloudFront", "cdn"), ("APIGateway", "api"), ("Route53RecordSet", "cdn"), ("Route53RecordSet", "api")]
    converge(cluster, keys)
    zone = cluster.status("Route53HostedZone", "z")["hostedZoneId"]
    cdn = record(route53, zone, "cdn.shop.example.com")["AliasTarget"]
    assert (cdn["DNSName"], cdn["HostedZoneId"]) == (cluster.status("CloudFront", "cdn")["domainName"] + ".",
                                                     "Z2FDTNDATAQYW2")
    api = record(route53, zone, "api.shop.example.com")["AliasTarget"]
    assert (api["DNSName"], api["HostedZoneId"]) == (TARGET + ".", TARGET_ZONE)
    assert reasons(cluster.reconcile("Route53RecordSet", "api", "resync")) == []
    delete_all(cluster, [*keys, ("Route53HostedZone", "z")])


def test_an_alias_to_an_api_without_a_custom_domain_is_refused(aws, cluster, calls):
    our_zone(cluster)
    cluster.apply("APIGateway", "api", {"name": "plain"})
    converge(cluster, [("APIGateway", "api")])
    before = calls.total()
    cluster.apply("Route53RecordSet", "api", {"hostedZoneRef": {"name": "z"}, "name": "api.shop.example.com",
                                              "type": "A", "aliasTarget": {"apiGatewayRef": {"name": "api"}}})
    refused = cluster.reconcile("Route53RecordSet", "api")
    assert ready_reason(refused) == "NoCustomDomain" and refused.permanent and "spec.domain" in refused.message
    assert calls.total() == before
    delete_all(cluster, [("Route53RecordSet", "api"), ("APIGateway", "api"), ("Route53HostedZone", "z")])


def test_a_record_the_operator_did_not_make_is_not_overwritten(aws, cluster, calls):
    route53 = aws.client("route53")
    zone = our_zone(cluster)
    theirs = {"Name": "mail.shop.example.com", "Type": "MX", "TTL": 300, "ResourceRecords": [{"Value": "10 mx.a."}]}
    change_records(route53, zone, [("CREATE", theirs)])
    spec = {"hostedZoneRef": {"name": "z"}, "name": "mail.shop.example.com", "type": "MX", "ttl": 60,
            "records": ["10 mx.ours."]}
    cluster.apply("Route53RecordSet", "mx", spec)
    taken = cluster.reconcile("Route53RecordSet", "mx")
    assert ready_reason(taken) == "NameTaken" and taken.permanent
    assert record(route53, zone, "mail.shop.example.com", "MX")["ResourceRecords"] == [{"Value": "10 mx.a."}]

    cluster.apply("Route53RecordSet", "mx", {**spec, "allowOverwrite": True})
    converge(cluster, [("Route53RecordSet", "mx")])
    assert record(route53, zone, "mail.shop.example.com", "MX")["ResourceRecords"] == [{"Value": "10 mx.ours."}]
    cluster.apply("Route53HostedZone", "z", {"zoneName": "shop.example.com", "forceDestroy": True})
    delete_all(cluster, [("Route53RecordSet", "mx"), ("Route53HostedZone", "z")])


def test_record_adoption_after_a_crash_and_retain(aws, cluster):
    route53 = aws.client("route53")
    zone = our_zone(cluster)
    spec = {"hostedZoneId": zone, "name": "api.shop.example.com", "type": "CNAME", "ttl": 60,
            "records": ["shop-api.example.net"]}
    cluster.apply("Route53RecordSet", "api", spec)
    first = cluster.reconcile("Route53RecordSet", "api")
    assert first.rerun and "infra-operator.dev/create-pending" in first.annotations  # recorded before the change
    made = converge(cluster, [("Route53RecordSet", "api")])[0][1].status["recordKey"]
    body = cluster.bodies[("Route53RecordSet", "api")]
    # A crash between the change and the status write: the pending record is still there.
    body["status"] = {}
    body["metadata"]["annotations"]["infra-operator.dev/create-pending"] = "x"
    again = converge(cluster, [("Route53RecordSet", "api")])[0][1]
    assert reasons(again)[0] == "Adopted" and again.status["recordKey"] == made

    cluster.apply("Route53RecordSet", "api", {**spec, "deletionPolicy": "Retain"})
    converge(cluster, [("Route53RecordSet", "api")])
    kept = cluster.delete("Route53RecordSet", "api")
    assert kept.retry_after is None and record(route53, zone, "api.shop.example.com", "CNAME") is not None
    assert len([r for r in zone_records(route53, zone) if r["Type"] == "CNAME"]) == 1
    cluster.apply("Route53HostedZone", "z", {"zoneName": "shop.example.com", "forceDestroy": True})
    delete_all(cluster, [("Route53HostedZone", "z")])


def test_a_pending_change_is_ready_once_insync(aws, cluster):
    """moto answers every change INSYNC at once: GetChange answers PENDING here until told."""
    route53 = aws.client("route53")
    zone = our_zone(cluster)
    pending = {"on": True}

    def answer(parsed, model, **_):
        if model.name == "GetChange" and pending["on"]:
            parsed["ChangeInfo"]["Status"] = "PENDING"
    cluster.engine.providers.get("ns/aws").client("route53").meta.events.register("after-call", answer)
    cluster.apply("Route53RecordSet", "r", {"hostedZoneId": zone, "name": "r.shop.example.com", "type": "TXT",
                                            "ttl": 60, "records": ['"v=spf1 -all"']})
    cluster.reconcile("Route53RecordSet", "r")
    waiting = cluster.reconcile("Route53RecordSet", "r")
    assert ready_reason(waiting) == "Provisioning" and waiting.retry_after is not None
    assert waiting.status["changeStatus"] == "PENDING"
    pending["on"] = False
    ready = cluster.reconcile("Route53RecordSet", "r")
    assert ready_reason(ready) == "Available" and ready.status["changeStatus"] == "INSYNC"
    cluster.apply("Route53HostedZone", "z", {"zoneName": "shop.example.com", "forceDestroy": True})
    delete_all(cluster, [("Route53RecordSet", "r"), ("Route53HostedZone", "z")])


@pytest.mark.parametrize("spec, reason", [
    ({"name": "a.shop.example.com", "type": "A", "ttl": 60}, "InvalidSpec"),
    ({"name": "a.shop.example.com", "type": "A", "ttl": 60, "records": ["192.0.2.1"], "weight": 1}, "InvalidSpec"),
    ({"name": "a.shop.example.com", "type": "A", "records": ["192.0.2.1"]}, "InvalidSpec"),
    ({"name": "a.shop.example.com", "type": "A", "ttl": 60, "records": ["192.0.2.1"], "setIdentifier": "x",
      "weight": 1, "failover": "PRIMARY"}, "InvalidSpec"),
    ({"hostedZoneRef": None, "name": "a.shop.example.com", "type": "A", "ttl": 60, "records": ["1.2.3.4"]},
     "MissingReference"),
    ({"name": "a.shop.example.com", "type": "A",
      "aliasTarget": {"cloudFrontRef": {"name": "cdn"}, "hostedZoneId": "Z2FDTNDATAQYW2"}}, "ConflictingReference"),
    ({"name": "a.shop.example.com", "type": "A",
      "aliasTarget": {"cloudFrontRef": {"name": "cdn"}, "apiGatewayRef": {"name": "api"}}}, "InvalidSpec"),
    ({"name": "a.shop.example.com", "type": "A",
      "aliasTarget": {"cloudFrontRef": {"name": "cdn"}, "evaluateTargetHealth": True}}, "InvalidSpec"),
])
def test_invalid_record_specs_stop_before_any_aws_call(cluster, calls, spec, reason):
    spec = {"hostedZoneId": "Z0123456789", **spec}
    if "hostedZoneRef" in spec:
        del spec["hostedZoneRef"], spec["hostedZoneId"]
    check_stopped_before_aws(cluster, calls, "Route53RecordSet", spec, reason)


def test_a_record_outside_its_zone_is_refused(aws, cluster, calls):
    our_zone(cluster)
    before = calls.total()
    cluster.apply("Route53RecordSet", "far", {"hostedZoneRef": {"name": "z"}, "name": "www.elsewhere.org",
                                              "type": "A", "ttl": 60, "records": ["192.0.2.1"]})
    outcome = cluster.reconcile("Route53RecordSet", "far")
    assert ready_reason(outcome) == "NotInZone" and outcome.permanent and calls.total() == before
    del cluster.bodies[("Route53RecordSet", "far")]
    delete_all(cluster, [("Route53HostedZone", "z")])


def test_dns_sample_converges_in_the_sample_vpc_and_leaves_nothing(aws, cluster, monkeypatch):
    """samples/60-dns.yaml with the network, storage, certificate, distribution and load balancer
    samples it references (directly or through what its aliases name), applied at once in any
    order; moto issues the certificate at once."""
    monkeypatch.setattr(moto.settings, "ACM_VALIDATION_WAIT", -1)
    route53 = aws.client("route53")
    samples = pathlib.Path(__file__).parents[2] / "samples"
    documents = [doc for name in ("20-network.yaml", "30-storage.yaml", "32-certificate.yaml", "75-cdn.yaml",
                                  "80-loadbalancers.yaml", "60-dns.yaml")
                 for doc in yaml.safe_load_all((samples / name).read_text()) if doc]
    random.Random(7).shuffle(documents)
    for doc in documents:
        cluster.apply(doc["kind"], doc["metadata"]["name"], doc["spec"])
    keys = list(cluster.bodies)
    converge(cluster, keys, shuffle=random.Random(7).shuffle)
    internal = cluster.status("Route53HostedZone", "shop-internal")["hostedZoneId"]
    assert [v["VPCId"] for v in route53.get_hosted_zone(Id=internal)["VPCs"]] == [cluster.status("VPC", "main")["vpcId"]]
    assert record(route53, internal, "orders-db.shop.internal", "CNAME")["TTL"] == 300
    shop = cluster.status("Route53HostedZone", "shop")["hostedZoneId"]
    alias = record(route53, shop, "www.shop.example.com")["AliasTarget"]
    alb = cluster.status("ALB", "shop")
    assert (alias["DNSName"], alias["HostedZoneId"]) == (alb["dnsName"] + ".", alb["canonicalHostedZoneId"])
    app = record(route53, shop, "app.shop.example.com")["AliasTarget"]
    assert (app["DNSName"], app["HostedZoneId"]) == (cluster.status("CloudFront", "shop")["domainName"] + ".",
                                                     "Z2FDTNDATAQYW2")
    assert all(ready_reason(cluster.status(*key)) == "Available" for key in keys)
    delete_all(cluster, keys, shuffle=random.Random(7).shuffle)
    assert not [z for z in route53.list_hosted_zones()["HostedZones"] if z["Id"].split("/")[-1] in (shop, internal)]
