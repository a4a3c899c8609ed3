"""SNSTopic through the engine against moto over HTTP, without kopf: create with subscriptions
(one to our SQSQueue by reference), update of attributes and of the subscription set, drift on
both healed with its severity, delete, Retain, adoption, a taken name, and bad input stopped
before AWS."""

from __future__ import annotations

import json

import pytest

from conftest import (KINDS, Cluster, check_adoption_after_a_lost_status_write, check_name_taken, check_retain,
                      converge, delete_all, make_engine, ready_reason, reasons, value)
from infra_operator.operator.engine.delta import compute_delta

OWNER_UID = "infra-operator.dev/owner-uid"
FILTER = {"eventType": ["order_placed"]}


def topic_attributes(sns, arn: str) -> dict[str, str]:
    return sns.get_topic_attributes(TopicArn=arn)["Attributes"]


def subscriptions(sns, arn: str) -> dict[tuple[str, str], dict[str, str]]:
    """(protocol, endpoint) -> attributes of each subscription of the topic."""
    listed = sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
    return {(s["Protocol"], s["Endpoint"]): sns.get_subscription_attributes(
        SubscriptionArn=s["SubscriptionArn"])["Attributes"] for s in listed}


def topic_tags(sns, arn: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in sns.list_tags_for_resource(ResourceArn=arn)["Tags"]}


def test_create_update_drift_heal_delete(aws, telemetry, calls):
    sns, sqs = aws.client("sns"), aws.client("sqs")
    cluster = Cluster(make_engine(aws, telemetry, calls))
    cluster.apply("SQSQueue", "q", {"queueName": "topic-events"})
    first = [{"protocol": "sqs", "queueRef": {"name": "q"}, "filterPolicy": json.dumps(FILTER)},
             {"protocol": "https", "endpoint": "https://hooks.example.com/orders"}]
    cluster.apply("SNSTopic", "t", {"topicName": "orders", "displayName": "Orders", "subscriptions": first,
                                    "tags": {"team": "shop"}})
    converge(cluster, [("SNSTopic", "t"), ("SQSQueue", "q")])
    status = cluster.status("SNSTopic", "t")
    arn, queue_arn = status["topicArn"], cluster.status("SQSQueue", "q")["queueArn"]
    assert arn.endswith(":orders") and (status["subscriptionsConfirmed"], status["subscriptionsPending"]) == (2, 0)
    assert topic_attributes(sns, arn)["DisplayName"] == "Orders"
    assert topic_tags(sns, arn) == {"team": "shop", **{k: v for k, v in topic_tags(sns, arn).items()
                                                       if k.startswith("infra-operator.dev/")}}
    assert topic_tags(sns, arn)[OWNER_UID] == cluster.uid("SNSTopic", "t")
    subs = subscriptions(sns, arn)
    assert set(subs) == {("sqs", queue_arn), ("https", "https://hooks.example.com/orders")}
    assert json.loads(subs[("sqs", queue_arn)]["FilterPolicy"]) == FILTER
    # The queue's policy is the user's to grant: the topic never rewrites it.
    assert "Policy" not in sqs.get_queue_attributes(QueueUrl=cluster.status("SQSQueue", "q")["queueUrl"],
                                                    AttributeNames=["All"])["Attributes"]

    second = [{"protocol": "sqs", "queueRef": {"name": "q"}, "rawMessageDelivery": True},
              {"protocol": "email", "endpoint": "oncall@example.com"}]
    cluster.apply("SNSTopic", "t", {"topicName": "orders", "displayName": "Orders!", "subscriptions": second,
                                    "tags": {"team": "shop"}})
    updated = cluster.reconcile("SNSTopic", "t", "update")
    assert reasons(updated) == ["Updated"] and updated.status["topicArn"] == arn
    subs = subscriptions(sns, arn)
    assert set(subs) == {("sqs", queue_arn), ("email", "oncall@example.com")}
    assert subs[("sqs", queue_arn)]["RawMessageDelivery"] == "true" and not subs[("sqs", queue_arn)].get("FilterPolicy")
    assert topic_attributes(sns, arn)["DisplayName"] == "Orders!"
    assert reasons(cluster.reconcile("SNSTopic", "t", "resync")) == []

    # Out of band: someone unsubscribes the queue and subscribes their own endpoint.
    queue_subscription = next(s["SubscriptionArn"] for s in sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
                              if s["Protocol"] == "sqs")
    sns.unsubscribe(SubscriptionArn=queue_subscription)
    sns.subscribe(TopicArn=arn, Protocol="https", Endpoint="https://attacker.example.net/", ReturnSubscriptionArn=True)
    healed = cluster.reconcile("SNSTopic", "t", "resync")
    assert reasons(healed) == ["DriftHealed"] and ready_reason(healed) == "Available"
    assert set(subscriptions(sns, arn)) == {("sqs", queue_arn), ("email", "oncall@example.com")}
    samples = telemetry.sample_values()
    assert value(samples, "infra_operator_drift_detected_total", resource_type="SNSTopic", severity="critical") == 1
    assert value(samples, "infra_operator_drift_healed_total", resource_type="SNSTopic") == 1

    gone = cluster.delete("SNSTopic", "t")
    assert gone.retry_after is None and "Deleted" in reasons(gone)
    assert all(not t["TopicArn"].endswith(":orders") for t in sns.list_topics()["Topics"])
    delete_all(cluster, [("SQSQueue", "q")])
    samples = telemetry.sample_values()
    assert value(samples, "infra_operator_reconcile_total", resource_type="SNSTopic", result="error") == 0
    assert value(samples, "infra_operator_aws_api_calls_total", service="SNS", operation="CreateTopic",
                 result="success") == 1
    assert value(samples, "infra_operator_aws_api_calls_total", service="SNS", operation="Subscribe",
                 result="success") == 4  # two at create, the email one, the queue again after the drift
    assert value(samples, "infra_operator_aws_api_calls_total", service="SNS", operation="Unsubscribe",
                 result="success") == 2  # the https hook, then the stranger's endpoint


