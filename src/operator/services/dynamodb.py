"""DynamoDB tables: the comparable state of a spec and of a description (the table, its TTL
and point-in-time recovery), CreateTable's parameters, and the updates. TTL, backups and
deletion protection have calls of their own; everything else goes through UpdateTable, which
takes one index or stream change per call and needs the table ACTIVE in between, so an update
makes one such step and answers "in progress" until the next."""

from __future__ import annotations

from typing import Any, Mapping

from ..engine.delta import aws_params, list_changes
from ..engine.kind import Raw, State, TagChange, tag_list, tag_map, tag_resource
from ..provider.errors import InProgress, TerminalError

# What stands for the TTL and backups of a table being created or deleted (not read then).
UNREAD_TTL_AND_BACKUPS = {"TimeToLive": {}, "PointInTimeRecovery": "DISABLED"}


def attribute_types(spec: Mapping[str, Any]) -> dict[str, str]:
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


def desired_table(spec: Mapping[str, Any]) -> State:
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
        "attributeTypes": attribute_types(spec),
    }


def observed_table(raw: Raw) -> State:
    table = raw["Table"]
    types = {item["AttributeName"]: item["AttributeType"] for item in table.get("AttributeDefinitions", ())}
    keys = {item["KeyType"]: item["AttributeName"] for item in table["KeySchema"]}
    throughput = table.get("ProvisionedThroughput") or {}
    mode = _billing_mode(table)
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


def table_status(raw: Raw) -> State:
    table = raw["Table"]
    return {"tableStatus": table["TableStatus"], "billingMode": _billing_mode(table),
            "itemCount": table.get("ItemCount"), "tableSizeBytes": table.get("TableSizeBytes"),
            "latestStreamArn": table.get("LatestStreamArn")}


def busy(raw: Raw) -> str | None:
    """Why AWS takes no change to the table now (it or an index is being built or changed)."""
    table = raw["Table"]
    if table["TableStatus"] != "ACTIVE":
        return f"table {table['TableName']} is {table['TableStatus']}"
    for index in table.get("GlobalSecondaryIndexes") or ():
        if index.get("IndexStatus", "ACTIVE") != "ACTIVE":
            return f"index {index['IndexName']} of table {table['TableName']} is {index['IndexStatus']}"
    return None


