"""EKSCluster: an EKS control plane (node groups and add-ons are not managed here). Create,
update and delete take minutes in AWS: the engine looks again while the cluster is CREATING,
UPDATING or DELETING, and the kind applies one update at a time, as EKS requires."""

from __future__ import annotations

from typing import Any, Mapping

from ..engine.schema import immutable
from ..engine.kind import (Adoption, AWSClients, DriftField, ErrorMatch, Identity, Kind, Raw, Reference, Severity,
                           State, TagChange, Tagging)
from ..provider.errors import InProgress, TerminalError
from ..services.ec2 import CIDR_PATTERN, placement_references

NAME = r"^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$"
VERSION = r"^1\.[0-9]{2}$"
ROLE_ARN = r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$"
LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
# Authentication modes only move forward: CONFIG_MAP -> API_AND_CONFIG_MAP -> API.
AUTHENTICATION_MODES = ("CONFIG_MAP", "API_AND_CONFIG_MAP", "API")
# Seconds before looking again at a cluster AWS is creating, updating or deleting (10+ minutes).
PROGRESS_DELAY = 30.0
TWO_SUBNETS = "EKS needs at least 2 subnets (in different availability zones)"
VPC_FIELDS = {"subnetIds": "subnetIds", "securityGroupIds": "securityGroupIds",
              "endpointPublicAccess": "endpointPublicAccess", "endpointPrivateAccess": "endpointPrivateAccess",
              "publicAccessCidrs": "publicAccessCidrs"}


def _minor(version: str) -> int:
    return int(version.split(".")[1])


