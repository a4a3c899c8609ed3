"""Bad input: every case of the corpus (bad_input.py) is rejected by the schema, or answered by
the operator with Ready=False, its specific reason and a Warning event; the operator neither
crashes nor spins, and still reconciles a good object afterwards. Spinning is judged by counts
(events, handler runs) against what the retry delays and intervals allow, never by CPU time."""

from __future__ import annotations

import time

from harness.kube import ApiError

from e2e.resources import Cluster, condition
from e2e.test_elasticip import samples

from .bad_input import CASES, Case
from .support import operator_process, owned_in_aws, wait_provider_ready

# The shortest retry delay of the retried cases (an AWSProvider whose credentials Secret is
# missing or incomplete: docs/engine.md) and the intervals the test operator runs with
# (tests/e2e/runner.py). Cases waiting for a missing object are not retried at all.
RETRY_DELAY = 5.0
RESYNC_INTERVAL = 2.0
PROVIDER_CHECK_INTERVAL = 5.0


def warnings(kube, namespace: str) -> dict[str, list[str]]:
    """Reasons of the Warning events, by object name."""
    found: dict[str, list[str]] = {}
    for event in kube.events(namespace):
        if event.get("type") == "Warning":
            found.setdefault(event["involvedObject"]["name"], []).append(event.get("reason"))
    return found


def handler_runs(metrics_url: str) -> float:
    """Reconcile, finalize and AWSProvider check runs that reached the engine, every kind."""
    return sum(count for (name, _), count in samples(metrics_url).items()
               if name == "infra_operator_workqueue_adds_total")


def at_most(runs: float, seconds: float, interval: float) -> float:
    """Runs of one object `interval` apart (a retry delay, a timer) that fit in `seconds`."""
    return runs * (1 + seconds // interval)


def create(cluster: Cluster, case: Case) -> set[str] | None:
    """The fields a 422 names, or None when the object was accepted."""
    try:
        cluster.create(case.kind, case.name, case.spec)
    except ApiError as error:
        assert error.code == 422, f"{case.name}: {error}"
        return {cause["field"] for cause in error.details.get("causes", [])}
    return None


def test_malformed_objects_are_rejected_or_answered_and_never_spin(kube, aws, namespace):
    cluster = Cluster(kube, aws, namespace)
    kube.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "incomplete", "namespace": namespace},
                 "stringData": {"AWS_ACCESS_KEY_ID": "AKIDONLY"}})
    with operator_process(kube, namespace) as process:
        cluster.create_provider("aws")
        wait_provider_ready(kube, process, f"{namespace}/aws")
        cluster.create("VPC", "net", {"providerRef": {"name": "aws"}, "cidrBlock": "10.0.0.0/16"})
        net = cluster.wait_ready("VPC", "net")

        refused = {case.name: create(cluster, case) for case in CASES}
        for case in CASES:
            if case.rejected:
                assert case.rejected in (refused[case.name] or ()), f"{case.name}: {refused[case.name]}"
            else:
                assert refused[case.name] is None, f"{case.name} refused by the schema: {refused[case.name]}"
        answered = [case for case in CASES if case.reason]
        for case in answered:
            cluster.wait_condition(case.kind, case.name, status="False", reason=case.reason)
        kube.wait_for(lambda: warnings(kube, namespace),
                      until=lambda seen: all(case.reason in seen.get(case.name, ()) for case in answered),
                      what="a Warning event with the reason for every answered case")
        # None of it made anything in AWS.
        assert owned_in_aws(aws, namespace) == {net["metadata"]["uid"]: [net["status"]["vpcId"]]}

        # Never spins: final answers are not retried, the others only at their retry delay. The
        # window lasts until every retried case has been retried once more (a count, not a sleep);
        # the runs it may hold follow from its length, so a slow machine only allows more.
        retried = [case for case in answered if case.retries]
        started = time.monotonic()
        before, runs_before = warnings(kube, namespace), handler_runs(process.metrics_url)
        after = kube.wait_for(lambda: warnings(kube, namespace), timeout=60,
                              until=lambda seen: all(len(seen[case.name]) > len(before[case.name]) for case in retried),
                              what="every retried case retried once more")
        runs, window = handler_runs(process.metrics_url) - runs_before, time.monotonic() - started
        for case in answered:
            new = len(after[case.name]) - len(before[case.name])
            allowed = at_most(1, window, RETRY_DELAY) if case.retries else 0
            assert new <= allowed, f"{case.name} ran {new} times in {window:.1f}s"
        # The retried cases, the VPC's resyncs and the provider's checks; every other case is final.
        allowed = (at_most(len(retried), window, RETRY_DELAY) + at_most(1, window, RESYNC_INTERVAL)
                   + at_most(1, window, PROVIDER_CHECK_INTERVAL))
        assert runs <= allowed, f"{runs:g} handler runs in {window:.1f}s, at most {allowed:g} expected"

        # Still alive and reconciling.
        cluster.create("ElasticIP", "good", {"providerRef": {"name": "aws"}})
        assert condition(cluster.wait_ready("ElasticIP", "good"))["reason"] == "Available"
        assert process.process.poll() is None
        # The missing provider appears: what waited for it goes on (and can be deleted).
        cluster.create_provider("nowhere")
        cluster.wait_ready("ElasticIP", "eip-unknown-provider", timeout=30)
        cluster.delete_everything()
    print(f"\nbad input: {len(CASES)} cases, {sum(1 for c in CASES if c.rejected)} refused by the schema, "
          f"{len(answered)} answered ({len(retried)} retried), {runs:g} handler runs in {window:.1f}s")
