"""DynamoDBTable: a table, its indexes, stream, TTL, point-in-time recovery, encryption and
deletion protection (`services/dynamodb.py` computes its state and makes the calls: one index
or stream change per update, as AWS takes them)."""

from __future__ import annotations

from typing import Any, Mapping

from ..engine.kind import (Adoption, AWSClients, Deletion, DriftField, ErrorMatch, Identity, Kind, Raw, Reference,
                           Severity, State, TagChange, Tagging)
from ..engine.schema import immutable
from ..provider.errors import TerminalError
from ..services.dynamodb import (attribute_types, busy, create_table, desired_table, observed_table, set_table_tags,
                                 table_status, table_tags, update_table, with_ttl_and_backups)

TABLE_NAME = r"^[A-Za-z0-9_.-]{3,255}$"
ATTRIBUTE_TYPES = ["S", "N", "B"]
PROJECTIONS = ["ALL", "KEYS_ONLY", "INCLUDE"]
KEY = {"type": "object", "required": ["name", "type"],
       "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 255},
                      "type": {"type": "string", "enum": ATTRIBUTE_TYPES}}}
PROVISIONED_NEEDS_CAPACITY = "PROVISIONED billing needs readCapacityUnits and writeCapacityUnits"
ON_DEMAND_HAS_NO_CAPACITY = "capacity units are for PROVISIONED billing only"
STREAM_NEEDS_VIEW = "streamEnabled needs streamViewType"
INCLUDE_NEEDS_ATTRIBUTES = "nonKeyAttributes go with projectionType INCLUDE, and INCLUDE needs them"
LSI_NEEDS_RANGE_KEY = "local secondary indexes need a table with a rangeKey"
CAPACITY = {"type": "integer", "minimum": 1, "maximum": 40000}


def _immutable(field: str) -> dict[str, list[dict[str, str]]]:
    return immutable(f"{field} cannot change after creation (the table would have to be replaced)")


def _projection_properties() -> dict[str, Any]:
    return {"projectionType": {"type": "string", "enum": PROJECTIONS, "default": "ALL"},
            "nonKeyAttributes": {"type": "array", "items": {"type": "string"}, "maxItems": 20}}


INCLUDE_RULE = {"rule": "(self.projectionType == 'INCLUDE') == (has(self.nonKeyAttributes) && "
                        "size(self.nonKeyAttributes) > 0)", "message": INCLUDE_NEEDS_ATTRIBUTES}
GSI = {
    "type": "object",
    "required": ["indexName", "hashKey"],
    "properties": {"indexName": {"type": "string", "pattern": TABLE_NAME},
                   "hashKey": KEY, "rangeKey": KEY, **_projection_properties(),
                   "readCapacityUnits": CAPACITY, "writeCapacityUnits": CAPACITY},
    "x-kubernetes-validations": [INCLUDE_RULE],
}
LSI = {
    "type": "object",
    "required": ["indexName", "rangeKey"],
    "properties": {"indexName": {"type": "string", "pattern": TABLE_NAME}, "rangeKey": KEY,
                   **_projection_properties()},
    "x-kubernetes-validations": [INCLUDE_RULE],
}


