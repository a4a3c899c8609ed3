"""The OpenAPI documents the API server publishes, built from the served kinds and the installed
CRDs' schemas: ``/openapi/v3`` (an index) with one OpenAPI 3.0 document per group-version, and
``/openapi/v2`` (Swagger 2.0, JSON).

kubectl reads them: ``kubectl explain`` renders the schemas' descriptions, and ``kubectl apply``
finds in each PATCH operation that the server takes ``fieldValidation`` (it then lets the server
refuse unknown fields instead of validating on the client).
"""
from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterable
from typing import Any

from .discovery import SERVER_VERSION
from .store import Kind

Obj = dict[str, Any]
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
LIST_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"
STATUS = "io.k8s.apimachinery.pkg.apis.meta.v1.Status"
# Definition name prefixes of the built-in groups (the API server names them after their Go packages).
_BUILTIN_PREFIXES = {"": "io.k8s.api.core.v1", "coordination.k8s.io": "io.k8s.api.coordination.v1",
                     "apiextensions.k8s.io": "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1"}
_API_VERSION_DESCRIPTION = ("APIVersion defines the versioned schema of this representation of an object. Servers "
                            "should convert recognized schemas to the latest internal value, and may reject "
                            "unrecognized values. More info: https://git.k8s.io/community/contributors/devel/"
                            "sig-architecture/api-conventions.md#resources")
_KIND_DESCRIPTION = ("Kind is a string value representing the REST resource this object represents. Servers may "
                     "infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. "
                     "More info: https://git.k8s.io/community/contributors/devel/sig-architecture/"
                     "api-conventions.md#types-kinds")
_METADATA_DESCRIPTION = ("Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/"
                         "sig-architecture/api-conventions.md#metadata")
_PATCH_TYPES = ("application/apply-patch+yaml", "application/json-patch+json", "application/merge-patch+json")
_WRITE_PARAMETERS = (
    ("dryRun", "string", "When present, indicates that modifications should not be persisted."),
    ("fieldManager", "string", "fieldManager is a name associated with the actor or entity that is making these "
                               "changes."),
    ("fieldValidation", "string", "fieldValidation instructs the server on how to handle objects in the request "
                                  "(POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: "
                                  "Ignore, Warn (the default) and Strict."),
)
_FORCE_PARAMETER = ("force", "boolean", "Force is going to \"force\" Apply requests. It means user will "
                                        "re-acquire conflicting fields owned by other people.")


def definition_name(kind: Kind, version: str, suffix: str = "") -> str:
    """``dev.infra-operator.aws.v1alpha1.VPC``, ``io.k8s.api.core.v1.Secret``."""
    prefix = _BUILTIN_PREFIXES.get(kind.group) if not kind.custom else None
    if prefix is None:
        prefix = ".".join([*reversed(kind.group.split(".")), version])
    return f"{prefix}.{kind.kind}{suffix}"


def _object_meta() -> Obj:
    string_map = {"type": "object", "additionalProperties": {"type": "string", "default": ""}}
    return {"description": "ObjectMeta is metadata that all persisted resources must have, which includes all "
                           "objects users must create.",
            "type": "object",
            "properties": {
                "annotations": {**string_map, "description": "Annotations is an unstructured key value map stored "
                                                             "with a resource."},
                "creationTimestamp": {"type": "string", "format": "date-time",
                                      "description": "The server time when this object was created."},
                "deletionGracePeriodSeconds": {"type": "integer", "format": "int64"},
                "deletionTimestamp": {"type": "string", "format": "date-time",
                                      "description": "When this resource will be deleted."},
                "finalizers": {"type": "array", "items": {"type": "string", "default": ""},
                               "x-kubernetes-list-type": "set",
                               "description": "Must be empty before the object is deleted from the registry."},
                "generateName": {"type": "string", "description": "An optional prefix, used by the server, to "
                                                                  "generate a unique name."},
                "generation": {"type": "integer", "format": "int64",
                               "description": "A sequence number representing a specific generation of the "
                                              "desired state."},
                "labels": {**string_map, "description": "Map of string keys and values that can be used to "
                                                        "organize and categorize objects."},
                "managedFields": {"type": "array", "items": {"type": "object",
                                                             "x-kubernetes-preserve-unknown-fields": True},
                                  "description": "Which field managers manage which fields of the object."},
                "name": {"type": "string", "description": "Name must be unique within a namespace."},
                "namespace": {"type": "string", "description": "Namespace defines the space within which each "
                                                               "name must be unique."},
                "ownerReferences": {"type": "array", "items": {"type": "object",
                                                               "x-kubernetes-preserve-unknown-fields": True},
                                    "description": "List of objects depended by this object."},
                "resourceVersion": {"type": "string", "description": "An opaque value that represents the "
                                                                     "internal version of this object."},
                "uid": {"type": "string", "description": "The unique in time and space value for this object."},
            }}


