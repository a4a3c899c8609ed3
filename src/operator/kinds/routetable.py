"""RouteTable: a VPC route table whose routes and subnet associations are reconciled: routes are
matched by destination (added, removed, or replaced when the target changes), associations by
subnet. The local route and propagated routes belong to AWS and are left alone."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping

from ..engine.delta import list_changes
from ..engine.kind import AWSClients, DriftField, ErrorMatch, Raw, Reference, Severity, State
from ..provider.errors import TerminalError
from ..services.ec2 import (CIDR_PATTERN, ID_PATTERN, SUBNET_REF, VPC_REF, EC2Kind, EC2Resource,
                   network_problem)

TARGETS = ("gatewayId", "natGatewayId")  # state keys, also the AWS parameter names (capitalised)


def _aws_name(key: str) -> str:
    return key[0].upper() + key[1:]


def _destination(route: Mapping[str, Any]) -> dict[str, str]:
    """The destination parameter of a route call (IPv4 or IPv6)."""
    destination = route["destination"]
    return {"DestinationIpv6CidrBlock" if ":" in destination else "DestinationCidrBlock": destination}


def _by_destination(route: Mapping[str, Any]) -> str:
    return route["destination"]


class RouteTable(EC2Kind):
    kind = "RouteTable"
    plural = "routetables"
    short_names = ("rtb",)
    description = "A VPC route table with its routes and subnet associations (unlisted ones are removed)."
    identifier = "routeTableId"
    references = (
        VPC_REF,
        Reference("gatewayRef", "InternetGateway", "gatewayId", ID_PATTERN.format("(igw|vgw)"),
                  required=False, within="routes"),
        Reference("natGatewayRef", "NATGateway", "natGatewayId", ID_PATTERN.format("nat"),
                  required=False, within="routes"),
        replace(SUBNET_REF, within="associations"),
    )
    spec_properties = {
        "routes": {"type": "array", "maxItems": 50, "description": "Routes besides the VPC's local route.",
                   "items": {"type": "object", "required": ["destinationCidrBlock"],
                             "properties": {"destinationCidrBlock": {"type": "string", "pattern": CIDR_PATTERN}},
                             "x-kubernetes-validations": [{
                                 "rule": "[has(self.gatewayRef), has(self.gatewayId), has(self.natGatewayRef), "
                                         "has(self.natGatewayId)].filter(x, x).size() == 1",
                                 "message": "a route needs exactly one target"}]}},
        "associations": {"type": "array", "maxItems": 200, "description": "Subnets using this route table.",
                         "items": {"type": "object"}},
    }
    printer_columns = (("VPC", ".status.vpcId", "string"),)
    drift_fields = (
        DriftField("vpcId", Severity.CRITICAL, updatable=False),
        DriftField("routes", Severity.CRITICAL),
        DriftField("associations", Severity.CRITICAL),
    )
    # A route already there: a retried call (its first answer lost to a timeout) went through.
    retryable_errors = (ErrorMatch("RouteAlreadyExists"),)
    resource = EC2Resource.named("RouteTable", "route-table")

    def validate(self, spec: Mapping[str, Any], related: Mapping[str, Mapping[str, Any]]) -> None:
        for index, route in enumerate(spec.get("routes") or ()):
            # After resolution a reference and its id are both set: count each target kind once.
            targets = [t for t in TARGETS if route.get(t) or route.get(t.replace("Id", "Ref"))]
            if len(targets) != 1:
                raise TerminalError(f"spec.routes[{index}] needs exactly one target, not {targets or 'none'}",
                                    reason="InvalidRoute")
            problem = network_problem(route["destinationCidrBlock"])
            if problem:
                raise TerminalError(f"spec.routes[{index}].destinationCidrBlock {problem}", reason="InvalidRoute")

    def desired(self, spec: Mapping[str, Any]) -> State:
        return {
            "vpcId": spec["vpcId"],
            # A target still unresolved (its object not Ready) never reaches here: the engine waits.
            "routes": [{"destination": r["destinationCidrBlock"], **{t: r.get(t) for t in TARGETS}}
                       for r in spec.get("routes") or ()],
            "associations": [a["subnetId"] for a in spec.get("associations") or ()],
        }

    def observe(self, raw: Raw) -> State:
        return {
            "vpcId": raw.get("VpcId"),
            "routes": [{"destination": r.get("DestinationCidrBlock") or r.get("DestinationIpv6CidrBlock"),
                        **{t: r.get(_aws_name(t)) for t in TARGETS}}
                       for r in raw.get("Routes") or () if r.get("Origin") == "CreateRoute"],
            "associations": [a["SubnetId"] for a in self._subnet_associations(raw)],
            "tags": self.observed_tags(raw),
        }

    @staticmethod
    def _subnet_associations(raw: Raw) -> list[Mapping[str, Any]]:
        return [a for a in raw.get("Associations") or () if a.get("SubnetId") and not a.get("Main")]

    def status(self, raw: Raw) -> State:
        return {"vpcId": raw.get("VpcId")}

    def create(self, aws: AWSClients, desired: State, tags: Mapping[str, str], token: str) -> Raw:
        return aws.client("ec2").create_route_table(
            VpcId=desired["vpcId"], ClientToken=token, TagSpecifications=self.tag_specifications(tags))["RouteTable"]

    def update(self, aws: AWSClients, ident: str, desired: State, raw: Raw, changed: frozenset[str]) -> None:
        ec2 = aws.client("ec2")
        observed = self.observe(raw)
        if "routes" in changed:
            routes = list_changes(desired["routes"], observed["routes"], key=_by_destination)
            for route in routes.removed:
                ec2.delete_route(RouteTableId=ident, **_destination(route))
            for route in routes.added:
                ec2.create_route(RouteTableId=ident, **_destination(route), **self._target(route))
            for _, route in routes.replaced:
                ec2.replace_route(RouteTableId=ident, **_destination(route), **self._target(route))
        if "associations" in changed:
            associations = list_changes(desired["associations"], observed["associations"])
            by_subnet = {a["SubnetId"]: a["RouteTableAssociationId"] for a in self._subnet_associations(raw)}
            for subnet in associations.removed:
                ec2.disassociate_route_table(AssociationId=by_subnet[subnet])
            for subnet in associations.added:
                ec2.associate_route_table(RouteTableId=ident, SubnetId=subnet)

    @staticmethod
    def _target(route: Mapping[str, Any]) -> dict[str, str]:
        return {_aws_name(t): route[t] for t in TARGETS if route.get(t)}

    def delete(self, aws: AWSClients, ident: str, raw: Raw, spec: Mapping[str, Any]) -> None:
        ec2 = aws.client("ec2")
        for association in self._subnet_associations(raw):
            ec2.disassociate_route_table(AssociationId=association["RouteTableAssociationId"])
        ec2.delete_route_table(RouteTableId=ident)
