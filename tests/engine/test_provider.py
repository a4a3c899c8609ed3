"""The AWSProvider reconciler against moto's STS: an assumed role's credentials are renewed (and
each renewal counted as a rotation) as their lifetime, spec.assumeRoleDurationSeconds, requires."""

import pytest

from infra_operator.operator.engine.providers import ProviderReconciler
from infra_operator.operator.provider.ratelimit import DEFAULT_RATE, DEFAULT_RATES, UNLIMITED, RateLimits
from infra_operator.operator.provider.sessions import ProviderSessions
from infra_operator.telemetry import Telemetry

ROLE = "arn:aws:iam::123456789012:role/infra-operator"


def provider(aws, **spec):
    return {"kind": "AWSProvider",
            "metadata": {"namespace": "ns", "name": "assumed", "uid": "p1", "generation": 1},
            "spec": {"region": "us-east-1", "endpoint": aws.endpoint, "credentials": {"secretRef": {"name": "keys"}},
                     "assumeRoleARN": ROLE, **spec}}


@pytest.mark.parametrize(("duration", "rotations"), [({}, 0), ({"assumeRoleDurationSeconds": 900}, 2)])
def test_assumed_role_credentials_are_renewed_within_15_minutes_of_expiry(aws, duration, rotations):
    rotated: list[str] = []
    reconciler = ProviderReconciler(
        Telemetry.noop(), ProviderSessions(on_rotation=rotated.append),
        read_secret=lambda namespace, name: {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"})
    body = provider(aws, **duration)
    assumed_before = aws.calls.count("sts", "AssumeRole")
    for trigger in ("create", "resync"):
        outcome = reconciler.reconcile(body, trigger)
        assert outcome.retry_after is None and outcome.status["accountId"] == "123456789012"
    # One AssumeRole builds the session; with 900 s credentials every call renews them first.
    assert aws.calls.count("sts", "AssumeRole") - assumed_before == 1 + rotations
    assert rotated == ["ns/assumed"] * rotations


def test_unlimited_turns_every_service_s_client_side_limit_off_and_the_defaults_stay_on() -> None:
    unlimited, default = RateLimits(UNLIMITED), RateLimits()
    for service in ("ec2", "sts", "s3", "elasticloadbalancing"):
        assert unlimited.bucket(service) is None
        bucket = default.bucket(service)
        assert bucket is not None and bucket.rate == DEFAULT_RATES.get(service, DEFAULT_RATE)


def test_a_built_client_is_handed_out_while_another_is_being_built_and_each_is_built_once() -> None:
    import threading

    from infra_operator.operator.provider.session import ProviderConfig, ProviderSession, StaticCredentials

    session = ProviderSession(ProviderConfig("ns/aws", "eu-west-1", None, StaticCredentials("a", "b")))
    ec2 = session.client("ec2")
    build, building, release = session.session.client, threading.Event(), threading.Event()
    builds: list[str] = []

    def slow_build(service, **options):
        builds.append(service)
        if service == "sqs":
            building.set()
            assert release.wait(60)
        return build(service, **options)

    session.session.client = slow_build
    built: list = []
    sqs_getters = [threading.Thread(target=lambda: built.append(session.client("sqs"))) for _ in range(2)]
    for getter in sqs_getters:
        getter.start()
    assert building.wait(60)
    found, lookup = [], threading.Thread(target=lambda: found.append(session.client("ec2")))
    lookup.start()
    lookup.join(60)  # returns unless the lookup waits for the SQS build (then only once released)
    waited_for_the_build = lookup.is_alive()
    release.set()
    for getter in (*sqs_getters, lookup):
        getter.join(60)
    assert not waited_for_the_build and found == [ec2]
    assert builds == ["sqs"] and built[0] is built[1]
