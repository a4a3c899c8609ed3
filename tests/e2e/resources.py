"""Test-side helpers for our custom objects: create, wait for conditions, read AWS by owner tag."""

from __future__ import annotations

from typing import Any

from infra_operator.operator.engine.references import dependents_first
from infra_operator.operator.kinds import all_kinds

API_VERSION = "aws.infra-operator.dev/v1alpha1"


# Dependents first (their finalizers would wait), the AWSProvider (which every kind names) last.
KINDS_IN_DELETION_ORDER = (*dependents_first(all_kinds()), "AWSProvider")


def condition(obj: dict | None, type_: str = "Ready") -> dict:
    for cond in ((obj or {}).get("status") or {}).get("conditions") or ():
        if cond.get("type") == type_:
            return cond
    return {}


class Cluster:
    def __init__(self, kube, aws, namespace: str):
        self.kube = kube
        self.aws = aws
        self.namespace = namespace

    def create(self, kind: str, name: str, spec: dict[str, Any]) -> dict:
        return self.kube.create({"apiVersion": API_VERSION, "kind": kind,
                                 "metadata": {"name": name, "namespace": self.namespace}, "spec": spec})

    def get(self, kind: str, name: str) -> dict | None:
        return self.kube.find(API_VERSION, kind, self.namespace, name)

    def patch(self, kind: str, name: str, patch: dict) -> dict:
        return self.kube.patch(API_VERSION, kind, self.namespace, name, patch)

    def delete(self, kind: str, name: str) -> None:
        self.kube.delete(API_VERSION, kind, self.namespace, name)

    def create_provider(self, name: str, access_key: str = "testing", **spec: Any) -> dict:
        secret = f"{name}-credentials"
        self.kube.create({"apiVersion": "v1", "kind": "Secret",
                          "metadata": {"name": secret, "namespace": self.namespace},
                          "stringData": {"AWS_ACCESS_KEY_ID": access_key, "AWS_SECRET_ACCESS_KEY": "secret-value"}})
        return self.create("AWSProvider", name, {"region": "us-east-1", "endpoint": self.aws.endpoint,
                                                 "credentials": {"secretRef": {"name": secret}}, **spec})

    def wait_condition(self, kind: str, name: str, *, status: str = "True", reason: str | None = None,
                       timeout: float = 30) -> dict:
        def matches(obj: dict | None) -> bool:
            cond = condition(obj)
            return cond.get("status") == status and (reason is None or cond.get("reason") == reason)
        return self.kube.wait_for(lambda: self.get(kind, name), until=matches, timeout=timeout,
                                  what=f"{kind} {name} Ready={status} reason={reason}")

    def wait_ready(self, kind: str, name: str, timeout: float = 30) -> dict:
        return self.wait_condition(kind, name, timeout=timeout)

    def wait_gone(self, kind: str, name: str, timeout: float = 30) -> None:
        self.kube.wait_for(lambda: self.get(kind, name) is None, timeout=timeout, what=f"{kind} {name} gone")

    def event_reasons(self, name: str) -> list[str]:
        return [e.get("reason") for e in self.kube.events(self.namespace, name)]

    def wait_event(self, name: str, reason: str, timeout: float = 20) -> None:
        self.kube.wait_for(lambda: reason in self.event_reasons(name), timeout=timeout,
                           what=f"event {reason} on {name}")

    def owned_addresses(self, uid: str) -> list[dict]:
        return self.aws.client("ec2").describe_addresses(
            Filters=[{"Name": "tag:infra-operator.dev/owner-uid", "Values": [uid]}])["Addresses"]

    def delete_everything(self, timeout: float = 60) -> None:
        for kind in KINDS_IN_DELETION_ORDER:
            try:
                objects = self.kube.list(API_VERSION, kind, self.namespace)
            except Exception:  # a kind whose CRD is not installed
                continue
            for obj in objects:
                self.delete(kind, obj["metadata"]["name"])
            for obj in objects:
                self.wait_gone(kind, obj["metadata"]["name"], timeout)
