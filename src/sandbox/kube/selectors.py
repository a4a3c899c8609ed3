"""Label and field selectors as the API server parses them (the set-based and equality forms)."""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from .errors import bad_request

Predicate = Callable[[Mapping[str, Any]], bool]

_SET_TERM = re.compile(r"^\s*([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")
_EQUALITY_TERM = re.compile(r"^\s*([^\s!=]+)\s*(==|=|!=)\s*([^\s]*)\s*$")
_EXISTS_TERM = re.compile(r"^\s*(!?)\s*([^\s!=]+)\s*$")


def _split_terms(selector: str) -> list[str]:
    """Split on commas that are not inside ``in (a,b)`` value sets."""
    terms, depth, current = [], 0, ""
    for char in selector:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += char
    terms.append(current)
    return [term for term in terms if term.strip()]


def _label_term(term: str) -> Callable[[Mapping[str, str]], bool]:
    if match := _SET_TERM.match(term):
        key, operator, values = match.group(1), match.group(2), {v.strip() for v in match.group(3).split(",")}
        if operator == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    if match := _EQUALITY_TERM.match(term):
        key, operator, value = match.groups()
        if operator == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    if match := _EXISTS_TERM.match(term):
        negated, key = match.groups()
        return (lambda labels: key not in labels) if negated else (lambda labels: key in labels)
    raise bad_request(f"unable to parse requirement: {term!r}")


def label_selector(selector: str | None) -> Predicate:
    """A predicate on objects for ``?labelSelector=``."""
    terms = [_label_term(term) for term in _split_terms(selector or "")]
    return lambda obj: all(term(obj.get("metadata", {}).get("labels") or {}) for term in terms)


def _field(path: str) -> Callable[[Mapping[str, Any]], str]:
    """A field's value as field selectors compare it: a string, empty when absent."""
    keys = path.split(".")

    def get(obj: Mapping[str, Any]) -> str:
        value: Any = obj
        for key in keys:
            value = value.get(key) if isinstance(value, Mapping) else None
        return "" if value is None else str(value)
    return get


_COMMON_FIELDS = ("metadata.name", "metadata.namespace")
# The fields the API server lets each kind be selected by, beyond metadata.name and metadata.namespace.
_KIND_FIELDS: dict[tuple[str, str], tuple[str, ...]] = {
    ("", "events"): ("involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
                     "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
                     "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type"),
    ("", "secrets"): ("type",),
    ("", "namespaces"): ("status.phase",),
}
_SOURCE_FIELD = {"source": _field("source.component")}


def _split_unescaped(text: str, separator: str) -> list[str]:
    """Split on ``separator`` where no backslash escapes it (field selector values escape
    backslashes, commas and equals signs)."""
    parts, current, escaped = [], "", False
    for char in text:
        if escaped:
            current, escaped = current + "\\" + char, False
        elif char == "\\":
            escaped = True
        elif char == separator:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)


def field_selector(selector: str | None, kind: tuple[str, str] = ("", "")) -> Predicate:
    """A predicate on objects for ``?fieldSelector=``, on the fields the API server supports for
    ``kind`` (a ``(group, plural)`` key); 400 for any other field, as from the API server."""
    supported = (*_COMMON_FIELDS, *_KIND_FIELDS.get(kind, ()))
    terms: list[Predicate] = []
    for term in _split_unescaped(selector or "", ","):
        if not term.strip():
            continue
        match = re.match(r"^\s*([^\s!=]+)\s*(!=|==|=)(.*)$", term)
        if not match:
            raise bad_request(f"invalid selector: '{selector}'; can't understand '{term}'")
        field, operator, value = match.group(1), match.group(2), _unescape(match.group(3).strip())
        if field not in supported:
            raise bad_request(f"field label not supported: {field}")
        getter = _SOURCE_FIELD.get(field) or _field(field)
        if operator == "!=":
            terms.append(lambda obj, getter=getter, value=value: getter(obj) != value)
        else:
            terms.append(lambda obj, getter=getter, value=value: getter(obj) == value)
    return lambda obj: all(term(obj) for term in terms)
