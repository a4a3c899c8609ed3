"""The Kubernetes API drops every watch stream mid-run, repeatedly, while objects are created,
changed and deleted: the operator reconnects, resumes where it was, and loses nothing; when the
place it would resume from is gone (410), it lists again, and loses nothing either."""

from __future__ import annotations

import pytest

from e2e.resources import API_VERSION, Cluster

from .support import operator_process, owned_in_aws, wait_provider_ready

DROPS = 4


def three_ready_addresses(kube, cluster: Cluster, process) -> None:
    """The provider `aws` and the addresses a0, a1, a2, Ready under the operator `process`."""
    cluster.create_provider("aws")
    wait_provider_ready(kube, process, f"{cluster.namespace}/aws")
    for name in ("a0", "a1", "a2"):
        cluster.create("ElasticIP", name, {"providerRef": {"name": "aws"}})
    for name in ("a0", "a1", "a2"):
        cluster.wait_ready("ElasticIP", name)


def nothing_lost(kube, aws, cluster: Cluster, created: list[str], deleted: list[str]) -> None:
    """Every created address Ready, every deleted one gone, a0's last tag (DROPS - 1) in AWS, and
    AWS holding one address per object."""
    for name in ["a0", *created]:
        cluster.wait_ready("ElasticIP", name)
    for name in deleted:
        cluster.wait_gone("ElasticIP", name)
    kube.wait_for(lambda: cluster.owned_addresses(cluster.get("ElasticIP", "a0")["metadata"]["uid"]),
                  until=lambda found: {"Key": "round", "Value": str(DROPS - 1)} in found[0]["Tags"],
                  what="the last tag change applied in AWS")
    objects = kube.list(API_VERSION, "ElasticIP", cluster.namespace)
    assert sorted(o["metadata"]["name"] for o in objects) == sorted(["a0", *created])
    assert owned_in_aws(aws, cluster.namespace) == {o["metadata"]["uid"]: [o["status"]["allocationId"]]
                                                    for o in objects}


def test_dropped_watch_streams_lose_no_change(kube, aws, namespace):
    if kube.emulator is None:
        pytest.skip("dropping watch streams needs the API emulator")
    cluster = Cluster(kube, aws, namespace)
    before = kube.emulator.watches_opened
    with operator_process(kube, namespace) as process:
        three_ready_addresses(kube, cluster, process)
        streams = kube.emulator.watches_opened - before  # one per kind the operator serves
        created, deleted = [], []
        for drop in range(DROPS):
            kube.emulator.drop_watches()
            # Changes made right away land while the operator's watches are down or reopening.
            created.append(f"b{drop}")
            cluster.create("ElasticIP", created[-1], {"providerRef": {"name": "aws"}})
            cluster.patch("ElasticIP", "a0", {"spec": {"tags": {"round": str(drop)}}})
            if drop < 2:
                deleted.append(f"a{drop + 1}")
                cluster.delete("ElasticIP", deleted[-1])
            # Each time, every watch of the operator is back before the next drop.
            kube.wait_for(lambda: kube.emulator.watches_opened - before,
                          until=lambda n, drop=drop: n >= streams * (drop + 2), what="the operator's watches reopened")
        nothing_lost(kube, aws, cluster, created, deleted)
        print(f"\nwatch drops: {DROPS} drops of {streams} streams, {len(created)} created, {len(deleted)} deleted, "
              f"{DROPS} tag changes across the drops")
        cluster.delete_everything()
        assert owned_in_aws(aws, namespace) == {}


def test_watches_answered_410_gone_are_listed_again(kube, aws, namespace):
    """The API server's event log is compacted under the operator's watches (as etcd's is), with
    changes in it that no watch delivered: resuming, every watch gets 410 Gone; the operator
    lists again and sees those changes."""
    if kube.emulator is None:
        pytest.skip("compacting the event log needs the API emulator")
    cluster = Cluster(kube, aws, namespace)
    elastic_ips = ("aws.infra-operator.dev", "v1alpha1", "elasticips")

    def create(name: str):
        return lambda store: store.create(store.kind(*elastic_ips), elastic_ips[1], namespace, {
            "apiVersion": API_VERSION, "kind": "ElasticIP", "metadata": {"name": name},
            "spec": {"providerRef": {"name": "aws"}}})

    def tag(name: str, value: str):
        return lambda store: store.update(store.kind(*elastic_ips), elastic_ips[1], namespace, name,
                                          lambda obj: obj | {"spec": obj["spec"] | {"tags": {"round": value}}}, None)

    def delete(name: str):
        return lambda store: store.delete(store.kind(*elastic_ips), elastic_ips[1], namespace, name)

    expired_before, opened_before = kube.emulator.watches_expired, kube.emulator.watches_opened
    with operator_process(kube, namespace) as process:
        three_ready_addresses(kube, cluster, process)
        streams = kube.emulator.watches_opened - opened_before  # one per kind the operator serves
        created, deleted = [], []
        for expiry in range(DROPS):
            opened = kube.emulator.watches_opened
            created.append(f"b{expiry}")
            writes = [create(created[-1]), tag("a0", str(expiry))]
            if expiry < 2:
                deleted.append(f"a{expiry + 1}")
                writes.append(delete(deleted[-1]))
            kube.emulator.expire_watches(*writes)
            # Every stream resumes (410), lists and watches again before the next expiry.
            kube.wait_for(lambda: kube.emulator.watches_opened - opened,
                          until=lambda n: n >= 2 * streams, what="the operator's watches listed again")
            # An object that vanishes while the watches are expired is never forgotten: kopf's
            # re-list adds and updates, but drops nothing from its memory and indexes (a stale
            # dependent would then hold its AWSProvider's deletion). The operator's own removal
            # of a deleted object must reach it before the next compaction.
            for name in deleted:
                cluster.wait_gone("ElasticIP", name)
        nothing_lost(kube, aws, cluster, created, deleted)
        expired = kube.emulator.watches_expired - expired_before
        assert expired >= DROPS * streams
        print(f"\nwatch expiry: {DROPS} compactions, {expired} watches answered 410 Gone and listed again; "
              f"{len(created)} created, {len(deleted)} deleted, {DROPS} tag changes that no watch delivered")
        cluster.delete_everything()
        assert owned_in_aws(aws, namespace) == {}
