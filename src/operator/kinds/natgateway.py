"""NATGateway: a NAT gateway in a subnet. A public one uses the Elastic IP the spec names, or
allocates one of its own, which it releases when the gateway is deleted."""

from __future__ import annotations

from typing import Any, Mapping

from ..engine.delta import OWNER_UID
from ..engine.kind import AWSClients, DriftField, Raw, Reference, Severity, State
from ..provider.errors import RetryableError, TerminalError
from ..services.ec2 import ID_PATTERN, SUBNET_REF, EC2Kind, EC2Resource, describe_tagged

PRIVATE_HAS_NO_ADDRESS = "a private NAT gateway takes no Elastic IP"


class NATGateway(EC2Kind):
    kind = "NATGateway"
    plural = "natgateways"
    short_names = ("nat", "natgw")
    description = ("A NAT gateway. Public: with the Elastic IP named by elasticIPRef or allocationId, "
                   "or an address of its own (released with the gateway) when neither is set.")
    identifier = "natGatewayId"
    references = (
        SUBNET_REF,
        Reference("elasticIPRef", "ElasticIP", "allocationId", ID_PATTERN.format("eipalloc"), required=False),
    )
    spec_properties = {
        "connectivityType": {"type": "string", "enum": ["public", "private"], "default": "public",
                             "description": "public (internet via an Elastic IP) or private; cannot change."},
    }
    spec_validations = ({"rule": "self.connectivityType != 'private' "
                                 "|| !(has(self.elasticIPRef) || has(self.allocationId))",
                         "message": PRIVATE_HAS_NO_ADDRESS},)
    status_properties = {"allocationId": {"type": "string"}}
    printer_columns = (("Subnet", ".status.subnetId", "string"), ("Public IP", ".status.publicIp", "string"),
                       ("State", ".status.state", "string"))
    drift_fields = (
        DriftField("subnetId", Severity.CRITICAL, updatable=False),
        DriftField("connectivityType", Severity.CRITICAL, updatable=False),
        DriftField("allocationId", Severity.CRITICAL, updatable=False),
    )
    resource = EC2Resource.named("NatGateway", "natgateway")

    def validate(self, spec: Mapping[str, Any], related: Mapping[str, Mapping[str, Any]]) -> None:
        if spec.get("connectivityType") == "private" and (spec.get("elasticIPRef") or spec.get("allocationId")):
            raise TerminalError(PRIVATE_HAS_NO_ADDRESS)

    def desired(self, spec: Mapping[str, Any]) -> State:
        # allocationId stays None (not compared) when the gateway allocates its own address.
        return {"subnetId": spec["subnetId"], "connectivityType": spec.get("connectivityType", "public"),
                "allocationId": spec.get("allocationId")}

    def observe(self, raw: Raw) -> State:
        # DescribeNatGateways omits ConnectivityType for public gateways in some implementations.
        return {"subnetId": raw.get("SubnetId"), "connectivityType": raw.get("ConnectivityType", "public"),
                "allocationId": self._address(raw).get("AllocationId"), "tags": self.observed_tags(raw)}

    def status(self, raw: Raw) -> State:
        address = self._address(raw)
        return {"subnetId": raw.get("SubnetId"), "allocationId": address.get("AllocationId"),
                "publicIp": address.get("PublicIp"), "state": raw.get("State")}

    @staticmethod
    def _address(raw: Raw) -> Mapping[str, Any]:
        return next(iter(raw.get("NatGatewayAddresses") or ()), {})

    def present(self, raw: Raw) -> bool:
        return raw.get("State") != "deleted"

    def available(self, raw: Raw) -> bool:
        state = raw.get("State")
        if state == "failed":
            raise TerminalError(f"NAT gateway {raw['NatGatewayId']} failed: "
                                f"{raw.get('FailureMessage', 'no reason given')}; delete the object to remove it",
                                reason="ProvisioningFailed")
        if state == "deleting":
            raise RetryableError(f"NAT gateway {raw['NatGatewayId']} is being deleted outside the operator",
                                 reason="DeletingInAWS", delay=30)
        return state == "available"

    def create(self, aws: AWSClients, desired: State, tags: Mapping[str, str], token: str) -> Raw:
        params: dict[str, Any] = {"SubnetId": desired["subnetId"], "ConnectivityType": desired["connectivityType"],
                                  "ClientToken": token, "TagSpecifications": self.tag_specifications(tags)}
        if desired["connectivityType"] == "public":
            params["AllocationId"] = desired["allocationId"] or self._own_address(aws, tags)
        return aws.client("ec2").create_nat_gateway(**params)["NatGateway"]

    def _own_address(self, aws: AWSClients, tags: Mapping[str, str]) -> str:
        """The address this gateway allocates for itself, tagged as ours so that it is found
        again after a crash (no duplicate) and released with the gateway."""
        existing = self.held(aws, (OWNER_UID, tags[OWNER_UID]))
        if existing:
            return existing[0]
        return aws.client("ec2").allocate_address(
            Domain="vpc", TagSpecifications=self.tag_specifications(tags, "elastic-ip"))["AllocationId"]

    def held(self, aws: AWSClients, owner_uid_tag: tuple[str, str]) -> list[str]:
        return [a["AllocationId"] for a in describe_tagged(aws, "describe_addresses", "Addresses", owner_uid_tag)]

    def release_held(self, aws: AWSClients, ident: str) -> None:
        aws.client("ec2").release_address(AllocationId=ident)

    def delete(self, aws: AWSClients, ident: str, raw: Raw, spec: Mapping[str, Any]) -> None:
        if raw.get("State") != "deleting":  # an earlier finalizer run already asked
            aws.client("ec2").delete_nat_gateway(NatGatewayId=ident)
