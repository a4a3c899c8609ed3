"""DynamoDBTable through the engine against moto over HTTP, without kopf: create with indexes,
stream, TTL and backups; global indexes added and removed one per step with "in progress" in
between; drift healed with its severity; deletion protection; key changes asking for
replacement; delete, Retain, adoption, and bad input stopped before AWS."""

from __future__ import annotations

import pytest

from conftest import (Cluster, check_adoption_after_a_lost_status_write, check_name_taken, check_retain, converge,
                      delete_all, make_engine, ready_reason, reasons, value)

OWNER_UID = "infra-operator.dev/owner-uid"
BASE = {"tableName": "orders", "hashKey": {"name": "pk", "type": "S"}, "rangeKey": {"name": "sk", "type": "S"}}
BY_CUSTOMER = {"indexName": "by-customer", "hashKey": {"name": "customer", "type": "S"}}
BY_DATE = {"indexName": "by-date", "hashKey": {"name": "day", "type": "S"}, "rangeKey": {"name": "at", "type": "N"},
           "projectionType": "KEYS_ONLY"}


def table(dynamodb, name: str) -> dict | None:
    try:
        return dynamodb.describe_table(TableName=name)["Table"]
    except dynamodb.exceptions.ResourceNotFoundException:
        return None


def table_tags(dynamodb, arn: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in dynamodb.list_tags_of_resource(ResourceArn=arn)["Tags"]}


def index_names(dynamodb, name: str) -> set[str]:
    return {index["IndexName"] for index in table(dynamodb, name).get("GlobalSecondaryIndexes") or ()}


