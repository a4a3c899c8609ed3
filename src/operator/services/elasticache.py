"""What ElastiCache computes for a cluster: Redis OSS / Valkey as a replication group, Memcached
as a cache cluster. The desired state from the spec, the comparable state from the group's (and
its first member's) or the cluster's description, the create and modify parameters, the scaling
sequence (shards, then replicas, one AWS operation at a time), the status mapping, and the cache
subnet group made from the spec's subnets (engine.subnet_groups). `CacheCluster` is the base the
kind module subclasses with its schema and declarations.

A replication group's engine version, security groups, subnet group, parameter group and
maintenance window are its member clusters' (DescribeCacheClusters on the first member); while
AWS shows no member (members being replaced) they are not known and not compared.

Clusters made before the subnet group was named after the UID are in a group named after the
cluster id (AWS cannot move a cluster to another group): that group stays the cluster's, its
subnets are still changed in place, and `held` finds it by its owner tag, so that it loses its
ownership tags on Retain and goes after the cluster on Delete."""

from __future__ import annotations

from typing import Any, Mapping

from ..engine.delta import OWNER_UID, aws_params, frozen
from ..engine.kind import AWSClients, Kind, Raw, State, TagChange, tag_list, tag_map
from ..engine.lookups import tagged_arns
from ..engine.statuses import Statuses
from ..engine.subnet_groups import SubnetGroups
from ..engine.versions import names_version, refuse_downgrade
from ..provider.errors import InProgress, TerminalError, is_not_found

REPLICATION_ENGINES = ("redis", "valkey")
DEFAULT_DESCRIPTION = "Managed by infra-operator"
STATUSES = Statuses(ready=frozenset({"available"}),
                    failed={"create-failed": "AWS could not create it; see its events in the ElastiCache console"})
# Statuses in which AWS takes a modify or a delete.
SETTLED = ("available", "create-failed", "incompatible-network")
SUBNET_GROUPS = SubnetGroups("elasticache", "Cache", "ARN")
SUBNET_GROUP_DESCRIPTION = "Subnets of ElastiCache cluster {}"
# Parameters of a cache cluster's (a replication group's members') settings: {parameter: field}.
CLUSTER_PARAMS = {"EngineVersion": "engineVersion", "SecurityGroupIds": "securityGroupIds",
                  "CacheParameterGroupName": "parameterGroupName", "PreferredMaintenanceWindow": "maintenanceWindow"}
# ModifyReplicationGroup's parameters besides those.
GROUP_PARAMS = {"Engine": "engine", "CacheNodeType": "nodeType", "AutomaticFailoverEnabled": "automaticFailover",
                "MultiAZEnabled": "multiAZ", "SnapshotWindow": "snapshotWindow",
                "SnapshotRetentionLimit": "snapshotRetentionLimit", "ReplicationGroupDescription": "description"}


def same_version(want: str, have: str | None) -> bool:
    """A version as the spec gives it (7.1) matches AWS's full version (7.1.0); unknown matches."""
    return have is None or names_version(want, have)


def known_same(want: Any, have: Any) -> bool:
    """Equal, or not known (a replication group's member not shown by AWS just now)."""
    return have is None or frozen(want) == frozen(have)


def _endpoint(value: Mapping[str, Any] | None) -> str | None:
    return f"{value['Address']}:{value['Port']}" if value and value.get("Address") else None


