"""The kind interface's declared capabilities, driven through the engine with an in-memory
kind (its 'AWS' is a dict): identity, tagging variants, adoption strategies, idempotency tokens,
long operations, deletion variants, not-found and retryable codes, secret inputs, late
initialisation and references to any status field."""

from __future__ import annotations

import uuid
from typing import Any, Mapping

import pytest
from botocore.exceptions import ClientError

from infra_operator.operator.engine.delta import OWNER_UID, reconcile_set
from infra_operator.operator.engine.kind import (Adoption, AWSClients, Deletion, DriftField, ErrorMatch, Identity,
                                                 Kind, Raw, Reference, SecretInput, SecretValue, Severity, State,
                                                 TagChange, Tagging, TokenFormat)
from infra_operator.operator.engine.objects import ObjectSummary
from infra_operator.operator.engine.policies import canonical_policy
from infra_operator.operator.engine.reconciler import (PENDING_ANNOTATION, EngineSettings, Reconciler)
from infra_operator.operator.provider.errors import InProgress, TerminalError, is_not_found
from infra_operator.telemetry import Telemetry

from conftest import write


def client_error(code: str, message: str = "no", status: int = 400) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}},
                       "Op")


class Providers:
    """Provider sessions whose one provider needs no AWS: the kind keeps its resources."""

    def get(self, name: str) -> AWSClients:
        return self

    region = "eu-west-1"


class Gadget(Kind):
    """Named by its spec; tags applied after the create, read by their own call, set as a whole."""

    kind = "Gadget"
    plural = "gadgets"
    identifier = "name"
    identity = Identity(fields=("arn",), from_spec="name")
    tagging = Tagging(at_create=False, in_description=False, replaces_whole_set=True, max_tags=10)
    adoption = Adoption.SPEC_NAME
    drift_fields = (DriftField("size", Severity.WARNING, late_init=True),)
    not_found_codes = frozenset({"GadgetGone"})
    retryable_errors = (ErrorMatch("InvalidParameterValueException", "cannot be assumed"),)
    deletion = Deletion(policies=("Stop",), protected=(ErrorMatch("ProtectedGadget"),))
    secret_inputs = (SecretInput("password"),)

    def __init__(self):
        self.store: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, Any]] = []
        self.fail_next: dict[str, Exception] = {}
        self.delete_lag = 0  # reads that still show a deleted gadget

    def _call(self, name: str, arg: Any = None) -> None:
        self.calls.append((name, arg))
        if name in self.fail_next:
            raise self.fail_next.pop(name)

    def desired(self, spec):
        return {"name": spec["name"], "size": spec.get("size")}

    def observe(self, raw):
        return {"name": raw["Name"], "size": raw["Size"]}

    def identify(self, raw):
        return raw["Name"]

    def identities(self, raw):
        return {"arn": f"arn:gadget:{raw['Name']}"}

    def read(self, aws, ident):
        self._call("read", ident)

        def describe(Name):
            if Name not in self.store:
                raise client_error("GadgetGone")
            if self.store[Name].get("deleted"):
                if self.delete_lag == 0:
                    raise client_error("GadgetGone")
                self.delete_lag -= 1
            return dict(self.store[Name])
        return self.absent_if_missing(describe, Name=ident)

    def read_tags(self, aws, ident, raw):
        self._call("read_tags", ident)
        return dict(self.store[ident]["Tags"])

    def create(self, aws, desired, tags, token):
        self._call("create", {k: v for k, v in desired.items() if k != "password"})
        password = desired.get("password")
        assert isinstance(password, SecretValue)
        self.store[desired["name"]] = {"Name": desired["name"], "Size": desired["size"] or 3, "Tags": {},
                                       "Password": password.reveal(), "Token": token}
        return self.store[desired["name"]]

    def update(self, aws, ident, desired, raw, changed):
        self._call("update", sorted(changed))
        if "size" in changed:
            self.store[ident]["Size"] = desired["size"]
        if "password" in changed:
            self.store[ident]["Password"] = desired["password"].reveal()

    def set_tags(self, aws, ident, change: TagChange):
        self._call("set_tags", change)
        self.store[ident]["Tags"] = dict(change.result)

    def delete(self, aws, ident, raw, spec):
        self._call("delete", spec["deletionPolicy"])
        self.store[ident]["deleted"] = True


