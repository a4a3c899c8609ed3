"""The describe cache (docs/engine.md, "The describe cache"): one describe per provider and kind
answers a resync round, counted as cache hits and misses; the engine's writes invalidate it; a
drift made just after a snapshot is found by the first resync after the snapshot expires; two
providers never answer for each other. Against moto over HTTP; the snapshot race with a
concurrent write is a unit test with an in-process kind."""

from __future__ import annotations

from conftest import KINDS, NAMESPACE, RESYNC_INTERVAL, CallLog, Cluster, converge, make_engine, reasons, value
from infra_operator.operator.cli import config_from_args, parser
from infra_operator.operator.engine.describe_cache import DescribeCache
from infra_operator.operator.engine.kind import Kind


ANY_OWNER = ("infra-operator.dev/owner-uid", "nobody")


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

    # The next round is one interval later: the snapshots have expired, one describe each again.
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
    once), so it finds it, even within the TTL."""
    cluster, _, keys = converged_addresses(aws, telemetry, ["watched", "filler"], lambda name: {"tags": {"team": "net"}})
    assert reasons(cluster.reconcile("ElasticIP", "filler", trigger="resync")) == []  # the snapshot is taken

    allocation = cluster.status("ElasticIP", "watched")["allocationId"]
    aws.client("ec2").create_tags(Resources=[allocation], Tags=[{"Key": "team", "Value": "intruder"}])
    engine, kind, body = cluster.engine, KINDS["ElasticIP"], cluster.bodies[keys[0]]
    assert reasons(engine.reconcile(kind, body, "resync", cluster)) == []  # from the snapshot: missed
    engine.clock.now += 1
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

    def list_managed(self, aws, managed_tag):
        self.listings += 1
        self.during_listing()
        return [{"id": "a"}, {"id": "b"}, {"id": "c"}]


class Session:
    """Stands for a provider session (the cache keeps a weak reference to it)."""


def test_a_snapshot_taken_across_a_write_is_not_kept():
    cache = DescribeCache(ttl=60, clock=lambda: 0.0)
    kind = ListedKind(during_listing=lambda: cache.invalidate(f"{NAMESPACE}/aws", "Listed"))
    session = Session()
    assert cache.lookup(kind, session, f"{NAMESPACE}/aws", "a", ANY_OWNER).hit is False
    assert cache.lookup(kind, session, f"{NAMESPACE}/aws", "b", ANY_OWNER).hit is False
    assert kind.listings == 2


def test_a_snapshot_lives_the_ttl_and_answers_each_resource_once():
    now = [0.0]
    cache = DescribeCache(ttl=60, clock=lambda: now[0])
    kind, session = ListedKind(), Session()

    def hits(*idents: str) -> list[bool]:
        return [cache.lookup(kind, session, "ns/p", ident, ANY_OWNER).hit for ident in idents]

    assert hits("a", "b", "a") == [False, True, False]  # "a" again: a new snapshot
    now[0] = 59.0
    assert hits("b", "c", "c") == [True, True, False]
    now[0] = 60.0 + 59.0
    assert hits("a") == [False]  # expired
    assert kind.listings == 4
    assert DescribeCache(ttl=0).lookup(kind, session, "ns/p", "a", ANY_OWNER) is None  # off


def test_a_rebuilt_provider_session_takes_a_new_snapshot():
    cache = DescribeCache(ttl=60, clock=lambda: 0.0)
    kind, old, rebuilt = ListedKind(), Session(), Session()
    assert [cache.lookup(kind, old, "ns/p", "a", ANY_OWNER).hit, cache.lookup(kind, old, "ns/p", "b", ANY_OWNER).hit] == [False, True]
    assert cache.lookup(kind, rebuilt, "ns/p", "c", ANY_OWNER).hit is False
    assert kind.listings == 2


def test_the_ttl_defaults_to_the_resync_interval_and_never_exceeds_it():
    def ttl(*argv: str) -> float:
        return config_from_args(parser().parse_args(["run", *argv])).engine_settings().describe_cache_ttl

    assert ttl() == 300
    assert ttl("--resync-interval", "60") == 60
    assert ttl("--resync-interval", "60", "--describe-cache-ttl", "20") == 20
    assert ttl("--resync-interval", "60", "--describe-cache-ttl", "600") == 60
    assert ttl("--describe-cache-ttl", "0") == 0