class CacheCluster(Kind):
    """A replication group (redis, valkey) or a cache cluster (memcached), by the spec's engine."""

    def desired(self, spec: Mapping[str, Any]) -> State:
        engine = spec["engine"]
        replication = engine in REPLICATION_ENGINES
        subnets = spec.get("subnetIds")
        state: State = {
            "clusterId": spec["clusterId"],
            "engine": engine,
            "engineVersion": spec.get("engineVersion"),
            "nodeType": spec["nodeType"],
            "transitEncryption": bool(spec.get("transitEncryptionEnabled", False)),
            # The group the spec names; ours (made from subnets, named after the UID) is not compared.
            "subnetGroupName": spec.get("subnetGroupName"),
            "subnetIds": sorted(subnets) if subnets else None,
            "securityGroupIds": sorted(spec["securityGroupIds"]) if spec.get("securityGroupIds") else None,
            "parameterGroupName": spec.get("parameterGroupName"),
            "maintenanceWindow": spec.get("preferredMaintenanceWindow"),
        }
        if not replication:
            return {**state, "nodes": spec.get("numCacheNodes", 1)}
        cluster_mode = bool(spec.get("clusterModeEnabled", False))
        return {
            **state,
            "clusterMode": cluster_mode,
            "nodes": {"groups": spec.get("numNodeGroups", 1) if cluster_mode else 1,
                      "replicas": spec.get("replicasPerNodeGroup", 0)},
            "automaticFailover": bool(spec.get("automaticFailoverEnabled", False)),
            "multiAZ": bool(spec.get("multiAZEnabled", False)),
            "snapshotWindow": spec.get("snapshotWindow"),
            "snapshotRetentionLimit": spec.get("snapshotRetentionLimit", 0),
            "atRestEncryption": bool(spec.get("atRestEncryptionEnabled", False)),
            # Compared only when the spec gives a token: removing AUTH means moving to RBAC users.
            "authTokenEnabled": True if "authTokenSecretRef" in spec else None,
            "description": spec.get("description", DEFAULT_DESCRIPTION),
        }

    def observe(self, raw: Raw) -> State:
        member = raw.get("Member")
        subnet_group = raw.get("SubnetGroup")
        if "Group" not in raw:
            cluster = raw["Cluster"]
            return {**_cluster_state(cluster, subnet_group), "nodes": cluster.get("NumCacheNodes"),
                    "engine": cluster["Engine"]}
        group = raw["Group"]
        node_groups = group.get("NodeGroups") or []
        members = [len(node.get("NodeGroupMembers") or ()) for node in node_groups]
        return {
            **(_cluster_state(member, subnet_group) if member else
               {key: None for key in ("engineVersion", "subnetGroupName", "subnetIds", "securityGroupIds",
                                      "parameterGroupName", "maintenanceWindow")}),
            "clusterId": group["ReplicationGroupId"],
            "engine": group.get("Engine") or (member or {}).get("Engine"),
            "nodeType": group.get("CacheNodeType"),
            "transitEncryption": bool(group.get("TransitEncryptionEnabled")),
            "clusterMode": bool(group.get("ClusterEnabled")),
            # Replicas per shard: the least any shard has (a shard short of replicas is drift).
            "nodes": {"groups": len(node_groups), "replicas": min(members) - 1 if members else 0},
            "automaticFailover": group.get("AutomaticFailover") in ("enabled", "enabling"),
            "multiAZ": group.get("MultiAZ") == "enabled",
            "snapshotWindow": group.get("SnapshotWindow"),
            "snapshotRetentionLimit": group.get("SnapshotRetentionLimit", 0),
            "atRestEncryption": bool(group.get("AtRestEncryptionEnabled")),
            "authTokenEnabled": bool(group.get("AuthTokenEnabled")),
            "description": group.get("Description", ""),
        }

    def identify(self, raw: Raw) -> str:
        return raw["Group"]["ReplicationGroupId"] if "Group" in raw else raw["Cluster"]["CacheClusterId"]

    def identities(self, raw: Raw) -> State:
        return {"arn": (raw.get("Group") or raw.get("Cluster"))["ARN"]}

    def status(self, raw: Raw) -> State:
        member = raw.get("Member") or {}
        if "Group" in raw:
            group = raw["Group"]
            first = (group.get("NodeGroups") or [{}])[0]
            nodes = [_endpoint(m.get("ReadEndpoint")) for node in group.get("NodeGroups") or ()
                     for m in node.get("NodeGroupMembers") or ()]
            return {"engine": group.get("Engine") or member.get("Engine"), "clusterStatus": group["Status"],
                    "primaryEndpoint": None if group.get("ClusterEnabled") else _endpoint(first.get("PrimaryEndpoint")),
                    "readerEndpoint": _endpoint(first.get("ReaderEndpoint")),
                    "configurationEndpoint": _endpoint(group.get("ConfigurationEndpoint")),
                    "nodeEndpoints": [n for n in nodes if n],
                    "memberClusters": sorted(set(group.get("MemberClusters") or ())),
                    "cacheNodeType": group.get("CacheNodeType"), "engineVersion": member.get("EngineVersion"),
                    "subnetGroupName": member.get("CacheSubnetGroupName"),
                    "clusterCreateTime": self.timestamp(group.get("ReplicationGroupCreateTime"))}
        cluster = raw["Cluster"]
        nodes = [_endpoint(node.get("Endpoint")) for node in cluster.get("CacheNodes") or ()]
        return {"engine": cluster["Engine"], "clusterStatus": cluster["CacheClusterStatus"],
                "primaryEndpoint": None, "readerEndpoint": None,
                "configurationEndpoint": _endpoint(cluster.get("ConfigurationEndpoint")),
                "nodeEndpoints": [n for n in nodes if n], "memberClusters": [],
                "cacheNodeType": cluster.get("CacheNodeType"), "engineVersion": cluster.get("EngineVersion"),
                "subnetGroupName": cluster.get("CacheSubnetGroupName"),
                "clusterCreateTime": self.timestamp(cluster.get("CacheClusterCreateTime"))}

    def available(self, raw: Raw) -> bool:
        return STATUSES.available(self.identify(raw), _state(raw))

    def read(self, aws: AWSClients, ident: str) -> Raw | None:
        ec = aws.client("elasticache")
        main = self._main(ec, ident)
        if main is None:
            return None
        if "Group" in main:
            member = _first_member(ec, main["Group"])
            return {**main, "Member": member, "SubnetGroup": _subnet_group(aws, member)}
        return {**main, "SubnetGroup": _subnet_group(aws, main["Cluster"])}

    def _main(self, ec: Any, ident: str) -> Raw | None:
        """The replication group, else the cache cluster, of that id (one id space per engine
        family: the key does not say which, so a group is looked for first)."""
        answer = self.absent_if_missing(ec.describe_replication_groups, ReplicationGroupId=ident)
        if answer is not None:
            return {"Group": answer["ReplicationGroups"][0]}
        answer = self.absent_if_missing(ec.describe_cache_clusters, CacheClusterId=ident, ShowCacheNodeInfo=True)
        return None if answer is None else {"Cluster": answer["CacheClusters"][0]}

    def read_tags(self, aws: AWSClients, ident: str, raw: Raw) -> dict[str, str]:
        arn = (raw.get("Group") or raw.get("Cluster"))["ARN"]
        return tag_map(aws.client("elasticache").list_tags_for_resource(ResourceName=arn).get("TagList"))

    def create(self, aws: AWSClients, desired: State, tags: Mapping[str, str], token: str) -> Raw:
        ec = aws.client("elasticache")
        subnet_group = desired["subnetGroupName"]
        if desired["subnetIds"]:
            subnet_group = SUBNET_GROUPS.ensure(aws, tags[OWNER_UID], desired["subnetIds"], tags,
                                                SUBNET_GROUP_DESCRIPTION.format(desired["clusterId"]))
        params: dict[str, Any] = {"Engine": desired["engine"], "CacheNodeType": desired["nodeType"],
                                  "Tags": tag_list(tags), **aws_params(desired, CLUSTER_PARAMS)}
        if subnet_group:
            params["CacheSubnetGroupName"] = subnet_group
        if desired["engine"] not in REPLICATION_ENGINES:
            cluster = ec.create_cache_cluster(CacheClusterId=desired["clusterId"], NumCacheNodes=desired["nodes"],
                                              TransitEncryptionEnabled=desired["transitEncryption"], **params)
            return {"Cluster": cluster["CacheCluster"], "SubnetGroup": None}
        params.update(aws_params(desired, {"SnapshotWindow": "snapshotWindow"}))
        if desired["clusterMode"]:
            params.update(ClusterMode="enabled", NumNodeGroups=desired["nodes"]["groups"])
        if desired.get("authToken") is not None:
            params["AuthToken"] = desired["authToken"].reveal()
        group = ec.create_replication_group(
            ReplicationGroupId=desired["clusterId"], ReplicationGroupDescription=desired["description"],
            ReplicasPerNodeGroup=desired["nodes"]["replicas"], AutomaticFailoverEnabled=desired["automaticFailover"],
            MultiAZEnabled=desired["multiAZ"], SnapshotRetentionLimit=desired["snapshotRetentionLimit"],
            AtRestEncryptionEnabled=desired["atRestEncryption"], TransitEncryptionEnabled=desired["transitEncryption"],
            **params)["ReplicationGroup"]
        return {"Group": group, "Member": None, "SubnetGroup": None}

    def update(self, aws: AWSClients, ident: str, desired: State, raw: Raw, changed: frozenset[str]) -> None:
        STATUSES.wait_until_ready(ident, _state(raw))
        ec = aws.client("elasticache")
        observed = self.observe(raw)
        if "engineVersion" in changed:
            refuse_downgrade(f"{ident} ({desired['engine']})", desired["engineVersion"], observed["engineVersion"])
        if "subnetIds" in changed:
            _change_own_subnets(aws, ident, observed["subnetGroupName"], desired["subnetIds"])
        if "Cluster" in raw:
            _update_memcached(ec, ident, desired, observed, changed)
            return
        params = aws_params(desired, {**CLUSTER_PARAMS, **GROUP_PARAMS}, only=changed)
        if desired.get("authToken") is not None and ("authToken" in changed or "authTokenEnabled" in changed):
            # ROTATE: the new token is accepted at once, the previous one too until the next rotation
            # (AWS allows SET only after a ROTATE), so clients can move over.
            params.update(AuthToken=desired["authToken"].reveal(), AuthTokenUpdateStrategy="ROTATE")
        scaling = "nodes" in changed and desired["nodes"] != observed["nodes"]
        if params:
            ec.modify_replication_group(ReplicationGroupId=ident, ApplyImmediately=True, **params)
            if scaling:
                raise InProgress(f"{ident}: modified; the node count changes once AWS has applied that", sent=True)
        if scaling:
            _scale_group(ec, ident, desired["nodes"], observed["nodes"], raw["Group"])

    def set_tags(self, aws: AWSClients, ident: str, change: TagChange) -> None:
        ec = aws.client("elasticache")
        if ident.startswith("arn:"):  # the subnet group we hold
            arn = ident
        else:
            main = self._main(ec, ident)
            if main is None:
                raise TerminalError(f"{ident} is not in AWS")
            arn = self.identities(main)["arn"]
        change.apply(lambda tags: ec.add_tags_to_resource(ResourceName=arn, Tags=tags),
                     lambda keys: ec.remove_tags_from_resource(ResourceName=arn, TagKeys=keys))

    def delete(self, aws: AWSClients, ident: str, raw: Raw, spec: Mapping[str, Any]) -> None:
        state = _state(raw)
        if state in ("deleting", "deleted"):
            return
        if state not in SETTLED:
            raise InProgress(f"{ident} is {state} in AWS: deleting once that is done")
        ec = aws.client("elasticache")
        if "Cluster" in raw:
            ec.delete_cache_cluster(CacheClusterId=ident)
            return
        final = {"FinalSnapshotIdentifier": spec.get("finalSnapshotIdentifier") or f"{ident}-final"} \
            if spec.get("deletionPolicy") == "Snapshot" else {}
        ec.delete_replication_group(ReplicationGroupId=ident, RetainPrimaryCluster=False, **final)

    def held(self, aws: AWSClients, owner_uid_tag: tuple[str, str]) -> list[str]:
        """The cache subnet group made from the spec's subnets (by ARN): named after the UID, or,
        for a cluster made before that naming, after the cluster (found by the owner tag)."""
        own = SUBNET_GROUPS.held(aws, owner_uid_tag)
        legacy = [arn for arn in tagged_arns(aws, ["elasticache"], owner_uid_tag)
                  if ":subnetgroup:" in arn and arn not in own]
        return own + legacy

    def release_held(self, aws: AWSClients, ident: str) -> None:
        SUBNET_GROUPS.release(aws, ident)


