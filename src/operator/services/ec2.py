"""What every EC2-backed kind shares: describe by id or owner tag, tags, tag specifications,
attribute calls. A kind sets the describe call's names; this base does the calls."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

from ..engine.delta import tags_from_aws
from ..engine.kind import AWSClients, Kind, Raw, Reference, TagChange
from ..provider.errors import TerminalError

# EC2 ids: a prefix, a dash, 8 or 17 hex digits.
ID_PATTERN = "^{}-[0-9a-f]{{8}}([0-9a-f]{{9}})?$"
CIDR_PATTERN = r"^([0-9]{1,3}\.){3}[0-9]{1,3}/([0-9]|[12][0-9]|3[0-2])$"
IPV6_CIDR_PATTERN = r"^[0-9a-fA-F:]+/([0-9]|[1-9][0-9]|1[01][0-9]|12[0-8])$"
# The VPC most network kinds live in: a VPC object or a VPC id.
VPC_REF = Reference("vpcRef", "VPC", "vpcId", ID_PATTERN.format("vpc"))
SUBNET_REF = Reference("subnetRef", "Subnet", "subnetId", ID_PATTERN.format("subnet"))


def aws_tags(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def describe_tagged(aws: AWSClients, call: str, list_key: str, tag: tuple[str, str], item_key: str | None = None,
                    **more: Any) -> list[Raw]:
    """Every description carrying the tag (key, value), all pages of them where the call pages
    (`item_key`: as in EC2Resource; `more`: further parameters of the call). The tag is re-checked
    here because not every describe call honours `tag:` filters (moto's DescribeNatGateways ignores them)."""
    key, value = tag
    ec2 = aws.client("ec2")
    params = {"Filters": [{"Name": f"tag:{key}", "Values": [value]}], **more}
    if ec2.can_paginate(call):
        pages = ec2.get_paginator(call).paginate(**params)
    else:
        pages = [getattr(ec2, call)(**params)]
    return [raw for page in pages for raw in listed(page, list_key, item_key)
            if tags_from_aws(raw.get("Tags")).get(key) == value]


def listed(answer: Mapping[str, Any], list_key: str, item_key: str | None = None) -> list[Raw]:
    """The descriptions in a describe call's answer (`item_key`: as in EC2Resource)."""
    return [raw for entry in answer[list_key] for raw in (entry[item_key] if item_key else [entry])]


def modify_attributes(aws: AWSClients, call: str, id_param: str, ident: str, values: Mapping[str, bool]) -> None:
    """One Modify*Attribute call per boolean attribute (EC2 takes one at a time), in the given
    order; state keys are the attribute names in camelCase (`enableDnsSupport`)."""
    modify = getattr(aws.client("ec2"), call)
    for name, value in values.items():
        modify(**{id_param: ident, name[0].upper() + name[1:]: {"Value": value}})


def network_problem(cidr: str) -> str | None:
    """Why a CIDR block (IPv4 or IPv6) that passed the schema's pattern is not a network
    address AWS takes as written (octets over 255, host bits set); None when it is one. AWS
    would refuse it, or store it normalised so that it never matches the spec again."""
    try:
        ipaddress.ip_network(cidr)
    except ValueError as exc:
        return f"{cidr!r} is not a network address: {exc}"
    return None


def check_prefix(field: str, cidr: str, shortest: int = 16, longest: int = 28) -> ipaddress.IPv4Network:
    """An IPv4 CIDR block with a prefix length AWS accepts for VPCs and subnets."""
    problem = network_problem(cidr)
    if problem:
        raise TerminalError(f"spec.{field} {problem}", reason="InvalidCidr")
    network = ipaddress.IPv4Network(cidr)
    if not shortest <= network.prefixlen <= longest:
        raise TerminalError(f"spec.{field} {cidr} must have a prefix length between /{shortest} and /{longest}",
                            reason="InvalidCidr")
    return network


@dataclass(frozen=True)
class EC2Resource:
    """How the EC2 API names one resource type: its describe call, the list in the answer, the
    ids parameter, the id key, the TagSpecifications resource type, and where the answer's
    entries hold the resources (DescribeInstances: reservations, each with its instances) the
    list within each entry."""

    describe: str
    list_key: str
    ids_param: str
    id_key: str
    tag_type: str
    item_key: str | None = None

    def items(self, answer: Mapping[str, Any]) -> list[Raw]:
        """The descriptions in a describe call's answer."""
        return listed(answer, self.list_key, self.item_key)

    @classmethod
    def named(cls, noun: str, tag_type: str) -> "EC2Resource":
        """The regular names, e.g. "RouteTable": describe_route_tables, RouteTables, RouteTableIds, RouteTableId."""
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", noun).lower()
        return cls(f"describe_{snake}s", f"{noun}s", f"{noun}Ids", f"{noun}Id", tag_type)


class EC2Kind(Kind):
    resource: ClassVar[EC2Resource]
    # Parameters every describe of the kind passes (e.g. IncludePublicKey for key pairs).
    describe_params: ClassVar[Mapping[str, Any]] = {}

    def identify(self, raw: Raw) -> str:
        return raw[self.resource.id_key]

    def observed_tags(self, raw: Raw) -> dict[str, str]:
        return tags_from_aws(raw.get("Tags"))

    def read(self, aws: AWSClients, ident: str) -> Raw | None:
        found = self.absent_if_missing(getattr(aws.client("ec2"), self.resource.describe),
                                       **{self.resource.ids_param: [ident]}, **self.describe_params)
        return self._first_present(aws, self.resource.items(found)) if found else None

    def find_all_owned(self, aws: AWSClients, owner_uid_tag: tuple[str, str]) -> list[Raw]:
        return self.list_managed(aws, owner_uid_tag)

    def list_managed(self, aws: AWSClients, managed_tag: tuple[str, str]) -> list[Raw]:
        return [raw for raw in describe_tagged(aws, self.resource.describe, self.resource.list_key, managed_tag,
                                               self.resource.item_key, **self.describe_params) if self.present(raw)]

    def complete(self, aws: AWSClients, listed: Raw) -> Raw | None:
        return self._first_present(aws, [listed])

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
        return [{"ResourceType": resource_type or self.resource.tag_type, "Tags": aws_tags(tags)}]

    def set_tags(self, aws: AWSClients, ident: str, change: TagChange) -> None:
        ec2 = aws.client("ec2")
        change.apply(lambda tags: ec2.create_tags(Resources=[ident], Tags=aws_tags(tags)),
                     lambda keys: ec2.delete_tags(Resources=[ident], Tags=[{"Key": k} for k in keys]), key=None)


def placement_references(subnets_required: bool) -> tuple[Reference, Reference]:
    """A resource placed in a VPC by subnets and security groups, named as every placed kind
    names them: `subnetRefs` (our objects) or `subnetIds`, `securityGroupRefs` or `securityGroupIds`."""
    return (Reference("subnetRefs", "Subnet", "subnetIds", ID_PATTERN.format("subnet"), required=subnets_required,
                      many=True),
            Reference("securityGroupRefs", "SecurityGroup", "securityGroupIds", ID_PATTERN.format("sg"),
                      required=False, many=True))
