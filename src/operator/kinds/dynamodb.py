"""DynamoDBTable: a table, its indexes, stream, TTL, point-in-time recovery, encryption and
deletion protection. AWS makes one index change per UpdateTable and needs the table ACTIVE in
between, so each update applies one such step and answers "in progress" until the next."""

from __future__ import annotations

from typing import Any, Mapping

from ..engine.kind import (Adoption, AWSClients, Deletion, DriftField, ErrorMatch, Identity, Kind, Raw, Reference,
                           Severity, State, TagChange, Tagging, tag_list, tag_map)
from ..engine.schema import immutable
from ..provider.errors import InProgress, TerminalError

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
        _attribute_types(spec)  # raises when one attribute is given two types
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
        provisioned = spec.get("billingMode", "PAY_PER_REQUEST") == "PROVISIONED"
        kms = spec.get("sseType", "AWS_OWNED") == "KMS"
        return {
            "tableName": spec["tableName"],
            "keySchema": {"hash": _key(spec["hashKey"]), "range": _key(spec.get("rangeKey"))},
            "billing": {"mode": spec.get("billingMode", "PAY_PER_REQUEST"),
                        **({"read": spec["readCapacityUnits"], "write": spec["writeCapacityUnits"]}
                           if provisioned else {})},
            "globalSecondaryIndexes": [_desired_index(index, provisioned)
                                       for index in spec.get("globalSecondaryIndexes") or ()],
            "localSecondaryIndexes": [_desired_index({**index, "hashKey": spec["hashKey"]}, False)
                                      for index in spec.get("localSecondaryIndexes") or ()],
            "stream": ({"enabled": True, "viewType": spec["streamViewType"]} if spec.get("streamEnabled")
                       else {"enabled": False}),
            "timeToLive": spec.get("timeToLiveAttribute", ""),
            "pointInTimeRecovery": spec.get("pointInTimeRecovery", False),
            "deletionProtection": spec.get("deletionProtection", False),
            "sseType": spec.get("sseType", "AWS_OWNED"),
            # None: the AWS-managed key, whose ARN is recorded once AWS shows it.
            "sseKmsKey": spec.get("kmsMasterKeyId") if kms else None,
            "tableClass": spec.get("tableClass", "STANDARD"),
            "attributeTypes": _attribute_types(spec),
        }

    def observe(self, raw: Raw) -> State:
        table = raw["Table"]
        types = {item["AttributeName"]: item["AttributeType"] for item in table.get("AttributeDefinitions", ())}
        keys = {item["KeyType"]: item["AttributeName"] for item in table["KeySchema"]}
        throughput = table.get("ProvisionedThroughput") or {}
        mode = (table.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED")
        sse = table.get("SSEDescription") or {}
        kms = sse.get("Status") in ("ENABLED", "UPDATING") and sse.get("SSEType") == "KMS"
        stream = table.get("StreamSpecification") or {}
        ttl = raw["TimeToLive"]
        return {
            "tableName": table["TableName"],
            "keySchema": {"hash": [keys["HASH"], types.get(keys["HASH"])],
                          "range": [keys["RANGE"], types.get(keys["RANGE"])] if "RANGE" in keys else None},
            "billing": {"mode": mode, **({"read": throughput.get("ReadCapacityUnits"),
                                          "write": throughput.get("WriteCapacityUnits")}
                                         if mode == "PROVISIONED" else {})},
            "globalSecondaryIndexes": [_observed_index(index, types, mode == "PROVISIONED")
                                       for index in table.get("GlobalSecondaryIndexes") or ()],
            "localSecondaryIndexes": [_observed_index(index, types, False)
                                      for index in table.get("LocalSecondaryIndexes") or ()],
            "stream": ({"enabled": True, "viewType": stream.get("StreamViewType")} if stream.get("StreamEnabled")
                       else {"enabled": False}),
            "timeToLive": (ttl.get("AttributeName", "") if ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING")
                           else ""),
            "pointInTimeRecovery": raw["PointInTimeRecovery"] in ("ENABLED", "ENABLING"),
            "deletionProtection": table.get("DeletionProtectionEnabled", False),
            "sseType": "KMS" if kms else "AWS_OWNED",
            "sseKmsKey": sse.get("KMSMasterKeyArn") if kms else None,
            # AWS describes the class only when it is not the default.
            "tableClass": (table.get("TableClassSummary") or {}).get("TableClass", "STANDARD"),
            "attributeTypes": types,
        }

    def identify(self, raw: Raw) -> str:
        return raw["Table"]["TableName"]

    def identities(self, raw: Raw) -> State:
        return {"tableArn": raw["Table"]["TableArn"]}

    def status(self, raw: Raw) -> State:
        table = raw["Table"]
        return {"tableStatus": table["TableStatus"],
                "billingMode": (table.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED"),
                "itemCount": table.get("ItemCount"), "tableSizeBytes": table.get("TableSizeBytes"),
                "latestStreamArn": table.get("LatestStreamArn")}

    def available(self, raw: Raw) -> bool:
        return _busy(raw) is None

    def read(self, aws: AWSClients, ident: str) -> Raw | None:
        dynamodb = aws.client("dynamodb")
        answer = self.absent_if_missing(dynamodb.describe_table, TableName=ident)
        if answer is None:
            return None
        if answer["Table"]["TableStatus"] in ("CREATING", "DELETING"):
            return {"Table": answer["Table"], "TimeToLive": {}, "PointInTimeRecovery": "DISABLED"}
        ttl = dynamodb.describe_time_to_live(TableName=ident)["TimeToLiveDescription"]
        backups = dynamodb.describe_continuous_backups(TableName=ident)["ContinuousBackupsDescription"]
        return {"Table": answer["Table"], "TimeToLive": ttl,
                "PointInTimeRecovery": backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"]}

    def read_tags(self, aws: AWSClients, ident: str, raw: Raw) -> dict[str, str]:
        tags: dict[str, str] = {}
        params = {"ResourceArn": raw["Table"]["TableArn"]}
        while True:  # ListTagsOfResource has a NextToken but no paginator
            answer = aws.client("dynamodb").list_tags_of_resource(**params)
            tags.update(tag_map(answer.get("Tags")))
            if not answer.get("NextToken"):
                return tags
            params["NextToken"] = answer["NextToken"]

    def create(self, aws: AWSClients, desired: State, tags: Mapping[str, str], token: str) -> Raw:
        params: dict[str, Any] = {
            "TableName": desired["tableName"],
            "KeySchema": _key_schema(desired["keySchema"]["hash"], desired["keySchema"]["range"]),
            "AttributeDefinitions": _attribute_definitions(desired["attributeTypes"]),
            "BillingMode": desired["billing"]["mode"],
            "TableClass": desired["tableClass"],
            "DeletionProtectionEnabled": desired["deletionProtection"],
            "SSESpecification": _sse(desired),
            "Tags": tag_list(tags),
        }
        if desired["billing"]["mode"] == "PROVISIONED":
            params["ProvisionedThroughput"] = _throughput(desired["billing"])
        if desired["globalSecondaryIndexes"]:
            params["GlobalSecondaryIndexes"] = [_index_description(index)
                                                for index in desired["globalSecondaryIndexes"]]
        if desired["localSecondaryIndexes"]:
            params["LocalSecondaryIndexes"] = [_index_description(index)
                                               for index in desired["localSecondaryIndexes"]]
        if desired["stream"]["enabled"]:
            params["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": desired["stream"]["viewType"]}
        table = aws.client("dynamodb").create_table(**params)["TableDescription"]
        # TTL and backups are set once the table is ACTIVE, by the first update.
        return {"Table": table, "TimeToLive": {}, "PointInTimeRecovery": "DISABLED"}

    def update(self, aws: AWSClients, ident: str, desired: State, raw: Raw, changed: frozenset[str]) -> None:
        busy = _busy(raw)
        if busy:
            raise InProgress(busy)
        dynamodb = aws.client("dynamodb")
        observed = self.observe(raw)
        if "timeToLive" in changed:
            _update_ttl(dynamodb, ident, desired["timeToLive"], observed["timeToLive"])
        if "pointInTimeRecovery" in changed:
            dynamodb.update_continuous_backups(TableName=ident, PointInTimeRecoverySpecification={
                "PointInTimeRecoveryEnabled": desired["pointInTimeRecovery"]})
        if "deletionProtection" in changed:
            dynamodb.update_table(TableName=ident, DeletionProtectionEnabled=desired["deletionProtection"])
        steps = [step for step in _table_steps(desired, observed, changed) if step]
        if steps:
            dynamodb.update_table(TableName=ident, **steps[0])
            if len(steps) > 1:
                raise InProgress(f"table {ident}: {len(steps) - 1} more change(s) after this one (AWS takes one "
                                 "at a time, with the table ACTIVE in between)")

    def set_tags(self, aws: AWSClients, ident: str, change: TagChange) -> None:
        dynamodb = aws.client("dynamodb")
        arn = dynamodb.describe_table(TableName=ident)["Table"]["TableArn"]
        if change.remove:
            dynamodb.untag_resource(ResourceArn=arn, TagKeys=sorted(change.remove))
        if change.add:
            dynamodb.tag_resource(ResourceArn=arn, Tags=tag_list(change.add))

    def delete(self, aws: AWSClients, ident: str, raw: Raw, spec: Mapping[str, Any]) -> None:
        if raw["Table"]["TableStatus"] != "DELETING":
            aws.client("dynamodb").delete_table(TableName=ident)


def _key(key: Mapping[str, str] | None) -> list[str] | None:
    return None if key is None else [key["name"], key["type"]]


def _attribute_types(spec: Mapping[str, Any]) -> dict[str, str]:
    """Every key attribute of the table and its indexes with its type (one type per name)."""
    keys = [spec["hashKey"], spec.get("rangeKey")]
    for field in ("globalSecondaryIndexes", "localSecondaryIndexes"):
        for index in spec.get(field) or ():
            keys += [index.get("hashKey"), index.get("rangeKey")]
    types: dict[str, str] = {}
    for key in keys:
        if key is None:
            continue
        if types.setdefault(key["name"], key["type"]) != key["type"]:
            raise TerminalError(f"attribute {key['name']} is given two types ({types[key['name']]} and "
                                f"{key['type']})", reason="ConflictingAttributeType")
    return types


def _desired_index(index: Mapping[str, Any], provisioned: bool) -> State:
    return {
        "indexName": index["indexName"],
        "hash": _key(index["hashKey"]),
        "range": _key(index.get("rangeKey")),
        "projection": [index.get("projectionType", "ALL"), sorted(index.get("nonKeyAttributes") or ())],
        **({"read": index["readCapacityUnits"], "write": index["writeCapacityUnits"]} if provisioned else {}),
    }


def _observed_index(index: Raw, types: Mapping[str, str], provisioned: bool) -> State:
    keys = {item["KeyType"]: item["AttributeName"] for item in index["KeySchema"]}
    projection = index.get("Projection") or {}
    throughput = index.get("ProvisionedThroughput") or {}
    return {
        "indexName": index["IndexName"],
        "hash": [keys["HASH"], types.get(keys["HASH"])],
        "range": [keys["RANGE"], types.get(keys["RANGE"])] if "RANGE" in keys else None,
        "projection": [projection.get("ProjectionType", "ALL"), sorted(projection.get("NonKeyAttributes") or ())],
        **({"read": throughput.get("ReadCapacityUnits"), "write": throughput.get("WriteCapacityUnits")}
           if provisioned else {}),
    }


def _key_schema(hash_key: list[str], range_key: list[str] | None) -> list[dict[str, str]]:
    schema = [{"AttributeName": hash_key[0], "KeyType": "HASH"}]
    if range_key:
        schema.append({"AttributeName": range_key[0], "KeyType": "RANGE"})
    return schema


def _attribute_definitions(types: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"AttributeName": name, "AttributeType": kind} for name, kind in sorted(types.items())]


def _throughput(capacity: Mapping[str, Any]) -> dict[str, int]:
    return {"ReadCapacityUnits": capacity["read"], "WriteCapacityUnits": capacity["write"]}


def _index_description(index: State) -> dict[str, Any]:
    projection_type, non_key = index["projection"]
    projection: dict[str, Any] = {"ProjectionType": projection_type}
    if non_key:
        projection["NonKeyAttributes"] = non_key
    description = {"IndexName": index["indexName"], "KeySchema": _key_schema(index["hash"], index["range"]),
                   "Projection": projection}
    if "read" in index:
        description["ProvisionedThroughput"] = _throughput(index)
    return description


def _sse(desired: State) -> dict[str, Any]:
    if desired["sseType"] == "AWS_OWNED":
        return {"Enabled": False}
    return {"Enabled": True, "SSEType": "KMS",
            **({"KMSMasterKeyId": desired["sseKmsKey"]} if desired["sseKmsKey"] else {})}


def _busy(raw: Raw) -> str | None:
    """Why AWS takes no change to the table now (it or an index is being built or changed)."""
    table = raw["Table"]
    if table["TableStatus"] != "ACTIVE":
        return f"table {table['TableName']} is {table['TableStatus']}"
    for index in table.get("GlobalSecondaryIndexes") or ():
        if index.get("IndexStatus", "ACTIVE") != "ACTIVE":
            return f"index {index['IndexName']} of table {table['TableName']} is {index['IndexStatus']}"
    return None


def _update_ttl(dynamodb: Any, ident: str, want: str, have: str) -> None:
    """TTL is on for one attribute at most: switching attributes is off, then on (the next pass)."""
    if have:
        dynamodb.update_time_to_live(TableName=ident, TimeToLiveSpecification={"Enabled": False, "AttributeName": have})
        if want:
            raise InProgress(f"table {ident}: TTL moves from {have} to {want}: disabled first")
    elif want:
        dynamodb.update_time_to_live(TableName=ident, TimeToLiveSpecification={"Enabled": True, "AttributeName": want})


def _table_steps(desired: State, observed: State, changed: frozenset[str]) -> list[dict[str, Any] | None]:
    """The UpdateTable calls the change needs, in the order they can be made, one per call."""
    steps: list[dict[str, Any] | None] = []
    if changed & {"sseType", "sseKmsKey"}:
        steps.append({"SSESpecification": _sse(desired)})
    if "tableClass" in changed:
        steps.append({"TableClass": desired["tableClass"]})
    wanted = {index["indexName"]: index for index in desired["globalSecondaryIndexes"]}
    present = {index["indexName"]: index for index in observed["globalSecondaryIndexes"]}
    if "billing" in changed or "globalSecondaryIndexes" in changed:
        steps.append(_billing_step(desired, observed, wanted, present))
    if "stream" in changed:
        if observed["stream"]["enabled"] and desired["stream"]["enabled"]:
            # A new view type is a new stream: off first, then on.
            steps.append({"StreamSpecification": {"StreamEnabled": False}})
        steps.append({"StreamSpecification": {"StreamEnabled": desired["stream"]["enabled"],
                                              **({"StreamViewType": desired["stream"]["viewType"]}
                                                 if desired["stream"]["enabled"] else {})}})
    # An index whose keys or projection differ is removed, then added again.
    rebuilt = {name for name, index in wanted.items()
               if name in present and _shape(index) != _shape(present[name])}
    for name in sorted(set(present) - set(wanted) | rebuilt):
        steps.append({"GlobalSecondaryIndexUpdates": [{"Delete": {"IndexName": name}}]})
    for name in sorted(set(wanted) - set(present) | rebuilt):
        steps.append({"AttributeDefinitions": _attribute_definitions(desired["attributeTypes"]),
                      "GlobalSecondaryIndexUpdates": [{"Create": _index_description(wanted[name])}]})
    return steps


def _shape(index: State) -> tuple[Any, ...]:
    return index["hash"], index["range"], index["projection"]


def _billing_step(desired: State, observed: State, wanted: Mapping[str, State],
                  present: Mapping[str, State]) -> dict[str, Any] | None:
    """Billing mode and capacities of the table and of its existing indexes, in one call (None:
    nothing to change)."""
    billing = desired["billing"]
    updates = [{"Update": {"IndexName": name, "ProvisionedThroughput": _throughput(index)}}
               for name, index in wanted.items()
               if name in present and "read" in index and _shape(index) == _shape(present[name])
               and (index["read"], index["write"]) != (present[name].get("read"), present[name].get("write"))]
    if billing == observed["billing"] and not updates:
        return None
    step: dict[str, Any] = {"BillingMode": billing["mode"]}
    if billing["mode"] == "PROVISIONED":
        step["ProvisionedThroughput"] = _throughput(billing)
    if updates:
        step["GlobalSecondaryIndexUpdates"] = updates
    return step

