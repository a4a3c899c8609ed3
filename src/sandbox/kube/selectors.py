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


_FIELDS: dict[str, Callable[[Mapping[str, Any]], Any]] = {
    "metadata.name": lambda obj: obj.get("metadata", {}).get("name"),
    "metadata.namespace": lambda obj: obj.get("metadata", {}).get("namespace"),
}


def field_selector(selector: str | None) -> Predicate:
    """A predicate on objects for ``?fieldSelector=`` (``metadata.name`` and ``metadata.namespace``)."""
    terms: list[Predicate] = []
    for term in _split_terms(selector or ""):
        match = _EQUALITY_TERM.match(term)
        if not match or match.group(1) not in _FIELDS:
            raise bad_request(f"field label not supported: {term!r}")
        getter, operator, value = _FIELDS[match.group(1)], match.group(2), match.group(3)
        if operator == "!=":
            terms.append(lambda obj, getter=getter, value=value: getter(obj) != value)
        else:
            terms.append(lambda obj, getter=getter, value=value: getter(obj) == value)
    return lambda obj: all(term(obj) for term in terms)
