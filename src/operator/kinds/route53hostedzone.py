"""Route53HostedZone: a public or private hosted zone, its VPC associations (a set), comment,
reusable delegation set and tags. Route 53 is global: the provider's global client."""

from __future__ import annotations

from typing import Any, Mapping

from ..engine.delta import list_changes
from ..provider.errors import TerminalError
from ..engine.kind import (Adoption, AWSClients, Deletion, DriftField, ErrorMatch, Kind, Raw, Reference, Severity,
                           State, TagChange, Tagging, tag_list, tag_map)
from ..engine.lookups import paginated
from ..engine.schema import immutable
from ..services.route53 import ZONE_NAME, change_records, fqdn, is_zone_apex_default, zone_id, zone_records

# ChangeTagsForResource takes at most 10 tags to add and 10 keys to remove per call.
TAGS_PER_CALL = 10

VPC = {
    "type": "object",
    "properties": {
        "vpcId": {"type": "string", "pattern": "^vpc-[0-9a-f]+$"},
        "vpcRegion": {"type": "string", "pattern": "^[a-z]{2}(-[a-z]+)+-[0-9]$",
                      "description": "The VPC's region; unset: the provider's."},
    },
}


class Route53HostedZone(Kind):
    kind = "Route53HostedZone"
    plural = "route53hostedzones"
    short_names = ("r53hz",)
    description = ("A Route 53 hosted zone: public, or private to the VPCs it lists (associated and "
                   "disassociated to match). Deleting it refuses while it holds records besides its SOA and NS, "
                   "unless forceDestroy (then the operator deletes those records first).")
    identifier = "hostedZoneId"
    # Tags are a separate call (ChangeTagsForResource) and not in the zone's description.
    tagging = Tagging(at_create=False, in_description=False, max_tags=50)
    # CallerReference is the object's UID: a zone created before a crash is found by it.
    adoption = Adoption.TOKEN
    deletion = Deletion(force_field="forceDestroy",
                        force_description="Delete the zone's records (all but its SOA and NS) before the zone.",
                        protected=(ErrorMatch("HostedZoneNotEmpty"),))
    spec_properties = {
        "zoneName": {"type": "string", "maxLength": 255, "pattern": ZONE_NAME,
                     "description": "The domain name (example.com); cannot change after creation.",
                     **immutable("zoneName is immutable")},
        "comment": {"type": "string", "maxLength": 256},
        "vpcs": {"type": "array", "items": VPC, "maxItems": 300,
                 "description": "A private zone's VPCs (by vpcRef or vpcId); unset or empty: a public zone. "
                                "A zone cannot turn from public to private or back."},
        "delegationSetId": {"type": "string", "pattern": "^[A-Z0-9]+$",
                            "description": "A reusable delegation set (its name servers) for a public zone; cannot "
                                           "change after creation.",
                            **immutable("delegationSetId is immutable")},
    }
    spec_required = ("zoneName",)
    spec_validations = (
        {"rule": "!has(self.delegationSetId) || !has(self.vpcs) || size(self.vpcs) == 0",
         "message": "a private zone (vpcs) takes no delegation set"},
    )
    references = (Reference("vpcRef", "VPC", "vpcId", within="vpcs"),)
    status_properties = {"nameServers": {"type": "array", "items": {"type": "string"}}}
    printer_columns = (("Zone", ".status.zoneName", "string"), ("Private", ".status.privateZone", "boolean"))
    drift_fields = (
        DriftField("zoneName", Severity.CRITICAL, updatable=False),
        DriftField("privateZone", Severity.CRITICAL, updatable=False),
        DriftField("delegationSetId", Severity.CRITICAL, updatable=False),
        DriftField("vpcs", Severity.CRITICAL),
        DriftField("comment", Severity.INFO),
    )

    def validate(self, spec: Mapping[str, Any], related: Mapping[str, Mapping[str, Any]]) -> None:
        if spec.get("delegationSetId") and spec.get("vpcs"):
            raise TerminalError("a private zone (vpcs) takes no delegation set")
        ids = [item.get("vpcId") or f"vpcRef {(item.get('vpcRef') or {}).get('name')}" for item in spec.get("vpcs") or ()]
        if len(ids) != len(set(ids)):
            raise TerminalError("vpcs lists a VPC twice", reason="DuplicateVPC")

    def desired(self, spec: Mapping[str, Any]) -> State:
        vpcs = spec.get("vpcs") or ()
        return {
            "zoneName": fqdn(spec["zoneName"]),
            "privateZone": bool(vpcs),
            "delegationSetId": spec.get("delegationSetId"),
            "vpcs": sorted(item["vpcId"] for item in vpcs),
            "comment": spec.get("comment", ""),
            # Not compared: where each VPC is (AWS lists it with its region).
            "vpcRegions": {item["vpcId"]: item.get("vpcRegion") for item in vpcs},
        }

    def observe(self, raw: Raw) -> State:
        zone = raw["HostedZone"]
        delegation = (raw.get("DelegationSet") or {}).get("Id") or None
        return {
            "zoneName": fqdn(zone["Name"]),
            "privateZone": zone["Config"].get("PrivateZone", False),
            "delegationSetId": delegation and delegation.rsplit("/", 1)[-1],
            "vpcs": sorted(vpc["VPCId"] for vpc in raw.get("VPCs") or ()),
            "comment": zone["Config"].get("Comment", ""),
        }

    def identify(self, raw: Raw) -> str:
        return zone_id(raw["HostedZone"]["Id"])

    def status(self, raw: Raw) -> State:
        return {"zoneName": fqdn(raw["HostedZone"]["Name"]),
                "privateZone": raw["HostedZone"]["Config"].get("PrivateZone", False),
                "nameServers": list((raw.get("DelegationSet") or {}).get("NameServers") or ())}

    def read(self, aws: AWSClients, ident: str) -> Raw | None:
        return self.absent_if_missing(aws.client("route53").get_hosted_zone, Id=ident)

    def read_tags(self, aws: AWSClients, ident: str, raw: Raw) -> dict[str, str]:
        tags = aws.client("route53").list_tags_for_resource(ResourceType="hostedzone", ResourceId=ident)
        return tag_map(tags["ResourceTagSet"].get("Tags"))

    def find_created(self, aws: AWSClients, desired: State, token: str) -> Raw | None:
        for zone in paginated(aws.client("route53"), "list_hosted_zones", "HostedZones"):
            if zone["CallerReference"] == token:
                return self.read(aws, zone_id(zone["Id"]))
        return None

    def create(self, aws: AWSClients, desired: State, tags: Mapping[str, str], token: str) -> Raw:
        route53 = aws.client("route53")
        vpcs = [self._vpc(aws, desired, vpc) for vpc in desired["vpcs"]]
        params: dict[str, Any] = {"Name": desired["zoneName"], "CallerReference": token,
                                  "HostedZoneConfig": {"Comment": desired["comment"],
                                                       "PrivateZone": desired["privateZone"]}}
        if vpcs:
            params["VPC"] = vpcs[0]
        if desired["delegationSetId"]:
            params["DelegationSetId"] = desired["delegationSetId"]
        ident = zone_id(route53.create_hosted_zone(**params)["HostedZone"]["Id"])
        for vpc in vpcs[1:]:
            route53.associate_vpc_with_hosted_zone(HostedZoneId=ident, VPC=vpc)
        return self.read(aws, ident)

    def update(self, aws: AWSClients, ident: str, desired: State, raw: Raw, changed: frozenset[str]) -> None:
        route53 = aws.client("route53")
        if "comment" in changed:
            route53.update_hosted_zone_comment(Id=ident, Comment=desired["comment"])
        if "vpcs" in changed:
            # Associate first: AWS refuses to disassociate a private zone's last VPC.
            regions = {vpc["VPCId"]: vpc["VPCRegion"] for vpc in raw.get("VPCs") or ()}
            changes = list_changes(desired["vpcs"], self.observe(raw)["vpcs"])
            for vpc in changes.added:
                route53.associate_vpc_with_hosted_zone(HostedZoneId=ident, VPC=self._vpc(aws, desired, vpc))
            for vpc in changes.removed:
                route53.disassociate_vpc_from_hosted_zone(HostedZoneId=ident,
                                                          VPC={"VPCId": vpc, "VPCRegion": regions[vpc]})

    def set_tags(self, aws: AWSClients, ident: str, change: TagChange) -> None:
        route53 = aws.client("route53")
        removed, added = sorted(change.remove), tag_list(change.add)
        for start in range(0, max(len(removed), len(added)), TAGS_PER_CALL):
            params: dict[str, Any] = {"ResourceType": "hostedzone", "ResourceId": ident}
            if removed[start:start + TAGS_PER_CALL]:
                params["RemoveTagKeys"] = removed[start:start + TAGS_PER_CALL]
            if added[start:start + TAGS_PER_CALL]:
                params["AddTags"] = added[start:start + TAGS_PER_CALL]
            route53.change_tags_for_resource(**params)

    def delete(self, aws: AWSClients, ident: str, raw: Raw, spec: Mapping[str, Any]) -> None:
        route53 = aws.client("route53")
        if spec.get("forceDestroy"):
            name = raw["HostedZone"]["Name"]
            change_records(route53, ident, [("DELETE", record) for record in zone_records(route53, ident)
                                            if not is_zone_apex_default(record, name)],
                           comment="forceDestroy: the zone is being deleted")
        # Without forceDestroy, AWS answers HostedZoneNotEmpty while records remain (DeletionProtected).
        route53.delete_hosted_zone(Id=ident)

    @staticmethod
    def _vpc(aws: AWSClients, desired: State, vpc_id: str) -> dict[str, str]:
        return {"VPCId": vpc_id, "VPCRegion": desired["vpcRegions"].get(vpc_id) or aws.region}