def _gvk(kind: Kind, version: str, kind_name: str | None = None) -> Obj:
    return {"group": kind.group, "version": version, "kind": kind_name or kind.kind}


def _field(type_: str, description: str, **more: Any) -> Obj:
    return {"type": type_, "description": description, **more}


_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
_OPEN = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
# The fields of the built-in kinds the emulation serves, as the API server documents them.
_BUILTIN_SCHEMAS: dict[tuple[str, str], Obj] = {
    ("", "secrets"): {"description": "Secret holds secret data of a certain type.", "properties": {
        "data": {**_STRING_MAP, "description": "Secret data, base64 encoded."},
        "stringData": {**_STRING_MAP, "description": "Write-only plain text data, merged into data on write."},
        "type": _field("string", "Used to facilitate programmatic handling of secret data."),
        "immutable": _field("boolean", "If true, the data cannot be updated.")}},
    ("", "configmaps"): {"description": "ConfigMap holds configuration data for pods to consume.", "properties": {
        "data": {**_STRING_MAP, "description": "Configuration data."},
        "binaryData": {**_STRING_MAP, "description": "Binary configuration data, base64 encoded."},
        "immutable": _field("boolean", "If true, the data cannot be updated.")}},
    ("", "namespaces"): {"description": "Namespace provides a scope for Names.", "properties": {
        "spec": {**_OPEN, "description": "The behavior of the Namespace."},
        "status": {"type": "object", "description": "The current status of the Namespace.",
                   "properties": {"phase": _field("string", "The current lifecycle phase: Active or Terminating.")}}}},
    ("", "events"): {"description": "Event is a report of an event somewhere in the cluster.", "properties": {
        "involvedObject": {**_OPEN, "description": "The object that this event is about."},
        "reason": _field("string", "A short, machine understandable reason for the transition."),
        "message": _field("string", "A human-readable description of the status of this operation."),
        "type": _field("string", "Type of this event (Normal, Warning)."),
        "source": {**_OPEN, "description": "The component reporting this event."},
        "count": _field("integer", "The number of times this event has occurred.", format="int32"),
        "firstTimestamp": _field("string", "When the event was first recorded.", format="date-time"),
        "lastTimestamp": _field("string", "When the most recent occurrence was recorded.", format="date-time"),
        "eventTime": _field("string", "When this Event was first observed.", format="date-time"),
        "reportingComponent": _field("string", "The controller that emitted this Event."),
        "reportingInstance": _field("string", "The ID of the controller instance.")}},
    ("coordination.k8s.io", "leases"): {"description": "Lease defines a lease concept.", "properties": {
        "spec": {"type": "object", "description": "The specification of the Lease.", "properties": {
            "holderIdentity": _field("string", "The identity of the holder of a current lease."),
            "leaseDurationSeconds": _field("integer", "How long candidates wait to force acquire the lease.",
                                           format="int32"),
            "acquireTime": _field("string", "When the current lease was acquired.", format="date-time"),
            "renewTime": _field("string", "When the current holder last updated the lease.", format="date-time"),
            "leaseTransitions": _field("integer", "How many transitions between holders.", format="int32")}}}},
    ("apiextensions.k8s.io", "customresourcedefinitions"): {
        "description": "CustomResourceDefinition represents a resource that should be exposed on the API server.",
        "properties": {"spec": {**_OPEN, "description": "The resource's names, versions and schemas."},
                       "status": {**_OPEN, "description": "The observed state of the definition."}}},
}


