"""The dependency waker: an object waiting for others is woken (an annotation patch) once they
are Ready, at once when they turned Ready meanwhile, never for a deleted one."""

from __future__ import annotations

import threading

from infra_operator.operator.engine.objects import ObjectSummary
from infra_operator.operator.wakeups import WAKE_ANNOTATION, DependencyWaker, merged_status

PLURALS = {"VPC": "vpcs", "Subnet": "subnets", "RouteTable": "routetables"}


class RecordingApi:
    def __init__(self):
        self.patches: list[tuple[str, dict]] = []
        self.done = threading.Semaphore(0)

    def connect(self, info):
        pass

    def merge_patch(self, path, patch):
        self.patches.append((path, patch))
        self.done.release()


def woken(api: RecordingApi, count: int) -> list[str]:
    for _ in range(count):
        assert api.done.acquire(timeout=10)
    return sorted(path.rsplit("/", 2)[-2] + "/" + path.rsplit("/", 1)[-1] for path, _ in api.patches)


def waker() -> tuple[DependencyWaker, RecordingApi]:
    api = RecordingApi()
    return DependencyWaker(PLURALS, api, clock=iter(range(1, 100)).__next__), api


def always(kind, name):
    return True


def test_waiting_objects_wake_when_what_they_wait_for_becomes_ready():
    wakes, api = waker()
    wakes.observed("VPC", "ns", "main", False)
    wakes.wait("Subnet", "ns", "a", [("VPC", "main")], always)
    wakes.wait("RouteTable", "ns", "rt", [("VPC", "main"), ("Subnet", "a")], always)
    assert not api.patches
    wakes.observed("VPC", "ns", "main", True)
    assert woken(api, 1) == ["subnets/a"]  # the route table still waits for the subnet
    path, patch = api.patches[0]
    assert path.startswith("/apis/aws.infra-operator.dev/v1alpha1/namespaces/ns/")
    assert list(patch["metadata"]["annotations"]) == [WAKE_ANNOTATION]
    wakes.observed("VPC", "ns", "main", True)  # seen Ready again: nobody waits any more
    wakes.observed("Subnet", "ns", "a", True)  # the last thing the route table waited for
    assert woken(api, 1) == ["routetables/rt", "subnets/a"]


def test_a_new_wait_replaces_what_the_object_waited_for():
    wakes, api = waker()
    wakes.wait("RouteTable", "ns", "rt", [("VPC", "main"), ("Subnet", "a")], always)
    wakes.wait("RouteTable", "ns", "rt", [("Subnet", "a")], always)  # ran again: the VPC is not awaited
    wakes.observed("Subnet", "ns", "a", True)
    assert woken(api, 1) == ["routetables/rt"]
    wakes.observed("VPC", "ns", "main", True)  # an old wait: wakes nobody
    assert not api.done.acquire(timeout=0.2)


def test_an_object_whose_dependencies_turned_ready_meanwhile_wakes_at_once():
    wakes, api = waker()
    wakes.observed("VPC", "ns", "main", True)  # after the engine looked, before the wait
    wakes.wait("Subnet", "ns", "a", [("VPC", "main")], always)
    assert woken(api, 1) == ["subnets/a"]


def test_a_wait_may_look_at_the_cluster_view_that_asks_the_waker():
    wakes, api = waker()
    wakes.written("VPC", "ns", "main", summary(None, False), summary("vpc-1", True))
    wakes.wait("Subnet", "ns", "a", [("VPC", "main")],
               lambda kind, name: wakes.latest(kind, "ns", name) is not None)  # as IndexedCluster.find does
    assert woken(api, 1) == ["subnets/a"]


def test_a_deleted_dependency_is_waited_for_not_taken_as_ready():
    wakes, api = waker()
    wakes.observed("VPC", "ns", "main", True)
    wakes.wait("Subnet", "ns", "a", [("VPC", "main")], lambda kind, name: False)  # gone from the index
    wakes.forget("VPC", "ns", "main")
    assert not api.patches
    wakes.observed("VPC", "ns", "main", True)  # re-created and Ready
    assert woken(api, 1) == ["subnets/a"]


def summary(ident: str | None, ready: bool, **fields) -> ObjectSummary:
    status = {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}], **fields}
    if ident:
        status["vpcId"] = ident
    return ObjectSummary.of(status, "vpcId")


def test_a_status_a_handler_writes_wakes_dependents_and_stands_until_the_index_shows_it():
    wakes, api = waker()
    wakes.wait("Subnet", "ns", "a", [("VPC", "main")], always)
    before, after = summary(None, False), summary("vpc-1", True, cidrBlock="10.0.0.0/16")
    wakes.written("VPC", "ns", "main", before, after)
    assert woken(api, 1) == ["subnets/a"]  # before the status patch comes back through the index
    assert wakes.latest("VPC", "ns", "main") == after
    wakes.indexed("VPC", "ns", "main", before)  # an event from before the write
    assert wakes.latest("VPC", "ns", "main") == after
    shown = ObjectSummary.of({**after.status, "kopf": {"progress": {}},
                              "conditions": [{"type": "Ready", "status": "True"}]}, "vpcId")
    wakes.indexed("VPC", "ns", "main", shown)  # kopf's own progress is not the object's state
    assert wakes.latest("VPC", "ns", "main") is None


def test_a_status_a_handler_writes_unchanged_leaves_the_index_in_charge():
    wakes, api = waker()
    wakes.written("VPC", "ns", "main", summary(None, False), summary("vpc-1", True))
    wakes.written("VPC", "ns", "main", summary("vpc-1", True), summary("vpc-1", True))  # a resync
    assert wakes.latest("VPC", "ns", "main") is None
    wakes.written("VPC", "ns", "main", summary("vpc-1", True), summary("vpc-1", False))
    wakes.forget("VPC", "ns", "main")  # deleted
    assert wakes.latest("VPC", "ns", "main") is None


def test_merged_status_is_the_status_after_kopf_writes_the_handlers_merge_patch():
    status = {"vpcId": "vpc-1", "lateInitialized": {"tenancy": "default", "gone": 1}, "conditions": [{"a": 1}]}
    patch = {"lateInitialized": {"gone": None, "new": (1, 2)}, "conditions": [{"b": 2}], "fresh": {"x": None, "y": 1}}
    assert merged_status(status, patch) == {"vpcId": "vpc-1", "lateInitialized": {"tenancy": "default", "new": [1, 2]},
                                            "conditions": [{"b": 2}], "fresh": {"y": 1}}
    assert status["lateInitialized"]["gone"] == 1  # not changed in place
