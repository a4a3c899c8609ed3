"""SecretsManagerSecret: a Secrets Manager secret whose value comes from a Kubernetes Secret.

The value reaches this module only as a SecretValue, goes to AWS in CreateSecret/PutSecretValue,
and is compared with AWS's current value in this process; it is never logged, stored or hashed.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from ..provider.errors import TerminalError
from ..engine.delta import reconcile_set
from ..engine.kind import (Adoption, AWSClients, Deletion, DriftField, Identity, Kind, Raw, Reference, SecretInput,
                           SecretValue, Severity, State, TagChange, Tagging, tag_list, tag_map)
from ..engine.schema import immutable

LAMBDA_ARN = r"^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[a-zA-Z0-9-_]{1,64}(:[a-zA-Z0-9$_-]+)?$"
KMS_KEY = r"^(arn:aws[a-zA-Z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)/.+|alias/.+|[a-zA-Z0-9-]{1,2048})$"
REGION = r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$"
DEFAULT_RECOVERY_WINDOW = 30
DEFAULT_KMS_KEY = "alias/aws/secretsmanager"
ONE_VALUE = "exactly one of secretStringRef, secretBinaryRef and secretJsonRef must be set"
ROTATION_NEEDS = "rotationEnabled needs rotationLambdaArn and one of automaticallyAfterDays or rotationScheduleExpression"
ONE_SCHEDULE = "set automaticallyAfterDays or rotationScheduleExpression, not both"
FORCE_OR_WINDOW = "forceDeleteWithoutRecovery deletes at once: do not set recoveryWindowInDays with it"
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


class SecretsManagerSecret(Kind):
    kind = "SecretsManagerSecret"
    plural = "secretsmanagersecrets"
    short_names = ("awssecret",)
    description = ("A Secrets Manager secret whose value is a Kubernetes Secret's key (string or binary) or a "
                   "JSON object of several keys of one Secret; a change of that Secret is written as a new "
                   "version. Deleting schedules the secret's deletion after recoveryWindowInDays, which "
                   "re-creating the object before then cancels.")
    identifier = "secretName"
    identity = Identity(fields=("arn",), from_spec="secretName")
    adoption = Adoption.SPEC_NAME
    spec_properties = {
        "secretName": {"type": "string", "pattern": r"^[a-zA-Z0-9/_+=.@-]{1,512}$",
                       **immutable("secretName is immutable"),
                       "description": "The secret's name; cannot change."},
        "description": {"type": "string", "maxLength": 2048, "default": "", "description": "The secret's description."},
        "replicaRegions": {
            "type": "array", "maxItems": 50, "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["region"],
            "description": "Regions the secret is replicated to.",
            "items": {"type": "object", "required": ["region"], "properties": {
                "region": {"type": "string", "pattern": REGION},
                "kmsKeyId": {"type": "string", "pattern": KMS_KEY,
                             "description": "KMS key in that region (AWS's aws/secretsmanager key when unset)."}}}},
        "rotationEnabled": {"type": "boolean", "default": False,
                            "description": "Rotate the secret with rotationLambdaArn on the schedule."},
        "automaticallyAfterDays": {"type": "integer", "minimum": 1, "maximum": 1000,
                                   "description": "Days between rotations."},
        "rotationScheduleExpression": {"type": "string", "pattern": r"^(rate|cron)\(.+\)$", "maxLength": 256,
                                       "description": "Rotation schedule, rate() or cron() expression."},
        "rotationWindow": {"type": "string", "pattern": r"^[0-9]{1,2}h$",
                           "description": "Length of the rotation window in hours (e.g. 3h)."},
        "recoveryWindowInDays": {"type": "integer", "minimum": 7, "maximum": 30,
                                 "description": "Days the deleted secret can be restored (default 30); re-creating "
                                                "the object before then restores it."},
    }
    spec_required = ("secretName",)
    spec_validations = (
        {"rule": "[has(self.secretStringRef), has(self.secretBinaryRef), has(self.secretJsonRef)]"
                 ".filter(x, x).size() == 1", "message": ONE_VALUE},
        {"rule": "!self.rotationEnabled || ((has(self.rotationLambdaArn) || has(self.rotationLambdaRef)) && "
                 "(has(self.automaticallyAfterDays) || has(self.rotationScheduleExpression)))",
         "message": ROTATION_NEEDS},
        {"rule": "!(has(self.automaticallyAfterDays) && has(self.rotationScheduleExpression))",
         "message": ONE_SCHEDULE},
        {"rule": "!(self.forceDeleteWithoutRecovery && has(self.recoveryWindowInDays))", "message": FORCE_OR_WINDOW},
    )
    references = (
        Reference("kmsKeyRef", "KMSKey", "kmsKeyId", id_pattern=KMS_KEY, required=False, status_field="arn"),
        # LambdaFunction is not a kind of this operator yet: such a reference waits until it is.
        Reference("rotationLambdaRef", "LambdaFunction", "rotationLambdaArn", id_pattern=LAMBDA_ARN, required=False,
                  status_field="functionArn"),
    )
    secret_inputs = (
        SecretInput("secretString", "The secret's value: a key of a Kubernetes Secret.", required=False,
                    spec_field="secretStringRef"),
        SecretInput("secretBinary", "The secret's binary value: a key of a Kubernetes Secret.", required=False,
                    shape="binary", spec_field="secretBinaryRef"),
        SecretInput("secretJson", "The secret's value: a JSON object of several keys of one Kubernetes Secret "
                                  "(every key when `keys` is unset).", required=False, shape="json",
                    spec_field="secretJsonRef"),
    )
    printer_columns = (("Rotation", ".status.rotationEnabled", "boolean"), ("Version", ".status.versionId", "string"))
    status_properties = {f: {"type": "string"} for f in (
        "createdDate", "lastChangedDate", "lastRotatedDate", "nextRotationDate", "deletedDate")}
    drift_fields = (
        DriftField("kmsKeyId", Severity.CRITICAL),
        DriftField("rotationEnabled", Severity.CRITICAL),
        DriftField("rotationLambdaArn", Severity.CRITICAL),
        DriftField("rotationRules", Severity.WARNING),
        DriftField("replicaRegions", Severity.WARNING),
        DriftField("description", Severity.INFO),
    )
    tagging = Tagging(at_create=True, in_description=True)
    deletion = Deletion(scheduled=True, force_field="forceDeleteWithoutRecovery",
                        force_description="Delete at once, with no recovery window (the secret cannot be "
                                          "restored); otherwise recoveryWindowInDays applies.")

    def validate(self, spec: Mapping[str, Any], related: Mapping[str, Mapping[str, Any]]) -> None:
        if sum(1 for name in VALUES if spec.get(f"{name}Ref")) != 1:
            raise TerminalError(ONE_VALUE)
        if spec.get("rotationEnabled") and not (spec.get("rotationLambdaArn") and (
                spec.get("automaticallyAfterDays") or spec.get("rotationScheduleExpression"))):
            raise TerminalError(ROTATION_NEEDS)
        if spec.get("automaticallyAfterDays") and spec.get("rotationScheduleExpression"):
            raise TerminalError(ONE_SCHEDULE)
        if spec.get("forceDeleteWithoutRecovery") and spec.get("recoveryWindowInDays"):
            raise TerminalError(FORCE_OR_WINDOW)

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
            "createdDate": self.timestamp(raw.get("CreatedDate")),
            "lastChangedDate": self.timestamp(raw.get("LastChangedDate")),
            "lastRotatedDate": self.timestamp(raw.get("LastRotatedDate")),
            "nextRotationDate": self.timestamp(raw.get("NextRotationDate")),
            "deletedDate": self.timestamp(raw.get("DeletedDate")),
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

    def restore(self, aws: AWSClients, ident: str, raw: Raw) -> None:
        aws.client("secretsmanager").restore_secret(SecretId=ident)

    def set_tags(self, aws: AWSClients, ident: str, change: TagChange) -> None:
        sm = aws.client("secretsmanager")
        change.apply(lambda tags: sm.tag_resource(SecretId=ident, Tags=tags),
                     lambda keys: sm.untag_resource(SecretId=ident, TagKeys=keys))

    def delete(self, aws: AWSClients, ident: str, raw: Raw, spec: Mapping[str, Any]) -> None:
        if raw.get("DeletedDate"):
            return
        sm = aws.client("secretsmanager")
        # AWS refuses to delete a secret that still has replicas.
        regions = [r["Region"] for r in raw.get("ReplicationStatus") or ()]
        if regions:
            sm.remove_regions_from_replication(SecretId=ident, RemoveReplicaRegions=regions)
        if spec.get("forceDeleteWithoutRecovery"):
            sm.delete_secret(SecretId=ident, ForceDeleteWithoutRecovery=True)
        else:
            sm.delete_secret(SecretId=ident,
                             RecoveryWindowInDays=spec.get("recoveryWindowInDays", DEFAULT_RECOVERY_WINDOW))


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
