"""References between our objects: which objects a spec names, and the spec with every
reference resolved to the AWS id in the named object's status (pure; reads the ClusterView)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Mapping

from ..provider.errors import DependencyNotReady, TerminalError
from .kind import Kind, Reference
from .objects import ClusterView, ObjectSummary

# Seconds before retrying while a referenced object does not exist yet / is not Ready yet.
MISSING_DELAY = 10.0
NOT_READY_DELAY = 5.0


@dataclass
class Resolution:
    # The spec with each reference's id_field filled in where the named object is Ready.
    spec: dict[str, Any]
    # Status of each existing object named by a top-level reference, by Reference.field.
    related: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    # Set when a named object is missing or not Ready: the dependent must wait (no AWS call).
    waiting: DependencyNotReady | None = None
    # The named objects that do not exist at all, as (kind, name).
    missing: tuple[tuple[str, str], ...] = ()
    # The named objects that are Ready without the status value the reference takes.
    lacking: tuple[tuple[str, str], ...] = ()
    # Status of each named object that is Ready, by (kind, name).
    ready: dict[tuple[str, str], Mapping[str, Any]] = field(default_factory=dict)


def _holders(ref: Reference, spec: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(path, mapping) pairs holding the reference: the spec itself, the object `within`, or
    each item of the list `within`."""
    if ref.within is None:
        yield "spec", spec
        return
    nested = spec.get(ref.within)
    if isinstance(nested, Mapping):
        yield f"spec.{ref.within}", nested
        return
    for index, item in enumerate(nested or ()):
        if isinstance(item, Mapping):
            yield f"spec.{ref.within}[{index}]", item


def _fills(ref: Reference) -> list[tuple[str, str | None]]:
    """(spec field, status field) pairs a reference fills; None: the referenced kind's identifier."""
    return [(ref.id_field, ref.status_field), *ref.also]


def _value(found: ObjectSummary, status_field: str | None) -> Any:
    return found.status.get(status_field) if status_field else found.ident


def _names(ref: Reference, holder: Mapping[str, Any]) -> list[str]:
    """The object names a holder gives for the reference: one, or a list of them (`many`)."""
    value = holder.get(ref.field)
    items = (value or []) if ref.many else [value or {}]
    return [item["name"] for item in items if isinstance(item, Mapping) and item.get("name")]


def referenced(kind: Kind, spec: Mapping[str, Any]) -> set[tuple[str, str]]:
    """(kind, name) of every object of ours the spec names."""
    return {(ref.kind, named) for ref in kind.references for _, holder in _holders(ref, spec)
            for named in _names(ref, holder)}


def dependents_first(kinds: Iterable[Kind]) -> tuple[str, ...]:
    """The kinds' names, each before every kind it references: the order in which deleting
    objects never waits for a dependent (a finalizer waits while dependents remain)."""
    names = {kind.kind: {reference.kind for reference in kind.references} for kind in kinds}
    order: list[str] = []
    while len(order) < len(names):
        left = names.keys() - set(order)
        unreferenced = sorted(name for name in left if not any(name in names[other] for other in left - {name}))
        if not unreferenced:
            raise ValueError(f"the kinds {sorted(left)} reference each other")
        order += unreferenced
    return tuple(order)


def resolve(kind: Kind, spec: Mapping[str, Any], namespace: str, cluster: ClusterView) -> Resolution:
    """Fill in each reference's id_field (a list of ids for a `many` reference, in the order of
    the names). A reference with neither name nor id where one is required, or with both, is a
    spec error; a missing or unready object makes the result wait."""
    resolution = Resolution(copy.deepcopy(dict(spec)))
    problems: list[str] = []
    delays: list[float] = []
    waiting_on: list[tuple[str, str]] = []
    for ref in kind.references:
        for path, holder in _holders(ref, resolution.spec):
            names = _names(ref, holder)
            both = [spec_field for spec_field, _ in _fills(ref) if names and holder.get(spec_field)]
            if both:
                raise TerminalError(f"{path}: set {ref.field} or {' and '.join(both)}, not both",
                                    reason="ConflictingReference")
            if not names:
                if ref.required and not holder.get(ref.id_field):
                    what = ref.field if ref.many else f"{ref.field}.name"
                    raise TerminalError(f"{path}: {what} or {ref.id_field} is required",
                                        reason="MissingReference")
                continue
            fills: list[list[Any]] = [[] for _ in _fills(ref)]
            for named in names:
                found = cluster.find(ref.kind, namespace, named)
                if found is not None and ref.within is None and not ref.many:
                    resolution.related[ref.field] = found.status
                if found is None:
                    problems.append(f"{ref.kind} {named} ({path}.{ref.field}) does not exist")
                    waiting_on.append((ref.kind, named))
                    resolution.missing += ((ref.kind, named),)
                    delays.append(MISSING_DELAY)
                elif not found.ready:
                    problems.append(f"{ref.kind} {named} ({path}.{ref.field}) is not Ready")
                    waiting_on.append((ref.kind, named))
                    delays.append(NOT_READY_DELAY)
                elif lacking := [f or "identifier" for _, f in _fills(ref) if _value(found, f) is None]:
                    # Ready without the value: no Ready flip will come to wake the dependent (the
                    # waker would wake it at once, again and again), so it looks again after a delay.
                    problems.append(f"{ref.kind} {named} ({path}.{ref.field}) is Ready but has no "
                                    f"status.{' or status.'.join(lacking)}")
                    resolution.lacking += ((ref.kind, named),)
                    delays.append(NOT_READY_DELAY)
                else:
                    resolution.ready[(ref.kind, named)] = found.status
                    for values, (_, status_field) in zip(fills, _fills(ref)):
                        values.append(_value(found, status_field))
            if all(len(values) == len(names) for values in fills):
                for values, (spec_field, _) in zip(fills, _fills(ref)):
                    holder[spec_field] = values if ref.many else values[0]
    if problems:
        resolution.waiting = DependencyNotReady("waiting for " + "; ".join(problems), delay=min(delays),
                                                waiting_on=tuple(sorted(set(waiting_on))))
    return resolution
