"""KMSKey: a customer managed KMS key, its alias, automatic rotation and key policy.

Deleting a key makes everything encrypted under it unreadable, so the safe choices are the
defaults: deletionPolicy Retain, and under Delete a scheduled deletion after the longest pending
window (30 days) that re-creating the object cancels.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from ..provider.errors import TerminalError
from ..engine.kind import (AWSClients, Deletion, DriftField, Identity, Kind, Raw, Severity, State, TagChange, Tagging,
                           tag_list, tag_map)
from ..engine.lookups import tagged_arns
from ..engine.policies import canonical_policy
from ..engine.schema import IMMUTABLE

KEY_USAGES = ("ENCRYPT_DECRYPT", "SIGN_VERIFY", "GENERATE_VERIFY_MAC", "KEY_AGREEMENT")
KEY_SPECS = ("SYMMETRIC_DEFAULT", "RSA_2048", "RSA_3072", "RSA_4096", "ECC_NIST_P256", "ECC_NIST_P384",
             "ECC_NIST_P521", "ECC_SECG_P256K1", "HMAC_224", "HMAC_256", "HMAC_384", "HMAC_512", "SM2")
# The key usages each family of key specs allows (AWS KMS key spec reference).
USAGES = {
    "SYMMETRIC_DEFAULT": ("ENCRYPT_DECRYPT",),
    "RSA_": ("ENCRYPT_DECRYPT", "SIGN_VERIFY"),
    "ECC_NIST_": ("SIGN_VERIFY", "KEY_AGREEMENT"),
    "ECC_SECG_": ("SIGN_VERIFY",),
    "HMAC_": ("GENERATE_VERIFY_MAC",),
    "SM2": ("ENCRYPT_DECRYPT", "SIGN_VERIFY", "KEY_AGREEMENT"),
}
ALIAS_PREFIX = "alias/"
ROTATION_PERIOD = (90, 2560)  # days AWS allows between automatic rotations; 365 when unset
DEFAULT_PENDING_WINDOW = 30
ROTATION_NEEDS_SYMMETRIC = "enableKeyRotation is only for SYMMETRIC_DEFAULT keys"
PERIOD_NEEDS_ROTATION = "rotationPeriodInDays needs enableKeyRotation"
ALIAS_NOT_AWS = "alias must not start with aws/ (reserved for AWS managed keys)"


def _usages(key_spec: str) -> tuple[str, ...]:
    return next(usages for prefix, usages in USAGES.items() if key_spec.startswith(prefix))


def _document(canonical: str) -> str:
    """A policy document from its canonical form (the late-initialised policy AWS had), with
    the statements as a list, as every KMS API reads them."""
    document = json.loads(canonical)
    if isinstance(document.get("Statement"), dict):
        document["Statement"] = [document["Statement"]]
    return json.dumps(document)


def _usage_rule() -> str:
    """CEL: the key usage fits the key spec."""
    return " && ".join(
        f"(!self.keySpec.startsWith('{prefix}') || " + " || ".join(f"self.keyUsage == '{u}'" for u in usages) + ")"
        for prefix, usages in USAGES.items())


class KMSKey(Kind):
    kind = "KMSKey"
    plural = "kmskeys"
    short_names = ("kms",)
    description = ("A customer managed KMS key with an alias. deletionPolicy defaults to Retain; Delete "
                   "schedules the key's deletion after pendingWindowInDays, which re-creating the object "
                   "before that date cancels.")
    identifier = "keyId"
    identity = Identity(fields=("arn",))
    spec_properties = {
        "alias": {"type": "string", "pattern": r"^[a-zA-Z0-9/_-]{1,250}$",
                  "description": "The key's alias, without the alias/ prefix; changing it moves the alias."},
        "description": {"type": "string", "maxLength": 8192, "default": "",
                        "description": "The key's description."},
        "keyUsage": {"type": "string", "enum": list(KEY_USAGES), "default": "ENCRYPT_DECRYPT", **IMMUTABLE,
                     "description": "What the key is for; cannot change after creation."},
        "keySpec": {"type": "string", "enum": list(KEY_SPECS), "default": "SYMMETRIC_DEFAULT", **IMMUTABLE,
                    "description": "Key material type; cannot change after creation."},
        "multiRegion": {"type": "boolean", "default": False, **IMMUTABLE,
                        "description": "A multi-Region primary key; cannot change after creation."},
        "enabled": {"type": "boolean", "default": True,
                    "description": "Whether the key can be used in cryptographic operations."},
        "enableKeyRotation": {"type": "boolean", "default": False,
                              "description": "Automatic yearly (or rotationPeriodInDays) rotation of the key "
                                             "material; SYMMETRIC_DEFAULT keys only."},
        "rotationPeriodInDays": {"type": "integer", "minimum": ROTATION_PERIOD[0], "maximum": ROTATION_PERIOD[1],
                                 "description": "Days between automatic rotations (AWS default 365)."},
        "keyPolicy": {"type": "string", "minLength": 2, "maxLength": 32768,
                      "description": "The key policy as JSON (compared canonically); AWS's default policy "
                                     "when unset, kept as it was first seen."},
        "pendingWindowInDays": {"type": "integer", "minimum": 7, "maximum": 30, "default": DEFAULT_PENDING_WINDOW,
                                "description": "Days AWS waits before deleting the key under deletionPolicy "
                                               "Delete; re-creating the object before then keeps the key."},
    }
    spec_validations = (
        {"rule": _usage_rule(), "message": "keyUsage does not fit keySpec"},
        {"rule": "!self.enableKeyRotation || self.keySpec == 'SYMMETRIC_DEFAULT'",
         "message": ROTATION_NEEDS_SYMMETRIC},
        {"rule": "!has(self.rotationPeriodInDays) || self.enableKeyRotation", "message": PERIOD_NEEDS_ROTATION},
        {"rule": "!has(self.alias) || !self.alias.startsWith('aws/')", "message": ALIAS_NOT_AWS},
    )
    printer_columns = (("Alias", ".status.alias", "string"), ("State", ".status.keyState", "string"))
    status_properties = {"creationDate": {"type": "string"}, "deletionDate": {"type": "string"},
                         "keyManager": {"type": "string"}}
    drift_fields = (
        DriftField("keyUsage", Severity.CRITICAL, updatable=False),
        DriftField("keySpec", Severity.CRITICAL, updatable=False),
        DriftField("multiRegion", Severity.CRITICAL, updatable=False),
        DriftField("keyPolicy", Severity.CRITICAL, late_init=True),
        DriftField("enabled", Severity.CRITICAL),
        DriftField("enableKeyRotation", Severity.CRITICAL),
        DriftField("rotationPeriodInDays", Severity.WARNING),
        DriftField("aliases", Severity.WARNING),
        DriftField("description", Severity.INFO),
    )
    tagging = Tagging(at_create=True, in_description=True)
    deletion = Deletion(default="Retain", scheduled=True)

    def validate(self, spec: Mapping[str, Any], related: Mapping[str, Mapping[str, Any]]) -> None:
        key_spec, usage = spec.get("keySpec", "SYMMETRIC_DEFAULT"), spec.get("keyUsage", "ENCRYPT_DECRYPT")
        if usage not in _usages(key_spec):
            raise TerminalError(f"keyUsage {usage} does not fit keySpec {key_spec} "
                                f"(allowed: {', '.join(_usages(key_spec))})")
        if spec.get("enableKeyRotation") and key_spec != "SYMMETRIC_DEFAULT":
            raise TerminalError(ROTATION_NEEDS_SYMMETRIC)
        if "rotationPeriodInDays" in spec and not spec.get("enableKeyRotation"):
            raise TerminalError(PERIOD_NEEDS_ROTATION)
        if spec.get("alias", "").startswith("aws/"):
            raise TerminalError(ALIAS_NOT_AWS)
        if spec.get("keyPolicy") is not None:
            canonical_policy(spec["keyPolicy"])

    def desired(self, spec: Mapping[str, Any]) -> State:
        rotation = bool(spec.get("enableKeyRotation", False))
        return {
            "description": spec.get("description", ""),
            "keyUsage": spec.get("keyUsage", "ENCRYPT_DECRYPT"),
            "keySpec": spec.get("keySpec", "SYMMETRIC_DEFAULT"),
            "multiRegion": bool(spec.get("multiRegion", False)),
            "enabled": bool(spec.get("enabled", True)),
            "enableKeyRotation": rotation,
            "rotationPeriodInDays": spec.get("rotationPeriodInDays") if rotation else None,
            "keyPolicy": canonical_policy(spec.get("keyPolicy")),
            # Sent as written: the canonical form is for comparing only.
            "keyPolicyDocument": spec.get("keyPolicy"),
            "aliases": [ALIAS_PREFIX + spec["alias"]] if spec.get("alias") else [],
        }

    def observe(self, raw: Raw) -> State:
        meta = raw["KeyMetadata"]
        rotation = raw.get("Rotation") or {}
        return {
            "description": meta.get("Description", ""),
            "keyUsage": meta.get("KeyUsage"),
            "keySpec": meta.get("KeySpec"),
            "multiRegion": bool(meta.get("MultiRegion", False)),
            "enabled": meta.get("KeyState") != "Disabled",
            "enableKeyRotation": bool(rotation.get("KeyRotationEnabled", False)),
            "rotationPeriodInDays": rotation.get("RotationPeriodInDays"),
            "keyPolicy": canonical_policy(raw["Policy"]) if raw.get("Policy") else None,
            "aliases": sorted(raw.get("Aliases") or ()),
            "tags": tag_map(raw.get("Tags"), "TagKey", "TagValue"),
        }

    def identify(self, raw: Raw) -> str:
        return raw["KeyMetadata"]["KeyId"]

    def identities(self, raw: Raw) -> State:
        return {"arn": raw["KeyMetadata"]["Arn"]}

    def status(self, raw: Raw) -> State:
        meta = raw["KeyMetadata"]
        aliases = raw.get("Aliases") or ()
        return {
            "alias": aliases[0] if aliases else None,
            "keyState": meta.get("KeyState"),
            "keyManager": meta.get("KeyManager"),
            "creationDate": self.timestamp(meta.get("CreationDate")),
            "deletionDate": self.timestamp(meta.get("DeletionDate")),
        }

    def deletion_date(self, raw: Raw) -> str | None:
        meta = raw["KeyMetadata"]
        return self.timestamp(meta.get("DeletionDate")) if meta.get("KeyState") == "PendingDeletion" else None

    def read(self, aws: AWSClients, ident: str) -> Raw | None:
        kms = aws.client("kms")
        described = self.absent_if_missing(kms.describe_key, KeyId=ident)
        if described is None:
            return None
        meta = described["KeyMetadata"]
        key_id = meta["KeyId"]
        raw: dict[str, Any] = {"KeyMetadata": meta,
                               "Policy": kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"],
                               "Aliases": sorted(a["AliasName"] for page in kms.get_paginator("list_aliases")
                                                 .paginate(KeyId=key_id) for a in page["Aliases"]),
                               "Tags": [t for page in kms.get_paginator("list_resource_tags").paginate(KeyId=key_id)
                                        for t in page["Tags"]]}
        if meta.get("KeySpec") == "SYMMETRIC_DEFAULT" and meta.get("Origin") == "AWS_KMS":
            raw["Rotation"] = kms.get_key_rotation_status(KeyId=key_id)
        return raw

    def create(self, aws: AWSClients, desired: State, tags: Mapping[str, str], token: str) -> Raw:
        # Alias, rotation and the enabled state follow as an update of the new key.
        params: dict[str, Any] = {
            "Description": desired["description"], "KeyUsage": desired["keyUsage"],
            "KeySpec": desired["keySpec"], "MultiRegion": desired["multiRegion"],
            "Tags": tag_list(tags, "TagKey", "TagValue")}
        if desired["keyPolicyDocument"]:
            params["Policy"] = desired["keyPolicyDocument"]
        return aws.client("kms").create_key(**params)

    def update(self, aws: AWSClients, ident: str, desired: State, raw: Raw, changed: frozenset[str]) -> None:
        kms = aws.client("kms")
        if "keyPolicy" in changed:
            kms.put_key_policy(KeyId=ident, PolicyName="default",
                               Policy=desired["keyPolicyDocument"] or _document(desired["keyPolicy"]))
        if "description" in changed:
            kms.update_key_description(KeyId=ident, Description=desired["description"])
        if "enabled" in changed:
            (kms.enable_key if desired["enabled"] else kms.disable_key)(KeyId=ident)
        if {"enableKeyRotation", "rotationPeriodInDays"} & changed:
            if desired["enableKeyRotation"]:
                period = {"RotationPeriodInDays": desired["rotationPeriodInDays"]} \
                    if desired.get("rotationPeriodInDays") else {}
                kms.enable_key_rotation(KeyId=ident, **period)
            else:
                kms.disable_key_rotation(KeyId=ident)
        if "aliases" in changed:
            self._move_aliases(kms, ident, desired["aliases"], raw.get("Aliases") or ())

    def _move_aliases(self, kms: Any, ident: str, wanted: list[str], present: list[str]) -> None:
        """Create the wanted alias before removing the old one, so the key is never without it."""
        for alias in wanted:
            if alias not in present:
                try:
                    kms.create_alias(AliasName=alias, TargetKeyId=ident)
                except kms.exceptions.AlreadyExistsException:
                    raise TerminalError(f"{alias} already names another key: choose another alias, or delete "
                                        "that alias first", reason="AliasTaken") from None
        for alias in present:
            if alias not in wanted:
                kms.delete_alias(AliasName=alias)

    def restore(self, aws: AWSClients, ident: str, raw: Raw) -> None:
        # A cancelled deletion leaves the key disabled; the enabled drift field re-enables it.
        aws.client("kms").cancel_key_deletion(KeyId=ident)

    def set_tags(self, aws: AWSClients, ident: str, change: TagChange) -> None:
        kms = aws.client("kms")
        change.apply(lambda tags: kms.tag_resource(KeyId=ident, Tags=tags),
                     lambda keys: kms.untag_resource(KeyId=ident, TagKeys=keys), key="TagKey", value="TagValue")

    def find_all_owned(self, aws: AWSClients, owner_uid_tag: tuple[str, str]) -> list[Raw]:
        found = [self.read(aws, arn) for arn in tagged_arns(aws, ["kms:key"], owner_uid_tag)]
        return [raw for raw in found if raw is not None]

    def delete(self, aws: AWSClients, ident: str, raw: Raw, spec: Mapping[str, Any]) -> None:
        if self.deletion_date(raw) is None:
            aws.client("kms").schedule_key_deletion(
                KeyId=ident, PendingWindowInDays=spec.get("pendingWindowInDays", DEFAULT_PENDING_WINDOW))
