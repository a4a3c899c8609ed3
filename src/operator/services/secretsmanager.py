"""Secrets Manager: what SecretsManagerSecret computes. The comparable state of a secret (KMS
keys in one spelling, replicas and rotation rules), its value as the secret inputs compare it,
the create call, the updates of description, key, value, replicas and rotation, and its
deletion, scheduled after the recovery window (replicas removed first) and cancelled by
re-creating the object.

The value reaches this module only as a SecretValue, goes to AWS in CreateSecret/PutSecretValue,
and is compared with AWS's current value in this process; it is never logged, stored or hashed.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from ..engine.delta import reconcile_set
from ..engine.kind import AWSClients, Raw, SecretValue, State, TagChange, tag_list, tag_map, tag_resource
from ..engine.scheduled_deletion import ScheduledDeletion, ScheduledDeletionKind

DEFAULT_KMS_KEY = "alias/aws/secretsmanager"
# The status fields of the secret's dates (DescribeSecret's CreatedDate...).
DATES = ("createdDate", "lastChangedDate", "lastRotatedDate", "nextRotationDate", "deletedDate")
# The secret inputs holding the value (one is set).
VALUES = ("secretString", "secretBinary", "secretJson")


def _key_id(key: str | None) -> str | None:
    """A KMS key in one spelling, as the spec gives it or AWS echoes it: a key ARN as the key id,
    an alias ARN as alias/name; None for the AWS managed key of Secrets Manager."""
    if not key or key == DEFAULT_KMS_KEY or key.endswith(":" + DEFAULT_KMS_KEY):
        return None
    for marker in (":key/", ":alias/"):
        if marker in key:
            prefix = "alias/" if marker == ":alias/" else ""
            return prefix + key.split(marker, 1)[1]
    return key


class Secret(ScheduledDeletionKind):
    """Base of SecretsManagerSecret: a secret keyed by its name."""

    scheduled_deletion = ScheduledDeletion("secretsmanager", "SecretId", "delete_secret", "restore_secret",
                                           "RecoveryWindowInDays", "recoveryWindowInDays",
                                           force_param="ForceDeleteWithoutRecovery")

    def desired(self, spec: Mapping[str, Any]) -> State:
        rotation = bool(spec.get("rotationEnabled", False))
        return {
            "secretName": spec["secretName"],
            "description": spec.get("description", ""),
            "kmsKeyId": _key_id(spec.get("kmsKeyId")) or "",
            "replicaRegions": _replicas(spec.get("replicaRegions"), "region", "kmsKeyId"),
            "rotationEnabled": rotation,
            "rotationLambdaArn": spec.get("rotationLambdaArn") if rotation else None,
            "rotationRules": _rules(spec) if rotation else None,
        }

    def observe(self, raw: Raw) -> State:
        rotation = bool(raw.get("RotationEnabled"))
        observed = {
            "secretName": raw["Name"],
            "description": raw.get("Description", ""),
            "kmsKeyId": _key_id(raw.get("KmsKeyId")) or "",
            "replicaRegions": _replicas(raw.get("ReplicationStatus"), "Region", "KmsKeyId"),
            "rotationEnabled": rotation,
            "rotationLambdaArn": raw.get("RotationLambdaARN") or None,
            "rotationRules": _observed_rules(raw.get("RotationRules")),
            "tags": tag_map(raw.get("Tags")),
        }
        # While a rotation function owns the value, AWS's value is not compared with the Secret's.
        if not rotation:
            observed.update(raw.get("Values") or {})
        return observed

    def identify(self, raw: Raw) -> str:
        return raw["Name"]

    def identities(self, raw: Raw) -> State:
        return {"arn": raw["ARN"]}

    def status(self, raw: Raw) -> State:
        current = next((v for v, stages in (raw.get("VersionIdsToStages") or {}).items() if "AWSCURRENT" in stages),
                       None)
        return {
            "versionId": current,
            "rotationEnabled": bool(raw.get("RotationEnabled")),
            **{field: self.timestamp(raw.get(field[0].upper() + field[1:])) for field in DATES},
        }

    def deletion_date(self, raw: Raw) -> str | None:
        return self.timestamp(raw.get("DeletedDate"))

    def read(self, aws: AWSClients, ident: str) -> Raw | None:
        sm = aws.client("secretsmanager")
        raw = self.absent_if_missing(sm.describe_secret, SecretId=ident)
        if raw is None or raw.get("DeletedDate") or raw.get("RotationEnabled"):
            return raw  # no value to compare: gone, or owned by the rotation function
        return {**raw, "Values": _values(sm.get_secret_value(SecretId=ident))}

    def create(self, aws: AWSClients, desired: State, tags: Mapping[str, str], token: str) -> Raw:
        params: dict[str, Any] = {
            "Name": desired["secretName"], "Description": desired["description"], "ClientRequestToken": token,
            "Tags": tag_list(tags), **_value_params(desired)}
        if desired["kmsKeyId"]:
            params["KmsKeyId"] = desired["kmsKeyId"]
        if desired["replicaRegions"]:
            params["AddReplicaRegions"] = [_replica(r) for r in desired["replicaRegions"]]
        # Rotation follows as an update of the new secret.
        return aws.client("secretsmanager").create_secret(**params)

    def update(self, aws: AWSClients, ident: str, desired: State, raw: Raw, changed: frozenset[str]) -> None:
        sm = aws.client("secretsmanager")
        if {"description", "kmsKeyId"} & changed:
            sm.update_secret(SecretId=ident, Description=desired["description"],
                             KmsKeyId=desired["kmsKeyId"] or DEFAULT_KMS_KEY)
        if set(VALUES) & changed:
            sm.put_secret_value(SecretId=ident, **_value_params(desired))
        if "replicaRegions" in changed:
            reconcile_set(desired["replicaRegions"], self.observe(raw)["replicaRegions"], key=lambda r: r["region"],
                          add=lambda r: sm.replicate_secret_to_regions(SecretId=ident, AddReplicaRegions=[_replica(r)]),
                          remove=lambda r: sm.remove_regions_from_replication(
                              SecretId=ident, RemoveReplicaRegions=[r["region"]]))
        if {"rotationEnabled", "rotationLambdaArn", "rotationRules"} & changed:
            if desired["rotationEnabled"]:
                sm.rotate_secret(SecretId=ident, RotationLambdaARN=desired["rotationLambdaArn"],
                                 RotationRules=desired["rotationRules"], RotateImmediately=False)
            elif raw.get("RotationEnabled"):
                sm.cancel_rotate_secret(SecretId=ident)

    def set_tags(self, aws: AWSClients, ident: str, change: TagChange) -> None:
        tag_resource(aws.client("secretsmanager"), change, SecretId=ident)

    def delete(self, aws: AWSClients, ident: str, raw: Raw, spec: Mapping[str, Any]) -> None:
        # AWS refuses to delete a secret that still has replicas.
        regions = [r["Region"] for r in raw.get("ReplicationStatus") or ()]
        if regions and self.deletion_date(raw) is None:
            aws.client("secretsmanager").remove_regions_from_replication(SecretId=ident, RemoveReplicaRegions=regions)
        super().delete(aws, ident, raw, spec)


def _replicas(items: list[Mapping[str, Any]] | None, region: str, key: str) -> list[dict[str, Any]]:
    """Replica regions from the spec or AWS, in one form."""
    return sorted(({"region": r[region], "kmsKeyId": _key_id(r.get(key))} for r in items or ()),
                  key=lambda r: r["region"])


def _rules(spec: Mapping[str, Any]) -> dict[str, Any]:
    rules: dict[str, Any] = {}
    if spec.get("automaticallyAfterDays"):
        rules["AutomaticallyAfterDays"] = spec["automaticallyAfterDays"]
    if spec.get("rotationScheduleExpression"):
        rules["ScheduleExpression"] = spec["rotationScheduleExpression"]
    if spec.get("rotationWindow"):
        rules["Duration"] = spec["rotationWindow"]
    return rules


def _observed_rules(rules: Mapping[str, Any] | None) -> dict[str, Any] | None:
    kept = {k: v for k, v in (rules or {}).items() if v}
    return kept or None


def _replica(region: Mapping[str, Any]) -> dict[str, str]:
    return {"Region": region["region"], **({"KmsKeyId": region["kmsKeyId"]} if region.get("kmsKeyId") else {})}


def _value_params(desired: State) -> dict[str, Any]:
    if desired.get("secretBinary") is not None:
        return {"SecretBinary": desired["secretBinary"].reveal()}
    value = desired.get("secretString") or desired.get("secretJson")
    return {"SecretString": value.reveal()} if value is not None else {}


def _values(answer: Mapping[str, Any]) -> dict[str, SecretValue]:
    """AWS's current value in the shapes the secret inputs compare with."""
    if "SecretBinary" in answer:
        return {"secretBinary": SecretValue(answer["SecretBinary"])}
    text = answer.get("SecretString")
    if text is None:
        return {}
    values = {"secretString": SecretValue(text)}
    try:
        document = json.loads(text)
    except ValueError:
        return values
    if isinstance(document, dict):
        values["secretJson"] = SecretValue.json_object(document)
    return values
