"""ElastiCacheCluster: Redis OSS / Valkey as a replication group (cluster mode disabled or
enabled), Memcached as a cache cluster, chosen by `engine`. The kind owns the cache subnet group
it makes from `subnetRefs`/`subnetIds`. The AUTH token comes from a Kubernetes Secret and reaches
AWS only in CreateReplicationGroup / ModifyReplicationGroup. Creating, modifying, scaling and
deleting take minutes in AWS: each answers "in progress", one AWS operation at a time. What
ElastiCache computes for it is `services/elasticache.py`."""

from __future__ import annotations

from typing import Any, Mapping

from ..engine.kind import Adoption, Deletion, DriftField, Identity, Reference, SecretInput, Severity, Tagging
from ..engine.schema import immutable
from ..provider.errors import TerminalError
from ..services.elasticache import DEFAULT_DESCRIPTION, REPLICATION_ENGINES, CacheCluster, known_same, same_version

CLUSTER_ID = r"^[a-z](-?[a-z0-9])*$"
NODE_TYPE = r"^cache\.[a-z0-9]+\.[a-z0-9]+$"
VERSION = r"^[0-9]+(\.[0-9]+){0,2}$"
DAY = "(sun|mon|tue|wed|thu|fri|sat)"
HOUR = "([01][0-9]|2[0-3]):[0-5][0-9]"
MAINTENANCE_WINDOW = f"^{DAY}:{HOUR}-{DAY}:{HOUR}$"
SNAPSHOT_WINDOW = f"^{HOUR}-{HOUR}$"
GROUP_ID = r"^sg-[0-9a-f]+$"
SUBNET_ID = r"^subnet-[0-9a-f]+$"
# Spec fields of a replication group (redis, valkey) that memcached does not take.
REPLICATION_FIELDS = ("clusterModeEnabled", "numNodeGroups", "replicasPerNodeGroup", "automaticFailoverEnabled",
                      "multiAZEnabled", "snapshotWindow", "snapshotRetentionLimit", "atRestEncryptionEnabled",
                      "authTokenSecretRef")
MEMCACHED_ONLY = "numCacheNodes is for engine memcached; redis and valkey take replicasPerNodeGroup (and numNodeGroups)"
REPLICATION_ONLY = ("clusterModeEnabled, numNodeGroups, replicasPerNodeGroup, automaticFailoverEnabled, "
                    "multiAZEnabled, snapshots, atRestEncryptionEnabled and authTokenSecretRef are for redis and "
                    "valkey, not memcached")
SHARDS_NEED_CLUSTER_MODE = "numNodeGroups above 1 needs clusterModeEnabled"
CLUSTER_MODE_NEEDS_FAILOVER = "clusterModeEnabled needs automaticFailoverEnabled (AWS's rule)"
FAILOVER_NEEDS_REPLICA = "automaticFailoverEnabled needs replicasPerNodeGroup of 1 or more with cluster mode disabled"
MULTI_AZ_NEEDS_FAILOVER = "multiAZEnabled needs automaticFailoverEnabled"
AUTH_NEEDS_TLS = "authTokenSecretRef needs transitEncryptionEnabled (AWS sends the token only over TLS)"
ONE_SUBNET_SOURCE = "set subnetRefs/subnetIds (a subnet group owned by this object) or subnetGroupName, not both"


