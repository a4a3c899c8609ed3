"""Certificate: an ACM public certificate, with its DNS validation records written to a Route 53
hosted zone when the spec names one.

The records the operator writes are remembered in a tag of the certificate (the zone id), so a
changed zone moves them and a delete removes them; a record another certificate of the account
also validates with is left in place.
"""

from __future__ import annotations

from typing import Any, Mapping

from ..provider.errors import DeletionProtected, InProgress, TerminalError
from ..engine.kind import (AWSClients, Deletion, DriftField, ErrorMatch, Kind, Raw, Reference, Severity, State,
                           TagChange, Tagging, TokenFormat, tag_list, tag_map)
from ..engine.lookups import tagged_arns

DOMAIN = r"^(\*\.)?([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z0-9-]{2,63}$"
HOSTED_ZONE_ID = r"^(/hostedzone/)?Z[A-Z0-9]{1,31}$"
KEY_ALGORITHMS = ("RSA_2048", "EC_prime256v1", "EC_secp384r1")
# The tag holding the hosted zone the operator wrote this certificate's validation records to.
ZONE_TAG = "infra-operator.dev/validation-zone"
VALIDATION_TTL = 300
# ListCertificates lists RSA_2048 certificates only unless told every key type.
ALL_KEY_TYPES = ["RSA_1024", "RSA_2048", "RSA_3072", "RSA_4096", "EC_prime256v1", "EC_secp384r1", "EC_secp521r1"]
ZONE_NEEDS_DNS = "validation.hostedZoneId and validation.hostedZoneRef need validationMethod DNS"
FAILED_STATES = {
    "FAILED": "CertificateFailed", "VALIDATION_TIMED_OUT": "ValidationTimedOut", "REVOKED": "CertificateRevoked",
    "EXPIRED": "CertificateExpired", "INACTIVE": "CertificateInactive",
}


def _zone_id(zone: str | None) -> str | None:
    return zone.removeprefix("/hostedzone/") if zone else None


def _records(raw: Raw) -> list[dict[str, Any]]:
    """The DNS validation records ACM asks for, one per record name, with the domains each
    validates (a wildcard and its base domain share one)."""
    seen: dict[str, dict[str, Any]] = {}
    for option in raw["Certificate"].get("DomainValidationOptions") or ():
        record = option.get("ResourceRecord")
        if option.get("ValidationMethod", "DNS") == "DNS" and record:
            entry = seen.setdefault(record["Name"], {"name": record["Name"], "type": record["Type"],
                                                     "value": record["Value"], "domains": set()})
            entry["domains"].add(_base(option["DomainName"]))
    return sorted(seen.values(), key=lambda r: r["name"])


def _base(domain: str) -> str:
    return domain.removeprefix("*.").lower()


