"""Pure functions: the delta between the state a spec asks for and the state AWS reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from .kind import DriftField, Severity

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


def visible_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """Tags the spec can own: AWS-reserved `aws:` tags are neither compared nor touched."""
    return {k: v for k, v in tags.items() if not k.startswith("aws:")}


def tags_from_aws(tag_list: list[Mapping[str, str]] | None) -> dict[str, str]:
    return visible_tags({t["Key"]: t["Value"] for t in tag_list or ()})


@dataclass(frozen=True)
class Delta:
    changed: tuple[DriftField, ...] = ()
    tags_to_set: Mapping[str, str] = field(default_factory=dict)
    tags_to_remove: frozenset[str] = frozenset()

    @property
    def empty(self) -> bool:
        return not (self.changed or self.tags_to_set or self.tags_to_remove)

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
        return groups


def compute_delta(desired: Mapping[str, Any], observed: Mapping[str, Any],
                  fields: tuple[DriftField, ...]) -> Delta:
    """Compare the drift-checked fields and the tags. A field the spec leaves unset (None) is
    not compared: AWS chose it and the spec does not care."""
    changed = tuple(
        f for f in fields
        if desired.get(f.name) is not None and _normalise(desired.get(f.name)) != _normalise(observed.get(f.name))
    )
    want = desired.get("tags") or {}
    have = observed.get("tags") or {}
    return Delta(
        changed=changed,
        tags_to_set={k: v for k, v in want.items() if have.get(k) != v},
        tags_to_remove=frozenset(have) - frozenset(want),
    )


def _normalise(value: Any) -> Any:
    """Order-insensitive comparison for lists (rules, routes, associations come back unordered)."""
    if isinstance(value, list):
        return sorted((_normalise(v) for v in value), key=repr)
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items() if v is not None}
    return value


def tag_problems(tags: Mapping[str, str]) -> list[str]:
    """What AWS or our ownership scheme would reject in user tags (the CRD says the same in CEL,
    which not every API server enforces)."""
    problems = []
    for key, value in tags.items():
        if not key or len(key) > 128:
            problems.append(f"tag key {key[:40]!r}… must be 1 to 128 characters")
        elif key.startswith(("aws:", OWNER_PREFIX)):
            problems.append(f"tag key {key!r} is reserved")
        if not isinstance(value, str) or len(value) > 256:
            problems.append(f"tag {key[:40]!r} value must be a string of at most 256 characters")
    return problems
