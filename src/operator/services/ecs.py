"""ECS: what ECSCluster computes. The comparable state of a cluster (AWS's defaults filled in on
both sides: strategy weights and bases, execute-command logging), its create and update calls,
its status, and its deletion, which waits while the cluster's services remain."""

from __future__ import annotations

from typing import Any, Mapping

from ..engine.kind import AWSClients, Kind, Raw, State, TagChange, tag_list, tag_map
from ..engine.lookups import paginated
from ..provider.errors import InProgress, RetryableError, TerminalError

# Seconds between looks at a cluster whose services are being deleted.
SERVICES_DELAY = 30.0
COUNTS = ("registeredContainerInstancesCount", "runningTasksCount", "pendingTasksCount", "activeServicesCount")


class Cluster(Kind):
    """Base of ECSCluster: a cluster keyed by its ARN, named by its spec."""

    def desired(self, spec: Mapping[str, Any]) -> State:
        execute = (spec.get("configuration") or {}).get("executeCommandConfiguration") or {}
        return {
            "clusterName": spec["clusterName"],
            "settings": _settings(spec["settings"]) if spec.get("settings") else None,
            "capacityProviders": sorted(spec.get("capacityProviders") or ()),
            "defaultCapacityProviderStrategy": _strategy(spec.get("defaultCapacityProviderStrategy")),
            "serviceConnectNamespace": (spec.get("serviceConnectDefaults") or {}).get("namespace", ""),
            "executeCommandConfiguration": _execute_command(execute),
        }

    def observe(self, raw: Raw) -> State:
        execute = (raw.get("configuration") or {}).get("executeCommandConfiguration") or {}
        return {
            "clusterName": raw["clusterName"],
            "settings": _settings(raw.get("settings")),
            "capacityProviders": sorted(raw.get("capacityProviders") or ()),
            "defaultCapacityProviderStrategy": _strategy(raw.get("defaultCapacityProviderStrategy")),
            "serviceConnectNamespace": (raw.get("serviceConnectDefaults") or {}).get("namespace") or "",
            "executeCommandConfiguration": _execute_command(execute),
            "tags": tag_map(raw.get("tags"), "key", "value"),
        }

    def identify(self, raw: Raw) -> str:
        return raw["clusterArn"]

    def identities(self, raw: Raw) -> State:
        return {"clusterName": raw["clusterName"]}

    def status(self, raw: Raw) -> State:
        return {"status": raw.get("status"), **{name: raw.get(name, 0) for name in COUNTS}}

    def available(self, raw: Raw) -> bool:
        if raw.get("status") == "FAILED":
            raise TerminalError(f"ECS cluster {raw['clusterName']} failed to provision its capacity providers"
                                f"{': ' + raw['statusReason'] if raw.get('statusReason') else ''}",
                                reason="ClusterFailed")
        if raw.get("status") == "PROVISIONING":
            raise InProgress(f"ECS cluster {raw['clusterName']} is provisioning its capacity providers")
        return raw.get("status") == "ACTIVE"

    def read(self, aws: AWSClients, ident: str) -> Raw | None:
        answer = aws.client("ecs").describe_clusters(clusters=[ident],
                                                     include=["SETTINGS", "CONFIGURATIONS", "TAGS"])
        failures = [f for f in answer.get("failures") or () if f.get("reason") != "MISSING"]
        if failures:
            raise RetryableError(f"DescribeClusters {ident}: {failures[0].get('reason')} {failures[0].get('detail', '')}",
                                 reason="AWSUnavailable", error_type="get_failed")
        found = answer.get("clusters") or ()
        # A deleted cluster stays visible as INACTIVE for a while: it is gone.
        return found[0] if found and found[0].get("status") != "INACTIVE" else None

    def create(self, aws: AWSClients, desired: State, tags: Mapping[str, str], token: str) -> Raw:
        params: dict[str, Any] = {
            "clusterName": desired["clusterName"], "tags": tag_list(tags, "key", "value"),
            "configuration": {"executeCommandConfiguration": desired["executeCommandConfiguration"]}}
        if desired["capacityProviders"]:
            params["capacityProviders"] = desired["capacityProviders"]
            params["defaultCapacityProviderStrategy"] = desired["defaultCapacityProviderStrategy"]
        if desired["settings"]:
            params["settings"] = _settings_list(desired["settings"])
        if desired["serviceConnectNamespace"]:
            params["serviceConnectDefaults"] = {"namespace": desired["serviceConnectNamespace"]}
        return aws.client("ecs").create_cluster(**params)["cluster"]

    def update(self, aws: AWSClients, ident: str, desired: State, raw: Raw, changed: frozenset[str]) -> None:
        ecs = aws.client("ecs")
        if {"capacityProviders", "defaultCapacityProviderStrategy"} & changed:
            # Both together: the call replaces the providers and the strategy at once.
            ecs.put_cluster_capacity_providers(cluster=ident, capacityProviders=desired["capacityProviders"],
                                               defaultCapacityProviderStrategy=desired["defaultCapacityProviderStrategy"])
        params: dict[str, Any] = {}
        if "settings" in changed:
            params["settings"] = _settings_list(desired["settings"])
        if "executeCommandConfiguration" in changed:
            params["configuration"] = {"executeCommandConfiguration": desired["executeCommandConfiguration"]}
        if "serviceConnectNamespace" in changed:
            # An empty namespace removes the cluster's Service Connect default.
            params["serviceConnectDefaults"] = {"namespace": desired["serviceConnectNamespace"]}
        if params:
            ecs.update_cluster(cluster=ident, **params)

    def set_tags(self, aws: AWSClients, ident: str, change: TagChange) -> None:
        ecs = aws.client("ecs")
        change.apply(lambda tags: ecs.tag_resource(resourceArn=ident, tags=tags),
                     lambda keys: ecs.untag_resource(resourceArn=ident, tagKeys=keys), key="key", value="value")

    def delete(self, aws: AWSClients, ident: str, raw: Raw, spec: Mapping[str, Any]) -> None:
        ecs = aws.client("ecs")
        services = _remaining_services(ecs, ident)
        if services:
            raise InProgress(f"waiting for the services of ECS cluster {raw['clusterName']} to be deleted: "
                             f"{', '.join(services)}", reason="ServicesRemain", delay=SERVICES_DELAY)
        ecs.delete_cluster(cluster=ident)


