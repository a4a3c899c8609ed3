"""What SQS queues and SNS topics share: a FIFO one's name ends in .fifo (and only a FIFO
one's), and content-based deduplication is for FIFO ones only. And what SNSTopic computes
(`Topic`): the comparable state of a topic, its documents compared canonically but written as
the user wrote them, its attributes, and its subscriptions reconciled as a set. And an SQS
queue's attributes as CreateQueue and SetQueueAttributes take them (`queue_attributes`)."""

from __future__ import annotations

import json
from typing import Any, Mapping

from ..engine.delta import ListChanges, attribute_value, frozen, list_changes, reconcile_set
from ..engine.kind import AWSClients, Kind, Raw, State, TagChange, tag_list, tag_map, tag_resource
from ..engine.lookups import paginated
from ..engine.policies import canonical_policy
from ..engine.schema import immutable
from ..provider.errors import TerminalError

PENDING = "PendingConfirmation"  # what AWS lists instead of the ARN of an unconfirmed subscription
RAW_PROTOCOLS = {"sqs", "firehose", "https", "http"}  # the protocols that take raw delivery
# Topic attribute -> spec field holding a JSON document.
DOCUMENTS = {"Policy": "policy", "DeliveryPolicy": "deliveryPolicy"}
# SQSQueue's numbers: spec field -> (AWS attribute, minimum, maximum, description); AWS's default applies when unset.
QUEUE_NUMBERS = {
    "delaySeconds": ("DelaySeconds", 0, 900, "Seconds each message is delayed before delivery."),
    "maximumMessageSize": ("MaximumMessageSize", 1024, 1048576, "Largest message body, in bytes."),
    "messageRetentionPeriod": ("MessageRetentionPeriod", 60, 1209600, "Seconds a message is kept."),
    "receiveMessageWaitTimeSeconds": ("ReceiveMessageWaitTimeSeconds", 0, 20,
                                      "Seconds a receive waits for a message (long polling)."),
    "visibilityTimeout": ("VisibilityTimeout", 0, 43200, "Seconds a received message stays hidden."),
    "kmsDataKeyReusePeriodSeconds": ("KmsDataKeyReusePeriodSeconds", 60, 86400,
                                     "Seconds SQS reuses a data key before asking KMS again (SSE-KMS only)."),
}


def fifo_messages(noun: str, fifo_field: str) -> tuple[str, str]:
    return (f"a FIFO {noun}'s name must end in .fifo, and only a FIFO {noun}'s may",
            f"contentBasedDeduplication needs {fifo_field}")


def fifo_rules(noun: str, name_field: str, fifo_field: str) -> tuple[dict[str, str], ...]:
    """The CEL rules (mirrored by `check_fifo`)."""
    name, dedup = fifo_messages(noun, fifo_field)
    return ({"rule": f"self.{fifo_field} == self.{name_field}.endsWith('.fifo')", "message": name},
            {"rule": f"!has(self.contentBasedDeduplication) || !self.contentBasedDeduplication || self.{fifo_field}",
             "message": dedup})


def check_fifo(spec: Mapping[str, Any], noun: str, name_field: str, fifo_field: str) -> None:
    name, dedup = fifo_messages(noun, fifo_field)
    fifo = spec.get(fifo_field, False)
    if fifo != spec[name_field].endswith(".fifo"):
        raise TerminalError(name)
    if spec.get("contentBasedDeduplication") and not fifo:
        raise TerminalError(dedup)


def content_based_deduplication(spec: Mapping[str, Any], fifo_field: str) -> bool | None:
    """The desired value: only a FIFO queue or topic has the attribute (None: not compared)."""
    return spec.get("contentBasedDeduplication", False) if spec.get(fifo_field) else None


def observed_deduplication(attributes: Mapping[str, str]) -> bool | None:
    if "ContentBasedDeduplication" not in attributes:
        return None
    return attributes["ContentBasedDeduplication"] == "true"


def deduplication_attribute(desired: Mapping[str, Any], fields: frozenset[str]) -> dict[str, str]:
    """The ContentBasedDeduplication attribute, when among `fields` and the queue or topic is FIFO."""
    if "contentBasedDeduplication" not in fields or desired["contentBasedDeduplication"] is None:
        return {}
    return {"ContentBasedDeduplication": attribute_value(desired["contentBasedDeduplication"])}


def fifo_properties(noun: str, name_field: str, fifo_field: str, name_pattern: str,
                    fifo_description: str) -> dict[str, Any]:
    """The name, FIFO and deduplication spec properties (name and FIFO cannot change)."""
    return {
        name_field: {"type": "string", "pattern": name_pattern,
                     "description": f"{noun.capitalize()} name (a FIFO {noun}'s ends in .fifo); cannot change "
                                    "after creation.",
                     **immutable(f"{name_field} is immutable")},
        fifo_field: {"type": "boolean", "default": False, "description": fifo_description,
                     **immutable(f"{fifo_field} is immutable")},
        "contentBasedDeduplication": {"type": "boolean",
                                      "description": "FIFO only: deduplicate by a hash of the message body."},
    }


def _subscription_key(item: Mapping[str, Any]) -> tuple[str, str]:
    return item["protocol"], item["endpoint"]


def same_subscriptions(want: list[State], have: list[State]) -> bool:
    """The subscription sets match: the same endpoints, and the same attributes where AWS shows
    them (not for a subscription awaiting confirmation)."""
    return list_changes(want, have, key=_subscription_key,
                        same=lambda item, seen: seen.get("pending") or frozen(item) == frozen(seen)) == ListChanges()


def _document_key(item: Mapping[str, Any]) -> str:
    """Where `desired["documents"]` keeps a subscription's filter policy as written."""
    return f"filterPolicy {item['protocol']} {item['endpoint']}"


class Topic(Kind):
    """Base of SNSTopic: a topic keyed by its ARN, named by its spec, with its subscriptions."""

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
        for item in paginated(sns, "list_subscriptions_by_topic", "Subscriptions", TopicArn=ident):
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
        for topic in paginated(aws.client("sns"), "list_topics", "Topics"):
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
        tag_resource(aws.client("sns"), change, ResourceArn=ident)

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


def queue_attributes(desired: State, fields: frozenset[str]) -> dict[str, str]:
    """SetQueueAttributes/CreateQueue attributes for `fields` of the desired state; an empty value
    removes a policy, redrive or KMS key."""
    attributes: dict[str, str] = {}
    for name, (attribute, *_) in QUEUE_NUMBERS.items():
        if name in fields and desired[name] is not None:
            attributes[attribute] = str(desired[name])
    attributes.update(deduplication_attribute(desired, fields))
    if fields & {"kmsMasterKeyId", "sqsManagedSseEnabled"}:
        # Both together: SQS takes one kind of server-side encryption at a time.
        attributes["KmsMasterKeyId"] = desired["kmsMasterKeyId"]
        attributes["SqsManagedSseEnabled"] = attribute_value(desired["sqsManagedSseEnabled"])
    if "redrivePolicy" in fields:
        attributes["RedrivePolicy"] = json.dumps(desired["redrivePolicy"]) if desired["redrivePolicy"] else ""
    if "policy" in fields:
        attributes["Policy"] = desired["policyDocument"]
    return attributes
