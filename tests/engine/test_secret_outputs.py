"""A value AWS answers only to the create (kind.SecretOutput), driven through the engine with an
in-memory kind: written to a Secret owned by the object; a failed write deletes the resource and
the next run creates another; a Secret that lost the value (a crash before the write, a
deletion) makes the resource be created again; another owner's Secret is never overwritten;
Retain leaves the Secret to outlive the object. The value never appears in an outcome."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

from infra_operator.operator.engine.delta import OWNER_UID
from infra_operator.operator.engine.kind import AWSClients, Kind, SecretOutput, SecretValue
from infra_operator.operator.engine.reconciler import EngineSettings, Reconciler
from infra_operator.telemetry import Telemetry

from conftest import WrittenSecrets, ready_reason, reasons, write

_serial = itertools.count(1)


class Providers:
    region = "eu-west-1"

    def get(self, name: str) -> AWSClients:
        return self


class Keyring(Kind):
    """Its create answers a generated key, once; found again by its owner tag."""

    kind, plural, identifier = "Keyring", "keyrings", "keyringId"
    secret_output = SecretOutput("privateKey", "Where the generated key goes.")

    def __init__(self):
        self.store: dict[str, dict[str, Any]] = {}
        self.created: list[str] = []
        self.deleted: list[str] = []

    def desired(self, spec):
        return {}

    def observe(self, raw):
        return {"tags": dict(raw["Tags"])}

    def identify(self, raw):
        return raw["Id"]

    def read(self, aws, ident):
        return dict(self.store[ident]) if ident in self.store else None

    def find_all_owned(self, aws, owner_uid_tag):
        key, value = owner_uid_tag
        return [dict(raw) for raw in self.store.values() if raw["Tags"].get(key) == value]

    def create(self, aws, desired, tags, token):
        ident = f"ring-{next(_serial)}"
        self.store[ident] = {"Id": ident, "Tags": dict(tags)}
        self.created.append(ident)
        return {**self.store[ident], "Key": SecretValue(f"PRIVATE-{ident}")}

    def generated_secret(self, created):
        return created["Key"]

    def set_tags(self, aws, ident, change):
        tags = self.store[ident]["Tags"]
        for key in change.remove:
            tags.pop(key, None)
        tags.update(change.add)

    def delete(self, aws, ident, raw, spec):
        self.deleted.append(ident)
        self.store.pop(ident, None)


class Harness:
    def __init__(self, spec_extra: dict[str, Any] | None = None):
        self.kind, self.secrets = Keyring(), WrittenSecrets()
        self.engine = Reconciler(Telemetry.noop(), Providers(), EngineSettings(), secret_sink=self.secrets)
        self.body = {"kind": "Keyring",
                     "metadata": {"namespace": "ns", "name": "k", "uid": str(uuid.uuid4()), "generation": 1},
                     "spec": {"providerRef": {"name": "aws"},
                              "privateKeySecretRef": {"name": "ring-key", "key": "id_rsa"}, **(spec_extra or {})},
                     "status": {}}
        self.outcomes = []

    def find(self, kind, namespace, name):
        return None

    def dependents(self, kind, namespace, name):
        return []

    def once(self, trigger: str = "create", keep: bool = True):
        outcome = self.engine.reconcile(self.kind, self.body, trigger, self)
        if keep:
            write(self.body, outcome)
        self.outcomes.append(outcome)
        return outcome

    def written(self) -> dict[str, Any]:
        return self.secrets.secrets["ring-key"]

    def never_shown(self) -> None:
        text = repr([(o.status, o.message, [(e.reason, e.message) for e in o.events]) for o in self.outcomes])
        assert "PRIVATE-" not in text


def test_the_generated_value_is_written_to_a_secret_owned_by_the_object():
    h = Harness()
    outcome = h.once()
    ident = h.body["status"]["keyringId"]
    assert ready_reason(outcome) == "Available" and h.kind.created == [ident]
    assert h.written() == {"owners": [h.body["metadata"]["uid"]], "written_for": ident,
                           "data": {"id_rsa": f"PRIVATE-{ident}"}}
    assert ready_reason(h.once("resync")) == "Available" and h.kind.created == [ident]
    h.never_shown()


def test_a_failed_write_deletes_the_resource_and_the_next_run_creates_one_whose_value_is_kept():
    h = Harness()
    h.secrets.fail = 1
    failed = h.once()
    first = h.kind.created[0]
    assert ready_reason(failed) == "SecretWriteFailed" and failed.retry_after and not failed.permanent
    assert h.kind.deleted == [first] and not h.kind.store and "keyringId" not in h.body["status"]
    assert ready_reason(h.once("update")) == "Available"
    second = h.body["status"]["keyringId"]
    assert second != first and h.written()["written_for"] == second and list(h.kind.store) == [second]
    h.never_shown()


def test_a_crash_before_the_write_or_a_lost_secret_makes_the_resource_be_created_again():
    h = Harness()
    h.secrets.fail = 1
    h.kind.delete = lambda *args: (_ for _ in ()).throw(RuntimeError("delete failed too"))  # left behind, owned
    h.once()
    del h.kind.delete
    lost = h.kind.created[0]
    assert list(h.kind.store) == [lost] and "ring-key" not in h.secrets.secrets
    outcome = h.once("resume")  # adopted by its owner tag, but its key is nowhere
    again = h.body["status"]["keyringId"]
    assert "SecretRegenerated" in reasons(outcome) and ready_reason(outcome) == "Available"
    assert again != lost and list(h.kind.store) == [again] and h.written()["written_for"] == again
    del h.secrets.secrets["ring-key"]  # deleted out of band: a drift check creates it again
    resync = h.once("resync")
    assert reasons(resync) == ["SecretRegenerated", "Created"] and ready_reason(resync) == "Available"
    assert list(h.kind.store) == [h.body["status"]["keyringId"]] != [again]
    assert h.written()["written_for"] == h.body["status"]["keyringId"]
    h.never_shown()


def test_a_crash_after_the_write_adopts_without_creating_again():
    h = Harness()
    h.once(keep=False)  # the status write is lost
    outcome = h.once("resume")
    assert reasons(outcome) == ["Adopted"] and len(h.kind.created) == 1
    assert h.body["status"]["keyringId"] == h.kind.created[0] == h.written()["written_for"]


def test_a_secret_that_is_not_the_objects_is_never_overwritten():
    h = Harness()
    h.secrets.secrets["ring-key"] = {"owners": ["someone-else"], "written_for": None, "data": {"id_rsa": "theirs"}}
    outcome = h.once()
    assert ready_reason(outcome) == "SecretTaken" and outcome.permanent and not h.kind.created
    assert h.written()["data"] == {"id_rsa": "theirs"}


def test_retain_leaves_the_secret_to_outlive_the_object_and_delete_leaves_it_to_the_owner_reference():
    h = Harness({"deletionPolicy": "Retain"})
    h.once()
    outcome = h.engine.finalize(h.kind, h.body, h)
    assert outcome.retry_after is None and h.kind.store and h.written()["owners"] == []
    assert OWNER_UID not in next(iter(h.kind.store.values()))["Tags"]
    h = Harness()
    h.once()
    assert h.engine.finalize(h.kind, h.body, h).retry_after is None and not h.kind.store
    assert h.written()["owners"] == [h.body["metadata"]["uid"]]  # Kubernetes' garbage collector's


def test_without_the_field_nothing_is_generated_or_written():
    h = Harness()
    del h.body["spec"]["privateKeySecretRef"]
    assert ready_reason(h.once()) == "Available" and not h.secrets.secrets
