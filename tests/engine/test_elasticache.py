"""ElastiCacheCluster through the engine against moto over HTTP, without kopf: a Redis replication
group in an owned subnet group from subnetRefs, with security groups by reference and an AUTH token
from a Kubernetes Secret; AWS's provisioning and modifying states (the fault injector rewrites
moto's instant "available"), an update, drift healed with its severity, a rotated token, delete with
a final snapshot, Retain, adoption, Memcached, and bad input stopped before AWS.

moto 5.2.5 keeps a deleted group `deleting` forever (the injector answers the describe as AWS does
once it is gone) and lacks DeleteCacheSubnetGroup, ModifyCacheCluster, scaling and member
clusters of replication groups: the last tests check the calls the kind makes for those with a
recording client; docs/kinds.md says what stays untested."""

from __future__ import annotations

import secrets
import uuid

import pytest

from infra_operator.operator.engine.delta import owner_tags
from infra_operator.operator.engine.subnet_groups import SubnetGroups
from infra_operator.operator.provider.errors import TerminalError

from conftest import (NAMESPACE, CallLog, Cluster, calls_of, converge, kind_metrics, make_engine, never_seen,
                      ready_reason, reasons, refused)

OWNER_UID = "infra-operator.dev/owner-uid"
NETWORK = [("VPC", "net", {"cidrBlock": "10.40.0.0/16"}),
           ("Subnet", "cache-a", {"vpcRef": {"name": "net"}, "cidrBlock": "10.40.1.0/24",
                                  "availabilityZone": "us-east-1a"}),
           ("Subnet", "cache-b", {"vpcRef": {"name": "net"}, "cidrBlock": "10.40.2.0/24",
                                  "availabilityZone": "us-east-1b"}),
           ("SecurityGroup", "cache", {"vpcRef": {"name": "net"}, "groupName": "cache", "description": "Redis"})]


class Params(CallLog):
    """The calls' names, and the parameters of each call, by operation."""

    def __init__(self):
        super().__init__()
        self.params: dict[str, list[dict]] = {}

    def register(self, events) -> None:
        super().register(events)
        events.register("before-parameter-build", lambda model, params, **_: self.params.setdefault(
            model.name, []).append(dict(params)))


def unique(prefix: str) -> str:
    """moto never finishes a delete, so an id is used once per session."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def network(cluster: Cluster) -> None:
    for kind, name, spec in NETWORK:
        cluster.apply(kind, name, spec)
    converge(cluster, [(kind, name) for kind, name, _ in NETWORK])


def group(ec, ident: str) -> dict:
    return ec.describe_replication_groups(ReplicationGroupId=ident)["ReplicationGroups"][0]


def tags_of(ec, arn: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in ec.list_tags_for_resource(ResourceName=arn)["TagList"]}


def gone_from_aws(aws, ident: str) -> None:
    """AWS's answer once a deletion is done: moto 5.2.5 shows the group `deleting` forever."""
    aws.faults.reject("ReplicationGroupNotFoundFault", f"Replication group {ident} not found.", status=404,
                      service="elasticache", operation="DescribeReplicationGroups")


