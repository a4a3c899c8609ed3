"""ECSCluster: an ECS cluster, its settings (Container Insights), capacity providers with the
default strategy, Service Connect namespace, execute-command configuration and tags; status
counts its container instances, tasks and services. The spec decides the name. A cluster is
deleted once its services are gone: until then the deletion is in progress (ServicesRemain).
`services/ecs.py` computes the calls."""

from __future__ import annotations

from typing import Any, Mapping

from ..engine.kind import Adoption, Deletion, DriftField, ErrorMatch, Identity, Severity, Tagging
from ..engine.schema import immutable
from ..provider.errors import TerminalError
from ..services.ecs import COUNTS, Cluster

CLUSTER_NAME = r"^[A-Za-z0-9_-]{1,255}$"
PROVIDER_NAME = r"^[A-Za-z0-9_-]{1,255}$"
NAMESPACE_ARN = r"^arn:aws[a-z-]*:servicediscovery:[a-z0-9-]+:\d{12}:namespace/ns-[a-z0-9]+$"
STRATEGY_IN_PROVIDERS = "every defaultCapacityProviderStrategy provider must be listed in capacityProviders"
LOG_NEEDS_OVERRIDE = "logConfiguration is only for logging OVERRIDE (and OVERRIDE needs it)"

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


class ECSCluster(Cluster):
    kind = "ECSCluster"
    plural = "ecsclusters"
    short_names = ("ecscluster",)
    description = ("An ECS cluster: Container Insights, capacity providers and their default strategy, the "
                   "Service Connect namespace and the execute-command configuration. Its deletion waits, in "
                   "progress, while services remain in it.")
    # Standalone tasks and registered instances keep a cluster (services: see Cluster.delete).
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
