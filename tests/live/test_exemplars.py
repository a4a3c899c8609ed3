"""Exemplars, live: a real Prometheus with exemplar storage scrapes the operator's OpenMetrics
exposition; every trace id it stores for the four duration histograms is a trace the OTLP
receiver got, rooted at the reconcile (or finalizer) span of the series' kind."""

from infra_operator.telemetry import catalog

# Which root span a histogram's exemplar trace has, by the series' labels.
ROOTS = {
    catalog.RECONCILE_DURATION.name: lambda labels: {f"reconcile {labels['resource_type']}"},
    catalog.DRIFT_DETECTION_DURATION.name: lambda labels: {f"reconcile {labels['resource_type']}"},
    catalog.FINALIZER_DURATION.name: lambda labels: {f"finalize {labels['resource_type']}"},
}


def test_stored_exemplars_lead_to_their_traces(run, telemetry, receiver, prometheus):
    stored = {}
    for spec in catalog.CATALOG:
        if spec.instrument is catalog.Instrument.HISTOGRAM:
            series = prometheus.exemplars(f'{spec.name}_bucket{{job="infra-operator"}}', run.started, run.settled)
            stored[spec.name] = [(item["seriesLabels"], exemplar["labels"])
                                 for item in series for exemplar in item["exemplars"]]
    assert all(stored.values()), {name: len(found) for name, found in stored.items()}
    trace_ids = {labels["trace_id"] for found in stored.values() for _, labels in found}

    assert telemetry.force_flush()
    receiver.wait_for(lambda r: trace_ids <= {span.trace_id.hex() for span in r.spans()})
    spans = receiver.spans()
    by_id = {(span.trace_id.hex(), span.span_id.hex()): span for span in spans}
    roots = {span.trace_id.hex(): span.name for span in spans if not span.parent_span_id}
    for name, found in stored.items():
        for series_labels, exemplar in found:
            span = by_id[(exemplar["trace_id"], exemplar["span_id"])]
            root = roots[exemplar["trace_id"]]
            if name == catalog.AWS_API_CALL_DURATION.name:
                assert span.name.endswith("." + series_labels["operation"]), (span.name, series_labels)
                assert root.startswith(("reconcile ", "finalize ")), root
            else:
                assert root in ROOTS[name](series_labels), (name, series_labels, root)
    print(f"exemplars verified: {sum(map(len, stored.values()))} ({len(trace_ids)} traces)")