def test_replication_group_lifecycle(aws, telemetry, k8s_secrets):
    ec = aws.client("elasticache")
    params = Params()
    cluster = Cluster(make_engine(aws, telemetry, params, read_secret=k8s_secrets))
    network(cluster)
    token, rotated = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    k8s_secrets.put("redis-auth", token=token)
    ident = unique("sessions")
    spec = {"clusterId": ident, "engine": "redis", "engineVersion": "7.1", "nodeType": "cache.t3.micro",
            "replicasPerNodeGroup": 1, "automaticFailoverEnabled": True, "multiAZEnabled": True,
            "subnetRefs": [{"name": "cache-a"}, {"name": "cache-b"}], "securityGroupRefs": [{"name": "cache"}],
            "atRestEncryptionEnabled": True, "transitEncryptionEnabled": True,
            "authTokenSecretRef": {"name": "redis-auth", "key": "token"}, "snapshotRetentionLimit": 3,
            "deletionPolicy": "Snapshot", "tags": {"team": "web"}}
    # AWS shows the group "creating" for minutes; moto at once "available": the read after the
    # create sees it creating (the describe before the create finds none: no rewrite counted).
    aws.faults.rewrite("<Status>available</Status>", "<Status>creating</Status>", service="elasticache",
                       operation="DescribeReplicationGroups", times=1)
    cluster.apply("ElastiCacheCluster", "sessions", spec)
    runs = [cluster.reconcile("ElastiCacheCluster", "sessions")]
    assert ready_reason(runs[0]) == "Provisioning" and runs[0].retry_after and "creating" in runs[0].message
    assert runs[0].status["clusterStatus"] == "creating"
    runs.append(cluster.reconcile("ElastiCacheCluster", "sessions", "resume"))
    status = cluster.status("ElastiCacheCluster", "sessions")
    assert ready_reason(status) == "Available", runs[-1].message
    assert status["clusterId"] == ident and status["arn"].endswith(f":replicationgroup:{ident}")
    assert status["clusterStatus"] == "available" and status["engine"] == "redis"
    assert status["primaryEndpoint"].endswith(":6379") and len(status["memberClusters"]) == 2
    raw = group(ec, ident)
    assert (raw["AutomaticFailover"], raw["MultiAZ"], raw["AuthTokenEnabled"], raw["AtRestEncryptionEnabled"]) == (
        "enabled", "enabled", True, True)
    assert tags_of(ec, raw["ARN"])[OWNER_UID] == cluster.uid("ElastiCacheCluster", "sessions")
    # The subnet group: ours, named after the object's UID, in both subnets, tagged as the object's.
    subnet_ids = sorted(cluster.status("Subnet", name)["subnetId"] for name in ("cache-a", "cache-b"))
    own_group = SubnetGroups.name(cluster.uid("ElastiCacheCluster", "sessions"))
    owned = ec.describe_cache_subnet_groups(CacheSubnetGroupName=own_group)["CacheSubnetGroups"][0]
    assert sorted(s["SubnetIdentifier"] for s in owned["Subnets"]) == subnet_ids
    assert tags_of(ec, owned["ARN"])[OWNER_UID] == cluster.uid("ElastiCacheCluster", "sessions")
    created = params.params["CreateReplicationGroup"][0]
    assert created["SecurityGroupIds"] == [cluster.status("SecurityGroup", "cache")["groupId"]]
    assert created["CacheSubnetGroupName"] == own_group and created["ReplicasPerNodeGroup"] == 1

    # An update in place: node type and description; AWS is "modifying" for a while.
    aws.faults.rewrite("<Status>available</Status>", "<Status>modifying</Status>", service="elasticache",
                       operation="DescribeReplicationGroups", times=1)
    cluster.apply("ElastiCacheCluster", "sessions", {**spec, "nodeType": "cache.t3.small", "description": "sessions"})
    updated = cluster.reconcile("ElastiCacheCluster", "sessions", "update")
    runs.append(updated)
    assert ready_reason(updated) == "Updating" and "modifying" in updated.message, updated.message
    runs.append(cluster.reconcile("ElastiCacheCluster", "sessions", "update"))
    assert reasons(runs[-1]) == ["Updated"] and ready_reason(runs[-1]) == "Available", runs[-1].message
    raw = group(ec, ident)
    assert (raw["CacheNodeType"], raw["Description"]) == ("cache.t3.small", "sessions")
    runs.append(cluster.reconcile("ElastiCacheCluster", "sessions", "resync"))
    assert reasons(runs[-1]) == []

    # Out of band: Multi-AZ and failover off (warning), description (info): healed on resync.
    ec.modify_replication_group(ReplicationGroupId=ident, ApplyImmediately=True, MultiAZEnabled=False,
                                AutomaticFailoverEnabled=False, ReplicationGroupDescription="changed")
    healed = cluster.reconcile("ElastiCacheCluster", "sessions", "resync")
    runs.append(healed)
    assert reasons(healed) == ["DriftHealed"] and "multiAZ" in healed.events[0].message
    raw = group(ec, ident)
    assert (raw["AutomaticFailover"], raw["MultiAZ"], raw["Description"]) == ("enabled", "enabled", "sessions")

    # A changed Secret rotates the token: sent to AWS, seen nowhere else.
    k8s_secrets.put("redis-auth", token=rotated)
    runs.append(cluster.reconcile("ElastiCacheCluster", "sessions", "update"))
    assert reasons(runs[-1]) == ["Updated"] and "authToken" in runs[-1].events[0].message
    modify = params.params["ModifyReplicationGroup"][-1]
    assert modify["AuthToken"] == rotated and modify["AuthTokenUpdateStrategy"] == "ROTATE"
    never_seen(runs, token, rotated)

    # Delete with a final snapshot; AWS deletes for minutes, then the subnet group goes.
    deleting = cluster.delete("ElastiCacheCluster", "sessions")
    assert ready_reason(deleting) == "Deleting" and deleting.retry_after
    assert params.params["DeleteReplicationGroup"] == [{"ReplicationGroupId": ident, "RetainPrimaryCluster": False,
                                                         "FinalSnapshotIdentifier": f"{ident}-final"}]
    gone_from_aws(aws, ident)
    # moto 5.2.5 lacks DeleteCacheSubnetGroup: answered as AWS would for a group already gone.
    aws.faults.reject("CacheSubnetGroupNotFoundFault", "not found", status=404, service="elasticache",
                      operation="DeleteCacheSubnetGroup")
    deleted = cluster.delete("ElastiCacheCluster", "sessions")
    assert deleted.retry_after is None and reasons(deleted) == ["Released"], deleted.message
    assert aws.faults.count("reject", "elasticache", "DeleteCacheSubnetGroup") == 1
    assert len(params.params["DeleteReplicationGroup"]) == 1

    samples = telemetry.sample_values()
    assert kind_metrics(samples, "ElastiCacheCluster") == {
        "drift warning": 1, "drift info": 1, "healed": 1, "reconcile success": 5, "reconcile requeue": 2}
    assert calls_of(samples, "ElastiCache", "CreateCacheSubnetGroup", "CreateReplicationGroup",
                    "ModifyReplicationGroup", "DeleteReplicationGroup") == {
        "CreateCacheSubnetGroup": 1, "CreateReplicationGroup": 1, "ModifyReplicationGroup": 3,
        "DeleteReplicationGroup": 1}


