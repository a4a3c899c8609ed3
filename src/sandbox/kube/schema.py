"""What the Kubernetes API server does with a custom object and its CRD's ``openAPIV3Schema``:
prune unknown fields, apply defaults, then validate, answering with field paths and messages in
the API server's own wording."""
from __future__ import annotations

import base64
import copy
import dataclasses
import datetime
import ipaddress
import json
import uuid
from collections.abc import Iterator
from typing import Any

import jsonschema
import jsonschema.exceptions

# The keys the API server always keeps at an object's root, whatever the schema says.
ROOT_FIELDS = ("apiVersion", "kind", "metadata")


@dataclasses.dataclass(frozen=True)
class FieldError:
    """One validation failure, as a ``Status`` cause: ``{reason, message, field}``."""

    field: str
    reason: str  # FieldValueRequired, FieldValueInvalid, FieldValueNotSupported, ...
    detail: str

    @property
    def message(self) -> str:
        return f"{self.field}: {self.detail}"


def _format_checker() -> jsonschema.FormatChecker:
    checker = jsonschema.FormatChecker(formats=())

    def check(name: str, raises: type[Exception] | tuple[type[Exception], ...] = ValueError):
        return checker.checks(name, raises=raises)

    @check("cidr")
    def _cidr(value: object) -> bool:
        return not isinstance(value, str) or bool(ipaddress.ip_network(value, strict=False))

    @check("ipv4")
    def _ipv4(value: object) -> bool:
        return not isinstance(value, str) or bool(ipaddress.IPv4Address(value))

    @check("ipv6")
    def _ipv6(value: object) -> bool:
        return not isinstance(value, str) or bool(ipaddress.IPv6Address(value))

    @check("uuid")
    def _uuid(value: object) -> bool:
        return not isinstance(value, str) or bool(uuid.UUID(value))

    @check("byte", raises=(ValueError, TypeError))
    def _byte(value: object) -> bool:
        return not isinstance(value, str) or base64.b64decode(value, validate=True) is not None

    @check("date-time")
    def _date_time(value: object) -> bool:
        return not isinstance(value, str) or bool(datetime.datetime.fromisoformat(value.replace("Z", "+00:00")))

    @check("date")
    def _date(value: object) -> bool:
        return not isinstance(value, str) or bool(datetime.date.fromisoformat(value))

    return checker


FORMAT_CHECKER = _format_checker()


def to_json_schema(node: Any) -> Any:
    """Turn an OpenAPI v3 schema with Kubernetes extensions into Draft 4 JSON Schema."""
    if isinstance(node, list):
        return [to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: to_json_schema(value) for key, value in node.items()
                 if not key.startswith("x-kubernetes-") and key not in ("nullable", "default", "example")}
    if node.get("x-kubernetes-int-or-string") and "type" not in node:
        converted["type"] = ["integer", "string"]
    if node.get("nullable") and "type" in converted:
        converted["type"] = [*([converted["type"]] if isinstance(converted["type"], str) else converted["type"]), "null"]
        if "enum" in converted:
            converted["enum"] = [*converted["enum"], None]
    # Properties are schemas keyed by field names, not schema keywords: convert them one by one.
    if isinstance(node.get("properties"), dict):
        converted["properties"] = {name: to_json_schema(sub) for name, sub in node["properties"].items()}
    return converted


class StructuralSchema:
    """One CRD version's ``openAPIV3Schema``."""

    def __init__(self, openapi: dict[str, Any]) -> None:
        self.openapi = openapi
        converted = to_json_schema(openapi)
        jsonschema.Draft4Validator.check_schema(converted)  # SchemaError for a malformed schema
        self._validator = jsonschema.Draft4Validator(converted, format_checker=FORMAT_CHECKER)

    def prune(self, obj: dict[str, Any]) -> None:
        """Drop fields the schema does not know (unless it preserves unknown fields there)."""
        # The root's apiVersion, kind and metadata are the API server's, whatever the schema says
        # (generated CRDs declare `metadata: {type: object}`, which would otherwise prune it empty).
        content = {key: value for key, value in obj.items() if key not in ROOT_FIELDS}
        unknown: list[tuple[dict[str, Any], str, str]] = []
        _unknown(content, self.openapi, [], unknown)
        for holder, key, _ in unknown:
            del holder[key]
        for key in list(obj):
            if key not in ROOT_FIELDS and key not in content:
                del obj[key]

    def unknown_fields(self, obj: dict[str, Any]) -> list[str]:
        """The fields of ``obj`` (a whole object or a partial one, as in a patch) that pruning would
        drop, as ``fieldValidation`` reports them: ``spec.foo``, ``spec.routes[0].bar``."""
        found: list[tuple[dict[str, Any], str, str]] = []
        _unknown({k: v for k, v in obj.items() if k not in ROOT_FIELDS}, self.openapi, [], found)
        return [path for _, _, path in found]

    def default(self, obj: dict[str, Any]) -> None:
        """Fill absent fields that have a ``default`` in the schema."""
        _default(obj, self.openapi)

    def validate(self, obj: dict[str, Any]) -> list[FieldError]:
        body = {key: value for key, value in obj.items() if key != "metadata"}
        errors: list[FieldError] = []
        for error in sorted(self._validator.iter_errors(body), key=lambda e: [str(p) for p in e.absolute_path]):
            errors.extend(_field_errors(error))
        return errors


