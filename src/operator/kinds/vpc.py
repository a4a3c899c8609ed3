"""VPC: a virtual private cloud with its DNS attributes."""

from __future__ import annotations

from typing import Any, Mapping

from ..engine.kind import AWSClients, DriftField, Raw, Severity, State
from ..provider.errors import TerminalError
from ..services.ec2 import CIDR_PATTERN, EC2Kind, EC2Resource, check_prefix, modify_attributes

DNS = ("enableDnsSupport", "enableDnsHostnames")
HOSTNAMES_NEED_SUPPORT = "enableDnsHostnames needs enableDnsSupport"


class VPC(EC2Kind):
    kind = "VPC"
    plural = "vpcs"
    short_names = ("vpc",)
    description = "A VPC with an IPv4 CIDR block."
    identifier = "vpcId"
    spec_properties = {
        "cidrBlock": {"type": "string", "pattern": CIDR_PATTERN,
                      "description": "IPv4 CIDR block, /16 to /28; cannot change after creation."},
        "enableDnsSupport": {"type": "boolean", "default": True,
                             "description": "Whether the Amazon DNS server resolves in this VPC."},
        "enableDnsHostnames": {"type": "boolean", "default": False,
                               "description": "Whether instances get public DNS hostnames (needs DNS support)."},
        "instanceTenancy": {"type": "string", "enum": ["default", "dedicated"], "default": "default",
                            "description": "Tenancy of instances launched here; cannot change after creation."},
    }
    spec_required = ("cidrBlock",)
    spec_validations = ({"rule": "!self.enableDnsHostnames || self.enableDnsSupport",
                         "message": HOSTNAMES_NEED_SUPPORT},)
    printer_columns = (("CIDR", ".status.cidrBlock", "string"),)
    drift_fields = (
        DriftField("cidrBlock", Severity.CRITICAL, updatable=False),
        DriftField("instanceTenancy", Severity.WARNING, updatable=False),
        DriftField("enableDnsSupport", Severity.WARNING),
        DriftField("enableDnsHostnames", Severity.WARNING),
    )
    resource = EC2Resource.named("Vpc", "vpc")

    def validate(self, spec: Mapping[str, Any], related: Mapping[str, Mapping[str, Any]]) -> None:
        check_prefix("cidrBlock", spec["cidrBlock"])
        if spec.get("enableDnsHostnames") and not spec.get("enableDnsSupport", True):
            raise TerminalError(HOSTNAMES_NEED_SUPPORT)

    def desired(self, spec: Mapping[str, Any]) -> State:
        return {
            "cidrBlock": spec["cidrBlock"],
            "instanceTenancy": spec.get("instanceTenancy", "default"),
            "enableDnsSupport": spec.get("enableDnsSupport", True),
            "enableDnsHostnames": spec.get("enableDnsHostnames", False),
        }

    def observe(self, raw: Raw) -> State:
        return {
            "cidrBlock": raw.get("CidrBlock"),
            "instanceTenancy": raw.get("InstanceTenancy"),
            **{name: raw.get(name) for name in DNS},
            "tags": self.observed_tags(raw),
        }

    def describe_more(self, aws: AWSClients, raw: Raw) -> Raw:
        ec2 = aws.client("ec2")
        attributes = {}
        for name in DNS:
            answer = ec2.describe_vpc_attribute(VpcId=raw["VpcId"], Attribute=name)
            attributes[name] = answer[name[0].upper() + name[1:]]["Value"]
        return {**raw, **attributes}

    def status(self, raw: Raw) -> State:
        return {"cidrBlock": raw.get("CidrBlock")}

    def available(self, raw: Raw) -> bool:
        return raw.get("State") == "available"

    def create(self, aws: AWSClients, desired: State, tags: Mapping[str, str], token: str) -> Raw:
        return aws.client("ec2").create_vpc(CidrBlock=desired["cidrBlock"], InstanceTenancy=desired["instanceTenancy"],
                                            TagSpecifications=self.tag_specifications(tags))["Vpc"]

    def update(self, aws: AWSClients, ident: str, desired: State, raw: Raw, changed: frozenset[str]) -> None:
        # Hostnames need DNS support: turn support on first, and off last.
        order = DNS if desired["enableDnsSupport"] else tuple(reversed(DNS))
        modify_attributes(aws, "modify_vpc_attribute", "VpcId", ident,
                          {name: desired[name] for name in order if name in changed})

    def delete(self, aws: AWSClients, ident: str, raw: Raw, spec: Mapping[str, Any]) -> None:
        aws.client("ec2").delete_vpc(VpcId=ident)
