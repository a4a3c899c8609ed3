"""Owner-tag lookups shared by kinds of many services: the Resource Groups Tagging API answers
"which resources carry this tag" for most services in one (paged) call. Not for IAM roles (AWS
does not cover them) nor, in moto 5.2.5, ECR, EKS, API Gateway, Route 53 and ELB listeners."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from .kind import AWSClients, Raw


def tagged_arns(aws: AWSClients, resource_types: list[str], tag: tuple[str, str],
                region: str | None = None) -> list[str]:
    """ARNs of the resources of `resource_types` ("sqs", "dynamodb:table", "acm:certificate")
    carrying the tag (key, value): the adoption lookup of Adoption.OWNER_TAG kinds outside EC2."""
    key, value = tag
    mappings = paginated(aws.client("resourcegroupstaggingapi", region), "get_resources", "ResourceTagMappingList",
                         TagFilters=[{"Key": key, "Values": [value]}], ResourceTypeFilters=resource_types)
    return [mapping["ResourceARN"] for mapping in mappings]


def read_tagged(aws: AWSClients, read: Callable[[AWSClients, str], Raw | None], resource_types: list[str],
                tag: tuple[str, str]) -> list[Raw]:
    """The resources carrying the tag, each as `read(aws, arn)` describes it (those gone since the
    tag lookup left out): `find_all_owned` of the kinds whose `read` takes an ARN."""
    found = [read(aws, arn) for arn in tagged_arns(aws, resource_types, tag)]
    return [raw for raw in found if raw is not None]


def paginated(client: Any, operation: str, key: str, **params: Any) -> Iterator[Any]:
    """Every item under `key` in every page of a paged `operation` (e.g. "list_aliases", "Aliases"),
    the next page asked for only when the items before are used."""
    for page in client.get_paginator(operation).paginate(**params):
        yield from page[key]
