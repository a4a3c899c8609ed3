"""The rules in a real Prometheus: a throttling storm fires the throttling alert, and stopping the
scraped target fires the operator-down alert. The target is a tiny exposition of the operator's
AWS metrics served here over HTTP; the lead's end-to-end check points the same helper at the
running operator instead.
"""

import time

import pytest
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily

from .prom import running_prometheus

pytestmark = [
    pytest.mark.live,
    pytest.mark.tools("prometheus"),
]

STORM_RATE = 20.0  # throttled attempts per second, far above the alert's 0.1


class ThrottlingStorm:
    """AWS metrics of an operator being throttled: counters that grow with time, read at scrape."""

    def __init__(self):
        self.start = time.monotonic()

    def collect(self):
        elapsed = time.monotonic() - self.start
        calls = CounterMetricFamily("infra_operator_aws_api_calls", "AWS API calls",
                                    labels=["service", "operation", "result"])
        calls.add_metric(["EC2", "DescribeAddresses", "success"], elapsed)
        throttles = CounterMetricFamily("infra_operator_aws_api_throttles", "Throttled AWS API attempts",
                                        labels=["service", "operation"])
        throttles.add_metric(["EC2", "DescribeAddresses"], elapsed * STORM_RATE)
        yield calls
        yield throttles


@pytest.fixture
def throttled_target():
    registry = CollectorRegistry()
    registry.register(ThrottlingStorm())
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_throttling_storm_fires_and_a_stopped_operator_is_detected(throttled_target):
    target = f"127.0.0.1:{throttled_target.server_port}"
    with running_prometheus(target, hold="2s") as prometheus:
        prometheus.wait_for('up{job="infra-operator"} == 1')
        throttled = prometheus.wait_for_alert("InfraOperatorAWSAPIThrottled", timeout=60)
        assert throttled["labels"]["service"] == "EC2"
        assert float(throttled["value"]) > 0.1
        (rate,) = prometheus.query('service:infra_operator_aws_api_throttles:rate5m{service="EC2"}')
        # Over a 5-minute window holding a few seconds of samples, rate() is far below the storm's.
        assert 0.1 < float(rate["value"][1]) < STORM_RATE
        assert not prometheus.query('ALERTS{alertname="InfraOperatorNoReconciliations"}')

        throttled_target.shutdown()
        throttled_target.server_close()
        down = prometheus.wait_for_alert("InfraOperatorNoReconciliations", timeout=60)
        assert down["labels"]["job"] == "infra-operator"
        (up,) = prometheus.query('up{job="infra-operator"}')
        assert up["value"][1] == "0"