class DynamoDBTable(Kind):
    kind = "DynamoDBTable"
    plural = "dynamodbtables"
    short_names = ("ddb",)
    description = "A DynamoDB table with its secondary indexes, stream, TTL, backups and encryption."
    identifier = "tableName"
    identity = Identity(fields=("tableArn",), from_spec="tableName")
    adoption = Adoption.SPEC_NAME
    tagging = Tagging(at_create=True, in_description=False)
    deletion = Deletion(protected=(ErrorMatch("ValidationException", "DeletionProtectionEnabled"),))
    spec_properties = {
        "tableName": {"type": "string", "pattern": TABLE_NAME, **_immutable("tableName"),
                      "description": "Table name; cannot change after creation."},
        "hashKey": {**KEY, "description": "Partition key attribute and its type; cannot change.",
                    **_immutable("hashKey")},
        "rangeKey": {**KEY, "description": "Sort key attribute and its type; cannot change.",
                     **_immutable("rangeKey")},
        "billingMode": {"type": "string", "enum": ["PAY_PER_REQUEST", "PROVISIONED"], "default": "PAY_PER_REQUEST",
                        "description": "On-demand or provisioned capacity (AWS allows a switch once per 24 h)."},
        "readCapacityUnits": CAPACITY,
        "writeCapacityUnits": CAPACITY,
        "globalSecondaryIndexes": {"type": "array", "items": GSI, "maxItems": 20,
                                   "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["indexName"],
                                   "description": "Added and removed one at a time (AWS's rule); an index whose "
                                                  "keys or projection change is removed, then added again."},
        "localSecondaryIndexes": {"type": "array", "items": LSI, "maxItems": 5,
                                  "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["indexName"],
                                  **_immutable("localSecondaryIndexes"),
                                  "description": "Made with the table only; cannot change after creation."},
        "streamEnabled": {"type": "boolean", "default": False, "description": "Publish item changes on a stream."},
        "streamViewType": {"type": "string", "enum": ["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"]},
        "timeToLiveAttribute": {"type": "string", "minLength": 1, "maxLength": 255,
                                "description": "Attribute holding each item's expiry (epoch seconds); unset: no TTL."},
        "pointInTimeRecovery": {"type": "boolean", "default": False,
                                "description": "Continuous backups for restores to any second of the last 35 days."},
        "deletionProtection": {"type": "boolean", "default": False,
                               "description": "AWS refuses to delete the table while this is on."},
        "sseType": {"type": "string", "enum": ["AWS_OWNED", "KMS"], "default": "AWS_OWNED",
                    "description": "Encryption at rest: an AWS-owned key, or KMS (the key named by kmsKeyRef or "
                                   "kmsMasterKeyId, else the AWS-managed alias/aws/dynamodb)."},
        "tableClass": {"type": "string", "enum": ["STANDARD", "STANDARD_INFREQUENT_ACCESS"], "default": "STANDARD"},
    }
    spec_required = ("tableName", "hashKey")
    spec_validations = (
        {"rule": "self.billingMode == 'PROVISIONED' ? has(self.readCapacityUnits) && has(self.writeCapacityUnits)"
                 " : !has(self.readCapacityUnits) && !has(self.writeCapacityUnits)",
         "message": PROVISIONED_NEEDS_CAPACITY},
        {"rule": "!self.streamEnabled || has(self.streamViewType)", "message": STREAM_NEEDS_VIEW},
        {"rule": "!has(self.localSecondaryIndexes) || size(self.localSecondaryIndexes) == 0 || has(self.rangeKey)",
         "message": LSI_NEEDS_RANGE_KEY},
        {"rule": "self.sseType == 'KMS' || !(has(self.kmsKeyRef) || has(self.kmsMasterKeyId))",
         "message": "a KMS key needs sseType KMS"},
    )
    # DynamoDB reports the key by ARN: the raw id must be one, so that the comparison holds.
    references = (Reference("kmsKeyRef", "KMSKey", "kmsMasterKeyId", required=False, status_field="arn",
                            id_pattern=r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+$"),)
    status_properties = {"itemCount": {"type": "integer"}, "tableSizeBytes": {"type": "integer"},
                         "latestStreamArn": {"type": "string"}}
    printer_columns = (("Status", ".status.tableStatus", "string"), ("Billing", ".status.billingMode", "string"))
    drift_fields = (
        DriftField("keySchema", Severity.CRITICAL, updatable=False),
        DriftField("localSecondaryIndexes", Severity.WARNING, updatable=False),
        DriftField("sseType", Severity.CRITICAL),
        DriftField("sseKmsKey", Severity.CRITICAL, late_init=True),
        DriftField("deletionProtection", Severity.CRITICAL),
        DriftField("pointInTimeRecovery", Severity.CRITICAL),
        DriftField("globalSecondaryIndexes", Severity.WARNING),
        DriftField("billing", Severity.WARNING),
        DriftField("stream", Severity.WARNING),
        DriftField("timeToLive", Severity.WARNING),
        DriftField("tableClass", Severity.INFO),
    )

    def validate(self, spec: Mapping[str, Any], related: Mapping[str, Mapping[str, Any]]) -> None:
        provisioned = spec.get("billingMode", "PAY_PER_REQUEST") == "PROVISIONED"
        has_capacity = "readCapacityUnits" in spec or "writeCapacityUnits" in spec
        if provisioned and not ("readCapacityUnits" in spec and "writeCapacityUnits" in spec):
            raise TerminalError(PROVISIONED_NEEDS_CAPACITY)
        if not provisioned and has_capacity:
            raise TerminalError(ON_DEMAND_HAS_NO_CAPACITY)
        if spec.get("streamEnabled") and not spec.get("streamViewType"):
            raise TerminalError(STREAM_NEEDS_VIEW)
        if spec.get("localSecondaryIndexes") and not spec.get("rangeKey"):
            raise TerminalError(LSI_NEEDS_RANGE_KEY)
        attribute_types(spec)  # raises when one attribute is given two types
        names: set[str] = set()
        for field in ("globalSecondaryIndexes", "localSecondaryIndexes"):
            for index in spec.get(field) or ():
                if index["indexName"] in names:
                    raise TerminalError(f"index {index['indexName']} is declared twice", reason="DuplicateIndex")
                names.add(index["indexName"])
                if (index.get("projectionType", "ALL") == "INCLUDE") != bool(index.get("nonKeyAttributes")):
                    raise TerminalError(f"{field} {index['indexName']}: {INCLUDE_NEEDS_ATTRIBUTES}")
                if field == "globalSecondaryIndexes" and provisioned != ("readCapacityUnits" in index):
                    raise TerminalError(f"index {index['indexName']}: capacity units go with PROVISIONED billing, "
                                        "which needs them for every global index")

    def desired(self, spec: Mapping[str, Any]) -> State:
        return desired_table(spec)

    def observe(self, raw: Raw) -> State:
        return observed_table(raw)

    def identify(self, raw: Raw) -> str:
        return raw["Table"]["TableName"]

    def identities(self, raw: Raw) -> State:
        return {"tableArn": raw["Table"]["TableArn"]}

    def status(self, raw: Raw) -> State:
        return table_status(raw)

    def available(self, raw: Raw) -> bool:
        return busy(raw) is None

    def read(self, aws: AWSClients, ident: str) -> Raw | None:
        dynamodb = aws.client("dynamodb")
        answer = self.absent_if_missing(dynamodb.describe_table, TableName=ident)
        return None if answer is None else with_ttl_and_backups(dynamodb, ident, answer["Table"])

    def read_tags(self, aws: AWSClients, ident: str, raw: Raw) -> dict[str, str]:
        return table_tags(aws.client("dynamodb"), raw["Table"]["TableArn"])

    def create(self, aws: AWSClients, desired: State, tags: Mapping[str, str], token: str) -> Raw:
        return create_table(aws.client("dynamodb"), desired, tags)

    def update(self, aws: AWSClients, ident: str, desired: State, raw: Raw, changed: frozenset[str]) -> None:
        update_table(aws.client("dynamodb"), ident, desired, raw, changed)

    def set_tags(self, aws: AWSClients, ident: str, change: TagChange) -> None:
        set_table_tags(aws.client("dynamodb"), ident, change)

    def delete(self, aws: AWSClients, ident: str, raw: Raw, spec: Mapping[str, Any]) -> None:
        if raw["Table"]["TableStatus"] != "DELETING":
            aws.client("dynamodb").delete_table(TableName=ident)
