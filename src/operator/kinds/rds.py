"""RDSInstance: an RDS DB instance in a DB subnet group of its own (from subnetRefs), its master
password from a Kubernetes Secret or owned by Secrets Manager, and a deletion that keeps the data
unless the spec says otherwise.

The password reaches this module only as a SecretValue and goes to AWS in CreateDBInstance /
ModifyDBInstance only; AWS cannot read it back, so a changed Secret is what applies it again.
Creating, modifying, rebooting and deleting take minutes: the AWS status answers "in progress"."""

from __future__ import annotations

import re
from typing import Any, Mapping

from ..engine.delta import OWNER_NAME, OWNER_UID, aws_params, tags_from_aws
from ..engine.kind import (Adoption, AWSClients, Deletion, DriftField, ErrorMatch, Identity, Kind, Raw, Reference,
                           SecretInput, Severity, State, TagChange, Tagging, tag_list)
from ..engine.schema import IMMUTABLE
from ..engine.subnet_groups import SubnetGroups
from ..engine.versions import is_downgrade, names_version
from ..provider.errors import DeletionProtected, InProgress, RetryableError, TerminalError

ENGINES = ["postgres", "mysql", "mariadb", "oracle-ee", "oracle-ee-cdb", "oracle-se2", "oracle-se2-cdb",
           "sqlserver-ee", "sqlserver-se", "sqlserver-ex", "sqlserver-web", "db2-se", "db2-ae"]
STORAGE_TYPES = ["gp3", "gp2", "io1", "io2", "standard"]
KMS_KEY = r"^(arn:aws[a-zA-Z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)/.+|alias/.+|[a-zA-Z0-9-]{1,2048})$"
SUBNET_ID = r"^subnet-[0-9a-f]{8}([0-9a-f]{9})?$"
GROUP_ID = r"^sg-[0-9a-f]{8}([0-9a-f]{9})?$"
SUBNET_GROUPS = SubnetGroups("rds", "DB", "DBSubnetGroupArn")
# Statuses in which the database serves and takes changes; every other one is an operation AWS
# is working on (in progress) or a state that needs someone (UNHEALTHY).
READY = frozenset({"available", "storage-optimization"})
UNHEALTHY = frozenset({"failed", "incompatible-parameters", "incompatible-network", "incompatible-option-group",
                       "incompatible-restore", "incompatible-credentials", "inaccessible-encryption-credentials",
                       "inaccessible-encryption-credentials-recoverable", "restore-error", "storage-full",
                       "stopped", "stopping", "insufficient-capacity"})
ONE_PASSWORD = "set exactly one of masterUserPasswordSecretRef and manageMasterUserPassword: true"
TWO_SUBNETS = "a DB subnet group needs at least two subnets (in two availability zones)"
KEY_NEEDS_ENCRYPTION = "a KMS key (kmsKeyRef, kmsKeyId) needs storageEncrypted: true"
IOPS_STORAGE = "iops needs storageType io1, io2 or gp3"
THROUGHPUT_STORAGE = "storageThroughput needs storageType gp3"
SKIP_ONLY_DELETE = "skipFinalSnapshot applies to deletionPolicy Delete only"
KMS_IMMUTABLE = "the KMS key cannot change after creation"
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
DEFAULTS = {"storageType": "gp3", "multiAZ": False, "publiclyAccessible": False, "storageEncrypted": True,
            "autoMinorVersionUpgrade": True, "copyTagsToSnapshot": True}


def major_version(engine: str, version: str) -> str:
    """The part of an engine version that names its major version: one component for PostgreSQL
    10 and later and Oracle ("15", "19"), two for the others ("8.0", "10.6", "9.6", "15.00")."""
    parts = version.split(".")
    one = engine.startswith("oracle") or (engine == "postgres" and parts[0].isdigit() and int(parts[0]) >= 10)
    return ".".join(parts[:1 if one else 2])


def _same_version(want: str, have: str | None) -> bool:
    """A spec version matches AWS's when it names it ("15" matches "15.4": AWS's minor upgrades
    are not drift when the spec names the major version only)."""
    return have is not None and names_version(want, have)


def _key_id(key: str | None) -> str | None:
    """A KMS key in one spelling: the key id of a key ARN, the rest as given."""
    return key.split(":key/", 1)[1] if key and ":key/" in key else key


