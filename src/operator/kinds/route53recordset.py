"""Route53RecordSet: one record set (name, type, set identifier) in a hosted zone: values and
TTL, or an alias target; a routing policy. Records carry no tags: the create-pending record
says a record is ours, and one the operator did not create is never overwritten unless
allowOverwrite."""

from __future__ import annotations

import threading
from typing import Any, Mapping

from ..provider.errors import InProgress, TerminalError
from ..engine.kind import Adoption, AWSClients, DriftField, Kind, Raw, Reference, Severity, State
from ..engine.schema import immutable
from ..services.route53 import ZONE_NAME, change_in_sync, change_records, find_record, fqdn, zone_id

TYPES = ["A", "AAAA", "CAA", "CNAME", "DS", "HTTPS", "MX", "NAPTR", "NS", "PTR", "SPF", "SRV", "SSHFP", "SVCB",
         "TLSA", "TXT"]
# Seconds between looks at a change Route 53 has not yet applied everywhere (about a minute).
IN_SYNC_DELAY = 15.0
ROUTING = ("weight", "region", "failover", "geoLocation", "multiValueAnswer")

# Kinds an alias can name by reference (`albRef`, `nlbRef`, `cloudFrontRef`, `apiGatewayRef`), with
# the status fields that fill dnsName and hostedZoneId: a load balancer's DNS name and canonical
# hosted zone id, an API's custom domain target. A distribution's zone is CloudFront's own.
ALIAS_TARGETS = (("albRef", "ALB", "dnsName", "canonicalHostedZoneId"),
                 ("nlbRef", "NLB", "dnsName", "canonicalHostedZoneId"),
                 ("cloudFrontRef", "CloudFront", "domainName", None),
                 ("apiGatewayRef", "APIGateway", "domainTarget", "domainHostedZoneId"))
ALIAS_REFS = tuple(ref for ref, *_ in ALIAS_TARGETS)
# The hosted zone id of every CloudFront distribution's domain name (fixed by AWS).
CLOUDFRONT_ZONE_ID = "Z2FDTNDATAQYW2"
ALIAS_BY_REF = (f"a reference ({', '.join(ALIAS_REFS)}) fills dnsName and hostedZoneId: set one "
                "reference, or both dnsName and hostedZoneId")
CLOUDFRONT_HEALTH = "an alias to a CloudFront distribution cannot evaluate target health"
ALIAS = {
    "type": "object",
    "description": "An alias to an AWS endpoint (load balancer, CloudFront distribution, API, another record).",
    "properties": {
        "dnsName": {"type": "string", "minLength": 1, "maxLength": 1024},
        "hostedZoneId": {"type": "string", "pattern": "^[A-Z0-9]+$",
                         "description": "The target's hosted zone (a load balancer's canonical hosted zone id)."},
        "evaluateTargetHealth": {"type": "boolean", "default": False},
    },
    "x-kubernetes-validations": [{
        "rule": " + ".join(f"(has(self.{ref}) ? 1 : 0)" for ref in ALIAS_REFS)
                + " == (has(self.dnsName) || has(self.hostedZoneId) ? 0 : 1)",
        "message": ALIAS_BY_REF},
        {"rule": "!has(self.cloudFrontRef) || !has(self.evaluateTargetHealth) || !self.evaluateTargetHealth",
         "message": CLOUDFRONT_HEALTH}],
}


