"""Pure functions: the delta between the state a spec asks for and the state AWS reports."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Collection, Hashable, Mapping

from .kind import DriftField, Severity, Tagging

TAGS = DriftField("tags", Severity.INFO)
OWNER_PREFIX = "infra-operator.dev/"
MANAGED_BY = (f"{OWNER_PREFIX}managed-by", "infra-operator")
OWNER_UID = f"{OWNER_PREFIX}owner-uid"
OWNER_NAME = f"{OWNER_PREFIX}owner"
OWNER_KIND = f"{OWNER_PREFIX}kind"


def owner_tags(kind: str, namespace: str, name: str, uid: str) -> dict[str, str]:
    """Tags marking an AWS resource as created by (and adoptable by) one custom object."""
    return {
        MANAGED_BY[0]: MANAGED_BY[1],
        OWNER_UID: uid,
        OWNER_NAME: f"{namespace}/{name}",
        OWNER_KIND: kind,
    }


def visible_tags(tags: Mapping[str, str], reserved: tuple[str, ...] = ("aws:",)) -> dict[str, str]:
    """Tags the spec can own: AWS-reserved ones (`aws:`) are neither compared nor touched."""
    return {k: v for k, v in tags.items() if not k.startswith(reserved)}


def tags_from_aws(tag_list: list[Mapping[str, str]] | None) -> dict[str, str]:
    return visible_tags({t["Key"]: t["Value"] for t in tag_list or ()})


@dataclass(frozen=True)
class Delta:
    changed: tuple[DriftField, ...] = ()
    tags_to_set: Mapping[str, str] = field(default_factory=dict)
    tags_to_remove: frozenset[str] = frozenset()
    # Secret inputs to apply: their Secret changed since they were last applied, or AWS's value
    # (where the kind reads it back) differs from it.
    secrets: frozenset[str] = frozenset()
    # Of those, the ones AWS changed (the Secret did not): critical drift.
    secrets_drifted: frozenset[str] = frozenset()

    @property
    def empty(self) -> bool:
        return not (self.changed or self.tags_to_set or self.tags_to_remove or self.secrets)

    def with_secrets(self, changed: frozenset[str], differing: frozenset[str] = frozenset(),
                     compared: frozenset[str] = frozenset()) -> "Delta":
        """`changed`: inputs whose Secret changed; `compared`: inputs whose AWS value the kind
        reads back, `differing` those of them that differ (only these are applied again)."""
        return replace(self, secrets=(changed - compared) | differing, secrets_drifted=differing - changed)

    @property
    def needs_replacement(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.changed if not f.updatable)

    def by_severity(self) -> dict[Severity, list[str]]:
        """Drifted field names grouped by severity (tags count as one field)."""
        groups: dict[Severity, list[str]] = {}
        for f in self.changed:
            groups.setdefault(f.severity, []).append(f.name)
        if self.tags_to_set or self.tags_to_remove:
            groups.setdefault(TAGS.severity, []).append(TAGS.name)
        if self.secrets_drifted:
            groups.setdefault(Severity.CRITICAL, []).extend(sorted(self.secrets_drifted))
        return groups


def compute_delta(desired: Mapping[str, Any], observed: Mapping[str, Any],
                  fields: tuple[DriftField, ...]) -> Delta:
    """Compare the drift-checked fields and the tags. A field the spec leaves unset (None) is
    not compared: AWS chose it and the spec does not care."""
    changed = tuple(f for f in fields if desired.get(f.name) is not None
                    and not _same(f, desired.get(f.name), observed.get(f.name)))
    want = desired.get("tags") or {}
    have = observed.get("tags") or {}
    return Delta(
        changed=changed,
        tags_to_set={k: v for k, v in want.items() if have.get(k) != v},
        tags_to_remove=frozenset(have) - frozenset(want),
    )


def _same(drift_field: DriftField, want: Any, have: Any) -> bool:
    if drift_field.same is not None:
        return drift_field.same(want, have)
    return frozen(want) == frozen(have)


@dataclass(frozen=True)
class ListChanges:
    """How an observed list must change to become the desired one (see `list_changes`)."""

    added: tuple[Any, ...] = ()
    removed: tuple[Any, ...] = ()
    replaced: tuple[tuple[Any, Any], ...] = ()  # (observed, desired) pairs sharing a key


def list_changes(desired: list[Any] | None, observed: list[Any] | None,
                 key: Callable[[Any], Hashable] | None = None,
                 same: Callable[[Any, Any], bool] | None = None) -> ListChanges:
    """Items to add, remove and replace, matched by `key` (default: the whole item, so an item
    is only ever added or removed); a matched pair is replaced unless `same(desired, observed)`
    (default: equal). Order never matters; None-valued keys of dicts are ignored."""
    key = key or frozen
    same = same or (lambda want_item, have_item: frozen(want_item) == frozen(have_item))
    want = {key(item): item for item in desired or ()}
    have = {key(item): item for item in observed or ()}
    return ListChanges(
        added=tuple(item for k, item in want.items() if k not in have),
        removed=tuple(item for k, item in have.items() if k not in want),
        replaced=tuple((have[k], item) for k, item in want.items() if k in have and not same(item, have[k])),
    )


def reconcile_set(desired: list[Any] | None, observed: list[Any] | None, *,
                  key: Callable[[Any], Hashable] | None = None, add: Callable[[Any], None],
                  remove: Callable[[Any], None], change: Callable[[Any, Any], None] | None = None) -> ListChanges:
    """Make a keyed sub-collection (rules, subscriptions, listeners, records, lifecycle rules)
    the desired set: `remove(observed item)` first, then `add(desired item)`, then
    `change(observed, desired)` for items whose key matches and content differs (without
    `change`: removed and added again). Returns what changed."""
    changes = list_changes(desired, observed, key)
    replaced = changes.replaced if change else ()
    for item in changes.removed + (() if change else tuple(old for old, _ in changes.replaced)):
        remove(item)
    for item in changes.added + (() if change else tuple(new for _, new in changes.replaced)):
        add(item)
    for old, new in replaced:
        change(old, new)
    return changes


def aws_params(state: Mapping[str, Any], fields: Mapping[str, str],
               only: Collection[str] | None = None) -> dict[str, Any]:
    """An AWS call's parameters from desired-state fields (`fields`: {parameter: field}): those
    in `only` (default: all) that the state sets; an unset (None) one is left to AWS."""
    return {param: state[field] for param, field in fields.items()
            if (only is None or field in only) and state.get(field) is not None}


def attribute_value(value: Any) -> str:
    """A value as the string-valued attribute APIs (SQS, SNS, Elastic Load Balancing) take it:
    a boolean as true or false."""
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def frozen(value: Any) -> Hashable:
    """A hashable, order-insensitive form of a state value (dict keys with None values dropped)."""
    if isinstance(value, Mapping):
        return tuple(sorted((k, frozen(v)) for k, v in value.items() if v is not None))
    if isinstance(value, (list, tuple)):
        return tuple(sorted((frozen(v) for v in value), key=repr))
    return value


def tag_problems(tags: Mapping[str, str], tagging: Tagging | None) -> list[str]:
    """What AWS or our ownership scheme would reject in user tags (the CRD says the same in CEL,
    which not every API server enforces). A kind without tags takes none."""
    if tagging is None:
        return ["this kind carries no tags"] if tags else []
    problems = []
    reserved = (*tagging.reserved_prefixes, OWNER_PREFIX)
    for key, value in tags.items():
        if not key or len(key) > 128:
            problems.append(f"tag key {key[:40]!r}… must be 1 to 128 characters")
        elif key.startswith(reserved):
            problems.append(f"tag key {key!r} is reserved")
        if not isinstance(value, str) or len(value) > 256:
            problems.append(f"tag {key[:40]!r} value must be a string of at most 256 characters")
    room = tagging.max_tags - len(owner_tags("", "", "", ""))
    if len(tags) > room:
        problems.append(f"at most {room} tags (AWS allows {tagging.max_tags}, the operator's ownership tags "
                        f"take {tagging.max_tags - room})")
    return problems
