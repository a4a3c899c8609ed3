"""`infra-operator sandbox --drift --show-traces` end to end, as a child process: the samples
become Ready (read through the emulated Kubernetes API), /metrics serves the catalog with the
right counts, out-of-band changes show up as drift detected and healed, span trees with AWS
calls are printed, and Ctrl-C stops everything cleanly. One run serves those tests; a second,
plain converge shows that a healthy run logs no WARNING or ERROR."""

from __future__ import annotations

import collections
import json
import os
import pathlib
import re
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass

import pytest

from e2e.resources import API_VERSION, condition
from harness.kube import KubeClient
from infra_operator.telemetry import catalog, parse_samples
from otlp_receiver import HttpReceiver
from tools import find_tool

from .conftest import Sandbox, sample_objects

Samples = dict[tuple[str, frozenset], float]


def scrape(sandbox: Sandbox) -> Samples:
    return parse_samples(urllib.request.urlopen(sandbox.metrics_url, timeout=5).read().decode())


def value(samples: Samples, metric: str, **labels: str) -> float:
    return samples.get((metric, frozenset(labels.items())), 0.0)


# Out-of-band changes the drift injector makes, and the drift each must cause.
EXPECTED_DRIFT = {("VPC", "info"), ("SecurityGroup", "critical"), ("ElasticIP", "critical")}


def drift_seen(samples: Samples) -> bool:
    """Every kind of drift detected; tags and rules healed; the released address re-created
    (two sample addresses allocated, then one more)."""
    return (all(value(samples, catalog.DRIFT_DETECTED.name, resource_type=kind, severity=severity) >= 1
                for kind, severity in EXPECTED_DRIFT)
            and value(samples, catalog.DRIFT_HEALED.name, resource_type="VPC") >= 1
            and value(samples, catalog.DRIFT_HEALED.name, resource_type="SecurityGroup") >= 1
            and value(samples, catalog.AWS_API_CALLS.name, service="EC2", operation="AllocateAddress",
                      result="success") >= 3)


@dataclass
class Run:
    objects: dict[tuple[str, str], dict]  # (kind, name) -> the object, read once all were Ready
    ready_metrics: Samples  # /metrics when all were Ready
    metrics_text: str
    drift_metrics: Samples  # /metrics once every kind of drift was detected
    kubectl_listing: str | None  # `kubectl get aws -o name` with the printed KUBECONFIG (None: no kubectl)
    kubeconfig: pathlib.Path
    exit_code: int
    stdout: str
    stderr: str
    running_until_interrupted: bool  # Ctrl-C stopped it, not its --duration


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    sandbox = Sandbox(tmp_path_factory.mktemp("sandbox"), "--drift", "--drift-interval", "1",
                      "--resync-interval", "1", "--show-traces", "--duration", "120")
    try:
        kube_url = sandbox.wait_output(r"Kubernetes API\s+(http://\S+)").group(1)
        kubeconfig = pathlib.Path(sandbox.wait_output(r"export KUBECONFIG=(\S+)").group(1))
        sandbox.wait_output(r"all \d+ objects Ready")
        kubectl = find_tool("kubectl")
        kubectl_listing = subprocess.run(
            [kubectl, "--cache-dir", str(kubeconfig.parent / "cache"), "get", "aws", "-o", "name"],
            env={**os.environ, "KUBECONFIG": str(kubeconfig)}, capture_output=True, text=True, timeout=60,
            check=True).stdout if kubectl else None
        kube = KubeClient.for_server(kube_url)
        objects = {(kind, name): kube.get(API_VERSION, kind, "default", name) for kind, name in sample_objects()}
        ready_metrics = scrape(sandbox)
        metrics_text = urllib.request.urlopen(sandbox.metrics_url, timeout=5).read().decode()
        deadline = time.monotonic() + 30
        while not drift_seen(drift_metrics := scrape(sandbox)) and time.monotonic() < deadline:
            time.sleep(0.5)
        running_until_interrupted = sandbox.process.poll() is None
        exit_code = sandbox.interrupt()
    finally:
        if sandbox.process.poll() is None:
            sandbox.process.kill()
    return Run(objects, ready_metrics, metrics_text, drift_metrics, kubectl_listing, kubeconfig, exit_code,
               sandbox.stdout(), sandbox.stderr(), running_until_interrupted)


