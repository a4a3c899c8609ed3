"""RDSInstance: an RDS DB instance in a DB subnet group of its own (from subnetRefs), its master
password from a Kubernetes Secret or owned by Secrets Manager, and a deletion that keeps the data
unless the spec says otherwise. What RDS computes for it is `services/rds.py`."""

from __future__ import annotations

from typing import Any, Mapping

from ..engine.kind import Adoption, Deletion, DriftField, ErrorMatch, Identity, Reference, SecretInput, Severity, Tagging
from ..engine.schema import IMMUTABLE
from ..provider.errors import TerminalError
from ..services.rds import DEFAULTS, DBInstance, same_key, same_version

ENGINES = ["postgres", "mysql", "mariadb", "oracle-ee", "oracle-ee-cdb", "oracle-se2", "oracle-se2-cdb",
           "sqlserver-ee", "sqlserver-se", "sqlserver-ex", "sqlserver-web", "db2-se", "db2-ae"]
STORAGE_TYPES = ["gp3", "gp2", "io1", "io2", "standard"]
KMS_KEY = r"^(arn:aws[a-zA-Z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)/.+|alias/.+|[a-zA-Z0-9-]{1,2048})$"
SUBNET_ID = r"^subnet-[0-9a-f]{8}([0-9a-f]{9})?$"
GROUP_ID = r"^sg-[0-9a-f]{8}([0-9a-f]{9})?$"
ONE_PASSWORD = "set exactly one of masterUserPasswordSecretRef and manageMasterUserPassword: true"
TWO_SUBNETS = "a DB subnet group needs at least two subnets (in two availability zones)"
KEY_NEEDS_ENCRYPTION = "a KMS key (kmsKeyRef, kmsKeyId) needs storageEncrypted: true"
IOPS_STORAGE = "iops needs storageType io1, io2 or gp3"
THROUGHPUT_STORAGE = "storageThroughput needs storageType gp3"
SKIP_ONLY_DELETE = "skipFinalSnapshot applies to deletionPolicy Delete only"
KMS_IMMUTABLE = "the KMS key cannot change after creation"


class RDSInstance(DBInstance):
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
        DriftField("kmsKeyId", Severity.CRITICAL, updatable=False, same=same_key),
        DriftField("dbName", Severity.WARNING, updatable=False),
        *(DriftField(name, Severity.CRITICAL)
          for name in ("subnetIds", "securityGroupIds", "publiclyAccessible", "manageMasterUserPassword")),
        DriftField("engineVersion", Severity.WARNING, same=same_version),
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
