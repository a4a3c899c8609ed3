"""ECR repositories: the two policy documents (lifecycle and repository policy), each read, put
and deleted by calls of its own."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..engine.kind import State

# The two policy documents: spec field -> (get, put, delete, the NotFound when there is none,
# the parameter and answer field holding the text).
POLICIES = {
    "lifecyclePolicy": ("get_lifecycle_policy", "put_lifecycle_policy", "delete_lifecycle_policy",
                        "LifecyclePolicyNotFoundException", "lifecyclePolicyText"),
    "repositoryPolicy": ("get_repository_policy", "set_repository_policy", "delete_repository_policy",
                         "RepositoryPolicyNotFoundException", "policyText"),
}


def policy(ecr: Any, field: str, name: str) -> str | None:
    """A policy document of the repository, None when it has none (AWS answers a NotFound)."""
    get, _, _, missing, text = POLICIES[field]
    try:
        return getattr(ecr, get)(repositoryName=name)[text]
    except getattr(ecr.exceptions, missing):
        return None


def set_policies(ecr: Any, name: str, desired: State, fields: Iterable[str]) -> None:
    """Put the desired text of each policy field (`<field>Text`), or delete the policy the spec leaves out."""
    for field in sorted(fields):
        _, put, remove, missing, text = POLICIES[field]
        if desired[field]:
            getattr(ecr, put)(repositoryName=name, **{text: desired[f"{field}Text"]})
        else:
            try:
                getattr(ecr, remove)(repositoryName=name)
            except getattr(ecr.exceptions, missing):
                pass  # none to remove
