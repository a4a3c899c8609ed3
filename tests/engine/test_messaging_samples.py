"""The messaging and DynamoDB samples (samples/40-messaging.yaml, samples/45-dynamodb.yaml)
through the engine against moto over HTTP: applied at once in random order they converge, their
references resolve to each other's ARNs, the metrics of the run are exactly what happened, and
deleted at once they leave nothing behind."""

from __future__ import annotations

import collections
import json
import pathlib
import random

import pytest
import yaml

from conftest import (RESOURCE_STATUSES, Cluster, CallLog, check_converged_metrics, converge, delete_all, make_engine,
                      ready_reason, reasons, value)

SAMPLES = [pathlib.Path(__file__).parents[2] / "samples" / name for name in ("40-messaging.yaml", "45-dynamodb.yaml")]


@pytest.mark.parametrize("seed", [3, 2026])
def test_samples_converge_wire_up_and_leave_nothing(aws, telemetry, seed):
    shuffle = random.Random(seed).shuffle
    cluster = Cluster(make_engine(aws, telemetry, CallLog()))
    documents = [doc for sample in SAMPLES for doc in yaml.safe_load_all(sample.read_text()) if doc]
    shuffle(documents)
    for doc in documents:
        cluster.apply(doc["kind"], doc["metadata"]["name"], doc["spec"])
    keys = list(cluster.bodies)
    per_kind = collections.Counter(kind for kind, _ in keys)
    assert per_kind == {"SQSQueue": 2, "SNSTopic": 1, "DynamoDBTable": 1}

    runs = converge(cluster, keys, shuffle=shuffle)
    waits = collections.Counter(key[0] for key, outcome in runs if outcome.retry_after is not None)
    assert all(reasons(o) == ["DependencyNotReady"] for _, o in runs if o.retry_after)
    sqs, sns = aws.client("sqs"), aws.client("sns")
    orders = cluster.status("SQSQueue", "orders")
    redrive = json.loads(sqs.get_queue_attributes(QueueUrl=orders["queueUrl"], AttributeNames=["RedrivePolicy"])[
        "Attributes"]["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == cluster.status("SQSQueue", "orders-dlq")["queueArn"]
    topic = cluster.status("SNSTopic", "order-events")
    listed = sns.list_subscriptions_by_topic(TopicArn=topic["topicArn"])["Subscriptions"]
    assert [(s["Protocol"], s["Endpoint"]) for s in listed] == [("sqs", orders["queueArn"])]
    assert topic["subscriptionsConfirmed"] == 1
    assert cluster.status("DynamoDBTable", "orders")["tableStatus"] == "ACTIVE"

    check_converged_metrics(telemetry.sample_values(), per_kind, waits)
    assert all(reasons(cluster.reconcile(*key, trigger="resync")) == [] for key in keys)  # converged

    deletes = delete_all(cluster, keys, shuffle=shuffle)
    blocked = collections.Counter(key[0] for key, outcome in deletes if outcome.retry_after is not None)
    assert all(ready_reason(o) == "DependentsExist" for _, o in deletes if o.retry_after)
    assert sqs.list_queues(QueueNamePrefix="orders").get("QueueUrls", []) == []
    assert not [t for t in sns.list_topics()["Topics"] if t["TopicArn"] == topic["topicArn"]]
    assert "orders" not in aws.client("dynamodb").list_tables()["TableNames"]
    samples = telemetry.sample_values()
    for kind, count in per_kind.items():
        assert all(value(samples, "infra_operator_resources_total", resource_type=kind, status=s) == 0
                   for s in RESOURCE_STATUSES)
        assert value(samples, "infra_operator_finalizer_duration_seconds_count", resource_type=kind) == count + blocked[kind]
