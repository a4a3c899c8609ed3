"""AWS misbehaving: a throttling storm (half of all EC2 calls throttled, a tenth failing with
500) and answers slower than the read timeout. The engine, many objects at once against moto
over HTTP, converges and deletes everything, leaves no duplicate, and counts every throttle and
failed call.

botocore retries each call 3 times under the storm and twice under timeouts (production: 5),
with its production backoff: more calls fail through to the engine's own retries, and the test
stays short."""

from __future__ import annotations

import collections
import secrets
from collections.abc import Callable, Iterable, Iterator

import pytest

from infra_operator.operator.engine.reconciler import EngineSettings, Reconciler
from infra_operator.operator.kinds import all_kinds
from infra_operator.operator.provider.registry import ProviderRegistry
from infra_operator.operator.provider.session import ProviderConfig, StaticCredentials
from infra_operator.telemetry import Telemetry, TelemetrySettings, setup_telemetry

from .engine_driver import InMemoryCluster, Key
from .support import owned_in_aws

ADDRESSES = [("ElasticIP", f"eip-{index}", {}) for index in range(10)]
NETWORK = [
    ("VPC", "net", {"cidrBlock": "10.0.0.0/16"}),
    ("Subnet", "a", {"vpcRef": {"name": "net"}, "cidrBlock": "10.0.1.0/24"}),
    ("InternetGateway", "gw", {"vpcRef": {"name": "net"}}),
    ("SecurityGroup", "web", {"vpcRef": {"name": "net"}, "groupName": "web", "ingress": [
        {"protocol": "tcp", "fromPort": 443, "cidrBlocks": ["0.0.0.0/0"]}]}),
]


@pytest.fixture(scope="module")
def telemetry() -> Iterator[Telemetry]:
    live = setup_telemetry(TelemetrySettings.from_env(environ={}))
    yield live
    live.shutdown()


def stack(aws, telemetry: Telemetry, objects: list[tuple[str, str, dict]], **provider: float) -> InMemoryCluster:
    """The engine, on a provider reaching moto (`provider`: its retry and timeout settings),
    and `objects` to drive, in a namespace of their own."""
    namespace = f"faults-{secrets.token_hex(3)}"
    providers = ProviderRegistry(instrument=telemetry.instrument_aws)
    providers.apply(ProviderConfig(f"{namespace}/aws", "us-east-1", aws.endpoint,
                                   StaticCredentials("testing", "testing"), **provider))
    providers.mark(f"{namespace}/aws", True)
    engine = Reconciler(telemetry, providers, EngineSettings(deletion_poll_delay=0.1))
    cluster = InMemoryCluster(engine, all_kinds(), namespace)
    for kind, name, spec in objects:
        cluster.add(kind, name, spec)
    return cluster


def metric_total(telemetry: Telemetry, name: str, **labels: set[str]) -> float:
    """The sum of a metric's samples whose labels take one of the given values."""
    return sum(value for (sample, pairs), value in telemetry.sample_values().items()
               if sample == name and all(dict(pairs).get(k) in v for k, v in labels.items()))


def failures(cluster: InMemoryCluster) -> list[tuple[str, str]]:
    """(reason, message) of the Ready condition of every run that ended in a retry."""
    return [next((c["reason"], c["message"]) for c in outcome.status["conditions"] if c["type"] == "Ready")
            for _, outcome in cluster.runs if outcome.retry_after is not None and outcome.status.get("conditions")]


def ended_by(failed: list[tuple[str, str]], *errors: str) -> int:
    """How many failed runs a call failing with one of `errors` ended."""
    return sum(any(error in message for error in errors) for _, message in failed)


def converge_then_delete(aws, cluster: InMemoryCluster, install_faults: Callable[[], object],
                         late_answers: bool = False) -> collections.Counter:
    """Converge, check once, then delete everything, with the faults installed; check AWS in
    between without them, once every call was answered (late answers have taken effect).
    Returns how many faults of each kind were injected."""
    injected: collections.Counter = collections.Counter()

    def faulty(action: Callable[[Iterable[Key]], None]) -> None:
        install_faults()
        try:
            action(list(cluster.bodies))
        finally:
            for (kind, _, _), count in aws.faults.injected.items():
                injected[kind] += count
            aws.faults.clear()
        aws.calls.wait_answered()

    faulty(cluster.converge)
    if late_answers:  # late answers: a create may have been made twice, which a drift check finds
        faulty(cluster.resync)
    owned = owned_in_aws(aws, cluster.namespace)
    assert sorted(owned) == sorted(body["metadata"]["uid"] for body in cluster.bodies.values())
    assert all(len(ids) == 1 for ids in owned.values()), owned
    faulty(cluster.delete)
    assert cluster.bodies == {} and owned_in_aws(aws, cluster.namespace) == {}
    return injected


