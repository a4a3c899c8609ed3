"""The two patch formats the API server accepts for custom objects, and copies of JSON values."""
from __future__ import annotations

from typing import Any

import jsonpatch
import jsonpointer

from . import errors


def clone(value: Any) -> Any:
    """A deep copy of a JSON value (dicts, lists, scalars): what copy.deepcopy does for them, in a
    fraction of its time (the store copies every object it hands out or logs)."""
    if isinstance(value, dict):
        return {key: clone(item) for key, item in value.items()}
    if isinstance(value, list):
        return [clone(item) for item in value]
    return value


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: objects merge recursively, ``null`` removes, anything else replaces."""
    if not isinstance(patch, dict):
        return clone(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def json_patch(target: dict[str, Any], operations: Any) -> dict[str, Any]:
    """RFC 6902 JSON patch; a failed ``test`` (kopf's optimistic lock on resourceVersion) or an
    unappliable operation is a 422, as from the API server."""
    if not isinstance(operations, list):
        raise errors.bad_request("a JSON patch must be a list of operations")
    try:
        return jsonpatch.apply_patch(target, operations)
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as error:
        raise errors.ApiError(422, "Invalid", f"the server rejected our request due to an error in our request: "
                                              f"{error}") from error
