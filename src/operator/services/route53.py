"""Route 53 calls more than one kind needs: zone ids, record names as Route 53 writes them,
finding one record set by its key, and change batches of record sets. Route53RecordSet uses
them, Route53HostedZone's forceDestroy does, and so can any kind that writes records into a
zone of ours (a certificate's DNS validation records)."""

from __future__ import annotations

from typing import Any, Iterable, Mapping

# A domain name, with or without the final dot (a leading `*.` for wildcards).
ZONE_NAME = r"^(\*\.)?([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)*[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.?$"
ZONE_PREFIX = "/hostedzone/"
CHANGE_PREFIX = "/change/"
# Route 53 takes at most 1000 changes in one batch.
MAX_CHANGES = 1000


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
    return [record for page in route53.get_paginator("list_resource_record_sets").paginate(HostedZoneId=zone)
            for record in page["ResourceRecordSets"]]


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