def _unknown(value: Any, schema: dict[str, Any], path: list[str | int],
             found: list[tuple[dict[str, Any], str, str]]) -> None:
    """Collect the fields the schema does not know (unless it preserves unknown fields there), as
    (the object holding it, its key, its path)."""
    if isinstance(value, dict):
        properties = schema.get("properties")
        additional = schema.get("additionalProperties")
        preserve = schema.get("x-kubernetes-preserve-unknown-fields", False)
        for key, sub in value.items():
            if properties is not None and key in properties:
                _unknown(sub, properties[key], [*path, key], found)
            elif isinstance(additional, dict):
                _unknown(sub, additional, [*path, key], found)
            elif not preserve and additional is not True:
                found.append((value, key, field_path([*path, key])))
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            _unknown(item, schema["items"], [*path, index], found)


def _default(value: Any, schema: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, sub in (schema.get("properties") or {}).items():
            if key not in value and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
            if key in value:
                _default(value[key], sub)
        if isinstance(schema.get("additionalProperties"), dict):
            for key in value:
                if key not in (schema.get("properties") or {}):
                    _default(value[key], schema["additionalProperties"])
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            _default(item, schema["items"])


def field_path(parts: Any) -> str:
    """``["spec", "ports", 0, "port"]`` → ``spec.ports[0].port``, as the API server writes it."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def shown_value(value: Any) -> str:
    """A value as the API server's messages show it."""
    if isinstance(value, dict):
        return '"object"'
    if isinstance(value, list):
        return '"array"'
    return json.dumps(value)


_JSON_TYPE_NAMES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer",
                    float: "number", type(None): "null"}


def _field_errors(error: jsonschema.exceptions.ValidationError) -> Iterator[FieldError]:
    path = field_path(error.absolute_path)
    instance = error.instance
    match error.validator:
        case "required":
            for name in error.validator_value:
                if isinstance(instance, dict) and name not in instance:
                    yield FieldError(field_path([*error.absolute_path, name]), "FieldValueRequired", "Required value")
            return
        case "enum":
            supported = ", ".join(json.dumps(v) for v in error.validator_value)
            detail = f"Unsupported value: {shown_value(instance)}: supported values: {supported}"
            yield FieldError(path, "FieldValueNotSupported", detail)
            return
        case "type":
            expected = error.validator_value if isinstance(error.validator_value, str) else error.validator_value[0]
            actual = _JSON_TYPE_NAMES.get(type(instance), type(instance).__name__)
            detail = f'Invalid value: "{actual}": {path} in body must be of type {expected}: "{actual}"'
        case "pattern":
            detail = f"Invalid value: {shown_value(instance)}: {path} in body should match '{error.validator_value}'"
        case "maxLength":
            yield FieldError(path, "FieldValueTooLong", f"Too long: may not be longer than {error.validator_value}")
            return
        case "minLength":
            detail = (f"Invalid value: {shown_value(instance)}: {path} in body should be at least "
                      f"{error.validator_value} chars long")
        case "maximum":
            detail = (f"Invalid value: {shown_value(instance)}: {path} in body should be less than or equal to "
                      f"{error.validator_value}")
        case "minimum":
            detail = (f"Invalid value: {shown_value(instance)}: {path} in body should be greater than or equal to "
                      f"{error.validator_value}")
        case "maxItems":
            yield FieldError(path, "FieldValueTooMany",
                             f"Too many: {len(instance)}: must have at most {error.validator_value} items")
            return
        case "minItems":
            detail = (f"Invalid value: {len(instance)}: {path} in body should have at least "
                      f"{error.validator_value} items")
        case "format":
            detail = (f"Invalid value: {shown_value(instance)}: {path} in body must be of type "
                      f"{error.validator_value}: {shown_value(instance)}")
        case _:
            detail = f"Invalid value: {shown_value(instance)}: {error.message}"
    yield FieldError(path, "FieldValueInvalid", detail)