class ElastiCacheCluster(CacheCluster):
    kind = "ElastiCacheCluster"
    plural = "elasticacheclusters"
    short_names = ("elasticache",)
    description = ("An ElastiCache cluster: Redis OSS or Valkey as a replication group (cluster mode disabled or "
                   "enabled), Memcached as a cache cluster. deletionPolicy Snapshot takes a final snapshot "
                   "(finalSnapshotIdentifier, default <clusterId>-final) before deleting a replication group.")
    identifier = "clusterId"
    identity = Identity(fields=("arn",), from_spec="clusterId")
    adoption = Adoption.SPEC_NAME
    tagging = Tagging(at_create=True, in_description=False)
    deletion = Deletion(policies=("Snapshot",))
    spec_properties = {
        "clusterId": {"type": "string", "pattern": CLUSTER_ID, "maxLength": 40,
                      **immutable("clusterId cannot change after creation"),
                      "description": "Replication group id (redis, valkey) or cache cluster id (memcached): "
                                     "lowercase letters, digits and single hyphens; cannot change."},
        "engine": {"type": "string", "enum": ["redis", "valkey", "memcached"],
                   "x-kubernetes-validations": [{"rule": "self == oldSelf || (oldSelf == 'redis' && self == 'valkey')",
                                                 "message": "engine can only go from redis to valkey"}],
                   "description": "redis or valkey (a replication group) or memcached (a cache cluster); redis "
                                  "can be upgraded to valkey in place."},
        "engineVersion": {"type": "string", "pattern": VERSION,
                          "description": "Engine version (7.1, 1.6.22); upgraded in place, a downgrade is refused."},
        "nodeType": {"type": "string", "pattern": NODE_TYPE, "description": "Cache node type (cache.t4g.micro)."},
        "numCacheNodes": {"type": "integer", "minimum": 1, "maximum": 40,
                          "description": "memcached: number of nodes."},
        "clusterModeEnabled": {"type": "boolean", **immutable("clusterModeEnabled cannot change after creation"),
                               "description": "redis/valkey: shard the keyspace over numNodeGroups; cannot change."},
        "numNodeGroups": {"type": "integer", "minimum": 1, "maximum": 500,
                          "description": "redis/valkey with cluster mode: number of shards."},
        "replicasPerNodeGroup": {"type": "integer", "minimum": 0, "maximum": 5,
                                 "description": "redis/valkey: read replicas of each shard (or of the primary)."},
        "automaticFailoverEnabled": {"type": "boolean", "description": "redis/valkey: promote a replica on failure."},
        "multiAZEnabled": {"type": "boolean", "description": "redis/valkey: replicas in other zones than the primary."},
        "subnetGroupName": {"type": "string", "maxLength": 255,
                            **immutable("subnetGroupName cannot change after creation"),
                            "description": "An existing cache subnet group (not owned); or subnetRefs/subnetIds."},
        "parameterGroupName": {"type": "string", "maxLength": 255, "description": "Cache parameter group name."},
        "preferredMaintenanceWindow": {"type": "string", "pattern": MAINTENANCE_WINDOW,
                                       "description": "Weekly maintenance window, ddd:hh:mm-ddd:hh:mm (UTC)."},
        "snapshotWindow": {"type": "string", "pattern": SNAPSHOT_WINDOW,
                           "description": "redis/valkey: daily snapshot window, hh:mm-hh:mm (UTC)."},
        "snapshotRetentionLimit": {"type": "integer", "minimum": 0, "maximum": 35,
                                   "description": "redis/valkey: days automatic snapshots are kept (0: none)."},
        "atRestEncryptionEnabled": {"type": "boolean",
                                    **immutable("atRestEncryptionEnabled cannot change after creation"),
                                    "description": "redis/valkey: encrypt data on disk; cannot change."},
        "transitEncryptionEnabled": {"type": "boolean",
                                     **immutable("transitEncryptionEnabled cannot change after creation"),
                                     "description": "TLS between clients and nodes; cannot change."},
        "description": {"type": "string", "maxLength": 255, "default": DEFAULT_DESCRIPTION,
                        "description": "redis/valkey: the group's description."},
        "finalSnapshotIdentifier": {"type": "string", "pattern": r"^[a-zA-Z][a-zA-Z0-9-]{0,254}$",
                                    "description": "deletionPolicy Snapshot: the final snapshot's name "
                                                   "(default <clusterId>-final)."},
    }
    spec_required = ("clusterId", "engine", "nodeType")
    spec_validations = (
        {"rule": "self.engine == 'memcached' || !has(self.numCacheNodes)", "message": MEMCACHED_ONLY},
        {"rule": "self.engine != 'memcached' || !(" + "".join(f"has(self.{field}) || " for field in REPLICATION_FIELDS)
                 + "(has(self.deletionPolicy) && self.deletionPolicy == 'Snapshot'))", "message": REPLICATION_ONLY},
        {"rule": "!has(self.numNodeGroups) || self.numNodeGroups == 1 || "
                 "(has(self.clusterModeEnabled) && self.clusterModeEnabled)", "message": SHARDS_NEED_CLUSTER_MODE},
        {"rule": "!has(self.clusterModeEnabled) || !self.clusterModeEnabled || "
                 "(has(self.automaticFailoverEnabled) && self.automaticFailoverEnabled)",
         "message": CLUSTER_MODE_NEEDS_FAILOVER},
        {"rule": "!has(self.automaticFailoverEnabled) || !self.automaticFailoverEnabled || "
                 "(has(self.clusterModeEnabled) && self.clusterModeEnabled) || "
                 "(has(self.replicasPerNodeGroup) && self.replicasPerNodeGroup >= 1)",
         "message": FAILOVER_NEEDS_REPLICA},
        {"rule": "!has(self.multiAZEnabled) || !self.multiAZEnabled || "
                 "(has(self.automaticFailoverEnabled) && self.automaticFailoverEnabled)",
         "message": MULTI_AZ_NEEDS_FAILOVER},
        {"rule": "!has(self.authTokenSecretRef) || (has(self.transitEncryptionEnabled) && "
                 "self.transitEncryptionEnabled)", "message": AUTH_NEEDS_TLS},
        {"rule": "!((has(self.subnetRefs) || has(self.subnetIds)) && has(self.subnetGroupName))",
         "message": ONE_SUBNET_SOURCE},
    )
    references = (
        Reference("subnetRefs", "Subnet", "subnetIds", SUBNET_ID, required=False, many=True),
        Reference("securityGroupRefs", "SecurityGroup", "securityGroupIds", GROUP_ID, required=False, many=True),
    )
    secret_inputs = (SecretInput("authToken", "redis/valkey: the AUTH token (16 to 128 printable characters), a key "
                                              "of a Kubernetes Secret; a changed Secret rotates it.", required=False),)
    printer_columns = (("Engine", ".status.engine", "string"), ("Status", ".status.clusterStatus", "string"),
                       ("Endpoint", ".status.primaryEndpoint", "string"))
    status_properties = {
        "configurationEndpoint": {"type": "string"}, "readerEndpoint": {"type": "string"},
        "nodeEndpoints": {"type": "array", "items": {"type": "string"}},
        "memberClusters": {"type": "array", "items": {"type": "string"}},
        "cacheNodeType": {"type": "string"}, "engineVersion": {"type": "string"},
        "subnetGroupName": {"type": "string"}, "clusterCreateTime": {"type": "string"},
    }
    drift_fields = (
        DriftField("clusterMode", Severity.CRITICAL, updatable=False),
        DriftField("atRestEncryption", Severity.CRITICAL, updatable=False),
        DriftField("transitEncryption", Severity.CRITICAL, updatable=False),
        DriftField("authTokenEnabled", Severity.CRITICAL),
        DriftField("securityGroupIds", Severity.CRITICAL, same=known_same),
        DriftField("subnetGroupName", Severity.CRITICAL, updatable=False, same=known_same),
        DriftField("subnetIds", Severity.CRITICAL, same=known_same),
        DriftField("engine", Severity.WARNING),
        DriftField("engineVersion", Severity.WARNING, same=same_version),
        DriftField("nodeType", Severity.WARNING),
        DriftField("nodes", Severity.WARNING),
        DriftField("automaticFailover", Severity.WARNING),
        DriftField("multiAZ", Severity.WARNING),
        DriftField("parameterGroupName", Severity.WARNING, same=known_same),
        DriftField("snapshotRetentionLimit", Severity.WARNING),
        DriftField("maintenanceWindow", Severity.INFO, late_init=True, same=known_same),
        DriftField("snapshotWindow", Severity.INFO, late_init=True),
        DriftField("description", Severity.INFO),
    )

    def validate(self, spec: Mapping[str, Any], related: Mapping[str, Mapping[str, Any]]) -> None:
        replication = spec["engine"] in REPLICATION_ENGINES
        if not replication and (any(field in spec for field in REPLICATION_FIELDS)
                                or spec.get("deletionPolicy") == "Snapshot"):
            raise TerminalError(REPLICATION_ONLY)
        if replication and "numCacheNodes" in spec:
            raise TerminalError(MEMCACHED_ONLY)
        cluster_mode = bool(spec.get("clusterModeEnabled"))
        failover = bool(spec.get("automaticFailoverEnabled"))
        if spec.get("numNodeGroups", 1) > 1 and not cluster_mode:
            raise TerminalError(SHARDS_NEED_CLUSTER_MODE)
        if cluster_mode and not failover:
            raise TerminalError(CLUSTER_MODE_NEEDS_FAILOVER)
        if failover and not cluster_mode and spec.get("replicasPerNodeGroup", 0) < 1:
            raise TerminalError(FAILOVER_NEEDS_REPLICA)
        if spec.get("multiAZEnabled") and not failover:
            raise TerminalError(MULTI_AZ_NEEDS_FAILOVER)
        if "authTokenSecretRef" in spec and not spec.get("transitEncryptionEnabled"):
            raise TerminalError(AUTH_NEEDS_TLS)
        if ("subnetRefs" in spec or "subnetIds" in spec) and "subnetGroupName" in spec:
            raise TerminalError(ONE_SUBNET_SOURCE)