def test_cluster_mode_shards_and_its_configuration_endpoint(aws, cluster):
    ident = unique("shards")
    spec = {"clusterId": ident, "engine": "valkey", "nodeType": "cache.t3.micro", "clusterModeEnabled": True,
            "numNodeGroups": 2, "replicasPerNodeGroup": 1, "automaticFailoverEnabled": True}
    cluster.apply("ElastiCacheCluster", "shards", spec)
    converge(cluster, [("ElastiCacheCluster", "shards")])
    status = cluster.status("ElastiCacheCluster", "shards")
    assert status["configurationEndpoint"].startswith(f"clustercfg.{ident}.") and status["primaryEndpoint"] is None
    raw = group(aws.client("elasticache"), ident)
    assert raw["ClusterEnabled"] is True and [len(n["NodeGroupMembers"]) for n in raw["NodeGroups"]] == [2, 2]
    assert reasons(cluster.reconcile("ElastiCacheCluster", "shards", "resync")) == []
    # Cluster mode cannot be turned off in place.
    cluster.apply("ElastiCacheCluster", "shards", {**spec, "clusterModeEnabled": False, "numNodeGroups": 1})
    refused_run = cluster.reconcile("ElastiCacheCluster", "shards", "update")
    assert refused_run.permanent and ready_reason(refused_run) == "ReplacementRequired"
    assert "clusterMode" in refused_run.message


def test_memcached_cluster_and_a_refused_downgrade(aws, cluster):
    ec = aws.client("elasticache")
    ident = unique("pages")
    spec = {"clusterId": ident, "engine": "memcached", "engineVersion": "1.6.22", "nodeType": "cache.t3.micro",
            "numCacheNodes": 2, "preferredMaintenanceWindow": "sun:05:00-sun:06:00"}
    cluster.apply("ElastiCacheCluster", "pages", spec)
    converge(cluster, [("ElastiCacheCluster", "pages")])
    status = cluster.status("ElastiCacheCluster", "pages")
    assert status["arn"].endswith(f":cluster:{ident}") and status["engine"] == "memcached"
    assert status["engineVersion"] == "1.6.22" and status["primaryEndpoint"] is None
    assert reasons(cluster.reconcile("ElastiCacheCluster", "pages", "resync")) == []
    cluster.apply("ElastiCacheCluster", "pages", {**spec, "engineVersion": "1.6.17"})
    refused_run = cluster.reconcile("ElastiCacheCluster", "pages", "update")
    assert refused_run.permanent and ready_reason(refused_run) == "DowngradeRefused", refused_run.message
    cluster.apply("ElastiCacheCluster", "pages", {**spec, "nodeType": "cache.t3.small"})
    replace = cluster.reconcile("ElastiCacheCluster", "pages", "update")
    assert replace.permanent and ready_reason(replace) == "ReplacementRequired"
    cluster.apply("ElastiCacheCluster", "pages", spec)
    converge(cluster, [("ElastiCacheCluster", "pages")])
    assert cluster.delete("ElastiCacheCluster", "pages").retry_after
    assert ec.describe_cache_clusters(CacheClusterId=ident)["CacheClusters"][0]["CacheClusterStatus"] == "deleting"