class Harness:
    def __init__(self, kind: Kind, secrets: dict[str, tuple[dict, str]] | None = None,
                 others: dict[tuple[str, str], ObjectSummary] | None = None):
        self.kind = kind
        self.secrets = secrets if secrets is not None else {"pw": ({"value": "s3cr3t"}, "uid/1")}
        self.others = others or {}
        self.engine = Reconciler(Telemetry.noop(), Providers(), EngineSettings(),
                                 read_secret=lambda ns, name: self.secrets.get(name))
        self.body: dict[str, Any] = {
            "kind": kind.kind, "metadata": {"namespace": "ns", "name": "g", "uid": str(uuid.uuid4()), "generation": 1},
            "spec": {"providerRef": {"name": "aws"}, "name": "g1", "passwordSecretRef": {"name": "pw", "key": "value"}},
            "status": {}}

    # ClusterView
    def find(self, kind, namespace, name):
        return self.others.get((kind, name))

    def dependents(self, kind, namespace, name):
        return []

    def once(self, trigger: str = "create"):
        outcome = self.engine.reconcile(self.kind, self.body, trigger, self)
        write(self.body, outcome)
        return outcome

    def converge(self, trigger: str = "create"):
        """Runs until the engine asks for no immediate re-run, as kopf does after a patch."""
        outcomes = [self.once(trigger)]
        while outcomes[-1].rerun:
            outcomes.append(self.once(trigger))
        return outcomes

    def delete(self):
        outcome = self.engine.finalize(self.kind, self.body, self)
        write(self.body, outcome)
        return outcome

    @property
    def ready(self) -> tuple[str, str]:
        ready = next(c for c in self.body["status"]["conditions"] if c["type"] == "Ready")
        return ready["status"], ready["reason"]


def converged() -> tuple[Gadget, Harness]:
    """A Gadget and its object, created and Ready."""
    kind = Gadget()
    h = Harness(kind)
    h.converge()
    return kind, h


def names(calls, name):
    return [arg for call, arg in calls if call == name]


def test_a_create_pending_record_is_written_before_the_create_and_cleared_after_the_status():
    kind = Gadget()
    h = Harness(kind)
    first = h.once()
    assert first.rerun and not names(kind.calls, "create")
    assert h.body["metadata"]["annotations"][PENDING_ANNOTATION] == h.body["metadata"]["uid"].replace("-", "")
    assert h.ready == ("False", "Creating")
    outcomes = h.converge()
    assert len(names(kind.calls, "create")) == 1
    assert PENDING_ANNOTATION not in h.body["metadata"]["annotations"]
    status = h.body["status"]
    assert status["name"] == "g1" and status["arn"] == "arn:gadget:g1" and h.ready == ("True", "Available")
    assert status["lateInitialized"] == {"size": 3}
    # Tags went on after the create, as a whole set, owner tags included.
    tagged = names(kind.calls, "set_tags")[0]
    assert tagged.result[OWNER_UID] == h.body["metadata"]["uid"]
    assert not any(o.permanent for o in outcomes)


def test_after_a_crash_between_create_and_status_the_pending_record_adopts_and_never_creates_again():
    kind = Gadget()
    h = Harness(kind)
    h.once()  # the record
    h.engine.reconcile(kind, h.body, "create", h)  # creates; the status write is lost (crash)
    outcome = h.once("resume")
    # The secret is applied again: nothing in status says the create applied it.
    assert [e.reason for e in outcome.events] == ["Adopted", "Updated"] and names(kind.calls, "update") == [["password"]]
    assert len(names(kind.calls, "create")) == 1 and h.body["status"]["name"] == "g1"


def test_a_name_held_by_someone_else_is_name_taken_without_a_create():
    kind = Gadget()
    kind.store["g1"] = {"Name": "g1", "Size": 3, "Tags": {"team": "other"}}
    h = Harness(kind)
    h.body["metadata"]["annotations"] = {}
    kind.tagging = Tagging()  # tags at create: no pending record, so nothing says the name is ours
    outcome = h.converge()[-1]
    assert outcome.permanent and h.ready == ("False", "NameTaken") and not names(kind.calls, "create")


