"""SQSQueue: a standard or FIFO queue, its attributes, redrive to a dead-letter queue and access
policy. The spec decides the name; the queue URL (status) is the key AWS answers to."""

from __future__ import annotations

import json
from typing import Any, Mapping

from ..engine.policies import canonical_policy
from ..engine.kind import (Adoption, AWSClients, DriftField, ErrorMatch, Identity, Kind, Raw, Reference, Severity,
                           State, TagChange, Tagging)
from ..provider.errors import TerminalError
from ..services.messaging import (QUEUE_NUMBERS, check_fifo, content_based_deduplication, fifo_properties, fifo_rules,
                                  observed_deduplication, queue_attributes)

QUEUE_NAME = r"^([A-Za-z0-9_-]{1,80}|[A-Za-z0-9_-]{1,75}\.fifo)$"
ONE_ENCRYPTION = "choose one of SSE-KMS (kmsKeyRef or kmsMasterKeyId) and sqsManagedSseEnabled"
REDRIVE_PAIR = "a dead-letter queue (deadLetterQueueRef or deadLetterTargetArn) and maxReceiveCount go together"
KMS_REUSE_NEEDS_KEY = "kmsDataKeyReusePeriodSeconds needs a KMS key"

COUNTS = {"approximateNumberOfMessages": "ApproximateNumberOfMessages",
          "approximateNumberOfMessagesNotVisible": "ApproximateNumberOfMessagesNotVisible",
          "approximateNumberOfMessagesDelayed": "ApproximateNumberOfMessagesDelayed"}


def _integer(value: str | None) -> int | None:
    return None if value is None else int(value)


