"""What RDS computes for a DB instance: the desired state from the spec, the parameters of
CreateDBInstance and ModifyDBInstance (pending modifications count as applied), the status
mapping, the checks before an engine upgrade or a storage change, the reboot that applies a
parameter group, and a deletion with its final snapshot. `DBInstance` is the base the kind
module subclasses with its schema and declarations.

The password reaches this module only as a SecretValue and goes to AWS in CreateDBInstance /
ModifyDBInstance only; AWS cannot read it back, so a changed Secret is what applies it again."""

from __future__ import annotations

import re
from typing import Any, Mapping

from ..engine.delta import OWNER_NAME, OWNER_UID, aws_params, tags_from_aws
from ..engine.kind import AWSClients, Kind, Raw, State, TagChange, tag_list
from ..engine.statuses import Statuses
from ..engine.subnet_groups import SubnetGroups
from ..engine.versions import names_version, refuse_downgrade
from ..provider.errors import DeletionProtected, TerminalError

SUBNET_GROUPS = SubnetGroups("rds", "DB", "DBSubnetGroupArn")
# The database serves and takes changes only when ready; every status but the unhealthy ones
# (they need someone) and a deletion is an operation AWS is working on.
STATUSES = Statuses(
    ready=frozenset({"available", "storage-optimization"}),
    unhealthy=frozenset({"failed", "incompatible-parameters", "incompatible-network", "incompatible-option-group",
                         "incompatible-restore", "incompatible-credentials", "inaccessible-encryption-credentials",
                         "inaccessible-encryption-credentials-recoverable", "restore-error", "storage-full",
                         "stopped", "stopping", "insufficient-capacity"}),
    deleting=frozenset({"deleting"}), delay=30.0, status_reasons=True)
# (spec field, ModifyDBInstance parameter, PendingModifiedValues key) of the instance's settings.
SETTINGS = (
    ("dbInstanceClass", "DBInstanceClass", "DBInstanceClass"),
    ("engineVersion", "EngineVersion", "EngineVersion"),
    ("storageType", "StorageType", "StorageType"),
    ("allocatedStorage", "AllocatedStorage", "AllocatedStorage"),
    ("iops", "Iops", "Iops"),
    ("storageThroughput", "StorageThroughput", "StorageThroughput"),
    ("multiAZ", "MultiAZ", "MultiAZ"),
    ("backupRetentionPeriod", "BackupRetentionPeriod", "BackupRetentionPeriod"),
    ("publiclyAccessible", "PubliclyAccessible", None),
    ("dbParameterGroupName", "DBParameterGroupName", None),
    ("preferredBackupWindow", "PreferredBackupWindow", None),
    ("preferredMaintenanceWindow", "PreferredMaintenanceWindow", None),
    ("deletionProtection", "DeletionProtection", None),
    ("enablePerformanceInsights", "EnablePerformanceInsights", None),
    ("autoMinorVersionUpgrade", "AutoMinorVersionUpgrade", None),
    ("copyTagsToSnapshot", "CopyTagsToSnapshot", None),
    ("securityGroupIds", "VpcSecurityGroupIds", None),
)
SETTING_PARAMS = {param: name for name, param, _ in SETTINGS}
# Fields set at create only.
CREATE_FIELDS = ("dbInstanceIdentifier", "engine", "masterUsername", "storageEncrypted", "kmsKeyId", "dbName")
DEFAULTS = {"storageType": "gp3", "multiAZ": False, "publiclyAccessible": False, "storageEncrypted": True,
            "autoMinorVersionUpgrade": True, "copyTagsToSnapshot": True}


def major_version(engine: str, version: str) -> str:
    """The part of an engine version that names its major version: one component for PostgreSQL
    10 and later and Oracle ("15", "19"), two for the others ("8.0", "10.6", "9.6", "15.00")."""
    parts = version.split(".")
    one = engine.startswith("oracle") or (engine == "postgres" and parts[0].isdigit() and int(parts[0]) >= 10)
    return ".".join(parts[:1 if one else 2])


