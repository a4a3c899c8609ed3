"""KMS: what KMSKey computes. The comparable state of a key (its policy canonically), its create
call, the updates of policy, description, enabled state, rotation and alias (moved without a gap),
and its deletion, scheduled after the pending window and cancelled by re-creating the object."""

from __future__ import annotations

import json
from typing import Any, Mapping

from ..engine.delta import aws_params
from ..engine.kind import AWSClients, Raw, State, TagChange, tag_list, tag_map, tag_resource
from ..engine.lookups import paginated, read_tagged
from ..engine.policies import canonical_policy
from ..engine.scheduled_deletion import ScheduledDeletion, ScheduledDeletionKind
from ..provider.errors import TerminalError

ALIAS_PREFIX = "alias/"


def _document(canonical: str) -> str:
    """A policy document from its canonical form (the late-initialised policy AWS had), with
    the statements as a list, as every KMS API reads them."""
    document = json.loads(canonical)
    if isinstance(document.get("Statement"), dict):
        document["Statement"] = [document["Statement"]]
    return json.dumps(document)


class Key(ScheduledDeletionKind):
    """Base of KMSKey: a customer managed key keyed by its id, with its alias."""

    # A cancelled deletion leaves the key disabled; the enabled drift field re-enables it.
    scheduled_deletion = ScheduledDeletion("kms", "KeyId", "schedule_key_deletion", "cancel_key_deletion",
                                           "PendingWindowInDays", "pendingWindowInDays")

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
                               "Aliases": sorted(a["AliasName"] for a in paginated(kms, "list_aliases", "Aliases",
                                                                                    KeyId=key_id)),
                               "Tags": list(paginated(kms, "list_resource_tags", "Tags", KeyId=key_id))}
        if meta.get("KeySpec") == "SYMMETRIC_DEFAULT" and meta.get("Origin") == "AWS_KMS":
            raw["Rotation"] = kms.get_key_rotation_status(KeyId=key_id)
        return raw

    def create(self, aws: AWSClients, desired: State, tags: Mapping[str, str], token: str) -> Raw:
        # Alias, rotation and the enabled state follow as an update of the new key.
        return aws.client("kms").create_key(Tags=tag_list(tags, "TagKey", "TagValue"), **aws_params(desired, {
            "Description": "description", "KeyUsage": "keyUsage", "KeySpec": "keySpec", "MultiRegion": "multiRegion",
            "Policy": "keyPolicyDocument"}))

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
                kms.enable_key_rotation(KeyId=ident, **aws_params(desired, {"RotationPeriodInDays": "rotationPeriodInDays"}))
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

    def set_tags(self, aws: AWSClients, ident: str, change: TagChange) -> None:
        tag_resource(aws.client("kms"), change, key="TagKey", value="TagValue", KeyId=ident)

    def find_all_owned(self, aws: AWSClients, owner_uid_tag: tuple[str, str]) -> list[Raw]:
        return read_tagged(aws, self.read, ["kms:key"], owner_uid_tag)