class SQSQueue(Kind):
    kind = "SQSQueue"
    plural = "sqsqueues"
    short_names = ("sqs",)
    description = "An SQS queue (standard or FIFO) with its attributes, dead-letter redrive and access policy."
    identifier = "queueUrl"
    identity = Identity(fields=("queueArn",), from_spec="queueName")
    adoption = Adoption.SPEC_NAME
    tagging = Tagging(at_create=True, in_description=False)
    not_found_codes = frozenset({"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"})
    # AWS keeps a deleted queue's name for 60 s: the create waits it out instead of failing.
    retryable_errors = tuple(ErrorMatch(code, reason="QueueDeletedRecently", delay=60.0) for code in (
        "AWS.SimpleQueueService.QueueDeletedRecently", "QueueDeletedRecently"))
    spec_properties = {
        **fifo_properties("queue", "queueName", "fifoQueue", QUEUE_NAME,
                          "A FIFO queue (exactly-once, ordered); cannot change after creation."),
        **{name: {"type": "integer", "minimum": low, "maximum": high, "description": text}
           for name, (_, low, high, text) in QUEUE_NUMBERS.items()},
        "sqsManagedSseEnabled": {"type": "boolean",
                                 "description": "Encrypt with SQS-owned keys (SSE-SQS); AWS's default when "
                                                "no KMS key is named."},
        "maxReceiveCount": {"type": "integer", "minimum": 1, "maximum": 1000,
                            "description": "Receives before a message moves to the dead-letter queue."},
        "policy": {"type": "string", "minLength": 2,
                   "description": "Access policy (JSON); compared canonically (key order and one-item "
                                  "lists are not drift). Unset: no policy."},
    }
    spec_required = ("queueName",)
    spec_validations = (
        *fifo_rules("queue", "queueName", "fifoQueue"),
        {"rule": "!(has(self.sqsManagedSseEnabled) && self.sqsManagedSseEnabled"
                 " && (has(self.kmsKeyRef) || has(self.kmsMasterKeyId)))", "message": ONE_ENCRYPTION},
        {"rule": "(has(self.deadLetterQueueRef) || has(self.deadLetterTargetArn)) == has(self.maxReceiveCount)",
         "message": REDRIVE_PAIR},
        {"rule": "!has(self.kmsDataKeyReusePeriodSeconds) || has(self.kmsKeyRef) || has(self.kmsMasterKeyId)",
         "message": KMS_REUSE_NEEDS_KEY},
    )
    references = (
        Reference("deadLetterQueueRef", "SQSQueue", "deadLetterTargetArn", required=False, status_field="queueArn",
                  id_pattern=r"^arn:aws[a-z-]*:sqs:[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]{1,80}$"),
        Reference("kmsKeyRef", "KMSKey", "kmsMasterKeyId", required=False, status_field="arn"),
    )
    status_properties = {name: {"type": "integer"} for name in COUNTS}
    printer_columns = (("Messages", ".status.approximateNumberOfMessages", "integer"),
                       ("ARN", ".status.queueArn", "string"))
    drift_fields = (
        DriftField("fifoQueue", Severity.CRITICAL, updatable=False),
        DriftField("kmsMasterKeyId", Severity.CRITICAL),
        DriftField("sqsManagedSseEnabled", Severity.CRITICAL),
        DriftField("policy", Severity.CRITICAL),
        DriftField("redrivePolicy", Severity.WARNING),
        DriftField("contentBasedDeduplication", Severity.WARNING),
        *(DriftField(name, Severity.WARNING, late_init=True) for name in QUEUE_NUMBERS),
    )

    def validate(self, spec: Mapping[str, Any], related: Mapping[str, Mapping[str, Any]]) -> None:
        check_fifo(spec, "queue", "queueName", "fifoQueue")
        kms = spec.get("kmsKeyRef") or spec.get("kmsMasterKeyId")
        if spec.get("sqsManagedSseEnabled") and kms:
            raise TerminalError(ONE_ENCRYPTION)
        if bool(spec.get("deadLetterQueueRef") or spec.get("deadLetterTargetArn")) != ("maxReceiveCount" in spec):
            raise TerminalError(REDRIVE_PAIR)
        if "kmsDataKeyReusePeriodSeconds" in spec and not kms:
            raise TerminalError(KMS_REUSE_NEEDS_KEY)
        canonical_policy(spec.get("policy"))  # refuses a document that is not JSON

    def desired(self, spec: Mapping[str, Any]) -> State:
        kms = spec.get("kmsMasterKeyId")
        dead_letter = spec.get("deadLetterTargetArn")
        return {
            "queueName": spec["queueName"],
            "fifoQueue": spec.get("fifoQueue", False),
            "contentBasedDeduplication": content_based_deduplication(spec, "fifoQueue"),
            **{name: spec.get(name) for name in QUEUE_NUMBERS},
            # "" (not None): no key is a value the spec asks for, so a key added outside is drift.
            "kmsMasterKeyId": kms or "",
            "sqsManagedSseEnabled": False if kms else spec.get("sqsManagedSseEnabled", True),
            "redrivePolicy": ({"deadLetterTargetArn": dead_letter, "maxReceiveCount": spec["maxReceiveCount"]}
                              if dead_letter else {}),
            "policy": canonical_policy(spec.get("policy")) or "",
            # Compared canonically, written as the user wrote it.
            "policyDocument": spec.get("policy", ""),
        }

    def observe(self, raw: Raw) -> State:
        attributes = raw["Attributes"]
        redrive = json.loads(attributes.get("RedrivePolicy") or "{}")
        return {
            "queueName": raw["QueueUrl"].rsplit("/", 1)[-1],
            "fifoQueue": attributes.get("FifoQueue") == "true",
            "contentBasedDeduplication": observed_deduplication(attributes),
            **{name: _integer(attributes.get(attribute)) for name, (attribute, *_) in QUEUE_NUMBERS.items()},
            "kmsMasterKeyId": attributes.get("KmsMasterKeyId") or "",
            "sqsManagedSseEnabled": attributes.get("SqsManagedSseEnabled") == "true",
            "redrivePolicy": ({"deadLetterTargetArn": redrive.get("deadLetterTargetArn"),
                               "maxReceiveCount": int(redrive["maxReceiveCount"])} if redrive else {}),
            "policy": canonical_policy(attributes.get("Policy") or None) or "",
            "tags": raw.get("Tags", {}),
        }

    def identify(self, raw: Raw) -> str:
        return raw["QueueUrl"]

    def identities(self, raw: Raw) -> State:
        return {"queueArn": raw["Attributes"]["QueueArn"]}

    def status(self, raw: Raw) -> State:
        # Refreshed at every read (resync), never compared: they are the queue's traffic.
        return {name: _integer(raw["Attributes"].get(attribute)) for name, attribute in COUNTS.items()}

    def read(self, aws: AWSClients, ident: str) -> Raw | None:
        answer = self.absent_if_missing(aws.client("sqs").get_queue_attributes, QueueUrl=ident,
                                        AttributeNames=["All"])
        return None if answer is None else {"QueueUrl": ident, "Attributes": answer.get("Attributes", {})}

    def read_tags(self, aws: AWSClients, ident: str, raw: Raw) -> dict[str, str]:
        return aws.client("sqs").list_queue_tags(QueueUrl=ident).get("Tags", {})

    def find_created(self, aws: AWSClients, desired: State, token: str) -> Raw | None:
        answer = self.absent_if_missing(aws.client("sqs").get_queue_url, QueueName=desired["queueName"])
        return None if answer is None else self.read(aws, answer["QueueUrl"])

    def create(self, aws: AWSClients, desired: State, tags: Mapping[str, str], token: str) -> Raw:
        sqs = aws.client("sqs")
        attributes = {"FifoQueue": "true"} if desired["fifoQueue"] else {}
        # An empty value removes an attribute; a new queue has none to remove.
        attributes.update({name: value for name, value in queue_attributes(desired, frozenset(desired)).items() if value})
        url = sqs.create_queue(QueueName=desired["queueName"], Attributes=attributes, tags=dict(tags))["QueueUrl"]
        return {"QueueUrl": url, "Attributes": sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]}

    def update(self, aws: AWSClients, ident: str, desired: State, raw: Raw, changed: frozenset[str]) -> None:
        attributes = queue_attributes(desired, changed)
        if attributes:
            aws.client("sqs").set_queue_attributes(QueueUrl=ident, Attributes=attributes)

    def set_tags(self, aws: AWSClients, ident: str, change: TagChange) -> None:
        sqs = aws.client("sqs")
        change.apply(lambda tags: sqs.tag_queue(QueueUrl=ident, Tags=tags),
                     lambda keys: sqs.untag_queue(QueueUrl=ident, TagKeys=keys), key=None)

    def delete(self, aws: AWSClients, ident: str, raw: Raw, spec: Mapping[str, Any]) -> None:
        aws.client("sqs").delete_queue(QueueUrl=ident)

