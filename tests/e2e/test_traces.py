"""From `kubectl describe` to the trace: the operator's events end with the trace id of the run
that emitted them, the status records the trace of the last run that changed something (never of
a no-op resync), and a dependent woken by its dependency's readiness links its reconcile to the
span that made the dependency Ready."""

from __future__ import annotations

from .resources import condition


def _spec(**fields):
    return {"providerRef": {"name": "aws"}, **fields}


def test_events_status_and_links_lead_to_the_traces_of_changes(cluster, spans):
    cluster.create("Subnet", "a", _spec(vpcRef={"name": "main"}, cidrBlock="10.0.1.0/24"))
    cluster.wait_condition("Subnet", "a", status="False", reason="DependencyNotReady")
    cluster.create("VPC", "main", _spec(cidrBlock="10.0.0.0/16"))
    vpc = cluster.wait_ready("VPC", "main")
    subnet = cluster.wait_ready("Subnet", "a")

    by_ids = by_ids_of(spans)
    made_ready = vpc["status"]["lastChangeTrace"]
    vpc_span = by_ids[(made_ready["traceId"], made_ready["spanId"])]
    assert vpc_span.name == "reconcile VPC" and vpc_span.parent_id is None
    assert vpc_span.attributes["infra_operator.resource.name"] == "main"
    created = [e for e in cluster.kube.events(cluster.namespace, "main") if e.get("reason") == "Created"]
    assert created and created[0]["message"].endswith(f"(trace {made_ready['traceId']})"), created

    # The subnet's run after the wake made the subnet, and links to the VPC's Ready-making span.
    subnet_change = subnet["status"]["lastChangeTrace"]
    subnet_span = by_ids[(subnet_change["traceId"], subnet_change["spanId"])]
    assert subnet_span.name == "reconcile Subnet" and subnet_span.trace_id != vpc_span.trace_id
    (link,) = subnet_span.links
    assert (link.trace_id, link.span_id) == (made_ready["traceId"], made_ready["spanId"])
    assert link.attributes == {"infra_operator.link.cause": "dependency_ready",
                               "infra_operator.link.object": "VPC/main"}
    # The runs that only waited link to nothing.
    waited = [s for s in spans.spans() if s.name == "reconcile Subnet" and s.trace_id != subnet_change["traceId"]
              and s.attributes["k8s.namespace.name"] == cluster.namespace]
    assert waited and not any(s.links for s in waited)

    # A resync that changes nothing leaves the recorded trace alone (no extra status write).
    def resyncs() -> list:
        return [s for s in spans.spans() if s.name == "reconcile VPC" and s.attributes["infra_operator.trigger"] == "resync"
                and s.attributes["k8s.namespace.name"] == cluster.namespace]
    cluster.kube.wait_for(resyncs, until=lambda found: len(found) >= 2, timeout=30, what="two VPC resyncs")
    assert cluster.get("VPC", "main")["status"]["lastChangeTrace"] == made_ready

    # A drift heal is a change: its event and the status name the healing run's trace.
    vpc_id = vpc["status"]["vpcId"]
    cluster.aws.client("ec2").create_tags(Resources=[vpc_id], Tags=[{"Key": "team", "Value": "someone-else"}])
    cluster.wait_event("main", "DriftHealed", timeout=30)
    healed = cluster.get("VPC", "main")["status"]["lastChangeTrace"]
    assert healed != made_ready
    heal_span = by_ids_of(spans)[(healed["traceId"], healed["spanId"])]
    assert heal_span.attributes["infra_operator.trigger"] == "resync"
    (event,) = [e for e in cluster.kube.events(cluster.namespace, "main") if e.get("reason") == "DriftHealed"]
    assert event["message"].endswith(f"(trace {healed['traceId']})")
    assert condition(cluster.get("VPC", "main"))["status"] == "True"


def by_ids_of(spans) -> dict:
    return {(span.trace_id, span.span_id): span for span in spans.spans()}
