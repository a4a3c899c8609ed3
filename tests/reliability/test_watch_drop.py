"""The Kubernetes API drops every watch stream mid-run, repeatedly, while objects are created,
changed and deleted: the operator reconnects, resumes where it was, and loses nothing."""

from __future__ import annotations

import pytest

from e2e.resources import API_VERSION, Cluster

from .support import operator_process, owned_in_aws, wait_provider_ready

DROPS = 4


def test_dropped_watch_streams_lose_no_change(kube, aws, namespace):
    if kube.emulator is None:
        pytest.skip("dropping watch streams needs the API emulator")
    cluster = Cluster(kube, aws, namespace)
    before = kube.emulator.watches_opened
    with operator_process(kube, namespace) as process:
        cluster.create_provider("aws")
        wait_provider_ready(kube, process, f"{namespace}/aws")
        for name in ("a0", "a1", "a2"):
            cluster.create("ElasticIP", name, {"providerRef": {"name": "aws"}})
        for name in ("a0", "a1", "a2"):
            cluster.wait_ready("ElasticIP", name)
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
        for name in ["a0", *created]:
            cluster.wait_ready("ElasticIP", name)
        for name in deleted:
            cluster.wait_gone("ElasticIP", name)
        kube.wait_for(lambda: cluster.owned_addresses(cluster.get("ElasticIP", "a0")["metadata"]["uid"]),
                      until=lambda found: {"Key": "round", "Value": str(DROPS - 1)} in found[0]["Tags"],
                      what="the last tag change applied in AWS")
        objects = kube.list(API_VERSION, "ElasticIP", namespace)
        assert sorted(o["metadata"]["name"] for o in objects) == sorted(["a0", *created])
        assert owned_in_aws(aws, namespace) == {o["metadata"]["uid"]: [o["status"]["allocationId"]] for o in objects}
        print(f"\nwatch drops: {DROPS} drops of {streams} streams, {len(created)} created, {len(deleted)} deleted, "
              f"{DROPS} tag changes across the drops")
        cluster.delete_everything()
        assert owned_in_aws(aws, namespace) == {}
