"""Route53RecordSet: one record set (name, type, set identifier) in a hosted zone: values and
TTL, or an alias target; a routing policy. Records carry no tags: the create-pending record
says a record is ours, and one the operator did not create is never overwritten unless
allowOverwrite (`services/route53.py` computes the record and its changes)."""

from __future__ import annotations

from typing import Any, Mapping

from ..engine.kind import Adoption, DriftField, Reference, Severity
from ..engine.schema import immutable
from ..provider.errors import TerminalError
from ..services.route53 import ROUTING, ZONE_NAME, RecordSet, fqdn

TYPES = ["A", "AAAA", "CAA", "CNAME", "DS", "HTTPS", "MX", "NAPTR", "NS", "PTR", "SPF", "SRV", "SSHFP", "SVCB",
         "TLSA", "TXT"]

# Kinds an alias can name by reference (`albRef`, `nlbRef`, `cloudFrontRef`, `apiGatewayRef`), with
# the status fields that fill dnsName and hostedZoneId: a load balancer's DNS name and canonical
# hosted zone id, an API's custom domain target. A distribution's zone is CloudFront's own.
ALIAS_TARGETS = (("albRef", "ALB", "dnsName", "canonicalHostedZoneId"),
                 ("nlbRef", "NLB", "dnsName", "canonicalHostedZoneId"),
                 ("cloudFrontRef", "CloudFront", "domainName", None),
                 ("apiGatewayRef", "APIGateway", "domainTarget", "domainHostedZoneId"))
ALIAS_REFS = tuple(ref for ref, *_ in ALIAS_TARGETS)
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


class Route53RecordSet(RecordSet):
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

    def validate(self, spec: Mapping[str, Any], related: Mapping[str, Mapping[str, Any]]) -> None:
        routing = [field for field in ROUTING.values() if field in spec]
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