def test_create_update_drift_heal_delete(aws, telemetry, calls):
    dynamodb = aws.client("dynamodb")
    cluster = Cluster(make_engine(aws, telemetry, calls))
    cluster.apply("DynamoDBTable", "t", {
        **BASE, "globalSecondaryIndexes": [BY_CUSTOMER],
        "localSecondaryIndexes": [{"indexName": "by-total", "rangeKey": {"name": "total", "type": "N"}}],
        "streamEnabled": True, "streamViewType": "NEW_AND_OLD_IMAGES", "timeToLiveAttribute": "expiresAt",
        "pointInTimeRecovery": True, "tags": {"team": "shop"}})
    runs = converge(cluster, [("DynamoDBTable", "t")])
    status = cluster.status("DynamoDBTable", "t")
    assert status["tableName"] == "orders" and status["tableArn"].endswith(":table/orders")
    assert status["tableStatus"] == "ACTIVE" and status["latestStreamArn"] and status["itemCount"] == 0
    raw = table(dynamodb, "orders")
    assert [i["IndexName"] for i in raw["LocalSecondaryIndexes"]] == ["by-total"]
    assert index_names(dynamodb, "orders") == {"by-customer"}
    assert raw["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert dynamodb.describe_time_to_live(TableName="orders")["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED", "AttributeName": "expiresAt"}
    assert dynamodb.describe_continuous_backups(TableName="orders")["ContinuousBackupsDescription"][
        "PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    tags = table_tags(dynamodb, status["tableArn"])
    assert tags["team"] == "shop" and tags[OWNER_UID] == cluster.uid("DynamoDBTable", "t")
    assert len(runs) == 1  # TTL and backups are set right after the create, in the same run

    # Two index changes: one per step, the second after "in progress".
    cluster.apply("DynamoDBTable", "t", {
        **BASE, "globalSecondaryIndexes": [BY_DATE],
        "localSecondaryIndexes": [{"indexName": "by-total", "rangeKey": {"name": "total", "type": "N"}}],
        "streamEnabled": True, "streamViewType": "NEW_AND_OLD_IMAGES", "timeToLiveAttribute": "expiresAt",
        "pointInTimeRecovery": True, "deletionProtection": True, "tags": {"team": "shop"}})
    first = cluster.reconcile("DynamoDBTable", "t", "update")
    assert ready_reason(first) == "Updating" and first.retry_after
    assert index_names(dynamodb, "orders") == set()  # by-customer removed first
    second = cluster.reconcile("DynamoDBTable", "t", "update")
    assert ready_reason(second) == "Available", second.message
    assert index_names(dynamodb, "orders") == {"by-date"}
    assert table(dynamodb, "orders")["DeletionProtectionEnabled"] is True
    assert reasons(cluster.reconcile("DynamoDBTable", "t", "resync")) == []

    # Out of band: backups off and TTL off (critical: backups), healed on resync.
    dynamodb.update_continuous_backups(TableName="orders", PointInTimeRecoverySpecification={
        "PointInTimeRecoveryEnabled": False})
    dynamodb.update_time_to_live(TableName="orders", TimeToLiveSpecification={"Enabled": False,
                                                                              "AttributeName": "expiresAt"})
    healed = cluster.reconcile("DynamoDBTable", "t", "resync")
    assert reasons(healed) == ["DriftHealed"] and ready_reason(healed) == "Available"
    assert dynamodb.describe_continuous_backups(TableName="orders")["ContinuousBackupsDescription"][
        "PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    assert dynamodb.describe_time_to_live(TableName="orders")["TimeToLiveDescription"]["TimeToLiveStatus"] == "ENABLED"
    samples = telemetry.sample_values()
    assert value(samples, "infra_operator_drift_detected_total", resource_type="DynamoDBTable", severity="critical") == 1
    assert value(samples, "infra_operator_drift_healed_total", resource_type="DynamoDBTable") == 1

    # Deletion protection holds: a clear condition, retried, the table stays.
    protected = cluster.delete("DynamoDBTable", "t")
    assert ready_reason(protected) == "DeletionProtected" and protected.retry_after and table(dynamodb, "orders")
    cluster.apply("DynamoDBTable", "t", {**BASE, "globalSecondaryIndexes": [BY_DATE], "localSecondaryIndexes": [
        {"indexName": "by-total", "rangeKey": {"name": "total", "type": "N"}}], "streamEnabled": True,
        "streamViewType": "NEW_AND_OLD_IMAGES", "timeToLiveAttribute": "expiresAt", "pointInTimeRecovery": True,
        "tags": {"team": "shop"}})
    converge(cluster, [("DynamoDBTable", "t")])
    gone = cluster.delete("DynamoDBTable", "t")
    assert gone.retry_after is None and "Deleted" in reasons(gone) and table(dynamodb, "orders") is None
    samples = telemetry.sample_values()
    assert value(samples, "infra_operator_resources_total", resource_type="DynamoDBTable", status="ready") == 0
    assert value(samples, "infra_operator_aws_api_calls_total", service="DynamoDB", operation="CreateTable",
                 result="success") == 1
    assert value(samples, "infra_operator_aws_api_calls_total", service="DynamoDB", operation="DeleteTable",
                 result="success") == 1
    assert value(samples, "infra_operator_aws_api_errors_total", service="DynamoDB", operation="DeleteTable",
                 error_code="ValidationException") == 1


def test_billing_switch_and_capacities(aws, cluster):
    dynamodb = aws.client("dynamodb")
    cluster.apply("DynamoDBTable", "b", {**BASE, "tableName": "metered"})
    converge(cluster, [("DynamoDBTable", "b")])
    cluster.apply("DynamoDBTable", "b", {**BASE, "tableName": "metered", "billingMode": "PROVISIONED",
                                         "readCapacityUnits": 5, "writeCapacityUnits": 2})
    assert reasons(cluster.reconcile("DynamoDBTable", "b", "update")) == ["Updated"]
    raw = table(dynamodb, "metered")
    assert raw["BillingModeSummary"]["BillingMode"] == "PROVISIONED"
    assert (raw["ProvisionedThroughput"]["ReadCapacityUnits"], raw["ProvisionedThroughput"]["WriteCapacityUnits"]) == (5, 2)
    assert reasons(cluster.reconcile("DynamoDBTable", "b", "resync")) == []
    delete_all(cluster, [("DynamoDBTable", "b")])


def test_a_key_change_asks_for_replacement(aws, cluster):
    cluster.apply("DynamoDBTable", "k", {**BASE, "tableName": "keyed"})
    converge(cluster, [("DynamoDBTable", "k")])
    cluster.apply("DynamoDBTable", "k", {**BASE, "tableName": "keyed", "rangeKey": {"name": "sk", "type": "N"}})
    refused = cluster.reconcile("DynamoDBTable", "k", "update")
    assert refused.permanent and ready_reason(refused) == "ReplacementRequired" and "keySchema" in refused.message
    delete_all(cluster, [("DynamoDBTable", "k")])


def test_retain_leaves_the_table_without_our_tags(aws, cluster):
    dynamodb = aws.client("dynamodb")
    name = check_retain(cluster, "DynamoDBTable", {**BASE, "tableName": "kept"},
                        lambda status: table_tags(dynamodb, status["tableArn"]))
    dynamodb.delete_table(TableName=name)


def test_adoption_after_a_lost_status_write(cluster):
    check_adoption_after_a_lost_status_write(cluster, "DynamoDBTable", {**BASE, "tableName": "adopted"})


def test_a_name_someone_else_holds_is_not_taken_over(aws, cluster):
    dynamodb = aws.client("dynamodb")
    dynamodb.create_table(TableName="theirs", BillingMode="PAY_PER_REQUEST",
                          AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                          KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    check_name_taken(cluster, "DynamoDBTable", {**BASE, "tableName": "theirs"})
    dynamodb.delete_table(TableName="theirs")


@pytest.mark.parametrize("spec, reason", [
    ({**BASE, "billingMode": "PROVISIONED"}, "InvalidSpec"),
    ({**BASE, "readCapacityUnits": 5, "writeCapacityUnits": 5}, "InvalidSpec"),
    ({**BASE, "streamEnabled": True}, "InvalidSpec"),
    ({"tableName": "x-table", "hashKey": {"name": "pk", "type": "S"},
      "localSecondaryIndexes": [{"indexName": "l", "rangeKey": {"name": "r", "type": "S"}}]}, "InvalidSpec"),
    ({**BASE, "globalSecondaryIndexes": [{**BY_CUSTOMER, "hashKey": {"name": "pk", "type": "N"}}]},
     "ConflictingAttributeType"),
    ({**BASE, "globalSecondaryIndexes": [BY_CUSTOMER, BY_CUSTOMER]}, "DuplicateIndex"),
    ({**BASE, "globalSecondaryIndexes": [{**BY_CUSTOMER, "projectionType": "INCLUDE"}]}, "InvalidSpec"),
])
def test_invalid_specs_stop_before_any_aws_call(cluster, calls, spec, reason):
    cluster.apply("DynamoDBTable", "bad", spec)
    outcome = cluster.reconcile("DynamoDBTable", "bad")
    assert outcome.permanent and ready_reason(outcome) == reason and calls.total() == 0, outcome.message
    assert reasons(outcome) == [reason]
