"""The API server's object semantics, without HTTP: what the emulator stores and how writes behave.

Synchronous on purpose: every write is one uninterrupted step (no ``await`` inside), so a watcher
that reads the event log position and the objects in one step can never miss or repeat a write.
"""
from __future__ import annotations

import base64
import bisect
import contextlib
import dataclasses
import datetime
import random
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import jsonschema.exceptions

from . import errors, managed
from .jsonpath import compile_json_path
from .patching import clone
from .schema import FieldError, StructuralSchema
from .selectors import Predicate

Obj = dict[str, Any]
KindKey = tuple[str, str]  # (group, plural)

_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# The alphabet the API server draws generateName suffixes from (no vowels, no look-alikes).
_NAME_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
# Fields of metadata that only the server sets; writes from clients cannot change them.
_SERVER_MANAGED = ("uid", "creationTimestamp", "generation", "deletionTimestamp", "deletionGracePeriodSeconds")


def now_rfc3339() -> str:
    return datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# In the API server's order (a CRD's resource lists them so).
ALL_VERBS = ("delete", "deletecollection", "get", "list", "patch", "create", "update", "watch")


@dataclasses.dataclass
class Kind:
    """A served resource: its names, scope, served versions (with schemas) and subresources."""

    group: str
    plural: str
    kind: str
    namespaced: bool
    versions: dict[str, StructuralSchema | None]
    singular: str = ""
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    status_subresource: bool = False
    custom: bool = False  # custom objects carry metadata.generation and follow their CRD's schema
    verbs: tuple[str, ...] = ALL_VERBS
    # A CRD version's additionalPrinterColumns, by version (what Table responses show).
    printer_columns: dict[str, tuple[Obj, ...]] = dataclasses.field(default_factory=dict)

    @property
    def key(self) -> KindKey:
        return (self.group, self.plural)

    def api_version(self, version: str) -> str:
        return f"{self.group}/{version}" if self.group else version

    @property
    def subresources(self) -> dict[str, tuple[str, ...]]:
        """Subresource name → its verbs."""
        return {"status": ("get", "patch", "update")} if self.status_subresource else {}


BUILTIN_KINDS = (
    Kind("", "namespaces", "Namespace", False, {"v1": None}, "namespace", ("ns",), status_subresource=True,
         verbs=("create", "delete", "get", "list", "patch", "update", "watch")),
    Kind("", "events", "Event", True, {"v1": None}, "event", ("ev",)),
    Kind("", "secrets", "Secret", True, {"v1": None}, "secret"),
    Kind("", "configmaps", "ConfigMap", True, {"v1": None}, "configmap", ("cm",)),
    Kind("apiextensions.k8s.io", "customresourcedefinitions", "CustomResourceDefinition", False, {"v1": None},
         "customresourcedefinition", ("crd", "crds"), ("api-extensions",), status_subresource=True),
    # Leader election (an operator with replicas > 1) holds a Lease.
    Kind("coordination.k8s.io", "leases", "Lease", True, {"v1": None}, "lease"),
)
CRD_KEY: KindKey = ("apiextensions.k8s.io", "customresourcedefinitions")
NAMESPACE_KEY: KindKey = ("", "namespaces")
INITIAL_NAMESPACES = ("default", "kube-system", "kube-public")


@dataclasses.dataclass(frozen=True)
class WatchEvent:
    resource_version: int
    kind: KindKey
    namespace: str | None
    type: str  # ADDED, MODIFIED, DELETED
    object: Obj


