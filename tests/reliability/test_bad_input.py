"""Bad input: every case of the corpus (bad_input.py) is rejected by the schema, or answered by
the operator with Ready=False, its specific reason and a Warning event; the operator neither
crashes nor spins, and still reconciles a good object afterwards."""

from __future__ import annotations

import os
import time

from harness.kube import ApiError

from e2e.resources import Cluster, condition

from .bad_input import CASES, Case
from .support import operator_process, owned_in_aws, wait_provider_ready

QUIET_SECONDS = 3.0


def warnings(kube, namespace: str) -> dict[str, list[str]]:
    """Reasons of the Warning events, by object name."""
    found: dict[str, list[str]] = {}
    for event in kube.events(namespace):
        if event.get("type") == "Warning":
            found.setdefault(event["involvedObject"]["name"], []).append(event.get("reason"))
    return found


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


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

        # Never spins: final answers are not retried, the others only at their retry delay.
        before, cpu_before = warnings(kube, namespace), cpu_seconds(process.process.pid)
        time.sleep(QUIET_SECONDS)
        after, cpu_used = warnings(kube, namespace), cpu_seconds(process.process.pid) - cpu_before
        for case in answered:
            runs = len(after[case.name]) - len(before[case.name])
            assert runs <= (1 if case.retries else 0), f"{case.name} ran {runs} times in {QUIET_SECONDS}s"
        assert cpu_used < QUIET_SECONDS * 0.25, f"{cpu_used:.2f}s of CPU in {QUIET_SECONDS}s"

        # Still alive and reconciling.
        cluster.create("ElasticIP", "good", {"providerRef": {"name": "aws"}})
        assert condition(cluster.wait_ready("ElasticIP", "good"))["reason"] == "Available"
        assert process.process.poll() is None
        # The missing provider appears: what waited for it goes on (and can be deleted).
        cluster.create_provider("nowhere")
        cluster.wait_ready("ElasticIP", "eip-unknown-provider", timeout=30)
        cluster.delete_everything()
    print(f"\nbad input: {len(CASES)} cases, {sum(1 for c in CASES if c.rejected)} refused by the schema, "
          f"{len(answered)} answered ({sum(1 for c in answered if c.retries)} retried), "
          f"{cpu_used:.2f}s CPU in {QUIET_SECONDS:g}s quiet")