def _state(raw: Raw) -> str:
    return raw["Group"]["Status"] if "Group" in raw else raw["Cluster"]["CacheClusterStatus"]


def _cluster_state(cluster: Raw, subnet_group: Raw | None) -> State:
    """The fields a cache cluster holds: a memcached cluster's own, a replication group's members'."""
    return {
        "clusterId": cluster["CacheClusterId"],
        "engineVersion": cluster.get("EngineVersion"),
        "nodeType": cluster.get("CacheNodeType"),
        "transitEncryption": bool(cluster.get("TransitEncryptionEnabled")),
        "subnetGroupName": cluster.get("CacheSubnetGroupName"),
        "subnetIds": SUBNET_GROUPS.subnets(subnet_group) if subnet_group else None,
        "securityGroupIds": sorted(g["SecurityGroupId"] for g in cluster.get("SecurityGroups") or ()) or None,
        "parameterGroupName": (cluster.get("CacheParameterGroup") or {}).get("CacheParameterGroupName"),
        "maintenanceWindow": cluster.get("PreferredMaintenanceWindow"),
    }


def _first_member(ec: Any, group: Raw) -> Raw | None:
    """The group's first member cluster, None while AWS shows none (members being replaced)."""
    for member in group.get("MemberClusters") or ():
        try:
            return ec.describe_cache_clusters(CacheClusterId=member)["CacheClusters"][0]
        except Exception as exc:
            if not is_not_found(exc):
                raise
    return None


