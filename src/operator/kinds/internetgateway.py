"""InternetGateway: an internet gateway and its attachment to (at most) one VPC."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping

from ..engine.kind import AWSClients, DriftField, Raw, Severity, State
from ..services.ec2 import VPC_REF, EC2Kind, EC2Resource

DETACHED = ""


class InternetGateway(EC2Kind):
    kind = "InternetGateway"
    plural = "internetgateways"
    short_names = ("igw",)
    description = "An internet gateway, attached to the VPC the spec names (detached when it names none)."
    identifier = "internetGatewayId"
    references = (replace(VPC_REF, required=False),)
    printer_columns = (("VPC", ".status.vpcId", "string"),)
    drift_fields = (DriftField("vpcId", Severity.CRITICAL),)
    resource = EC2Resource.named("InternetGateway", "internet-gateway")

    def desired(self, spec: Mapping[str, Any]) -> State:
        return {"vpcId": spec.get("vpcId") or DETACHED}

    def observe(self, raw: Raw) -> State:
        return {"vpcId": self._attached(raw) or DETACHED, "tags": self.observed_tags(raw)}

    def status(self, raw: Raw) -> State:
        return {"vpcId": self._attached(raw)}

    @staticmethod
    def _attached(raw: Raw) -> str | None:
        return next((a["VpcId"] for a in raw.get("Attachments") or () if a.get("State") != "detached"), None)

    def create(self, aws: AWSClients, desired: State, tags: Mapping[str, str], token: str) -> Raw:
        ec2 = aws.client("ec2")
        return ec2.create_internet_gateway(TagSpecifications=self.tag_specifications(tags))["InternetGateway"]

    def update(self, aws: AWSClients, ident: str, desired: State, raw: Raw, changed: frozenset[str]) -> None:
        self._detach(aws, ident, raw)
        if desired["vpcId"]:
            aws.client("ec2").attach_internet_gateway(InternetGatewayId=ident, VpcId=desired["vpcId"])

    def delete(self, aws: AWSClients, ident: str, raw: Raw, spec: Mapping[str, Any]) -> None:
        self._detach(aws, ident, raw)
        aws.client("ec2").delete_internet_gateway(InternetGatewayId=ident)

    def _detach(self, aws: AWSClients, ident: str, raw: Raw) -> None:
        attached = self._attached(raw)
        if attached:
            aws.client("ec2").detach_internet_gateway(InternetGatewayId=ident, VpcId=attached)
