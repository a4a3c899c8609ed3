"""SNSTopic: a standard or FIFO topic, its attributes and its subscriptions (a set)."""

from __future__ import annotations

import json
from typing import Any, Mapping

from ..engine.delta import attribute_value, frozen, reconcile_set
from ..engine.policies import canonical_policy
from ..engine.kind import (Adoption, AWSClients, DriftField, Identity, Kind, Raw, Reference, Severity, State,
                           TagChange, Tagging, tag_list, tag_map)
from ..provider.errors import TerminalError
from ..services.messaging import (check_fifo, content_based_deduplication, deduplication_attribute, fifo_properties, fifo_rules,
                         observed_deduplication)

TOPIC_NAME = r"^([A-Za-z0-9_-]{1,256}|[A-Za-z0-9_-]{1,251}\.fifo)$"
PENDING = "PendingConfirmation"  # what AWS lists instead of the ARN of an unconfirmed subscription
PROTOCOLS = ["sqs", "lambda", "firehose", "https", "http", "email", "email-json", "sms", "application"]
RAW_PROTOCOLS = {"sqs", "firehose", "https", "http"}  # the protocols that take raw delivery
# Topic attribute -> spec field holding a JSON document.
DOCUMENTS = {"Policy": "policy", "DeliveryPolicy": "deliveryPolicy"}

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


def _subscription_key(item: Mapping[str, Any]) -> tuple[str, str]:
    return item["protocol"], item["endpoint"]


def _same_subscriptions(want: list[State], have: list[State]) -> bool:
    """The subscription sets match: the same endpoints, and the same attributes where AWS shows
    them (not for a subscription awaiting confirmation)."""
    observed = {_subscription_key(item): item for item in have}
    return len(want) == len(observed) and all(
        _subscription_key(item) in observed
        and (observed[_subscription_key(item)].get("pending") or frozen(item) == frozen(observed[_subscription_key(item)]))
        for item in want)


def _document_key(item: Mapping[str, Any]) -> str:
    """Where `desired["documents"]` keeps a subscription's filter policy as written."""
    return f"filterPolicy {item['protocol']} {item['endpoint']}"


