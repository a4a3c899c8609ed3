"""CloudFront through the engine against moto over HTTP, without kopf: create (in progress until
deployed), update with the ETag, drift healed, delete (disabled first), Retain, adoption by
CallerReference, the aliases' certificate by reference to a Certificate, origins by reference to
an S3Bucket (through the object's origin access control, released after the distribution) or an
ALB, ordered cache behaviours (their order is drift-checked), bad input stopped before AWS. moto
deploys after one describe and does not enforce ETags: a stale ETag (PreconditionFailed) is not
tested. moto keeps neither an origin's S3OriginConfig nor its OriginAccessControlId: the
configs the operator sends are recorded, and moto's answers get both back as AWS gives them."""

from __future__ import annotations

import moto.settings
import pytest

from conftest import (KINDS, Cluster, check_adoption_after_a_lost_status_write, check_retain, check_stopped_before_aws,
                      converge, delete_all, make_engine, ready_reason, reasons, value)
from infra_operator.operator.provider.errors import InProgress
from infra_operator.telemetry import Telemetry
from test_elbv2 import network  # noqa: F401 (a fixture: a VPC with two subnets and a security group)

SPEC = {"comment": "shop assets", "origins": [{"id": "web", "domainName": "backend.shop.example.com"}],
        "defaultCacheBehavior": {"targetOriginId": "web"}}


def test_create_update_drift_delete(aws, telemetry, calls):
    cloudfront = aws.client("cloudfront")
    cluster = Cluster(make_engine(aws, telemetry, calls))
    cluster.apply("CloudFront", "cdn", {**SPEC, "tags": {"team": "shop"}})
    assert ready_reason(converge(cluster, [("CloudFront", "cdn")])[-1][1]) == "Available"
    status = cluster.status("CloudFront", "cdn")
    ident = status["distributionId"]
    assert status["distributionStatus"] == "Deployed" and status["domainName"].endswith("cloudfront.net")
    config = cloudfront.get_distribution_config(Id=ident)["DistributionConfig"]
    assert config["CallerReference"] == cluster.uid("CloudFront", "cdn").replace("-", "")
    assert config["Origins"]["Items"][0]["DomainName"] == "backend.shop.example.com"

    cluster.apply("CloudFront", "cdn", {**SPEC, "comment": "v2", "priceClass": "PriceClass_100",
                                        "tags": {"team": "shop"}})
    converge(cluster, [("CloudFront", "cdn")])
    config = cloudfront.get_distribution_config(Id=ident)["DistributionConfig"]
    assert (config["Comment"], config["PriceClass"]) == ("v2", "PriceClass_100")

    current = cloudfront.get_distribution_config(Id=ident)
    cloudfront.update_distribution(Id=ident, IfMatch=current["ETag"],
                                   DistributionConfig={**current["DistributionConfig"], "Enabled": False})
    healed = cluster.reconcile("CloudFront", "cdn", "resync")
    assert reasons(healed) == ["DriftHealed"]
    assert cloudfront.get_distribution_config(Id=ident)["DistributionConfig"]["Enabled"] is True

    delete_all(cluster, [("CloudFront", "cdn")])
    assert not cloudfront.list_distributions()["DistributionList"].get("Items")
    samples = telemetry.sample_values()
    assert value(samples, "infra_operator_drift_detected_total", resource_type="CloudFront", severity="critical") == 1
    assert value(samples, "infra_operator_reconcile_total", resource_type="CloudFront", result="error") == 0
    for operation, count in {"CreateDistributionWithTags": 1, "DeleteDistribution": 1}.items():
        assert value(samples, "infra_operator_aws_api_calls_total", service="CloudFront", operation=operation,
                     result="success") == count, operation


def test_retain_and_adoption(aws, cluster):
    cloudfront = aws.client("cloudfront")

    def tags(status):
        arn = cloudfront.get_distribution(Id=status["distributionId"])["Distribution"]["ARN"]
        return {t["Key"]: t["Value"] for t in cloudfront.list_tags_for_resource(Resource=arn)["Tags"].get("Items", [])}
    check_retain(cluster, "CloudFront", SPEC, tags)
    check_adoption_after_a_lost_status_write(cluster, "CloudFront", SPEC)