def test_a_change_aws_cannot_make_in_place_asks_for_replacement(cluster):
    ident = unique("tls")
    spec = {"clusterId": ident, "engine": "valkey", "nodeType": "cache.t3.micro"}
    cluster.apply("ElastiCacheCluster", "tls", spec)
    converge(cluster, [("ElastiCacheCluster", "tls")])
    cluster.apply("ElastiCacheCluster", "tls", {**spec, "atRestEncryptionEnabled": True})
    refused_run = cluster.reconcile("ElastiCacheCluster", "tls", "update")
    assert refused_run.permanent and ready_reason(refused_run) == "ReplacementRequired"
    assert "atRestEncryption" in refused_run.message


def test_retain_leaves_the_group_and_its_subnet_group_without_our_tags(aws, cluster):
    ec = aws.client("elasticache")
    network(cluster)
    ident = unique("kept")
    cluster.apply("ElastiCacheCluster", "kept", {
        "clusterId": ident, "engine": "valkey", "nodeType": "cache.t3.micro", "subnetRefs": [{"name": "cache-a"}],
        "deletionPolicy": "Retain", "tags": {"keep": "me"}})
    converge(cluster, [("ElastiCacheCluster", "kept")])
    arn = cluster.status("ElastiCacheCluster", "kept")["arn"]
    own_group = SubnetGroups.name(cluster.uid("ElastiCacheCluster", "kept"))
    kept = cluster.delete("ElastiCacheCluster", "kept")
    assert kept.retry_after is None and reasons(kept) == ["Retained"]
    assert tags_of(ec, arn) == {"keep": "me"}
    subnet_group = ec.describe_cache_subnet_groups(CacheSubnetGroupName=own_group)["CacheSubnetGroups"][0]
    assert not any(k.startswith("infra-operator.dev/") for k in tags_of(ec, subnet_group["ARN"]))
    assert group(ec, ident)["Status"] == "available"


def test_adoption_after_a_lost_status_write(aws, cluster):
    """The operator died between the create and its status write: the next run adopts the group
    (its id from the spec, our owner tag) instead of making a second one."""
    ident = unique("adopted")
    cluster.apply("ElastiCacheCluster", "adopted",
                  {"clusterId": ident, "engine": "redis", "nodeType": "cache.t3.micro"})
    converge(cluster, [("ElastiCacheCluster", "adopted")])
    cluster.bodies[("ElastiCacheCluster", "adopted")]["status"] = {}
    again = converge(cluster, [("ElastiCacheCluster", "adopted")])[0][1]
    assert reasons(again)[0] == "Adopted" and again.status["clusterId"] == ident
    assert [g["ReplicationGroupId"] for g in aws.client("elasticache").describe_replication_groups()[
        "ReplicationGroups"]].count(ident) == 1
    assert cluster.delete("ElastiCacheCluster", "adopted").retry_after
    gone_from_aws(aws, ident)
    assert cluster.delete("ElastiCacheCluster", "adopted").retry_after is None


def test_a_group_someone_else_holds_is_not_taken_over(aws, cluster):
    ident = unique("theirs")
    aws.client("elasticache").create_replication_group(
        ReplicationGroupId=ident, ReplicationGroupDescription="theirs", Engine="redis", CacheNodeType="cache.t3.micro")
    cluster.apply("ElastiCacheCluster", "taken", {"clusterId": ident, "engine": "redis", "nodeType": "cache.t3.micro"})
    taken = cluster.reconcile("ElastiCacheCluster", "taken")
    assert ready_reason(taken) == "NameTaken" and taken.permanent


