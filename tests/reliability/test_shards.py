"""Three operators, each serving one label-selector shard (`--label-selector shard=sK`), over
OBJECTS addresses spread by a hash of their names: every address is handled by exactly one operator —
its shard's — and converges; AWS holds one address per object."""

from __future__ import annotations

import collections
import zlib

from e2e.resources import API_VERSION, Cluster
from harness.aws import index_tags

from .elected import Replica
from .support import owned_in_aws

SHARDS = 3
OBJECTS = 60  # 300 in the run docs/scaling.md reports (about 4 min on 2 shared cores)


def shard_of(name: str) -> str:
    return f"s{zlib.crc32(name.encode()) % SHARDS}"


def test_three_shards_split_the_objects_without_overlap(kube, aws, namespace):
    index_tags()  # 300 addresses: moto's own tag scan would make each describe O(n)
    cluster = Cluster(kube, aws, namespace)
    for shard in range(SHARDS):
        # Each shard's objects use a provider of that shard (the selector applies to every kind).
        cluster.create_provider(f"aws-s{shard}")
        kube.patch(API_VERSION, "AWSProvider", namespace, f"aws-s{shard}", {"metadata": {"labels": {"shard": f"s{shard}"}}})
    operators = [Replica(kube, f"shard-s{shard}", namespace, "--label-selector", f"shard=s{shard}", elect=False).start()
                 for shard in range(SHARDS)]
    try:
        names = [f"eip-{index:03d}" for index in range(OBJECTS)]
        for name in names:
            kube.create({"apiVersion": API_VERSION, "kind": "ElasticIP",
                         "metadata": {"name": name, "namespace": namespace, "labels": {"shard": shard_of(name)}},
                         "spec": {"providerRef": {"name": f"aws-{shard_of(name)}"}}})
        for name in names:
            cluster.wait_ready("ElasticIP", name, timeout=180)
        handled_by = collections.defaultdict(set)
        for replica in operators:
            for run in replica.runs():
                handled_by[run.subject].add(replica.name)
        subjects = {f"ElasticIP {namespace}/{name}": name for name in names}
        assert {subject: owners for subject, owners in handled_by.items() if subject in subjects} == {
            subject: {f"shard-{shard_of(name)}"} for subject, name in subjects.items()}
        objects = kube.list(API_VERSION, "ElasticIP", namespace)
        assert owned_in_aws(aws, namespace) == {o["metadata"]["uid"]: [o["status"]["allocationId"]] for o in objects}
        distribution = collections.Counter(shard_of(name) for name in names)
        print(f"\nshards: {OBJECTS} addresses over {SHARDS} label-selector shards "
              f"({', '.join(f'{shard}: {count}' for shard, count in sorted(distribution.items()))}); each handled "
              f"by its own shard only")
        cluster.delete_everything(timeout=180)
    finally:
        for replica in operators:
            replica.kill()
