"""Subnet: an IPv4 subnet of a VPC, named by reference to a VPC object or by id."""

from __future__ import annotations

import ipaddress
from typing import Any, Mapping

from ..engine.kind import AWSClients, DriftField, Raw, Severity, State
from ..provider.errors import TerminalError
from ..services.ec2 import CIDR_PATTERN, VPC_REF, EC2Kind, EC2Resource, check_prefix, modify_attributes

PUBLIC_IP = "mapPublicIpOnLaunch"


class Subnet(EC2Kind):
    kind = "Subnet"
    plural = "subnets"
    short_names = ("subnet",)
    description = "An IPv4 subnet of a VPC in one availability zone."
    identifier = "subnetId"
    references = (VPC_REF,)
    spec_properties = {
        "cidrBlock": {"type": "string", "pattern": CIDR_PATTERN,
                      "description": "IPv4 CIDR block inside the VPC's, /16 to /28; cannot change after creation."},
        "availabilityZone": {"type": "string", "pattern": "^[a-z]{2}(-[a-z]+)+-[0-9][a-z]$",
                             "description": "Availability zone (AWS picks one when unset); cannot change."},
        PUBLIC_IP: {"type": "boolean", "default": False,
                    "description": "Whether instances launched here get a public IPv4 address."},
    }
    spec_required = ("cidrBlock",)
    printer_columns = (("VPC", ".status.vpcId", "string"), ("CIDR", ".status.cidrBlock", "string"),
                       ("AZ", ".status.availabilityZone", "string"))
    drift_fields = (
        DriftField("vpcId", Severity.CRITICAL, updatable=False),
        DriftField("cidrBlock", Severity.CRITICAL, updatable=False),
        DriftField("availabilityZone", Severity.CRITICAL, updatable=False),
        DriftField(PUBLIC_IP, Severity.WARNING),
    )
    resource = EC2Resource.named("Subnet", "subnet")

    def validate(self, spec: Mapping[str, Any], related: Mapping[str, Mapping[str, Any]]) -> None:
        network = check_prefix("cidrBlock", spec["cidrBlock"])
        vpc_cidr = (related.get("vpcRef") or {}).get("cidrBlock")
        if vpc_cidr and not network.subnet_of(ipaddress.IPv4Network(vpc_cidr)):
            raise TerminalError(f"spec.cidrBlock {network} is not inside the VPC's {vpc_cidr}",
                                reason="CidrOutsideVpc")

    def desired(self, spec: Mapping[str, Any]) -> State:
        return {
            "vpcId": spec["vpcId"],
            "cidrBlock": spec["cidrBlock"],
            "availabilityZone": spec.get("availabilityZone"),
            PUBLIC_IP: spec.get(PUBLIC_IP, False),
        }

    def observe(self, raw: Raw) -> State:
        return {
            "vpcId": raw.get("VpcId"),
            "cidrBlock": raw.get("CidrBlock"),
            "availabilityZone": raw.get("AvailabilityZone"),
            PUBLIC_IP: raw.get("MapPublicIpOnLaunch"),
            "tags": self.observed_tags(raw),
        }

    def status(self, raw: Raw) -> State:
        return {"vpcId": raw.get("VpcId"), "cidrBlock": raw.get("CidrBlock"),
                "availabilityZone": raw.get("AvailabilityZone")}

    def available(self, raw: Raw) -> bool:
        return raw.get("State") == "available"

    def create(self, aws: AWSClients, desired: State, tags: Mapping[str, str], token: str) -> Raw:
        params: dict[str, Any] = {"VpcId": desired["vpcId"], "CidrBlock": desired["cidrBlock"],
                                  "TagSpecifications": self.tag_specifications(tags)}
        if desired["availabilityZone"]:
            params["AvailabilityZone"] = desired["availabilityZone"]
        return aws.client("ec2").create_subnet(**params)["Subnet"]

    def update(self, aws: AWSClients, ident: str, desired: State, raw: Raw, changed: frozenset[str]) -> None:
        modify_attributes(aws, "modify_subnet_attribute", "SubnetId", ident,
                          {name: desired[name] for name in changed})

    def delete(self, aws: AWSClients, ident: str, raw: Raw, spec: Mapping[str, Any]) -> None:
        aws.client("ec2").delete_subnet(SubnetId=ident)
