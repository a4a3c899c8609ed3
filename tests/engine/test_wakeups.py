"""The dependency waker: an object waiting for others is woken (an annotation patch) once they
are Ready, at once when they turned Ready meanwhile, never for a deleted one."""

from __future__ import annotations

import threading

from infra_operator.operator.wakeups import WAKE_ANNOTATION, DependencyWaker

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
    assert woken(api, 2) == ["routetables/rt", "subnets/a"]
    path, patch = api.patches[0]
    assert path.startswith("/apis/aws.infra-operator.dev/v1alpha1/namespaces/ns/")
    assert list(patch["metadata"]["annotations"]) == [WAKE_ANNOTATION]
    wakes.observed("VPC", "ns", "main", True)  # seen Ready again: nobody waits any more
    wakes.observed("Subnet", "ns", "a", True)  # the route table still waited for the subnet
    assert woken(api, 1) == ["routetables/rt", "routetables/rt", "subnets/a"]


def test_an_object_whose_dependencies_turned_ready_meanwhile_wakes_at_once():
    wakes, api = waker()
    wakes.observed("VPC", "ns", "main", True)  # after the engine looked, before the wait
    wakes.wait("Subnet", "ns", "a", [("VPC", "main")], always)
    assert woken(api, 1) == ["subnets/a"]


def test_a_deleted_dependency_is_waited_for_not_taken_as_ready():
    wakes, api = waker()
    wakes.observed("VPC", "ns", "main", True)
    wakes.wait("Subnet", "ns", "a", [("VPC", "main")], lambda kind, name: False)  # gone from the index
    wakes.forget("VPC", "ns", "main")
    assert not api.patches
    wakes.observed("VPC", "ns", "main", True)  # re-created and Ready
    assert woken(api, 1) == ["subnets/a"]
