"""CloudFront: a distribution (origins, default cache behaviour, aliases with their ACM
certificate, price class, default root object, enabled, comment, tags). Updates carry the ETag
(IfMatch); deploying takes minutes (in progress until Deployed); delete disables first, waits
until that is deployed, then deletes."""

from __future__ import annotations

from typing import Any, Mapping

from ..provider.errors import InProgress, TerminalError
from ..engine.kind import (Adoption, AWSClients, DriftField, ErrorMatch, Identity, Kind, Raw, Reference, Severity,
                           State, TagChange, Tagging, TokenFormat)

# Seconds between looks at a distribution CloudFront is still deploying (several minutes).
DEPLOY_DELAY = 30.0
METHODS = {"GET_HEAD": ["GET", "HEAD"], "GET_HEAD_OPTIONS": ["GET", "HEAD", "OPTIONS"],
           "ALL": ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"]}

ORIGIN = {
    "type": "object",
    "required": ["id", "domainName"],
    "properties": {
        "id": {"type": "string", "minLength": 1, "maxLength": 128},
        "domainName": {"type": "string", "minLength": 1, "maxLength": 253,
                       "description": "The origin's DNS name (a bucket's regional domain, a load balancer, a host)."},
        "originPath": {"type": "string", "pattern": "^(/.*[^/])?$"},
        "originProtocolPolicy": {"type": "string", "enum": ["http-only", "https-only", "match-viewer"],
                                 "default": "https-only"},
    },
}


class CloudFront(Kind):
    kind = "CloudFront"
    plural = "cloudfronts"
    short_names = ("cf",)
    description = ("A CloudFront distribution. Ready once CloudFront has deployed it; deleting it disables it "
                   "first and deletes it once that is deployed.")
    identifier = "distributionId"
    identity = Identity(fields=("arn",))
    # Created with CreateDistributionWithTags; the description carries no tags.
    tagging = Tagging(at_create=True, in_description=False)
    # CallerReference is the object's UID: a distribution created before a crash is found by it.
    adoption = Adoption.TOKEN
    token = TokenFormat(max_length=128)
    # An update whose ETag another change made stale: read again and retry.
    retryable_errors = (ErrorMatch("PreconditionFailed", reason="ConcurrentUpdate", delay=5.0),)
    spec_properties = {
        "comment": {"type": "string", "maxLength": 128},
        "enabled": {"type": "boolean", "default": True},
        "priceClass": {"type": "string", "enum": ["PriceClass_100", "PriceClass_200", "PriceClass_All"],
                       "default": "PriceClass_All"},
        "defaultRootObject": {"type": "string", "maxLength": 255},
        "aliases": {"type": "array", "items": {"type": "string", "minLength": 1}, "maxItems": 100},
        "origins": {"type": "array", "items": ORIGIN, "minItems": 1, "maxItems": 25,
                    "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["id"]},
        "defaultCacheBehavior": {
            "type": "object", "required": ["targetOriginId"],
            "properties": {
                "targetOriginId": {"type": "string", "minLength": 1},
                "viewerProtocolPolicy": {"type": "string", "enum": ["allow-all", "https-only", "redirect-to-https"],
                                         "default": "redirect-to-https"},
                "allowedMethods": {"type": "string", "enum": sorted(METHODS), "default": "GET_HEAD"},
                "cachePolicyId": {"type": "string", "minLength": 1,
                                  "default": "658327ea-f89d-4fab-a63d-7e88639e58f6"},  # AWS's CachingOptimized
                "originRequestPolicyId": {"type": "string", "minLength": 1},
            }},
    }
    spec_required = ("origins", "defaultCacheBehavior")
    spec_validations = (
        {"rule": "self.origins.exists(o, o.id == self.defaultCacheBehavior.targetOriginId)",
         "message": "defaultCacheBehavior.targetOriginId names no origin"},
        {"rule": "!has(self.aliases) || size(self.aliases) == 0 || has(self.acmCertificateArn) || "
                 "has(self.acmCertificateRef)",
         "message": "aliases need an acmCertificateArn or acmCertificateRef"},
    )
    # The aliases' certificate: CloudFront takes only ACM certificates of us-east-1 (a Certificate
    # object whose provider is elsewhere is answered by CloudFront's InvalidViewerCertificate).
    references = (Reference("acmCertificateRef", "Certificate", "acmCertificateArn", required=False,
                            id_pattern=r"^arn:aws[a-z-]*:acm:us-east-1:[0-9]{12}:certificate/.+$"),)
    status_properties = {"distributionStatus": {"type": "string"}}
    printer_columns = (("Domain", ".status.domainName", "string"), ("Status", ".status.distributionStatus", "string"))
    drift_fields = (
        DriftField("origins", Severity.CRITICAL),
        DriftField("defaultCacheBehavior", Severity.CRITICAL),
        DriftField("aliases", Severity.CRITICAL),
        DriftField("acmCertificateArn", Severity.CRITICAL),
        DriftField("enabled", Severity.CRITICAL),
        DriftField("priceClass", Severity.WARNING),
        DriftField("defaultRootObject", Severity.WARNING),
        DriftField("comment", Severity.INFO),
    )

    def validate(self, spec: Mapping[str, Any], related: Mapping[str, Mapping[str, Any]]) -> None:
        ids = [origin["id"] for origin in spec["origins"]]
        if len(ids) != len(set(ids)):
            raise TerminalError("origins lists one id twice", reason="DuplicateOrigin")
        if spec["defaultCacheBehavior"]["targetOriginId"] not in ids:
            raise TerminalError("defaultCacheBehavior.targetOriginId names no origin")
        # Also before the reference resolves: validation answers while a reference waits.
        if spec.get("aliases") and not (spec.get("acmCertificateArn") or spec.get("acmCertificateRef")):
            raise TerminalError("aliases need an acmCertificateArn or acmCertificateRef")

    def desired(self, spec: Mapping[str, Any]) -> State:
        behavior = spec["defaultCacheBehavior"]
        return {
            "comment": spec.get("comment", ""),
            "enabled": spec.get("enabled", True),
            "priceClass": spec.get("priceClass", "PriceClass_All"),
            "defaultRootObject": spec.get("defaultRootObject", ""),
            "aliases": sorted(spec.get("aliases") or ()),
            "acmCertificateArn": spec.get("acmCertificateArn", ""),
            "origins": [{"id": o["id"], "domainName": o["domainName"], "originPath": o.get("originPath", ""),
                         "originProtocolPolicy": o.get("originProtocolPolicy", "https-only")}
                        for o in spec["origins"]],
            "defaultCacheBehavior": {
                "targetOriginId": behavior["targetOriginId"],
                "viewerProtocolPolicy": behavior.get("viewerProtocolPolicy", "redirect-to-https"),
                "allowedMethods": sorted(METHODS[behavior.get("allowedMethods", "GET_HEAD")]),
                "cachePolicyId": behavior.get("cachePolicyId", "658327ea-f89d-4fab-a63d-7e88639e58f6"),
                "originRequestPolicyId": behavior.get("originRequestPolicyId", "")},
        }

    def observe(self, raw: Raw) -> State:
        config = raw["DistributionConfig"]
        behavior = config["DefaultCacheBehavior"]
        return {
            "comment": config.get("Comment", ""),
            "enabled": config["Enabled"],
            "priceClass": config.get("PriceClass", "PriceClass_All"),
            "defaultRootObject": config.get("DefaultRootObject", ""),
            "aliases": sorted(config.get("Aliases", {}).get("Items") or ()),
            "acmCertificateArn": config.get("ViewerCertificate", {}).get("ACMCertificateArn", ""),
            "origins": [{"id": o["Id"], "domainName": o["DomainName"], "originPath": o.get("OriginPath", ""),
                         "originProtocolPolicy": (o.get("CustomOriginConfig") or {}).get("OriginProtocolPolicy",
                                                                                         "https-only")}
                        for o in config["Origins"].get("Items") or ()],
            "defaultCacheBehavior": {
                "targetOriginId": behavior["TargetOriginId"],
                "viewerProtocolPolicy": behavior["ViewerProtocolPolicy"],
                "allowedMethods": sorted((behavior.get("AllowedMethods") or {}).get("Items") or ()),
                "cachePolicyId": behavior.get("CachePolicyId", ""),
                "originRequestPolicyId": behavior.get("OriginRequestPolicyId", "")},
        }

    def identify(self, raw: Raw) -> str:
        return raw["Id"]

    def identities(self, raw: Raw) -> State:
        return {"arn": raw["ARN"]}

    def status(self, raw: Raw) -> State:
        return {"domainName": raw["DomainName"], "distributionStatus": raw["Status"]}

    def available(self, raw: Raw) -> bool:
        if raw["Status"] != "Deployed":
            raise InProgress(f"CloudFront is deploying distribution {raw['Id']}", delay=DEPLOY_DELAY)
        return True

    def read(self, aws: AWSClients, ident: str) -> Raw | None:
        answer = self.absent_if_missing(aws.client("cloudfront").get_distribution, Id=ident)
        if answer is None:
            return None
        distribution = answer["Distribution"]
        return {"Id": distribution["Id"], "ARN": distribution["ARN"], "Status": distribution["Status"],
                "DomainName": distribution["DomainName"], "ETag": answer["ETag"],
                "DistributionConfig": distribution["DistributionConfig"]}

    def read_tags(self, aws: AWSClients, ident: str, raw: Raw) -> dict[str, str]:
        tags = aws.client("cloudfront").list_tags_for_resource(Resource=raw["ARN"])["Tags"]
        return {tag["Key"]: tag["Value"] for tag in tags.get("Items") or ()}

    def find_created(self, aws: AWSClients, desired: State, token: str) -> Raw | None:
        cloudfront = aws.client("cloudfront")
        for page in cloudfront.get_paginator("list_distributions").paginate():
            for item in page["DistributionList"].get("Items") or ():
                config = cloudfront.get_distribution_config(Id=item["Id"])["DistributionConfig"]
                if config["CallerReference"] == token:
                    return self.read(aws, item["Id"])
        return None

    def create(self, aws: AWSClients, desired: State, tags: Mapping[str, str], token: str) -> Raw:
        config = _config(desired, token)
        answer = aws.client("cloudfront").create_distribution_with_tags(DistributionConfigWithTags={
            "DistributionConfig": config, "Tags": {"Items": [{"Key": k, "Value": v} for k, v in tags.items()]}})
        return self.read(aws, answer["Distribution"]["Id"])

    def update(self, aws: AWSClients, ident: str, desired: State, raw: Raw, changed: frozenset[str]) -> None:
        cloudfront = aws.client("cloudfront")
        # The ETag of the config read now: a concurrent change makes AWS answer PreconditionFailed (retried).
        current = cloudfront.get_distribution_config(Id=ident)
        config = {**current["DistributionConfig"], **_config(desired, current["DistributionConfig"]["CallerReference"])}
        cloudfront.update_distribution(Id=ident, IfMatch=current["ETag"], DistributionConfig=config)

    def set_tags(self, aws: AWSClients, ident: str, change: TagChange) -> None:
        cloudfront = aws.client("cloudfront")
        arn = self.read(aws, ident)["ARN"]
        if change.remove:
            cloudfront.untag_resource(Resource=arn, TagKeys={"Items": sorted(change.remove)})
        if change.add:
            cloudfront.tag_resource(Resource=arn, Tags={"Items": [{"Key": k, "Value": v} for k, v in change.add.items()]})

    def delete(self, aws: AWSClients, ident: str, raw: Raw, spec: Mapping[str, Any]) -> None:
        cloudfront = aws.client("cloudfront")
        current = cloudfront.get_distribution_config(Id=ident)
        if current["DistributionConfig"]["Enabled"]:
            cloudfront.update_distribution(Id=ident, IfMatch=current["ETag"],
                                           DistributionConfig={**current["DistributionConfig"], "Enabled": False})
            raise InProgress(f"disabling distribution {ident} before deleting it", delay=DEPLOY_DELAY)
        if cloudfront.get_distribution(Id=ident)["Distribution"]["Status"] != "Deployed":
            raise InProgress(f"waiting for distribution {ident} to be deployed disabled", delay=DEPLOY_DELAY)
        cloudfront.delete_distribution(Id=ident, IfMatch=current["ETag"])


def _config(desired: State, caller_reference: str) -> dict[str, Any]:
    behavior = desired["defaultCacheBehavior"]
    methods = behavior["allowedMethods"]
    cache = {"TargetOriginId": behavior["targetOriginId"], "ViewerProtocolPolicy": behavior["viewerProtocolPolicy"],
             "AllowedMethods": {"Quantity": len(methods), "Items": methods,
                                "CachedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"]}},
             "CachePolicyId": behavior["cachePolicyId"], "Compress": True}
    if behavior["originRequestPolicyId"]:
        cache["OriginRequestPolicyId"] = behavior["originRequestPolicyId"]
    certificate = ({"ACMCertificateArn": desired["acmCertificateArn"], "SSLSupportMethod": "sni-only",
                    "MinimumProtocolVersion": "TLSv1.2_2021"} if desired["acmCertificateArn"]
                   else {"CloudFrontDefaultCertificate": True})
    return {
        "CallerReference": caller_reference,
        "Comment": desired["comment"],
        "Enabled": desired["enabled"],
        "PriceClass": desired["priceClass"],
        "DefaultRootObject": desired["defaultRootObject"],
        "Aliases": {"Quantity": len(desired["aliases"]), "Items": desired["aliases"]},
        "ViewerCertificate": certificate,
        "Origins": {"Quantity": len(desired["origins"]), "Items": [
            {"Id": o["id"], "DomainName": o["domainName"], "OriginPath": o["originPath"],
             "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": o["originProtocolPolicy"]}}
            for o in desired["origins"]]},
        "DefaultCacheBehavior": cache,
    }