class Certificate(Kind):
    kind = "Certificate"
    plural = "certificates"
    short_names = ("cert",)
    description = ("An ACM public certificate. With DNS validation and validation.hostedZoneId (or "
                   "hostedZoneRef), the operator writes the validation records into that Route 53 zone and "
                   "removes them on delete. Ready once ACM has issued it; a delete waits while the "
                   "certificate is in use.")
    identifier = "certificateArn"
    token = TokenFormat(max_length=32)  # ACM's IdempotencyToken: 1 to 32 word characters
    spec_properties = {
        "domainName": {"type": "string", "maxLength": 253, "pattern": DOMAIN,
                       "description": "The certificate's domain name (*.example.com for a wildcard); cannot "
                                      "change after the request."},
        "subjectAlternativeNames": {
            "type": "array", "maxItems": 100, "x-kubernetes-list-type": "set",
            "items": {"type": "string", "maxLength": 253, "pattern": DOMAIN},
            "description": "More names the certificate covers; cannot change after the request."},
        "validationMethod": {"type": "string", "enum": ["DNS", "EMAIL"], "default": "DNS",
                             "description": "How ACM validates domain ownership; cannot change after the request."},
        "validation": {"type": "object", "description": "Where the operator writes the DNS validation records.",
                       "properties": {}},
        "keyAlgorithm": {"type": "string", "enum": list(KEY_ALGORITHMS), "default": "RSA_2048",
                         "description": "The key pair's algorithm; cannot change after the request."},
        "certificateTransparencyLogging": {
            "type": "string", "enum": ["ENABLED", "DISABLED"], "default": "ENABLED",
            "description": "Whether the certificate is logged in public certificate transparency logs."},
    }
    spec_required = ("domainName",)
    spec_validations = (
        {"rule": "!has(self.validation) || self.validationMethod == 'DNS'", "message": ZONE_NEEDS_DNS},
    )
    references = (Reference("hostedZoneRef", "Route53HostedZone", "hostedZoneId", id_pattern=HOSTED_ZONE_ID,
                            required=False, within="validation"),)
    printer_columns = (("Domain", ".spec.domainName", "string"), ("Status", ".status.status", "string"),
                       ("Expires", ".status.notAfter", "string"))
    status_properties = {
        "validationRecords": {"type": "array", "items": {"type": "object", "properties": {
            "domainName": {"type": "string"}, "name": {"type": "string"}, "type": {"type": "string"},
            "value": {"type": "string"}, "status": {"type": "string"}}}},
        "validationZoneId": {"type": "string"},
        "inUseBy": {"type": "array", "items": {"type": "string"}},
    }
    drift_fields = (
        DriftField("domainName", Severity.CRITICAL, updatable=False),
        DriftField("subjectAlternativeNames", Severity.CRITICAL, updatable=False),
        DriftField("validationMethod", Severity.CRITICAL, updatable=False),
        DriftField("keyAlgorithm", Severity.CRITICAL, updatable=False),
        DriftField("certificateTransparencyLogging", Severity.WARNING),
        DriftField("validationZoneId", Severity.WARNING),
    )
    tagging = Tagging(at_create=True, in_description=True, reserved_prefixes=("aws:", ZONE_TAG))
    deletion = Deletion(protected=(ErrorMatch("ResourceInUseException"),))

    def validate(self, spec: Mapping[str, Any], related: Mapping[str, Mapping[str, Any]]) -> None:
        if spec.get("validation") and spec.get("validationMethod", "DNS") != "DNS":
            raise TerminalError(ZONE_NEEDS_DNS)

    def desired(self, spec: Mapping[str, Any]) -> State:
        zone = _zone_id((spec.get("validation") or {}).get("hostedZoneId"))
        return {
            "domainName": spec["domainName"],
            "subjectAlternativeNames": sorted({spec["domainName"], *spec.get("subjectAlternativeNames", ())}),
            "validationMethod": spec.get("validationMethod", "DNS"),
            "keyAlgorithm": spec.get("keyAlgorithm", "RSA_2048"),
            "certificateTransparencyLogging": spec.get("certificateTransparencyLogging", "ENABLED"),
            "validationZoneId": zone or "",
        }

    def observe(self, raw: Raw) -> State:
        cert = raw["Certificate"]
        tags = tag_map(raw.get("Tags"))
        return {
            "domainName": cert["DomainName"],
            "subjectAlternativeNames": sorted({cert["DomainName"], *cert.get("SubjectAlternativeNames", ())}),
            "validationMethod": _method(cert),
            "keyAlgorithm": cert.get("KeyAlgorithm"),
            "certificateTransparencyLogging": (cert.get("Options") or {}).get(
                "CertificateTransparencyLoggingPreference", "ENABLED"),
            # Written where the tag says, and every record ACM asks for is there with its value.
            "validationZoneId": tags.get(ZONE_TAG, "") if raw.get("RecordsWritten") else "",
            "tags": {k: v for k, v in tags.items() if k != ZONE_TAG},
        }

    def identify(self, raw: Raw) -> str:
        return raw["Certificate"]["CertificateArn"]

    def status(self, raw: Raw) -> State:
        cert = raw["Certificate"]
        records = {r["name"]: r for r in _records(raw)}
        return {
            "status": cert.get("Status"),
            "notAfter": self.timestamp(cert.get("NotAfter")),
            "inUseBy": list(cert.get("InUseBy") or ()),
            "validationZoneId": tag_map(raw.get("Tags")).get(ZONE_TAG),
            "validationRecords": [
                {"domainName": o["DomainName"], "status": o.get("ValidationStatus"),
                 **{k: v for k, v in records.get((o.get("ResourceRecord") or {}).get("Name"), {}).items()
                    if k != "domains"}}
                for o in cert.get("DomainValidationOptions") or ()],
        }

    def available(self, raw: Raw) -> bool:
        cert = raw["Certificate"]
        state = cert.get("Status")
        if state == "ISSUED":
            return True
        if state in FAILED_STATES:
            why = cert.get("FailureReason") or state
            raise TerminalError(f"ACM answers {state} ({why}) for {cert['DomainName']}: delete and re-create the "
                                "object to request a new certificate", reason=FAILED_STATES[state])
        raise InProgress(_pending_message(raw), reason="PendingValidation")

    def read(self, aws: AWSClients, ident: str) -> Raw | None:
        acm = aws.client("acm")
        described = self.absent_if_missing(acm.describe_certificate, CertificateArn=ident)
        if described is None:
            return None
        tags = acm.list_tags_for_certificate(CertificateArn=ident).get("Tags") or []
        raw = {"Certificate": described["Certificate"], "Tags": tags}
        zone = tag_map(tags).get(ZONE_TAG)
        wanted = _records(raw)
        raw["RecordsWritten"] = bool(zone) and bool(wanted) and all(
            _present(aws, zone, record) for record in wanted)
        return raw

    def create(self, aws: AWSClients, desired: State, tags: Mapping[str, str], token: str) -> Raw:
        # The validation records follow as an update, once ACM shows them.
        names = [n for n in desired["subjectAlternativeNames"] if n != desired["domainName"]]
        answer = aws.client("acm").request_certificate(
            DomainName=desired["domainName"], ValidationMethod=desired["validationMethod"],
            KeyAlgorithm=desired["keyAlgorithm"], IdempotencyToken=token,
            Options={"CertificateTransparencyLoggingPreference": desired["certificateTransparencyLogging"]},
            Tags=tag_list(tags),
            **({"SubjectAlternativeNames": [desired["domainName"], *names]} if names else {}))
        return {"Certificate": {"CertificateArn": answer["CertificateArn"], "DomainName": desired["domainName"]}}

    def update(self, aws: AWSClients, ident: str, desired: State, raw: Raw, changed: frozenset[str]) -> None:
        acm = aws.client("acm")
        if "certificateTransparencyLogging" in changed:
            acm.update_certificate_options(CertificateArn=ident, Options={
                "CertificateTransparencyLoggingPreference": desired["certificateTransparencyLogging"]})
        if "validationZoneId" in changed:
            self._move_records(aws, ident, raw, desired["validationZoneId"])

    def _move_records(self, aws: AWSClients, ident: str, raw: Raw, zone: str) -> None:
        """Write the validation records into `zone` (none: only remove them) and remove them
        from the zone they were written to before; the tag records where they are."""
        acm = aws.client("acm")
        records = _records(raw)
        if zone and not records:
            return  # ACM has not published them yet: the next run writes them
        previous = tag_map(raw.get("Tags")).get(ZONE_TAG)
        if zone:
            _change(aws, zone, "UPSERT", records, f"ACM validation of {ident}")
            acm.add_tags_to_certificate(CertificateArn=ident, Tags=[{"Key": ZONE_TAG, "Value": zone}])
        if previous and previous != zone:
            self._remove_records(aws, ident, previous, records)
        if not zone and previous:
            acm.remove_tags_from_certificate(CertificateArn=ident, Tags=[{"Key": ZONE_TAG}])

    def _remove_records(self, aws: AWSClients, ident: str, zone: str, records: list[dict[str, str]]) -> None:
        """Delete the records this certificate's validation wrote, except those another
        certificate of the account also validates with (ACM gives one name per domain)."""
        shared = _domains_of_other_certificates(aws, ident)
        mine = [r for r in records if not r["domains"] & shared and _present(aws, zone, r)]
        if mine:
            _change(aws, zone, "DELETE", mine, f"ACM validation of {ident} removed")

    def set_tags(self, aws: AWSClients, ident: str, change: TagChange) -> None:
        acm = aws.client("acm")
        change.apply(lambda tags: acm.add_tags_to_certificate(CertificateArn=ident, Tags=tags),
                     lambda keys: acm.remove_tags_from_certificate(CertificateArn=ident, Tags=[{"Key": k} for k in keys]))

    def find_all_owned(self, aws: AWSClients, owner_uid_tag: tuple[str, str]) -> list[Raw]:
        found = [self.read(aws, arn) for arn in tagged_arns(aws, ["acm:certificate"], owner_uid_tag)]
        return [raw for raw in found if raw is not None]

    def delete(self, aws: AWSClients, ident: str, raw: Raw, spec: Mapping[str, Any]) -> None:
        users = raw["Certificate"].get("InUseBy") or []
        if users:
            raise DeletionProtected(f"certificate {ident} is in use by {', '.join(users)}: it is deleted once "
                                    "they stop using it", reason="CertificateInUse")
        zone = tag_map(raw.get("Tags")).get(ZONE_TAG)
        if zone:
            self._remove_records(aws, ident, zone, _records(raw))
        aws.client("acm").delete_certificate(CertificateArn=ident)


