"""ECSCluster: an ECS cluster, its settings (Container Insights), capacity providers with the
default strategy, Service Connect namespace, execute-command configuration and tags; status
counts its container instances, tasks and services. The spec decides the name. A cluster is
deleted once its services are gone: until then the deletion is in progress (ServicesRemain)."""

from __future__ import annotations

from typing import Any, Mapping

from ..engine.kind import (Adoption, AWSClients, Deletion, DriftField, ErrorMatch, Identity, Kind, Raw, Severity,
                           State, TagChange, Tagging, tag_list, tag_map)
from ..engine.schema import immutable
from ..provider.errors import InProgress, RetryableError, TerminalError

CLUSTER_NAME = r"^[A-Za-z0-9_-]{1,255}$"
PROVIDER_NAME = r"^[A-Za-z0-9_-]{1,255}$"
NAMESPACE_ARN = r"^arn:aws[a-z-]*:servicediscovery:[a-z0-9-]+:\d{12}:namespace/ns-[a-z0-9]+$"
STRATEGY_IN_PROVIDERS = "every defaultCapacityProviderStrategy provider must be listed in capacityProviders"
LOG_NEEDS_OVERRIDE = "logConfiguration is only for logging OVERRIDE (and OVERRIDE needs it)"
# Seconds between looks at a cluster whose services are being deleted.
SERVICES_DELAY = 30.0
COUNTS = ("registeredContainerInstancesCount", "runningTasksCount", "pendingTasksCount", "activeServicesCount")

SETTING = {"type": "object", "required": ["name", "value"], "properties": {
    "name": {"type": "string", "enum": ["containerInsights"]},
    "value": {"type": "string", "enum": ["enabled", "disabled", "enhanced"],
              "description": "Container Insights: enabled, enhanced (with task and container metrics) or "
                             "disabled."}}}
STRATEGY_ITEM = {"type": "object", "required": ["capacityProvider"], "properties": {
    "capacityProvider": {"type": "string", "pattern": PROVIDER_NAME},
    "weight": {"type": "integer", "minimum": 0, "maximum": 1000,
               "description": "Relative share of tasks placed with this provider (unset: 0)."},
    "base": {"type": "integer", "minimum": 0, "maximum": 100000,
             "description": "Tasks placed with this provider first (unset: 0)."}}}
LOG_CONFIGURATION = {"type": "object", "properties": {
    "cloudWatchLogGroupName": {"type": "string", "minLength": 1, "maxLength": 512},
    "cloudWatchEncryptionEnabled": {"type": "boolean"},
    "s3BucketName": {"type": "string", "minLength": 3, "maxLength": 63},
    "s3EncryptionEnabled": {"type": "boolean"},
    "s3KeyPrefix": {"type": "string", "maxLength": 1024}}}
EXECUTE_COMMAND = {
    "type": "object",
    "description": "ECS Exec: the KMS key for the session data and where the command output is logged.",
    "x-kubernetes-validations": [{"rule": "has(self.logConfiguration) == (self.logging == 'OVERRIDE')",
                                  "message": LOG_NEEDS_OVERRIDE}],
    "properties": {
        "kmsKeyId": {"type": "string", "minLength": 1, "maxLength": 2048},
        "logging": {"type": "string", "enum": ["NONE", "DEFAULT", "OVERRIDE"], "default": "DEFAULT"},
        "logConfiguration": LOG_CONFIGURATION}}


class ECSCluster(Kind):
    kind = "ECSCluster"
    plural = "ecsclusters"
    short_names = ("ecscluster",)
    description = ("An ECS cluster: Container Insights, capacity providers and their default strategy, the "
                   "Service Connect namespace and the execute-command configuration. Its deletion waits, in "
                   "progress, while services remain in it.")
    # Standalone tasks and registered instances keep a cluster (services: see delete).
    deletion = Deletion(protected=tuple(ErrorMatch(code) for code in (
        "ClusterContainsTasksException", "ClusterContainsContainerInstancesException",
        "ClusterContainsServicesException")))
    # Every ECS call takes the ARN; the spec decides the name, which DescribeClusters takes too.
    identifier = "clusterArn"
    identity = Identity(fields=("clusterName",), from_spec="clusterName")
    adoption = Adoption.SPEC_NAME
    tagging = Tagging(at_create=True, in_description=True)
    spec_properties = {
        "clusterName": {"type": "string", "pattern": CLUSTER_NAME,
                        **immutable("clusterName cannot change after creation"),
                        "description": "The cluster's name; cannot change after creation."},
        "settings": {"type": "array", "items": SETTING, "maxItems": 1, "x-kubernetes-list-type": "map",
                     "x-kubernetes-list-map-keys": ["name"],
                     "description": "Cluster settings (containerInsights). Unset: the account's default, "
                                    "kept as first seen."},
        "capacityProviders": {"type": "array", "items": {"type": "string", "pattern": PROVIDER_NAME},
                              "maxItems": 20, "x-kubernetes-list-type": "set",
                              "description": "Capacity providers the cluster may use (FARGATE, FARGATE_SPOT or "
                                             "Auto Scaling group providers). Unset: none."},
        "defaultCapacityProviderStrategy": {
            "type": "array", "items": STRATEGY_ITEM, "maxItems": 20, "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["capacityProvider"],
            "description": "How services and tasks without a strategy of their own spread over the providers."},
        "serviceConnectDefaults": {
            "type": "object", "required": ["namespace"],
            "description": "The Cloud Map namespace services use for Service Connect by default. Unset: none.",
            "properties": {"namespace": {"type": "string", "pattern": NAMESPACE_ARN,
                                         "description": "The namespace's ARN."}}},
        "configuration": {"type": "object", "properties": {"executeCommandConfiguration": EXECUTE_COMMAND},
                          "description": "Cluster configuration. Unset: ECS Exec logs by default (DEFAULT)."},
    }
    spec_required = ("clusterName",)
    spec_validations = (
        {"rule": "!has(self.defaultCapacityProviderStrategy) || self.defaultCapacityProviderStrategy.all(s, "
                 "has(self.capacityProviders) && s.capacityProvider in self.capacityProviders)",
         "message": STRATEGY_IN_PROVIDERS},
    )
    status_properties = {name: {"type": "integer"} for name in COUNTS}
    printer_columns = (("Status", ".status.status", "string"), ("Services", ".status.activeServicesCount", "integer"),
                       ("Tasks", ".status.runningTasksCount", "integer"))
    drift_fields = (
        DriftField("clusterName", Severity.CRITICAL, updatable=False),
        DriftField("executeCommandConfiguration", Severity.CRITICAL),  # who may exec, and its audit log
        *(DriftField(name, Severity.WARNING) for name in (
            "capacityProviders", "defaultCapacityProviderStrategy", "serviceConnectNamespace")),
        # Unset: the account's default, recorded once and compared from then on.
        DriftField("settings", Severity.WARNING, late_init=True),
    )

    def validate(self, spec: Mapping[str, Any], related: Mapping[str, Mapping[str, Any]]) -> None:
        providers = set(spec.get("capacityProviders") or ())
        if any(item["capacityProvider"] not in providers for item in spec.get("defaultCapacityProviderStrategy") or ()):
            raise TerminalError(STRATEGY_IN_PROVIDERS)
        execute = (spec.get("configuration") or {}).get("executeCommandConfiguration")
        if execute is not None and ("logConfiguration" in execute) != (execute.get("logging") == "OVERRIDE"):
            raise TerminalError(LOG_NEEDS_OVERRIDE)

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
    arns = [arn for page in ecs.get_paginator("list_services").paginate(cluster=cluster) for arn in page["serviceArns"]]
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
