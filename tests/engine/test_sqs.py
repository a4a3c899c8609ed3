"""SQSQueue through the engine against moto over HTTP, without kopf: create, update in place,
drift healed with its severity, message counts refreshed without counting as drift, delete,
Retain, adoption, a taken name, the 60 s name cooldown, and bad input stopped before AWS."""

from __future__ import annotations

import json

import pytest

from conftest import (Cluster, check_adoption_after_a_lost_status_write, check_name_taken, check_retain, converge,
                      delete_all, make_engine, ready_reason, reasons, value)

OWNER_UID = "infra-operator.dev/owner-uid"
POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "123456789012"},
                                                  "Action": ["sqs:SendMessage"], "Resource": "*"}]}
# The same policy as AWS may hand it back: keys reordered, a one-item list unwrapped.
POLICY_REORDERED = {"Statement": [{"Resource": "*", "Action": "sqs:SendMessage",
                                   "Principal": {"AWS": "123456789012"}, "Effect": "Allow"}], "Version": "2012-10-17"}


def attributes(sqs, url: str) -> dict[str, str]:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]


def queue_tags(sqs, url: str) -> dict[str, str]:
    return sqs.list_queue_tags(QueueUrl=url).get("Tags", {})


def queue_exists(sqs, name: str) -> bool:
    return any(url.endswith("/" + name) for url in sqs.list_queues(QueueNamePrefix=name).get("QueueUrls", ()))


def test_create_update_drift_heal_delete(aws, telemetry, calls):
    sqs = aws.client("sqs")
    cluster = Cluster(make_engine(aws, telemetry, calls))
    cluster.apply("SQSQueue", "dlq", {"queueName": "orders-dlq", "messageRetentionPeriod": 1209600})
    cluster.apply("SQSQueue", "q", {"queueName": "orders", "visibilityTimeout": 60, "tags": {"team": "shop"}})
    converge(cluster, [("SQSQueue", "dlq"), ("SQSQueue", "q")])
    status = cluster.status("SQSQueue", "q")
    url, arn = status["queueUrl"], status["queueArn"]
    assert url.endswith("/orders") and arn.endswith(":orders") and status["approximateNumberOfMessages"] == 0
    assert attributes(sqs, url)["VisibilityTimeout"] == "60"
    assert queue_tags(sqs, url)["team"] == "shop" and queue_tags(sqs, url)[OWNER_UID] == cluster.uid("SQSQueue", "q")
    # AWS's defaults for what the spec leaves unset are recorded, and compared from then on.
    assert attributes(sqs, url)["MessageRetentionPeriod"] == "345600"

    cluster.apply("SQSQueue", "q", {"queueName": "orders", "visibilityTimeout": 120, "delaySeconds": 5,
                                    "deadLetterQueueRef": {"name": "dlq"}, "maxReceiveCount": 4,
                                    "policy": json.dumps(POLICY), "tags": {"team": "shop"}})
    updated = cluster.reconcile("SQSQueue", "q", "update")
    assert reasons(updated) == ["Updated"] and updated.status["queueUrl"] == url
    now = attributes(sqs, url)
    assert (now["VisibilityTimeout"], now["DelaySeconds"]) == ("120", "5")
    assert json.loads(now["RedrivePolicy"]) == {
        "deadLetterTargetArn": cluster.status("SQSQueue", "dlq")["queueArn"], "maxReceiveCount": 4}
    assert reasons(cluster.reconcile("SQSQueue", "q", "resync")) == []

    # Out of band: the policy replaced by an equivalent form (not drift), then opened to
    # everyone and the visibility timeout changed (drift: critical, for the policy).
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(POLICY_REORDERED)})
    assert reasons(cluster.reconcile("SQSQueue", "q", "resync")) == []
    opened = {**POLICY, "Statement": [{**POLICY["Statement"][0], "Principal": "*"}]}
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(opened), "VisibilityTimeout": "1",
                                                        "MessageRetentionPeriod": "60"})
    healed = cluster.reconcile("SQSQueue", "q", "resync")
    assert reasons(healed) == ["DriftHealed"] and ready_reason(healed) == "Available"
    now = attributes(sqs, url)
    assert json.loads(now["Policy"]) == POLICY and now["VisibilityTimeout"] == "120"
    assert now["MessageRetentionPeriod"] == "345600"
    samples = telemetry.sample_values()
    assert value(samples, "infra_operator_drift_detected_total", resource_type="SQSQueue", severity="critical") == 1
    assert value(samples, "infra_operator_drift_healed_total", resource_type="SQSQueue") == 1

    # Message counts follow on resync and are not drift.
    sqs.send_message(QueueUrl=url, MessageBody="one")
    counted = cluster.reconcile("SQSQueue", "q", "resync")
    assert reasons(counted) == [] and counted.status["approximateNumberOfMessages"] + \
        counted.status["approximateNumberOfMessagesDelayed"] == 1

    gone = cluster.delete("SQSQueue", "q")
    assert gone.retry_after is None and "Deleted" in reasons(gone) and not queue_exists(sqs, "orders")
    delete_all(cluster, [("SQSQueue", "dlq")])
    samples = telemetry.sample_values()
    assert value(samples, "infra_operator_resources_total", resource_type="SQSQueue", status="ready") == 0
    assert value(samples, "infra_operator_reconcile_total", resource_type="SQSQueue", result="error") == 0
    assert value(samples, "infra_operator_aws_api_calls_total", service="SQS", operation="CreateQueue",
                 result="success") == 2
    assert value(samples, "infra_operator_aws_api_calls_total", service="SQS", operation="DeleteQueue",
                 result="success") == 2


