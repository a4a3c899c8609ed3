"""What every EC2-backed kind shares: describe by id or owner tag, tags, tag specifications.
A kind sets the describe call's names; this base does the calls."""

from __future__ import annotations

from typing import Any, ClassVar, Mapping

from ..engine.delta import tags_from_aws
from ..engine.kind import AWSClients, Kind, Raw


def aws_tags(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


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
        return self._describe_one(aws, **{self.describe_ids_param: [ident]})

    def find_owned(self, aws: AWSClients, owner_uid_tag: tuple[str, str]) -> Raw | None:
        key, value = owner_uid_tag
        return self._describe_one(aws, Filters=[{"Name": f"tag:{key}", "Values": [value]}])

    def _describe_one(self, aws: AWSClients, **kwargs: Any) -> Raw | None:
        found = [r for r in getattr(aws.client("ec2"), self.describe_call)(**kwargs)[self.describe_list_key]
                 if self.present(r)]
        return found[0] if found else None

    def present(self, raw: Raw) -> bool:
        """False for descriptions of resources in a terminal deleted state."""
        return True

    def tag_specifications(self, tags: Mapping[str, str]) -> list[dict[str, Any]]:
        return [{"ResourceType": self.tag_resource_type, "Tags": aws_tags(tags)}]

    def set_tags(self, aws: AWSClients, ident: str, add: Mapping[str, str], remove: frozenset[str]) -> None:
        ec2 = aws.client("ec2")
        if remove:
            ec2.delete_tags(Resources=[ident], Tags=[{"Key": k} for k in sorted(remove)])
        if add:
            ec2.create_tags(Resources=[ident], Tags=aws_tags(add))