def same_version(want: str, have: str | None) -> bool:
    """A spec version matches AWS's when it names it ("15" matches "15.4": AWS's minor upgrades
    are not drift when the spec names the major version only)."""
    return have is not None and names_version(want, have)


def _key_id(key: str | None) -> str | None:
    """A KMS key in one spelling: the key id of a key ARN, the rest as given."""
    return key.split(":key/", 1)[1] if key and ":key/" in key else key


def same_key(want: str, have: str | None) -> bool:
    return _key_id(want) == _key_id(have)


def _lower_camel(key: str) -> str:
    """An AWS key in the status's spelling: DBInstanceClass -> dbInstanceClass, MultiAZ -> multiAZ."""
    return re.sub(r"^[A-Z]+(?=[A-Z][a-z])|^[A-Z]", lambda m: m.group().lower(), key)


def final_snapshot_name(raw: Raw) -> str:
    """final-<object name>-<object uid> (from the owner tags; the identifier when they are gone):
    one per object, never reused by another object of the same name."""
    tags = tags_from_aws(raw.get("TagList"))
    owner, uid = tags.get(OWNER_NAME, "").partition("/")[2], tags.get(OWNER_UID, "").replace("-", "")
    name = re.sub(r"[^a-zA-Z0-9]+", "-", owner or raw["DBInstanceIdentifier"]).strip("-")[:200]
    return re.sub(r"-+", "-", f"final-{name}-{uid}").strip("-")