def test_the_aliases_certificate_by_reference(aws, cluster, monkeypatch):
    def distributions() -> int:
        return aws.client("cloudfront").list_distributions()["DistributionList"]["Quantity"]

    monkeypatch.setattr(moto.settings, "ACM_VALIDATION_WAIT", 10 ** 6)  # the certificate stays pending
    before = distributions()
    cluster.apply("Certificate", "cdn", {"domainName": "cdn.shop.example"})
    cluster.apply("CloudFront", "cdn", {**SPEC, "aliases": ["cdn.shop.example"], "acmCertificateRef": {"name": "cdn"}})
    cluster.reconcile("Certificate", "cdn")
    waiting = cluster.reconcile("CloudFront", "cdn")
    assert ready_reason(waiting) == "DependencyNotReady" and "Certificate cdn" in waiting.message
    assert distributions() == before

    monkeypatch.setattr(moto.settings, "ACM_VALIDATION_WAIT", -1)  # issued at the next describe
    converge(cluster, [("Certificate", "cdn"), ("CloudFront", "cdn")])
    arn = cluster.status("Certificate", "cdn")["certificateArn"]
    config = aws.client("cloudfront").get_distribution_config(
        Id=cluster.status("CloudFront", "cdn")["distributionId"])["DistributionConfig"]
    assert config["ViewerCertificate"]["ACMCertificateArn"] == arn
    assert config["Aliases"]["Items"] == ["cdn.shop.example"]
    delete_all(cluster, [("CloudFront", "cdn"), ("Certificate", "cdn")])
    assert distributions() == before


def test_in_progress_until_deployed():
    """moto's distribution is deployed by the describe that follows its create, so the engine
    never sees it in progress there: the kind's answer is checked on a description."""
    raw = {"Id": "E1", "Status": "InProgress"}
    with pytest.raises(InProgress):
        KINDS["CloudFront"].available(raw)
    assert KINDS["CloudFront"].available({**raw, "Status": "Deployed"})


@pytest.mark.parametrize("spec, reason", [
    ({**SPEC, "defaultCacheBehavior": {"targetOriginId": "nowhere"}}, "UnknownOrigin"),
    ({**SPEC, "cacheBehaviors": [{"pathPattern": "/api/*", "targetOriginId": "api"}]}, "UnknownOrigin"),
    ({**SPEC, "cacheBehaviors": [{"pathPattern": "/a/*", "targetOriginId": "web"},
                                 {"pathPattern": "/a/*", "targetOriginId": "web", "compress": False}]},
     "DuplicatePathPattern"),
    ({**SPEC, "defaultCacheBehavior": {"targetOriginId": "web", "cachedMethods": "GET_HEAD_OPTIONS"}}, "InvalidSpec"),
    ({**SPEC, "origins": [{"id": "web", "bucketRef": {"name": "b"}, "albRef": {"name": "a"}}]},
     "ConflictingReference"),
    ({**SPEC, "origins": [{"id": "web", "bucketRef": {"name": "b"}, "domainName": "b.example.com"}]},
     "ConflictingReference"),
    ({**SPEC, "origins": [{"id": "web"}]}, "MissingReference"),
    ({**SPEC, "origins": [{"id": "web", "bucketRef": {"name": "b"}, "originProtocolPolicy": "http-only"}]},
     "InvalidSpec"),
    ({**SPEC, "aliases": ["cdn.shop.example.com"]}, "InvalidSpec"),
    ({**SPEC, "origins": SPEC["origins"] * 2}, "DuplicateOrigin"),
])
def test_invalid_specs_stop_before_any_aws_call(cluster, calls, spec, reason):
    check_stopped_before_aws(cluster, calls, "CloudFront", spec, reason)


