"""S3Bucket: an S3 bucket named by the spec (globally unique: a taken name is Ready=False
NameTaken), with versioning, default encryption, the public access block (on by default),
lifecycle rules as a set, a bucket policy compared as canonical JSON and tags set as a whole
(PutBucketTagging). Deleting a bucket that still holds objects is refused (AWS's own rule,
shown as DeletionProtected) unless forceDestroy is set."""

from __future__ import annotations

from typing import Any, Callable, Mapping

from ..engine.delta import frozen
from ..engine.kind import (Adoption, AWSClients, Deletion, DriftField, ErrorMatch, Identity, Kind, Raw, Severity,
                           State, TagChange, Tagging, tag_list, tag_map)
from ..engine.schema import immutable
from ..engine.policies import canonical_policy
from ..provider.errors import TerminalError, error_code

BLOCKS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
# What S3 answers when a bucket has none of a configuration: not an error, the empty value.
NONE_CONFIGURED = frozenset({"ServerSideEncryptionConfigurationNotFoundError", "NoSuchPublicAccessBlockConfiguration",
                             "NoSuchLifecycleConfiguration", "NoSuchBucketPolicy", "NoSuchTagSet"})
LIFECYCLE_RULE = {
    "type": "object",
    "required": ["id"],
    "properties": {
        "id": {"type": "string", "minLength": 1, "maxLength": 255},
        "prefix": {"type": "string", "default": "", "description": "Objects whose key starts with this."},
        "enabled": {"type": "boolean", "default": True},
        "expirationDays": {"type": "integer", "minimum": 1, "description": "Delete current objects after N days."},
        "noncurrentVersionExpirationDays": {"type": "integer", "minimum": 1,
                                            "description": "Delete noncurrent versions after N days."},
        "abortIncompleteMultipartUploadDays": {"type": "integer", "minimum": 1},
    },
}


def _configured(call: Callable[..., Any], **params: Any) -> Any:
    """The answer of a Get*Configuration call, or None when the bucket has none configured."""
    try:
        return call(**params)
    except Exception as exc:
        if error_code(exc) in NONE_CONFIGURED:
            return None
        raise


def _aws_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    aws: dict[str, Any] = {"ID": rule["id"], "Filter": {"Prefix": rule.get("prefix", "")},
                           "Status": "Enabled" if rule.get("enabled", True) else "Disabled"}
    if rule.get("expirationDays"):
        aws["Expiration"] = {"Days": rule["expirationDays"]}
    if rule.get("noncurrentVersionExpirationDays"):
        aws["NoncurrentVersionExpiration"] = {"NoncurrentDays": rule["noncurrentVersionExpirationDays"]}
    if rule.get("abortIncompleteMultipartUploadDays"):
        aws["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": rule["abortIncompleteMultipartUploadDays"]}
    return aws


def _spec_rule(aws: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": aws.get("ID"), "prefix": (aws.get("Filter") or {}).get("Prefix", aws.get("Prefix", "")),
            "enabled": aws.get("Status") == "Enabled",
            "expirationDays": (aws.get("Expiration") or {}).get("Days"),
            "noncurrentVersionExpirationDays": (aws.get("NoncurrentVersionExpiration") or {}).get("NoncurrentDays"),
            "abortIncompleteMultipartUploadDays":
                (aws.get("AbortIncompleteMultipartUpload") or {}).get("DaysAfterInitiation")}


