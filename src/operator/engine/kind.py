"""The resource-manager interface a kind module implements (after ACK's AWSResourceManager).

A kind declares how its spec maps to AWS calls and which fields are drift-checked. It never
decides lifecycle (finalizers, adoption, conditions, retries) and never records telemetry: the
engine does that for every kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, ClassVar, Mapping, Protocol


class Severity(str, Enum):
    """Drift severity; values are the metric catalog's `severity` label values."""

    CRITICAL = "critical"  # identity or network-affecting
    WARNING = "warning"  # configuration
    INFO = "info"  # cosmetic


@dataclass(frozen=True)
class DriftField:
    """A key of the comparable state that is drift-checked."""

    name: str
    severity: Severity
    # False: AWS cannot change it in place, so a difference needs the resource replaced.
    updatable: bool = True


@dataclass(frozen=True)
class Reference:
    """A spec field naming another object of ours (`{name: ...}`), resolved to its AWS id.

    `id_field` is the spec field that carries the AWS id (e.g. `vpcId`): the user may set it
    instead of the reference, and the engine fills it in from the referenced object's status,
    so a kind only ever reads `id_field`. `id_pattern` validates it in the CRD. `within` names a
    list field of the spec whose items each carry the reference (e.g. a route's `natGatewayRef`).
    """

    field: str
    kind: str
    id_field: str
    id_pattern: str | None = None
    required: bool = True
    within: str | None = None


class AWSClients(Protocol):
    """What a kind gets to talk to AWS: clients of its provider, and the region."""

    region: str

    def client(self, service: str) -> Any: ...


Raw = Mapping[str, Any]
State = dict[str, Any]


class Kind:
    """Base of every kind module's class. Subclasses set the class variables and implement the
    AWS calls; everything else has a sensible default."""

    kind: ClassVar[str]
    plural: ClassVar[str]
    short_names: ClassVar[tuple[str, ...]] = ()
    # The status field that holds the AWS identifier (e.g. "allocationId").
    identifier: ClassVar[str]
    # OpenAPI v3 properties of the kind's own spec fields (the engine adds providerRef,
    # deletionPolicy, tags and the references' fields) and which of them are required.
    spec_properties: ClassVar[Mapping[str, Any]] = {}
    spec_required: ClassVar[tuple[str, ...]] = ()
    # OpenAPI v3 properties of the kind's own status fields besides the identifier and those
    # shown in printer columns (which are declared with the column's type).
    status_properties: ClassVar[Mapping[str, Any]] = {}
    # Extra printer columns: (name, jsonPath, type) besides Ready, the identifier and Age.
    printer_columns: ClassVar[tuple[tuple[str, str, str], ...]] = ()
    drift_fields: ClassVar[tuple[DriftField, ...]] = ()
    references: ClassVar[tuple[Reference, ...]] = ()
    # CEL rules on the whole spec ({"rule": ..., "message": ...}); `validate` re-checks them,
    # since not every API server enforces CEL.
    spec_validations: ClassVar[tuple[Mapping[str, str], ...]] = ()
    description: ClassVar[str] = ""

    def validate(self, spec: Mapping[str, Any], related: Mapping[str, Mapping[str, Any]]) -> None:
        """Checks the schema cannot express; raise TerminalError. `related` holds the status of
        each object a top-level reference names, by Reference.field, when it exists (so a
        subnet can check its CIDR against its VPC's); ids of references may still be missing."""

    def desired(self, spec: Mapping[str, Any]) -> State:
        """The comparable state the spec asks for (without tags; the engine adds those). Every
        Reference's `id_field` is filled in from the referenced object."""
        raise NotImplementedError

    def observe(self, raw: Raw) -> State:
        """The comparable state of an AWS description (same keys as `desired`, plus "tags")."""
        raise NotImplementedError

    def identify(self, raw: Raw) -> str:
        """The AWS identifier of a description."""
        raise NotImplementedError

    def status(self, raw: Raw) -> State:
        """Status fields besides the identifier (e.g. the public IP)."""
        return {}

    def available(self, raw: Raw) -> bool:
        """False while AWS still provisions the resource (the engine requeues)."""
        return True

    def read(self, aws: AWSClients, ident: str) -> Raw | None:
        """Describe by identifier; None when absent (or in a terminal deleted state)."""
        raise NotImplementedError

    def find_all_owned(self, aws: AWSClients, owner_uid_tag: tuple[str, str]) -> list[Raw]:
        """Every resource tagged as owned by this object, as one listing call describes them
        (`read` may describe more): one after a crash between create and status write (the
        engine adopts it), more after a create whose answer was lost, e.g. to a timeout, and
        that was made again (the engine deletes the extras)."""
        raise NotImplementedError

    def list_managed(self, aws: AWSClients, managed_tag: tuple[str, str]) -> list[Raw] | None:
        """Every resource of this kind carrying the managed-by tag, in as few (paged) calls as
        the API allows: the describe cache's snapshot. None: the kind cannot list, and every
        drift check reads by identifier."""
        return None

    def complete(self, aws: AWSClients, listed: Raw) -> Raw | None:
        """What `read` would return for a description from `list_managed`: completed with what
        the listing leaves out, or None when it is in a terminal deleted state."""
        return listed

    def create(self, aws: AWSClients, desired: State, tags: Mapping[str, str], token: str) -> Raw:
        """Create with `tags` applied atomically where the API allows; `token` is a stable
        idempotency token for APIs that take a ClientToken."""
        raise NotImplementedError

    def update(self, aws: AWSClients, ident: str, desired: State, raw: Raw,
               changed: frozenset[str]) -> None:
        """Apply the changed updatable fields (tags excluded: see `set_tags`); `raw` is the
        current description (`observe(raw)` is what was compared)."""

    def set_tags(self, aws: AWSClients, ident: str, add: Mapping[str, str],
                 remove: frozenset[str]) -> None:
        raise NotImplementedError

    def delete(self, aws: AWSClients, ident: str, raw: Raw) -> None:
        """Delete; an already missing resource must not raise."""
        raise NotImplementedError

    def held(self, aws: AWSClients, owner_uid_tag: tuple[str, str]) -> list[str]:
        """AWS ids of resources the kind created alongside the main one, tagged as owned by the
        object (e.g. a NAT gateway's automatically allocated address). The engine releases them
        once the main resource is confirmed gone, and removes their ownership tags on Retain."""
        return []

    def release_held(self, aws: AWSClients, ident: str) -> None:
        """Delete one resource from `held`; an already missing one must not raise."""
        raise NotImplementedError