def test_token_adoption_finds_the_resource_by_the_uid_derived_key():
    class Tokened(Gadget):
        adoption = Adoption.TOKEN
        tagging = None
        token = TokenFormat(max_length=20, prefix="io")

        def find_created(self, aws, desired, token):
            return next((dict(r) for r in self.store.values() if r["Token"] == token), None)

    kind = Tokened()
    h = Harness(kind)
    h.engine.reconcile(kind, h.body, "create", h)  # created, status lost
    assert kind.store["g1"]["Token"] == ("io" + h.body["metadata"]["uid"].replace("-", ""))[:20]
    assert [e.reason for e in h.once().events][0] == "Adopted" and len(names(kind.calls, "create")) == 1


def test_a_kind_without_tags_gets_no_owner_tags_and_refuses_spec_tags():
    class Untagged(Gadget):
        tagging = None
        adoption = Adoption.TOKEN

        def find_created(self, aws, desired, token):
            return None

    kind = Untagged()
    h = Harness(kind)
    h.converge()
    assert "tags" not in names(kind.calls, "create")[0] and not names(kind.calls, "set_tags")
    h.body["spec"]["tags"] = {"a": "b"}
    assert h.once().permanent and h.ready == ("False", "InvalidTags")


def test_too_many_tags_for_the_kind_are_refused():
    h = Harness(Gadget())
    h.body["spec"]["tags"] = {f"k{i}": "v" for i in range(7)}  # 7 + 4 owner tags > 10
    assert h.once().permanent and h.ready == ("False", "InvalidTags")


def test_tag_drift_is_healed_with_the_whole_set():
    kind, h = converged()
    kind.store["g1"]["Tags"]["intruder"] = "x"
    outcome = h.once("resync")
    assert [e.reason for e in outcome.events] == ["DriftHealed"]
    assert "intruder" not in kind.store["g1"]["Tags"] and OWNER_UID in kind.store["g1"]["Tags"]


def test_late_initialised_values_are_compared_without_fighting_the_spec():
    kind, h = converged()
    kind.store["g1"]["Size"] = 5  # changed outside the operator
    assert [e.reason for e in h.once("resync").events] == ["DriftHealed"] and kind.store["g1"]["Size"] == 3
    h.body["spec"]["size"] = 7  # the spec takes over
    h.body["metadata"]["generation"] = 2
    assert [e.reason for e in h.once("update").events] == ["Updated"] and kind.store["g1"]["Size"] == 7


def test_a_secret_reaches_only_create_and_update_and_a_changed_secret_is_applied():
    kind = Gadget()
    h = Harness(kind)
    outcomes = h.converge()
    assert kind.store["g1"]["Password"] == "s3cr3t"
    assert h.body["status"]["secretVersions"] == {"password": "uid/1"}
    assert "s3cr3t" not in repr(h.body) + repr([o.events for o in outcomes]) + repr(kind.calls)
    h.secrets["pw"] = ({"value": "n3w"}, "uid/2")
    outcome = h.once("resync")
    assert names(kind.calls, "update") == [["password"]] and kind.store["g1"]["Password"] == "n3w"
    assert h.body["status"]["secretVersions"] == {"password": "uid/2"} and "n3w" not in repr(outcome)


def test_a_missing_secret_waits_without_an_aws_call():
    kind = Gadget()
    h = Harness(kind, secrets={})
    outcome = h.once()
    assert outcome.retry_after and h.ready == ("False", "SecretNotFound") and not kind.calls


def test_a_not_found_of_a_secondary_call_is_an_error_not_gone():
    kind, h = converged()
    kind.fail_next["read_tags"] = client_error("NoSuchTagSet")
    outcome = h.once("resync")
    assert outcome.retry_after and h.ready[0] == "False" and len(names(kind.calls, "create")) == 1


def test_declared_eventual_consistency_errors_are_retried():
    kind = Gadget()
    h = Harness(kind)
    h.once()
    kind.fail_next["create"] = client_error("InvalidParameterValueException", "The role cannot be assumed")
    outcome = h.once()
    assert not outcome.permanent and 5.0 <= outcome.retry_after <= 5.5 and h.ready == ("False", "AWSEventuallyConsistent")
    kind.fail_next["create"] = client_error("InvalidParameterValueException", "Size must be even")
    assert h.once().permanent


