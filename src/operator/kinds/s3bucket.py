"""S3Bucket: an S3 bucket named by the spec (globally unique: a taken name is Ready=False
NameTaken), with versioning, default encryption, the public access block (on by default),
lifecycle rules as a set, a bucket policy compared as canonical JSON and tags set as a whole
(PutBucketTagging). Deleting a bucket that still holds objects is refused (AWS's own rule,
shown as DeletionProtected) unless forceDestroy is set. `services/s3.py` computes the state and
reads and writes the sub-resources."""

from __future__ import annotations

from typing import Any, Mapping

from ..engine.kind import (Adoption, AWSClients, Deletion, DriftField, ErrorMatch, Identity, Kind, Raw, Severity,
                           State, TagChange, Tagging)
from ..engine.schema import immutable
from ..provider.errors import TerminalError
from ..services.s3 import (BLOCKS, block_field, bucket_description, bucket_tags, create_bucket, desired_bucket,
                           empty_bucket, observed_bucket, set_bucket_tags, update_bucket)

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
                              "properties": {block_field(name): {"type": "boolean", "default": True}
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
        return desired_bucket(spec)

    def observe(self, raw: Raw) -> State:
        return observed_bucket(raw)

    def identify(self, raw: Raw) -> str:
        return raw["Name"]

    def identities(self, raw: Raw) -> State:
        return {"arn": f"arn:aws:s3:::{raw['Name']}"}

    def status(self, raw: Raw) -> State:
        return {"regionalDomainName": f"{raw['Name']}.s3.{raw['Region']}.amazonaws.com"}

    def read(self, aws: AWSClients, ident: str) -> Raw | None:
        s3 = aws.client("s3")
        head = self.absent_if_missing(s3.head_bucket, Bucket=ident)
        return None if head is None else bucket_description(s3, ident, head)

    def read_tags(self, aws: AWSClients, ident: str, raw: Raw) -> dict[str, str]:
        return bucket_tags(aws.client("s3"), ident)

    def create(self, aws: AWSClients, desired: State, tags: Mapping[str, str], token: str) -> Raw:
        return create_bucket(aws.client("s3"), desired["bucketName"], aws.region)

    def update(self, aws: AWSClients, ident: str, desired: State, raw: Raw, changed: frozenset[str]) -> None:
        update_bucket(aws.client("s3"), ident, desired, changed)

    def set_tags(self, aws: AWSClients, ident: str, change: TagChange) -> None:
        set_bucket_tags(aws.client("s3"), ident, change)

    def delete(self, aws: AWSClients, ident: str, raw: Raw, spec: Mapping[str, Any]) -> None:
        s3 = aws.client("s3")
        if spec.get("forceDestroy"):
            empty_bucket(s3, ident)
        s3.delete_bucket(Bucket=ident)
