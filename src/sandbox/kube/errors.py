"""API errors as the Kubernetes API server reports them: a ``Status`` object with an HTTP code."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .schema import FieldError


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code} {reason}: {message}")
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> dict[str, Any]:
        status: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                  "message": self.message, "reason": self.reason, "code": self.code}
        if self.details:
            status["details"] = self.details
        return status


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def not_found(plural: str, group: str, name: str) -> ApiError:
    resource = f"{plural}.{group}" if group else plural
    return ApiError(404, "NotFound", f'{resource} "{name}" not found',
                    {"name": name, "group": group, "kind": plural})


def already_exists(plural: str, group: str, name: str) -> ApiError:
    resource = f"{plural}.{group}" if group else plural
    return ApiError(409, "AlreadyExists", f'{resource} "{name}" already exists',
                    {"name": name, "group": group, "kind": plural})


def conflict(plural: str, group: str, name: str) -> ApiError:
    resource = f"{plural}.{group}" if group else plural
    return ApiError(409, "Conflict",
                    f'Operation cannot be fulfilled on {resource} "{name}": the object has been modified; '
                    "please apply your changes to the latest version and try again",
                    {"name": name, "group": group, "kind": plural})


def forbidden(message: str) -> ApiError:
    return ApiError(403, "Forbidden", message)


def unsupported_media_type(content_type: str) -> ApiError:
    return ApiError(415, "UnsupportedMediaType", f"the body of the request was in an unknown format - "
                                                 f"accepted media types include: application/json-patch+json, "
                                                 f"application/merge-patch+json, application/apply-patch+yaml "
                                                 f"(got {content_type})")


def invalid(kind: str, group: str, name: str, errors: Sequence[FieldError]) -> ApiError:
    """422 Invalid with one cause per field error, worded like the API server."""
    qualified = f"{kind}.{group}" if group else kind
    listed = errors[0].message if len(errors) == 1 else "[" + ", ".join(e.message for e in errors) + "]"
    causes = [{"reason": e.reason, "message": e.detail, "field": e.field} for e in errors]
    return ApiError(422, "Invalid", f'{qualified} "{name}" is invalid: {listed}',
                    {"name": name, "group": group, "kind": kind, "causes": causes})
