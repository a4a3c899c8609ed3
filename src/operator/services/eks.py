"""EKS: a cluster's control plane. Create, update and delete take minutes in AWS: the cluster is
busy while CREATING, UPDATING or DELETING, and EKS takes one update at a time, so the base
applies the changes one per call (version, encryption, network, logging, access)."""

from __future__ import annotations

from typing import Any, Mapping

from ..engine.delta import aws_params
from ..engine.kind import AWSClients, Kind, Raw, State, TagChange
from ..engine.statuses import Statuses
from ..engine.versions import refuse_downgrade
from ..provider.errors import InProgress, TerminalError

LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
# Authentication modes only move forward: CONFIG_MAP -> API_AND_CONFIG_MAP -> API.
AUTHENTICATION_MODES = ("CONFIG_MAP", "API_AND_CONFIG_MAP", "API")
# Seconds before looking again at a cluster AWS is creating, updating or deleting (10+ minutes).
PROGRESS_DELAY = 30.0
CLUSTER_STATUSES = Statuses(ready=frozenset({"ACTIVE"}), failed={"FAILED": "EKS could not create it"},
                            reasons={"CREATING": "Provisioning", "PENDING": "Provisioning", "UPDATING": "Updating",
                                     "DELETING": "Updating", "FAILED": "ClusterFailed"}, delay=PROGRESS_DELAY)
# The VPC configuration's parameters, named as the spec fields.
VPC_FIELDS = {name: name for name in ("subnetIds", "securityGroupIds", "endpointPublicAccess",
                                      "endpointPrivateAccess", "publicAccessCidrs")}
# The order in which changes are applied, one per call ("vpc": any of VPC_FIELDS).
UPDATE_STEPS = ("version", "kmsKeyArn", "vpc", "logging", "authenticationMode")


class Cluster(Kind):
    """Base of EKSCluster: what it computes and calls; the kind declares its spec."""

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
        return CLUSTER_STATUSES.available(f"EKS cluster {raw['name']}", raw["status"])

    def read(self, aws: AWSClients, ident: str) -> Raw | None:
        answer = self.absent_if_missing(aws.client("eks").describe_cluster, name=ident)
        return None if answer is None else answer["cluster"]

    def create(self, aws: AWSClients, desired: State, tags: Mapping[str, str], token: str) -> Raw:
        params: dict[str, Any] = {"name": desired["clusterName"], "roleArn": desired["role"],
                                  "resourcesVpcConfig": aws_params(desired, VPC_FIELDS),
                                  "logging": _logging(desired["logging"]), "tags": dict(tags),
                                  "clientRequestToken": token, **aws_params(desired, {"version": "version"})}
        if desired["kmsKeyArn"]:
            params["encryptionConfig"] = _encryption(desired["kmsKeyArn"])
        if desired["authenticationMode"]:
            params["accessConfig"] = {"authenticationMode": desired["authenticationMode"]}
        return aws.client("eks").create_cluster(**params)["cluster"]

    def update(self, aws: AWSClients, ident: str, desired: State, raw: Raw, changed: frozenset[str]) -> None:
        """One update per call, as EKS takes them; the next waits (in progress) until the
        cluster is ACTIVE again."""
        CLUSTER_STATUSES.wait_until_ready(f"EKS cluster {raw['name']}", raw["status"])
        observed = self.observe(raw)
        eks = aws.client("eks")
        steps = [name for name in UPDATE_STEPS if name in changed or (name == "vpc" and changed & set(VPC_FIELDS))]
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
            # The whole VPC configuration the spec sets: subnets, groups and endpoint access stay consistent.
            eks.update_cluster_config(name=ident, resourcesVpcConfig=aws_params(desired, VPC_FIELDS))
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
        change.apply(lambda tags: eks.tag_resource(resourceArn=arn, tags=tags),
                     lambda keys: eks.untag_resource(resourceArn=arn, tagKeys=keys), key=None)

    def delete(self, aws: AWSClients, ident: str, raw: Raw, spec: Mapping[str, Any]) -> None:
        if raw.get("status") != "DELETING":
            aws.client("eks").delete_cluster(name=ident)


def _minor(version: str) -> int:
    return int(version.split(".")[1])


def _check_upgrade(current: str | None, wanted: str) -> None:
    if current is None:
        return
    refuse_downgrade("the EKS cluster's Kubernetes", wanted, current)
    if _minor(wanted) > _minor(current) + 1:
        raise TerminalError(f"EKS upgrades one minor version at a time: set version {current.split('.')[0]}."
                            f"{_minor(current) + 1} first, then {wanted}", reason="UpgradeTooFar")


def _check_authentication_mode(current: str | None, wanted: str) -> None:
    if current in AUTHENTICATION_MODES and AUTHENTICATION_MODES.index(wanted) < AUTHENTICATION_MODES.index(current):
        raise TerminalError(f"the authentication mode cannot go back from {current} to {wanted}",
                            reason="ReplacementRequired")


def _logging(enabled: list[str]) -> dict[str, Any]:
    disabled = [kind for kind in LOG_TYPES if kind not in enabled]
    return {"clusterLogging": [setting for setting in ({"types": list(enabled), "enabled": True},
                                                       {"types": disabled, "enabled": False}) if setting["types"]]}


def _encryption(key_arn: str) -> list[dict[str, Any]]:
    return [{"resources": ["secrets"], "provider": {"keyArn": key_arn}}]