def test_every_sample_object_becomes_ready(run: Run) -> None:
    assert len(run.objects) == len(sample_objects())
    not_ready = {key: condition(obj) for key, obj in run.objects.items() if condition(obj).get("status") != "True"}
    assert not not_ready
    assert run.objects[("AWSProvider", "aws")]["spec"]["endpoint"].startswith("http://127.0.0.1:")
    assert f"all {len(sample_objects())} objects Ready" in run.stdout


def test_kubectl_works_with_the_printed_kubeconfig(run: Run, kubectl_binary: str) -> None:
    assert run.kubectl_listing is not None
    assert sorted(run.kubectl_listing.split()) == sorted(f"{kind.lower()}.{API_VERSION.split('/')[0]}/{name}"
                                                         for kind, name in run.objects)
    assert not run.kubeconfig.exists()  # removed when the sandbox stopped


def test_metrics_serve_the_catalog_with_the_resource_counts(run: Run) -> None:
    families = {line.split()[2] for line in run.metrics_text.splitlines() if line.startswith("# TYPE ")}
    assert families <= set(catalog.BY_NAME)
    recorded_by_this_run = {catalog.RECONCILE_TOTAL, catalog.RECONCILE_DURATION, catalog.RECONCILE_ERRORS,
                            catalog.RESOURCES, catalog.RESOURCE_CREATION_TIMESTAMP, catalog.AWS_API_CALLS,
                            catalog.AWS_API_CALL_DURATION, catalog.DRIFT_DETECTION_DURATION, catalog.PROVIDER_READY,
                            catalog.WORKQUEUE_DEPTH, catalog.WORKQUEUE_ADDS, catalog.CACHE_HITS, catalog.CACHE_MISSES}
    assert {spec.name for spec in recorded_by_this_run} <= families
    expected = collections.Counter(kind for kind, _ in run.objects)
    for kind, count in expected.items():
        assert value(run.ready_metrics, catalog.RESOURCES.name, resource_type=kind, status="ready") == count, kind
        for status in ("notready", "pending", "deleting", "error"):
            assert value(run.ready_metrics, catalog.RESOURCES.name, resource_type=kind, status=status) == 0
    assert value(run.ready_metrics, catalog.PROVIDER_READY.name, provider_name="default/aws", region="us-east-1") == 1
    assert value(run.ready_metrics, catalog.AWS_API_CALLS.name, service="EC2", operation="CreateVpc",
                 result="success") == 1


def test_drift_injected_out_of_band_is_detected_and_healed(run: Run) -> None:
    assert drift_seen(run.drift_metrics), {key: v for key, v in run.drift_metrics.items() if "drift" in key[0]}
    for change in ("retagged vpc-", "opened tcp/22 from 0.0.0.0/0 on sg-", "released eipalloc-"):
        assert f"drift injected: {change}" in run.stdout


def test_show_traces_prints_span_trees_with_aws_calls(run: Run) -> None:
    lines = run.stdout.splitlines()
    created = lines.index(next(line for line in lines
                               if line.startswith("reconcile SecurityGroup default/web · create · success")))
    tree = lines[created + 1:created + 8]
    assert any(line.startswith(("├─ EC2.CreateSecurityGroup · ok · ", "└─ EC2.CreateSecurityGroup · ok · "))
               and line.endswith(" ms") for line in tree), tree
    healed = [i for i, line in enumerate(lines) if "drift critical: ingress" in line]
    assert healed and lines[healed[0] - 1].startswith("reconcile SecurityGroup default/web · resync · success")
    assert any("EC2.RevokeSecurityGroupIngress · ok" in line for line in lines[healed[0]:healed[0] + 5])
    assert any("EC2.DescribeAddresses · error: InvalidAllocationID.NotFound" in line for line in lines)


def test_ctrl_c_stops_everything_cleanly(run: Run) -> None:
    assert run.exit_code == 0, run.stderr[-3000:]
    assert "Traceback" not in run.stdout + run.stderr
    assert "stopping: operator, Kubernetes API emulation, AWS endpoint" in run.stdout
    assert run.stdout.rstrip().splitlines()[-1].startswith("Injected ")  # the final summary closes the output
    assert run.running_until_interrupted


