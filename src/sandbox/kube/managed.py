"""Field ownership (``metadata.managedFields``) and server-side apply, as the API server keeps them.

Every write records which fields its field manager set (operation ``Update``); an apply
(``application/apply-patch+yaml``) records the fields of the applied configuration (operation
``Apply``), merges them into the object, removes the fields the manager applied before and no
longer does (unless another manager owns them), and refuses with 409 when it would change a field
another manager owns, unless forced. Lists are owned whole (atomic), maps field by field.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from . import errors
from .patching import clone

Obj = dict[str, Any]
Path = tuple[str, ...]
# The metadata fields that have owners (name, uid, resourceVersion... are the server's or identity).
_OWNED_METADATA = ("labels", "annotations", "finalizers", "ownerReferences")


def field_paths(obj: Obj, status_subresource: bool, subresource: str | None) -> set[Path]:
    """The leaf fields of ``obj`` a write to the object (or to its ``subresource``) sets; with a
    status subresource, writes to the object do not set status."""
    if subresource is not None:
        return set(_leaves(obj[subresource], (subresource,))) if subresource in obj else set()
    paths: set[Path] = set()
    for key, value in obj.items():
        if key == "metadata" and isinstance(value, dict):
            for field in _OWNED_METADATA:
                if field in value:
                    paths.update(_leaves(value[field], ("metadata", field)))
        elif key not in ("apiVersion", "kind", "metadata") and not (key == "status" and status_subresource):
            paths.update(_leaves(value, (key,)))
    return paths


def _leaves(value: Any, prefix: Path) -> Iterator[Path]:
    if isinstance(value, dict) and value:
        for key, sub in value.items():
            yield from _leaves(sub, (*prefix, key))
    else:
        yield prefix


def encode(paths: Iterable[Path]) -> Obj:
    """Paths as ``fieldsV1``: ``{"f:spec": {"f:cidrBlock": {}}}``."""
    tree: Obj = {}
    for path in sorted(paths):
        node = tree
        for key in path:
            node = node.setdefault(f"f:{key}", {})
    return tree


def decode(fields: Any, prefix: Path = ()) -> set[Path]:
    paths: set[Path] = set()
    for key, sub in (fields or {}).items():
        if not key.startswith("f:"):
            continue
        path = (*prefix, key[2:])
        paths.update(decode(sub, path) if sub else {path})
    return paths


def _get(obj: Any, path: Path) -> Any:
    for key in path:
        if not isinstance(obj, dict) or key not in obj:
            return _ABSENT
        obj = obj[key]
    return obj


_ABSENT = object()


def _overlaps(path: Path, owned: set[Path]) -> Iterator[Path]:
    """The owned paths equal to, inside or containing ``path``."""
    for other in owned:
        shorter = min(len(path), len(other))
        if path[:shorter] == other[:shorter]:
            yield other


def _entries(obj: Obj) -> list[Obj]:
    return list(obj.get("metadata", {}).get("managedFields") or [])


def _entry(manager: str, operation: str, api_version: str, subresource: str | None, paths: set[Path],
           previous: Obj | None, now: str) -> Obj:
    """A managedFields entry; its time changes only when its fields do."""
    fields = encode(paths)
    unchanged = previous is not None and previous.get("fieldsV1") == fields
    entry = {"manager": manager, "operation": operation, "apiVersion": api_version,
             "time": previous["time"] if unchanged and previous else now,
             "fieldsType": "FieldsV1", "fieldsV1": fields}
    if subresource:
        entry["subresource"] = subresource
    return entry


def _same_manager(entry: Obj, manager: str, operation: str, subresource: str | None) -> bool:
    return (entry.get("manager") == manager and entry.get("operation") == operation
            and entry.get("subresource") == subresource)


def _with_entry(entries: list[Obj], taken: set[Path], mine: Obj) -> list[Obj]:
    """``entries`` without the fields in ``taken`` (now ``mine``'s), ``mine`` in its place."""
    result, placed = [], False
    for entry in entries:
        if _same_manager(entry, mine["manager"], mine["operation"], mine.get("subresource")):
            if mine["fieldsV1"]:
                result.append(mine)
            placed = True
            continue
        remaining = decode(entry.get("fieldsV1")) - taken
        if remaining:
            result.append({**entry, "fieldsV1": encode(remaining)} if remaining != decode(entry.get("fieldsV1"))
                          else entry)
    if not placed and mine["fieldsV1"]:
        result.append(mine)
    return result


def record_update(status_subresource: bool, old: Obj | None, new: Obj, manager: str, api_version: str,
                  subresource: str | None, now: str) -> None:
    """Set ``new``'s managedFields after a create, replace or patch by ``manager``: it now owns the
    fields it changed; fields removed have no owner any more."""
    before = field_paths(old, status_subresource, subresource) if old is not None else set()
    after = field_paths(new, status_subresource, subresource)
    changed = {path for path in after if old is None or _get(old, path) != _get(new, path)}
    removed = before - after
    entries = _entries(old) if old is not None else []
    previous = next((e for e in entries if _same_manager(e, manager, "Update", subresource)), None)
    owned = (decode(previous.get("fieldsV1")) if previous else set()) - removed
    mine = _entry(manager, "Update", api_version, subresource, (owned & after) | changed, previous, now)
    new.setdefault("metadata", {})["managedFields"] = _with_entry(entries, changed | removed, mine)


def _merge(target: Any, config: Any) -> Any:
    if not isinstance(target, dict) or not isinstance(config, dict):
        return clone(config)
    merged = dict(target)
    for key, value in config.items():
        merged[key] = _merge(target.get(key), value)
    return merged


def _remove(obj: Obj, path: Path) -> None:
    parent = _get(obj, path[:-1])
    if isinstance(parent, dict):
        parent.pop(path[-1], None)


def apply(status_subresource: bool, current: Obj | None, config: Obj, manager: str, force: bool,
          subresource: str | None, now: str) -> Obj:
    """The object after ``manager`` applies ``config`` to ``current`` (None: it does not exist yet),
    with its managedFields; 409 on conflicts with other managers unless ``force``."""
    api_version = config.get("apiVersion", "")
    applied = field_paths(config, status_subresource, subresource)
    base = clone(current) if current is not None else {}
    entries = _entries(base)
    previous = next((e for e in entries if _same_manager(e, manager, "Apply", subresource)), None)
    intended = _merge(base, config)
    # A conflict: a field another manager owns that this apply would change (the same value is shared).
    conflicts = sorted({(_manager_label(entry), other)
                        for entry in entries if entry is not previous
                        for path in applied for other in _overlaps(path, decode(entry.get("fieldsV1")))
                        if _get(base, other) != _get(intended, other)})
    if conflicts and not force:
        raise _conflict(conflicts)
    taken = {path for _, path in conflicts} | applied
    others = set().union(*(decode(e.get("fieldsV1")) for e in entries if e is not previous)) - taken
    for path in (decode(previous.get("fieldsV1")) if previous else set()) - applied:
        if not any(True for _ in _overlaps(path, others)):
            _remove(base, path)
    result = _merge(base, {key: value for key, value in config.items() if key != "metadata"})
    meta = result.setdefault("metadata", {})
    for key, value in (config.get("metadata") or {}).items():
        if key in _OWNED_METADATA:
            meta[key] = _merge(meta.get(key), value)
        elif key in ("name", "namespace", "resourceVersion"):  # identity and precondition: the store checks them
            meta[key] = value
    mine = _entry(manager, "Apply", api_version, subresource, applied, previous, now)
    meta["managedFields"] = _with_entry(entries, taken, mine)
    return result


def _manager_label(entry: Obj) -> str:
    """A manager as conflict messages name it."""
    label = json.dumps(entry.get("manager", ""))
    if entry.get("subresource"):
        label += f" with subresource {json.dumps(entry['subresource'])}"
    if entry.get("operation") == "Update":
        label += f" using {entry.get('apiVersion', '')}"
    return label


def _dotted(path: Path) -> str:
    return "".join(f".{key}" for key in path)


def _conflict(conflicts: list[tuple[str, Path]]) -> errors.ApiError:
    causes = [{"reason": "FieldManagerConflict", "message": f"conflict with {manager}", "field": _dotted(path)}
              for manager, path in conflicts]
    if len(conflicts) == 1:
        manager, path = conflicts[0]
        message = f"Apply failed with 1 conflict: conflict with {manager}: {_dotted(path)}"
    else:
        lines = []
        for manager in sorted({manager for manager, _ in conflicts}):
            lines.append(f"conflicts with {manager}:")
            lines += [f"- {_dotted(path)}" for owner, path in conflicts if owner == manager]
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return errors.ApiError(409, "Conflict", message, {"causes": causes})