class SNSTopic(Kind):
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
        DriftField("subscriptions", Severity.CRITICAL, same=_same_subscriptions),
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

    def desired(self, spec: Mapping[str, Any]) -> State:
        return {
            "topicName": spec["topicName"],
            "fifoTopic": spec.get("fifoTopic", False),
            "contentBasedDeduplication": content_based_deduplication(spec, "fifoTopic"),
            "displayName": spec.get("displayName", ""),
            "kmsMasterKeyId": spec.get("kmsMasterKeyId", ""),
            # Unset: AWS's default access policy stands (not compared); no delivery policy.
            "policy": canonical_policy(spec.get("policy")),
            "deliveryPolicy": canonical_policy(spec.get("deliveryPolicy")) or "",
            "subscriptions": [_desired_subscription(item) for item in spec.get("subscriptions") or ()],
            # Documents are compared canonically and written as the user wrote them.
            "documents": {**{field: spec.get(field, "") for field in DOCUMENTS.values()},
                          **{_document_key(item): item.get("filterPolicy", "")
                             for item in spec.get("subscriptions") or ()}},
        }

    def observe(self, raw: Raw) -> State:
        attributes = raw["Attributes"]
        return {
            "topicName": attributes["TopicArn"].rsplit(":", 1)[-1],
            "fifoTopic": attributes.get("FifoTopic") == "true",
            "contentBasedDeduplication": observed_deduplication(attributes),
            "displayName": attributes.get("DisplayName", ""),
            "kmsMasterKeyId": attributes.get("KmsMasterKeyId", ""),
            **{field: canonical_policy(attributes.get(name) or None) or "" for name, field in DOCUMENTS.items()},
            "subscriptions": [_observed_subscription(item) for item in raw["Subscriptions"]],
            "tags": raw.get("Tags", {}),
        }

    def identify(self, raw: Raw) -> str:
        return raw["Attributes"]["TopicArn"]

    def status(self, raw: Raw) -> State:
        # Counted from the listing: a pending subscription has no ARN yet.
        pending = sum(1 for item in raw["Subscriptions"] if item["SubscriptionArn"] == PENDING)
        return {"subscriptionsConfirmed": len(raw["Subscriptions"]) - pending, "subscriptionsPending": pending}

    def read(self, aws: AWSClients, ident: str) -> Raw | None:
        sns = aws.client("sns")
        answer = self.absent_if_missing(sns.get_topic_attributes, TopicArn=ident)
        if answer is None:
            return None
        subscriptions = []
        for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=ident):
            for item in page["Subscriptions"]:
                if item["SubscriptionArn"] != PENDING:
                    item = {**item, "Attributes": sns.get_subscription_attributes(
                        SubscriptionArn=item["SubscriptionArn"])["Attributes"]}
                subscriptions.append(item)
        return {"Attributes": answer["Attributes"], "Subscriptions": subscriptions}

    def read_tags(self, aws: AWSClients, ident: str, raw: Raw) -> dict[str, str]:
        answer = aws.client("sns").list_tags_for_resource(ResourceArn=ident)
        return tag_map(answer.get("Tags"))

    def find_created(self, aws: AWSClients, desired: State, token: str) -> Raw | None:
        suffix = ":" + desired["topicName"]
        for page in aws.client("sns").get_paginator("list_topics").paginate():
            for topic in page["Topics"]:
                if topic["TopicArn"].endswith(suffix):
                    return self.read(aws, topic["TopicArn"])
        return None

    def create(self, aws: AWSClients, desired: State, tags: Mapping[str, str], token: str) -> Raw:
        sns = aws.client("sns")
        attributes = {"FifoTopic": "true"} if desired["fifoTopic"] else {}
        attributes.update({name: value for name, value in _topic_attributes(desired, frozenset(desired)).items()
                           if value})
        arn = sns.create_topic(Name=desired["topicName"], Attributes=attributes,
                               Tags=tag_list(tags))["TopicArn"]
        for item in desired["subscriptions"]:
            _subscribe(sns, arn, item, desired["documents"])
        return self.read(aws, arn)

    def update(self, aws: AWSClients, ident: str, desired: State, raw: Raw, changed: frozenset[str]) -> None:
        sns = aws.client("sns")
        for name, value in _topic_attributes(desired, changed).items():
            sns.set_topic_attributes(TopicArn=ident, AttributeName=name, AttributeValue=value)
        if "subscriptions" in changed:
            self._reconcile_subscriptions(sns, ident, desired, raw["Subscriptions"])

    def set_tags(self, aws: AWSClients, ident: str, change: TagChange) -> None:
        sns = aws.client("sns")
        if change.remove:
            sns.untag_resource(ResourceArn=ident, TagKeys=sorted(change.remove))
        if change.add:
            sns.tag_resource(ResourceArn=ident, Tags=tag_list(change.add))

    def delete(self, aws: AWSClients, ident: str, raw: Raw, spec: Mapping[str, Any]) -> None:
        # Deleting a topic deletes its subscriptions.
        aws.client("sns").delete_topic(TopicArn=ident)

    def _reconcile_subscriptions(self, sns: Any, arn: str, desired: State, raw: list[Raw]) -> None:
        """Subscribe what is missing, set the attributes that differ, unsubscribe the rest. A
        subscription awaiting confirmation has no ARN: it can be neither changed nor removed
        (its attributes apply once confirmed; AWS drops it after three days unconfirmed)."""
        arns = {(item["Protocol"], item["Endpoint"]): item["SubscriptionArn"] for item in raw}

        def change(have: State, want: State) -> None:
            subscription = arns[_subscription_key(want)]
            if subscription == PENDING:
                return
            for name, value in _subscription_attributes(want, desired["documents"], differing_from=have).items():
                sns.set_subscription_attributes(SubscriptionArn=subscription, AttributeName=name, AttributeValue=value)

        def remove(have: State) -> None:
            if arns[_subscription_key(have)] != PENDING:
                sns.unsubscribe(SubscriptionArn=arns[_subscription_key(have)])

        reconcile_set(desired["subscriptions"], [_observed_subscription(item) for item in raw], key=_subscription_key,
                      add=lambda want: _subscribe(sns, arn, want, desired["documents"]), remove=remove, change=change)