def kind_from_crd(crd: Obj) -> Kind:
    """The served kind a CustomResourceDefinition declares; 422 when the definition is unusable."""
    name = crd.get("metadata", {}).get("name", "")
    problems: list[FieldError] = []
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group, plural, kind_name = spec.get("group", ""), names.get("plural", ""), names.get("kind", "")
    for field, value in (("spec.group", group), ("spec.names.plural", plural), ("spec.names.kind", kind_name)):
        if not value:
            problems.append(FieldError(field, "FieldValueRequired", "Required value"))
    if group and plural and name != f"{plural}.{group}":
        problems.append(FieldError("metadata.name", "FieldValueInvalid",
                                   f'Invalid value: "{name}": must be spec.names.plural+"."+spec.group'))
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        problems.append(FieldError("spec.scope", "FieldValueNotSupported",
                                   f'Unsupported value: "{spec.get("scope")}": supported values: "Cluster", "Namespaced"'))
    versions = spec.get("versions") or []
    if sum(1 for v in versions if v.get("storage")) != 1:
        problems.append(FieldError("spec.versions", "FieldValueInvalid",
                                   "Invalid value: must have exactly one version marked as storage version"))
    schemas: dict[str, StructuralSchema | None] = {}
    for index, version in enumerate(versions):
        for column_index, column in enumerate(version.get("additionalPrinterColumns") or ()):
            try:
                compile_json_path(column.get("jsonPath", ""))
            except ValueError as error:
                problems.append(FieldError(f"spec.versions[{index}].additionalPrinterColumns[{column_index}].jsonPath",
                                           "FieldValueInvalid", f"Invalid value: {error}"))
        openapi = (version.get("schema") or {}).get("openAPIV3Schema")
        if openapi is None:
            problems.append(FieldError(f"spec.versions[{index}].schema.openAPIV3Schema", "FieldValueRequired",
                                       "Required value: schemas are required"))
            continue
        try:
            schema = StructuralSchema(openapi)
        except jsonschema.exceptions.SchemaError as error:
            problems.append(FieldError(f"spec.versions[{index}].schema.openAPIV3Schema", "FieldValueInvalid",
                                       f"Invalid value: {error.message}"))
            continue
        if version.get("served", True):
            schemas[version["name"]] = schema
    if problems:
        raise errors.invalid("CustomResourceDefinition", "apiextensions.k8s.io", name, problems)
    storage = next(v for v in versions if v.get("storage"))
    return Kind(group, plural, kind_name, spec["scope"] == "Namespaced", schemas,
                singular=names.get("singular", kind_name.lower()), short_names=tuple(names.get("shortNames", ())),
                categories=tuple(names.get("categories", ())),
                status_subresource="status" in (storage.get("subresources") or {}), custom=True,
                printer_columns={v["name"]: tuple(v.get("additionalPrinterColumns") or ())
                                 for v in versions if v["name"] in schemas})


def _content(obj: Obj, without_status: bool) -> Obj:
    """The part of an object whose change bumps ``metadata.generation``."""
    return {k: v for k, v in obj.items() if k != "metadata" and not (without_status and k == "status")}