def test_topic_policy_compares_canonically_and_fifo(aws, cluster):
    sns = aws.client("sns")
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "123456789012"},
                                                      "Action": ["SNS:Publish"], "Resource": "*"}]}
    cluster.apply("SNSTopic", "f", {"topicName": "ledger.fifo", "fifoTopic": True, "contentBasedDeduplication": True,
                                    "policy": json.dumps(policy)})
    arn = converge(cluster, [("SNSTopic", "f")])[-1][1].status["topicArn"]
    now = topic_attributes(sns, arn)
    assert (now["FifoTopic"], now["ContentBasedDeduplication"]) == ("true", "true")
    assert json.loads(now["Policy"]) == policy
    reordered = {"Statement": {"Resource": "*", "Action": "SNS:Publish", "Principal": {"AWS": "123456789012"},
                               "Effect": "Allow"}, "Version": "2012-10-17"}
    sns.set_topic_attributes(TopicArn=arn, AttributeName="Policy", AttributeValue=json.dumps(reordered))
    assert reasons(cluster.reconcile("SNSTopic", "f", "resync")) == []
    delete_all(cluster, [("SNSTopic", "f")])


def test_retain_leaves_the_topic_without_our_tags(aws, cluster):
    sns = aws.client("sns")
    arn = check_retain(cluster, "SNSTopic", {"topicName": "kept"}, lambda status: topic_tags(sns, status["topicArn"]))
    sns.delete_topic(TopicArn=arn)


def test_adoption_after_a_lost_status_write(cluster):
    check_adoption_after_a_lost_status_write(cluster, "SNSTopic", {"topicName": "adopted"})


def test_a_name_someone_else_holds_is_not_taken_over(aws, cluster):
    sns = aws.client("sns")
    arn = sns.create_topic(Name="theirs")["TopicArn"]
    check_name_taken(cluster, "SNSTopic", {"topicName": "theirs"})
    assert OWNER_UID not in topic_tags(sns, arn)
    sns.delete_topic(TopicArn=arn)


@pytest.mark.parametrize("spec, reason", [
    ({"topicName": "plain", "fifoTopic": True}, "InvalidSpec"),
    ({"topicName": "plain.fifo"}, "InvalidSpec"),
    ({"topicName": "plain", "contentBasedDeduplication": True}, "InvalidSpec"),
    ({"topicName": "plain", "subscriptions": [{"protocol": "email", "endpoint": "a@example.com",
                                               "rawMessageDelivery": True}]}, "InvalidSpec"),
    ({"topicName": "plain", "subscriptions": [{"protocol": "email", "endpoint": "a@example.com"},
                                              {"protocol": "email", "endpoint": "a@example.com"}]},
     "DuplicateSubscription"),
    ({"topicName": "plain", "subscriptions": [{"protocol": "sqs", "endpoint": "arn:aws:sqs:us-east-1:1:q",
                                               "filterPolicy": "{nope"}]}, "InvalidPolicy"),
    ({"topicName": "plain", "subscriptions": [{"protocol": "sqs"}]}, "MissingReference"),
])
def test_invalid_specs_stop_before_any_aws_call(cluster, calls, spec, reason):
    cluster.apply("SNSTopic", "bad", spec)
    outcome = cluster.reconcile("SNSTopic", "bad")
    assert outcome.permanent and ready_reason(outcome) == reason and calls.total() == 0, outcome.message
    assert reasons(outcome) == [reason]


def test_a_subscription_awaiting_confirmation_is_compared_by_endpoint_only():
    """AWS lists an unconfirmed subscription without ARN or attributes (moto confirms every
    subscription at once, so this is checked on the kind's comparison directly)."""
    kind = KINDS["SNSTopic"]
    email = {"protocol": "email", "endpoint": "oncall@example.com", "filterPolicy": json.dumps(FILTER)}
    desired = kind.desired({"topicName": "t", "subscriptions": [email]})
    pending = {"SubscriptionArn": "PendingConfirmation", "Protocol": "email", "Endpoint": "oncall@example.com"}
    raw = {"Attributes": {"TopicArn": "arn:aws:sns:us-east-1:123456789012:t"}, "Subscriptions": [pending]}
    assert [f.name for f in compute_delta(desired, kind.observe(raw), kind.drift_fields).changed] == []
    assert kind.status(raw) == {"subscriptionsConfirmed": 0, "subscriptionsPending": 1}
    other = {**raw, "Subscriptions": [{**pending, "Endpoint": "someone@example.net"}]}
    assert [f.name for f in compute_delta(desired, kind.observe(other), kind.drift_fields).changed] == [
        "subscriptions"]