class S3Bucket(Kind):
    kind = "S3Bucket"
    plural = "s3buckets"
    short_names = ("bucket",)
    description = ("An S3 bucket named by the spec, with versioning, default encryption, the public access block, "
                   "lifecycle rules, a bucket policy and tags. A bucket holding objects is deleted only with "
                   "forceDestroy.")
    identifier = "bucketName"
    identity = Identity(fields=("arn",), from_spec="bucketName")
    adoption = Adoption.SPEC_NAME
    # CreateBucket takes no tags (moto ignores them): set right after, as a whole set.
    tagging = Tagging(at_create=False, in_description=False, replaces_whole_set=True)
    deletion = Deletion(force_field="forceDestroy", protected=(ErrorMatch("BucketNotEmpty"),),
                        force_description="Delete every object and version with the bucket (else a bucket "
                                          "holding objects is not deleted).")
    spec_properties = {
        "bucketName": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
                       "description": "Bucket name, globally unique; cannot change.",
                       **immutable("bucketName cannot change")},
        "versioning": {"type": "boolean", "default": False,
                       "description": "Keep every version of every object (once on, it can only be suspended)."},
        "encryption": {"type": "object", "description": "Default encryption: SSE-S3 (AES256, the default) or SSE-KMS.",
                       "properties": {"algorithm": {"type": "string", "enum": ["AES256", "aws:kms"],
                                                    "default": "AES256"},
                                      "kmsKeyId": {"type": "string", "minLength": 1,
                                                   "description": "KMS key id or ARN (aws:kms only)."}},
                       "x-kubernetes-validations": [{"rule": "!has(self.kmsKeyId) || self.algorithm == 'aws:kms'",
                                                     "message": "kmsKeyId needs algorithm aws:kms"}]},
        "publicAccessBlock": {"type": "object", "description": "The four public access blocks; each on by default.",
                              "properties": {name[0].lower() + name[1:]: {"type": "boolean", "default": True}
                                             for name in BLOCKS}},
        "lifecycleRules": {"type": "array", "maxItems": 100, "items": LIFECYCLE_RULE,
                           "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["id"],
                           "description": "Lifecycle rules, matched by id (unlisted ones are removed)."},
        "policy": {"type": "object", "x-kubernetes-preserve-unknown-fields": True,
                   "description": "The bucket policy document; unset: no policy."},
    }
    spec_required = ("bucketName",)
    # The regional domain is what a CloudFront origin names the bucket by (CloudFront's bucketRef).
    status_properties = {"regionalDomainName": {"type": "string"}}
    printer_columns = (("Versioning", ".spec.versioning", "boolean"),)
    drift_fields = (
        DriftField("bucketName", Severity.CRITICAL, updatable=False),
        DriftField("publicAccessBlock", Severity.CRITICAL),
        DriftField("policy", Severity.CRITICAL),
        DriftField("encryption", Severity.CRITICAL),
        DriftField("versioning", Severity.WARNING),
        DriftField("lifecycleRules", Severity.WARNING),
    )

    def validate(self, spec: Mapping[str, Any], related: Mapping[str, Mapping[str, Any]]) -> None:
        encryption = spec.get("encryption") or {}
        if encryption.get("kmsKeyId") and encryption.get("algorithm", "AES256") != "aws:kms":
            raise TerminalError("spec.encryption.kmsKeyId needs algorithm aws:kms", reason="InvalidEncryption")
        ids = [rule["id"] for rule in spec.get("lifecycleRules") or ()]
        if len(ids) != len(set(ids)):
            raise TerminalError("spec.lifecycleRules: rule ids must be unique", reason="InvalidLifecycleRule")
        if ".." in spec["bucketName"] or spec["bucketName"].replace(".", "").isdigit():
            raise TerminalError(f"spec.bucketName {spec['bucketName']!r} is not a valid bucket name",
                                reason="InvalidBucketName")
        if spec.get("policy") is not None and not (spec["policy"] or {}).get("Statement"):
            raise TerminalError("spec.policy must be a policy document with a Statement", reason="InvalidPolicy")

    def desired(self, spec: Mapping[str, Any]) -> State:
        encryption = spec.get("encryption") or {}
        blocks = spec.get("publicAccessBlock") or {}
        return {
            "bucketName": spec["bucketName"],
            "versioning": "Enabled" if spec.get("versioning") else "Suspended",
            "encryption": {"algorithm": encryption.get("algorithm", "AES256"), "kmsKeyId": encryption.get("kmsKeyId")},
            "publicAccessBlock": {name: blocks.get(name[0].lower() + name[1:], True) for name in BLOCKS},
            "lifecycleRules": [_spec_rule(_aws_rule(rule)) for rule in spec.get("lifecycleRules") or ()],
            "policy": canonical_policy(spec["policy"]) if spec.get("policy") else "",
        }

    def observe(self, raw: Raw) -> State:
        rule = ((raw["Encryption"] or {}).get("ServerSideEncryptionConfiguration", {}).get("Rules") or [{}])[0]
        default = rule.get("ApplyServerSideEncryptionByDefault") or {}
        return {
            "bucketName": raw["Name"],
            # Never enabled reads as unset: the same as suspended for the spec.
            "versioning": raw["Versioning"].get("Status") or "Suspended",
            "encryption": {"algorithm": default.get("SSEAlgorithm"), "kmsKeyId": default.get("KMSMasterKeyID")},
            "publicAccessBlock": {name: bool((raw["PublicAccessBlock"] or {}).get(name)) for name in BLOCKS},
            "lifecycleRules": [_spec_rule(r) for r in (raw["Lifecycle"] or {}).get("Rules") or ()],
            "policy": canonical_policy(raw["Policy"]) if raw["Policy"] else "",
        }

    def identify(self, raw: Raw) -> str:
        return raw["Name"]

    def identities(self, raw: Raw) -> State:
        return {"arn": f"arn:aws:s3:::{raw['Name']}"}

    def status(self, raw: Raw) -> State:
        return {"regionalDomainName": f"{raw['Name']}.s3.{raw['Region']}.amazonaws.com"}

    def read(self, aws: AWSClients, ident: str) -> Raw | None:
        s3 = aws.client("s3")
        head = self.absent_if_missing(s3.head_bucket, Bucket=ident)
        if head is None:
            return None
        versioning = s3.get_bucket_versioning(Bucket=ident)
        encryption = _configured(s3.get_bucket_encryption, Bucket=ident)
        blocks = _configured(s3.get_public_access_block, Bucket=ident)
        lifecycle = _configured(s3.get_bucket_lifecycle_configuration, Bucket=ident)
        policy = _configured(s3.get_bucket_policy, Bucket=ident)
        return {"Name": ident, "Region": head["BucketRegion"], "Versioning": versioning, "Encryption": encryption,
                "PublicAccessBlock": (blocks or {}).get("PublicAccessBlockConfiguration"),
                "Lifecycle": lifecycle, "Policy": (policy or {}).get("Policy")}

    def read_tags(self, aws: AWSClients, ident: str, raw: Raw) -> dict[str, str]:
        tagging = _configured(aws.client("s3").get_bucket_tagging, Bucket=ident) or {}
        return tag_map(tagging.get("TagSet"))

    def create(self, aws: AWSClients, desired: State, tags: Mapping[str, str], token: str) -> Raw:
        params: dict[str, Any] = {"Bucket": desired["bucketName"]}
        if aws.region != "us-east-1":
            params["CreateBucketConfiguration"] = {"LocationConstraint": aws.region}
        aws.client("s3").create_bucket(**params)
        # The rest follows as an update of what the create could not set.
        return {"Name": desired["bucketName"], "Region": aws.region, "Versioning": {}, "Encryption": None, "PublicAccessBlock": None,
                "Lifecycle": None, "Policy": None}

    def update(self, aws: AWSClients, ident: str, desired: State, raw: Raw, changed: frozenset[str]) -> None:
        s3 = aws.client("s3")
        if "publicAccessBlock" in changed:
            s3.put_public_access_block(Bucket=ident, PublicAccessBlockConfiguration=desired["publicAccessBlock"])
        if "encryption" in changed:
            default = {"SSEAlgorithm": desired["encryption"]["algorithm"]}
            if desired["encryption"]["kmsKeyId"]:
                default["KMSMasterKeyID"] = desired["encryption"]["kmsKeyId"]
            s3.put_bucket_encryption(Bucket=ident, ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": default}]})
        if "versioning" in changed:
            s3.put_bucket_versioning(Bucket=ident, VersioningConfiguration={"Status": desired["versioning"]})
        if "lifecycleRules" in changed:
            # The API takes the whole set; rules compare as a set (frozen), matched by id.
            if desired["lifecycleRules"]:
                s3.put_bucket_lifecycle_configuration(Bucket=ident, LifecycleConfiguration={
                    "Rules": [_aws_rule(rule) for rule in sorted(desired["lifecycleRules"], key=frozen)]})
            else:
                s3.delete_bucket_lifecycle(Bucket=ident)
        if "policy" in changed:
            if desired["policy"]:
                s3.put_bucket_policy(Bucket=ident, Policy=desired["policy"])
            else:
                s3.delete_bucket_policy(Bucket=ident)

    def set_tags(self, aws: AWSClients, ident: str, change: TagChange) -> None:
        s3 = aws.client("s3")
        if change.result:
            s3.put_bucket_tagging(Bucket=ident, Tagging={"TagSet": tag_list(dict(sorted(change.result.items())))})
        else:
            s3.delete_bucket_tagging(Bucket=ident)

    def delete(self, aws: AWSClients, ident: str, raw: Raw, spec: Mapping[str, Any]) -> None:
        s3 = aws.client("s3")
        if spec.get("forceDestroy"):
            for page in s3.get_paginator("list_object_versions").paginate(Bucket=ident):
                doomed = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                          for v in (page.get("Versions") or []) + (page.get("DeleteMarkers") or [])]
                if doomed:
                    s3.delete_objects(Bucket=ident, Delete={"Objects": doomed, "Quiet": True})
        s3.delete_bucket(Bucket=ident)