def test_duration_stops_by_itself_and_otlp_export_is_flushed(tmp_path: pathlib.Path) -> None:
    with HttpReceiver() as receiver:
        sandbox = Sandbox(tmp_path, "--duration", "3", env={"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint})
        assert sandbox.wait() == 0, sandbox.stderr()[-3000:]
    output = sandbox.stdout()
    assert f"OTLP export     {receiver.endpoint}/v1/traces" in output
    assert "stopping: operator" in output and "Traceback" not in output + sandbox.stderr()
    assert f"/{len(sample_objects())} Ready" in output
    # Every kind the final summary counts reconciles of had them exported at shutdown (how many
    # a loaded machine gets through in 3 s does not matter), and the metrics were pushed.
    reconciled = reconciled_kinds(output)
    spans = {span.name for span in receiver.spans()}
    assert {f"reconcile {kind}" for kind in reconciled} <= spans, (reconciled, spans)
    if "AWSProvider" in reconciled:
        assert {"provider check", "STS.GetCallerIdentity"} <= spans
    assert receiver.metrics(catalog.RECONCILE_TOTAL.name)


def reconciled_kinds(output: str) -> set[str]:
    """The kinds with at least one reconcile in the last summary table the sandbox printed."""
    table = output[output.rindex("KIND "):].split("\n\n", 1)[0].splitlines()[1:]
    return {row.split()[0] for row in table if sum(map(int, row.split()[6].split("/"))) > 0}


def test_a_taken_metrics_port_is_reported_in_one_line(tmp_path: pathlib.Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        sandbox = Sandbox(tmp_path, metrics_port=port)
        assert sandbox.wait() == 1
    (line,) = sandbox.stderr().splitlines()
    assert line.startswith(f"infra-operator sandbox: error: cannot serve /metrics on 127.0.0.1:{port}: "
                           "Address already in use; choose another address with --metrics-address"), line


@pytest.mark.parametrize("flag", ["--aws-address", "--kube-address"])
def test_a_taken_server_port_is_reported_in_one_line(tmp_path: pathlib.Path, flag: str) -> None:
    """The servers start in child processes: why one cannot listen still comes back as one line."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        sandbox = Sandbox(tmp_path, flag, address)
        assert sandbox.wait() == 1
    (line,) = sandbox.stderr().splitlines()
    assert line.startswith(f"infra-operator sandbox: error: cannot listen on {address} ({flag}): "), line
    assert line.endswith(f"Address already in use; choose another with {flag} HOST:PORT (port 0 picks a free one)"), line


def test_a_healthy_converge_logs_no_warning_or_error_and_sigterm_stops_it(tmp_path: pathlib.Path) -> None:
    log_path = tmp_path / "operator.log"
    sandbox = Sandbox(tmp_path, "--log-format", "json", "--log-file", str(log_path), "--duration", "120")
    try:
        sandbox.wait_output(r"all \d+ objects Ready", timeout=90)
        sandbox.process.send_signal(signal.SIGTERM)
        exit_code = sandbox.wait(30)  # the exit itself: its time is measured by bench/log_levels.py
    finally:
        if sandbox.process.poll() is None:
            sandbox.process.kill()
    assert exit_code == 0, sandbox.stderr()[-3000:]
    lines = [json.loads(line) for line in log_path.read_text().splitlines()]
    assert not [line for line in lines if line["level"] in ("warning", "error", "critical")]
    # One INFO line per object as it becomes Ready, naming it in fields a log query can use.
    became_ready = [line for line in lines if line["logger"] == "infra_operator.objects" and " is Ready: " in line["message"]]
    assert sorted((line["kind"], line["name"]) for line in became_ready) == sorted(sample_objects())
    assert all(line["namespace"] == "default" and line["reason"] in ("Available", "CredentialsVerified")
               and len(line["trace_id"]) == 32 for line in became_ready)  # the trace of the reconcile
    assert all("trace_id" in line and "span_id" in line for line in lines)
    # kopf's lines about every handler run and every resync are DEBUG.
    assert not [line for line in lines if re.search(r"' succeeded\.|failed temporarily|is processed: ", line["message"])]
