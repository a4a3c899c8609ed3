"""The describe cache (docs/engine.md, "The describe cache"): one describe per provider and kind
answers a resync round however long the round takes, counted as cache hits and misses; the
engine's writes invalidate it; a drift made just after a snapshot is found by the resource's
next check; two providers never answer for each other. Against moto over HTTP; the snapshot
rules themselves are unit tests with an in-process kind."""

from __future__ import annotations

import time

from conftest import KINDS, NAMESPACE, CallLog, Cluster, converge, make_engine, reasons, value
from infra_operator.operator.cli import config_from_args, parser
from infra_operator.operator.engine.describe_cache import DescribeCache
from infra_operator.operator.engine.kind import Kind


ANY_OWNER = "nobody"  # an owner uid no resource carries


def lookups(telemetry, kind: str) -> tuple[float, float]:
    samples = telemetry.sample_values()
    return (value(samples, "infra_operator_cache_hits_total", resource_type=kind),
            value(samples, "infra_operator_cache_misses_total", resource_type=kind))


def converged_addresses(aws, telemetry, names, spec=lambda name: {}, **providers
                        ) -> tuple[Cluster, CallLog, list[tuple[str, str]]]:
    """An engine with ElasticIPs `names` (spec(name) each) created and Ready."""
    calls = CallLog()
    cluster = Cluster(make_engine(aws, telemetry, calls, **providers))
    keys = [("ElasticIP", name) for name in names]
    for _, name in keys:
        cluster.apply("ElasticIP", name, spec(name))
    converge(cluster, keys)
    return cluster, calls, keys


def resync_round(cluster: Cluster, keys) -> list[list[str]]:
    return [reasons(cluster.reconcile(*key, trigger="resync")) for key in keys]


def test_one_describe_per_kind_answers_a_resync_round(aws, telemetry):
    cluster, calls, addresses = converged_addresses(aws, telemetry, [f"eip-{i}" for i in range(3)])
    vpcs = [("VPC", f"vpc-{i}") for i in range(2)]
    for index, (_, name) in enumerate(vpcs):
        cluster.apply("VPC", name, {"cidrBlock": f"10.{index}.0.0/16"})
    converge(cluster, vpcs)
    calls.calls.clear()

    assert resync_round(cluster, addresses + vpcs) == [[]] * 5
    # DescribeVpcs pages (botocore paginator); VPC attributes are still read per VPC.
    assert calls.calls == {"DescribeAddresses": 1, "DescribeVpcs": 1, "DescribeVpcAttribute": 4}
    assert lookups(telemetry, "ElasticIP") == (2, 1)
    assert lookups(telemetry, "VPC") == (1, 1)

    # The next round: eip-0 asks a second time, so a new snapshot answers it.
    calls.calls.clear()
    assert resync_round(cluster, addresses) == [[]] * 3
    assert calls.calls == {"DescribeAddresses": 1}
    assert lookups(telemetry, "ElasticIP") == (4, 2)


def test_a_write_by_the_engine_invalidates_the_kinds_snapshot(aws, telemetry):
    cluster, calls, keys = converged_addresses(aws, telemetry, ["first", "second"],
                                               lambda name: {"tags": {"team": "net"}})
    assert resync_round(cluster, keys) == [[], []]  # a snapshot with team=net

    cluster.apply("ElasticIP", "first", {"tags": {"team": "edge"}})
    assert reasons(cluster.reconcile("ElasticIP", "first", trigger="update")) == ["Updated"]
    calls.calls.clear()
    # Still within the interval: an old snapshot would show team=net and report drift.
    assert reasons(cluster.engine.reconcile(KINDS["ElasticIP"], cluster.bodies[keys[0]],
                                            "resync", cluster)) == []
    assert calls.calls["DescribeAddresses"] == 1
    assert lookups(telemetry, "ElasticIP") == (1, 2)


def test_a_drift_one_check_missed_is_found_by_the_next(aws, telemetry):
    """A drift made just after a snapshot was taken is missed by the check that snapshot
    answers; the resource's next check gets a newer snapshot (a snapshot answers each resource
    once), so it finds it."""
    cluster, _, keys = converged_addresses(aws, telemetry, ["watched", "filler"], lambda name: {"tags": {"team": "net"}})
    assert reasons(cluster.reconcile("ElasticIP", "filler", trigger="resync")) == []  # the snapshot is taken

    allocation = cluster.status("ElasticIP", "watched")["allocationId"]
    aws.client("ec2").create_tags(Resources=[allocation], Tags=[{"Key": "team", "Value": "intruder"}])
    engine, kind, body = cluster.engine, KINDS["ElasticIP"], cluster.bodies[keys[0]]
    assert reasons(engine.reconcile(kind, body, "resync", cluster)) == []  # from the snapshot: missed
    assert reasons(engine.reconcile(kind, body, "resync", cluster)) == ["DriftHealed"]
    tags = aws.client("ec2").describe_addresses(AllocationIds=[allocation])["Addresses"][0]["Tags"]
    assert {t["Key"]: t["Value"] for t in tags}["team"] == "net"
    samples = telemetry.sample_values()
    assert value(samples, "infra_operator_drift_detected_total", resource_type="ElasticIP", severity="info") == 1
    assert lookups(telemetry, "ElasticIP") == (1, 2)