# An S3 origin as AWS describes it once it has an origin access control (moto drops both).
S3_ORIGIN = (r"(<DomainName>[^<]+\.s3\.[a-z0-9-]+\.amazonaws\.com</DomainName>)",
             r"\1<S3OriginConfig><OriginAccessIdentity></OriginAccessIdentity></S3OriginConfig>"
             r"<OriginAccessControlId>E2EXAMPLE</OriginAccessControlId>")
ASSETS = {"bucketName": "shop-cdn-assets"}
WITH_ASSETS = {**SPEC, "origins": [*SPEC["origins"], {"id": "assets", "bucketRef": {"name": "assets"}}],
               "cacheBehaviors": [{"pathPattern": "/static/*", "targetOriginId": "assets"}]}


class SentConfigs:
    """The DistributionConfig of every CreateDistributionWithTags and UpdateDistribution sent."""

    def __init__(self):
        self.configs = []

    def register(self, events) -> None:
        events.register("provide-client-params.cloudfront.CreateDistributionWithTags",
                        lambda params, **_: self.configs.append(params["DistributionConfigWithTags"]["DistributionConfig"]))
        events.register("provide-client-params.cloudfront.UpdateDistribution",
                        lambda params, **_: self.configs.append(params["DistributionConfig"]))


def access_controls(aws) -> dict[str, str]:
    items = aws.client("cloudfront").list_origin_access_controls()["OriginAccessControlList"].get("Items") or ()
    return {item["Name"]: item["Id"] for item in items}


def test_bucket_origin_through_its_access_control_released_after_the_distribution(aws):
    aws.faults.rewrite(*S3_ORIGIN, service="cloudfront")
    sent = SentConfigs()
    cluster = Cluster(make_engine(aws, Telemetry.noop(), sent))
    cluster.apply("S3Bucket", "assets", ASSETS)
    cluster.apply("CloudFront", "cdn", WITH_ASSETS)
    waiting = cluster.reconcile("CloudFront", "cdn")
    assert ready_reason(waiting) == "DependencyNotReady" and not access_controls(aws) and not sent.configs
    converge(cluster, [("S3Bucket", "assets"), ("CloudFront", "cdn")])
    name = "infra-operator-" + cluster.uid("CloudFront", "cdn").replace("-", "")
    assert list(access_controls(aws)) == [name]
    control = aws.client("cloudfront").get_origin_access_control(Id=access_controls(aws)[name])
    config = control["OriginAccessControl"]["OriginAccessControlConfig"]
    assert (config["SigningProtocol"], config["SigningBehavior"], config["OriginAccessControlOriginType"]) == (
        "sigv4", "always", "s3")
    [created] = sent.configs
    assert created["Origins"]["Items"][1] == {
        "Id": "assets", "DomainName": "shop-cdn-assets.s3.us-east-1.amazonaws.com", "OriginPath": "",
        "S3OriginConfig": {"OriginAccessIdentity": ""}, "OriginAccessControlId": access_controls(aws)[name]}
    assert "CustomOriginConfig" in created["Origins"]["Items"][0]
    assert reasons(cluster.reconcile("CloudFront", "cdn", "resync")) == []

    # AWS answers the bucket origin without its access control (moto's own answer): drift, healed
    # by sending the origin with it again.
    aws.faults.clear()
    assert reasons(cluster.reconcile("CloudFront", "cdn", "resync")) == ["DriftHealed"]
    assert sent.configs[-1]["Origins"]["Items"][1]["OriginAccessControlId"] == access_controls(aws)[name]
    aws.faults.rewrite(*S3_ORIGIN, service="cloudfront")

    deleted = delete_all(cluster, [("CloudFront", "cdn")])
    assert [r for _, outcome in deleted for r in reasons(outcome)][-2:] == ["Deleted", "Released"]
    assert not access_controls(aws)
    delete_all(cluster, [("S3Bucket", "assets")])


class StopBeforeTheDistribution:
    """The operator stops (its process dies) as it is about to create the distribution: the
    origin access control was made, nothing recorded it. (moto's fault rules cannot tell this
    REST call from CloudFront's others.)"""

    def register(self, events) -> None:
        events.register("before-call.cloudfront.CreateDistributionWithTags", self._stop)

    def _stop(self, **_):
        raise SystemExit("the operator stopped here")


