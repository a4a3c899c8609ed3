"""CustomResourceDefinitions built from the kinds' declarations (crds/ is generated from here)."""

from __future__ import annotations

import copy
from typing import Any, Iterable, Mapping

from .kind import Kind, Reference

GROUP = "aws.infra-operator.dev"
VERSION = "v1alpha1"
CATEGORY = "aws"

NAME_REF = {
    "type": "object",
    "required": ["name"],
    "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 253,
                            "pattern": r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"}},
}
SECRET_REF = {
    "type": "object",
    "required": ["name", "key"],
    "properties": {"name": NAME_REF["properties"]["name"],
                   "key": {"type": "string", "minLength": 1, "maxLength": 253, "pattern": r"^[-._a-zA-Z0-9]+$"}},
}
SECRET_KEYS_REF = {
    "type": "object",
    "required": ["name"],
    "properties": {"name": NAME_REF["properties"]["name"],
                   "keys": {"type": "array", "minItems": 1, "maxItems": 64, "x-kubernetes-list-type": "set",
                            "items": SECRET_REF["properties"]["key"],
                            "description": "The Secret's keys to include (default: every key)."}},
}
TAGS = {
    "type": "object",
    "description": "AWS tags. Keys under aws: and infra-operator.dev/ are reserved.",
    "maxProperties": 40,
    "additionalProperties": {"type": "string", "maxLength": 256},
    # The API server checks keys with propertyNames only via CEL; the engine re-checks (validate_tags).
    "x-kubernetes-validations": [{
        "rule": "self.all(k, size(k) <= 128 && !k.startsWith('aws:') && !k.startsWith('infra-operator.dev/'))",
        "message": "tag keys must be at most 128 characters and must not start with aws: or infra-operator.dev/",
    }],
}
CONDITIONS = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["type", "status"],
        "properties": {
            "type": {"type": "string"},
            "status": {"type": "string", "enum": ["True", "False", "Unknown"]},
            "reason": {"type": "string"},
            "message": {"type": "string"},
            "lastTransitionTime": {"type": "string", "format": "date-time"},
            "observedGeneration": {"type": "integer"},
        },
    },
}


def immutable_rule(message: str = "cannot change after creation") -> dict[str, str]:
    """The CEL rule of a field AWS cannot change after the create: the API server refuses a change
    (where it enforces CEL); the engine answers ReplacementRequired (where it does not)."""
    return {"rule": "self == oldSelf", "message": message}


def immutable(message: str = "cannot change after creation") -> dict[str, list[dict[str, str]]]:
    """A property's validations holding only immutable_rule: spread it into the property (**immutable(...))."""
    return {"x-kubernetes-validations": [immutable_rule(message)]}


IMMUTABLE = immutable()

LAST_CHANGE_TRACE = {
    "type": "object",
    "description": "The trace of the last reconcile that changed this object or its AWS resource "
                   "(when sampled): look the trace id up in the tracing backend.",
    "properties": {"traceId": {"type": "string"}, "spanId": {"type": "string"}},
}
READY_COLUMN = {"name": "Ready", "type": "string", "jsonPath": '.status.conditions[?(@.type=="Ready")].status'}
REASON_COLUMN = {"name": "Reason", "type": "string", "priority": 1,
                 "jsonPath": '.status.conditions[?(@.type=="Ready")].reason'}
AGE_COLUMN = {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}


def crd(*, kind: str, plural: str, short_names: Iterable[str], description: str,
        spec: Mapping[str, Any], status: Mapping[str, Any],
        columns: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {"kind": kind, "listKind": f"{kind}List", "plural": plural,
                      "singular": kind.lower(), "shortNames": list(short_names), "categories": [CATEGORY]},
            "versions": [{
                "name": VERSION,
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "additionalPrinterColumns": [READY_COLUMN, *columns, REASON_COLUMN, AGE_COLUMN],
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "description": description,
                    "required": ["spec"],
                    "properties": {
                        "apiVersion": {"type": "string"},
                        "kind": {"type": "string"},
                        "metadata": {"type": "object"},
                        "spec": spec,
                        "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True,
                                   "properties": {"conditions": CONDITIONS,
                                                  "observedGeneration": {"type": "integer"}, **status}},
                    },
                }},
            }],
        },
    }


