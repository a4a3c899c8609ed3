"""ElastiCacheCluster: Redis OSS / Valkey as a replication group (cluster mode disabled or
enabled), Memcached as a cache cluster, in a subnet group the kind creates and owns. Creating,
changing and deleting take minutes in AWS: every step answers "in progress" until AWS is done."""

from __future__ import annotations

import re
from typing import Any, Mapping

from ..engine.delta import OWNER_UID
from ..engine.errors import InProgress, TerminalError
from ..engine.kind import (Adoption, AWSClients, Deletion, DriftField, Identity, Kind, Raw, Reference, SecretInput,
                           Severity, State, TagChange, Tagging)

CLUSTER_ID = r"^[a-z](?!.*--)[a-z0-9-]{0,38}[a-z0-9]$|^[a-z]$"
NODE_TYPE = r"^cache\.[a-z0-9]+\.[a-z0-9]+$"
WINDOW = r"^(mon|tue|wed|thu|fri|sat|sun):[0-2][0-9]:[0-5][0-9]-(mon|tue|wed|thu|fri|sat|sun):[0-2][0-9]:[0-5][0-9]$"
DAILY_WINDOW = r"^[0-2][0-9]:[0-5][0-9]-[0-2][0-9]:[0-5][0-9]$"
MEMCACHED_ONLY = "numCacheNodes is for memcached; redis and valkey take numNodeGroups and replicasPerNodeGroup"
SNAPSHOT_NEEDS_REDIS = "deletionPolicy Snapshot needs redis or valkey (memcached has no snapshots)"
MULTI_AZ_NEEDS_FAILOVER = "multiAZ needs automaticFailover"
CLUSTER_MODE_NEEDS_FAILOVER = "cluster mode needs automaticFailover"
FAILOVER_NEEDS_REPLICA = "automaticFailover needs a replica (replicasPerNodeGroup >= 1)"
ONE_SHARD = "numNodeGroups above 1 needs clusterMode enabled"
TOKEN_NEEDS_TLS = "an AUTH token needs transitEncryption"
# What a replication group or cache cluster reports while AWS works on it.
DONE = "available"


def _immutable(field: str) -> list[dict[str, str]]:
    return [{"rule": "self == oldSelf", "message": f"{field} cannot change after creation"}]


def _version(text: str | None) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text or ""))


def subnet_group_name(owner_uid: str) -> str:
    """The subnet group the kind creates for one object: named after the object's UID, so a
    create retried after a crash finds it, and deletion knows it without a listing."""
    return "infra-operator-" + owner_uid.replace("-", "")


class ElastiCacheCluster(Kind):
    kind = "ElastiCacheCluster"
    plural = "elasticacheclusters"
    short_names = ("elasticache",)
    description = ("An ElastiCache cluster: redis or valkey as a replication group (clusterMode disabled or "
                   "enabled), memcached as a cache cluster, in a subnet group the operator creates from "
                   "subnetRefs. deletionPolicy Snapshot takes a final snapshot named <clusterId>-final.")
    identifier = "arn"
    identity = Identity(fields=("clusterId",), from_spec="clusterId")
    adoption = Adoption.SPEC_NAME
    tagging = Tagging(at_create=True, in_description=False)
    deletion = Deletion(policies=("Snapshot",))
    secret_inputs = (SecretInput("authToken", "Redis/Valkey AUTH token (16 to 128 printable characters, no @ \" /);"
                                              " needs transitEncryption. Changing the Secret rotates the token.",
                                 required=False),)
    spec_properties = {
        "clusterId": {"type": "string", "pattern": CLUSTER_ID, "x-kubernetes-validations": _immutable("clusterId"),
                      "description": "Replication group / cache cluster id (1 to 40 characters)."},
        "engine": {"type": "string", "enum": ["redis", "valkey", "memcached"],
                   "x-kubernetes-validations": _immutable("engine")},
        "engineVersion": {"type": "string", "pattern": r"^\d+(\.\d+){0,2}$",
                          "description": "Upgraded in place; a downgrade is refused. Unset: AWS's default."},
        "nodeType": {"type": "string", "pattern": NODE_TYPE, "description": "Node type, e.g. cache.t4g.micro."},
        "numCacheNodes": {"type": "integer", "minimum": 1, "maximum": 40, "description": "memcached: nodes."},
        "clusterMode": {"type": "string", "enum": ["disabled", "enabled"], "default": "disabled",
                        "x-kubernetes-validations": _immutable("clusterMode"),
                        "description": "redis/valkey: shard the keyspace across node groups."},
        "numNodeGroups": {"type": "integer", "minimum": 1, "maximum": 500, "default": 1,
                          "description": "redis/valkey: shards (more than 1 needs clusterMode enabled)."},
        "replicasPerNodeGroup": {"type": "integer", "minimum": 0, "maximum": 5, "default": 0,
                                 "description": "redis/valkey: read replicas per shard."},
        "automaticFailover": {"type": "boolean", "default": False},
        "multiAZ": {"type": "boolean", "default": False},
        "port": {"type": "integer", "minimum": 1024, "maximum": 65535,
                 "x-kubernetes-validations": _immutable("port")},
        "parameterGroupName": {"type": "string", "minLength": 1, "maxLength": 255},
        "maintenanceWindow": {"type": "string", "pattern": WINDOW, "description": "e.g. sun:05:00-sun:06:00 (UTC)."},
        "snapshotWindow": {"type": "string", "pattern": DAILY_WINDOW, "description": "redis/valkey, e.g. 03:00-04:00."},
        "snapshotRetentionLimit": {"type": "integer", "minimum": 0, "maximum": 35,
                                   "description": "redis/valkey: days automatic snapshots are kept (0: none)."},
        "atRestEncryption": {"type": "boolean", "default": True, "x-kubernetes-validations": _immutable("atRestEncryption"),
                             "description": "redis/valkey: encrypt data on disk."},
        "transitEncryption": {"type": "boolean", "default": True,
                              "x-kubernetes-validations": _immutable("transitEncryption"),
                              "description": "redis/valkey: TLS between clients and nodes."},
    }
    spec_required = ("clusterId", "engine", "nodeType")
