"""S3 buckets: the comparable state of a spec and of a bucket's sub-resources (versioning,
default encryption, public access block, lifecycle rules, policy), their reads and writes (each
a call of its own; a sub-resource the spec drops is deleted), the tag set, and emptying a
bucket before its deletion."""

from __future__ import annotations

from typing import Any, Callable, Mapping

from ..engine.delta import frozen
from ..engine.kind import Raw, State, TagChange, tag_list, tag_map
from ..engine.policies import canonical_policy
from ..provider.errors import error_code

BLOCKS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
# What S3 answers when a bucket has none of a configuration: not an error, the empty value.
NONE_CONFIGURED = frozenset({"ServerSideEncryptionConfigurationNotFoundError", "NoSuchPublicAccessBlockConfiguration",
                             "NoSuchLifecycleConfiguration", "NoSuchBucketPolicy", "NoSuchTagSet"})


def block_field(block: str) -> str:
    """The spec's name of a public access block (BlockPublicAcls: blockPublicAcls)."""
    return block[0].lower() + block[1:]


def desired_bucket(spec: Mapping[str, Any]) -> State:
    encryption = spec.get("encryption") or {}
    blocks = spec.get("publicAccessBlock") or {}
    return {
        "bucketName": spec["bucketName"],
        "versioning": "Enabled" if spec.get("versioning") else "Suspended",
        "encryption": {"algorithm": encryption.get("algorithm", "AES256"), "kmsKeyId": encryption.get("kmsKeyId")},
        "publicAccessBlock": {name: blocks.get(block_field(name), True) for name in BLOCKS},
        "lifecycleRules": [_spec_rule(_aws_rule(rule)) for rule in spec.get("lifecycleRules") or ()],
        "policy": canonical_policy(spec["policy"]) if spec.get("policy") else "",
    }


def observed_bucket(raw: Raw) -> State:
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


def bucket_description(s3: Any, ident: str, head: Raw) -> Raw:
    """The bucket (its HeadBucket answer) with its sub-resources."""
    versioning = s3.get_bucket_versioning(Bucket=ident)
    encryption = _configured(s3.get_bucket_encryption, Bucket=ident)
    blocks = _configured(s3.get_public_access_block, Bucket=ident)
    lifecycle = _configured(s3.get_bucket_lifecycle_configuration, Bucket=ident)
    policy = _configured(s3.get_bucket_policy, Bucket=ident)
    return {"Name": ident, "Region": head["BucketRegion"], "Versioning": versioning, "Encryption": encryption,
            "PublicAccessBlock": (blocks or {}).get("PublicAccessBlockConfiguration"),
            "Lifecycle": lifecycle, "Policy": (policy or {}).get("Policy")}


def bucket_tags(s3: Any, ident: str) -> dict[str, str]:
    tagging = _configured(s3.get_bucket_tagging, Bucket=ident) or {}
    return tag_map(tagging.get("TagSet"))


def create_bucket(s3: Any, name: str, region: str) -> Raw:
    params: dict[str, Any] = {"Bucket": name}
    if region != "us-east-1":
        params["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**params)
    # The rest follows as an update of what the create could not set.
    return {"Name": name, "Region": region, "Versioning": {}, "Encryption": None, "PublicAccessBlock": None,
            "Lifecycle": None, "Policy": None}


def update_bucket(s3: Any, ident: str, desired: State, changed: frozenset[str]) -> None:
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


def set_bucket_tags(s3: Any, ident: str, change: TagChange) -> None:
    if change.result:
        s3.put_bucket_tagging(Bucket=ident, Tagging={"TagSet": tag_list(dict(sorted(change.result.items())))})
    else:
        s3.delete_bucket_tagging(Bucket=ident)


def empty_bucket(s3: Any, ident: str) -> None:
    """Delete every object version and delete marker (a bucket holding any is not deleted)."""
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=ident):
        doomed = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                  for v in (page.get("Versions") or []) + (page.get("DeleteMarkers") or [])]
        if doomed:
            s3.delete_objects(Bucket=ident, Delete={"Objects": doomed, "Quiet": True})


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
