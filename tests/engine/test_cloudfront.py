"""CloudFront through the engine against moto over HTTP, without kopf: create (in progress until
deployed), update with the ETag, drift healed, delete (disabled first), Retain, adoption by
CallerReference, the aliases' certificate by reference to a Certificate, bad input stopped before AWS. moto deploys after one describe and does not
enforce ETags: a stale ETag (PreconditionFailed) is not tested."""

from __future__ import annotations

import moto.settings
import pytest

from conftest import (KINDS, Cluster, check_adoption_after_a_lost_status_write, check_retain, check_stopped_before_aws,
                      converge, delete_all, make_engine, ready_reason, reasons, value)
from infra_operator.operator.provider.errors import InProgress

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
    ({**SPEC, "defaultCacheBehavior": {"targetOriginId": "nowhere"}}, "InvalidSpec"),
    ({**SPEC, "aliases": ["cdn.shop.example.com"]}, "InvalidSpec"),
    ({**SPEC, "origins": SPEC["origins"] * 2}, "DuplicateOrigin"),
])
def test_invalid_specs_stop_before_any_aws_call(cluster, calls, spec, reason):
    check_stopped_before_aws(cluster, calls, "CloudFront", spec, reason)
