"""The JSONPath subset CRD printer columns use (``.status.conditions[?(@.type=="Ready")].status``),
evaluated as the API server's Table convertor does."""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

_TOKEN = re.compile(r"""
      \.(?P<field>[^.\[]+)                    # .field
    | \[(?P<index>-?\d+|\*)\]                 # [0], [-1], [*]
    | \[\?\(@\.(?P<key>[\w.-]+)\s*(?P<op>==|!=)\s*(?P<value>"[^"]*"|'[^']*'|[^)]*)\)\]   # [?(@.key=="value")]
""", re.VERBOSE)


def compile_json_path(path: str) -> Callable[[Any], list[Any]]:
    """A function giving every value ``path`` reaches in an object: ``.a.b``, ``[0]``, ``[*]``
    and ``[?(@.key=="value")]``, optionally wrapped in ``{...}`` as kubectl allows."""
    text = path.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    steps: list[Callable[[Any], list[Any]]] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise ValueError(f"unsupported JSONPath {path!r} at {text[position:]!r}")
        steps.append(_step(match))
        position = match.end()

    def find(obj: Any) -> list[Any]:
        values = [obj]
        for step in steps:
            values = [found for value in values for found in step(value)]
        return values
    return find


def _step(match: re.Match[str]) -> Callable[[Any], list[Any]]:
    if match["field"] is not None:
        field = match["field"]
        return lambda value: [value[field]] if isinstance(value, dict) and field in value else []
    if match["index"] is not None:
        if match["index"] == "*":
            return lambda value: list(value.values() if isinstance(value, dict) else value) \
                if isinstance(value, (dict, list)) else []
        index = int(match["index"])
        return lambda value: [value[index]] if isinstance(value, list) and -len(value) <= index < len(value) else []
    keys, op, wanted = match["key"].split("."), match["op"], match["value"].strip()
    literal = wanted[1:-1] if wanted[:1] in "\"'" and len(wanted) > 1 else json.loads(wanted)

    def matches(item: Any) -> bool:
        for key in keys:
            if not isinstance(item, dict) or key not in item:
                return False
            item = item[key]
        return (item == literal) == (op == "==")
    return lambda value: [item for item in value if matches(item)] if isinstance(value, list) else []
