"""ElasticIP: an Elastic IP address allocation."""

from __future__ import annotations

from typing import Any, Mapping

from ..engine.kind import AWSClients, DriftField, Raw, Severity, State
from ..services.ec2 import EC2Kind, EC2Resource


class ElasticIP(EC2Kind):
    kind = "ElasticIP"
    plural = "elasticips"
    short_names = ("eip",)
    description = "An Elastic IP address allocated in the provider's region."
    identifier = "allocationId"
    spec_properties = {
        "domain": {"type": "string", "enum": ["vpc", "standard"], "default": "vpc",
                   "description": "Address domain; cannot change after allocation."},
        "publicIpv4Pool": {"type": "string", "pattern": r"^(amazon|ipv4pool-ec2-[0-9a-f]{8,17})$",
                           "description": "Pool to allocate from (amazon, or a BYOIP pool id)."},
        "networkBorderGroup": {"type": "string", "minLength": 1, "maxLength": 64,
                               "description": "Network border group (Local Zones); defaults to the region."},
    }
    printer_columns = (("Public IP", ".status.publicIp", "string"),)
    drift_fields = (
        DriftField("domain", Severity.CRITICAL, updatable=False),
        DriftField("publicIpv4Pool", Severity.CRITICAL, updatable=False),
        DriftField("networkBorderGroup", Severity.CRITICAL, updatable=False),
    )
    resource = EC2Resource("describe_addresses", "Addresses", "AllocationIds", "AllocationId", "elastic-ip")

    def desired(self, spec: Mapping[str, Any]) -> State:
        return {
            "domain": spec.get("domain", "vpc"),
            "publicIpv4Pool": spec.get("publicIpv4Pool"),
            "networkBorderGroup": spec.get("networkBorderGroup"),
        }

    def observe(self, raw: Raw) -> State:
        return {
            "domain": raw.get("Domain"),
            "publicIpv4Pool": raw.get("PublicIpv4Pool"),
            "networkBorderGroup": raw.get("NetworkBorderGroup"),
            "tags": self.observed_tags(raw),
        }

    def status(self, raw: Raw) -> State:
        return {"publicIp": raw.get("PublicIp")}

    def create(self, aws: AWSClients, desired: State, tags: Mapping[str, str], token: str) -> Raw:
        params: dict[str, Any] = {"Domain": desired["domain"], "TagSpecifications": self.tag_specifications(tags)}
        if desired.get("publicIpv4Pool"):
            params["PublicIpv4Pool"] = desired["publicIpv4Pool"]
        if desired.get("networkBorderGroup"):
            params["NetworkBorderGroup"] = desired["networkBorderGroup"]
        return aws.client("ec2").allocate_address(**params)

    def delete(self, aws: AWSClients, ident: str, raw: Raw, spec: Mapping[str, Any]) -> None:
        ec2 = aws.client("ec2")
        if raw.get("AssociationId"):
            ec2.disassociate_address(AssociationId=raw["AssociationId"])
        ec2.release_address(AllocationId=ident)
