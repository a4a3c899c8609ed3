"""Owner-tag lookups shared by kinds of many services: the Resource Groups Tagging API answers
"which resources carry this tag" for most services in one (paged) call. Not for IAM roles (AWS
does not cover them) nor, in moto 5.2.5, ECR, EKS, API Gateway, Route 53 and ELB listeners."""

from __future__ import annotations

from .kind import AWSClients


def tagged_arns(aws: AWSClients, resource_types: list[str], tag: tuple[str, str],
                region: str | None = None) -> list[str]:
    """ARNs of the resources of `resource_types` ("sqs", "dynamodb:table", "acm:certificate")
    carrying the tag (key, value): the adoption lookup of Adoption.OWNER_TAG kinds outside EC2."""
    key, value = tag
    pages = aws.client("resourcegroupstaggingapi", region).get_paginator("get_resources").paginate(
        TagFilters=[{"Key": key, "Values": [value]}], ResourceTypeFilters=resource_types)
    return [mapping["ResourceARN"] for page in pages for mapping in page["ResourceTagMappingList"]]