def test_throttling_storm_and_server_errors_converge_without_duplicates_and_are_counted(aws, telemetry):
    # A VPC made outside the operator keeps the chains of calls short (each extra call in a
    # run under this storm halves its chance to get through).
    vpc = aws.client("ec2").create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    network = [("Subnet", "a", {"vpcId": vpc, "cidrBlock": "10.9.1.0/24"}), ("InternetGateway", "gw", {"vpcId": vpc})]
    cluster = stack(aws, telemetry, ADDRESSES + network, max_attempts=3)
    throttles_before = metric_total(telemetry, "infra_operator_aws_api_throttles_total")
    errors_before = metric_total(telemetry, "infra_operator_aws_api_errors_total",
                                 error_code={"RequestLimitExceeded", "InternalError"})

    def storm() -> None:
        aws.faults.throttle("ec2", ratio=0.5)
        aws.faults.server_error("ec2", ratio=0.1)

    injected = converge_then_delete(aws, cluster, storm)
    throttled, failed = injected["throttle"], injected["server_error"]
    runs_failed = ended_by(failures(cluster), "RequestLimitExceeded", "InternalError")
    # Every throttled attempt is counted; every call that failed after botocore's retries is
    # counted once, and is the failure of exactly one engine run.
    assert metric_total(telemetry, "infra_operator_aws_api_throttles_total") - throttles_before == throttled
    assert metric_total(telemetry, "infra_operator_aws_api_errors_total",
                        error_code={"RequestLimitExceeded", "InternalError"}) - errors_before == runs_failed
    assert throttled > 50 and failed > 10
    aws.client("ec2").delete_vpc(VpcId=vpc)
    print(f"\nthrottling storm: {len(cluster.runs)} engine runs, {aws.calls.count(service='ec2')} EC2 requests, "
          f"{throttled} throttled, {failed} answered 500, {runs_failed} runs ended by a failed call "
          f"({sorted({reason for reason, _ in failures(cluster)})})")


def test_answers_slower_than_the_read_timeout_converge_without_duplicates_and_are_counted(aws, telemetry):
    cluster = stack(aws, telemetry, ADDRESSES + NETWORK, max_attempts=2, read_timeout=0.2)
    errors_before = metric_total(telemetry, "infra_operator_aws_api_errors_total", error_code={"ConnectionError"})
    # Three calls in ten are answered after 0.6 s: the client has given up (and retried) by then.
    injected = converge_then_delete(aws, cluster, lambda: aws.faults.delay(0.6, "ec2", ratio=0.3),
                                    late_answers=True)
    timed_out = ended_by(failures(cluster), "ReadTimeoutError")
    assert metric_total(telemetry, "infra_operator_aws_api_errors_total", error_code={"ConnectionError"}) - \
        errors_before == timed_out
    duplicates = sum(e.reason == "DuplicateDeleted" for _, outcome in cluster.runs for e in outcome.events)
    assert injected["delay"] > 10
    print(f"\ntimeouts: {len(cluster.runs)} engine runs, {injected['delay']} calls answered late, "
          f"{duplicates} duplicates deleted, "
          f"{timed_out} runs ended by a timed-out call ({sorted({reason for reason, _ in failures(cluster)})})")


def test_a_delete_aws_keeps_refusing_with_an_unknown_code_keeps_the_object_until_it_goes_through(aws, telemetry):
    cluster = stack(aws, telemetry, NETWORK[:2])
    cluster.converge(list(cluster.bodies))
    vpc = cluster.bodies[("VPC", "net")]
    aws.faults.reject("UnheardOfRefusal", "AWS will not say why", service="ec2", operation="DeleteVpc", times=3)
    try:
        cluster.delete(list(cluster.bodies))  # asserts that no run gave up (permanent)
    finally:
        aws.faults.clear()
    refused = [outcome for key, outcome in cluster.runs if key == ("VPC", "net") and outcome.retry_after is not None
               and "UnheardOfRefusal" in outcome.message]  # the others waited for the subnet to go first
    assert len(refused) == 3, [o.message for o in refused]
    for outcome in refused:
        ready = next(c for c in outcome.status["conditions"] if c["type"] == "Ready")
        assert (ready["status"], ready["reason"]) == ("False", "AWSRejected") and not outcome.permanent
        assert "DeleteVpc: UnheardOfRefusal: AWS will not say why" in ready["message"]
        assert [(e.type, e.reason) for e in outcome.events] == [("Warning", "AWSRejected")]
    # It left the cluster only once AWS confirmed the VPC gone, and nothing is left behind.
    assert not cluster.bodies and not owned_in_aws(aws, cluster.namespace)
    assert aws.client("ec2").describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [vpc["status"]["vpcId"]]}])["Vpcs"] == []