def _method(cert: Mapping[str, Any]) -> str | None:
    methods = {o.get("ValidationMethod") for o in cert.get("DomainValidationOptions") or ()} - {None}
    return methods.pop() if len(methods) == 1 else None


def _pending_message(raw: Raw) -> str:
    cert = raw["Certificate"]
    pending = [o for o in cert.get("DomainValidationOptions") or () if o.get("ValidationStatus") != "SUCCESS"]
    if not pending:
        return f"ACM is validating {cert['DomainName']}"
    if any(o.get("ValidationMethod") == "EMAIL" for o in pending):
        return ("waiting for the validation emails ACM sent to be approved for "
                + ", ".join(o["DomainName"] for o in pending))
    missing = [o for o in pending if not o.get("ResourceRecord")]
    if missing:
        return "waiting for ACM to publish the DNS validation records of " + ", ".join(o["DomainName"] for o in missing)
    zone = tag_map(raw.get("Tags")).get(ZONE_TAG)
    where = f"written to hosted zone {zone}" if zone and raw.get("RecordsWritten") else "not written by the operator"
    records = "; ".join(f"{o['DomainName']}: {o['ResourceRecord']['Type']} {o['ResourceRecord']['Name']} -> "
                        f"{o['ResourceRecord']['Value']}" for o in pending)
    return f"waiting for ACM to see the DNS validation records ({where}): {records}"


