"""AWS error codes that both the operator and its telemetry act on, listed once: the operator
retries throttled calls, the telemetry counts them in infra_operator_aws_api_throttles_total.
Plain data, so that the telemetry (which imports nothing of the operator) can share it."""

from __future__ import annotations

# Throttling answers across protocols: EC2 (RequestLimitExceeded), query (Throttling), JSON
# (ThrottlingException), REST-JSON (TooManyRequestsException), DynamoDB
# (ProvisionedThroughputExceededException), Route 53 / CloudFront (RequestThrottled / Throttling),
# S3 (SlowDown).
THROTTLING_CODES: frozenset[str] = frozenset({
    "Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException",
    "ProvisionedThroughputExceededException", "RequestThrottled", "SlowDown",
})