def test_an_access_control_made_before_a_crash_is_found_again(aws, cluster):
    aws.faults.rewrite(*S3_ORIGIN, service="cloudfront")
    cluster.apply("S3Bucket", "assets", ASSETS)
    converge(cluster, [("S3Bucket", "assets")])
    cluster.apply("CloudFront", "cdn", WITH_ASSETS)
    distributions = aws.client("cloudfront").list_distributions()["DistributionList"]["Quantity"]
    crashing = Cluster(make_engine(aws, Telemetry.noop(), StopBeforeTheDistribution()))
    crashing.bodies = cluster.bodies
    with pytest.raises(SystemExit):
        crashing.reconcile("CloudFront", "cdn")
    made = access_controls(aws)
    assert len(made) == 1 and aws.client("cloudfront").list_distributions()["DistributionList"]["Quantity"] == distributions
    converge(cluster, [("CloudFront", "cdn")])
    assert access_controls(aws) == made
    delete_all(cluster, [("CloudFront", "cdn"), ("S3Bucket", "assets")])
    assert not access_controls(aws)


def test_retain_keeps_the_access_control(aws, cluster):
    aws.faults.rewrite(*S3_ORIGIN, service="cloudfront")
    cloudfront = aws.client("cloudfront")
    cluster.apply("S3Bucket", "assets", ASSETS)
    converge(cluster, [("S3Bucket", "assets")])
    cluster.apply("CloudFront", "kept", {**WITH_ASSETS, "deletionPolicy": "Retain"})
    ident = converge(cluster, [("CloudFront", "kept")])[-1][1].status["distributionId"]
    kept = cluster.delete("CloudFront", "kept")
    assert reasons(kept) == ["Retained"] and len(access_controls(aws)) == 1
    current = cloudfront.get_distribution_config(Id=ident)
    cloudfront.update_distribution(Id=ident, IfMatch=current["ETag"],
                                   DistributionConfig={**current["DistributionConfig"], "Enabled": False})
    cloudfront.delete_distribution(Id=ident, IfMatch=cloudfront.get_distribution(Id=ident)["ETag"])
    [control] = access_controls(aws).values()
    cloudfront.delete_origin_access_control(Id=control, IfMatch=cloudfront.get_origin_access_control(Id=control)["ETag"])
    delete_all(cluster, [("S3Bucket", "assets")])


def test_an_alb_origin_by_its_dns_name(aws, cluster, network):  # noqa: F811 (the imported fixture)
    cluster.apply("ALB", "shop", {"loadBalancerName": "cdn-origin", "subnets": network["subnets"],
                                  "securityGroups": [network["group"]]})
    cluster.apply("CloudFront", "cdn", {**SPEC, "origins": [{"id": "web", "albRef": {"name": "shop"}}]})
    converge(cluster, [("ALB", "shop"), ("CloudFront", "cdn")])
    config = aws.client("cloudfront").get_distribution_config(
        Id=cluster.status("CloudFront", "cdn")["distributionId"])["DistributionConfig"]
    [origin] = config["Origins"]["Items"]
    assert origin["DomainName"] == cluster.status("ALB", "shop")["dnsName"]
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    delete_all(cluster, [("CloudFront", "cdn"), ("ALB", "shop")])


CACHING_DISABLED, ALL_VIEWER = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad", "216adef6-5c7f-47e4-b989-5492eafa07d3"
BEHAVIORS = [{"pathPattern": "/api/*", "targetOriginId": "api", "viewerProtocolPolicy": "https-only",
              "allowedMethods": "ALL", "cachePolicyId": CACHING_DISABLED, "originRequestPolicyId": ALL_VIEWER,
              "compress": False},
             {"pathPattern": "/static/*", "targetOriginId": "web", "allowedMethods": "GET_HEAD_OPTIONS",
              "cachedMethods": "GET_HEAD_OPTIONS"}]