class Store:
    """Objects of every served kind, one global resourceVersion counter (as etcd's), and the log of
    watch events ordered by resourceVersion."""

    def __init__(self, max_events: int = 100_000) -> None:
        self.kinds: dict[KindKey, Kind] = {kind.key: kind for kind in BUILTIN_KINDS}
        self._objects: dict[KindKey, dict[tuple[str | None, str], Obj]] = {key: {} for key in self.kinds}
        self._resource_version = 0
        self.events: list[WatchEvent] = []
        self._event_versions: list[int] = []
        self._max_events = max_events
        self.listeners: list[Callable[[], None]] = []  # called after every write
        self._dry_run = False
        for name in INITIAL_NAMESPACES:
            self.create(self.kinds[NAMESPACE_KEY], "v1", None,
                        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})

    @contextlib.contextmanager
    def dry_run(self) -> Iterator[None]:
        """Writes made inside are checked and answered but leave nothing behind (``?dryRun=All``):
        no object, no resourceVersion, no watch event."""
        saved = (clone(self._objects), dict(self.kinds), self._resource_version, list(self.events),
                 list(self._event_versions))
        listeners, self.listeners = self.listeners, []
        self._dry_run = True
        try:
            yield
        finally:
            self._objects, self.kinds, self._resource_version, self.events, self._event_versions = saved
            self.listeners, self._dry_run = listeners, False

    # --- reading -------------------------------------------------------------------------------

    @property
    def resource_version(self) -> str:
        return str(self._resource_version)

    def kind(self, group: str, version: str, plural: str) -> Kind:
        kind = self.kinds.get((group, plural))
        if kind is None or version not in kind.versions:
            raise errors.ApiError(404, "NotFound", "the server could not find the requested resource")
        return kind

    def get(self, kind: Kind, version: str, namespace: str | None, name: str) -> Obj:
        return self._view(kind, version, self._existing(kind, namespace, name))

    def list(self, kind: Kind, version: str, namespace: str | None, *selectors: Predicate) -> list[Obj]:
        return [self._view(kind, version, obj) for (ns, _), obj in sorted(self._objects[kind.key].items())
                if (namespace is None or ns == namespace) and all(select(obj) for select in selectors)]

    def events_since(self, resource_version: int) -> tuple[int, bool]:
        """Index of the first logged event after ``resource_version``; False when the log no longer
        reaches back that far (the API server's 410 Gone)."""
        first_kept = self._event_versions[0] if self._event_versions else self._resource_version + 1
        return bisect.bisect_right(self._event_versions, resource_version), resource_version >= first_kept - 1

    def compact(self) -> None:
        """Forget the logged events (as etcd's compaction does): a watch resuming from an earlier
        resourceVersion is answered 410 Gone and its client must list again."""
        self.events.clear()
        self._event_versions.clear()

    def _view(self, kind: Kind, version: str, obj: Obj) -> Obj:
        """A copy for a client of ``version``, with apiVersion, kind and metadata first, as served."""
        rest = clone(obj)
        rest.pop("apiVersion", None)
        return {"apiVersion": kind.api_version(version), "kind": rest.pop("kind", kind.kind),
                "metadata": rest.pop("metadata", {}), **rest}

    def _existing(self, kind: Kind, namespace: str | None, name: str) -> Obj:
        obj = self._objects[kind.key].get((namespace if kind.namespaced else None, name))
        if obj is None:
            raise errors.not_found(kind.plural, kind.group, name)
        return obj

    # --- writing -------------------------------------------------------------------------------

    def create(self, kind: Kind, version: str, namespace: str | None, body: Obj, manager: str = "") -> Obj:
        """Create an object; ``manager`` (the writer's field manager) then owns its fields. Without
        one, the body's managedFields are kept (a server-side apply computed them)."""
        obj = clone(body)
        self._check_type(kind, version, obj)
        meta = obj.setdefault("metadata", {})
        if kind.namespaced:
            if meta.get("namespace") not in (None, namespace):
                raise errors.bad_request("the namespace of the provided object does not match the namespace "
                                         "sent on the request")
            meta["namespace"] = namespace
            self._check_namespace_open(namespace, kind, meta)
        else:
            meta.pop("namespace", None)
        if not meta.get("name"):
            if not meta.get("generateName"):
                raise errors.invalid(kind.kind, kind.group, "", [FieldError(
                    "metadata.name", "FieldValueRequired", "Required value: name or generateName is required")])
            meta["name"] = self._generate_name(kind, namespace, meta["generateName"])
        self._check_name(kind, meta["name"])
        key = (meta.get("namespace"), meta["name"])
        if key in self._objects[kind.key]:
            raise errors.already_exists(kind.plural, kind.group, meta["name"])
        for field in (*_SERVER_MANAGED, "resourceVersion"):
            meta.pop(field, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now_rfc3339()
        if kind.custom or kind.key == CRD_KEY:
            meta["generation"] = 1
        if kind.custom and kind.status_subresource:
            obj.pop("status", None)
        self._prepare(kind, version, obj, None)
        if manager:
            managed.record_update(kind.status_subresource, None, obj, manager, obj["apiVersion"], None,
                                  meta["creationTimestamp"])
        return self._store(kind, key, obj, "ADDED")

    def replace(self, kind: Kind, version: str, namespace: str | None, name: str, body: Obj,
                subresource: str | None, manager: str = "") -> Obj:
        body = clone(body)
        self._check_type(kind, version, body)
        given = (body.get("metadata") or {}).get("name")
        if given != name:
            raise errors.bad_request(f"the name of the object ({given}) does not match the name on the URL ({name})")
        return self.update(kind, version, namespace, name, lambda _: body, subresource, manager)

    def update(self, kind: Kind, version: str, namespace: str | None, name: str,
               change: Callable[[Obj], Obj], subresource: str | None, manager: str = "",
               applied: bool = False) -> Obj:
        """Apply ``change`` (a replacement or a patch) to the object or to its status subresource;
        ``manager`` then owns the fields it changed. ``applied``: ``change`` is a server-side apply,
        which computed the managedFields itself."""
        old = self._existing(kind, namespace, name)
        candidate = change(self._view(kind, version, old))
        applied_fields = (candidate.get("metadata") or {}).get("managedFields", []) if applied else None
        expected_version = (candidate.get("metadata") or {}).get("resourceVersion")
        if expected_version not in (None, "", old["metadata"]["resourceVersion"]):
            raise errors.conflict(kind.plural, kind.group, name)
        if subresource == "status" and kind.status_subresource:
            new = clone(old)
            new.pop("status", None)
            if "status" in candidate:
                new["status"] = candidate["status"]
        elif subresource is None:
            new = candidate
            new["apiVersion"], new["kind"] = old["apiVersion"], old["kind"]
            meta = new.setdefault("metadata", {})
            if not isinstance(meta, dict):
                raise errors.bad_request("metadata must be an object")
            for field in ("name", "namespace", "resourceVersion", "managedFields", *_SERVER_MANAGED):
                meta.pop(field, None)
                if field in old["metadata"]:
                    meta[field] = old["metadata"][field]
            if kind.status_subresource:
                new.pop("status", None)
                if "status" in old:
                    new["status"] = clone(old["status"])
        else:
            raise errors.ApiError(404, "NotFound", "the server could not find the requested resource")
        self._check_finalizers(kind, old, new)
        self._prepare(kind, version, new, old)
        if applied_fields is not None:
            new["metadata"]["managedFields"] = applied_fields
        elif manager:
            managed.record_update(kind.status_subresource, old, new, manager, kind.api_version(version),
                                  subresource, now_rfc3339())
        if new == old:
            return self._view(kind, version, old)  # a no-op write changes nothing, not even the version
        if "generation" in old["metadata"] and (
                _content(new, kind.status_subresource) != _content(old, kind.status_subresource)):
            new["metadata"]["generation"] = old["metadata"]["generation"] + 1
        key = (old["metadata"].get("namespace"), name)
        stored = self._store(kind, key, new, "MODIFIED")
        if new["metadata"].get("deletionTimestamp") and not new["metadata"].get("finalizers"):
            return self._remove(kind, key)
        return stored

    def apply(self, kind: Kind, version: str, namespace: str | None, name: str, config: Obj, manager: str,
              force: bool, subresource: str | None) -> tuple[Obj, bool]:
        """Server-side apply of ``config`` by ``manager``: creates the object when it does not exist.
        Returns the object and whether it was created."""
        self._check_type(kind, version, config)
        given = (config.get("metadata") or {}).get("name")
        if given != name:
            raise errors.bad_request(f"the name of the object ({given}) does not match the name on the URL ({name})")
        key = (namespace if kind.namespaced else None, name)
        if key not in self._objects[kind.key]:
            if subresource is not None:
                raise errors.not_found(kind.plural, kind.group, name)
            created = managed.apply(kind.status_subresource, None, config, manager, force, None, now_rfc3339())
            return self.create(kind, version, namespace, created), True
        return self.update(kind, version, namespace, name, lambda current: managed.apply(
            kind.status_subresource, current, config, manager, force, subresource, now_rfc3339()),
            subresource, applied=True), False

    def delete(self, kind: Kind, version: str, namespace: str | None, name: str) -> Obj:
        obj = self._existing(kind, namespace, name)
        key = (obj["metadata"].get("namespace"), name)
        if kind.key == NAMESPACE_KEY:
            return self._delete_namespace(name)
        if kind.key == CRD_KEY:
            self._drop_kind(obj)
        if not obj["metadata"].get("finalizers"):
            return self._view(kind, version, self._remove(kind, key))
        if obj["metadata"].get("deletionTimestamp"):
            return self._view(kind, version, obj)
        marked = clone(obj)
        marked["metadata"]["deletionTimestamp"] = now_rfc3339()
        marked["metadata"]["deletionGracePeriodSeconds"] = 0
        if "generation" in marked["metadata"]:
            marked["metadata"]["generation"] += 1
        return self._view(kind, version, self._store(kind, key, marked, "MODIFIED"))

    def _delete_namespace(self, name: str) -> Obj:
        namespaces = self.kinds[NAMESPACE_KEY]
        namespace = clone(self._existing(namespaces, None, name))
        if not namespace["metadata"].get("deletionTimestamp"):
            namespace["metadata"]["deletionTimestamp"] = now_rfc3339()
            namespace["status"] = {"phase": "Terminating"}
            self._store(namespaces, (None, name), namespace, "MODIFIED")
        for kind in [k for k in self.kinds.values() if k.namespaced]:
            for obj_namespace, obj_name in [key for key in self._objects[kind.key] if key[0] == name]:
                self.delete(kind, next(iter(kind.versions)), obj_namespace, obj_name)
        self._finish_namespace(name)
        return clone(namespace)

    def _finish_namespace(self, name: str | None) -> None:
        """Remove a terminating namespace once nothing is left in it."""
        namespace = self._objects[NAMESPACE_KEY].get((None, name)) if name else None
        if namespace is None or not namespace["metadata"].get("deletionTimestamp"):
            return
        if not any(key[0] == name for kind in self.kinds.values() if kind.namespaced
                   for key in self._objects[kind.key]):
            self._remove(self.kinds[NAMESPACE_KEY], (None, name))

    def _drop_kind(self, crd: Obj) -> None:
        """Deleting a CRD deletes its objects with it (without waiting for their finalizers)."""
        kind = self.kinds.get((crd["spec"]["group"], crd["spec"]["names"]["plural"]))
        if kind is None or not kind.custom:
            return
        for key in list(self._objects[kind.key]):
            self._remove(kind, key)
        del self.kinds[kind.key], self._objects[kind.key]

    def _store(self, kind: Kind, key: tuple[str | None, str], obj: Obj, event_type: str) -> Obj:
        self._resource_version += 1
        obj["metadata"]["resourceVersion"] = str(self._resource_version)
        if self._dry_run:  # nothing is persisted: the version stays the stored one (none for a new object)
            stored = self._objects[kind.key].get(key)
            obj["metadata"].pop("resourceVersion")
            if stored is not None:
                obj["metadata"]["resourceVersion"] = stored["metadata"]["resourceVersion"]
        self._objects[kind.key][key] = obj
        self._log(kind, key[0], event_type, obj)
        return clone(obj)

    def _remove(self, kind: Kind, key: tuple[str | None, str]) -> Obj:
        obj = self._objects[kind.key].pop(key)
        self._resource_version += 1
        obj["metadata"]["resourceVersion"] = str(self._resource_version)
        self._log(kind, key[0], "DELETED", obj)
        if kind.namespaced:
            self._finish_namespace(key[0])
        return clone(obj)

    def _log(self, kind: Kind, namespace: str | None, event_type: str, obj: Obj) -> None:
        self.events.append(WatchEvent(self._resource_version, kind.key, namespace, event_type, clone(obj)))
        self._event_versions.append(self._resource_version)
        if len(self.events) > self._max_events:
            del self.events[0], self._event_versions[0]
        for listener in self.listeners:
            listener()

    # --- checks and per-kind preparation -------------------------------------------------------

    def _check_type(self, kind: Kind, version: str, obj: Any) -> None:
        if not isinstance(obj, dict):
            raise errors.bad_request("the body of the request must be a JSON object")
        # Like the API server, take a missing apiVersion or kind from the URL (kopf's events omit them).
        obj.setdefault("apiVersion", kind.api_version(version))
        obj.setdefault("kind", kind.kind)
        if obj["kind"] != kind.kind or obj["apiVersion"] != kind.api_version(version):
            raise errors.bad_request(
                f"the API version in the data ({obj.get('apiVersion')}) and kind ({obj.get('kind')}) do not match "
                f"the request ({kind.api_version(version)}, {kind.kind})")

    def _check_namespace_open(self, namespace: str | None, kind: Kind, meta: Obj) -> None:
        found = self._objects[NAMESPACE_KEY].get((None, namespace or ""))
        if found is None:
            raise errors.not_found("namespaces", "", namespace or "")
        if found["metadata"].get("deletionTimestamp"):
            raise errors.forbidden(f'{kind.plural} "{meta.get("name") or meta.get("generateName")}" is forbidden: '
                                   f"unable to create new content in namespace {namespace} because it is being "
                                   "terminated")

    def _check_name(self, kind: Kind, name: str) -> None:
        pattern, limit = (_DNS_LABEL, 63) if kind.key == NAMESPACE_KEY else (_DNS_SUBDOMAIN, 253)
        if len(name) > limit or not pattern.match(name):
            raise errors.invalid(kind.kind, kind.group, name, [FieldError(
                "metadata.name", "FieldValueInvalid",
                f'Invalid value: "{name}": a lowercase RFC 1123 {"label" if limit == 63 else "subdomain"} must '
                "consist of lower case alphanumeric characters, '-' or '.', and must start and end with an "
                "alphanumeric character")])

    def _check_finalizers(self, kind: Kind, old: Obj, new: Obj) -> None:
        if old["metadata"].get("deletionTimestamp"):
            added = set(new["metadata"].get("finalizers") or ()) - set(old["metadata"].get("finalizers") or ())
            if added:
                raise errors.invalid(kind.kind, kind.group, old["metadata"]["name"], [FieldError(
                    "metadata.finalizers", "FieldValueForbidden",
                    f"Forbidden: no new finalizers can be added if the object is being deleted, "
                    f"found new finalizers {sorted(added)!r}")])

    def _generate_name(self, kind: Kind, namespace: str | None, prefix: str) -> str:
        while True:
            name = prefix + "".join(random.choices(_NAME_SUFFIX_ALPHABET, k=5))
            if (namespace if kind.namespaced else None, name) not in self._objects[kind.key]:
                return name

    def _prepare(self, kind: Kind, version: str, obj: Obj, old: Obj | None) -> None:
        """Per-kind defaulting and validation before a write is stored."""
        schema = kind.versions.get(version)
        if schema is not None:
            schema.prune(obj)
            schema.default(obj)
            problems = schema.validate(obj)
            if problems:
                raise errors.invalid(kind.kind, kind.group, obj["metadata"]["name"], problems)
        if kind.key == ("", "secrets"):
            _fold_string_data(obj)
        elif kind.key == NAMESPACE_KEY and old is None:
            obj["status"] = {"phase": "Active"}
        elif kind.key == CRD_KEY:
            self._register(obj, old)

    def _register(self, crd: Obj, old: Obj | None) -> None:
        kind = kind_from_crd(crd)
        if old is None and kind.key in self.kinds:
            raise errors.already_exists("customresourcedefinitions", "apiextensions.k8s.io", crd["metadata"]["name"])
        self.kinds[kind.key] = kind
        self._objects.setdefault(kind.key, {})
        if old is not None and "status" in old:
            crd["status"] = clone(old["status"]) | {"acceptedNames": crd["spec"]["names"]}
            return
        crd["status"] = {
            "acceptedNames": crd["spec"]["names"],
            "storedVersions": [v["name"] for v in crd["spec"]["versions"] if v.get("storage")],
            "conditions": [
                {"type": condition, "status": "True", "reason": reason, "lastTransitionTime": now_rfc3339(),
                 "message": message}
                for condition, reason, message in (("NamesAccepted", "NoConflicts", "no conflicts found"),
                                                   ("Established", "InitialNamesAccepted",
                                                    "the initial names have been accepted"))],
        }


def _fold_string_data(secret: Obj) -> None:
    """The API server stores a Secret's ``stringData`` base64-encoded in ``data``."""
    string_data = secret.pop("stringData", None) or {}
    if string_data:
        data = secret.setdefault("data", {})
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()
    secret.setdefault("type", "Opaque")


def served_resources(kinds: Iterable[Kind]) -> Iterable[tuple[Kind, str]]:
    """Every (kind, version) pair the server answers for."""
    for kind in kinds:
        for version in kind.versions:
            yield kind, version