def made_before_uid_named_groups(aws, cluster: Cluster, name: str, spec: dict) -> None:
    """The memcached cluster of `spec` as the kind left it before subnet groups were named after the
    UID: in a group named after the cluster, both tagged as the object's."""
    ec = aws.client("elasticache")
    ident = spec["clusterId"]
    tags = [{"Key": key, "Value": value} for key, value in owner_tags(
        "ElastiCacheCluster", NAMESPACE, name, cluster.uid("ElastiCacheCluster", name)).items()]
    ec.create_cache_subnet_group(CacheSubnetGroupName=ident, CacheSubnetGroupDescription="legacy", Tags=tags,
                                 SubnetIds=[cluster.status("Subnet", ref["name"])["subnetId"]
                                            for ref in spec["subnetRefs"]])
    ec.create_cache_cluster(CacheClusterId=ident, Engine="memcached", CacheNodeType=spec["nodeType"],
                            NumCacheNodes=1, CacheSubnetGroupName=ident, Tags=tags)


def test_a_cluster_in_a_group_named_after_it_keeps_that_group_and_releases_it_after_the_cluster(aws, telemetry):
    """Upgrading the operator neither replaces such a cluster nor makes a second group; the old
    group is still the one released on Delete."""
    params = Params()
    cluster = Cluster(make_engine(aws, telemetry, params))
    network(cluster)
    ident = unique("legacy")
    spec = {"clusterId": ident, "engine": "memcached", "nodeType": "cache.t3.micro",
            "subnetRefs": [{"name": "cache-a"}]}
    cluster.apply("ElastiCacheCluster", "legacy", spec)
    made_before_uid_named_groups(aws, cluster, "legacy", spec)
    adopted = converge(cluster, [("ElastiCacheCluster", "legacy")])[0][1]
    assert reasons(adopted)[0] == "Adopted" and ready_reason(adopted) == "Available", adopted.message
    assert cluster.status("ElastiCacheCluster", "legacy")["subnetGroupName"] == ident
    resync = cluster.reconcile("ElastiCacheCluster", "legacy", "resync")
    assert reasons(resync) == [] and ready_reason(resync) == "Available", resync.message
    assert not {"CreateCacheSubnetGroup", "CreateCacheCluster", "ModifyCacheSubnetGroup"} & set(params.params)

    assert cluster.delete("ElastiCacheCluster", "legacy").retry_after
    aws.faults.reject("CacheClusterNotFound", f"Cache cluster {ident} not found.", status=404,
                      service="elasticache", operation="DescribeCacheClusters")
    # moto 5.2.5 lacks DeleteCacheSubnetGroup: answered as AWS would for a group already gone.
    aws.faults.reject("CacheSubnetGroupNotFoundFault", "not found", status=404, service="elasticache",
                      operation="DeleteCacheSubnetGroup")
    deleted = cluster.delete("ElastiCacheCluster", "legacy")
    assert deleted.retry_after is None and reasons(deleted) == ["Released"], deleted.message
    assert params.params["DeleteCacheSubnetGroup"] == [{"CacheSubnetGroupName": ident}]


def test_retain_leaves_a_group_named_after_the_cluster_without_our_tags(aws, cluster):
    ec = aws.client("elasticache")
    network(cluster)
    ident = unique("kept-legacy")
    spec = {"clusterId": ident, "engine": "memcached", "nodeType": "cache.t3.micro",
            "subnetRefs": [{"name": "cache-a"}], "deletionPolicy": "Retain"}
    cluster.apply("ElastiCacheCluster", "kept-legacy", spec)
    made_before_uid_named_groups(aws, cluster, "kept-legacy", spec)
    converge(cluster, [("ElastiCacheCluster", "kept-legacy")])
    kept = cluster.delete("ElastiCacheCluster", "kept-legacy")
    assert kept.retry_after is None and reasons(kept) == ["Retained"]
    legacy = ec.describe_cache_subnet_groups(CacheSubnetGroupName=ident)["CacheSubnetGroups"][0]
    assert legacy["ARN"] in kept.events[0].message
    assert not any(k.startswith("infra-operator.dev/") for k in tags_of(ec, legacy["ARN"]))


BASE = {"clusterId": "bad", "nodeType": "cache.t3.micro"}


