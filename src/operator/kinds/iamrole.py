"""IAMRole: an IAM role (global), named by the spec: trust policy and inline policies compared as
canonical JSON, managed policies attached and detached as a set, tags through TagRole."""

from __future__ import annotations

from typing import Any, Mapping

from ..engine.delta import reconcile_set
from ..engine.kind import (Adoption, AWSClients, DriftField, Identity, Kind, Raw, Severity, State, TagChange,
                           Tagging)
from ..engine.lookups import paginated
from ..engine.schema import immutable
from ..engine.policies import canonical_policy
from ..provider.errors import TerminalError

NAME = r"^[\w+=,.@-]{1,64}$"
POLICY_DOCUMENT = {"type": "object", "x-kubernetes-preserve-unknown-fields": True,
                   "description": "An IAM policy document (Version, Statement), as YAML or JSON."}
ARN = r"^arn:aws[a-z-]*:iam::(\d{12}|aws):policy/.+$"


class IAMRole(Kind):
    kind = "IAMRole"
    plural = "iamroles"
    short_names = ("role",)
    description = ("An IAM role (global): its trust policy, inline and managed policies, session duration and "
                   "permissions boundary. status.arn is what other objects reference.")
    identifier = "roleName"
    identity = Identity(fields=("arn",), from_spec="roleName")
    adoption = Adoption.SPEC_NAME
    tagging = Tagging(max_tags=50)
    spec_properties = {
        "roleName": {"type": "string", "pattern": NAME, "description": "Role name, unique in the account; cannot change.",
                     **immutable("roleName cannot change")},
        "path": {"type": "string", "pattern": r"^/([\x21-\x7e]{0,510}/)?$", "default": "/",
                 "description": "Path of the role; cannot change."},
        "description": {"type": "string", "maxLength": 1000, "description": "What the role is for."},
        "assumeRolePolicy": {**POLICY_DOCUMENT, "description": "The trust policy: who may assume the role."},
        "inlinePolicies": {"type": "object", "maxProperties": 20, "additionalProperties": POLICY_DOCUMENT,
                           "description": "Inline policies by name (unlisted ones are removed)."},
        "managedPolicyArns": {"type": "array", "maxItems": 20, "items": {"type": "string", "pattern": ARN},
                              "description": "Managed policies attached (unlisted ones are detached)."},
        "maxSessionDuration": {"type": "integer", "minimum": 3600, "maximum": 43200, "default": 3600,
                               "description": "Longest session, in seconds, for assumed-role credentials."},
        "permissionsBoundary": {"type": "string", "pattern": ARN,
                                "description": "ARN of the managed policy bounding the role's permissions."},
    }
    spec_required = ("roleName", "assumeRolePolicy")
    printer_columns = (("ARN", ".status.arn", "string"),)
    drift_fields = (
        DriftField("roleName", Severity.CRITICAL, updatable=False),
        DriftField("path", Severity.CRITICAL, updatable=False),
        DriftField("assumeRolePolicy", Severity.CRITICAL),
        DriftField("inlinePolicies", Severity.CRITICAL),
        DriftField("managedPolicyArns", Severity.CRITICAL),
        DriftField("permissionsBoundary", Severity.CRITICAL),
        DriftField("maxSessionDuration", Severity.WARNING),
        DriftField("description", Severity.INFO),
    )

    def validate(self, spec: Mapping[str, Any], related: Mapping[str, Mapping[str, Any]]) -> None:
        documents = {"assumeRolePolicy": spec.get("assumeRolePolicy"),
                     **{f"inlinePolicies.{name}": doc for name, doc in (spec.get("inlinePolicies") or {}).items()}}
        for field, document in documents.items():
            if not isinstance(document, Mapping) or not document.get("Statement"):
                raise TerminalError(f"spec.{field} must be a policy document with a Statement", reason="InvalidPolicy")
        for name in spec.get("inlinePolicies") or {}:
            if not 1 <= len(name) <= 128 or not all(c.isalnum() or c in "+=,.@_-" for c in name):
                raise TerminalError(f"spec.inlinePolicies: {name!r} is not a policy name", reason="InvalidPolicy")

    def desired(self, spec: Mapping[str, Any]) -> State:
        return {
            "roleName": spec["roleName"],
            "path": spec.get("path", "/"),
            "description": spec.get("description", ""),
            "assumeRolePolicy": canonical_policy(spec["assumeRolePolicy"]),
            "inlinePolicies": {name: canonical_policy(doc) for name, doc in (spec.get("inlinePolicies") or {}).items()},
            "managedPolicyArns": sorted(spec.get("managedPolicyArns") or ()),
            "maxSessionDuration": spec.get("maxSessionDuration", 3600),
            # "" (not None): an unset boundary is compared, so one added outside is removed.
            "permissionsBoundary": spec.get("permissionsBoundary", ""),
        }

    def observe(self, raw: Raw) -> State:
        return {
            "roleName": raw["RoleName"],
            "path": raw.get("Path"),
            "description": raw.get("Description", ""),
            "assumeRolePolicy": canonical_policy(raw.get("AssumeRolePolicyDocument")),
            "inlinePolicies": {name: canonical_policy(doc) for name, doc in raw["InlinePolicies"].items()},
            "managedPolicyArns": sorted(raw["ManagedPolicyArns"]),
            "maxSessionDuration": raw.get("MaxSessionDuration"),
            "permissionsBoundary": (raw.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn", ""),
            "tags": {t["Key"]: t["Value"] for t in raw.get("Tags") or ()},
        }

    def identify(self, raw: Raw) -> str:
        return raw["RoleName"]

    def identities(self, raw: Raw) -> State:
        return {"arn": raw["Arn"]}

    def read(self, aws: AWSClients, ident: str) -> Raw | None:
        iam = aws.client("iam")
        found = self.absent_if_missing(iam.get_role, RoleName=ident)
        if found is None:
            return None
        names = list(paginated(iam, "list_role_policies", "PolicyNames", RoleName=ident))
        attached = [p["PolicyArn"] for p in paginated(iam, "list_attached_role_policies", "AttachedPolicies",
                                                       RoleName=ident)]
        inline = {n: iam.get_role_policy(RoleName=ident, PolicyName=n)["PolicyDocument"] for n in names}
        return {**found["Role"], "InlinePolicies": inline, "ManagedPolicyArns": attached}

    def create(self, aws: AWSClients, desired: State, tags: Mapping[str, str], token: str) -> Raw:
        params: dict[str, Any] = {
            "RoleName": desired["roleName"], "Path": desired["path"], "Description": desired["description"],
            "AssumeRolePolicyDocument": desired["assumeRolePolicy"], "MaxSessionDuration": desired["maxSessionDuration"],
            "Tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]}
        if desired["permissionsBoundary"]:
            params["PermissionsBoundary"] = desired["permissionsBoundary"]
        role = aws.client("iam").create_role(**params)["Role"]
        # Inline and managed policies follow as an update of what the create could not set.
        return {**role, "InlinePolicies": {}, "ManagedPolicyArns": []}

    def update(self, aws: AWSClients, ident: str, desired: State, raw: Raw, changed: frozenset[str]) -> None:
        iam = aws.client("iam")
        observed = self.observe(raw)
        if "assumeRolePolicy" in changed:
            iam.update_assume_role_policy(RoleName=ident, PolicyDocument=desired["assumeRolePolicy"])
        if changed & {"maxSessionDuration", "description"}:
            iam.update_role(RoleName=ident, Description=desired["description"],
                            MaxSessionDuration=desired["maxSessionDuration"])
        if "permissionsBoundary" in changed:
            if desired["permissionsBoundary"]:
                iam.put_role_permissions_boundary(RoleName=ident, PermissionsBoundary=desired["permissionsBoundary"])
            else:
                iam.delete_role_permissions_boundary(RoleName=ident)
        if "inlinePolicies" in changed:
            reconcile_set(_named(desired["inlinePolicies"]), _named(observed["inlinePolicies"]),
                          key=lambda p: p[0],
                          add=lambda p: iam.put_role_policy(RoleName=ident, PolicyName=p[0], PolicyDocument=p[1]),
                          remove=lambda p: iam.delete_role_policy(RoleName=ident, PolicyName=p[0]),
                          change=lambda _, p: iam.put_role_policy(RoleName=ident, PolicyName=p[0], PolicyDocument=p[1]))
        if "managedPolicyArns" in changed:
            reconcile_set(desired["managedPolicyArns"], observed["managedPolicyArns"],
                          add=lambda arn: iam.attach_role_policy(RoleName=ident, PolicyArn=arn),
                          remove=lambda arn: iam.detach_role_policy(RoleName=ident, PolicyArn=arn))

    def set_tags(self, aws: AWSClients, ident: str, change: TagChange) -> None:
        iam = aws.client("iam")
        change.apply(lambda tags: iam.tag_role(RoleName=ident, Tags=tags),
                     lambda keys: iam.untag_role(RoleName=ident, TagKeys=keys))

    def delete(self, aws: AWSClients, ident: str, raw: Raw, spec: Mapping[str, Any]) -> None:
        # IAM refuses to delete a role with policies: take them off first.
        iam = aws.client("iam")
        for arn in raw["ManagedPolicyArns"]:
            iam.detach_role_policy(RoleName=ident, PolicyArn=arn)
        for name in raw["InlinePolicies"]:
            iam.delete_role_policy(RoleName=ident, PolicyName=name)
        iam.delete_role(RoleName=ident)


def _named(policies: Mapping[str, str]) -> list[tuple[str, str]]:
    return sorted(policies.items())

