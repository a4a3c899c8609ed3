"""``meta.k8s.io/v1`` Table responses, what ``kubectl get`` asks for: the columns of a CRD version's
``additionalPrinterColumns`` (cells as the API server's CRD table convertor computes them), and
for built-in kinds the columns the API server's printers show."""
from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Iterable
from typing import Any

from . import errors
from .jsonpath import compile_json_path
from .store import Kind, Obj

TABLE_SHAPES = (("Table", "meta.k8s.io", "v1"), ("Table", "meta.k8s.io", "v1beta1"))
# Metadata-only answers (what metadata informers and some kubectl commands ask for).
METADATA_SHAPES = (("PartialObjectMetadata", "meta.k8s.io", "v1"), ("PartialObjectMetadataList", "meta.k8s.io", "v1"))
NAME_DESCRIPTION = ("Name must be unique within a namespace. Is required when creating resources, although some "
                    "resources may allow a client to request the generation of an appropriate name automatically. "
                    "Name is primarily intended for creation idempotence and configuration definition. Cannot be "
                    "updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names")
CREATED_DESCRIPTION = ("CreationTimestamp is a timestamp representing the server time when this object was created. "
                       "It is not guaranteed to be set in happens-before order across separate operations. Clients "
                       "may not set this value. It is represented in RFC3339 form and is in UTC.")
NAME_COLUMN = {"name": "Name", "type": "string", "format": "name", "description": NAME_DESCRIPTION, "priority": 0}


# --- cells -----------------------------------------------------------------------------------------

def human_duration(seconds: float) -> str:
    """The API server's ``duration.HumanDuration``: 45s, 3m20s, 15m, 5h30m, 2d4h, 40d, 2y30d."""
    seconds = int(seconds)
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        return f"{minutes}m" if seconds % 60 == 0 else f"{minutes}m{seconds % 60}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = seconds // 3600
    if hours < 8:
        return f"{hours}h" if minutes % 60 == 0 else f"{hours}h{minutes % 60}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d" if hours % 24 == 0 else f"{hours // 24}d{hours % 24}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = hours // 24 % 365
        return f"{hours // 24 // 365}y" if days == 0 else f"{hours // 24 // 365}y{days}d"
    return f"{hours // 24 // 365}y"


def age(timestamp: Any, now: datetime.datetime) -> str:
    """How long ago an RFC 3339 timestamp was, as the API server shows dates."""
    if not isinstance(timestamp, str) or not timestamp:
        return "<unknown>"
    try:
        then = datetime.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return "<invalid>"
    return human_duration((now - then).total_seconds())


