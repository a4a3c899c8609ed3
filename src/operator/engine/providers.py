"""AWSProvider: resolves credentials (Secret, default chain, assumed role), proves them with
STS GetCallerIdentity, and keeps the provider registry and provider_ready in step."""

from __future__ import annotations

import logging
from typing import Any, Callable, Mapping

from ...telemetry import Telemetry
from ..provider.registry import ProviderRegistry
from ..provider.session import AssumeRole, ProviderConfig, StaticCredentials
from . import conditions
from .errors import EngineError, ProviderNotReady, TerminalError
from .objects import ClusterView, CustomObject
from .outcome import Outcome
from .schema import NAME_REF, crd

log = logging.getLogger(__name__)

KIND = "AWSProvider"
PLURAL = "awsproviders"

# Reads a Secret's decoded data; None when the Secret does not exist.
SecretReader = Callable[[str, str], Mapping[str, str] | None]

SPEC = {
    "type": "object",
    "required": ["region"],
    "properties": {
        "region": {"type": "string", "pattern": r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d+$",
                   "description": "AWS region, e.g. us-east-1."},
        "endpoint": {"type": "string", "pattern": r"^https?://[^\s]+$",
                     "description": "Endpoint override for every service (LocalStack, moto)."},
        "credentials": {
            "type": "object",
            "description": "Static credentials from a Secret; omit for the default chain (IRSA, instance role).",
            "required": ["secretRef"],
            "properties": {"secretRef": {**NAME_REF, "properties": {
                **NAME_REF["properties"],
                "accessKeyIdKey": {"type": "string", "default": "AWS_ACCESS_KEY_ID"},
                "secretAccessKeyKey": {"type": "string", "default": "AWS_SECRET_ACCESS_KEY"},
                "sessionTokenKey": {"type": "string", "default": "AWS_SESSION_TOKEN"},
            }}},
        },
        "assumeRoleARN": {"type": "string", "pattern": r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$"},
        "externalID": {"type": "string", "minLength": 2, "maxLength": 1224},
        "sessionName": {"type": "string", "pattern": r"^[\w+=,.@-]{2,64}$", "default": "infra-operator"},
        "assumeRoleDurationSeconds": {
            "type": "integer", "minimum": 900, "maximum": 43200, "default": AssumeRole.duration_seconds,
            "description": "Lifetime of the assumed role's credentials (STS DurationSeconds; at most the "
                           "role's maximum session duration). They are renewed 15 minutes before they "
                           "expire, each renewal counted in infra_operator_provider_credential_rotations_total, "
                           "so 900 renews them on every AWS call."},
    },
}
# Spec fields whose values must not reach logs (kopf logs whole objects at DEBUG). The external
# ID is not a credential, but it is what keeps a third party from assuming the role for you.
SENSITIVE_SPEC_FIELDS = ("externalID",)
STATUS = {"accountId": {"type": "string"}, "region": {"type": "string"},
          "lastCheckTime": {"type": "string", "format": "date-time"}}


def provider_crd() -> dict[str, Any]:
    return crd(kind=KIND, plural=PLURAL, short_names=("awsp",),
               description="How to reach one AWS account and region: credentials, role, endpoint.",
               spec=SPEC, status=STATUS,
               columns=[{"name": "Region", "type": "string", "jsonPath": ".spec.region"},
                        {"name": "Account", "type": "string", "jsonPath": ".status.accountId"}])


class ProviderReconciler:
    def __init__(self, telemetry: Telemetry, registry: ProviderRegistry, read_secret: SecretReader,
                 retry_delay: float = 30.0):
        self.telemetry = telemetry
        self.registry = registry
        self.retry_delay = retry_delay
        self.read_secret = read_secret

    def reconcile(self, body: Mapping[str, Any], trigger: str) -> Outcome:
        obj = CustomObject.from_body(body)
        tel = self.telemetry
        tel.workqueue.enqueue(KIND, obj.uid)
        outcome = Outcome()
        region = obj.spec.get("region", "")
        with tel.reconcile(KIND, obj.namespace, obj.name, trigger) as rec:
            try:
                config = self._config(obj)
                session, rotated = self.registry.apply(config)
                if rotated:
                    tel.providers.credential_rotated(obj.key)
                with tel.span("provider check", **{"infra_operator.provider": obj.key, "cloud.region": region}):
                    identity = session.caller_identity()
            except EngineError as error:
                self.registry.mark(obj.key, False, error.message)
                tel.providers.set_ready(obj.key, region, False)
                permanent = isinstance(error, TerminalError)
                rec.outcome("error" if permanent else "requeue", "provider_failed")
                outcome.permanent = permanent
                outcome.retry_after = None if permanent else self.retry_delay
                outcome.message = error.message
                self._status(obj, outcome, (False, error.reason, error.message))
                outcome.event("Warning", error.reason, error.message)
                log.debug("AWSProvider %s not ready: %s: %s", obj.key, error.reason, error.message)
            else:
                self.registry.mark(obj.key, True)
                tel.providers.set_ready(obj.key, region, True)
                outcome.status["accountId"] = identity.get("Account")
                self._status(obj, outcome, (True, "CredentialsVerified",
                                            f"STS GetCallerIdentity succeeded in {region}"))
                if not conditions.is_ready(obj.status):
                    outcome.event("Normal", "Ready", f"credentials verified for account {identity.get('Account')}")
        status = "ready" if conditions.is_ready(outcome.status) else "error" if outcome.permanent else "notready"
        tel.resources.set(KIND, obj.uid, status, obj.key, obj.created_at)
        tel.workqueue.done(KIND, obj.uid)
        return outcome

    def finalize(self, body: Mapping[str, Any], cluster: ClusterView) -> Outcome:
        """A provider is released only when no object uses it, so its resources can still be deleted."""
        obj = CustomObject.from_body(body)
        outcome = Outcome()
        with self.telemetry.finalizer(KIND, obj.namespace, obj.name) as rec:
            users = cluster.dependents(KIND, obj.namespace, obj.name)
            if users:
                rec.fail("finalizer_failed")
                outcome.retry_after = 5
                self._status(obj, outcome, (False, "InUse", f"still used by {', '.join(sorted(users))}"))
                return outcome
        self.registry.forget(obj.key)
        self.telemetry.providers.forget(obj.key)
        self.telemetry.resources.forget(KIND, obj.uid)
        return outcome

    def _config(self, obj: CustomObject) -> ProviderConfig:
        spec = obj.spec
        static = None
        creds = spec.get("credentials")
        if creds:
            ref = creds.get("secretRef") or {}
            data = self.read_secret(obj.namespace, ref.get("name", ""))
            if data is None:
                raise ProviderNotReady(f"Secret {ref.get('name')} not found", reason="SecretNotFound", delay=30)
            key_id = data.get(ref.get("accessKeyIdKey", "AWS_ACCESS_KEY_ID"))
            secret = data.get(ref.get("secretAccessKeyKey", "AWS_SECRET_ACCESS_KEY"))
            if not key_id or not secret:
                raise ProviderNotReady(f"Secret {ref.get('name')} lacks the access key id or secret key entries",
                                       reason="SecretIncomplete", delay=30)
            static = StaticCredentials(key_id, secret, data.get(ref.get("sessionTokenKey", "AWS_SESSION_TOKEN")))
        role = None
        if spec.get("assumeRoleARN"):
            role = AssumeRole(spec["assumeRoleARN"], spec.get("externalID"),
                              spec.get("sessionName", "infra-operator"),
                              spec.get("assumeRoleDurationSeconds", AssumeRole.duration_seconds))
        return ProviderConfig(name=obj.key, region=spec.get("region", ""), endpoint=spec.get("endpoint"),
                              credentials=static, assume_role=role)

    @staticmethod
    def _status(obj: CustomObject, outcome: Outcome, ready: tuple[bool, str, str]) -> None:
        now = conditions.now_rfc3339()
        outcome.status.update({
            "region": obj.spec.get("region"),
            "lastCheckTime": now,
            "observedGeneration": obj.generation,
            "conditions": conditions.merge_conditions(obj.status.get("conditions"),
                                                      {conditions.READY: ready}, now, obj.generation),
        })