def test_a_delete_is_confirmed_by_reading_again_later_and_no_worker_waits():
    kind, h = converged()
    h.body["spec"]["deletionPolicy"] = "Stop"
    kind.delete_lag = 2
    first = h.delete()
    assert first.retry_after == EngineSettings().deletion_poll_delay and h.ready == ("False", "Deleting")
    assert names(kind.calls, "delete") == ["Stop"]
    h.delete()
    assert h.delete().retry_after is None


def test_a_delete_the_kind_holds_in_progress_keeps_its_reason_and_asks_nothing_of_aws():
    """A kind that sees its resource cannot go yet (an ECS cluster with services) answers
    InProgress with its own reason: Ready=False with that reason, no error, looked at again."""
    kind, h = converged()
    kind.fail_next["delete"] = InProgress("waiting for the services web, api", reason="ServicesRemain", delay=30.0)
    waiting = h.delete()
    assert waiting.retry_after == 30.0 and not waiting.permanent and h.ready == ("False", "ServicesRemain")
    assert "web, api" in waiting.message and not any(e.type == "Warning" for e in waiting.events)
    assert not kind.store["g1"].get("deleted")
    assert h.delete().retry_after is None and kind.store["g1"]["deleted"]


def test_a_kinds_in_progress_delay_is_capped_by_the_setting():
    kind, h = converged()
    h.engine.settings = EngineSettings(in_progress_max_delay=1.0)
    kind.fail_next["delete"] = InProgress("CloudFront is deploying", delay=30.0)
    assert h.delete().retry_after == 1.0


def test_an_update_the_kind_holds_in_progress_keeps_its_reason():
    """An RDS instance busy with another change answers InProgress with its own reason (its AWS
    status): Ready=False with that reason, no error; the change is made once AWS lets it."""
    kind, h = converged()
    h.body["spec"]["size"] = 7
    h.body["metadata"]["generation"] = 2
    kind.fail_next["update"] = InProgress("g1 is modifying in AWS", reason="Modifying", delay=30.0)
    waiting = h.once("update")
    assert waiting.retry_after == 30.0 and not waiting.permanent and h.ready == ("False", "Modifying")
    assert kind.store["g1"]["Size"] == 3 and not any(e.type == "Warning" for e in waiting.events)
    assert [e.reason for e in h.once("update").events] == ["Updated"] and kind.store["g1"]["Size"] == 7


def test_a_keeping_policy_acts_on_the_resource_then_retains_it_without_waiting_for_dependents():
    kind, h = converged()
    kind.deletion = Deletion(policies=("Stop", "Park"), keeping=("Park",))
    h.body["spec"]["deletionPolicy"] = "Park"
    h.dependents = lambda *args: ["Gadget/user"]
    kind.delete = lambda aws, ident, raw, spec: kind._call("delete", spec["deletionPolicy"])  # parks, keeps it
    outcome = h.delete()
    assert outcome.retry_after is None and [e.reason for e in outcome.events] == ["Retained"]
    assert names(kind.calls, "delete") == ["Park"] and OWNER_UID not in kind.store["g1"]["Tags"]


def test_an_unknown_error_on_delete_keeps_the_finalizer_and_retries():
    kind, h = converged()
    kind.fail_next["delete"] = client_error("WeirdNewError")
    outcome = h.delete()
    assert not outcome.permanent and outcome.retry_after and h.ready == ("False", "AWSRejected")
    assert "WeirdNewError" in outcome.message
    assert h.delete().retry_after is None and kind.store["g1"]["deleted"]


def test_deletion_protection_is_a_condition_retried_slowly():
    kind, h = converged()
    kind.fail_next["delete"] = client_error("ProtectedGadget", "deletion protection is enabled")
    outcome = h.delete()
    assert outcome.retry_after == 300.0 and h.ready == ("False", "DeletionProtected")  # the cap


