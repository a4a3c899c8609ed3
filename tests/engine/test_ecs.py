"""ECSCluster through the engine against moto over HTTP, without kopf: create → Ready with its
counts, updates in place (settings, capacity providers and strategy, Service Connect namespace,
ECS Exec configuration, tags) through UpdateCluster and PutClusterCapacityProviders, drift healed
with its severity, a deletion that waits while services remain (naming them), Retain, adoption
by name after a crash, a name someone else holds (its tags untouched), and bad input."""

from __future__ import annotations

import pytest

from conftest import (Cluster, calls_of, check_adoption_after_a_lost_status_write, check_name_taken, check_retain,
                      check_stopped_before_aws, converge, kind_metrics, make_engine, ready_reason, reasons)

OWNER_UID = "infra-operator.dev/owner-uid"
NAMESPACE = "arn:aws:servicediscovery:us-east-1:123456789012:namespace/ns-abcdef0123456789"
STRATEGY = [{"capacityProvider": "FARGATE", "weight": 1, "base": 1}, {"capacityProvider": "FARGATE_SPOT", "weight": 4}]
EXEC = {"executeCommandConfiguration": {"logging": "OVERRIDE", "logConfiguration": {
    "cloudWatchLogGroupName": "/ecs/exec", "cloudWatchEncryptionEnabled": True}}}


@pytest.fixture
def ecs(aws):
    return aws.client("ecs")


def describe(ecs, name: str) -> dict:
    return ecs.describe_clusters(clusters=[name], include=["SETTINGS", "CONFIGURATIONS", "TAGS"])["clusters"][0]


def cluster_tags(ecs, name: str) -> dict[str, str]:
    return {t["key"]: t["value"] for t in describe(ecs, name).get("tags") or ()}


def strategy(ecs, name: str) -> list[dict]:
    return sorted(({"base": 0, "weight": 0, **item} for item in describe(ecs, name)["defaultCapacityProviderStrategy"]),
                  key=lambda item: item["capacityProvider"])


def test_create_update_drift_heal_delete(aws, telemetry, ecs):
    cluster = Cluster(make_engine(aws, telemetry))
    spec = {"clusterName": "shop", "settings": [{"name": "containerInsights", "value": "enabled"}],
            "capacityProviders": ["FARGATE"], "defaultCapacityProviderStrategy": [STRATEGY[0]],
            "tags": {"team": "shop"}}
    cluster.apply("ECSCluster", "shop", spec)
    created = converge(cluster, [("ECSCluster", "shop")])[-1][1]
    status = created.status
    assert ready_reason(created) == "Available" and status["clusterArn"].endswith(":cluster/shop")
    assert status["clusterName"] == "shop" and status["status"] == "ACTIVE"
    assert (status["activeServicesCount"], status["runningTasksCount"], status["pendingTasksCount"],
            status["registeredContainerInstancesCount"]) == (0, 0, 0, 0)
    now = describe(ecs, "shop")
    assert now["settings"] == [{"name": "containerInsights", "value": "enabled"}]
    assert now["capacityProviders"] == ["FARGATE"] and strategy(ecs, "shop") == [STRATEGY[0]]
    assert cluster_tags(ecs, "shop")["team"] == "shop" and cluster_tags(ecs, "shop")[OWNER_UID] == cluster.uid(
        "ECSCluster", "shop")

    cluster.apply("ECSCluster", "shop", {
        **spec, "settings": [{"name": "containerInsights", "value": "enhanced"}],
        "capacityProviders": ["FARGATE", "FARGATE_SPOT"], "defaultCapacityProviderStrategy": STRATEGY,
        "serviceConnectDefaults": {"namespace": NAMESPACE}, "configuration": EXEC, "tags": {"team": "platform"}})
    updated = cluster.reconcile("ECSCluster", "shop", "update")
    assert reasons(updated) == ["Updated"] and ready_reason(updated) == "Available"
    now = describe(ecs, "shop")
    assert now["settings"] == [{"name": "containerInsights", "value": "enhanced"}]
    assert sorted(now["capacityProviders"]) == ["FARGATE", "FARGATE_SPOT"]
    assert strategy(ecs, "shop") == [STRATEGY[0], {**STRATEGY[1], "base": 0}]
    assert now["serviceConnectDefaults"]["namespace"] == NAMESPACE
    assert now["configuration"]["executeCommandConfiguration"] == EXEC["executeCommandConfiguration"]
    assert cluster_tags(ecs, "shop")["team"] == "platform"
    assert reasons(cluster.reconcile("ECSCluster", "shop", "resync")) == []

    # Out of band: ECS Exec logging turned off (critical: audit), Spot dropped (warning).
    ecs.update_cluster(cluster="shop", configuration={"executeCommandConfiguration": {"logging": "NONE"}})
    ecs.put_cluster_capacity_providers(cluster="shop", capacityProviders=["FARGATE"],
                                       defaultCapacityProviderStrategy=[STRATEGY[0]])
    healed = cluster.reconcile("ECSCluster", "shop", "resync")
    assert reasons(healed) == ["DriftHealed"] and ready_reason(healed) == "Available"
    now = describe(ecs, "shop")
    assert now["configuration"]["executeCommandConfiguration"] == EXEC["executeCommandConfiguration"]
    assert sorted(now["capacityProviders"]) == ["FARGATE", "FARGATE_SPOT"]

    # Leaving the namespace out of the spec removes it (an empty namespace, as UpdateCluster takes it).
    cluster.apply("ECSCluster", "shop", {**spec, "capacityProviders": ["FARGATE", "FARGATE_SPOT"],
                                         "defaultCapacityProviderStrategy": STRATEGY, "configuration": EXEC})
    assert reasons(cluster.reconcile("ECSCluster", "shop", "update")) == ["Updated"]
    assert not (describe(ecs, "shop").get("serviceConnectDefaults") or {}).get("namespace")

    gone = cluster.delete("ECSCluster", "shop")
    assert gone.retry_after is None and reasons(gone) == ["Deleted"]
    assert describe(ecs, "shop")["status"] == "INACTIVE"
    samples = telemetry.sample_values()
    assert kind_metrics(samples, "ECSCluster") == {"drift critical": 1, "drift warning": 1, "healed": 1,
                                                   "reconcile success": 5}
    assert calls_of(samples, "ECS", "CreateCluster", "UpdateCluster", "PutClusterCapacityProviders", "TagResource",
                    "UntagResource", "DeleteCluster") == {
        "CreateCluster": 1, "UpdateCluster": 3, "PutClusterCapacityProviders": 2, "TagResource": 2,
        "UntagResource": 0, "DeleteCluster": 1}