@pytest.mark.parametrize("spec, message", [
    ({**BASE, "engine": "memcached", "replicasPerNodeGroup": 1}, "are for redis and valkey"),
    ({**BASE, "engine": "memcached", "deletionPolicy": "Snapshot"}, "are for redis and valkey"),
    ({**BASE, "engine": "redis", "numCacheNodes": 2}, "numCacheNodes is for engine memcached"),
    ({**BASE, "engine": "redis", "numNodeGroups": 3}, "needs clusterModeEnabled"),
    ({**BASE, "engine": "redis", "clusterModeEnabled": True}, "clusterModeEnabled needs automaticFailoverEnabled"),
    ({**BASE, "engine": "redis", "automaticFailoverEnabled": True}, "needs replicasPerNodeGroup of 1"),
    ({**BASE, "engine": "valkey", "multiAZEnabled": True}, "multiAZEnabled needs automaticFailoverEnabled"),
    ({**BASE, "engine": "redis", "authTokenSecretRef": {"name": "s", "key": "t"}}, "needs transitEncryptionEnabled"),
    ({**BASE, "engine": "redis", "subnetIds": ["subnet-1"], "subnetGroupName": "g"}, "not both"),
], ids=["memcached-replicas", "memcached-snapshot", "redis-nodes", "shards-without-cluster-mode",
        "cluster-mode-without-failover", "failover-without-replica", "multi-az-without-failover", "auth-without-tls",
        "two-subnet-sources"])
def test_bad_input_is_answered_without_an_aws_call(cluster, calls, k8s_secrets, spec, message):
    k8s_secrets.put("s", t="x" * 32)
    outcome = refused(cluster, calls, "ElastiCacheCluster", spec, "InvalidSpec", message)
    assert outcome.permanent


class Recorder:
    """An AWSClients whose ElastiCache client records each call: for the operations moto 5.2.5
    lacks (replica and shard changes, ModifyCacheCluster), what the kind asks AWS for."""

    region = "us-east-1"

    def __init__(self):
        self.calls: list[tuple[str, dict]] = []

    def client(self, service, region=None):
        assert service == "elasticache"
        return self

    def __getattr__(self, operation):
        return lambda **params: self.calls.append((operation, params))


def replication_group(shards: int, members: int, status: str = "available", **more) -> dict:
    nodes = [{"NodeGroupId": f"{n:04d}", "NodeGroupMembers": [{"CacheClusterId": f"g-{n:04d}-{m:03d}"}
                                                              for m in range(1, members + 1)]}
             for n in range(1, shards + 1)]
    return {"Group": {"ReplicationGroupId": "g", "Status": status, "NodeGroups": nodes, "ClusterEnabled": shards > 1,
                      "CacheNodeType": "cache.t3.micro", "Engine": "redis", "Description": "Managed by infra-operator",
                      "AutomaticFailover": "disabled", "MultiAZ": "disabled", "SnapshotRetentionLimit": 0, **more},
            "Member": {"CacheClusterId": "g-0001-001", "EngineVersion": "7.1.0", "CacheNodeType": "cache.t3.micro"},
            "SubnetGroup": None}


def desired(**spec) -> dict:
    from infra_operator.operator.kinds.elasticache import ElastiCacheCluster
    return ElastiCacheCluster().desired({"clusterId": "g", "engine": "redis", "nodeType": "cache.t3.micro", **spec})


def update(raw: dict, want: dict) -> tuple[list, Exception | None]:
    """The calls of one update toward `want`, and the InProgress or error it raised."""
    from infra_operator.operator.kinds.elasticache import ElastiCacheCluster
    kind, aws = ElastiCacheCluster(), Recorder()
    observed = kind.observe(raw)
    changed = frozenset(f.name for f in kind.drift_fields if want.get(f.name) is not None and not (
        f.same(want[f.name], observed.get(f.name)) if f.same else want[f.name] == observed.get(f.name)))
    try:
        kind.update(aws, kind.identify(raw), want, raw, changed)
    except Exception as exc:  # noqa: BLE001 - returned for the test to check
        return aws.calls, exc
    return aws.calls, None


