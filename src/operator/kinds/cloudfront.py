"""CloudFront: a distribution (origins by domain name or by reference to our S3Bucket or ALB,
default and ordered cache behaviours, aliases with their ACM certificate, price class, default
root object, enabled, comment, tags). An S3Bucket origin is reached through an origin access
control the kind makes for the object (named from its UID, so a crash finds it again) and deletes
after the distribution. Updates carry the ETag (IfMatch); deploying takes minutes (in progress
until Deployed); delete disables first, waits until that is deployed, then deletes
(`services/cloudfront.py`)."""

from __future__ import annotations

from typing import Any, Mapping

from ..provider.errors import TerminalError
from ..engine.kind import Adoption, DriftField, ErrorMatch, Identity, Reference, Severity, Tagging, TokenFormat
from ..services.cloudfront import CACHING_OPTIMIZED, METHODS, Distribution, same_behaviors

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


class CloudFront(Distribution):
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
        DriftField("cacheBehaviors", Severity.CRITICAL, same=same_behaviors),
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