def with_ttl_and_backups(dynamodb: Any, ident: str, table: Raw) -> Raw:
    """The table's description with its TTL and point-in-time recovery status."""
    if table["TableStatus"] in ("CREATING", "DELETING"):
        return {"Table": table, **UNREAD_TTL_AND_BACKUPS}
    ttl = dynamodb.describe_time_to_live(TableName=ident)["TimeToLiveDescription"]
    backups = dynamodb.describe_continuous_backups(TableName=ident)["ContinuousBackupsDescription"]
    return {"Table": table, "TimeToLive": ttl,
            "PointInTimeRecovery": backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"]}


def table_tags(dynamodb: Any, arn: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    params = {"ResourceArn": arn}
    while True:  # ListTagsOfResource has a NextToken but no paginator
        answer = dynamodb.list_tags_of_resource(**params)
        tags.update(tag_map(answer.get("Tags")))
        if not answer.get("NextToken"):
            return tags
        params["NextToken"] = answer["NextToken"]


def set_table_tags(dynamodb: Any, ident: str, change: TagChange) -> None:
    arn = dynamodb.describe_table(TableName=ident)["Table"]["TableArn"]
    tag_resource(dynamodb, change, ResourceArn=arn)


def create_table(dynamodb: Any, desired: State, tags: Mapping[str, str]) -> Raw:
    params: dict[str, Any] = {
        **aws_params(desired, {"TableName": "tableName", "TableClass": "tableClass",
                               "DeletionProtectionEnabled": "deletionProtection"}),
        "KeySchema": _key_schema(desired["keySchema"]["hash"], desired["keySchema"]["range"]),
        "AttributeDefinitions": _attribute_definitions(desired["attributeTypes"]),
        "BillingMode": desired["billing"]["mode"],
        "SSESpecification": _sse(desired),
        "Tags": tag_list(tags),
    }
    if desired["billing"]["mode"] == "PROVISIONED":
        params["ProvisionedThroughput"] = _throughput(desired["billing"])
    for field in ("globalSecondaryIndexes", "localSecondaryIndexes"):
        if desired[field]:
            params[field[0].upper() + field[1:]] = [_index_description(index) for index in desired[field]]
    if desired["stream"]["enabled"]:
        params["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": desired["stream"]["viewType"]}
    table = dynamodb.create_table(**params)["TableDescription"]
    # TTL and backups are set once the table is ACTIVE, by the first update.
    return {"Table": table, **UNREAD_TTL_AND_BACKUPS}


def update_table(dynamodb: Any, ident: str, desired: State, raw: Raw, changed: frozenset[str]) -> None:
    why_busy = busy(raw)
    if why_busy:
        raise InProgress(why_busy)
    observed = observed_table(raw)
    if "timeToLive" in changed:
        _update_ttl(dynamodb, ident, desired["timeToLive"], observed["timeToLive"])
    if "pointInTimeRecovery" in changed:
        dynamodb.update_continuous_backups(TableName=ident, PointInTimeRecoverySpecification={
            "PointInTimeRecoveryEnabled": desired["pointInTimeRecovery"]})
    if "deletionProtection" in changed:
        dynamodb.update_table(TableName=ident, DeletionProtectionEnabled=desired["deletionProtection"])
    steps = _table_steps(desired, observed, changed)
    if steps:
        dynamodb.update_table(TableName=ident, **steps[0])
        if len(steps) > 1:
            raise InProgress(f"table {ident}: {len(steps) - 1} more change(s) after this one (AWS takes one "
                             "at a time, with the table ACTIVE in between)")


def _billing_mode(table: Raw) -> str:
    return (table.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED")


def _key(key: Mapping[str, str] | None) -> list[str] | None:
    return None if key is None else [key["name"], key["type"]]


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


def _update_ttl(dynamodb: Any, ident: str, want: str, have: str) -> None:
    """TTL is on for one attribute at most: switching attributes is off, then on (the next pass)."""
    if have:
        dynamodb.update_time_to_live(TableName=ident, TimeToLiveSpecification={"Enabled": False, "AttributeName": have})
        if want:
            raise InProgress(f"table {ident}: TTL moves from {have} to {want}: disabled first")
    elif want:
        dynamodb.update_time_to_live(TableName=ident, TimeToLiveSpecification={"Enabled": True, "AttributeName": want})


def _shape(index: State) -> tuple[Any, ...]:
    return index["hash"], index["range"], index["projection"]


def _table_steps(desired: State, observed: State, changed: frozenset[str]) -> list[dict[str, Any]]:
    """The UpdateTable calls the change needs, in the order they can be made, one per call."""
    steps: list[dict[str, Any]] = []
    if changed & {"sseType", "sseKmsKey"}:
        steps.append({"SSESpecification": _sse(desired)})
    if "tableClass" in changed:
        steps.append({"TableClass": desired["tableClass"]})
    indexes = list_changes(desired["globalSecondaryIndexes"], observed["globalSecondaryIndexes"],
                           key=lambda index: index["indexName"], same=lambda want, have: want == have)
    # An index whose keys or projection differ is removed, then added again; one whose
    # capacities alone differ is updated with the billing.
    rebuilt = [want for have, want in indexes.replaced if _shape(want) != _shape(have)]
    resized = [want for have, want in indexes.replaced if _shape(want) == _shape(have) and "read" in want]
    if changed & {"billing", "globalSecondaryIndexes"} and (desired["billing"] != observed["billing"] or resized):
        steps.append(_billing_step(desired["billing"], resized))
    if "stream" in changed:
        if observed["stream"]["enabled"] and desired["stream"]["enabled"]:
            # A new view type is a new stream: off first, then on.
            steps.append({"StreamSpecification": {"StreamEnabled": False}})
        steps.append({"StreamSpecification": {"StreamEnabled": desired["stream"]["enabled"],
                                              **({"StreamViewType": desired["stream"]["viewType"]}
                                                 if desired["stream"]["enabled"] else {})}})
    for name in sorted({index["indexName"] for index in [*indexes.removed, *rebuilt]}):
        steps.append({"GlobalSecondaryIndexUpdates": [{"Delete": {"IndexName": name}}]})
    for index in sorted([*indexes.added, *rebuilt], key=lambda index: index["indexName"]):
        steps.append({"AttributeDefinitions": _attribute_definitions(desired["attributeTypes"]),
                      "GlobalSecondaryIndexUpdates": [{"Create": _index_description(index)}]})
    return steps


def _billing_step(billing: State, resized: list[State]) -> dict[str, Any]:
    """Billing mode and capacities of the table and of its existing indexes, in one call."""
    step: dict[str, Any] = {"BillingMode": billing["mode"]}
    if billing["mode"] == "PROVISIONED":
        step["ProvisionedThroughput"] = _throughput(billing)
    if resized:
        step["GlobalSecondaryIndexUpdates"] = [{"Update": {"IndexName": index["indexName"],
                                                           "ProvisionedThroughput": _throughput(index)}}
                                               for index in resized]
    return step