def _printed(value: Any) -> str:
    """A value as kubectl's JSONPath printer writes it."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _typed_cell(column_type: str, value: Any, now: datetime.datetime) -> Any:
    """The API server's ``cellForJSONValue``: a value of the column's type, else null."""
    match column_type:
        case "string":
            return _printed(value)
        case "integer" if isinstance(value, (int, float)) and not isinstance(value, bool):
            return int(value)
        case "number" if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        case "boolean" if isinstance(value, bool):
            return value
        case "date" if isinstance(value, str):
            return age(value, now)
    return None


# --- columns of each kind ----------------------------------------------------------------------------

Column = tuple[Obj, Callable[[Obj, datetime.datetime], Any]]


def _column(name: str, cell: Callable[[Obj, datetime.datetime], Any], description: str = "", priority: int = 0,
            column_type: str = "string", column_format: str = "") -> Column:
    return ({"name": name, "type": column_type, "format": column_format, "description": description,
             "priority": priority}, cell)


def _name_column() -> Column:
    return (NAME_COLUMN, lambda obj, _: obj["metadata"].get("name", ""))


def _age_column() -> Column:
    return _column("Age", lambda obj, now: age(obj["metadata"].get("creationTimestamp"), now), CREATED_DESCRIPTION)


def _custom_columns(definitions: Iterable[Obj]) -> list[Column]:
    columns = [_name_column()]
    for definition in definitions:
        find = compile_json_path(definition["jsonPath"])
        column_type = definition.get("type", "string")

        def cell(obj: Obj, now: datetime.datetime, find: Callable[[Any], list[Any]] = find,
                 column_type: str = column_type) -> Any:
            found = find(obj)
            return _typed_cell(column_type, found[0], now) if found and found[0] is not None else None
        columns.append(_column(definition["name"], cell, definition.get("description", ""),
                               definition.get("priority", 0), column_type, definition.get("format", "")))
    return columns


def _event_object(event: Obj) -> str:
    involved = event.get("involvedObject") or {}
    return f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}"


def _event_seen(event: Obj, field: str, now: datetime.datetime) -> str:
    return age(event.get(field) or event.get("eventTime") or event["metadata"].get("creationTimestamp"), now)


def _event_source(event: Obj) -> str:
    source = event.get("source") or {}
    component = source.get("component") or event.get("reportingComponent") or ""
    return f"{component}, {source['host']}" if source.get("host") else component


_BUILTIN_COLUMNS: dict[tuple[str, str], list[Column]] = {
    ("", "namespaces"): [_name_column(),
                         _column("Status", lambda obj, _: (obj.get("status") or {}).get("phase", ""),
                                 "The status of the namespace"), _age_column()],
    ("", "events"): [
        _column("Last Seen", lambda obj, now: _event_seen(obj, "lastTimestamp", now),
                "The time at which the most recent occurrence of this event was recorded."),
        _column("Type", lambda obj, _: obj.get("type", ""), "Type of this event (Normal, Warning)."),
        _column("Reason", lambda obj, _: obj.get("reason", ""),
                "This should be a short, machine understandable string that gives the reason for the transition "
                "into the object's current status."),
        _column("Object", lambda obj, _: _event_object(obj), "The object that this event is about."),
        _column("Subobject", lambda obj, _: (obj.get("involvedObject") or {}).get("fieldPath", ""),
                "The field of the object that this event is about.", 1),
        _column("Source", lambda obj, _: _event_source(obj), "The component reporting this event.", 1),
        _column("Message", lambda obj, _: obj.get("message", ""),
                "A human-readable description of the status of this operation."),
        _column("First Seen", lambda obj, now: _event_seen(obj, "firstTimestamp", now),
                "The time at which the event was first recorded.", 1),
        _column("Count", lambda obj, _: obj.get("count", 1), "The number of times this event has occurred.", 1,
                "integer"),
        _column("Name", lambda obj, _: obj["metadata"].get("name", ""), NAME_DESCRIPTION, 1, "string", "name"),
    ],
    ("", "secrets"): [_name_column(), _column("Type", lambda obj, _: obj.get("type", ""), "The type of secret"),
                      _column("Data", lambda obj, _: len(obj.get("data") or {}), "Number of items in the secret",
                              column_type="integer"), _age_column()],
    ("", "configmaps"): [_name_column(),
                         _column("Data", lambda obj, _: len(obj.get("data") or {}) + len(obj.get("binaryData") or {}),
                                 "Number of data in the configmap", column_type="integer"), _age_column()],
    ("coordination.k8s.io", "leases"): [
        _name_column(),
        _column("Holder", lambda obj, _: (obj.get("spec") or {}).get("holderIdentity", ""),
                "HolderIdentity contains the identity of the holder of a current lease."), _age_column()],
}


def _default_columns() -> list[Column]:
    """The API server's default table convertor (CRDs themselves, kinds without a printer)."""
    return [_name_column(), _column("Created At", lambda obj, _: obj["metadata"].get("creationTimestamp"),
                                    CREATED_DESCRIPTION, column_type="date")]


def columns(kind: Kind, version: str) -> list[Column]:
    if kind.custom:
        return _custom_columns(kind.printer_columns.get(version) or [
            {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp", "description": CREATED_DESCRIPTION}])
    return _BUILTIN_COLUMNS.get(kind.key) or _default_columns()


def partial_metadata(obj: Obj) -> Obj:
    """An object as a ``PartialObjectMetadata``: its metadata only."""
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}


def table(kind: Kind, version: str, objects: Iterable[Obj], include_object: str | None,
          resource_version: str, now: datetime.datetime | None = None) -> Obj:
    """The Table of ``objects``; each row carries the object as ``includeObject`` says (default:
    its metadata, as a PartialObjectMetadata)."""
    include = include_object or "Metadata"
    if include not in ("None", "Metadata", "Object"):
        raise errors.bad_request(f'includeObject: Unsupported value: "{include}": supported values: '
                                 '"None", "Metadata", "Object"')
    now = now or datetime.datetime.now(tz=datetime.UTC)
    shown = columns(kind, version)
    rows = []
    for obj in objects:
        row: Obj = {"cells": [cell(obj, now) for _, cell in shown]}
        if include == "Object":
            row["object"] = obj
        elif include == "Metadata":
            row["object"] = partial_metadata(obj)
        rows.append(row)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": resource_version},
            "columnDefinitions": [definition for definition, _ in shown], "rows": rows}
