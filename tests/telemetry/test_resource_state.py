"""resources_total is the true count of live objects, whatever happens (property test)."""

from __future__ import annotations

from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infra_operator.telemetry import Telemetry, TelemetrySettings, catalog, setup_telemetry

from .conftest import sample_values

RESOURCE_TYPES = ("VPC", "Subnet", "ElasticIP")
KEYS = tuple(f"ns/obj-{index}" for index in range(6))

set_resource = st.tuples(
    st.just("set"),
    st.sampled_from(RESOURCE_TYPES),
    st.sampled_from(KEYS),
    st.sampled_from(catalog.STATUSES),
    st.one_of(st.none(), st.integers(1_600_000_000, 1_800_000_000)),
)
forget_resource = st.tuples(st.just("forget"), st.sampled_from(RESOURCE_TYPES), st.sampled_from(KEYS))


def exposed(telemetry: Telemetry) -> tuple[dict[tuple[str, str], float], dict[tuple[str, str], float]]:
    """(resources_total by (type, status), creation timestamps by (type, name)) from /metrics."""
    totals, timestamps = {}, {}
    for (name, labels), value in sample_values(telemetry).items():
        labels_dict = dict(labels)
        if name == catalog.RESOURCES.name:
            totals[(labels_dict["resource_type"], labels_dict["status"])] = value
        elif name == catalog.RESOURCE_CREATION_TIMESTAMP.name:
            timestamps[(labels_dict["resource_type"], labels_dict["resource_name"])] = value
    return totals, timestamps


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(set_resource, forget_resource), max_size=40))
def test_resources_total_is_the_true_count_and_never_negative(operations: list[tuple]) -> None:
    telemetry = setup_telemetry(TelemetrySettings(instance_id="property-test"))
    try:
        live: dict[tuple[str, str], tuple[str, int | None]] = {}
        seen_types: set[str] = set()
        for operation in operations:
            if operation[0] == "set":
                _, resource_type, key, status, created_at = operation
                telemetry.resources.set(resource_type, key, status, key.split("/")[1], created_at=created_at)
                live[(resource_type, key)] = (status, created_at)
                seen_types.add(resource_type)
            else:
                _, resource_type, key = operation
                telemetry.resources.forget(resource_type, key)
                live.pop((resource_type, key), None)
            assert all(count >= 0 for count, _ in telemetry.resources.counts())

        totals, timestamps = exposed(telemetry)
        true_counts = Counter((resource_type, status) for (resource_type, _), (status, _) in live.items())
        assert totals == {
            (resource_type, status): float(true_counts[(resource_type, status)])
            for resource_type in seen_types
            for status in catalog.STATUSES
        }
        assert timestamps == {
            (resource_type, key.split("/")[1]): float(created_at)
            for (resource_type, key), (_, created_at) in live.items()
            if created_at is not None
        }
    finally:
        telemetry.shutdown()