class Route53RecordSet(Kind):
    kind = "Route53RecordSet"
    plural = "route53recordsets"
    short_names = ("r53rs",)
    description = ("A Route 53 record set in a hosted zone (by hostedZoneRef or hostedZoneId): values with a TTL, or "
                   "an alias target, and a routing policy with its set identifier. Ready once Route 53 reports "
                   "the change INSYNC.")
    identifier = "recordKey"
    tagging = None
    adoption = Adoption.PENDING_RECORD
    spec_properties = {
        "name": {"type": "string", "maxLength": 255, "pattern": ZONE_NAME,
                 "description": "The record's full name (www.example.com); cannot change after creation.",
                 **immutable("name is immutable")},
        "type": {"type": "string", "enum": TYPES, **immutable("type is immutable")},
        "setIdentifier": {"type": "string", "minLength": 1, "maxLength": 128,
                          "description": "Tells apart records of one name and type under a routing policy.",
                          **immutable("setIdentifier is immutable")},
        "ttl": {"type": "integer", "minimum": 0, "maximum": 2147483647},
        "records": {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 4000},
                    "minItems": 1, "maxItems": 400,
                    "description": "The values, as Route 53 takes them (TXT values in quotes)."},
        "aliasTarget": ALIAS,
        "weight": {"type": "integer", "minimum": 0, "maximum": 255},
        "region": {"type": "string", "pattern": "^[a-z]{2}(-[a-z]+)+-[0-9]$", "description": "Latency routing."},
        "failover": {"type": "string", "enum": ["PRIMARY", "SECONDARY"]},
        "geoLocation": {"type": "object", "properties": {
            "continentCode": {"type": "string", "pattern": "^[A-Z]{2}$"},
            "countryCode": {"type": "string", "pattern": r"^(\*|[A-Z]{2})$"},
            "subdivisionCode": {"type": "string", "pattern": "^[A-Z0-9]{1,3}$"}}},
        "multiValueAnswer": {"type": "boolean"},
        "healthCheckId": {"type": "string", "minLength": 1, "maxLength": 64},
        "allowOverwrite": {"type": "boolean", "default": False,
                           "description": "Take over (overwrite) a record of this name, type and set identifier that "
                                          "the operator did not create; otherwise such a record is left alone "
                                          "(Ready=False reason NameTaken)."},
    }
    spec_required = ("name", "type")
    spec_validations = (
        {"rule": "has(self.aliasTarget) != has(self.records)", "message": "set either records or aliasTarget"},
        {"rule": "!has(self.aliasTarget) || !has(self.ttl)", "message": "an alias record takes no ttl"},
        {"rule": "has(self.setIdentifier) == (has(self.weight) || has(self.region) || has(self.failover) || "
                 "has(self.geoLocation) || has(self.multiValueAnswer))",
         "message": "a routing policy (weight, region, failover, geoLocation, multiValueAnswer) needs a "
                    "setIdentifier, and a setIdentifier needs one"},
        {"rule": "(has(self.weight) ? 1 : 0) + (has(self.region) ? 1 : 0) + (has(self.failover) ? 1 : 0) + "
                 "(has(self.geoLocation) ? 1 : 0) + (has(self.multiValueAnswer) ? 1 : 0) <= 1",
         "message": "at most one routing policy"},
    )
    references = (Reference("hostedZoneRef", "Route53HostedZone", "hostedZoneId", id_pattern="^[A-Z0-9]+$"),
                  *(Reference(ref, kind, "dnsName", required=False, within="aliasTarget", status_field=name_field,
                              also=(("hostedZoneId", zone_field),) if zone_field else ())
                    for ref, kind, name_field, zone_field in ALIAS_TARGETS))
    status_properties = {"changeStatus": {"type": "string"}}
    printer_columns = (("FQDN", ".status.fqdn", "string"), ("Type", ".spec.type", "string"))
    drift_fields = (
        DriftField("hostedZoneId", Severity.CRITICAL, updatable=False),
        DriftField("name", Severity.CRITICAL, updatable=False),
        DriftField("type", Severity.CRITICAL, updatable=False),
        DriftField("setIdentifier", Severity.CRITICAL, updatable=False),
        DriftField("records", Severity.CRITICAL),
        DriftField("aliasTarget", Severity.CRITICAL),
        DriftField("ttl", Severity.WARNING),
        DriftField("routing", Severity.WARNING),
        DriftField("healthCheckId", Severity.WARNING),
    )

    def __init__(self) -> None:
        # Changes submitted by this process and not yet seen INSYNC, by record key. Lost on a
        # restart: a record is then Ready at once (Route 53 applies a change within a minute).
        self._pending: dict[str, str] = {}
        self._pending_lock = threading.Lock()

    def validate(self, spec: Mapping[str, Any], related: Mapping[str, Mapping[str, Any]]) -> None:
        routing = [field for field in ROUTING if field in spec]
        if ("aliasTarget" in spec) == ("records" in spec):
            raise TerminalError("set either records or aliasTarget")
        alias = spec.get("aliasTarget")
        # References filled in already carry dnsName and hostedZoneId (a conflict was refused then).
        if alias is not None and not (sum(bool(alias.get(ref)) for ref in ALIAS_REFS) == 1 if
                                      any(alias.get(ref) for ref in ALIAS_REFS) else
                                      "dnsName" in alias and "hostedZoneId" in alias):
            raise TerminalError(ALIAS_BY_REF)
        if alias is not None and alias.get("cloudFrontRef") and "hostedZoneId" in alias:
            raise TerminalError("spec.aliasTarget: set cloudFrontRef or hostedZoneId, not both",
                                reason="ConflictingReference")
        if alias is not None and alias.get("cloudFrontRef") and alias.get("evaluateTargetHealth"):
            raise TerminalError(CLOUDFRONT_HEALTH)
        if alias is not None and alias.get("apiGatewayRef") and alias.get("dnsName") == "":
            # The API is Ready with an empty target: waiting for it would be woken at once, again and again.
            raise TerminalError(f"APIGateway {alias['apiGatewayRef']['name']} has no custom domain (its spec.domain): "
                                "an alias needs the domain's target", reason="NoCustomDomain")
        if "aliasTarget" in spec and "ttl" in spec:
            raise TerminalError("an alias record takes no ttl")
        if "records" in spec and "ttl" not in spec:
            raise TerminalError("a record with values needs a ttl")
        if len(routing) > 1:
            raise TerminalError(f"at most one routing policy: {', '.join(routing)}")
        if bool(routing) != ("setIdentifier" in spec):
            raise TerminalError("a routing policy (weight, region, failover, geoLocation, multiValueAnswer) needs a "
                                "setIdentifier, and a setIdentifier needs one")
        zone = related.get("hostedZoneRef", {}).get("zoneName")
        if zone and not (fqdn(spec["name"]) == zone or fqdn(spec["name"]).endswith("." + zone)):
            raise TerminalError(f"{spec['name']} is not in the zone {zone}", reason="NotInZone")

    def desired(self, spec: Mapping[str, Any]) -> State:
        alias = spec.get("aliasTarget")
        return {
            "hostedZoneId": zone_id(spec["hostedZoneId"]),
            "name": fqdn(spec["name"]),
            "type": spec["type"],
            "setIdentifier": spec.get("setIdentifier", ""),
            "records": sorted(spec["records"]) if "records" in spec else None,
            "aliasTarget": {"dnsName": fqdn(alias["dnsName"]),
                            "hostedZoneId": CLOUDFRONT_ZONE_ID if alias.get("cloudFrontRef") else alias["hostedZoneId"],
                            "evaluateTargetHealth": alias.get("evaluateTargetHealth", False)} if alias else None,
            "ttl": spec.get("ttl"),
            "routing": {field: spec[field] for field in ROUTING if field in spec},
            "healthCheckId": spec.get("healthCheckId", ""),
            "allowOverwrite": spec.get("allowOverwrite", False),
        }

    def observe(self, raw: Raw) -> State:
        record = raw["Record"]
        alias = record.get("AliasTarget")
        geo = record.get("GeoLocation")
        routing = {"weight": record.get("Weight"), "region": record.get("Region"), "failover": record.get("Failover"),
                   "geoLocation": {_lower_first(k): v for k, v in geo.items()} if geo else None,
                   "multiValueAnswer": record.get("MultiValueAnswer")}
        return {
            "hostedZoneId": raw["HostedZoneId"],
            "name": fqdn(record["Name"]),
            "type": record["Type"],
            "setIdentifier": record.get("SetIdentifier", ""),
            "records": sorted(value["Value"] for value in record.get("ResourceRecords") or ()) or None,
            "aliasTarget": {"dnsName": fqdn(alias["DNSName"]), "hostedZoneId": alias["HostedZoneId"],
                            "evaluateTargetHealth": alias.get("EvaluateTargetHealth", False)} if alias else None,
            "ttl": record.get("TTL"),
            "routing": {field: value for field, value in routing.items() if value is not None},
            "healthCheckId": record.get("HealthCheckId", ""),
        }

    def identify(self, raw: Raw) -> str:
        record = raw["Record"]
        return "/".join((raw["HostedZoneId"], fqdn(record["Name"]), record["Type"], record.get("SetIdentifier", "")))

    def status(self, raw: Raw) -> State:
        return {"fqdn": fqdn(raw["Record"]["Name"]), "changeStatus": raw.get("ChangeStatus", "INSYNC")}

    def available(self, raw: Raw) -> bool:
        if raw.get("ChangeStatus") == "PENDING":
            raise InProgress(f"Route 53 is applying the change to {self.identify(raw)}", delay=IN_SYNC_DELAY)
        return True

    def read(self, aws: AWSClients, ident: str) -> Raw | None:
        zone, name, record_type, set_identifier = ident.split("/", 3)
        route53 = aws.client("route53")
        record = self.absent_if_missing(find_record, route53=route53, zone=zone, name=name, record_type=record_type,
                                        set_identifier=set_identifier)
        if record is None:
            return None
        raw = {"HostedZoneId": zone, "Record": record}
        with self._pending_lock:
            change = self._pending.get(ident)
        if change is not None:
            if change_in_sync(route53, change):
                with self._pending_lock:
                    self._pending.pop(ident, None)
            else:
                raw["ChangeStatus"] = "PENDING"
        return raw

    def find_created(self, aws: AWSClients, desired: State, token: str) -> Raw | None:
        if desired["allowOverwrite"]:
            return None  # whoever made it, the create overwrites it (UPSERT)
        return self.read(aws, _key(desired))

    def create(self, aws: AWSClients, desired: State, tags: Mapping[str, str], token: str) -> Raw:
        # CREATE, not UPSERT: Route 53 itself refuses to overwrite a record made meanwhile by someone else.
        action = "UPSERT" if desired["allowOverwrite"] else "CREATE"
        self._change(aws, desired, [(action, _record_set(desired))])
        return {"HostedZoneId": desired["hostedZoneId"], "Record": _record_set(desired), "ChangeStatus": "PENDING"}

    def update(self, aws: AWSClients, ident: str, desired: State, raw: Raw, changed: frozenset[str]) -> None:
        self._change(aws, desired, [("UPSERT", _record_set(desired))])

    def delete(self, aws: AWSClients, ident: str, raw: Raw, spec: Mapping[str, Any]) -> None:
        # DELETE must name the record exactly as it is now.
        change_records(aws.client("route53"), raw["HostedZoneId"], [("DELETE", raw["Record"])])
        with self._pending_lock:
            self._pending.pop(ident, None)

    def _change(self, aws: AWSClients, desired: State, changes: list[tuple[str, Mapping[str, Any]]]) -> None:
        change = change_records(aws.client("route53"), desired["hostedZoneId"], changes)
        with self._pending_lock:
            self._pending[_key(desired)] = change


