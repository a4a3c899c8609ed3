"""Subnet groups a kind makes for its resource from the spec's subnets (`subnetRefs`): an RDS DB
subnet group, an ElastiCache cache subnet group. Both APIs have the same shape; `SubnetGroups`
names the service's calls and does them.

The group is named from the object's UID alone, so that a crash between the group's create and
the resource's finds the group again (no second group) and `Kind.held` finds it from the owner
tag's UID; it carries the owner tags; it is changed in place when the subnets change; as a held
resource it loses its ownership tags on Retain and goes after the resource on Delete."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ..provider.errors import is_not_found
from .kind import AWSClients, Raw, tag_list

NAME_PREFIX = "infra-operator-"


@dataclass(frozen=True)
class SubnetGroups:
    # The boto3 service ("rds", "elasticache") and the API's noun ("DB", "Cache": CreateDBSubnetGroup,
    # DBSubnetGroupName, DBSubnetGroups); `arn_key` is the ARN's key in a description.
    service: str
    noun: str
    arn_key: str

    @staticmethod
    def name(uid: str) -> str:
        """The group's name for the object of this UID (47 characters, valid for RDS and ElastiCache)."""
        return NAME_PREFIX + uid.replace("-", "")

    @staticmethod
    def named_here(name: str) -> bool:
        """Whether a group's name is one `name` gives (a group this operator made for an object)."""
        return name.startswith(NAME_PREFIX)

    @staticmethod
    def subnets(raw: Mapping[str, Any] | None) -> list[str]:
        """The subnet ids of a group's description, sorted."""
        return sorted(s["SubnetIdentifier"] for s in (raw or {}).get("Subnets") or ())

    def _call(self, verb: str, aws: AWSClients, **params: Any) -> Any:
        method = f"{verb}_{self.noun.lower()}_subnet_group{'s' if verb == 'describe' else ''}"
        return getattr(aws.client(self.service), method)(**params)

    def _named(self, name: str) -> dict[str, str]:
        return {f"{self.noun}SubnetGroupName": name}

    def describe(self, aws: AWSClients, name: str) -> Raw | None:
        try:
            answer = self._call("describe", aws, **self._named(name))
        except Exception as exc:
            if is_not_found(exc):
                return None
            raise
        return next(iter(answer[f"{self.noun}SubnetGroups"]), None)

    def ensure(self, aws: AWSClients, uid: str, subnet_ids: list[str], tags: Mapping[str, str],
               description: str) -> str:
        """The object's group with these subnets: created (with `tags`), or found from an earlier
        run and changed to these subnets where they differ. Returns its name."""
        name = self.name(uid)
        found = self.describe(aws, name)
        if found is None:
            self._call("create", aws, **self._named(name), **{f"{self.noun}SubnetGroupDescription": description},
                       SubnetIds=list(subnet_ids), Tags=tag_list(tags))
        elif self.subnets(found) != sorted(subnet_ids):
            self.modify(aws, name, subnet_ids, description)
        return name

    def modify(self, aws: AWSClients, name: str, subnet_ids: list[str], description: str) -> None:
        self._call("modify", aws, **self._named(name), **{f"{self.noun}SubnetGroupDescription": description},
                   SubnetIds=list(subnet_ids))

    def held(self, aws: AWSClients, owner_uid_tag: tuple[str, str]) -> list[str]:
        """`Kind.held`: the ARN of the object's group, when it exists."""
        found = self.describe(aws, self.name(owner_uid_tag[1]))
        return [found[self.arn_key]] if found else []

    def release(self, aws: AWSClients, arn: str) -> None:
        """`Kind.release_held`: delete the group (by the name its ARN ends with)."""
        self._call("delete", aws, **self._named(arn.rsplit(":", 1)[1]))