def test_a_queue_waits_for_its_dead_letter_queue(cluster, calls):
    cluster.apply("SQSQueue", "q", {"queueName": "jobs", "deadLetterQueueRef": {"name": "dead"},
                                    "maxReceiveCount": 3})
    waiting = cluster.reconcile("SQSQueue", "q")
    assert ready_reason(waiting) == "DependencyNotReady" and calls.total() == 0
    cluster.apply("SQSQueue", "dead", {"queueName": "jobs-dead"})
    converge(cluster, [("SQSQueue", "dead"), ("SQSQueue", "q")])
    delete_all(cluster, [("SQSQueue", "q"), ("SQSQueue", "dead")])


def test_fifo_queue(aws, cluster):
    cluster.apply("SQSQueue", "f", {"queueName": "events.fifo", "fifoQueue": True, "contentBasedDeduplication": True})
    converge(cluster, [("SQSQueue", "f")])
    now = attributes(aws.client("sqs"), cluster.status("SQSQueue", "f")["queueUrl"])
    assert (now["FifoQueue"], now["ContentBasedDeduplication"]) == ("true", "true")
    delete_all(cluster, [("SQSQueue", "f")])


def test_kms_encryption_replaces_sse_sqs_and_back(aws, cluster):
    sqs = aws.client("sqs")
    cluster.apply("SQSQueue", "k", {"queueName": "secure", "kmsMasterKeyId": "alias/orders",
                                    "kmsDataKeyReusePeriodSeconds": 600})
    converge(cluster, [("SQSQueue", "k")])
    url = cluster.status("SQSQueue", "k")["queueUrl"]
    now = attributes(sqs, url)
    assert (now["KmsMasterKeyId"], now["SqsManagedSseEnabled"], now["KmsDataKeyReusePeriodSeconds"]) == (
        "alias/orders", "false", "600")
    cluster.apply("SQSQueue", "k", {"queueName": "secure"})
    assert reasons(cluster.reconcile("SQSQueue", "k", "update")) == ["Updated"]
    now = attributes(sqs, url)
    assert "KmsMasterKeyId" not in now and now["SqsManagedSseEnabled"] == "true"
    delete_all(cluster, [("SQSQueue", "k")])


def test_retain_leaves_the_queue_without_our_tags(aws, cluster):
    sqs = aws.client("sqs")
    url = check_retain(cluster, "SQSQueue", {"queueName": "kept"}, lambda status: queue_tags(sqs, status["queueUrl"]))
    sqs.delete_queue(QueueUrl=url)


def test_adoption_after_a_lost_status_write(cluster):
    check_adoption_after_a_lost_status_write(cluster, "SQSQueue", {"queueName": "adopted"})


def test_a_name_someone_else_holds_is_not_taken_over(aws, cluster):
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName="theirs")["QueueUrl"]
    check_name_taken(cluster, "SQSQueue", {"queueName": "theirs"})
    assert OWNER_UID not in queue_tags(sqs, url)
    sqs.delete_queue(QueueUrl=url)


def test_a_recently_deleted_name_is_waited_out(aws, cluster):
    """AWS refuses a deleted queue's name for 60 s (moto does not: the refusal is injected as AWS
    sends it): a clear Ready=False, retried, then created; no error loop, no second queue."""
    aws.faults.reject("com.amazonaws.sqs#QueueDeletedRecently", "You must wait 60 seconds after deleting a queue "
                      "before you can create another with the same name.", service="sqs", operation="CreateQueue",
                      times=1, query_error="AWS.SimpleQueueService.QueueDeletedRecently;Sender")
    cluster.apply("SQSQueue", "d", {"queueName": "reborn"})
    waiting = cluster.reconcile("SQSQueue", "d")
    assert waiting.retry_after >= 60 and not waiting.permanent  # AWS says how long: 60 s
    assert ready_reason(waiting) == "QueueDeletedRecently" and "60 seconds" in waiting.message
    created = cluster.reconcile("SQSQueue", "d")
    assert ready_reason(created) == "Available" and created.status["queueUrl"].endswith("/reborn")
    delete_all(cluster, [("SQSQueue", "d")])


@pytest.mark.parametrize("spec, reason", [
    ({"queueName": "plain", "fifoQueue": True}, "InvalidSpec"),
    ({"queueName": "named.fifo"}, "InvalidSpec"),
    ({"queueName": "plain", "contentBasedDeduplication": True}, "InvalidSpec"),
    ({"queueName": "plain", "kmsMasterKeyId": "alias/k", "sqsManagedSseEnabled": True}, "InvalidSpec"),
    ({"queueName": "plain", "deadLetterTargetArn": "arn:aws:sqs:us-east-1:123456789012:d"}, "InvalidSpec"),
    ({"queueName": "plain", "kmsDataKeyReusePeriodSeconds": 300}, "InvalidSpec"),
    ({"queueName": "plain", "policy": "{not json"}, "InvalidPolicy"),
])
def test_invalid_specs_stop_before_any_aws_call(cluster, calls, spec, reason):
    cluster.apply("SQSQueue", "bad", spec)
    outcome = cluster.reconcile("SQSQueue", "bad")
    assert outcome.permanent and ready_reason(outcome) == reason and calls.total() == 0, outcome.message
    assert reasons(outcome) == [reason]  # the event that tells the user


def test_a_kms_key_reference_waits_for_the_key(cluster, calls):
    cluster.apply("SQSQueue", "k", {"queueName": "sealed", "kmsKeyRef": {"name": "orders"}})
    waiting = cluster.reconcile("SQSQueue", "k")
    assert ready_reason(waiting) == "DependencyNotReady" and calls.total() == 0
    assert "KMSKey orders (spec.kmsKeyRef) does not exist" in waiting.message
    del cluster.bodies[("SQSQueue", "k")]
