"""What every EC2-backed kind shares: describe by id or owner tag, tags, tag specifications,
attribute calls. A kind sets the describe call's names; this base does the calls."""

from __future__ import annotations

import ipaddress
from typing import Any, ClassVar, Mapping

from ..engine.delta import tags_from_aws
from ..engine.errors import TerminalError
from ..engine.kind import AWSClients, Kind, Raw

# EC2 ids: a prefix, a dash, 8 or 17 hex digits.
ID_PATTERN = "^{}-[0-9a-f]{{8}}([0-9a-f]{{9}})?$"
CIDR_PATTERN = r"^([0-9]{1,3}\.){3}[0-9]{1,3}/([0-9]|[12][0-9]|3[0-2])$"
IPV6_CIDR_PATTERN = r"^[0-9a-fA-F:]+/([0-9]|[1-9][0-9]|1[01][0-9]|12[0-8])$"


def aws_tags(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def describe_owned(aws: AWSClients, call: str, list_key: str, owner_uid_tag: tuple[str, str]) -> list[Raw]:
    """Descriptions tagged as owned by one object. The tag is re-checked here because not every
    describe call honours `tag:` filters (moto's DescribeNatGateways ignores them)."""
    key, value = owner_uid_tag
    found = getattr(aws.client("ec2"), call)(Filters=[{"Name": f"tag:{key}", "Values": [value]}])[list_key]
    return [raw for raw in found if tags_from_aws(raw.get("Tags")).get(key) == value]


def modify_attributes(aws: AWSClients, call: str, id_param: str, ident: str, values: Mapping[str, bool]) -> None:
    """One Modify*Attribute call per boolean attribute (EC2 takes one at a time), in the given
    order; state keys are the attribute names in camelCase (`enableDnsSupport`)."""
    modify = getattr(aws.client("ec2"), call)
    for name, value in values.items():
        modify(**{id_param: ident, name[0].upper() + name[1:]: {"Value": value}})


def check_prefix(field: str, cidr: str, shortest: int = 16, longest: int = 28) -> ipaddress.IPv4Network:
    """An IPv4 CIDR block with a prefix length AWS accepts for VPCs and subnets."""
    try:
        network = ipaddress.IPv4Network(cidr)
    except ValueError as exc:
        raise TerminalError(f"spec.{field} {cidr!r} is not a network address: {exc}", reason="InvalidCidr") from exc
    if not shortest <= network.prefixlen <= longest:
        raise TerminalError(f"spec.{field} {cidr} must have a prefix length between /{shortest} and /{longest}",
                            reason="InvalidCidr")
    return network


class EC2Kind(Kind):
    # e.g. "describe_addresses", "Addresses", "AllocationIds", "AllocationId", "elastic-ip"
    describe_call: ClassVar[str]
    describe_list_key: ClassVar[str]
    describe_ids_param: ClassVar[str]
    id_key: ClassVar[str]
    tag_resource_type: ClassVar[str]

    def identify(self, raw: Raw) -> str:
        return raw[self.id_key]

    def observed_tags(self, raw: Raw) -> dict[str, str]:
        return tags_from_aws(raw.get("Tags"))

    def read(self, aws: AWSClients, ident: str) -> Raw | None:
        found = getattr(aws.client("ec2"), self.describe_call)(**{self.describe_ids_param: [ident]})
        return self._first_present(aws, found[self.describe_list_key])

    def find_owned(self, aws: AWSClients, owner_uid_tag: tuple[str, str]) -> Raw | None:
        return self._first_present(aws, describe_owned(aws, self.describe_call, self.describe_list_key, owner_uid_tag))

    def _first_present(self, aws: AWSClients, found: list[Raw]) -> Raw | None:
        present = [raw for raw in found if self.present(raw)]
        return self.describe_more(aws, present[0]) if present else None

    def present(self, raw: Raw) -> bool:
        """False for descriptions of resources in a terminal deleted state."""
        return True

    def describe_more(self, aws: AWSClients, raw: Raw) -> Raw:
        """The description completed with what the describe call leaves out (attributes)."""
        return raw

    def tag_specifications(self, tags: Mapping[str, str], resource_type: str | None = None) -> list[dict[str, Any]]:
        return [{"ResourceType": resource_type or self.tag_resource_type, "Tags": aws_tags(tags)}]

    def set_tags(self, aws: AWSClients, ident: str, add: Mapping[str, str], remove: frozenset[str]) -> None:
        ec2 = aws.client("ec2")
        if remove:
            ec2.delete_tags(Resources=[ident], Tags=[{"Key": k} for k in sorted(remove)])
        if add:
            ec2.create_tags(Resources=[ident], Tags=aws_tags(add))
