"""KMSKey: a customer managed KMS key, its alias, automatic rotation and key policy.

Deleting a key makes everything encrypted under it unreadable, so the safe choices are the
defaults: deletionPolicy Retain, and under Delete a scheduled deletion after the longest pending
window (30 days) that re-creating the object cancels. `services/kms.py` computes the calls.
"""

from __future__ import annotations

from typing import Any, Mapping

from ..provider.errors import TerminalError
from ..engine.kind import Deletion, DriftField, Identity, Severity, Tagging
from ..engine.policies import canonical_policy
from ..engine.scheduled_deletion import DEFAULT_WINDOW
from ..engine.schema import IMMUTABLE
from ..services.kms import Key

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
ROTATION_PERIOD = (90, 2560)  # days AWS allows between automatic rotations; 365 when unset
ROTATION_NEEDS_SYMMETRIC = "enableKeyRotation is only for SYMMETRIC_DEFAULT keys"
PERIOD_NEEDS_ROTATION = "rotationPeriodInDays needs enableKeyRotation"
ALIAS_NOT_AWS = "alias must not start with aws/ (reserved for AWS managed keys)"


def _usages(key_spec: str) -> tuple[str, ...]:
    return next(usages for prefix, usages in USAGES.items() if key_spec.startswith(prefix))


def _usage_rule() -> str:
    """CEL: the key usage fits the key spec."""
    return " && ".join(
        f"(!self.keySpec.startsWith('{prefix}') || " + " || ".join(f"self.keyUsage == '{u}'" for u in usages) + ")"
        for prefix, usages in USAGES.items())


class KMSKey(Key):
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
        "pendingWindowInDays": {"type": "integer", "minimum": 7, "maximum": 30, "default": DEFAULT_WINDOW,
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
