"""Issue 6, live: the PrometheusRule's alerts (their `for:` held to 1 s in the temporary copy)
fire in a real Prometheus on the real operator's metrics: a throttling storm fires
InfraOperatorAWSAPIThrottled; an operator whose /metrics target goes down fires
InfraOperatorNoReconciliations (that test runs after every other test of the package)."""

import pytest

# Throttled EC2 attempts in the storm. The alert wants rate(throttles[5m]) > 0.1; over a series
# younger than the window that is about throttles-since-its-first-sample / 300 s, so well over 30
# (a series born during the storm loses its first increments to the rate).
STORM_ATTEMPTS = 100


def firing(prometheus, name: str) -> list[dict]:
    return [alert for alert in prometheus.alerts()
            if alert["labels"]["alertname"] == name and alert["state"] == "firing"]


def test_a_throttling_storm_fires_the_throttling_alert(run, prometheus, aws):
    assert not firing(prometheus, "InfraOperatorAWSAPIThrottled")  # the run's own 2 throttles are far below
    aws.faults.throttle("ec2", times=STORM_ATTEMPTS)
    alert = prometheus.wait_for_alert("InfraOperatorAWSAPIThrottled", timeout=45)
    assert alert["labels"]["service"] == "EC2" and alert["labels"]["job"] == "infra-operator"
    assert float(alert["value"]) > 0.1
    assert aws.faults.count("throttle") > 30, aws.faults.count("throttle")
    (rate,) = prometheus.query('service:infra_operator_aws_api_throttles:rate5m{service="EC2"}')
    assert float(rate["value"][1]) > 0.1


@pytest.mark.stops_operator
def test_an_operator_whose_target_is_down_fires_the_operator_down_alert(run, prometheus, metrics_server):
    assert not firing(prometheus, "InfraOperatorNoReconciliations")  # it reconciles: nothing to say
    metrics_server.close()
    alert = prometheus.wait_for_alert("InfraOperatorNoReconciliations", timeout=30)
    assert alert["labels"]["job"] == "infra-operator"
    (up,) = prometheus.query('up{job="infra-operator"}')
    assert up["value"][1] == "0"