def _kind_schema(kind: Kind, version: str, ref: str) -> Obj:
    """A kind's published schema: its CRD's, or the built-in kind's; metadata a reference to
    ObjectMeta."""
    schema = kind.versions.get(version)
    published = copy.deepcopy(schema.openapi if schema is not None else {
        "type": "object", **_BUILTIN_SCHEMAS.get(kind.key, {"x-kubernetes-preserve-unknown-fields": True})})
    properties = published.setdefault("properties", {})
    properties["apiVersion"] = {"type": "string", "description": _API_VERSION_DESCRIPTION}
    properties["kind"] = {"type": "string", "description": _KIND_DESCRIPTION}
    properties["metadata"] = {"allOf": [{"$ref": ref + OBJECT_META}], "default": {},
                              "description": _METADATA_DESCRIPTION}
    published["x-kubernetes-group-version-kind"] = [_gvk(kind, version)]
    return published


def _list_schema(kind: Kind, version: str, ref: str) -> Obj:
    return {"type": "object", "required": ["items"], "description": f"{kind.kind}List is a list of {kind.kind}",
            "properties": {"apiVersion": {"type": "string", "description": _API_VERSION_DESCRIPTION},
                           "kind": {"type": "string", "description": _KIND_DESCRIPTION},
                           "items": {"type": "array", "items": {"$ref": ref + definition_name(kind, version)}},
                           "metadata": {"allOf": [{"$ref": ref + LIST_META}], "default": {}}},
            "x-kubernetes-group-version-kind": [_gvk(kind, version, f"{kind.kind}List")]}


def _metas() -> dict[str, Obj]:
    return {OBJECT_META: _object_meta(),
            LIST_META: {"type": "object", "description": "ListMeta describes metadata that synthetic resources "
                                                         "must have.",
                        "properties": {"continue": {"type": "string"}, "resourceVersion": {"type": "string"}}},
            STATUS: {"type": "object", "description": "Status is a return value for calls that don't return "
                                                      "other objects.",
                     "x-kubernetes-preserve-unknown-fields": True}}


def _resource_paths(kind: Kind, version: str) -> dict[str, dict[str, tuple[str, str]]]:
    """Path → method → (x-kubernetes-action, the definition the operation answers with)."""
    base = f"/apis/{kind.group}/{version}" if kind.group else f"/api/{version}"
    collection = f"{base}/namespaces/{{namespace}}/{kind.plural}" if kind.namespaced else f"{base}/{kind.plural}"
    single, listed = definition_name(kind, version), definition_name(kind, version, "List")
    paths: dict[str, dict[str, tuple[str, str]]] = {
        collection: {"get": ("list", listed), "post": ("post", single), "delete": ("deletecollection", STATUS)},
        f"{collection}/{{name}}": {"get": ("get", single), "put": ("put", single), "patch": ("patch", single),
                                   "delete": ("delete", single)},
    }
    if kind.namespaced:
        paths[f"{base}/{kind.plural}"] = {"get": ("list", listed)}
    for subresource in kind.subresources:
        paths[f"{collection}/{{name}}/{subresource}"] = {"get": ("get", single), "put": ("put", single),
                                                          "patch": ("patch", single)}
    return paths


def _path_parameters(path: str) -> list[Obj]:
    names = [name for name in ("name", "namespace") if f"{{{name}}}" in path]
    return [{"name": name, "in": "path", "required": True, "description": f"{name} of the object",
             "schema": {"type": "string", "uniqueItems": True}} for name in names]


def _write_parameters(method: str) -> list[tuple[str, str, str]]:
    if method not in ("post", "put", "patch"):
        return []
    return [*_WRITE_PARAMETERS, *([_FORCE_PARAMETER] if method == "patch" else [])]