class EKSCluster(Kind):
    kind = "EKSCluster"
    plural = "eksclusters"
    short_names = ("eks",)
    description = ("An EKS cluster's control plane: Kubernetes version (upgraded one minor at a time), role, "
                   "subnets and security groups, endpoint access, control plane logging, secrets encryption with "
                   "a KMS key, authentication mode, tags. Node groups and add-ons are not managed by this kind.")
    identifier = "clusterName"
    identity = Identity(fields=("arn",), from_spec="clusterName")
    adoption = Adoption.SPEC_NAME
    tagging = Tagging(at_create=True, in_description=True)
    # A role created a moment ago may not be assumable by EKS yet; one update at a time.
    retryable_errors = (ErrorMatch("InvalidParameterException", "(?i)role.*(assume|trust)"),
                        ErrorMatch("ResourceInUseException", reason="ClusterUpdateInProgress", delay=PROGRESS_DELAY))
    spec_properties = {
        "clusterName": {"type": "string", "pattern": NAME, "description": "Cluster name; cannot change.",
                        **immutable("clusterName cannot change")},
        "version": {"type": "string", "pattern": VERSION,
                    "description": "Kubernetes minor version (1.31); upgraded in place one minor at a time, never "
                                   "downgraded. Unset: EKS's default, recorded."},
        "endpointPublicAccess": {"type": "boolean", "default": True,
                                 "description": "The API server endpoint is reachable from the internet."},
        "endpointPrivateAccess": {"type": "boolean", "default": False,
                                  "description": "The API server endpoint is reachable from inside the VPC."},
        "publicAccessCidrs": {"type": "array", "maxItems": 40, "items": {"type": "string", "pattern": CIDR_PATTERN},
                              "description": "CIDR blocks that may reach the public endpoint (AWS's default: "
                                             "0.0.0.0/0)."},
        "logging": {"type": "array", "maxItems": 5, "items": {"type": "string", "enum": list(LOG_TYPES)},
                    "description": "Control plane log types sent to CloudWatch Logs (unlisted ones are off)."},
        "authenticationMode": {"type": "string", "enum": list(AUTHENTICATION_MODES),
                               "description": "How IAM principals are mapped: access entries (API), the aws-auth "
                                              "ConfigMap, or both; only moves towards API."},
        "encryption": {"type": "object", "description": "Envelope encryption of Kubernetes Secrets with a KMS key "
                                                        "(by kmsKeyRef or kmsKeyArn); can be added, never changed "
                                                        "or removed."},
    }
    spec_required = ("clusterName",)
    spec_validations = ({"rule": "!has(self.subnetRefs) || size(self.subnetRefs) >= 2", "message": TWO_SUBNETS},
                        {"rule": "!has(self.subnetIds) || size(self.subnetIds) >= 2", "message": TWO_SUBNETS},
                        {"rule": "self.endpointPublicAccess || self.endpointPrivateAccess",
                         "message": "at least one of endpointPublicAccess and endpointPrivateAccess must be true"},
                        {"rule": "!has(self.publicAccessCidrs) || self.endpointPublicAccess",
                         "message": "publicAccessCidrs needs endpointPublicAccess"})
    references = (
        Reference("roleRef", "IAMRole", "role", ROLE_ARN, status_field="arn"),
        *placement_references(subnets_required=True),
        Reference("kmsKeyRef", "KMSKey", "kmsKeyArn", required=False, within="encryption", status_field="arn"),
    )
    status_properties = {"certificateAuthority": {"type": "string"}, "oidcIssuer": {"type": "string"},
                         "platformVersion": {"type": "string"}, "version": {"type": "string"}}
    printer_columns = (("Status", ".status.status", "string"), ("Version", ".status.version", "string"),
                       ("Endpoint", ".status.endpoint", "string"))
    drift_fields = (
        DriftField("clusterName", Severity.CRITICAL, updatable=False),
        DriftField("role", Severity.CRITICAL, updatable=False),
        DriftField("subnetIds", Severity.CRITICAL),
        DriftField("securityGroupIds", Severity.CRITICAL),
        DriftField("endpointPublicAccess", Severity.CRITICAL),
        DriftField("endpointPrivateAccess", Severity.CRITICAL),
        DriftField("publicAccessCidrs", Severity.CRITICAL),
        DriftField("kmsKeyArn", Severity.CRITICAL),
        DriftField("authenticationMode", Severity.CRITICAL),
        DriftField("version", Severity.WARNING, late_init=True),
        DriftField("logging", Severity.WARNING),
    )

    def validate(self, spec: Mapping[str, Any], related: Mapping[str, Mapping[str, Any]]) -> None:
        if len(spec.get("subnetRefs") or spec.get("subnetIds") or ()) < 2:
            raise TerminalError(TWO_SUBNETS)
        if not (spec.get("endpointPublicAccess", True) or spec.get("endpointPrivateAccess", False)):
            raise TerminalError("at least one of endpointPublicAccess and endpointPrivateAccess must be true")
        if "publicAccessCidrs" in spec and not spec.get("endpointPublicAccess", True):
            raise TerminalError("publicAccessCidrs needs endpointPublicAccess")

    def desired(self, spec: Mapping[str, Any]) -> State:
        return {
            "clusterName": spec["clusterName"],
            "role": spec["role"],
            "version": spec.get("version"),
            "subnetIds": list(spec["subnetIds"]),
            "securityGroupIds": list(spec.get("securityGroupIds") or ()),
            "endpointPublicAccess": spec.get("endpointPublicAccess", True),
            "endpointPrivateAccess": spec.get("endpointPrivateAccess", False),
            "publicAccessCidrs": spec.get("publicAccessCidrs"),
            "logging": sorted(spec.get("logging") or ()),
            "kmsKeyArn": (spec.get("encryption") or {}).get("kmsKeyArn"),
            "authenticationMode": spec.get("authenticationMode"),
        }

    def observe(self, raw: Raw) -> State:
        vpc = raw.get("resourcesVpcConfig") or {}
        keys = [provider.get("provider", {}).get("keyArn") for provider in raw.get("encryptionConfig") or ()]
        return {
            "clusterName": raw["name"],
            "role": raw.get("roleArn"),
            "version": raw.get("version"),
            **{name: vpc.get(key) for name, key in VPC_FIELDS.items()},
            "logging": sorted(kind for setting in (raw.get("logging") or {}).get("clusterLogging") or ()
                              if setting.get("enabled") for kind in setting.get("types") or ()),
            "kmsKeyArn": keys[0] if keys else None,
            "authenticationMode": (raw.get("accessConfig") or {}).get("authenticationMode"),
            "tags": raw.get("tags") or {},
        }

    def identify(self, raw: Raw) -> str:
        return raw["name"]

    def identities(self, raw: Raw) -> State:
        return {"arn": raw["arn"]}

    def status(self, raw: Raw) -> State:
        return {"status": raw.get("status"), "version": raw.get("version"), "endpoint": raw.get("endpoint"),
                "platformVersion": raw.get("platformVersion"),
                "certificateAuthority": (raw.get("certificateAuthority") or {}).get("data"),
                "oidcIssuer": ((raw.get("identity") or {}).get("oidc") or {}).get("issuer")}

    def available(self, raw: Raw) -> bool:
        if raw.get("status") == "FAILED":
            raise TerminalError(f"EKS could not create cluster {raw['name']}", reason="ClusterFailed")
        _wait_while_busy(raw)
        return True

    def read(self, aws: AWSClients, ident: str) -> Raw | None:
        answer = self.absent_if_missing(aws.client("eks").describe_cluster, name=ident)
        return None if answer is None else answer["cluster"]

    def create(self, aws: AWSClients, desired: State, tags: Mapping[str, str], token: str) -> Raw:
        params: dict[str, Any] = {"name": desired["clusterName"], "roleArn": desired["role"],
                                  "resourcesVpcConfig": _vpc(desired),
                                  "logging": _logging(desired["logging"]), "tags": dict(tags),
                                  "clientRequestToken": token}
        if desired["version"]:
            params["version"] = desired["version"]
        if desired["kmsKeyArn"]:
            params["encryptionConfig"] = _encryption(desired["kmsKeyArn"])
        if desired["authenticationMode"]:
            params["accessConfig"] = {"authenticationMode": desired["authenticationMode"]}
        return aws.client("eks").create_cluster(**params)["cluster"]

    def update(self, aws: AWSClients, ident: str, desired: State, raw: Raw, changed: frozenset[str]) -> None:
        """One update per call, as EKS takes them: version, encryption, network, logging, access;
        the next waits (in progress) until the cluster is ACTIVE again."""
        _wait_while_busy(raw)
        observed = self.observe(raw)
        eks = aws.client("eks")
        steps = [name for name in ("version", "kmsKeyArn", "vpc", "logging", "authenticationMode")
                 if name in changed or (name == "vpc" and changed & set(VPC_FIELDS))]
        if not steps:
            return
        step = steps[0]
        if step == "version":
            _check_upgrade(observed["version"], desired["version"])
            eks.update_cluster_version(name=ident, version=desired["version"])
        elif step == "kmsKeyArn":
            if observed["kmsKeyArn"]:
                raise TerminalError(f"cluster {ident} encrypts Secrets with {observed['kmsKeyArn']}: EKS cannot "
                                    "change or remove the key; replace the cluster", reason="ReplacementRequired")
            eks.associate_encryption_config(clusterName=ident, encryptionConfig=_encryption(desired["kmsKeyArn"]))
        elif step == "vpc":
            eks.update_cluster_config(name=ident, resourcesVpcConfig=_vpc(desired))
        elif step == "logging":
            eks.update_cluster_config(name=ident, logging=_logging(desired["logging"]))
        else:
            _check_authentication_mode(observed["authenticationMode"], desired["authenticationMode"])
            eks.update_cluster_config(name=ident, accessConfig={"authenticationMode": desired["authenticationMode"]})
        if len(steps) > 1:
            raise InProgress(f"EKS is applying the {step} update to cluster {ident}; then "
                             f"{', '.join(steps[1:])}", delay=PROGRESS_DELAY, reason="Updating")

    def set_tags(self, aws: AWSClients, ident: str, change: TagChange) -> None:
        eks = aws.client("eks")
        arn = eks.describe_cluster(name=ident)["cluster"]["arn"]
        if change.add:
            eks.tag_resource(resourceArn=arn, tags=dict(change.add))
        if change.remove:
            eks.untag_resource(resourceArn=arn, tagKeys=sorted(change.remove))

    def delete(self, aws: AWSClients, ident: str, raw: Raw, spec: Mapping[str, Any]) -> None:
        if raw.get("status") != "DELETING":
            aws.client("eks").delete_cluster(name=ident)