def test_deletion_waits_while_services_remain_and_names_them(ecs, cluster, calls):
    cluster.apply("ECSCluster", "busy", {"clusterName": "busy"})
    arn = converge(cluster, [("ECSCluster", "busy")])[-1][1].status["clusterArn"]
    ecs.register_task_definition(family="web", containerDefinitions=[
        {"name": "web", "image": "nginx", "memory": 128}])
    for name in ("web", "api"):
        ecs.create_service(cluster=arn, serviceName=name, taskDefinition="web", desiredCount=0)
    # (moto keeps the cluster's activeServicesCount at 0: the count is AWS's, shown as it answers.)

    waiting = cluster.delete("ECSCluster", "busy")
    assert ready_reason(waiting) == "ServicesRemain" and waiting.retry_after == 30.0 and not waiting.permanent
    assert "api, web" in waiting.message and not any(e.type == "Warning" for e in waiting.events)
    assert calls.calls["DeleteCluster"] == 0 and describe(ecs, "busy")["status"] == "ACTIVE"

    ecs.delete_service(cluster=arn, service="web", force=True)
    still = cluster.delete("ECSCluster", "busy")
    assert ready_reason(still) == "ServicesRemain" and "api" in still.message and "web" not in still.message
    ecs.delete_service(cluster=arn, service="api", force=True)
    gone = cluster.delete("ECSCluster", "busy")
    assert gone.retry_after is None and reasons(gone) == ["Deleted"]
    assert describe(ecs, "busy")["status"] == "INACTIVE"


def test_retain_leaves_the_cluster_without_our_tags(ecs, cluster):
    arn = check_retain(cluster, "ECSCluster", {"clusterName": "kept"}, lambda status: cluster_tags(ecs, "kept"))
    assert describe(ecs, arn)["status"] == "ACTIVE"
    ecs.delete_cluster(cluster=arn)


def test_adoption_after_a_lost_status_write(cluster):
    check_adoption_after_a_lost_status_write(cluster, "ECSCluster", {"clusterName": "adopted"})


def test_a_name_someone_else_holds_is_not_taken_over(ecs, cluster, calls):
    """No CreateCluster on a name in use: it would answer the existing cluster (and moto would
    wipe its tags)."""
    ecs.create_cluster(clusterName="theirs", tags=[{"key": "owner", "value": "them"}])
    check_name_taken(cluster, "ECSCluster", {"clusterName": "theirs"})
    assert calls.calls["CreateCluster"] == 0 and cluster_tags(ecs, "theirs") == {"owner": "them"}
    ecs.delete_cluster(cluster="theirs")


def test_a_deleted_clusters_name_is_used_again(ecs, cluster):
    """ECS keeps a deleted cluster visible as INACTIVE: that is no cluster, the name is free."""
    cluster.apply("ECSCluster", "again", {"clusterName": "again"})
    converge(cluster, [("ECSCluster", "again")])
    assert cluster.delete("ECSCluster", "again").retry_after is None
    cluster.apply("ECSCluster", "again", {"clusterName": "again"})
    created = converge(cluster, [("ECSCluster", "again")])[-1][1]
    assert reasons(created)[0] == "Created" and describe(ecs, "again")["status"] == "ACTIVE"
    cluster.delete("ECSCluster", "again")


@pytest.mark.parametrize("spec, reason", [
    ({"capacityProviders": ["FARGATE"], "defaultCapacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT"}]},
     "InvalidSpec"),
    ({"defaultCapacityProviderStrategy": [{"capacityProvider": "FARGATE"}]}, "InvalidSpec"),
    ({"configuration": {"executeCommandConfiguration": {"logging": "DEFAULT", "logConfiguration": {
        "s3BucketName": "logs"}}}}, "InvalidSpec"),
    ({"configuration": {"executeCommandConfiguration": {"logging": "OVERRIDE"}}}, "InvalidSpec"),
])
def test_invalid_specs_stop_before_any_aws_call(cluster, calls, spec, reason):
    check_stopped_before_aws(cluster, calls, "ECSCluster", {"clusterName": "bad", **spec}, reason)
