"""The resource-manager interface a kind module implements (after ACK's AWSResourceManager).

A kind is a few required methods (`desired`, `observe`, `identify`, `read`, `create`,
`delete`) plus declared capabilities (identity, tagging, adoption, token format, not-found and
retryable codes, secret inputs, deletion variants, late-initialised fields). It never decides
lifecycle (finalizers, adoption, conditions, retries) and never records telemetry: the engine
does that for every kind, from the declarations. See docs/engine.md, "Writing a kind".
"""

from __future__ import annotations

import hmac
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from typing import Any, Callable, ClassVar, Mapping, Protocol

from ..provider.errors import is_not_found

Raw = Mapping[str, Any]
State = dict[str, Any]


class Severity(str, Enum):
    """Drift severity; values are the metric catalog's `severity` label values."""

    CRITICAL = "critical"  # identity, security or network reachability
    WARNING = "warning"  # configuration
    INFO = "info"  # cosmetic


@dataclass(frozen=True)
class DriftField:
    """A key of the comparable state that is drift-checked."""

    name: str
    severity: Severity
    # False: AWS cannot change it in place, so a difference needs the resource replaced.
    updatable: bool = True
    # True: when the spec leaves it unset, the value AWS chose is recorded in status
    # (`lateInitialized`) once known and compared from then on, so a change made outside the
    # operator is drift, while the spec can still set it.
    late_init: bool = False
    # How desired and observed values compare when equal canonical forms (`delta.frozen`) are
    # not what "the same" means: e.g. SNS subscriptions awaiting confirmation, whose attributes
    # AWS does not show, compare by endpoint only. None: canonical equality.
    same: Callable[[Any, Any], bool] | None = None


@dataclass(frozen=True)
class Reference:
    """A spec field naming another object of ours (`{name: ...}`), resolved from its status.

    `id_field` is the spec field the engine fills in (the user may set it instead of the
    reference) from the referenced object's status field `status_field` (default: that kind's
    identifier; e.g. "arn" for an IAM role). `also` fills more spec fields from more status fields
    of the same object ((spec field, status field) pairs: an ALB's DNS name and its canonical
    hosted zone id). A kind only ever reads the filled fields. `id_pattern` validates `id_field`
    in the CRD. `within` names a list field of the spec whose items each carry the reference, or an
    object field of the spec that carries it. `many`: the field is a list of `{name}` and
    `id_field` a list of ids (a load balancer's `subnetRefs` beside `subnets`), filled in order.
    """

    field: str
    kind: str
    id_field: str
    id_pattern: str | None = None
    required: bool = True
    within: str | None = None
    status_field: str | None = None
    also: tuple[tuple[str, str], ...] = ()
    many: bool = False


class Adoption(str, Enum):
    """How the engine finds a resource this object created before its identity reached status
    (the operator crashed, or the create's answer was lost), so it never creates a second one."""

    # List the resources tagged `infra-operator.dev/owner-uid=<uid>` (`find_all_owned`): EC2's
    # tag filters, or `tagged_resources` (Resource Groups Tagging API) for many services.
    OWNER_TAG = "owner tag"
    # The spec decides the identity (`Identity.from_spec`): read by it. A resource found there
    # is adopted when it carries our owner-uid tag or a create-pending record is present;
    # otherwise the name is taken (Ready=False reason NameTaken).
    SPEC_NAME = "name from spec"
    # The identity (or the CallerReference the resource is found by) is derived from the
    # object's UID (`idempotency_token`): `find_created(aws, desired, token)` finds it.
    TOKEN = "name from uid"
    # The key is known before the create but not ours alone (a name that someone else may hold):
    # the engine writes a create-pending record on the object before the create call (Crossplane's
    # external-create-pending) and clears it once the identity is in status. After a crash in
    # between, `find_created` looks the resource up by that key and the record says it is ours;
    # without the record, a resource found there is someone else's (NameTaken). SPEC_NAME kinds
    # whose tags are not applied by the create call get the record too.
    PENDING_RECORD = "create-pending record"


@dataclass(frozen=True)
class Identity:
    """What identifies the AWS resource. `Kind.identifier` is the status field holding the key
    `read` takes; `fields` are more status fields recorded from `Kind.identities(raw)` (ARN,
    URL) for references and people. `from_spec`: the spec field whose value is the key (S3
    bucket names, IAM role names), so the key is known before the create."""

    fields: tuple[str, ...] = ()
    from_spec: str | None = None