def _present(aws: AWSClients, zone: str, record: Mapping[str, Any]) -> bool:
    """Whether the zone holds the record with ACM's value."""
    answer = aws.client("route53").list_resource_record_sets(
        HostedZoneId=zone, StartRecordName=record["name"], StartRecordType=record["type"], MaxItems="1")
    return any(s["Name"].lower() == record["name"].lower() and s["Type"] == record["type"]
               and [r["Value"] for r in s.get("ResourceRecords") or ()] == [record["value"]]
               for s in answer["ResourceRecordSets"])


def _change(aws: AWSClients, zone: str, action: str, records: list[dict[str, Any]], comment: str) -> None:
    aws.client("route53").change_resource_record_sets(HostedZoneId=zone, ChangeBatch={
        "Comment": comment[:256],
        "Changes": [{"Action": action, "ResourceRecordSet": {
            "Name": r["name"], "Type": r["type"], "TTL": VALIDATION_TTL, "ResourceRecords": [{"Value": r["value"]}]}}
            for r in records]})


def _domains_of_other_certificates(aws: AWSClients, ident: str) -> set[str]:
    """Domains the account's other certificates cover (any status, any key type)."""
    pages = aws.client("acm").get_paginator("list_certificates").paginate(Includes={"keyTypes": ALL_KEY_TYPES})
    return {_base(name) for page in pages for summary in page["CertificateSummaryList"]
            if summary["CertificateArn"] != ident
            for name in (summary.get("DomainName"), *summary.get("SubjectAlternativeNameSummaries", ())) if name}