def _wait_while_busy(raw: Raw) -> None:
    status = raw.get("status")
    if status in ("CREATING", "UPDATING", "DELETING", "PENDING"):
        raise InProgress(f"EKS cluster {raw['name']} is {status}", delay=PROGRESS_DELAY,
                         reason="Provisioning" if status in ("CREATING", "PENDING") else "Updating")


def _check_upgrade(current: str | None, wanted: str) -> None:
    if current is None:
        return
    if _minor(wanted) < _minor(current):
        raise TerminalError(f"Kubernetes {current} cannot be downgraded to {wanted}", reason="DowngradeRefused")
    if _minor(wanted) > _minor(current) + 1:
        raise TerminalError(f"EKS upgrades one minor version at a time: set version {current.split('.')[0]}."
                            f"{_minor(current) + 1} first, then {wanted}", reason="UpgradeTooFar")


def _check_authentication_mode(current: str | None, wanted: str) -> None:
    if current in AUTHENTICATION_MODES and AUTHENTICATION_MODES.index(wanted) < AUTHENTICATION_MODES.index(current):
        raise TerminalError(f"the authentication mode cannot go back from {current} to {wanted}",
                            reason="ReplacementRequired")


def _vpc(desired: State) -> dict[str, Any]:
    """The whole VPC configuration the spec sets, for a create and for any change of it (one
    update: subnets, security groups, endpoint access and CIDRs stay consistent)."""
    return {key: desired[name] for name, key in VPC_FIELDS.items() if desired[name] is not None}


def _logging(enabled: list[str]) -> dict[str, Any]:
    disabled = [kind for kind in LOG_TYPES if kind not in enabled]
    return {"clusterLogging": [setting for setting in ({"types": list(enabled), "enabled": True},
                                                       {"types": disabled, "enabled": False}) if setting["types"]]}


def _encryption(key_arn: str) -> list[dict[str, Any]]:
    return [{"resources": ["secrets"], "provider": {"keyArn": key_arn}}]
