"""ACM: what Certificate computes. The comparable state of a public certificate, its request,
its status and the wait for validation, and the DNS validation records: written to the Route 53
zone the spec names (with `services/route53.py`), moved when the zone changes, removed on delete
but where another certificate of the account validates with the same record.

The zone the records were written to is remembered in a tag of the certificate (ZONE_TAG)."""

from __future__ import annotations

from typing import Any, Mapping

from ..engine.kind import AWSClients, Kind, Raw, State, TagChange, tag_list, tag_map
from ..engine.lookups import paginated, read_tagged
from ..provider.errors import DeletionProtected, InProgress, TerminalError
from .route53 import change_records, find_record, zone_id

# The tag holding the hosted zone the operator wrote this certificate's validation records to.
ZONE_TAG = "infra-operator.dev/validation-zone"
VALIDATION_TTL = 300
# ListCertificates lists RSA_2048 certificates only unless told every key type.
ALL_KEY_TYPES = ["RSA_1024", "RSA_2048", "RSA_3072", "RSA_4096", "EC_prime256v1", "EC_secp384r1", "EC_secp521r1"]
FAILED_STATES = {
    "FAILED": "CertificateFailed", "VALIDATION_TIMED_OUT": "ValidationTimedOut", "REVOKED": "CertificateRevoked",
    "EXPIRED": "CertificateExpired", "INACTIVE": "CertificateInactive",
}


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


class ACMCertificate(Kind):
    """Base of Certificate: an ACM public certificate keyed by its ARN."""

    def desired(self, spec: Mapping[str, Any]) -> State:
        zone = (spec.get("validation") or {}).get("hostedZoneId")
        return {
            "domainName": spec["domainName"],
            "subjectAlternativeNames": sorted({spec["domainName"], *spec.get("subjectAlternativeNames", ())}),
            "validationMethod": spec.get("validationMethod", "DNS"),
            "keyAlgorithm": spec.get("keyAlgorithm", "RSA_2048"),
            "certificateTransparencyLogging": spec.get("certificateTransparencyLogging", "ENABLED"),
            "validationZoneId": zone_id(zone) if zone else "",
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
        return read_tagged(aws, self.read, ["acm:certificate"], owner_uid_tag)

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
    found = find_record(aws.client("route53"), zone, record["name"], record["type"])
    return found is not None and [r["Value"] for r in found.get("ResourceRecords") or ()] == [record["value"]]


def _change(aws: AWSClients, zone: str, action: str, records: list[dict[str, Any]], comment: str) -> None:
    change_records(aws.client("route53"), zone, [(action, {
        "Name": r["name"], "Type": r["type"], "TTL": VALIDATION_TTL, "ResourceRecords": [{"Value": r["value"]}]})
        for r in records], comment[:256])


def _domains_of_other_certificates(aws: AWSClients, ident: str) -> set[str]:
    """Domains the account's other certificates cover (any status, any key type)."""
    summaries = paginated(aws.client("acm"), "list_certificates", "CertificateSummaryList",
                          Includes={"keyTypes": ALL_KEY_TYPES})
    return {_base(name) for summary in summaries
            if summary["CertificateArn"] != ident
            for name in (summary.get("DomainName"), *summary.get("SubjectAlternativeNameSummaries", ())) if name}