ORDERED = {**SPEC, "origins": [*SPEC["origins"], {"id": "api", "domainName": "api.shop.example.com"}],
           "defaultCacheBehavior": {"targetOriginId": "web", "allowedMethods": "GET_HEAD_OPTIONS",
                                    "originRequestPolicyId": ALL_VIEWER},
           "cacheBehaviors": BEHAVIORS}


def test_ordered_cache_behaviors_created_updated_and_their_order_kept(aws, telemetry, calls):
    cloudfront = aws.client("cloudfront")
    cluster = Cluster(make_engine(aws, telemetry, calls))

    def behaviors():
        ident = cluster.status("CloudFront", "cdn")["distributionId"]
        config = cloudfront.get_distribution_config(Id=ident)["DistributionConfig"]
        return config["DefaultCacheBehavior"], config["CacheBehaviors"].get("Items") or []

    cluster.apply("CloudFront", "cdn", ORDERED)
    converge(cluster, [("CloudFront", "cdn")])
    default, ordered = behaviors()
    assert default["OriginRequestPolicyId"] == ALL_VIEWER
    assert sorted(default["AllowedMethods"]["Items"]) == ["GET", "HEAD", "OPTIONS"]
    assert [b["PathPattern"] for b in ordered] == ["/api/*", "/static/*"]
    api, static = ordered
    assert (api["TargetOriginId"], api["ViewerProtocolPolicy"], api["CachePolicyId"], api["OriginRequestPolicyId"],
            api["Compress"], len(api["AllowedMethods"]["Items"])) == ("api", "https-only", CACHING_DISABLED,
                                                                      ALL_VIEWER, False, 7)
    assert (sorted(static["AllowedMethods"]["CachedMethods"]["Items"]), static["Compress"],
            static["ViewerProtocolPolicy"]) == (["GET", "HEAD", "OPTIONS"], True, "redirect-to-https")

    # An update: one behaviour changed, one added at the front (first match wins).
    images = {"pathPattern": "/static/images/*", "targetOriginId": "web", "cachePolicyId": CACHING_DISABLED}
    changed = [images, BEHAVIORS[0], {**BEHAVIORS[1], "viewerProtocolPolicy": "https-only"}]
    cluster.apply("CloudFront", "cdn", {**ORDERED, "cacheBehaviors": changed})
    converge(cluster, [("CloudFront", "cdn")])
    _, ordered = behaviors()
    assert [b["PathPattern"] for b in ordered] == ["/static/images/*", "/api/*", "/static/*"]
    assert ordered[2]["ViewerProtocolPolicy"] == "https-only"

    # Reordered out of band: drift, healed back to the spec's order.
    ident = cluster.status("CloudFront", "cdn")["distributionId"]
    current = cloudfront.get_distribution_config(Id=ident)
    config = current["DistributionConfig"]
    items = config["CacheBehaviors"]["Items"]
    cloudfront.update_distribution(Id=ident, IfMatch=current["ETag"], DistributionConfig={
        **config, "CacheBehaviors": {"Quantity": len(items), "Items": [items[1], items[0], items[2]]}})
    assert reasons(cluster.reconcile("CloudFront", "cdn", "resync")) == ["DriftHealed"]
    _, ordered = behaviors()
    assert [b["PathPattern"] for b in ordered] == ["/static/images/*", "/api/*", "/static/*"]
    assert reasons(cluster.reconcile("CloudFront", "cdn", "resync")) == []

    # Reordered in the spec: an update, not drift; removed ones go.
    cluster.apply("CloudFront", "cdn", {**ORDERED, "cacheBehaviors": [changed[2], changed[1]]})
    converge(cluster, [("CloudFront", "cdn")])
    _, ordered = behaviors()
    assert [b["PathPattern"] for b in ordered] == ["/static/*", "/api/*"]
    delete_all(cluster, [("CloudFront", "cdn")])
    samples = telemetry.sample_values()
    assert value(samples, "infra_operator_drift_detected_total", resource_type="CloudFront", severity="critical") == 1
    assert value(samples, "infra_operator_aws_api_calls_total", service="CloudFront", operation="UpdateDistribution",
                 result="success") == 4  # two updates, the heal, the disable before the delete