def test_a_replica_is_added_with_increase_replica_count():
    calls, raised = update(replication_group(1, 2), desired(replicasPerNodeGroup=2, automaticFailoverEnabled=True))
    assert calls == [("modify_replication_group", {"ReplicationGroupId": "g", "ApplyImmediately": True,
                                                   "AutomaticFailoverEnabled": True})]
    assert "node count changes once" in str(raised)
    calls, raised = update(replication_group(1, 2, AutomaticFailover="enabled"),
                           desired(replicasPerNodeGroup=2, automaticFailoverEnabled=True))
    assert calls == [("increase_replica_count", {"ReplicationGroupId": "g", "NewReplicaCount": 2,
                                                 "ApplyImmediately": True})] and raised is None


def test_shards_go_first_keeping_the_lowest_ids_then_replicas():
    want = desired(clusterModeEnabled=True, numNodeGroups=2, replicasPerNodeGroup=0, automaticFailoverEnabled=True)
    calls, raised = update(replication_group(3, 2, AutomaticFailover="enabled"), want)
    assert calls == [("modify_replication_group_shard_configuration", {
        "ReplicationGroupId": "g", "NodeGroupCount": 2, "ApplyImmediately": True,
        "NodeGroupsToRetain": ["0001", "0002"]})] and "replicas once" in str(raised)
    calls, raised = update(replication_group(2, 2, AutomaticFailover="enabled"), want)
    assert calls == [("decrease_replica_count", {"ReplicationGroupId": "g", "NewReplicaCount": 0,
                                                 "ApplyImmediately": True})] and raised is None


def test_an_engine_upgrade_is_applied_and_nothing_while_aws_is_modifying():
    calls, raised = update(replication_group(1, 1), desired(engineVersion="7.2"))
    assert calls == [("modify_replication_group", {"ReplicationGroupId": "g", "ApplyImmediately": True,
                                                   "EngineVersion": "7.2"})] and raised is None
    calls, raised = update(replication_group(1, 1), desired(engineVersion="7.0"))
    assert calls == [] and getattr(raised, "reason", None) == "DowngradeRefused"
    calls, raised = update(replication_group(1, 1, status="modifying"), desired(engineVersion="7.2"))
    assert calls == [] and "modifying" in str(raised)


def test_memcached_nodes_are_removed_newest_first():
    raw = {"Cluster": {"CacheClusterId": "m", "CacheClusterStatus": "available", "Engine": "memcached",
                       "NumCacheNodes": 3, "CacheNodeType": "cache.t3.micro", "EngineVersion": "1.6.22"},
           "SubnetGroup": None}
    want = {**desired(engine="memcached", numCacheNodes=1, engineVersion="1.6.22"), "clusterId": "m"}
    calls, raised = update(raw, want)
    assert calls == [("modify_cache_cluster", {"CacheClusterId": "m", "ApplyImmediately": True, "NumCacheNodes": 1,
                                               "CacheNodeIdsToRemove": ["0002", "0003"]})] and raised is None


def memcached_cluster(subnet_group: str) -> dict:
    return {"Cluster": {"CacheClusterId": "g", "CacheClusterStatus": "available", "Engine": "memcached",
                        "CacheNodeType": "cache.t3.micro", "NumCacheNodes": 1, "CacheSubnetGroupName": subnet_group},
            "SubnetGroup": {"CacheSubnetGroupName": subnet_group, "Subnets": [{"SubnetIdentifier": "subnet-1"}]}}


@pytest.mark.parametrize("subnet_group", ["g", SubnetGroups.name("6f1c0c1e-8d5a-4a57-9a43-0c6f3e1f2b7d")],
                         ids=["named-after-the-cluster", "named-after-the-uid"])
def test_the_subnets_of_our_subnet_group_change_in_place(subnet_group):
    calls, raised = update(memcached_cluster(subnet_group), desired(engine="memcached",
                                                                    subnetIds=["subnet-1", "subnet-2"]))
    assert raised is None and calls == [("modify_cache_subnet_group", {
        "CacheSubnetGroupName": subnet_group, "CacheSubnetGroupDescription": "Subnets of ElastiCache cluster g",
        "SubnetIds": ["subnet-1", "subnet-2"]})]


def test_a_subnet_group_the_spec_named_once_is_not_changed():
    calls, raised = update(memcached_cluster("shared"), desired(engine="memcached", subnetIds=["subnet-2"]))
    assert calls == [] and isinstance(raised, TerminalError) and raised.reason == "ReplacementRequired"
    assert "shared" in str(raised)
