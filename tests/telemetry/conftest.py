from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import boto3
import pytest
from botocore.config import Config

from infra_operator.telemetry import Telemetry, TelemetrySettings, setup_telemetry



@pytest.fixture
def make_telemetry() -> Iterator[Callable[..., Telemetry]]:
    """setup_telemetry(settings or TelemetrySettings(**fields)); every one is shut down
    afterwards (which also releases the process-wide botocore instrumentation for the next)."""
    built: list[Telemetry] = []

    def make(settings: TelemetrySettings | None = None, extra_span_processors: Sequence[Any] = (),
             **fields: Any) -> Telemetry:
        telemetry = setup_telemetry(settings or TelemetrySettings(instance_id="test-instance", **fields),
                                    extra_span_processors=extra_span_processors)
        built.append(telemetry)
        return telemetry

    yield make
    for telemetry in built:
        telemetry.shutdown()


@pytest.fixture
def telemetry(make_telemetry: Callable[..., Telemetry]) -> Telemetry:
    return make_telemetry()


def ec2_client(telemetry: Telemetry, endpoint_url: str, total_max_attempts: int = 3, **config: Any) -> Any:
    """An EC2 client on its own session, instrumented through the session's event emitter
    (as the operator does: instrument the session, then create clients)."""
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    telemetry.instrument_aws(session.events)
    return session.client(
        "ec2",
        endpoint_url=endpoint_url,
        config=Config(retries={"mode": "standard", "total_max_attempts": total_max_attempts}, **config),
    )


def sample_values(telemetry: Telemetry) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """The current /metrics samples as {(sample name, labels): value}."""
    return telemetry.sample_values()


def value(telemetry: Telemetry, sample_name: str, **labels: str) -> float:
    """One sample's value; 0 when the series does not exist."""
    return sample_values(telemetry).get((sample_name, frozenset(labels.items())), 0.0)