class DBInstance(Kind):
    """An RDS DB instance in a DB subnet group of its own; the kind declares its schema."""

    def desired(self, spec: Mapping[str, Any]) -> State:
        state: State = {name: spec.get(name, DEFAULTS.get(name)) for name, _, _ in SETTINGS}
        state.update({name: spec.get(name, DEFAULTS.get(name)) for name in CREATE_FIELDS})
        state["subnetIds"] = sorted(spec["subnetIds"])
        state["securityGroupIds"] = sorted(spec["securityGroupIds"]) if spec.get("securityGroupIds") else None
        state["manageMasterUserPassword"] = bool(spec.get("manageMasterUserPassword", False))
        # With applyImmediately, parameters waiting for a reboot are applied by one.
        state["parametersApplied"] = True if spec.get("applyImmediately") else None
        # Not compared: how changes are made.
        state["applyImmediately"] = bool(spec.get("applyImmediately", False))
        state["allowMajorVersionUpgrade"] = bool(spec.get("allowMajorVersionUpgrade", False))
        return state

    def observe(self, raw: Raw) -> State:
        """AWS's values, with the pending modifications as the values: AWS applies them in the
        maintenance window, so they are neither drift nor a change to make again."""
        pending = raw.get("PendingModifiedValues") or {}
        observed: State = {name: pending.get(key, raw.get(key)) if key else None for name, _, key in SETTINGS}
        observed.update({
            "publiclyAccessible": raw.get("PubliclyAccessible"),
            "dbParameterGroupName": next((g["DBParameterGroupName"] for g in raw.get("DBParameterGroups") or ()), None),
            "preferredBackupWindow": raw.get("PreferredBackupWindow"),
            "preferredMaintenanceWindow": raw.get("PreferredMaintenanceWindow"),
            "deletionProtection": raw.get("DeletionProtection"),
            "enablePerformanceInsights": raw.get("PerformanceInsightsEnabled"),
            "autoMinorVersionUpgrade": raw.get("AutoMinorVersionUpgrade"),
            "copyTagsToSnapshot": raw.get("CopyTagsToSnapshot"),
            "securityGroupIds": sorted(g["VpcSecurityGroupId"] for g in raw.get("VpcSecurityGroups") or ()),
            "dbInstanceIdentifier": raw["DBInstanceIdentifier"],
            "engine": raw.get("Engine"),
            "masterUsername": raw.get("MasterUsername"),
            "storageEncrypted": raw.get("StorageEncrypted"),
            "kmsKeyId": raw.get("KmsKeyId"),
            "dbName": raw.get("DBName"),
            "subnetIds": SUBNET_GROUPS.subnets(raw.get("DBSubnetGroup")),
            "manageMasterUserPassword": bool(raw.get("MasterUserSecret")),
            "parametersApplied": all(g.get("ParameterApplyStatus") != "pending-reboot"
                                     for g in raw.get("DBParameterGroups") or ()),
            "tags": tags_from_aws(raw.get("TagList")),
        })
        return observed

    def identify(self, raw: Raw) -> str:
        return raw["DBInstanceIdentifier"]

    def identities(self, raw: Raw) -> State:
        return {"dbInstanceArn": raw["DBInstanceArn"]}

    def status(self, raw: Raw) -> State:
        endpoint = raw.get("Endpoint") or {}
        pending = {_lower_camel(key): ("pending" if key == "MasterUserPassword" else value)
                   for key, value in (raw.get("PendingModifiedValues") or {}).items()}
        return {
            "status": raw.get("DBInstanceStatus"), "endpoint": endpoint.get("Address"), "port": endpoint.get("Port"),
            "engineVersion": raw.get("EngineVersion"), "dbInstanceClass": raw.get("DBInstanceClass"),
            "allocatedStorage": raw.get("AllocatedStorage"), "pendingModifications": pending,
            "dbSubnetGroupName": (raw.get("DBSubnetGroup") or {}).get("DBSubnetGroupName"),
            "masterUserSecretArn": (raw.get("MasterUserSecret") or {}).get("SecretArn"),
            "parameterApplyStatus": next((g.get("ParameterApplyStatus") for g in raw.get("DBParameterGroups") or ()),
                                         None),
            "availabilityZone": raw.get("AvailabilityZone"),
        }

    def available(self, raw: Raw) -> bool:
        return STATUSES.available(f"DB instance {raw['DBInstanceIdentifier']}", raw.get("DBInstanceStatus", ""))

    def read(self, aws: AWSClients, ident: str) -> Raw | None:
        found = self.absent_if_missing(aws.client("rds").describe_db_instances, DBInstanceIdentifier=ident)
        return next(iter(found["DBInstances"]), None) if found else None

    def create(self, aws: AWSClients, desired: State, tags: Mapping[str, str], token: str) -> Raw:
        ident = desired["dbInstanceIdentifier"]
        group = SUBNET_GROUPS.ensure(aws, tags[OWNER_UID], desired["subnetIds"], tags, f"DB instance {ident}")
        params: dict[str, Any] = {
            "DBInstanceIdentifier": ident, "Engine": desired["engine"], "MasterUsername": desired["masterUsername"],
            "DBSubnetGroupName": group, "StorageEncrypted": desired["storageEncrypted"], "Tags": tag_list(tags),
            **aws_params(desired, {**SETTING_PARAMS, "KmsKeyId": "kmsKeyId", "DBName": "dbName"}),
        }
        if desired["manageMasterUserPassword"]:
            params["ManageMasterUserPassword"] = True
        else:
            params["MasterUserPassword"] = desired["masterUserPassword"].reveal()
        return aws.client("rds").create_db_instance(**params)["DBInstance"]

    def update(self, aws: AWSClients, ident: str, desired: State, raw: Raw, changed: frozenset[str]) -> None:
        STATUSES.wait_until_ready(f"DB instance {ident}", raw.get("DBInstanceStatus", ""))
        major = _check(ident, desired, self.observe(raw), changed)
        if "subnetIds" in changed:
            SUBNET_GROUPS.modify(aws, raw["DBSubnetGroup"]["DBSubnetGroupName"], desired["subnetIds"],
                                 f"DB instance {ident}")
        params = aws_params(desired, SETTING_PARAMS, only=changed)
        if "manageMasterUserPassword" in changed:
            params["ManageMasterUserPassword"] = desired["manageMasterUserPassword"]
        if "masterUserPassword" in changed or ("manageMasterUserPassword" in changed
                                               and not desired["manageMasterUserPassword"]):
            params["MasterUserPassword"] = desired["masterUserPassword"].reveal()
        if major:
            params["AllowMajorVersionUpgrade"] = True
        if params:
            aws.client("rds").modify_db_instance(DBInstanceIdentifier=ident, ApplyImmediately=desired["applyImmediately"],
                                                 **params)
        elif "parametersApplied" in changed:
            # After a modify the instance is busy: the reboot follows on the run that finds it available.
            aws.client("rds").reboot_db_instance(DBInstanceIdentifier=ident)

    def set_tags(self, aws: AWSClients, ident: str, change: TagChange) -> None:
        rds = aws.client("rds")
        # The held subnet group is named by its ARN; the instance by its identifier.
        arn = ident if ident.startswith("arn:") else rds.describe_db_instances(
            DBInstanceIdentifier=ident)["DBInstances"][0]["DBInstanceArn"]
        change.apply(lambda tags: rds.add_tags_to_resource(ResourceName=arn, Tags=tags),
                     lambda keys: rds.remove_tags_from_resource(ResourceName=arn, TagKeys=keys))

    def held(self, aws: AWSClients, owner_uid_tag: tuple[str, str]) -> list[str]:
        return SUBNET_GROUPS.held(aws, owner_uid_tag)

    def release_held(self, aws: AWSClients, ident: str) -> None:
        SUBNET_GROUPS.release(aws, ident)

    def delete(self, aws: AWSClients, ident: str, raw: Raw, spec: Mapping[str, Any]) -> None:
        if raw.get("DBInstanceStatus") == "deleting":
            return  # an earlier finalizer run asked
        rds = aws.client("rds")
        if raw.get("DeletionProtection"):
            if spec.get("deletionProtection"):
                raise DeletionProtected(f"DB instance {ident} has deletion protection on: set spec.deletionProtection "
                                        "to false to delete it")
            rds.modify_db_instance(DBInstanceIdentifier=ident, DeletionProtection=False, ApplyImmediately=True)
        policy = spec["deletionPolicy"]
        if policy == "Delete" and spec.get("skipFinalSnapshot"):
            rds.delete_db_instance(DBInstanceIdentifier=ident, SkipFinalSnapshot=True, DeleteAutomatedBackups=True)
        else:
            rds.delete_db_instance(DBInstanceIdentifier=ident, FinalDBSnapshotIdentifier=final_snapshot_name(raw),
                                   DeleteAutomatedBackups=policy == "Delete")


def _check(ident: str, desired: State, observed: State, changed: frozenset[str]) -> bool:
    """Refuse what AWS cannot do or the spec does not allow; True for a major version upgrade."""
    if "allocatedStorage" in changed and desired["allocatedStorage"] < (observed["allocatedStorage"] or 0):
        raise TerminalError(f"DB instance {ident} has {observed['allocatedStorage']} GiB; allocatedStorage "
                            f"{desired['allocatedStorage']} would shrink it, which AWS cannot do: storage only grows",
                            reason="StorageShrinkRefused")
    if "engineVersion" not in changed or not observed["engineVersion"]:
        return False
    want, have = desired["engineVersion"], observed["engineVersion"]
    refuse_downgrade(f"DB instance {ident}", want, have, reason="VersionDowngradeRefused")
    major = major_version(desired["engine"], want) != major_version(desired["engine"], have)
    if major and not desired["allowMajorVersionUpgrade"]:
        raise TerminalError(f"DB instance {ident}: {have} to {want} is a major version upgrade; set "
                            "allowMajorVersionUpgrade: true to make it", reason="MajorVersionUpgradeNotAllowed")
    return major
