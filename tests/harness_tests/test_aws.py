"""The moto server and its fault injection, seen through botocore's own retry logic."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from typing import Any

import botocore.exceptions
import pytest
from botocore.retries.standard import RetryEventAdapter, ThrottlingErrorDetector

from harness.aws import MotoServer

pytestmark = pytest.mark.e2e

# One cheap read per wire protocol: EC2, query (IAM, STS), JSON (DynamoDB, SQS), REST-XML (S3,
# Route 53) and REST-JSON (Lambda).
CALLS: dict[str, Callable[[Any], Any]] = {
    "ec2": lambda client: client.describe_vpcs(),
    "iam": lambda client: client.list_users(),
    "sts": lambda client: client.get_caller_identity(),
    "dynamodb": lambda client: client.list_tables(),
    "sqs": lambda client: client.list_queues(),
    "s3": lambda client: client.list_buckets(),
    "route53": lambda client: client.list_hosted_zones(),
    "lambda": lambda client: client.list_functions(),
}
EXPECTED_THROTTLE = {
    "ec2": ("RequestLimitExceeded", 503), "iam": ("Throttling", 400), "sts": ("Throttling", 400),
    "dynamodb": ("ThrottlingException", 400), "sqs": ("ThrottlingException", 400), "s3": ("SlowDown", 503),
    "route53": ("Throttling", 400), "lambda": ("TooManyRequestsException", 429),
}


def client_with_attempts(aws: MotoServer, service: str, attempts: int, **config: Any) -> tuple[Any, list[bool]]:
    """A client retrying in botocore's standard mode, and the per-attempt verdicts of botocore's
    own throttling detector (the one adaptive mode and the backoff use) on each failed attempt."""
    client = aws.client(service, retries={"mode": "standard", "total_max_attempts": attempts}, **config)
    detector = ThrottlingErrorDetector(RetryEventAdapter())
    verdicts: list[bool] = []

    def judge(**kwargs: Any) -> None:
        response = kwargs.get("response")
        if response is not None and response[0].status_code >= 400:
            verdicts.append(detector.is_throttling_error(**kwargs))

    client.meta.events.register_first("needs-retry", judge)
    return client, verdicts


@pytest.mark.parametrize("service", sorted(CALLS))
def test_throttle_is_the_services_own_throttling_error(aws: MotoServer, service: str) -> None:
    client, verdicts = client_with_attempts(aws, service, attempts=1)
    aws.faults.throttle(service=service, times=1)
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        CALLS[service](client)
    error = raised.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == EXPECTED_THROTTLE[service]
    assert verdicts == [True]
    assert aws.faults.count("throttle", service=service) == 1


# Few attempts: botocore backs off up to 1 s, 2 s, ... after a throttle.
@pytest.mark.parametrize(("service", "operation", "attempts"), [
    ("ec2", "AllocateAddress", 3), ("dynamodb", "ListTables", 2), ("iam", "ListUsers", 2)])
def test_n_attempts_see_n_minus_one_throttles_then_success(aws: MotoServer, service: str, operation: str,
                                                           attempts: int) -> None:
    client, verdicts = client_with_attempts(aws, service, attempts=attempts)
    aws.faults.throttle(service=service, operation=operation, times=attempts - 1)
    call = {"AllocateAddress": lambda: client.allocate_address(Domain="vpc"),
            "ListTables": lambda: client.list_tables(), "ListUsers": lambda: client.list_users()}[operation]
    response = call()
    assert response["ResponseMetadata"]["RetryAttempts"] == attempts - 1
    assert verdicts == [True] * (attempts - 1)
    assert aws.faults.injected == {("throttle", service, operation): attempts - 1}
    assert aws.calls.count(service, operation) == attempts


def test_exhausted_attempts_surface_the_throttle(aws: MotoServer) -> None:
    client, verdicts = client_with_attempts(aws, "ec2", attempts=2)
    aws.faults.throttle(service="ec2", operation="DescribeVpcs")
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        client.describe_vpcs()
    assert raised.value.response["Error"]["Code"] == "RequestLimitExceeded"
    assert raised.value.response["ResponseMetadata"]["RetryAttempts"] == 1
    assert verdicts == [True, True]


@pytest.mark.parametrize(("status", "code"), [(500, "InternalError"), (503, "ServiceUnavailable")])
def test_server_errors_are_retried_as_transient_not_throttling(aws: MotoServer, status: int, code: str) -> None:
    client, verdicts = client_with_attempts(aws, "ec2", attempts=1)
    aws.faults.server_error(service="ec2", times=1, status=status)
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        client.describe_vpcs()
    assert (raised.value.response["Error"]["Code"], raised.value.response["ResponseMetadata"]["HTTPStatusCode"]) \
        == (code, status)
    assert verdicts == [False]

    retrying, _ = client_with_attempts(aws, "ec2", attempts=3)
    aws.faults.server_error(service="ec2", times=2, status=status)
    assert retrying.describe_vpcs()["ResponseMetadata"]["RetryAttempts"] == 2


def test_rules_filter_on_operation_and_stop_after_times(aws: MotoServer) -> None:
    client, _ = client_with_attempts(aws, "ec2", attempts=1)
    aws.faults.throttle(service="ec2", operation="AllocateAddress", times=1)
    client.describe_vpcs()  # another operation passes
    with pytest.raises(botocore.exceptions.ClientError):
        client.allocate_address(Domain="vpc")
    assert client.allocate_address(Domain="vpc")["AllocationId"].startswith("eipalloc-")
    assert aws.faults.count() == 1
    assert aws.calls.count("ec2") == 3


def test_ratio_fires_on_a_fraction_and_clear_removes_rules(aws: MotoServer) -> None:
    client, verdicts = client_with_attempts(aws, "sts", attempts=1)
    aws.faults.throttle(service="sts", ratio=0.5)
    failures = 0
    for _ in range(20):
        try:
            client.get_caller_identity()
        except botocore.exceptions.ClientError:
            failures += 1
    assert 0 < failures < 20
    assert aws.faults.count("throttle", "sts", "GetCallerIdentity") == failures == len(verdicts)

    aws.faults.clear()
    assert client.get_caller_identity()["Account"]
    assert aws.faults.count() == 0


def test_delay_makes_a_client_time_out(aws: MotoServer) -> None:
    client, _ = client_with_attempts(aws, "sts", attempts=1, read_timeout=0.2, connect_timeout=1)
    aws.faults.delay(0.6, service="sts", times=1)
    with pytest.raises(botocore.exceptions.ReadTimeoutError):
        client.get_caller_identity()
    assert client.get_caller_identity()["Account"]
    assert aws.faults.count("delay") == 1


def test_a_request_its_client_gave_up_on_takes_effect_before_wait_answered_returns(aws: MotoServer) -> None:
    client, _ = client_with_attempts(aws, "ec2", attempts=1, read_timeout=0.2, connect_timeout=1)
    aws.faults.delay(0.6, service="ec2", operation="CreateVpc", times=1)
    with pytest.raises(botocore.exceptions.ReadTimeoutError):
        client.create_vpc(CidrBlock="10.8.0.0/16")
    aws.calls.wait_answered()
    vpcs = aws.client("ec2").describe_vpcs(Filters=[{"Name": "cidr", "Values": ["10.8.0.0/16"]}])["Vpcs"]
    assert len(vpcs) == 1
    aws.client("ec2").delete_vpc(VpcId=vpcs[0]["VpcId"])


def test_rewrite_changes_the_first_answers_moto_gives(aws: MotoServer) -> None:
    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
    aws.faults.rewrite("<state>available</state>", "<state>pending</state>", service="ec2", operation="DescribeVpcs",
                       times=1)
    ec2.describe_vpcs(Filters=[{"Name": "cidr", "Values": ["10.6.0.0/16"]}])  # no VPC: nothing to rewrite
    states = [ec2.describe_vpcs(VpcIds=[vpc])["Vpcs"][0]["State"] for _ in range(2)]
    assert states == ["pending", "available"] and aws.faults.count("rewrite", "ec2", "DescribeVpcs") == 1
    ec2.delete_vpc(VpcId=vpc)


def test_reset_forgets_resources(aws: MotoServer) -> None:
    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    assert vpc in {v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]}
    aws.reset()
    assert vpc not in {v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]}


def test_invalid_rules_are_refused(aws: MotoServer) -> None:
    with pytest.raises(ValueError):
        aws.faults.throttle(ratio=1.5)
    with pytest.raises(ValueError):
        aws.faults.server_error(status=400)


def test_environment_points_another_process_at_the_server(aws: MotoServer) -> None:
    script = "import boto3; print(boto3.client('ec2').describe_regions()['Regions'][0]['Endpoint'])"
    env = {**os.environ, **aws.environment(region="eu-west-1")}
    output = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    assert output.stdout.strip()
    assert aws.calls.count("ec2", "DescribeRegions") == 1


def test_rewrite_shows_a_state_moto_skips_for_the_first_n_answers(aws: MotoServer) -> None:
    ec2 = aws.client("ec2")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    aws.faults.rewrite(r"<code>16</code>(\s*)<name>running</name>", r"<code>0</code>\1<name>pending</name>",
                       "ec2", "DescribeInstances", times=2)

    def state() -> str:
        return ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]["State"]["Name"]
    assert [state(), state(), state()] == ["pending", "pending", "running"]
    assert aws.faults.count("rewrite", "ec2", "DescribeInstances") == 2
    ec2.terminate_instances(InstanceIds=[instance])
def test_rewrite_by_path_shows_a_rest_api_state_for_the_first_describes(aws: MotoServer) -> None:
    """moto's EKS cluster is ACTIVE at once; AWS's is CREATING for 10+ minutes."""
    eks = aws.client("eks")
    name = f"rewritten-{uuid.uuid4().hex[:8]}"
    eks.create_cluster(name=name, roleArn="arn:aws:iam::123456789012:role/eks",
                       resourcesVpcConfig={"subnetIds": ["subnet-1"]})
    aws.faults.rewrite(r'"status": ?"ACTIVE"', '"status": "CREATING"', service="eks", path=r"GET /clusters/[^/]+",
                       times=2)
    seen = [eks.describe_cluster(name=name)["cluster"] for _ in range(3)]
    assert [cluster["status"] for cluster in seen] == ["CREATING", "CREATING", "ACTIVE"]
    assert all(cluster["name"] == name for cluster in seen)  # the rest of moto's answer is kept
    assert aws.faults.count("rewrite", service="eks") == 2
    eks.list_clusters()  # another path: not rewritten
    assert aws.faults.count("rewrite", service="eks") == 2
    eks.delete_cluster(name=name)
