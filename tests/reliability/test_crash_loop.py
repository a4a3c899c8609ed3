"""Crash loop: the operator process is SIGKILLed at random points (seeded) while objects are
created and deleted, 20 times, and restarted each time; in the end AWS holds exactly one
resource per custom object — no duplicate, no orphan, no leak."""

from __future__ import annotations

import collections
import itertools
import random
import time

from e2e.resources import API_VERSION, Cluster, condition

from .support import operator_process, owned_in_aws, wait_provider_ready

ROUNDS = 20
SEED = 20261127
# The AWS call a kill can land inside of (its answer held back after it took effect).
CREATE_CALL = {"ElasticIP": "AllocateAddress", "VPC": "CreateVpc"}
DELETE_CALL = {"ElasticIP": "ReleaseAddress", "VPC": "DeleteVpc"}
IDENTIFIER = {"ElasticIP": "allocationId", "VPC": "vpcId"}


def new_object(rng: random.Random, serial: int) -> tuple[str, str, dict]:
    """Mostly addresses, sometimes a VPC (each with a CIDR block of its own)."""
    kind = rng.choice(("ElasticIP", "ElasticIP", "VPC"))
    spec = {"providerRef": {"name": "aws"}, **({"cidrBlock": f"10.{serial % 250}.0.0/16"} if kind == "VPC" else {})}
    return kind, f"obj-{serial}", spec


def test_sigkill_at_random_points_leaves_aws_matching_the_objects(kube, aws, namespace):
    rng = random.Random(SEED)
    cluster = Cluster(kube, aws, namespace)
    cluster.create_provider("aws")
    kept: list[tuple[str, str]] = []  # created by the test and not deleted
    serial = itertools.count()
    kills = collections.Counter()
    started = time.monotonic()
    for _ in range(ROUNDS):
        with operator_process(kube, namespace) as process:
            wait_provider_ready(kube, process, f"{namespace}/aws")
            created = [new_object(rng, next(serial)) for _ in range(rng.randint(1, 3))]
            doomed = rng.sample(kept, k=min(len(kept), rng.randint(0, 2)))
            # Only a resource that exists in AWS gets a delete call.
            in_aws = [kind for kind, name in doomed
                      if (cluster.get(kind, name).get("status") or {}).get(IDENTIFIER[kind])]
            mode = rng.choice(("timer", "inside-create", "inside-delete") if in_aws else ("timer", "inside-create"))
            call = DELETE_CALL[in_aws[0]] if mode == "inside-delete" else CREATE_CALL[created[0][0]]
            if mode != "timer":
                aws.faults.delay(10, "ec2", call, times=1, after=True)
            calls_before = aws.calls.count(operation=call)
            for kind, name, spec in created:
                cluster.create(kind, name, spec)
            for kind, name in doomed:
                cluster.delete(kind, name)
            kept = [obj for obj in kept if obj not in doomed] + [(kind, name) for kind, name, _ in created]
            if mode == "timer":
                time.sleep(rng.uniform(0, 0.8))
            else:
                # Kill once the call reached AWS and took effect, while its answer is held back.
                kube.wait_for(lambda: aws.calls.count(operation=call) > calls_before, timeout=10,
                              interval=0.02, what=f"{call} reached AWS")
            kills[mode] += 1
        aws.faults.clear()
    rounds_took = time.monotonic() - started

    with operator_process(kube, namespace):
        for kind, name in kept:
            cluster.wait_ready(kind, name, timeout=60)
        # Objects deleted during the rounds have been finalized and left.
        kube.wait_for(lambda: sorted((o["kind"], o["metadata"]["name"]) for kind in CREATE_CALL
                                     for o in kube.list(API_VERSION, kind, namespace)),
                      until=lambda listed: listed == sorted(kept), timeout=60, what="only the kept objects left")
        retired = rng.sample(kept, k=len(kept) // 2)
        for kind, name in retired:
            cluster.delete(kind, name)
        for kind, name in retired:
            cluster.wait_gone(kind, name, timeout=60)
        survivors = [cluster.get(kind, name) for kind, name in kept if (kind, name) not in retired]
        expected = {o["metadata"]["uid"]: [o["status"][IDENTIFIER[o["kind"]]]] for o in survivors}
        assert all(condition(o)["status"] == "True" for o in survivors)
        assert owned_in_aws(aws, namespace) == expected
        adopted = sum(e.get("reason") == "Adopted" for e in kube.events(namespace))
        cluster.delete_everything()
        assert owned_in_aws(aws, namespace) == {}
    print(f"\ncrash loop: {ROUNDS} rounds in {rounds_took:.1f}s, kills {dict(kills)}, {next(serial)} objects made, "
          f"{len(kept)} left after the rounds, {len(survivors)} kept at the end, {adopted} adoptions")