def _subnet_group(aws: AWSClients, cluster: Raw | None) -> Raw | None:
    name = (cluster or {}).get("CacheSubnetGroupName")
    return SUBNET_GROUPS.describe(aws, name) if name else None


def _change_own_subnets(aws: AWSClients, ident: str, group: str, subnet_ids: list[str]) -> None:
    """Change the subnets of the cluster's group when it is ours: named after the UID, or (made
    before that naming) after the cluster; a group the spec named once is not changed."""
    if not (SUBNET_GROUPS.named_here(group) or group == ident):
        raise TerminalError(f"{ident} is in the cache subnet group {group}, which this object did not make, and "
                            "AWS cannot move a cluster to another group: set subnetGroupName back to it, or delete "
                            "and re-create the object to replace the cluster", reason="ReplacementRequired")
    SUBNET_GROUPS.modify(aws, group, subnet_ids, SUBNET_GROUP_DESCRIPTION.format(ident))


def _update_memcached(ec: Any, ident: str, desired: State, observed: State, changed: frozenset[str]) -> None:
    if "nodeType" in changed:
        raise TerminalError(f"memcached cluster {ident} cannot change node type in place; delete and re-create "
                            "the object to replace it", reason="ReplacementRequired")
    params = aws_params(desired, CLUSTER_PARAMS, only=changed)
    if "nodes" in changed:
        params["NumCacheNodes"] = desired["nodes"]
        if desired["nodes"] < observed["nodes"]:  # AWS removes the nodes it is told: the newest
            params["CacheNodeIdsToRemove"] = [f"{n:04d}" for n in range(desired["nodes"] + 1, observed["nodes"] + 1)]
    if params:
        ec.modify_cache_cluster(CacheClusterId=ident, ApplyImmediately=True, **params)


def _scale_group(ec: Any, ident: str, want: State, have: State, group: Raw) -> None:
    """One scaling operation (shards first, then replicas): each takes minutes in AWS."""
    if want["groups"] != have["groups"]:
        params: dict[str, Any] = {}
        if want["groups"] < have["groups"]:
            shards = sorted(node["NodeGroupId"] for node in group.get("NodeGroups") or ())
            params["NodeGroupsToRetain"] = shards[:want["groups"]]
        ec.modify_replication_group_shard_configuration(ReplicationGroupId=ident, NodeGroupCount=want["groups"],
                                                        ApplyImmediately=True, **params)
        if want["replicas"] != have["replicas"]:
            raise InProgress(f"{ident}: shards change first; replicas once AWS has applied that")
        return
    call = ec.increase_replica_count if want["replicas"] > have["replicas"] else ec.decrease_replica_count
    call(ReplicationGroupId=ident, NewReplicaCount=want["replicas"], ApplyImmediately=True)
