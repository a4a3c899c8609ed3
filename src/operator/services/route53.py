"""Route 53 calls more than one kind needs: zone ids, record names as Route 53 writes them,
finding one record set by its key, and change batches of record sets. Route53RecordSet uses
them, Route53HostedZone's forceDestroy does, and so can any kind that writes records into a
zone of ours (a certificate's DNS validation records). `RecordSet` is what Route53RecordSet
computes: its desired and observed state, its change batches and alias targets."""

from __future__ import annotations

import threading
from typing import Any, Iterable, Mapping

from ..engine.delta import aws_params
from ..engine.kind import AWSClients, Kind, Raw, State
from ..engine.lookups import paginated
from ..provider.errors import InProgress

# A domain name, with or without the final dot (a leading `*.` for wildcards).
ZONE_NAME = r"^(\*\.)?([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)*[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.?$"
ZONE_PREFIX = "/hostedzone/"
CHANGE_PREFIX = "/change/"
# Route 53 takes at most 1000 changes in one batch.
MAX_CHANGES = 1000
# Seconds between looks at a change Route 53 has not yet applied everywhere (about a minute).
IN_SYNC_DELAY = 15.0
# A record set's routing policies (at most one): ResourceRecordSet key -> spec field.
ROUTING = {"Weight": "weight", "Region": "region", "Failover": "failover", "GeoLocation": "geoLocation",
           "MultiValueAnswer": "multiValueAnswer"}
# The hosted zone id of every CloudFront distribution's domain name (fixed by AWS).
CLOUDFRONT_ZONE_ID = "Z2FDTNDATAQYW2"


def zone_id(value: str) -> str:
    """The bare zone id (`Z0123...`) of `/hostedzone/Z0123...` or of the bare id."""
    return value[len(ZONE_PREFIX):] if value.startswith(ZONE_PREFIX) else value


def fqdn(name: str) -> str:
    """A record or zone name as Route 53 lists it: lower case, ending in a dot, `*` for its
    octal escape `\\052`."""
    name = name.replace("\\052", "*").lower()
    return name if name.endswith(".") else name + "."


def record_key(record: Mapping[str, Any]) -> tuple[str, str, str]:
    """(name, type, set identifier) of a listed record set: what makes it one record in a zone."""
    return fqdn(record["Name"]), record["Type"], record.get("SetIdentifier", "")


def find_record(route53: Any, zone: str, name: str, record_type: str, set_identifier: str = "") -> dict | None:
    """The record set (name, type, set identifier) of `zone`, or None. The listing starts at the
    name and type and pages until it passes them (several set identifiers may share them)."""
    want = (fqdn(name), record_type, set_identifier)
    params = {"HostedZoneId": zone, "StartRecordName": want[0], "StartRecordType": record_type}
    while True:
        page = route53.list_resource_record_sets(**params)
        for record in page["ResourceRecordSets"]:
            key = record_key(record)
            if key == want:
                return record
            if key[:2] != want[:2]:
                return None
        if not page.get("IsTruncated"):
            return None
        params = {"HostedZoneId": zone, "StartRecordName": page["NextRecordName"],
                  "StartRecordType": page["NextRecordType"],
                  **({"StartRecordIdentifier": page["NextRecordIdentifier"]}
                     if page.get("NextRecordIdentifier") else {})}


def zone_records(route53: Any, zone: str) -> list[dict]:
    """Every record set of the zone."""
    return list(paginated(route53, "list_resource_record_sets", "ResourceRecordSets", HostedZoneId=zone))


def change_records(route53: Any, zone: str, changes: Iterable[tuple[str, Mapping[str, Any]]],
                   comment: str = "") -> str | None:
    """Apply (action, record set) changes (`CREATE`, `UPSERT`, `DELETE`) in as few batches as
    Route 53 allows (each batch is atomic); returns the last batch's change id (None: nothing
    to change). Route 53 is INSYNC with a change once `change_in_sync` says so."""
    pending = [{"Action": action, "ResourceRecordSet": dict(record)} for action, record in changes]
    change_id = None
    for start in range(0, len(pending), MAX_CHANGES):
        batch = {"Changes": pending[start:start + MAX_CHANGES], **({"Comment": comment} if comment else {})}
        change_id = route53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch=batch)["ChangeInfo"]["Id"]
    return change_id


def change_in_sync(route53: Any, change_id: str) -> bool:
    """Whether every Route 53 server has the change (`INSYNC`; `PENDING` until then)."""
    bare = change_id[len(CHANGE_PREFIX):] if change_id.startswith(CHANGE_PREFIX) else change_id
    return route53.get_change(Id=bare)["ChangeInfo"]["Status"] == "INSYNC"


def is_zone_apex_default(record: Mapping[str, Any], zone_name: str) -> bool:
    """The SOA and NS records Route 53 made at the zone's apex (deleted with the zone only)."""
    return record["Type"] in ("SOA", "NS") and fqdn(record["Name"]) == fqdn(zone_name)


class RecordSet(Kind):
    """Base of Route53RecordSet: one record set, keyed `zone/name/type/set identifier`."""

    def __init__(self) -> None:
        # Changes submitted by this process and not yet seen INSYNC, by record key. Lost on a
        # restart: a record is then Ready at once (Route 53 applies a change within a minute).
        self._pending: dict[str, str] = {}
        self._pending_lock = threading.Lock()

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
            "routing": {field: spec[field] for field in ROUTING.values() if field in spec},
            "healthCheckId": spec.get("healthCheckId", ""),
            "allowOverwrite": spec.get("allowOverwrite", False),
        }

    def observe(self, raw: Raw) -> State:
        record = raw["Record"]
        alias = record.get("AliasTarget")
        geo = record.get("GeoLocation")
        routing = {**{field: record.get(key) for key, field in ROUTING.items()},
                   "geoLocation": {k[0].lower() + k[1:]: v for k, v in geo.items()} if geo else None}
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
    record.update(aws_params(desired["routing"], ROUTING))
    if "GeoLocation" in record:
        record["GeoLocation"] = {key[0].upper() + key[1:]: value for key, value in record["GeoLocation"].items()}
    if desired["healthCheckId"]:
        record["HealthCheckId"] = desired["healthCheckId"]
    return record