@dataclass(frozen=True)
class Tagging:
    """How the kind's resources carry tags. `Kind.tagging = None`: they carry none; the engine
    then neither adds owner tags nor offers `spec.tags`.

    at_create: the create call applies the tags it is given (else the engine applies them right
    after the create). in_description: `observe(raw)["tags"]` has them (else the engine calls
    `read_tags`). replaces_whole_set: the API sets the whole set at once (S3 PutBucketTagging):
    `set_tags` gets the complete result in `TagChange.result`. max_tags counts our owner tags
    too; keys under reserved_prefixes (besides ours) are refused in the spec and never touched."""

    at_create: bool = True
    in_description: bool = True
    replaces_whole_set: bool = False
    max_tags: int = 50
    reserved_prefixes: tuple[str, ...] = ("aws:",)


@dataclass(frozen=True)
class TagChange:
    """Tags to add (or change) and keys to remove; `result` is the complete set afterwards (None
    when the engine does not know it: only for add/remove APIs)."""

    add: Mapping[str, str]
    remove: frozenset[str]
    result: Mapping[str, str] | None = None

    def apply(self, add: Callable[[Any], Any], remove: Callable[[list[str]], Any], *,
              key: str | None = "Key", value: str = "Value") -> None:
        """For add/remove APIs: `remove(sorted keys)` when there are keys to remove, then
        `add(tags as [{key: k, value: v}])` (`key=None`: as a mapping, for the APIs that take one)
        when there are tags to add. Removing first keeps a resource near its tag limit (50 for
        most services) under it."""
        if self.remove:
            remove(sorted(self.remove))
        if self.add:
            add(tag_list(self.add, key, value) if key is not None else dict(self.add))


def tag_list(tags: Mapping[str, str], key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
    """Tags as most AWS APIs take them: [{"Key": k, "Value": v}] (KMS: TagKey/TagValue)."""
    return [{key: k, value: v} for k, v in tags.items()]


def tag_map(tags: list[Mapping[str, str]] | None, key: str = "Key", value: str = "Value") -> dict[str, str]:
    """Tags as AWS lists them, as a mapping."""
    return {t[key]: t[value] for t in tags or ()}


def tag_resource(client: Any, change: TagChange, *, key: str | None = "Key", value: str = "Value",
                 **resource: str) -> None:
    """The TagResource/UntagResource pair of the services whose tags are a list of {Key, Value}
    (KMS: TagKey, TagValue; `key=None`: a mapping, as API Gateway takes them) and keys TagKeys;
    `resource` is the call's key (SecretId=..., KeyId=...)."""
    change.apply(lambda tags: client.tag_resource(**resource, Tags=tags),
                 lambda keys: client.untag_resource(**resource, TagKeys=keys), key=key, value=value)


@dataclass(frozen=True)
class TokenFormat:
    """The idempotency token / CallerReference the API accepts. The engine derives it from the
    object's UID only (32 hex characters without dashes; never the generation), prefixed and cut
    to `max_length` (ACM: 32 word characters; EC2 ClientToken: 64 ASCII)."""

    max_length: int = 64
    prefix: str = ""

    def from_uid(self, uid: str) -> str:
        return (self.prefix + uid.replace("-", ""))[:self.max_length]


@dataclass(frozen=True)
class ErrorMatch:
    """An AWS error code, and optionally a regular expression its message must match (when the
    code alone is too broad, e.g. Lambda's InvalidParameterValueException for a fresh role).
    As a retryable error, `reason` names the Ready condition while it lasts (default
    AWSEventuallyConsistent) and `delay` the seconds before the retry when AWS says how long
    the wait is (SQS refuses a deleted queue's name for 60 s)."""

    code: str
    message: str | None = None
    reason: str | None = None
    delay: float | None = None

    def matches(self, code: str, message: str) -> bool:
        return code == self.code and (self.message is None or re.search(self.message, message) is not None)


@dataclass(frozen=True)
class SecretInput:
    """A spec field `<name>SecretRef` naming a Kubernetes Secret (same namespace). The engine
    reads it and hands the value to `create`/`update` only, as `desired[name]` wrapped in
    `SecretValue` (never logged, stored or hashed); it applies it on create and whenever the
    Secret changes (`name` then is in `changed`).

    `shape`: "string" (`{name, key}`: one key's text), "binary" (`{name, key}`: one key's bytes)
    or "json" (`{name, keys}`: a JSON object of several keys of one Secret, every key when
    `keys` is unset; `SecretValue.json_object`). Where AWS can read the value back, the kind's
    `observe` may report it under `name` (a SecretValue): the engine then compares the two in
    this process, and a difference the Secret did not cause is critical drift."""

    name: str
    description: str = ""
    required: bool = True
    shape: str = "string"
    # The spec field, when it is not `<name>SecretRef` (Secrets Manager's secretStringRef, the
    # original operator's name).
    spec_field: str | None = None
    # "Secret", or "ConfigMap" for a value that is not secret but lives in the cluster, read and
    # applied the same way (its `data` and `binaryData`; a Lambda function's zip package).
    source: str = "Secret"

    @property
    def field(self) -> str:
        return self.spec_field or f"{self.name}SecretRef"


@dataclass(frozen=True)
class SecretOutput:
    """A value AWS answers once, to the create call only (a generated private key), which the
    engine writes to a Kubernetes Secret the spec names (`<name>SecretRef: {name, key}`, same
    namespace), owned by the object: that Secret is the value's only copy. The kind hands it over
    from `generated_secret(created)`; the engine writes it before the create's run ends. When the
    write fails, or the Secret is later missing, not written for the resource in status, or
    lacks the key (a crash between the create and the write, a deletion out of band), the value
    is lost: the engine deletes the resource and creates it again (event SecretRegenerated; on a
    drift check, critical drift on the field). A Secret of that name that is not the object's is
    never overwritten (Ready=False reason SecretTaken, before any AWS call). Under Retain the
    Secret loses its owner reference and stays. The field is optional: without it the kind
    generates nothing (e.g. a key pair imported from a public key)."""

    name: str
    description: str = ""

    @property
    def field(self) -> str:
        return f"{self.name}SecretRef"


class SecretValue:
    """A secret's value (text or bytes): `reveal()` is the only way to it; repr and str hide it,
    and equality compares in constant time without exposing either side."""

    __slots__ = ("_value",)

    def __init__(self, value: str | bytes):
        self._value = value

    def reveal(self) -> str | bytes:
        return self._value

    @classmethod
    def json_object(cls, values: Mapping[str, str]) -> "SecretValue":
        """A JSON object of string values in one spelling (sorted keys, no spaces), so that the
        same content from a Secret and from AWS compares equal."""
        return cls(json.dumps(dict(values), sort_keys=True, separators=(",", ":")))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SecretValue):
            return NotImplemented
        mine, theirs = self._value, other._value
        as_bytes = [v.encode("utf-8", "surrogateescape") if isinstance(v, str) else v for v in (mine, theirs)]
        return type(mine) is type(theirs) and hmac.compare_digest(*as_bytes)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return "SecretValue(***)"

    __str__ = __repr__


