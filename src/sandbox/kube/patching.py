"""The two patch formats the API server accepts for custom objects, and copies of JSON values."""
from __future__ import annotations

from typing import Any

import jsonpatch
import jsonpointer

from ...json_values import clone, merge_patch
from . import errors

__all__ = ["clone", "json_patch", "merge_patch"]


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
