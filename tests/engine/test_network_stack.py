"""The sample network stack (samples/20-network.yaml) through the engine against moto over HTTP:
applied at once in random order it converges; out-of-band drift on every resource is healed on
resync; deleted at once in random order it leaves nothing tagged as ours; and the metrics of the
run are exactly what happened."""

from __future__ import annotations

import collections
import pathlib
import random

import pytest
import yaml

from conftest import (KINDS, RESOURCE_STATUSES, Cluster, CallLog, check_converged_metrics, converge, delete_all,
                      make_engine, reasons, value)
from infra_operator.operator.services.ec2 import EC2Kind

SAMPLE = pathlib.Path(__file__).parents[2] / "samples" / "20-network.yaml"
OWNER_UID = "infra-operator.dev/owner-uid"
# The networking kinds (the EC2 compute kinds, EC2KeyPair and EC2Instance, have their own sample).
EC2_KINDS = {name: kind for name, kind in KINDS.items()
             if isinstance(kind, EC2Kind) and name not in ("EC2KeyPair", "EC2Instance")}


def owned_leftovers(ec2, uids: set[str]) -> list[str]:
    """Every resource of ours in AWS tagged as owned by one of `uids` (deleted NAT gateways
    stay visible for a while in AWS, as in moto, and do not count)."""
    found = []
    for kind in EC2_KINDS.values():
        listed = getattr(ec2, kind.resource.describe)(
            Filters=[{"Name": f"tag:{OWNER_UID}", "Values": sorted(uids)}])[kind.resource.list_key]
        found += [raw[kind.resource.id_key] for raw in listed if raw.get("State") != "deleted"
                  and {t["Key"]: t["Value"] for t in raw.get("Tags") or ()}.get(OWNER_UID) in uids]
    return found


@pytest.mark.parametrize("seed", [7, 2026])
def test_whole_stack_converges_heals_and_leaves_nothing(aws, telemetry, seed):
    shuffle = random.Random(seed).shuffle
    cluster = Cluster(make_engine(aws, telemetry, CallLog()))
    documents = [doc for doc in yaml.safe_load_all(SAMPLE.read_text()) if doc]
    shuffle(documents)
    for doc in documents:
        cluster.apply(doc["kind"], doc["metadata"]["name"], doc["spec"])
    keys = list(cluster.bodies)
    per_kind = collections.Counter(kind for kind, _ in keys)
    assert set(per_kind) == set(EC2_KINDS) - {"ElasticIP"}, "the sample covers every networking kind"
    uids = {body["metadata"]["uid"] for body in cluster.bodies.values()}

    runs = converge(cluster, keys, shuffle=shuffle)
    requeues = collections.Counter(key[0] for key, outcome in runs if outcome.retry_after is not None)
    assert requeues, f"seed {seed}: random order should have made something wait"
    assert all(reasons(o) == ["DependencyNotReady"] for _, o in runs if o.retry_after)
    check_converged_metrics(telemetry.sample_values(), per_kind, requeues)

    # Out-of-band: every resource gets a stray tag; one resync heals all of them.
    ec2 = aws.client("ec2")
    idents = [cluster.status(*key)[KINDS[key[0]].identifier] for key in keys]
    ec2.create_tags(Resources=idents, Tags=[{"Key": "intruder", "Value": "yes"}])
    for key in keys:
        assert reasons(cluster.reconcile(*key, trigger="resync")) == ["DriftHealed"]
    assert not any(tag["Key"] == "intruder" for tag in ec2.describe_tags(
        Filters=[{"Name": "resource-id", "Values": idents}])["Tags"])
    samples = telemetry.sample_values()
    for kind, count in per_kind.items():
        assert value(samples, "infra_operator_drift_detected_total", resource_type=kind, severity="info") == count
        assert value(samples, "infra_operator_drift_healed_total", resource_type=kind) == count
        assert value(samples, "infra_operator_reconcile_total", resource_type=kind, result="success") == 2 * count

    waits = delete_all(cluster, keys, shuffle=shuffle)
    assert owned_leftovers(ec2, uids) == []
    blocked = collections.Counter(key[0] for key, outcome in waits if outcome.retry_after is not None)
    samples = telemetry.sample_values()
    for kind, count in per_kind.items():
        assert all(value(samples, "infra_operator_resources_total", resource_type=kind, status=s) == 0
                   for s in RESOURCE_STATUSES)
        assert value(samples, "infra_operator_finalizer_duration_seconds_count", resource_type=kind) == count + blocked[kind]