def test_a_reference_resolves_to_any_status_field():
    class Consumer(Gadget):
        references = (Reference("roleRef", "Role", "roleArn", status_field="arn",
                                also=(("rolePath", "path"),)),)

        def desired(self, spec):
            return {**super().desired(spec), "roleArn": spec["roleArn"], "rolePath": spec["rolePath"]}

    kind = Consumer()
    ready = [{"type": "Ready", "status": "True"}]
    h = Harness(kind, others={("Role", "r"): ObjectSummary.of(
        {"conditions": ready, "roleName": "r", "arn": "arn:aws:iam::1:role/r", "path": "/x/"}, "roleName")})
    h.body["spec"]["roleRef"] = {"name": "r"}
    h.converge()
    created = names(kind.calls, "create")[0]
    assert created["roleArn"] == "arn:aws:iam::1:role/r" and created["rolePath"] == "/x/"


def test_not_found_codes_generic_and_declared():
    for code in ("InvalidVpcID.NotFound", "NoSuchHostedZone", "ResourceNotFoundException", "QueueNotFoundFault",
                 "AWS.SimpleQueueService.NonExistentQueue", "404", "FunctionNotFoundException"):
        assert is_not_found(client_error(code)), code
    assert not is_not_found(client_error("ValidationError"))
    assert is_not_found(client_error("GadgetGone"), frozenset({"GadgetGone"}))


def test_canonical_policies_ignore_key_order_single_item_lists_and_url_encoding():
    spec = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"],
                                                    "Resource": ["arn:b", "arn:a"]}]}
    aws = ('%7B%22Statement%22%3A%7B%22Resource%22%3A%5B%22arn%3Aa%22%2C%22arn%3Ab%22%5D%2C%22Action%22%3A%22'
           's3%3AGetObject%22%2C%22Effect%22%3A%22Allow%22%7D%2C%22Version%22%3A%222012-10-17%22%7D')
    assert canonical_policy(spec) == canonical_policy(aws)
    assert canonical_policy({**spec, "Version": "2008-10-17"}) != canonical_policy(aws)


def test_reconcile_set_adds_changes_and_removes_by_key():
    done: list[tuple[str, Any]] = []
    reconcile_set([{"id": 1, "v": "a"}, {"id": 2, "v": "b"}], [{"id": 2, "v": "x"}, {"id": 3, "v": "c"}],
                  key=lambda r: r["id"], add=lambda r: done.append(("add", r["id"])),
                  remove=lambda r: done.append(("remove", r["id"])),
                  change=lambda old, new: done.append(("change", new["id"])))
    assert done == [("remove", 3), ("add", 1), ("change", 2)]


@pytest.mark.parametrize("service,region,expected", [("iam", None, "aws-global"), ("ec2", None, "eu-west-1"),
                                                       ("acm", "us-east-1", "us-east-1")])
def test_global_services_and_explicit_regions(service, region, expected):
    from infra_operator.operator.provider.session import ProviderConfig, ProviderSession, StaticCredentials
    session = ProviderSession(ProviderConfig("ns/aws", "eu-west-1", None, StaticCredentials("a", "b")))
    assert session.client(service, region).meta.region_name == expected


def test_a_delete_after_a_crash_before_the_status_write_deletes_what_the_create_made_and_nothing_else():
    kind = Gadget()
    h = Harness(kind)
    h.once()  # the record
    h.engine.reconcile(kind, h.body, "create", h)  # creates; the status write is lost (crash)
    assert h.delete().retry_after is None and kind.store["g1"]["deleted"]
    other = Gadget()
    other.store["g1"] = {"Name": "g1", "Size": 3, "Tags": {}}  # someone else's, and no record of ours
    stranger = Harness(other)
    assert stranger.delete().retry_after is None and not names(other.calls, "delete")


def test_a_delete_after_a_crash_deletes_what_the_create_made_though_a_reference_now_refuses_the_spec():
    # The spec passed when the create was made; what the referenced object says has changed
    # since (e.g. an API lost the custom domain an alias record needs). The create-pending
    # record says a create may have happened: the delete looks for it all the same.
    class Attached(Gadget):
        references = (Reference("mountRef", "Mount", "mountPath", status_field="path"),)

        def validate(self, spec, related):
            if not spec["mountPath"]:
                raise TerminalError("the mount has no path", reason="NoMountPath")

    kind = Attached()
    ready = [{"type": "Ready", "status": "True"}]
    mount = {"conditions": ready, "mountName": "m", "path": "/data"}
    h = Harness(kind, others={("Mount", "m"): ObjectSummary.of(mount, "mountName")})
    h.body["spec"]["mountRef"] = {"name": "m"}
    h.once()  # the record
    h.engine.reconcile(kind, h.body, "create", h)  # creates; the status write is lost (crash)
    h.others[("Mount", "m")] = ObjectSummary.of({**mount, "path": ""}, "mountName")
    assert h.once("resume").permanent and h.ready == ("False", "NoMountPath")
    assert h.delete().retry_after is None and kind.store["g1"]["deleted"]
    # Without the record, a spec refused now created nothing: nothing is looked up or deleted.
    other = Attached()
    other.store["g1"] = {"Name": "g1", "Size": 3, "Tags": {}}
    stranger = Harness(other, others=h.others)
    stranger.body["spec"]["mountRef"] = {"name": "m"}
    assert stranger.delete().retry_after is None and not names(other.calls, "delete")


