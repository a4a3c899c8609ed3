"""SecretsManagerSecret: a Secrets Manager secret whose value comes from a Kubernetes Secret.
`services/secretsmanager.py` computes the calls (and alone handles the value)."""

from __future__ import annotations

from typing import Any, Mapping

from ..provider.errors import TerminalError
from ..engine.kind import Adoption, Deletion, DriftField, Identity, Reference, SecretInput, Severity, Tagging
from ..engine.schema import immutable
from ..services.secretsmanager import DATES, VALUES, Secret

LAMBDA_ARN = r"^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[a-zA-Z0-9-_]{1,64}(:[a-zA-Z0-9$_-]+)?$"
KMS_KEY = r"^(arn:aws[a-zA-Z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)/.+|alias/.+|[a-zA-Z0-9-]{1,2048})$"
REGION = r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$"
ONE_VALUE = "exactly one of secretStringRef, secretBinaryRef and secretJsonRef must be set"
ROTATION_NEEDS = "rotationEnabled needs rotationLambdaArn and one of automaticallyAfterDays or rotationScheduleExpression"
ONE_SCHEDULE = "set automaticallyAfterDays or rotationScheduleExpression, not both"
FORCE_OR_WINDOW = "forceDeleteWithoutRecovery deletes at once: do not set recoveryWindowInDays with it"


class SecretsManagerSecret(Secret):
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
    status_properties = {f: {"type": "string"} for f in DATES}
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