def kind_crd(kind: Kind) -> dict[str, Any]:
    """The CRD of an AWS resource kind: the engine's common fields plus the kind's own."""
    deletion = kind.deletion
    policies = ["Delete", "Retain", *deletion.policies]
    properties: dict[str, Any] = {
        "providerRef": {**NAME_REF, "description": "The AWSProvider (same namespace) to use."},
        "deletionPolicy": {"type": "string", "enum": policies, "default": deletion.default,
                           "description": "Delete: remove the AWS resource with the object. "
                                          "Retain: leave it and remove the ownership tags."
                                          + "".join(f" {p}: see the kind's description." for p in deletion.policies)},
        **({"tags": TAGS} if kind.tagging is not None else {}),
        **copy.deepcopy(dict(kind.spec_properties)),
    }
    if deletion.force_field:
        properties[deletion.force_field] = {"type": "boolean", "default": False,
                                            "description": deletion.force_description}
    for secret in kind.secret_inputs:
        shape = SECRET_KEYS_REF if secret.shape == "json" else SECRET_REF
        properties[secret.field] = {**shape, "description": secret.description}
    if kind.secret_output is not None:
        properties[kind.secret_output.field] = {
            **SECRET_REF, "description": kind.secret_output.description,
            "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "cannot change after creation"}]}
    required = [s.field for s in kind.secret_inputs if s.required]
    spec: dict[str, Any] = {"type": "object", "required": ["providerRef", *kind.spec_required, *required],
                            "properties": properties}
    for rule in kind.spec_validations:
        spec.setdefault("x-kubernetes-validations", []).append(dict(rule))
    for ref in kind.references:
        within = properties.get(ref.within) if ref.within else None
        holder = spec if within is None else within.get("items", within)
        _add_reference(holder, ref)
    identifier = {"name": kind.identifier[0].upper() + kind.identifier[1:], "type": "string",
                  "jsonPath": f".status.{kind.identifier}"}
    extra = [{"name": n, "type": t, "jsonPath": p} for n, p, t in kind.printer_columns]
    # A printer column showing a status field declares that field too.
    shown = {p.removeprefix(".status."): {"type": t} for _, p, t in kind.printer_columns if p.startswith(".status.")}
    return crd(kind=kind.kind, plural=kind.plural, short_names=kind.short_names,
               description=kind.description, spec=spec,
               status={kind.identifier: {"type": "string"}, **{f: {"type": "string"} for f in kind.identity.fields},
                       **shown, **kind.status_properties, "lastChangeTrace": LAST_CHANGE_TRACE},
               columns=[identifier, *extra])


def _add_reference(holder: dict[str, Any], ref: Reference) -> None:
    """The reference and its id alternative as properties of `holder` (the spec or a list
    item), with a CEL rule: exactly one of them when required, at most one otherwise."""
    properties = holder.setdefault("properties", {})
    if ref.many:
        properties[ref.field] = {"type": "array", "items": copy.deepcopy(NAME_REF), "minItems": 1,
                                 "description": f"{ref.kind} objects (same namespace); alternative to {ref.id_field}."}
        properties[ref.id_field] = {"type": "array", "minItems": 1, "items": {"type": "string"},
                                    "description": f"The AWS ids of the {ref.kind}s; alternative to {ref.field}."}
        item = properties[ref.id_field]["items"]
    else:
        properties[ref.field] = {**NAME_REF, "description": f"A {ref.kind} object (same namespace); "
                                                            f"alternative to {ref.id_field}."}
        # A field the kind declares itself (an alias's dnsName, which two references fill) keeps its schema.
        properties.setdefault(ref.id_field, {"type": "string", "description": f"The AWS id of the {ref.kind}; "
                                                                              f"alternative to {ref.field}."})
        item = properties[ref.id_field]
    if ref.id_pattern:
        item["pattern"] = ref.id_pattern
    both = f"has(self.{ref.field}) && has(self.{ref.id_field})"
    holder.setdefault("x-kubernetes-validations", []).append(
        {"rule": f"has(self.{ref.field}) != has(self.{ref.id_field})",
         "message": f"exactly one of {ref.field} and {ref.id_field} is required"} if ref.required else
        {"rule": f"!({both})", "message": f"set {ref.field} or {ref.id_field}, not both"})