def _operation_v3(kind: Kind, version: str, method: str, action: str, answer: str) -> Obj:
    ref = "#/components/schemas/"
    operation: Obj = {
        "description": f"{action} {kind.kind}",
        "operationId": f"{action}{kind.kind}",
        "tags": [definition_name(kind, version).rsplit(".", 1)[0]],
        "parameters": [{"name": name, "in": "query", "description": description, "schema": {"type": param_type}}
                       for name, param_type, description in _write_parameters(method)],
        "responses": {"200": {"description": "OK",
                              "content": {"application/json": {"schema": {"$ref": ref + answer}}}}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": _gvk(kind, version),
    }
    if method in ("post", "put"):
        operation["requestBody"] = {"content": {"*/*": {"schema": {"$ref": ref + definition_name(kind, version)}}},
                                    "required": True}
    elif method == "patch":
        operation["requestBody"] = {"content": {media: {"schema": {"type": "object"}} for media in _PATCH_TYPES},
                                    "required": True}
    return operation


def _served(kinds: Iterable[Kind]) -> dict[tuple[str, str], list[Kind]]:
    by_group_version: dict[tuple[str, str], list[Kind]] = {}
    for kind in kinds:
        for version in kind.versions:
            by_group_version.setdefault((kind.group, version), []).append(kind)
    return by_group_version


def _document_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def v3_document(kinds: Iterable[Kind], path: str) -> Obj | None:
    """The OpenAPI 3.0 document of one group-version (``api/v1``, ``apis/GROUP/VERSION``)."""
    served = {_document_path(*key): (key, members) for key, members in _served(kinds).items()}
    if path not in served:
        return None
    (group, version), members = served[path]
    ref = "#/components/schemas/"
    schemas = _metas()
    paths: Obj = {}
    for kind in sorted(members, key=lambda k: k.plural):
        schemas[definition_name(kind, version)] = _kind_schema(kind, version, ref)
        schemas[definition_name(kind, version, "List")] = _list_schema(kind, version, ref)
        for url, methods in _resource_paths(kind, version).items():
            paths[url] = {"parameters": _path_parameters(url),
                          **{method: _operation_v3(kind, version, method, action, answer)
                             for method, (action, answer) in methods.items()}}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": SERVER_VERSION},
            "paths": paths, "components": {"schemas": schemas}}


def v3_index(kinds: Iterable[Kind]) -> Obj:
    """``/openapi/v3``: where each group-version's document is, with a hash of its content."""
    kinds = list(kinds)
    paths = {}
    for group, version in sorted(_served(kinds)):
        path = _document_path(group, version)
        digest = hashlib.sha512(json.dumps(v3_document(kinds, path), sort_keys=True).encode()).hexdigest().upper()
        paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest}"}
    return {"paths": paths}


def _swagger_schema(schema: Any) -> Any:
    """OpenAPI v3 schema → Swagger 2.0 (which has no ``nullable`` and refers to ``#/definitions``)."""
    if isinstance(schema, list):
        return [_swagger_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    converted = {key: _swagger_schema(value) for key, value in schema.items() if key != "nullable"}
    if isinstance(converted.get("$ref"), str):
        converted["$ref"] = converted["$ref"].replace("#/components/schemas/", "#/definitions/")
    if isinstance(schema.get("properties"), dict):
        converted["properties"] = {name: _swagger_schema(sub) for name, sub in schema["properties"].items()}
    return converted


def v2_document(kinds: Iterable[Kind]) -> Obj:
    """``/openapi/v2``: every served kind in one Swagger 2.0 document."""
    ref = "#/definitions/"
    definitions: Obj = _metas()
    paths: Obj = {}
    for (group, version), members in sorted(_served(kinds).items()):
        for kind in sorted(members, key=lambda k: k.plural):
            definitions[definition_name(kind, version)] = _swagger_schema(_kind_schema(kind, version, ref))
            definitions[definition_name(kind, version, "List")] = _list_schema(kind, version, ref)
            for url, methods in _resource_paths(kind, version).items():
                entry: Obj = {"parameters": [{"name": p["name"], "in": "path", "required": True, "type": "string"}
                                             for p in _path_parameters(url)]}
                for method, (action, answer) in methods.items():
                    parameters: list[Obj] = [{"name": name, "in": "query", "type": param_type, "description": text}
                                             for name, param_type, text in _write_parameters(method)]
                    if method in ("post", "put", "patch"):
                        parameters.append({"name": "body", "in": "body", "required": True,
                                           "schema": {"$ref": ref + definition_name(kind, version)}
                                           if method != "patch" else {"type": "object"}})
                    entry[method] = {
                        "operationId": f"{action}{kind.kind}", "parameters": parameters,
                        "consumes": list(_PATCH_TYPES) if method == "patch" else ["*/*"],
                        "produces": ["application/json", "application/yaml"],
                        "responses": {"200": {"description": "OK", "schema": {"$ref": ref + answer}}},
                        "x-kubernetes-action": action, "x-kubernetes-group-version-kind": _gvk(kind, version)}
                paths[url] = entry
    return {"swagger": "2.0", "info": {"title": "Kubernetes", "version": SERVER_VERSION},
            "paths": paths, "definitions": definitions}
