"""Two operators elect a leader with a Lease: the leader is SIGKILLed again and again while
objects are created, changed and deleted; a leader cut off from the API server stops acting
before its lease can expire. Nothing is done twice, and no object is ever handled by two
operators at once (each handler run's start and end come from the operators' DEBUG logs)."""

from __future__ import annotations

import itertools
import random
import statistics
import time

from e2e.resources import API_VERSION, Cluster

from .elected import Replica, holder, overlaps
from .partition import PartitionProxy
from .support import owned_in_aws

ROUNDS = 20
SEED = 20261203


def first_run_after(replica: Replica, moment: float) -> float | None:
    starts = [run.start for run in replica.runs() if run.start >= moment]
    return min(starts) if starts else None


def test_sigkilled_leaders_fail_over_without_overlap_or_duplicates(kube, aws, namespace):
    rng = random.Random(SEED)
    cluster = Cluster(kube, aws, namespace)
    cluster.create_provider("aws")
    names = (f"op-{n}" for n in itertools.count())
    replicas = {name: Replica(kube, name, namespace).start() for name in itertools.islice(names, 2)}
    everyone = list(replicas.values())
    serial = itertools.count()
    kept: list[str] = []
    failovers: list[float] = []
    made = deleted = changed = 0

    def churn() -> None:
        nonlocal made, deleted, changed
        for _ in range(rng.randint(1, 2)):
            name = f"eip-{next(serial)}"
            cluster.create("ElasticIP", name, {"providerRef": {"name": "aws"}})
            kept.append(name)
            made += 1
        if kept and rng.random() < 0.5:
            cluster.patch("ElasticIP", rng.choice(kept), {"spec": {"tags": {"round": str(rng.randint(0, 99))}}})
            changed += 1
        if len(kept) > 3 and rng.random() < 0.4:
            doomed = kept.pop(rng.randrange(len(kept)))
            cluster.delete("ElasticIP", doomed)
            deleted += 1

    try:
        leader = kube.wait_for(lambda: holder(kube, namespace), timeout=30, what="a leader")
        for _ in range(ROUNDS):
            churn()
            # The leader is busy with this round's objects (or idle, in a quiet round) when killed.
            kube.wait_for(lambda: first_run_after(replicas[leader], 0), timeout=30,
                          what=f"{leader} acting")
            time.sleep(rng.uniform(0, 0.5))
            killed_at = replicas[leader].kill()
            churn()  # while nobody leads
            newcomer = next(names)
            replicas[newcomer] = Replica(kube, newcomer, namespace).start()
            everyone.append(replicas[newcomer])
            successor = kube.wait_for(lambda: holder(kube, namespace), until=lambda h: h and h != leader,
                                      timeout=30, what="a new leader")
            acted = kube.wait_for(lambda: first_run_after(replicas[successor], killed_at), timeout=30,
                                  what=f"{successor} acting")
            failovers.append(acted - killed_at)
            # The gauge says who leads: the successor 1, the fresh standby 0.
            kube.wait_for(replicas[successor].leader_status, until=lambda status: status == 1.0, timeout=30,
                          what=f"{successor} reporting that it leads")
            if successor != newcomer:
                kube.wait_for(replicas[newcomer].leader_status, until=lambda status: status == 0.0, timeout=30,
                              what=f"{newcomer} reporting that it stands by")
            del replicas[leader]
            leader = successor
        for name in kept:
            cluster.wait_ready("ElasticIP", name, timeout=60)
        kube.wait_for(lambda: sorted(o["metadata"]["name"] for o in kube.list(API_VERSION, "ElasticIP", namespace)),
                      until=lambda listed: listed == sorted(kept), timeout=60, what="only the kept objects left")
        objects = kube.list(API_VERSION, "ElasticIP", namespace)
        assert owned_in_aws(aws, namespace) == {o["metadata"]["uid"]: [o["status"]["allocationId"]] for o in objects}
        assert not [e for e in kube.events(namespace) if e.get("reason") == "DuplicateDeleted"]
        runs = [run for replica in everyone for run in replica.runs()]
        assert overlaps(runs) == []
        allocations = aws.calls.count(operation="AllocateAddress")
        assert allocations <= made
        print(f"\nfailover: {ROUNDS} SIGKILLs of the leader, {made} addresses made, {changed} changed, {deleted} "
              f"deleted, {allocations} AllocateAddress calls, {len(runs)} handler runs by {len(everyone)} "
              f"operators, 0 overlapping; failover (kill to the successor's first handler run) median "
              f"{statistics.median(failovers):.1f}s, max {max(failovers):.1f}s")
        cluster.delete_everything()
    finally:
        for replica in replicas.values():
            replica.kill()


def test_a_leader_cut_off_from_the_api_server_stops_before_its_lease_expires(kube, aws, namespace):
    cluster = Cluster(kube, aws, namespace)
    cluster.create_provider("aws")
    proxy = PartitionProxy(kube.access.server)
    # The cut-off one starts first and leads; the other stands by.
    cut_off = Replica(kube, "op-cut", namespace, server=proxy.url).start()
    kube.wait_for(lambda: holder(kube, namespace), until=lambda h: h == "op-cut", timeout=30, what="op-cut leads")
    other = Replica(kube, "op-other", namespace).start()
    try:
        for index in range(5):
            cluster.create("ElasticIP", f"before-{index}", {"providerRef": {"name": "aws"}})
        for index in range(5):
            cluster.wait_ready("ElasticIP", f"before-{index}")
        proxy.cut.set()
        cut_at = time.time()
        for index in range(5):  # arriving while the leader is cut off
            cluster.create("ElasticIP", f"during-{index}", {"providerRef": {"name": "aws"}})
        cluster.patch("ElasticIP", "before-0", {"spec": {"tags": {"after": "cut"}}})
        cluster.delete("ElasticIP", "before-1")
        kube.wait_for(lambda: holder(kube, namespace), until=lambda h: h == "op-other", timeout=30,
                      what="op-other takes over")
        for index in range(5):
            cluster.wait_ready("ElasticIP", f"during-{index}")
        cluster.wait_gone("ElasticIP", "before-1")
        # The cut-off leader said it stopped, and when, relative to its lease's expiry.
        stopped = kube.wait_for(lambda: [m for m in cut_off.messages() if m.startswith(("stopped acting",
                                                                                          "still acting"))],
                                timeout=30, what="op-cut stopping")
        proxy.cut.clear()  # healed: it must stand by now, not act
        cluster.create("ElasticIP", "after", {"providerRef": {"name": "aws"}})
        cluster.wait_ready("ElasticIP", "after")
        runs = cut_off.runs() + other.runs()
        assert overlaps(runs) == []
        last_of_cut_off = max(run.end for run in cut_off.runs())
        first_of_other = min(run.start for run in other.runs())
        assert last_of_cut_off < first_of_other
        objects = kube.list(API_VERSION, "ElasticIP", namespace)
        assert owned_in_aws(aws, namespace) == {o["metadata"]["uid"]: [o["status"]["allocationId"]] for o in objects}
        print(f"\npartition: the leader cut off at +0s stopped acting at {last_of_cut_off - cut_at:+.1f}s "
              f"({stopped[0]!r}); the standby acted from {first_of_other - cut_at:+.1f}s; 0 overlapping runs")
        cluster.delete_everything()
    finally:
        for replica in (cut_off, other):
            replica.kill()
        proxy.close()
