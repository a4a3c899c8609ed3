"""API discovery as the API server serves it: the legacy documents (``/api``, ``/apis``,
``/apis/GROUP``, ``/api(s)/.../VERSION``) and the aggregated ``apidiscovery.k8s.io/v2`` list
kubectl asks for first.

Subresources are listed apart from their resource, without its short names or categories: kubectl
resolves a short name or a category against every entry that carries it.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from .store import Kind

Obj = dict[str, Any]
AGGREGATED_CONTENT_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
AGGREGATED_API_VERSION = "apidiscovery.k8s.io/v2"
SERVER_VERSION = "v1.32.0"
_VERSION = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def version_priority(version: str) -> tuple[int, int, int, str]:
    """Sort key putting the preferred version first, as the API server orders them: GA before
    beta before alpha, higher numbers first, versions of other shapes last by name."""
    match = _VERSION.match(version)
    if not match:
        return (3, 0, 0, version)
    major, stage, minor = match.groups()
    return ({None: 0, "beta": 1, "alpha": 2}[stage], -int(major), -int(minor or 0), version)


def _versions_by_group(kinds: Iterable[Kind]) -> dict[str, list[str]]:
    groups: dict[str, set[str]] = {}
    for kind in kinds:
        groups.setdefault(kind.group, set()).update(kind.versions)
    return {group: sorted(versions, key=version_priority) for group, versions in groups.items()}


def _group_version(group: str, version: str) -> str:
    return f"{group}/{version}" if group else version


def _scope(kind: Kind) -> str:
    return "Namespaced" if kind.namespaced else "Cluster"


def server_version() -> Obj:
    """``/version``: the Kubernetes release whose API the emulation follows (kubectl warns when
    its own minor version is more than one away)."""
    return {"major": "1", "minor": "32", "gitVersion": SERVER_VERSION, "gitCommit": "", "gitTreeState": "clean",
            "buildDate": "", "goVersion": "", "compiler": "emulation", "platform": "linux/amd64"}


def api_versions() -> Obj:
    """``/api``."""
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": ""}]}


def _group_entry(group: str, versions: list[str]) -> Obj:
    listed = [{"groupVersion": _group_version(group, v), "version": v} for v in versions]
    return {"name": group, "versions": listed, "preferredVersion": listed[0]}


def api_group_list(kinds: Iterable[Kind]) -> Obj:
    """``/apis``: every named group (the core group is served at ``/api``)."""
    groups = _versions_by_group(kinds)
    return {"kind": "APIGroupList", "apiVersion": "v1",
            "groups": [_group_entry(group, versions) for group, versions in sorted(groups.items()) if group]}


def api_group(kinds: Iterable[Kind], group: str) -> Obj | None:
    """``/apis/GROUP``, or None when no such group is served."""
    versions = _versions_by_group(kinds).get(group)
    if not group or not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group_entry(group, versions)}


def resource_list(kinds: Iterable[Kind], group: str, version: str) -> Obj | None:
    """``/api/v1`` or ``/apis/GROUP/VERSION``: an APIResourceList, or None when not served."""
    served = sorted((kind for kind in kinds if kind.group == group and version in kind.versions),
                    key=lambda kind: kind.plural)
    if not served:
        return None
    resources: list[Obj] = []
    for kind in served:
        resources.append({"name": kind.plural, "singularName": kind.singular, "namespaced": kind.namespaced,
                          "kind": kind.kind, "verbs": list(kind.verbs),
                          **({"shortNames": list(kind.short_names)} if kind.short_names else {}),
                          **({"categories": list(kind.categories)} if kind.categories else {})})
        for subresource, verbs in kind.subresources.items():
            resources.append({"name": f"{kind.plural}/{subresource}", "singularName": "",
                              "namespaced": kind.namespaced, "kind": kind.kind, "verbs": list(verbs)})
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": _group_version(group, version),
            "resources": resources}


def aggregated(kinds: Iterable[Kind], core: bool) -> Obj:
    """The ``APIGroupDiscoveryList`` of ``/api`` (``core``) or of ``/apis``."""
    kinds = list(kinds)
    groups = _versions_by_group(kinds)
    items = []
    for group in sorted(name for name in groups if (name == "") == core):
        versions = []
        for version in groups[group]:
            resources = []
            for kind in sorted((k for k in kinds if k.group == group and version in k.versions),
                               key=lambda k: k.plural):
                response_kind = {"group": group, "version": version, "kind": kind.kind}
                resources.append({
                    "resource": kind.plural, "responseKind": response_kind, "scope": _scope(kind),
                    "singularResource": kind.singular, "verbs": list(kind.verbs),
                    **({"shortNames": list(kind.short_names)} if kind.short_names else {}),
                    **({"categories": list(kind.categories)} if kind.categories else {}),
                    **({"subresources": [{"subresource": name, "responseKind": response_kind, "verbs": list(verbs)}
                                         for name, verbs in kind.subresources.items()]} if kind.subresources else {}),
                })
            versions.append({"version": version, "resources": resources, "freshness": "Current"})
        items.append({"metadata": {"name": group, "creationTimestamp": None} if group else {"creationTimestamp": None},
                      "versions": versions})
    return {"kind": "APIGroupDiscoveryList", "apiVersion": AGGREGATED_API_VERSION, "metadata": {}, "items": items}


def root_paths(kinds: Iterable[Kind]) -> Obj:
    """``/``: the paths the server serves."""
    paths = {"/api", "/api/v1", "/apis", "/openapi/v2", "/openapi/v3", "/version"}
    for group, versions in _versions_by_group(kinds).items():
        if group:
            paths.add(f"/apis/{group}")
            paths.update(f"/apis/{group}/{version}" for version in versions)
    return {"paths": sorted(paths)}
