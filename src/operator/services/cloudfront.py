"""CloudFront: a distribution's config from the desired state (origins, an S3 origin's origin
access control, the default and ordered cache behaviours, the viewer certificate), its
comparable state from a description, and its call sequences: updates carry the ETag (IfMatch);
a delete disables the distribution, waits until that is deployed, then deletes."""

from __future__ import annotations

from typing import Any, Mapping

from ..engine.delta import frozen
from ..engine.kind import AWSClients, Kind, Raw, State, TagChange, tag_list, tag_map
from ..engine.statuses import Statuses
from ..provider.errors import InProgress

# Seconds between looks at a distribution CloudFront is still deploying (several minutes).
DEPLOY_DELAY = 30.0
# Deploying: the condition's reason is the engine's (Provisioning, Deleting).
DEPLOYING = Statuses(ready=frozenset({"Deployed"}), reasons={"InProgress": "InProgress"}, delay=DEPLOY_DELAY)
METHODS = {"GET_HEAD": ["GET", "HEAD"], "GET_HEAD_OPTIONS": ["GET", "HEAD", "OPTIONS"],
           "ALL": ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"]}
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"  # AWS's managed cache policy
# The origin access control of an object's S3 origins: this prefix and the object's token.
OAC_PREFIX = "infra-operator-"


def same_behaviors(want: list[State], have: list[State] | None) -> bool:
    """CloudFront takes the first behaviour whose pattern matches: the order is part of the value."""
    return [frozen(b) for b in want] == [frozen(b) for b in have or ()]


class Distribution(Kind):
    """Base of CloudFront: what it computes and calls; the kind declares its spec."""

    def desired(self, spec: Mapping[str, Any]) -> State:
        return {
            "comment": spec.get("comment", ""),
            "enabled": spec.get("enabled", True),
            "priceClass": spec.get("priceClass", "PriceClass_All"),
            "defaultRootObject": spec.get("defaultRootObject", ""),
            "aliases": sorted(spec.get("aliases") or ()),
            "acmCertificateArn": spec.get("acmCertificateArn", ""),
            "origins": [{"id": o["id"], "domainName": o["domainName"], "originPath": o.get("originPath", ""),
                         # An S3 origin has no protocol policy: None is not compared.
                         "originProtocolPolicy": None if o.get("bucketRef") else
                         o.get("originProtocolPolicy", "https-only"),
                         "originAccessControl": bool(o.get("bucketRef"))}
                        for o in spec["origins"]],
            "defaultCacheBehavior": _desired_behavior(spec["defaultCacheBehavior"]),
            "cacheBehaviors": [_desired_behavior(behavior) for behavior in spec.get("cacheBehaviors") or ()],
        }

    def observe(self, raw: Raw) -> State:
        config = raw["DistributionConfig"]
        return {
            "comment": config.get("Comment", ""),
            "enabled": config["Enabled"],
            "priceClass": config.get("PriceClass", "PriceClass_All"),
            "defaultRootObject": config.get("DefaultRootObject", ""),
            "aliases": sorted(config.get("Aliases", {}).get("Items") or ()),
            "acmCertificateArn": config.get("ViewerCertificate", {}).get("ACMCertificateArn", ""),
            "origins": [{"id": o["Id"], "domainName": o["DomainName"], "originPath": o.get("OriginPath", ""),
                         "originProtocolPolicy": (o.get("CustomOriginConfig") or {}).get("OriginProtocolPolicy"),
                         "originAccessControl": bool(o.get("OriginAccessControlId"))}
                        for o in config["Origins"].get("Items") or ()],
            "defaultCacheBehavior": _observed_behavior(config["DefaultCacheBehavior"]),
            "cacheBehaviors": [_observed_behavior(behavior)
                               for behavior in (config.get("CacheBehaviors") or {}).get("Items") or ()],
        }

    def identify(self, raw: Raw) -> str:
        return raw["Id"]

    def identities(self, raw: Raw) -> State:
        return {"arn": raw["ARN"]}

    def status(self, raw: Raw) -> State:
        return {"domainName": raw["DomainName"], "distributionStatus": raw["Status"]}

    def available(self, raw: Raw) -> bool:
        return DEPLOYING.available(f"CloudFront distribution {raw['Id']}", raw["Status"])

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
        return tag_map(tags.get("Items"))

    def find_created(self, aws: AWSClients, desired: State, token: str) -> Raw | None:
        cloudfront = aws.client("cloudfront")
        for page in cloudfront.get_paginator("list_distributions").paginate():
            for item in page["DistributionList"].get("Items") or ():
                config = cloudfront.get_distribution_config(Id=item["Id"])["DistributionConfig"]
                if config["CallerReference"] == token:
                    return self.read(aws, item["Id"])
        return None

    def create(self, aws: AWSClients, desired: State, tags: Mapping[str, str], token: str) -> Raw:
        cloudfront = aws.client("cloudfront")
        config = _config(desired, token, _origin_access_control(cloudfront, desired, token))
        answer = cloudfront.create_distribution_with_tags(DistributionConfigWithTags={
            "DistributionConfig": config, "Tags": {"Items": tag_list(tags)}})
        return self.read(aws, answer["Distribution"]["Id"])

    def update(self, aws: AWSClients, ident: str, desired: State, raw: Raw, changed: frozenset[str]) -> None:
        cloudfront = aws.client("cloudfront")
        # The ETag of the config read now: a concurrent change makes AWS answer PreconditionFailed (retried).
        current = cloudfront.get_distribution_config(Id=ident)
        token = current["DistributionConfig"]["CallerReference"]
        config = {**current["DistributionConfig"],
                  **_config(desired, token, _origin_access_control(cloudfront, desired, token))}
        cloudfront.update_distribution(Id=ident, IfMatch=current["ETag"], DistributionConfig=config)

    def set_tags(self, aws: AWSClients, ident: str, change: TagChange) -> None:
        if ident.startswith(OAC_PREFIX):
            return  # the held origin access control (Retain): CloudFront gives it no tags
        cloudfront = aws.client("cloudfront")
        arn = self.read(aws, ident)["ARN"]
        change.apply(lambda tags: cloudfront.tag_resource(Resource=arn, Tags={"Items": tags}),
                     lambda keys: cloudfront.untag_resource(Resource=arn, TagKeys={"Items": keys}))

    def delete(self, aws: AWSClients, ident: str, raw: Raw, spec: Mapping[str, Any]) -> None:
        cloudfront = aws.client("cloudfront")
        current = cloudfront.get_distribution_config(Id=ident)
        if current["DistributionConfig"]["Enabled"]:
            cloudfront.update_distribution(Id=ident, IfMatch=current["ETag"],
                                           DistributionConfig={**current["DistributionConfig"], "Enabled": False})
            raise InProgress(f"disabling distribution {ident} before deleting it", delay=DEPLOY_DELAY)
        DEPLOYING.wait_until_ready(f"disabled CloudFront distribution {ident}",
                                   cloudfront.get_distribution(Id=ident)["Distribution"]["Status"])
        cloudfront.delete_distribution(Id=ident, IfMatch=current["ETag"])

    def held(self, aws: AWSClients, owner_uid_tag: tuple[str, str]) -> list[str]:
        """The object's origin access control (by name), when it exists."""
        name = OAC_PREFIX + self.token.from_uid(owner_uid_tag[1])
        return [name] if _find_access_control(aws.client("cloudfront"), name) else []

    def release_held(self, aws: AWSClients, name: str) -> None:
        cloudfront = aws.client("cloudfront")
        found = _find_access_control(cloudfront, name)
        if found is not None:
            etag = cloudfront.get_origin_access_control(Id=found["Id"])["ETag"]
            cloudfront.delete_origin_access_control(Id=found["Id"], IfMatch=etag)


def _desired_behavior(spec: Mapping[str, Any]) -> State:
    behavior = {
        "targetOriginId": spec["targetOriginId"],
        "viewerProtocolPolicy": spec.get("viewerProtocolPolicy", "redirect-to-https"),
        "allowedMethods": sorted(METHODS[spec.get("allowedMethods", "GET_HEAD")]),
        "cachedMethods": sorted(METHODS[spec.get("cachedMethods", "GET_HEAD")]),
        "cachePolicyId": spec.get("cachePolicyId", CACHING_OPTIMIZED),
        "originRequestPolicyId": spec.get("originRequestPolicyId", ""),
        "compress": spec.get("compress", True)}
    return {"pathPattern": spec["pathPattern"], **behavior} if "pathPattern" in spec else behavior


def _observed_behavior(aws: Mapping[str, Any]) -> State:
    methods = aws.get("AllowedMethods") or {}
    behavior = {
        "targetOriginId": aws["TargetOriginId"],
        "viewerProtocolPolicy": aws["ViewerProtocolPolicy"],
        "allowedMethods": sorted(methods.get("Items") or ()),
        "cachedMethods": sorted((methods.get("CachedMethods") or {}).get("Items") or ()),
        "cachePolicyId": aws.get("CachePolicyId", ""),
        "originRequestPolicyId": aws.get("OriginRequestPolicyId") or "",
        "compress": aws.get("Compress", False)}
    return {"pathPattern": aws["PathPattern"], **behavior} if "PathPattern" in aws else behavior


def _aws_behavior(behavior: State) -> dict[str, Any]:
    allowed, cached = behavior["allowedMethods"], behavior["cachedMethods"]
    answer = {"TargetOriginId": behavior["targetOriginId"], "ViewerProtocolPolicy": behavior["viewerProtocolPolicy"],
              "AllowedMethods": {"Quantity": len(allowed), "Items": allowed,
                                 "CachedMethods": {"Quantity": len(cached), "Items": cached}},
              "CachePolicyId": behavior["cachePolicyId"], "Compress": behavior["compress"]}
    if "pathPattern" in behavior:
        answer["PathPattern"] = behavior["pathPattern"]
    if behavior["originRequestPolicyId"]:
        answer["OriginRequestPolicyId"] = behavior["originRequestPolicyId"]
    return answer


def _find_access_control(cloudfront: Any, name: str) -> Raw | None:
    for page in cloudfront.get_paginator("list_origin_access_controls").paginate():
        for item in page["OriginAccessControlList"].get("Items") or ():
            if item["Name"] == name:
                return item
    return None


def _origin_access_control(cloudfront: Any, desired: State, token: str) -> str | None:
    """The id of the object's origin access control when an origin needs it: found by its name
    (made on an earlier run that did not get to the distribution), else created."""
    if not any(origin["originAccessControl"] for origin in desired["origins"]):
        return None
    name = OAC_PREFIX + token
    found = _find_access_control(cloudfront, name)
    if found is not None:
        return found["Id"]
    return cloudfront.create_origin_access_control(OriginAccessControlConfig={
        "Name": name, "Description": "infra-operator: signs the requests of one CloudFront object to its S3 origins",
        "SigningProtocol": "sigv4", "SigningBehavior": "always", "OriginAccessControlOriginType": "s3",
    })["OriginAccessControl"]["Id"]


def _origin(origin: State, access_control: str | None) -> dict[str, Any]:
    answer = {"Id": origin["id"], "DomainName": origin["domainName"], "OriginPath": origin["originPath"]}
    if origin["originAccessControl"]:
        return {**answer, "S3OriginConfig": {"OriginAccessIdentity": ""}, "OriginAccessControlId": access_control}
    return {**answer, "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443,
                                             "OriginProtocolPolicy": origin["originProtocolPolicy"]}}


def _config(desired: State, caller_reference: str, access_control: str | None) -> dict[str, Any]:
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
        "Origins": {"Quantity": len(desired["origins"]),
                    "Items": [_origin(origin, access_control) for origin in desired["origins"]]},
        "DefaultCacheBehavior": _aws_behavior(desired["defaultCacheBehavior"]),
        "CacheBehaviors": {"Quantity": len(desired["cacheBehaviors"]),
                           "Items": [_aws_behavior(behavior) for behavior in desired["cacheBehaviors"]]},
    }