def _key(desired: State) -> str:
    return "/".join((desired["hostedZoneId"], desired["name"], desired["type"], desired["setIdentifier"]))


def _lower_first(name: str) -> str:
    return name[0].lower() + name[1:]


def _record_set(desired: State) -> dict[str, Any]:
    """The desired record as a ResourceRecordSet."""
    record: dict[str, Any] = {"Name": desired["name"], "Type": desired["type"]}
    if desired["setIdentifier"]:
        record["SetIdentifier"] = desired["setIdentifier"]
    if desired["aliasTarget"]:
        alias = desired["aliasTarget"]
        record["AliasTarget"] = {"DNSName": alias["dnsName"], "HostedZoneId": alias["hostedZoneId"],
                                 "EvaluateTargetHealth": alias["evaluateTargetHealth"]}
    else:
        record["TTL"] = desired["ttl"]
        record["ResourceRecords"] = [{"Value": value} for value in desired["records"]]
    routing = desired["routing"]
    if "weight" in routing:
        record["Weight"] = routing["weight"]
    if "region" in routing:
        record["Region"] = routing["region"]
    if "failover" in routing:
        record["Failover"] = routing["failover"]
    if "geoLocation" in routing:
        record["GeoLocation"] = {key[0].upper() + key[1:]: value for key, value in routing["geoLocation"].items()}
    if "multiValueAnswer" in routing:
        record["MultiValueAnswer"] = routing["multiValueAnswer"]
    if desired["healthCheckId"]:
        record["HealthCheckId"] = desired["healthCheckId"]
    return record
