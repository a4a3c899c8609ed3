"""CloudFront: a distribution (origins by domain name or by reference to our S3Bucket or ALB,
default and ordered cache behaviours, aliases with their ACM certificate, price class, default
root object, enabled, comment, tags). An S3Bucket origin is reached through an origin access
control the kind makes for the object (named from its UID, so a crash finds it again) and deletes
after the distribution. Updates carry the ETag (IfMatch); deploying takes minutes (in progress
until Deployed); delete disables first, waits until that is deployed, then deletes."""

from __future__ import annotations

from typing import Any, Mapping

from ..provider.errors import InProgress, TerminalError
from ..engine.delta import frozen
from ..engine.kind import (Adoption, AWSClients, DriftField, ErrorMatch, Identity, Kind, Raw, Reference, Severity,
                           State, TagChange, Tagging, TokenFormat)

# Seconds between looks at a distribution CloudFront is still deploying (several minutes).
DEPLOY_DELAY = 30.0
METHODS = {"GET_HEAD": ["GET", "HEAD"], "GET_HEAD_OPTIONS": ["GET", "HEAD", "OPTIONS"],
           "ALL": ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"]}
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"  # AWS's managed cache policy
# The origin access control of an object's S3 origins: this prefix and the object's token.
OAC_PREFIX = "infra-operator-"
# The references an origin may name instead of its domainName.
ORIGIN_REFS = ("bucketRef", "albRef")

ORIGIN = {
    "type": "object",
    "required": ["id"],
    "properties": {
        "id": {"type": "string", "minLength": 1, "maxLength": 128},
        "domainName": {"type": "string", "minLength": 1, "maxLength": 253,
                       "description": "The origin's DNS name (a host, a load balancer); alternative to bucketRef "
                                      "and albRef."},
        "originPath": {"type": "string", "pattern": "^(/.*[^/])?$"},
        "originProtocolPolicy": {"type": "string", "enum": ["http-only", "https-only", "match-viewer"],
                                 "description": "How CloudFront reaches a custom origin (default https-only); "
                                                "not for a bucketRef origin."},
    },
    "x-kubernetes-validations": [
        {"rule": "(has(self.domainName) ? 1 : 0) + (has(self.bucketRef) ? 1 : 0) + (has(self.albRef) ? 1 : 0) == 1",
         "message": "an origin names exactly one of domainName, bucketRef and albRef"},
        {"rule": "!has(self.bucketRef) || !has(self.originProtocolPolicy)",
         "message": "a bucketRef origin takes no originProtocolPolicy"},
    ],
}
BEHAVIOR = {
    "targetOriginId": {"type": "string", "minLength": 1},
    "viewerProtocolPolicy": {"type": "string", "enum": ["allow-all", "https-only", "redirect-to-https"],
                             "default": "redirect-to-https"},
    "allowedMethods": {"type": "string", "enum": sorted(METHODS), "default": "GET_HEAD"},
    "cachedMethods": {"type": "string", "enum": ["GET_HEAD", "GET_HEAD_OPTIONS"], "default": "GET_HEAD",
                      "description": "GET_HEAD_OPTIONS needs allowedMethods GET_HEAD_OPTIONS or ALL."},
    "cachePolicyId": {"type": "string", "minLength": 1, "default": CACHING_OPTIMIZED},
    "originRequestPolicyId": {"type": "string", "minLength": 1},
    "compress": {"type": "boolean", "default": True},
}
CACHED_WITHIN_ALLOWED = {"rule": "!has(self.cachedMethods) || self.cachedMethods == 'GET_HEAD' || "
                                 "(has(self.allowedMethods) && self.allowedMethods != 'GET_HEAD')",
                         "message": "cachedMethods GET_HEAD_OPTIONS needs allowedMethods GET_HEAD_OPTIONS or ALL"}
ORDERED_BEHAVIOR = {
    "type": "object", "required": ["pathPattern", "targetOriginId"],
    "properties": {"pathPattern": {"type": "string", "minLength": 1, "maxLength": 255}, **BEHAVIOR},
    "x-kubernetes-validations": [CACHED_WITHIN_ALLOWED],
}


class CloudFront(Kind):
    kind = "CloudFront"
    plural = "cloudfronts"
    short_names = ("cf",)
    description = ("A CloudFront distribution: origins by domain name or by reference to an S3Bucket (through an "
                   "origin access control the operator owns) or an ALB, default and ordered cache behaviours. "
                   "Ready once CloudFront has deployed it; deleting it disables it first and deletes it once that "
                   "is deployed.")
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
                    "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["id"],
                    "description": "Origins by domain name, or by reference: an S3Bucket (reached through an "
                                   "origin access control the operator makes and deletes) or an ALB."},
        "defaultCacheBehavior": {"type": "object", "required": ["targetOriginId"], "properties": BEHAVIOR,
                                 "x-kubernetes-validations": [CACHED_WITHIN_ALLOWED],
                                 "description": "How requests no cacheBehaviors pattern matches are served: the "
                                                "target origin, viewer protocol policy, allowed and cached "
                                                "methods, cache policy (AWS's CachingOptimized unless set) and "
                                                "origin request policy ids, compression."},
        # A map list: the API server refuses a pathPattern given twice and server-side apply owns
        # each behaviour apart (an atomic list of defaulted items conflicts with its own apply).
        "cacheBehaviors": {"type": "array", "items": ORDERED_BEHAVIOR, "maxItems": 25,
                           "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["pathPattern"],
                           "description": "Ordered cache behaviours: CloudFront serves a request by the first whose "
                                          "pathPattern matches its path, so the order is kept (a reorder is a "
                                          "change); requests no pattern matches take defaultCacheBehavior."},
    }
    spec_required = ("origins", "defaultCacheBehavior")
    spec_validations = (
        {"rule": "self.origins.exists(o, o.id == self.defaultCacheBehavior.targetOriginId)",
         "message": "defaultCacheBehavior.targetOriginId names no origin"},
        {"rule": "!has(self.cacheBehaviors) || "
                 "self.cacheBehaviors.all(b, self.origins.exists(o, o.id == b.targetOriginId))",
         "message": "a cacheBehaviors targetOriginId names no origin"},
        {"rule": "!has(self.aliases) || size(self.aliases) == 0 || has(self.acmCertificateArn) || "
                 "has(self.acmCertificateRef)",
         "message": "aliases need an acmCertificateArn or acmCertificateRef"},
    )
    # The aliases' certificate: CloudFront takes only ACM certificates of us-east-1 (a Certificate
    # object whose provider is elsewhere is answered by CloudFront's InvalidViewerCertificate).
    # An origin's bucketRef names the bucket by its regional domain, its albRef the ALB by its DNS name.
    references = (Reference("acmCertificateRef", "Certificate", "acmCertificateArn", required=False,
                            id_pattern=r"^arn:aws[a-z-]*:acm:us-east-1:[0-9]{12}:certificate/.+$"),
                  Reference("bucketRef", "S3Bucket", "domainName", required=False, within="origins",
                            status_field="regionalDomainName"),
                  Reference("albRef", "ALB", "domainName", required=False, within="origins", status_field="dnsName"))
    status_properties = {"distributionStatus": {"type": "string"}}
    printer_columns = (("Domain", ".status.domainName", "string"), ("Status", ".status.distributionStatus", "string"))
    drift_fields = (
        DriftField("origins", Severity.CRITICAL),
        DriftField("defaultCacheBehavior", Severity.CRITICAL),
        # CloudFront takes the first behaviour whose pattern matches: the order is part of the value.
        DriftField("cacheBehaviors", Severity.CRITICAL,
                   same=lambda want, have: [frozen(b) for b in want] == [frozen(b) for b in have or ()]),
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
        for index, origin in enumerate(spec["origins"]):
            # A reference already resolved has filled domainName (beside it, a conflict was refused then).
            refs = [ref for ref in ORIGIN_REFS if origin.get(ref)]
            if len(refs) > 1:
                raise TerminalError(f"spec.origins[{index}]: set {' or '.join(refs)}, not both",
                                    reason="ConflictingReference")
            if not refs and not origin.get("domainName"):
                raise TerminalError(f"spec.origins[{index}]: set domainName, bucketRef or albRef",
                                    reason="MissingReference")
            if origin.get("bucketRef") and origin.get("originProtocolPolicy"):
                raise TerminalError(f"spec.origins[{index}]: a bucketRef origin takes no originProtocolPolicy")
        behaviors = [spec["defaultCacheBehavior"], *(spec.get("cacheBehaviors") or ())]
        unknown = sorted({behavior["targetOriginId"] for behavior in behaviors} - set(ids))
        if unknown:
            raise TerminalError(f"cache behaviours target {', '.join(unknown)}, which names no origin",
                                reason="UnknownOrigin")
        patterns = [behavior["pathPattern"] for behavior in spec.get("cacheBehaviors") or ()]
        if len(patterns) != len(set(patterns)):
            raise TerminalError("cacheBehaviors give one pathPattern twice", reason="DuplicatePathPattern")
        if any(b.get("cachedMethods") == "GET_HEAD_OPTIONS" and b.get("allowedMethods", "GET_HEAD") == "GET_HEAD"
               for b in behaviors):
            raise TerminalError(CACHED_WITHIN_ALLOWED["message"])
        # Also before the reference resolves: validation answers while a reference waits.
        if spec.get("aliases") and not (spec.get("acmCertificateArn") or spec.get("acmCertificateRef")):
            raise TerminalError("aliases need an acmCertificateArn or acmCertificateRef")

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
        cloudfront = aws.client("cloudfront")
        config = _config(desired, token, _origin_access_control(cloudfront, desired, token))
        answer = cloudfront.create_distribution_with_tags(DistributionConfigWithTags={
            "DistributionConfig": config, "Tags": {"Items": [{"Key": k, "Value": v} for k, v in tags.items()]}})
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