def _remaining_services(ecs: Any, cluster: str) -> list[str]:
    """Names of the cluster's services not yet deleted. ListServices may still list a service
    that is being deleted (eventual consistency; moto lists INACTIVE ones for ever): DescribeServices
    (10 at a time) tells."""
    arns = list(paginated(ecs, "list_services", "serviceArns", cluster=cluster))
    remaining = []
    for start in range(0, len(arns), 10):
        described = ecs.describe_services(cluster=cluster, services=arns[start:start + 10])["services"]
        remaining += [service["serviceName"] for service in described if service.get("status") != "INACTIVE"]
    return sorted(remaining)


def _settings(items: Any) -> dict[str, str]:
    return {item["name"]: item["value"] for item in items or ()}


def _settings_list(settings: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in sorted(settings.items())]


def _strategy(items: Any) -> list[dict[str, Any]]:
    """The strategy with AWS's defaults filled in (weight and base 0), in a stable order."""
    return sorted(({"capacityProvider": item["capacityProvider"], "weight": item.get("weight") or 0,
                    "base": item.get("base") or 0} for item in items or ()), key=lambda item: item["capacityProvider"])


def _execute_command(execute: Mapping[str, Any]) -> dict[str, Any]:
    """The execute-command configuration with AWS's default logging (DEFAULT); in the log
    configuration, an unset field, an empty one and a false flag mean the same (AWS may answer
    either), and an empty log configuration is none."""
    normal: dict[str, Any] = {"logging": execute.get("logging") or "DEFAULT"}
    if execute.get("kmsKeyId"):
        normal["kmsKeyId"] = execute["kmsKeyId"]
    log = {key: value for key, value in (execute.get("logConfiguration") or {}).items() if value not in (None, "", False)}
    if log:
        normal["logConfiguration"] = log
    return normal