def _same_key(want: str, have: str | None) -> bool:
    return _key_id(want) == _key_id(have)


def _lower_camel(key: str) -> str:
    """An AWS key in the status's spelling: DBInstanceClass -> dbInstanceClass, MultiAZ -> multiAZ."""
    return re.sub(r"^[A-Z]+(?=[A-Z][a-z])|^[A-Z]", lambda m: m.group().lower(), key)


def _camel(status: str) -> str:
    return "".join(part.capitalize() for part in status.split("-"))


class RDSInstance(Kind):
    kind = "RDSInstance"
    plural = "rdsinstances"
    short_names = ("rds",)
    description = ("An RDS DB instance in a DB subnet group it owns (from subnetRefs), with the master password from a "
                   "Kubernetes Secret (a change of the Secret changes it in AWS) or managed by Secrets Manager. "
                   "Changes apply now or in the maintenance window (applyImmediately); pending ones show in status. "
                   "Storage only grows; a major version upgrade needs allowMajorVersionUpgrade. Deletion: Snapshot "
                   "(the default) takes a final snapshot named final-<object>-<uid> and keeps the automated backups; "
                   "Delete takes the final snapshot too unless skipFinalSnapshot is true, and removes the automated "
                   "backups; Retain leaves the instance and its subnet group.")
    identifier = "dbInstanceIdentifier"
    identity = Identity(fields=("dbInstanceArn",), from_spec="dbInstanceIdentifier")
    adoption = Adoption.SPEC_NAME
    tagging = Tagging(at_create=True, in_description=True)
    spec_properties = {
        "dbInstanceIdentifier": {"type": "string", "maxLength": 63, "pattern": r"^[a-z](-?[a-z0-9])*$", **IMMUTABLE,
                                 "description": "The DB instance identifier (lowercase); cannot change."},
        "engine": {"type": "string", "enum": ENGINES, **IMMUTABLE, "description": "The database engine; cannot change."},
        "engineVersion": {"type": "string", "pattern": r"^[0-9][0-9a-zA-Z._-]*$", "maxLength": 64,
                          "description": "The engine version, or its major version only (\"15\": AWS's minor "
                                         "upgrades are not drift). Minor upgrades apply in place; a major one "
                                         "needs allowMajorVersionUpgrade; AWS never downgrades."},
        "allowMajorVersionUpgrade": {"type": "boolean", "default": False,
                                     "description": "Allow a change of engineVersion to another major version."},
        "autoMinorVersionUpgrade": {"type": "boolean", "default": True,
                                    "description": "AWS applies minor upgrades in the maintenance window."},
        "dbInstanceClass": {"type": "string", "pattern": r"^db\.[a-z0-9-]+\.[a-z0-9]+$",
                            "description": "The instance class (db.t3.micro)."},
        "storageType": {"type": "string", "enum": STORAGE_TYPES, "default": "gp3", "description": "The storage type."},
        "allocatedStorage": {"type": "integer", "minimum": 20, "maximum": 65536,
                             "x-kubernetes-validations": [{"rule": "self >= oldSelf",
                                                           "message": "allocatedStorage can only grow"}],
                             "description": "Storage in GiB; it can only grow (AWS cannot shrink it)."},
        "iops": {"type": "integer", "minimum": 1000, "maximum": 256000, "description": "Provisioned IOPS (io1, io2, gp3)."},
        "storageThroughput": {"type": "integer", "minimum": 125, "maximum": 4000,
                              "description": "Storage throughput in MiB/s (gp3)."},
        "masterUsername": {"type": "string", "pattern": r"^[a-zA-Z][a-zA-Z0-9_]{0,62}$", **IMMUTABLE,
                           "description": "The master user's name; cannot change."},
        "manageMasterUserPassword": {"type": "boolean", "default": False,
                                     "description": "Secrets Manager owns the master password (status.masterUserSecretArn)"
                                                    "; instead of masterUserPasswordSecretRef."},
        "dbName": {"type": "string", "pattern": r"^[a-zA-Z][a-zA-Z0-9_]{0,63}$", **IMMUTABLE,
                   "description": "The database created with the instance; cannot change."},
        "dbParameterGroupName": {"type": "string", "pattern": r"^[a-zA-Z][a-zA-Z0-9.-]{0,254}$",
                                 "description": "The DB parameter group (the engine's default when unset). A change "
                                                "AWS applies at the next reboot shows in status.parameterApplyStatus."},
        "multiAZ": {"type": "boolean", "default": False, "description": "A standby in another availability zone."},
        "publiclyAccessible": {"type": "boolean", "default": False,
                               "description": "A public endpoint (the subnets need a route to an internet gateway)."},
        "storageEncrypted": {"type": "boolean", "default": True, **IMMUTABLE,
                             "description": "Encrypt the storage (with kmsKeyRef/kmsKeyId, or AWS's aws/rds key); "
                                            "cannot change."},
        "backupRetentionPeriod": {"type": "integer", "minimum": 0, "maximum": 35,
                                  "description": "Days automated backups are kept (0: none)."},
        "preferredBackupWindow": {"type": "string", "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$",
                                  "description": "Daily backup window, UTC (hh24:mi-hh24:mi)."},
        "preferredMaintenanceWindow": {
            "type": "string",
            "pattern": r"^(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):[0-5][0-9]-"
                       r"(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):[0-5][0-9]$",
            "description": "Weekly maintenance window, UTC (ddd:hh24:mi-ddd:hh24:mi)."},
        "deletionProtection": {"type": "boolean", "default": False,
                               "description": "AWS refuses to delete the instance; deleting the object waits "
                                              "(DeletionProtected) until this is turned off."},
        "enablePerformanceInsights": {"type": "boolean", "description": "Performance Insights."},
        "copyTagsToSnapshot": {"type": "boolean", "default": True, "description": "Snapshots carry the tags."},
        "applyImmediately": {"type": "boolean", "default": False,
                             "description": "Apply changes now, rebooting the instance when its parameter group "
                                            "waits for a reboot (pending-reboot); otherwise AWS applies most of them "
                                            "in the next maintenance window (status.pendingModifications)."},
    }
    spec_required = ("dbInstanceIdentifier", "engine", "dbInstanceClass", "allocatedStorage", "masterUsername")
    spec_validations = (
        {"rule": "has(self.masterUserPasswordSecretRef) != self.manageMasterUserPassword", "message": ONE_PASSWORD},
        {"rule": "!has(self.subnetRefs) || size(self.subnetRefs) >= 2", "message": TWO_SUBNETS},
        {"rule": "!has(self.subnetIds) || size(self.subnetIds) >= 2", "message": TWO_SUBNETS},
        {"rule": "!(has(self.kmsKeyRef) || has(self.kmsKeyId)) || self.storageEncrypted", "message": KEY_NEEDS_ENCRYPTION},
        {"rule": "!has(self.iops) || self.storageType in ['io1', 'io2', 'gp3']", "message": IOPS_STORAGE},
        {"rule": "!has(self.storageThroughput) || self.storageType == 'gp3'", "message": THROUGHPUT_STORAGE},
        {"rule": "!self.skipFinalSnapshot || self.deletionPolicy == 'Delete'", "message": SKIP_ONLY_DELETE},
        {"rule": "has(self.kmsKeyRef) == has(oldSelf.kmsKeyRef) && has(self.kmsKeyId) == has(oldSelf.kmsKeyId) && "
                 "(!has(self.kmsKeyRef) || self.kmsKeyRef == oldSelf.kmsKeyRef) && "
                 "(!has(self.kmsKeyId) || self.kmsKeyId == oldSelf.kmsKeyId)", "message": KMS_IMMUTABLE},
    )
    references = (
        Reference("subnetRefs", "Subnet", "subnetIds", SUBNET_ID, many=True),
        Reference("securityGroupRefs", "SecurityGroup", "securityGroupIds", GROUP_ID, required=False, many=True),
        Reference("kmsKeyRef", "KMSKey", "kmsKeyId", KMS_KEY, required=False, status_field="arn"),
    )
    secret_inputs = (SecretInput("masterUserPassword", "The master password: a key of a Kubernetes Secret (a change "
                                                       "of the Secret changes it in AWS).", required=False),)
    printer_columns = (("Class", ".status.dbInstanceClass", "string"), ("Status", ".status.status", "string"),
                       ("Endpoint", ".status.endpoint", "string"))
    status_properties = {
        "port": {"type": "integer"}, "allocatedStorage": {"type": "integer"}, "engineVersion": {"type": "string"},
        "pendingModifications": {"type": "object", "x-kubernetes-preserve-unknown-fields": True,
                                 "description": "Changes AWS applies in the next maintenance window."},
        **{f: {"type": "string"} for f in ("dbSubnetGroupName", "masterUserSecretArn", "parameterApplyStatus",
                                           "availabilityZone")},
    }
    drift_fields = (
        *(DriftField(name, Severity.CRITICAL, updatable=False)
          for name in ("dbInstanceIdentifier", "engine", "masterUsername", "storageEncrypted")),
        DriftField("kmsKeyId", Severity.CRITICAL, updatable=False, same=_same_key),
        DriftField("dbName", Severity.WARNING, updatable=False),
        *(DriftField(name, Severity.CRITICAL)
          for name in ("subnetIds", "securityGroupIds", "publiclyAccessible", "manageMasterUserPassword")),
        DriftField("engineVersion", Severity.WARNING, same=_same_version),
        *(DriftField(name, Severity.WARNING) for name in (
            "dbInstanceClass", "storageType", "allocatedStorage", "iops", "storageThroughput", "multiAZ",
            "backupRetentionPeriod", "preferredBackupWindow", "preferredMaintenanceWindow", "dbParameterGroupName",
            "deletionProtection", "enablePerformanceInsights", "autoMinorVersionUpgrade", "parametersApplied")),
        DriftField("copyTagsToSnapshot", Severity.INFO),
    )
    deletion = Deletion(
        policies=("Snapshot",), default="Snapshot", force_field="skipFinalSnapshot",
        force_description="With deletionPolicy Delete: no final snapshot (the data is lost with the instance).",
        protected=(ErrorMatch("InvalidParameterCombination", "(?i)deletion protection"),))
    # AWS refuses a modify or a delete while the instance is busy with another operation.
    retryable_errors = (ErrorMatch("InvalidDBInstanceState", reason="DBInstanceBusy", delay=30.0),)

    # -- spec ---------------------------------------------------------------------------------

    def validate(self, spec: Mapping[str, Any], related: Mapping[str, Mapping[str, Any]]) -> None:
        if bool(spec.get("masterUserPasswordSecretRef")) == bool(spec.get("manageMasterUserPassword", False)):
            raise TerminalError(ONE_PASSWORD)
        if len(spec.get("subnetRefs") or spec.get("subnetIds") or ()) < 2:
            raise TerminalError(TWO_SUBNETS)
        if (spec.get("kmsKeyRef") or spec.get("kmsKeyId")) and not spec.get("storageEncrypted", True):
            raise TerminalError(KEY_NEEDS_ENCRYPTION)
        storage = spec.get("storageType", DEFAULTS["storageType"])
        if spec.get("iops") and storage not in ("io1", "io2", "gp3"):
            raise TerminalError(IOPS_STORAGE)
        if spec.get("storageThroughput") and storage != "gp3":
            raise TerminalError(THROUGHPUT_STORAGE)
        if spec.get("skipFinalSnapshot") and spec.get("deletionPolicy", self.deletion.default) != "Delete":
            raise TerminalError(SKIP_ONLY_DELETE)

    def desired(self, spec: Mapping[str, Any]) -> State:
        state: State = {name: spec.get(name, DEFAULTS.get(name)) for name, _, _ in SETTINGS}
        state.update({name: spec.get(name, DEFAULTS.get(name)) for name in (
            "dbInstanceIdentifier", "engine", "masterUsername", "storageEncrypted", "kmsKeyId", "dbName")})
        state["subnetIds"] = sorted(spec["subnetIds"])
        state["securityGroupIds"] = sorted(spec["securityGroupIds"]) if spec.get("securityGroupIds") else None
        state["manageMasterUserPassword"] = bool(spec.get("manageMasterUserPassword", False))
        # With applyImmediately, parameters waiting for a reboot are applied by one.
        state["parametersApplied"] = True if spec.get("applyImmediately") else None
        # Not compared: how changes are made.
        state["applyImmediately"] = bool(spec.get("applyImmediately", False))
        state["allowMajorVersionUpgrade"] = bool(spec.get("allowMajorVersionUpgrade", False))
        return state

    # -- AWS's side -----------------------------------------------------------------------------

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
        state = raw.get("DBInstanceStatus", "")
        if state in READY:
            return True
        if state in UNHEALTHY:
            raise RetryableError(f"DB instance {raw['DBInstanceIdentifier']} is {state} in AWS", reason="Unhealthy",
                                 delay=60.0)
        if state == "deleting":
            raise RetryableError(f"DB instance {raw['DBInstanceIdentifier']} is being deleted outside the operator",
                                 reason="DeletingInAWS", delay=60.0)
        raise InProgress(f"DB instance {raw['DBInstanceIdentifier']} is {state}", reason=_camel(state), delay=30.0)

    def read(self, aws: AWSClients, ident: str) -> Raw | None:
        found = self.absent_if_missing(aws.client("rds").describe_db_instances, DBInstanceIdentifier=ident)
        return next(iter(found["DBInstances"]), None) if found else None

    def create(self, aws: AWSClients, desired: State, tags: Mapping[str, str], token: str) -> Raw:
        ident = desired["dbInstanceIdentifier"]
        group = SUBNET_GROUPS.ensure(aws, tags[OWNER_UID], desired["subnetIds"], tags, f"DB instance {ident}")
        params: dict[str, Any] = {
            "DBInstanceIdentifier": ident, "Engine": desired["engine"], "MasterUsername": desired["masterUsername"],
            "DBSubnetGroupName": group, "StorageEncrypted": desired["storageEncrypted"], "Tags": tag_list(tags),
            **aws_params(desired, SETTING_PARAMS),
        }
        for name, key in (("kmsKeyId", "KmsKeyId"), ("dbName", "DBName")):
            if desired.get(name) is not None:
                params[key] = desired[name]
        if desired["manageMasterUserPassword"]:
            params["ManageMasterUserPassword"] = True
        else:
            params["MasterUserPassword"] = desired["masterUserPassword"].reveal()
        return aws.client("rds").create_db_instance(**params)["DBInstance"]

    def update(self, aws: AWSClients, ident: str, desired: State, raw: Raw, changed: frozenset[str]) -> None:
        state = raw.get("DBInstanceStatus")
        if state not in READY:
            raise InProgress(f"DB instance {ident} is {state}: the change waits until it is available", delay=30.0)
        observed = self.observe(raw)
        major = self._check(ident, desired, observed, changed)
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

    def _check(self, ident: str, desired: State, observed: State, changed: frozenset[str]) -> bool:
        """Refuse what AWS cannot do or the spec does not allow; True for a major version upgrade."""
        if "allocatedStorage" in changed and desired["allocatedStorage"] < (observed["allocatedStorage"] or 0):
            raise TerminalError(f"DB instance {ident} has {observed['allocatedStorage']} GiB; allocatedStorage "
                                f"{desired['allocatedStorage']} would shrink it, which AWS cannot do: storage only grows",
                                reason="StorageShrinkRefused")
        if "engineVersion" not in changed or not observed["engineVersion"]:
            return False
        want, have = desired["engineVersion"], observed["engineVersion"]
        if is_downgrade(want, have):
            raise TerminalError(f"DB instance {ident} runs {have}; AWS cannot downgrade it to {want}",
                                reason="VersionDowngradeRefused")
        major = major_version(desired["engine"], want) != major_version(desired["engine"], have)
        if major and not desired["allowMajorVersionUpgrade"]:
            raise TerminalError(f"DB instance {ident}: {have} to {want} is a major version upgrade; set "
                                "allowMajorVersionUpgrade: true to make it", reason="MajorVersionUpgradeNotAllowed")
        return major

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


def final_snapshot_name(raw: Raw) -> str:
    """final-<object name>-<object uid> (from the owner tags; the identifier when they are gone):
    one per object, never reused by another object of the same name."""
    tags = tags_from_aws(raw.get("TagList"))
    owner, uid = tags.get(OWNER_NAME, "").partition("/")[2], tags.get(OWNER_UID, "").replace("-", "")
    name = re.sub(r"[^a-zA-Z0-9]+", "-", owner or raw["DBInstanceIdentifier"]).strip("-")[:200]
    return re.sub(r"-+", "-", f"final-{name}-{uid}").strip("-")


