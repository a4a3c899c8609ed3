"""``/openapi/v2`` as kubectl asks for it: the Swagger 2.0 document in protobuf, as gnostic's
``openapi.v2.Document`` message (github.com/google/gnostic-models, OpenAPIv2.proto), encoded by
hand for the parts the API server's documents use. Values the message holds as ``Any`` (defaults,
enums, examples, ``x-`` extensions) are YAML text, as gnostic writes them."""
from __future__ import annotations

import struct
from collections.abc import Callable, Iterable
from typing import Any

import yaml

Obj = dict[str, Any]
# What clients ask for (kubectl's, with an "@" Go's MIME parser refuses) and what the API server answers.
REQUESTED_TYPES = ("application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
                   "application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
CONTENT_TYPE = REQUESTED_TYPES[1]


def _varint(number: int) -> bytes:
    out = bytearray()
    while True:
        byte, number = number & 0x7F, number >> 7
        out.append(byte | (0x80 if number else 0))
        if not number:
            return bytes(out)


def _message(field: int, payload: bytes) -> bytes:
    """A length-delimited field (message, string or bytes); present even when empty."""
    return _varint(field << 3 | 2) + _varint(len(payload)) + payload


def _string(field: int, text: str | None) -> bytes:
    return _message(field, text.encode()) if text else b""


def _strings(field: int, texts: Iterable[str]) -> bytes:
    return b"".join(_message(field, text.encode()) for text in texts)


def _bool(field: int, value: Any, always: bool = False) -> bytes:
    return _varint(field << 3) + (b"\x01" if value else b"\x00") if value or always else b""


def _int(field: int, value: Any) -> bytes:
    return _varint(field << 3) + _varint(int(value)) if value else b""


def _double(field: int, value: Any) -> bytes:
    return _varint(field << 3 | 1) + struct.pack("<d", float(value)) if value is not None else b""


def _any(field: int, value: Any) -> bytes:
    """gnostic's ``Any``: the value as YAML (field 2)."""
    return _message(field, _string(2, yaml.safe_dump(value, default_flow_style=True).strip()))


def _extensions(field: int, obj: Obj) -> bytes:
    return b"".join(_message(field, _string(1, key) + _any(2, value))
                    for key, value in obj.items() if key.startswith("x-"))


def _repeated(field: int, items: Iterable[Any], encode: Callable[[Any], bytes]) -> bytes:
    return b"".join(_message(field, encode(item)) for item in items)


def _named(field: int, mapping: Obj, encode: Callable[[Any], bytes]) -> bytes:
    """A map as gnostic's ordered (name, value) pairs."""
    return b"".join(_message(field, _string(1, name) + _message(2, encode(value))) for name, value in mapping.items())


def schema(node: Obj) -> bytes:
    """gnostic's ``Schema``."""
    types = node.get("type")
    items = node.get("items")
    additional = node.get("additionalProperties")
    out = [
        _string(1, node.get("$ref")), _string(2, node.get("format")), _string(3, node.get("title")),
        _string(4, node.get("description")),
        _any(5, node["default"]) if "default" in node else b"",
        _double(6, node.get("multipleOf")), _double(7, node.get("maximum")),
        _bool(8, node.get("exclusiveMaximum")), _double(9, node.get("minimum")),
        _bool(10, node.get("exclusiveMinimum")), _int(11, node.get("maxLength")), _int(12, node.get("minLength")),
        _string(13, node.get("pattern")), _int(14, node.get("maxItems")), _int(15, node.get("minItems")),
        _bool(16, node.get("uniqueItems")), _int(17, node.get("maxProperties")),
        _int(18, node.get("minProperties")), _strings(19, node.get("required") or ()),
        b"".join(_any(20, value) for value in node.get("enum") or ()),
    ]
    if isinstance(additional, dict):
        out.append(_message(21, _message(1, schema(additional))))
    elif isinstance(additional, bool):
        out.append(_message(21, _bool(2, additional, always=True)))
    if types:
        out.append(_message(22, _strings(1, [types] if isinstance(types, str) else types)))
    if items is not None:
        out.append(_message(23, _repeated(1, items if isinstance(items, list) else [items], schema)))
    out += [_repeated(24, node.get("allOf") or (), schema)]
    if "properties" in node:
        out.append(_message(25, _named(1, node["properties"], schema)))
    out += [_bool(27, node.get("readOnly")), _any(30, node["example"]) if "example" in node else b"",
            _extensions(31, node)]
    return b"".join(out)


def _parameters_item(parameter: Obj) -> bytes:
    """``ParametersItem`` → ``Parameter``: a body parameter, or a query or path one."""
    if parameter["in"] == "body":
        body = (_string(1, parameter.get("description")) + _string(2, parameter["name"]) + _string(3, "body")
                + _bool(4, parameter.get("required")) + _message(5, schema(parameter["schema"])))
        return _message(1, _message(1, body))
    common = (_bool(1, parameter.get("required")) + _string(2, parameter["in"])
              + _string(3, parameter.get("description")) + _string(4, parameter["name"]))
    if parameter["in"] == "path":
        sub_schema = _message(4, common + _string(5, parameter.get("type")))
    else:
        sub_schema = _message(3, common + _string(6, parameter.get("type")))
    return _message(1, _message(2, sub_schema))


def _response(response: Obj) -> bytes:
    """``ResponseValue`` → ``Response``."""
    body = _string(1, response.get("description")) + (
        _message(2, _message(1, schema(response["schema"]))) if "schema" in response else b"")
    return _message(1, body)


def _operation(operation: Obj) -> bytes:
    return b"".join([
        _strings(1, operation.get("tags") or ()), _string(3, operation.get("description")),
        _string(5, operation.get("operationId")), _strings(6, operation.get("produces") or ()),
        _strings(7, operation.get("consumes") or ()),
        _repeated(8, operation.get("parameters") or (), _parameters_item),
        _message(9, _named(1, operation.get("responses") or {}, _response)),
        _extensions(13, operation),
    ])


_METHODS = {"get": 2, "put": 3, "post": 4, "delete": 5, "patch": 8}


def _path_item(item: Obj) -> bytes:
    operations = [_message(number, _operation(item[method])) for method, number in _METHODS.items() if method in item]
    return b"".join(operations) + _repeated(9, item.get("parameters") or (), _parameters_item)


def document(swagger: Obj) -> bytes:
    """The whole Swagger 2.0 document (``openapi.v2.Document``)."""
    info = swagger.get("info") or {}
    return b"".join([
        _string(1, swagger.get("swagger")),
        _message(2, _string(1, info.get("title")) + _string(2, info.get("version"))),
        _message(8, _named(2, swagger.get("paths") or {}, _path_item)),
        _message(9, _named(1, swagger.get("definitions") or {}, schema)),
    ])