@dataclass(frozen=True)
class Deletion:
    """Deletion variants. `policies` are the kind's extra deletionPolicy values besides Delete
    and Retain (RDS "Snapshot"); `default` the policy when the spec sets none (KMS: Retain);
    `force_field` a boolean spec field that overrides an AWS safety (S3 forceDestroy, added to
    the CRD by the engine); `protected` the errors AWS answers while its deletion protection
    holds: shown as Ready=False reason DeletionProtected and retried slowly, not an error loop.

    `scheduled`: AWS deletes only after a waiting period during which the resource can be
    restored (KMS pending window, Secrets Manager recovery window); `Kind.deletion_date(raw)`
    says when. A scheduled deletion releases the finalizer (event DeletionScheduled, the date in
    status); seen on a live object it is critical drift, healed by `Kind.restore`; an object
    re-created under the same namespace, name and kind (the owner tags) restores and adopts it.

    `keeping`: those of `policies` that leave the resource in AWS (EC2Instance "Stop"): the
    engine asks `delete` with the policy (which stops it, say), then retains the resource as
    under Retain (ownership tags removed) and releases the finalizer without waiting for it to
    go; dependents do not hold such a deletion."""

    policies: tuple[str, ...] = ()
    default: str = "Delete"
    keeping: tuple[str, ...] = ()
    force_field: str | None = None
    force_description: str = ""
    protected: tuple[ErrorMatch, ...] = ()
    scheduled: bool = False


class AWSClients(Protocol):
    """What a kind gets to talk to AWS: clients of its provider, and the region."""

    region: str

    def client(self, service: str, region: str | None = None) -> Any:
        """The provider's client for `service`: in `region`, else the provider's region (global
        services, IAM, CloudFront, Route 53, get their global endpoint)."""
        ...


