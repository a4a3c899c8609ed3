"""aws_api_* metrics from botocore events, against a moto server over HTTP."""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config

from infra_operator.sandbox.aws import MotoServer
from infra_operator.telemetry import Telemetry, catalog
from local_process import free_port

from .conftest import ec2_client, sample_values


def recorded(telemetry: Telemetry, operation: str, service: str = "EC2") -> dict[str, object]:
    """Everything the aws_api_* families hold for one operation."""
    summary: dict[str, object] = {"success": 0, "error": 0, "throttles": 0, "timed": 0, "error_codes": {}}
    for (name, labels), value in sample_values(telemetry).items():
        labels_dict = dict(labels)
        if (labels_dict.get("service"), labels_dict.get("operation")) != (service, operation):
            continue
        if name == catalog.AWS_API_CALLS.name:
            summary[labels_dict["result"]] = value
        elif name == catalog.AWS_API_THROTTLES.name:
            summary["throttles"] = value
        elif name == catalog.AWS_API_CALL_DURATION.name + "_count":
            summary["timed"] = value
        elif name == catalog.AWS_API_ERRORS.name:
            summary["error_codes"][labels_dict["error_code"]] = value  # type: ignore[index]
    return summary


def test_throttled_attempts_count_each_but_the_call_once(telemetry: Telemetry, aws: MotoServer) -> None:
    ec2 = ec2_client(telemetry, aws.endpoint, total_max_attempts=3)
    aws.faults.throttle(operation="DescribeVpcs", times=2)
    ec2.describe_vpcs()
    assert aws.faults.count("throttle") == 2
    assert recorded(telemetry, "DescribeVpcs") == {
        "success": 1,
        "error": 0,
        "throttles": 2,
        "timed": 1,
        "error_codes": {},
    }


def test_a_call_throttled_to_exhaustion_is_one_error_with_the_throttling_code(
    telemetry: Telemetry, aws: MotoServer
) -> None:
    ec2 = ec2_client(telemetry, aws.endpoint, total_max_attempts=2)
    aws.faults.throttle(operation="DescribeSubnets", times=5)
    with pytest.raises(ec2.exceptions.ClientError) as raised:
        ec2.describe_subnets()
    assert raised.value.response["Error"]["Code"] == "RequestLimitExceeded"
    assert aws.faults.count("throttle") == 2
    assert recorded(telemetry, "DescribeSubnets") == {
        "success": 0,
        "error": 1,
        "throttles": 2,
        "timed": 1,
        "error_codes": {"RequestLimitExceeded": 1},
    }


def test_the_aws_error_code_is_extracted(telemetry: Telemetry, aws: MotoServer) -> None:
    ec2 = ec2_client(telemetry, aws.endpoint)
    with pytest.raises(ec2.exceptions.ClientError) as raised:
        ec2.release_address(AllocationId="eipalloc-0123456789abcdef0")
    code = raised.value.response["Error"]["Code"]
    assert code not in ("", catalog.UNKNOWN_ERROR_CODE)
    assert recorded(telemetry, "ReleaseAddress") == {
        "success": 0,
        "error": 1,
        "throttles": 0,
        "timed": 1,
        "error_codes": {code: 1},
    }


def test_a_refused_connection_is_one_failed_call_with_error_code_connection_error(telemetry: Telemetry) -> None:
    ec2 = ec2_client(telemetry, f"http://127.0.0.1:{free_port()}", total_max_attempts=2, connect_timeout=2)
    with pytest.raises(Exception) as raised:
        ec2.describe_vpcs()
    assert type(raised.value).__name__ == "EndpointConnectionError"
    assert recorded(telemetry, "DescribeVpcs") == {
        "success": 0,
        "error": 1,
        "throttles": 0,
        "timed": 1,
        "error_codes": {catalog.CONNECTION_ERROR_CODE: 1},
    }


@pytest.mark.parametrize(
    ("client_name", "call", "service", "operation"),
    [
        ("sts", lambda client: client.get_caller_identity(), "STS", "GetCallerIdentity"),
        ("elbv2", lambda client: client.describe_load_balancers(), "ELBv2", "DescribeLoadBalancers"),
        ("secretsmanager", lambda client: client.list_secrets(), "SecretsManager", "ListSecrets"),
    ],
)
def test_the_service_label_uses_the_catalog_names(
    telemetry: Telemetry, aws: MotoServer, client_name: str, call: object, service: str, operation: str
) -> None:
    assert service in catalog.SERVICES.values()
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    client = session.client(client_name, endpoint_url=aws.endpoint)
    telemetry.instrument_aws(client.meta.events)
    call(client)  # type: ignore[operator]
    assert recorded(telemetry, operation, service)["success"] == 1


def test_instrumenting_twice_does_not_double_count(telemetry: Telemetry, aws: MotoServer) -> None:
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    telemetry.instrument_aws(session.events)
    ec2 = session.client("ec2", endpoint_url=aws.endpoint, config=Config(retries={"mode": "standard"}))
    telemetry.instrument_aws(ec2.meta.events)
    telemetry.instrument_aws(session.events)
    ec2.describe_vpcs()
    assert recorded(telemetry, "DescribeVpcs") == {
        "success": 1,
        "error": 0,
        "throttles": 0,
        "timed": 1,
        "error_codes": {},
    }