def test_a_resource_missing_from_the_snapshot_is_read_by_id(aws, telemetry):
    """Losing the managed-by tag out of band hides a resource from the snapshot; the engine reads
    it by id and heals the tag instead of taking it for deleted."""
    cluster, calls, keys = converged_addresses(aws, telemetry, ["tagged", "untagged"])
    allocation = cluster.status("ElasticIP", "untagged")["allocationId"]
    aws.client("ec2").delete_tags(Resources=[allocation], Tags=[{"Key": "infra-operator.dev/managed-by"}])
    calls.calls.clear()
    assert resync_round(cluster, keys) == [[], ["DriftHealed"]]
    assert cluster.status("ElasticIP", "untagged")["allocationId"] == allocation
    # the snapshot, the read by id, the owner-tag describe (duplicates), the re-read after healing
    assert calls.calls["DescribeAddresses"] == 4
    assert lookups(telemetry, "ElasticIP") == (0, 2)


def test_two_providers_keep_separate_snapshots(aws, telemetry):
    cluster, calls, keys = converged_addresses(
        aws, telemetry, [f"{provider}-{i}" for provider in ("east", "west") for i in range(2)],
        lambda name: {"providerRef": {"name": name.split("-")[0]}}, providers=(("east", "us-east-1"), ("west", "eu-west-1")))
    west = cluster.status("ElasticIP", "west-1")["allocationId"]
    aws.client("ec2", region="eu-west-1").create_tags(Resources=[west], Tags=[{"Key": "stray", "Value": "yes"}])
    calls.calls.clear()

    east_0, east_1, west_0, west_1 = keys
    assert resync_round(cluster, [east_0, west_0, west_1]) == [[], [], ["DriftHealed"]]
    assert calls.calls["DescribeAddresses"] == 3  # a snapshot per provider, the re-read after healing
    assert lookups(telemetry, "ElasticIP") == (1, 2)
    # The heal invalidated west's snapshot only: east still answers from its own.
    calls.calls.clear()
    assert resync_round(cluster, [east_1]) == [[]]
    assert calls.calls["DescribeAddresses"] == 0
    assert lookups(telemetry, "ElasticIP") == (2, 2)


class ListedKind(Kind):
    """An in-process kind whose listing runs `during_listing` (a concurrent write)."""

    kind = "Listed"

    def __init__(self, during_listing=lambda: None):
        self.during_listing = during_listing
        self.listings = 0

    def identify(self, raw):
        return raw["id"]

    def observe(self, raw):
        return {"tags": {}}

    def list_managed(self, aws, managed_tag):
        self.listings += 1
        self.during_listing()
        return [{"id": "a"}, {"id": "b"}, {"id": "c"}]


class Session:
    """Stands for a provider session (the cache keeps a weak reference to it)."""


def test_a_snapshot_taken_across_a_write_is_not_kept():
    cache = DescribeCache()
    kind = ListedKind(during_listing=lambda: cache.invalidate(f"{NAMESPACE}/aws", "Listed"))
    session = Session()
    assert cache.lookup(kind, session, f"{NAMESPACE}/aws", "a", ANY_OWNER).hit is False
    assert cache.lookup(kind, session, f"{NAMESPACE}/aws", "b", ANY_OWNER).hit is False
    assert kind.listings == 2


def hits(cache: DescribeCache, kind: Kind, session: Session, *idents: str) -> list[bool]:
    return [cache.lookup(kind, session, "ns/p", ident, ANY_OWNER).hit for ident in idents]


def test_a_snapshot_answers_each_resource_once():
    cache, kind, session = DescribeCache(), ListedKind(), Session()
    assert hits(cache, kind, session, "a", "b", "a") == [False, True, False]  # "a" again: a new snapshot
    assert hits(cache, kind, session, "b", "c", "c") == [True, True, False]
    assert kind.listings == 3
    assert DescribeCache(enabled=False).lookup(kind, session, "ns/p", "a", ANY_OWNER) is None  # off


def test_a_round_slower_than_the_resync_interval_costs_one_describe(monkeypatch):
    """On a busy operator a round of drift checks can take longer than the resync interval:
    it still costs one describe, whatever the clocks say between its checks."""
    now = [0.0]
    for clock in ("monotonic", "time", "perf_counter"):
        monkeypatch.setattr(time, clock, lambda: now[0])
    cache, kind, session = DescribeCache(), ListedKind(), Session()
    for ident in ("a", "b", "c"):
        assert hits(cache, kind, session, ident) == [ident != "a"]
        now[0] += 3600.0  # an hour between checks, a resync interval of 300 s
    assert kind.listings == 1
    assert hits(cache, kind, session, "b") == [False]  # b's next round: a new snapshot
    assert kind.listings == 2


def test_a_rebuilt_provider_session_takes_a_new_snapshot():
    cache = DescribeCache()
    kind, old, rebuilt = ListedKind(), Session(), Session()
    assert hits(cache, kind, old, "a", "b") == [False, True]
    assert hits(cache, kind, rebuilt, "c") == [False]
    assert kind.listings == 2


def test_the_cache_is_on_unless_turned_off():
    def enabled(*argv: str, environ=None) -> bool:
        return config_from_args(parser(environ or {}).parse_args(["run", *argv])).engine.describe_cache

    assert enabled() is True
    assert enabled("--describe-cache", "off") is False
    assert enabled(environ={"INFRA_OPERATOR_DESCRIBE_CACHE": "off"}) is False
    assert enabled("--describe-cache", "on", environ={"INFRA_OPERATOR_DESCRIBE_CACHE": "off"}) is True
