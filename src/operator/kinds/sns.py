"""SNSTopic: a standard or FIFO topic, its attributes and its subscriptions (a set).
`services/messaging.py` computes the calls."""

from __future__ import annotations

from typing import Any, Mapping

from ..engine.kind import Adoption, DriftField, Identity, Reference, Severity, Tagging
from ..engine.policies import canonical_policy
from ..provider.errors import TerminalError
from ..services.messaging import (DOCUMENTS, RAW_PROTOCOLS, Topic, check_fifo, fifo_properties, fifo_rules,
                                  same_subscriptions)

TOPIC_NAME = r"^([A-Za-z0-9_-]{1,256}|[A-Za-z0-9_-]{1,251}\.fifo)$"
PROTOCOLS = ["sqs", "lambda", "firehose", "https", "http", "email", "email-json", "sms", "application"]

SUBSCRIPTION = {
    "type": "object",
    "required": ["protocol"],
    "properties": {
        "protocol": {"type": "string", "enum": PROTOCOLS},
        "endpoint": {"type": "string", "minLength": 1,
                     "description": "Where messages go: a queue/function/stream ARN, URL, address or number."},
        "filterPolicy": {"type": "string", "minLength": 2, "description": "Filter policy (JSON); unset: none."},
        "filterPolicyScope": {"type": "string", "enum": ["MessageAttributes", "MessageBody"]},
        "rawMessageDelivery": {"type": "boolean",
                               "description": "Deliver the message body without the SNS envelope "
                                              "(sqs, firehose, http and https only)."},
    },
    "x-kubernetes-validations": [{
        "rule": "!has(self.rawMessageDelivery) || !self.rawMessageDelivery || "
                "self.protocol in ['sqs', 'firehose', 'https', 'http']",
        "message": "rawMessageDelivery is for sqs, firehose, http and https subscriptions",
    }],
}


class SNSTopic(Topic):
    kind = "SNSTopic"
    plural = "snstopics"
    short_names = ("sns",)
    description = ("An SNS topic (standard or FIFO) with its attributes and subscriptions. An SQS subscription "
                   "needs the queue's policy to let the topic send (sqs:SendMessage for the topic's ARN): the "
                   "operator never rewrites a queue's policy for you.")
    identifier = "topicArn"
    identity = Identity(from_spec="topicName")
    adoption = Adoption.SPEC_NAME
    tagging = Tagging(at_create=True, in_description=False)
    spec_properties = {
        **fifo_properties("topic", "topicName", "fifoTopic", TOPIC_NAME,
                          "A FIFO topic; cannot change after creation."),
        "displayName": {"type": "string", "maxLength": 100,
                        "description": "Name shown as the sender of SMS and email messages."},
        "policy": {"type": "string", "minLength": 2,
                   "description": "Access policy (JSON), compared canonically; unset: AWS's default policy."},
        "deliveryPolicy": {"type": "string", "minLength": 2,
                           "description": "Delivery retry policy for http/https subscriptions (JSON)."},
        "subscriptions": {"type": "array", "items": SUBSCRIPTION, "maxItems": 100,
                          "description": "Every subscription of the topic: added, changed and removed to match. "
                                         "Each names its endpoint, or an SQSQueue of ours by queueRef."},
    }
    spec_required = ("topicName",)
    spec_validations = (
        *fifo_rules("topic", "topicName", "fifoTopic"),
    )
    references = (
        Reference("kmsKeyRef", "KMSKey", "kmsMasterKeyId", required=False, status_field="arn"),
        Reference("queueRef", "SQSQueue", "endpoint", within="subscriptions", status_field="queueArn"),
        Reference("deadLetterQueueRef", "SQSQueue", "deadLetterTargetArn", required=False, within="subscriptions",
                  status_field="queueArn"),
    )
    status_properties = {"subscriptionsConfirmed": {"type": "integer"}, "subscriptionsPending": {"type": "integer"}}
    printer_columns = (("Confirmed", ".status.subscriptionsConfirmed", "integer"),
                       ("Pending", ".status.subscriptionsPending", "integer"))
    drift_fields = (
        DriftField("fifoTopic", Severity.CRITICAL, updatable=False),
        DriftField("kmsMasterKeyId", Severity.CRITICAL),
        DriftField("policy", Severity.CRITICAL),
        DriftField("subscriptions", Severity.CRITICAL, same=same_subscriptions),
        DriftField("contentBasedDeduplication", Severity.WARNING),
        DriftField("deliveryPolicy", Severity.WARNING),
        DriftField("displayName", Severity.INFO),
    )

    def validate(self, spec: Mapping[str, Any], related: Mapping[str, Mapping[str, Any]]) -> None:
        check_fifo(spec, "topic", "topicName", "fifoTopic")
        for field in DOCUMENTS.values():
            canonical_policy(spec.get(field))  # refuses a document that is not JSON
        seen: set[tuple[str, str]] = set()
        for index, item in enumerate(spec.get("subscriptions") or ()):
            where = f"subscriptions[{index}]"
            if item.get("rawMessageDelivery") and item["protocol"] not in RAW_PROTOCOLS:
                raise TerminalError(f"{where}: rawMessageDelivery is for sqs, firehose, http and https subscriptions")
            canonical_policy(item.get("filterPolicy"))
            key = (item["protocol"], item.get("endpoint") or f"queueRef {(item.get('queueRef') or {}).get('name')}")
            if key in seen:
                raise TerminalError(f"{where}: {key[0]} {key[1]} is subscribed twice", reason="DuplicateSubscription")
            seen.add(key)