def test_repeated_failures_back_off_exponentially_with_jitter_and_reset_on_success_or_spec_change():
    kind, h = converged()
    delays = []
    for _ in range(4):
        kind.fail_next["read"] = client_error("InternalError", status=500)
        delays.append(h.once("update").retry_after)
    assert all(10 * 2 ** n <= d <= 10 * 2 ** n * 1.1 for n, d in enumerate(delays)), delays
    h.body["metadata"]["generation"] = 2  # a spec change starts again
    kind.fail_next["read"] = client_error("InternalError", status=500)
    assert h.once("update").retry_after <= 11
    assert h.once("update").retry_after is None  # a success resets too
    kind.fail_next["read"] = client_error("InternalError", status=500)
    assert h.once("update").retry_after <= 11


def test_a_retryable_error_may_name_its_condition_and_delay():
    """AWS says how long some waits are (SQS: a deleted queue's name for 60 s): the condition
    says which wait it is, and the retry comes when it is over."""
    class Waiting(Gadget):
        retryable_errors = (ErrorMatch("NameCoolingDown", reason="NameCoolingDown", delay=60.0),)
    kind = Waiting()
    h = Harness(kind)
    kind.fail_next["create"] = client_error("NameCoolingDown", "wait 60 seconds")
    outcome = h.converge()[-1]
    assert not outcome.permanent and outcome.retry_after >= 60.0 and h.ready == ("False", "NameCoolingDown")
    assert "wait 60 seconds" in outcome.message
    h.converge()
    assert h.ready == ("True", "Available") and len(names(kind.calls, "create")) == 2


class LabelledGadget(Gadget):
    """Its spec's `label` is a tag unless the spec's tags give one; `echo` is reported on request."""

    def desired(self, spec):
        return {**super().desired(spec), "tags": {"label": spec["label"]} if spec.get("label") else {}}

    def requested_status(self, aws, raw, spec):
        return {"echo": spec.get("echo")}


def test_tags_a_kind_derives_from_the_spec_give_way_to_the_specs_tags_and_status_on_request():
    kind = LabelledGadget()
    h = Harness(kind)
    h.body["spec"].update(label="from-label", echo="hello")
    h.converge()
    assert kind.store["g1"]["Tags"]["label"] == "from-label" and h.body["status"]["echo"] == "hello"
    h.body["spec"].update(tags={"label": "from-tags"}, echo=None)
    h.body["metadata"]["generation"] = 2
    outcome = h.once("update")
    assert kind.store["g1"]["Tags"]["label"] == "from-tags" and outcome.status["echo"] is None


@pytest.mark.parametrize("sent", [True, False])
def test_a_secret_sent_by_an_update_still_in_progress_is_not_sent_again(sent):
    # An update that sent the new secret and answers InProgress (AWS applies it for minutes)
    # records the Secret's version; one that waits before sending anything does not.
    class Slow(Gadget):
        def update(self, aws, ident, desired, raw, changed):
            self._call("update", sorted(changed))
            if sent:
                self.store[ident]["Password"] = desired["password"].reveal()
            raise InProgress("AWS is applying the change", sent=sent)

    kind = Slow()
    h = Harness(kind)
    h.converge()
    h.secrets["pw"] = ({"value": "n3w"}, "uid/2")
    assert h.once("resync").retry_after
    assert h.body["status"]["secretVersions"] == {"password": "uid/2" if sent else "uid/1"}
    h.once("resync")
    assert names(kind.calls, "update") == [["password"]] * (1 if sent else 2)
