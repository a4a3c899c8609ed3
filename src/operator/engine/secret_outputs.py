"""Where the engine keeps a value AWS answers only once (a generated private key): a Kubernetes
Secret owned by the object (see kind.SecretOutput). The wiring backs `SecretSink` with the API
server (`kube.SecretWriter`); engine tests with a dictionary."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Protocol

from .kind import SecretValue

# The annotation on a written Secret naming the AWS resource (the kind's identifier) whose value
# it holds: a Secret written for an earlier resource does not hold the current one's.
WRITTEN_FOR = "infra-operator.dev/written-for"


@dataclass(frozen=True)
class Owner:
    """The object a Secret belongs to (its ownerReference)."""

    kind: str
    name: str
    uid: str


@dataclass(frozen=True)
class WrittenSecret:
    """What the engine needs to know of an existing Secret: never its values."""

    owners: frozenset[str]  # uids of its ownerReferences
    written_for: str | None  # the WRITTEN_FOR annotation
    keys: frozenset[str]

    def holds(self, owner_uid: str, ident: str, key: str) -> bool:
        """Whether it holds the value generated for the resource `ident` of this owner."""
        return owner_uid in self.owners and self.written_for == ident and key in self.keys


class SecretSink(Protocol):
    def inspect(self, namespace: str, name: str) -> WrittenSecret | None:
        """The Secret's owners, annotation and keys; None when it does not exist."""
        ...

    def write(self, namespace: str, name: str, owner: Owner, data: Mapping[str, SecretValue],
              written_for: str) -> None:
        """Create the Secret, or replace the data of one `owner` owns, with `data` and the
        WRITTEN_FOR annotation; raise when that fails."""
        ...

    def disown(self, namespace: str, name: str, owner_uid: str) -> None:
        """Remove `owner_uid`'s ownerReference, so that the Secret outlives the object (a missing
        Secret is no error)."""
        ...


class NoSecretSink:
    """No Secret can be written (an engine built without a sink)."""

    def inspect(self, namespace: str, name: str) -> WrittenSecret | None:
        raise RuntimeError("this engine has no Secret writer")

    write = disown = inspect  # type: ignore[assignment]
