"""Issue 7, OTLP path: the run's telemetry exports over OTLP/gRPC to a real rotel-agent, which
forwards to a receiver; every catalog metric, its bucket bounds, and the trace linking a
reconcile to its AWS calls arrive intact."""

from infra_operator.telemetry import catalog
from otlp_receiver import resource_attributes


# The run elects no leader, so the operator's own leader-election gauge reports nothing.
EXPORTED = {spec.name for spec in catalog.CATALOG}


def test_metrics_and_traces_cross_a_real_collector_intact(run, telemetry, receiver):
    assert telemetry.force_flush()
    receiver.wait_for(lambda r: {metric.name for metric in r.metrics()} >= EXPORTED
                      and any(span.name == "EC2.AllocateAddress" for span in r.spans()))

    assert {metric.name for metric in receiver.metrics()} == EXPORTED
    for spec in catalog.CATALOG:
        latest = receiver.metrics(spec.name)[-1]
        assert latest.description == spec.help and latest.unit == spec.unit
        if spec.buckets is not None:
            points = latest.histogram.data_points
            assert points and all(tuple(point.explicit_bounds) == catalog.BUCKETS for point in points)

    spans = receiver.spans()
    by_id = {span.span_id: span for span in spans}
    allocations = [span for span in spans if span.name == "EC2.AllocateAddress"]
    parents = [by_id.get(span.parent_span_id) for span in allocations]
    eip = [(span, parent) for span, parent in zip(allocations, parents, strict=True)
           if parent is not None and parent.name == "reconcile ElasticIP"]
    assert eip, [(parent.name if parent else None) for parent in parents]
    span, parent = eip[0]
    assert span.trace_id == parent.trace_id and span.kind == span.SPAN_KIND_CLIENT
    assert resource_attributes(span)["rpc.service"] == "EC2"
    reconcile = resource_attributes(parent)
    assert reconcile["infra_operator.resource_type"] == "ElasticIP"
    assert reconcile["k8s.namespace.name"] == run.cluster.namespace
    assert resource_attributes(receiver.resource_spans[0].resource)["service.instance.id"] == "infra-operator-live"