def _desired_subscription(item: Mapping[str, Any]) -> State:
    protocol = item["protocol"]
    dead_letter = item.get("deadLetterTargetArn")
    return {
        "protocol": protocol,
        "endpoint": item["endpoint"],
        "filterPolicy": canonical_policy(item.get("filterPolicy")) or "",
        "filterPolicyScope": item.get("filterPolicyScope", "MessageAttributes") if "filterPolicy" in item else None,
        "rawMessageDelivery": item.get("rawMessageDelivery", False) if protocol in RAW_PROTOCOLS else None,
        "redrivePolicy": {"deadLetterTargetArn": dead_letter} if dead_letter else {},
    }


def _observed_subscription(item: Raw) -> State:
    """A listed subscription as comparable state; one awaiting confirmation carries no attributes
    (AWS shows none before it is confirmed)."""
    attributes = item.get("Attributes")
    if attributes is None:
        return {"protocol": item["Protocol"], "endpoint": item["Endpoint"], "pending": True}
    protocol = item["Protocol"]
    filter_policy = attributes.get("FilterPolicy")
    return {
        "protocol": protocol,
        "endpoint": item["Endpoint"],
        "filterPolicy": canonical_policy(filter_policy or None) or "",
        "filterPolicyScope": attributes.get("FilterPolicyScope", "MessageAttributes") if filter_policy else None,
        "rawMessageDelivery": attributes.get("RawMessageDelivery") == "true" if protocol in RAW_PROTOCOLS else None,
        "redrivePolicy": json.loads(attributes["RedrivePolicy"]) if attributes.get("RedrivePolicy") else {},
    }


def _subscription_attributes(item: State, documents: Mapping[str, str],
                             differing_from: State | None = None) -> dict[str, str]:
    """Subscription attributes as SNS takes them ("" removes a filter or redrive policy): all of
    them, or those that differ from the observed state `differing_from`."""
    values = {"filterPolicy": ("FilterPolicy", documents.get(_document_key(item), "")),
              "redrivePolicy": ("RedrivePolicy", json.dumps(item["redrivePolicy"]) if item["redrivePolicy"] else ""),
              "filterPolicyScope": ("FilterPolicyScope", item["filterPolicyScope"]),
              "rawMessageDelivery": ("RawMessageDelivery", None if item["rawMessageDelivery"] is None
                                     else attribute_value(item["rawMessageDelivery"]))}
    return {name: value for field, (name, value) in values.items()
            if value is not None and (differing_from is None or differing_from.get(field) != item[field])}


def _subscribe(sns: Any, arn: str, item: State, documents: Mapping[str, str]) -> None:
    attributes = {name: value for name, value in _subscription_attributes(item, documents).items() if value}
    sns.subscribe(TopicArn=arn, Protocol=item["protocol"], Endpoint=item["endpoint"], Attributes=attributes,
                  ReturnSubscriptionArn=True)


def _topic_attributes(desired: State, fields: frozenset[str]) -> dict[str, str]:
    """SetTopicAttributes name -> value for `fields` of the desired state; "" clears one."""
    attributes: dict[str, str] = {}
    if "displayName" in fields:
        attributes["DisplayName"] = desired["displayName"]
    if "kmsMasterKeyId" in fields:
        attributes["KmsMasterKeyId"] = desired["kmsMasterKeyId"]
    attributes.update(deduplication_attribute(desired, fields))
    for name, field in DOCUMENTS.items():
        if field in fields and desired[field] is not None:
            attributes[name] = desired["documents"][field]
    return attributes