class Kind:
    """Base of every kind module's class. Required: the class variables `kind`, `plural`,
    `identifier`, `description`, the spec schema, and the methods `desired`, `observe`,
    `identify`, `read`, `create`, `delete`. Everything else is a declared capability with a
    default the engine understands."""

    kind: ClassVar[str]
    plural: ClassVar[str]
    short_names: ClassVar[tuple[str, ...]] = ()
    description: ClassVar[str] = ""
    # The status field holding the key `read` takes (e.g. "allocationId", "roleName").
    identifier: ClassVar[str]
    identity: ClassVar[Identity] = Identity()
    # OpenAPI v3 properties of the kind's own spec fields (the engine adds providerRef,
    # deletionPolicy, tags, references, secret inputs, the force flag) and the required ones.
    spec_properties: ClassVar[Mapping[str, Any]] = {}
    spec_required: ClassVar[tuple[str, ...]] = ()
    # OpenAPI v3 properties of the kind's own status fields besides the identity fields and
    # those shown in printer columns (which are declared with the column's type).
    status_properties: ClassVar[Mapping[str, Any]] = {}
    # Extra printer columns: (name, jsonPath, type) besides Ready, the identifier and Age.
    printer_columns: ClassVar[tuple[tuple[str, str, str], ...]] = ()
    # CEL rules on the whole spec ({"rule": ..., "message": ...}); `validate` re-checks them,
    # since not every API server enforces CEL.
    spec_validations: ClassVar[tuple[Mapping[str, str], ...]] = ()
    drift_fields: ClassVar[tuple[DriftField, ...]] = ()
    references: ClassVar[tuple[Reference, ...]] = ()
    secret_inputs: ClassVar[tuple[SecretInput, ...]] = ()
    secret_output: ClassVar[SecretOutput | None] = None
    tagging: ClassVar[Tagging | None] = Tagging()
    adoption: ClassVar[Adoption] = Adoption.OWNER_TAG
    token: ClassVar[TokenFormat] = TokenFormat()
    deletion: ClassVar[Deletion] = Deletion()
    # Codes meaning "the resource `read` asked for does not exist", besides the generic ones
    # (`*.NotFound`, `*NotFound`, `*NotFoundException`, `*NotFoundFault`, `NoSuch*`, a bare 404).
    not_found_codes: ClassVar[frozenset[str]] = frozenset()
    # Rejections that are AWS's eventual consistency, not the user's mistake: retried with backoff.
    retryable_errors: ClassVar[tuple[ErrorMatch, ...]] = ()

    # -- required -------------------------------------------------------------------------

    def desired(self, spec: Mapping[str, Any]) -> State:
        """The comparable state the spec asks for (without tags and secrets; the engine adds
        them). Every Reference's filled fields are set."""
        raise NotImplementedError

    def inputs(self, aws: AWSClients, desired: State) -> None:
        """Complete `desired` in place with values only AWS can tell from the spec (the SHA-256
        of a Lambda function's code object in S3), read before every comparison; `desired` holds
        the secret inputs' values already. Default: none."""

    def observe(self, raw: Raw) -> State:
        """The comparable state of a description (same keys as `desired`; plus "tags" when
        `tagging.in_description`)."""
        raise NotImplementedError

    def identify(self, raw: Raw) -> str:
        """The key `read` takes, from a description."""
        raise NotImplementedError

    def read(self, aws: AWSClients, ident: str) -> Raw | None:
        """Describe by key. None only when the resource itself is absent (use `absent_if_missing`
        around the primary describe call) or in a terminal deleted state; a failure of any other
        call, a NotFound of a secondary call included, must raise."""
        raise NotImplementedError

    def create(self, aws: AWSClients, desired: State, tags: Mapping[str, str], token: str) -> Raw:
        """Create; apply `tags` when `tagging.at_create`; pass `token` where the API takes a
        ClientToken/CallerReference. Returns a description (`identify` must work on it)."""
        raise NotImplementedError

    def delete(self, aws: AWSClients, ident: str, raw: Raw, spec: Mapping[str, Any]) -> None:
        """Ask AWS to delete (the engine confirms it gone by reading again, later). `spec` holds
        `deletionPolicy` (one of the kind's `deletion.policies` or Delete) and the force flag.
        An already missing resource must not raise (a NotFound is fine: the engine takes it)."""
        raise NotImplementedError

    # -- optional ---------------------------------------------------------------------------

    def validate(self, spec: Mapping[str, Any], related: Mapping[str, Mapping[str, Any]]) -> None:
        """Checks the schema cannot express; raise TerminalError. `related` holds the status of
        each object a top-level reference names, by Reference.field, when it exists."""

    def status(self, raw: Raw) -> State:
        """Status fields besides the identity (e.g. the public IP)."""
        return {}

    def requested_status(self, aws: AWSClients, raw: Raw, spec: Mapping[str, Any]) -> State:
        """Status fields the spec asks for that cost an AWS call of their own (an instance's
        console output), read when the status is reported; None values clear them. Default: none."""
        return {}

    def identities(self, raw: Raw) -> State:
        """Values of `identity.fields` (ARN, URL) from a description."""
        return {}

    def available(self, raw: Raw) -> bool:
        """False while AWS still provisions the resource (the engine looks again after
        `provisioning_delay`; raise InProgress to choose the delay)."""
        return True

    def update(self, aws: AWSClients, ident: str, desired: State, raw: Raw,
               changed: frozenset[str]) -> None:
        """Apply the changed updatable fields and secret inputs (tags excluded: see `set_tags`);
        `raw` is the current description. Raise InProgress when AWS applies it over minutes."""

    def set_tags(self, aws: AWSClients, ident: str, change: TagChange) -> None:
        """Apply a tag change (only for kinds with `tagging`)."""
        raise NotImplementedError

    def read_tags(self, aws: AWSClients, ident: str, raw: Raw) -> dict[str, str]:
        """The resource's tags, when `tagging.in_description` is False."""
        raise NotImplementedError

    def find_all_owned(self, aws: AWSClients, owner_uid_tag: tuple[str, str]) -> list[Raw]:
        """Adoption.OWNER_TAG: every resource tagged as owned by this object, as one listing
        describes them: one after a crash between create and status write (adopted), more after
        a create whose answer was lost and that was made again (the engine deletes the extras)."""
        raise NotImplementedError

    def find_created(self, aws: AWSClients, desired: State, token: str) -> Raw | None:
        """Adoption.SPEC_NAME, TOKEN and PENDING_RECORD: the resource this object's create made
        or would make, looked up by the key known before the create. Default: `read` by the
        spec field `identity.from_spec`; kinds without one override it (CallerReference lists)."""
        key = desired.get(self.identity.from_spec) if self.identity.from_spec else None
        if key is None:
            raise NotImplementedError(f"{self.kind}: find_created needs identity.from_spec or an override")
        return self.read(aws, key)

    def list_managed(self, aws: AWSClients, managed_tag: tuple[str, str]) -> list[Raw] | None:
        """Every resource of this kind carrying the managed-by tag, in as few (paged) calls as
        the API allows: the describe cache's snapshot. None: every drift check reads by key."""
        return None

    def complete(self, aws: AWSClients, listed: Raw) -> Raw | None:
        """What `read` would return for a description from `list_managed`."""
        return listed

    def held(self, aws: AWSClients, owner_uid_tag: tuple[str, str]) -> list[str]:
        """AWS ids of resources the kind created alongside the main one, tagged as owned by the
        object (a NAT gateway's own address): released once the main one is confirmed gone,
        their ownership tags removed on Retain."""
        return []

    def release_held(self, aws: AWSClients, ident: str) -> None:
        """Delete one resource from `held`; an already missing one must not raise."""
        raise NotImplementedError

    def deletion_date(self, raw: Raw) -> str | None:
        """`deletion.scheduled` kinds: when AWS will delete the described resource (RFC 3339),
        None while no deletion is scheduled."""
        return None

    def restore(self, aws: AWSClients, ident: str, raw: Raw) -> None:
        """`deletion.scheduled` kinds: cancel the scheduled deletion."""
        raise NotImplementedError

    def generated_secret(self, created: Raw) -> SecretValue:
        """`secret_output` kinds: the generated value in `create`'s answer (which should carry
        it as a SecretValue, so that no repr shows it)."""
        raise NotImplementedError

    # -- helpers for kinds ----------------------------------------------------------------

    @staticmethod
    def timestamp(value: datetime | None) -> str | None:
        """A date AWS answered (botocore gives datetimes) as an RFC 3339 UTC status value."""
        if value is None:
            return None
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    def absent_if_missing(self, call: Callable[..., Any], **params: Any) -> Any:
        """The answer of the primary describe call, or None when AWS says the resource it asks
        for does not exist (the kind's `not_found_codes` or a generic not-found code)."""
        try:
            return call(**params)
        except Exception as exc:
            if is_not_found(exc, self.not_found_codes):
                return None
            raise

