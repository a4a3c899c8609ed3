"""What the operator benchmarks share: the moto server and the Kubernetes API emulation on
loopback (through tests/harness, as the tests use them), the real operator (`infra-operator run`
in a subprocess), a namespace with a Ready AWSProvider, N ElasticIPs applied at once, CPU and
memory of a process, and medians. Run the benchmarks from the repository root with the venv's
python."""

from __future__ import annotations

import multiprocessing
import os
import pathlib
import statistics
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from e2e.resources import API_VERSION, Cluster, condition  # noqa: E402
from e2e.runner import SubprocessOperator  # noqa: E402
from harness.aws import MotoServer, index_tags  # noqa: E402
from harness.kube import EmulatorServer, KubeClient, load_yaml_documents  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

PROVIDER = "aws"


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def timed(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def _serve_emulator(pipe: Connection) -> None:
    """In the emulator's process: serve until the parent says stop (or is gone)."""
    with EmulatorServer() as emulator:
        pipe.send(emulator.url)
        try:
            pipe.recv()
        except EOFError:
            pass


@contextmanager
def emulator_process() -> Iterator[str]:
    """The API emulation in a process of its own, so that it and moto, which both answer the
    operator, do not take turns on one interpreter lock; yields its URL."""
    ours, theirs = multiprocessing.get_context("spawn").Pipe()
    process = multiprocessing.get_context("spawn").Process(target=_serve_emulator, args=(theirs,), daemon=True)
    process.start()
    try:
        yield ours.recv()
    finally:
        ours.send("stop")
        process.join(10)


@contextmanager
def aws_and_kube() -> Iterator[tuple[MotoServer, KubeClient]]:
    """A warmed-up moto server in this process (tags indexed, see `index_tags`) and an API
    emulation with our CRDs in another, for one benchmark run."""
    index_tags()
    with emulator_process() as url, MotoServer() as aws:
        aws.warm_up()
        kube = KubeClient.for_server(url)
        documents = load_yaml_documents(sorted((REPO / "crds").glob("*.yaml")))
        kube.apply_crds(doc for doc in documents if doc.get("kind") == "CustomResourceDefinition")
        yield aws, kube


@contextmanager
def operator(kube: KubeClient, namespace: str, *args: str) -> Iterator[SubprocessOperator]:
    """`infra-operator run` serving one namespace; `args` override the runner's test timings.
    Killed at the end: kopf's graceful stop waits 5 s for hung tasks, which a benchmark need not."""
    running = SubprocessOperator(kube.access.server, "--namespace", namespace, *args).start()
    try:
        running.wait_metrics(timeout=60)
        yield running
    finally:
        if running.process.poll() is not None:
            print(running.log()[-4000:], file=sys.stderr)
        running.kill()


def namespace_with_provider(kube: KubeClient, aws: MotoServer, namespace: str) -> Cluster:
    """A namespace and its AWSProvider (Ready once an operator serves the namespace)."""
    kube.create_namespace(namespace)
    cluster = Cluster(kube, aws, namespace)
    cluster.create_provider(PROVIDER)
    return cluster


def apply_elastic_ips(cluster: Cluster, count: int, prefix: str = "eip") -> list[str]:
    names = [f"{prefix}-{index:05d}" for index in range(count)]
    for name in names:
        cluster.create("ElasticIP", name, {"providerRef": {"name": PROVIDER}, "tags": {"bench": "yes"}})
    return names


def ready_count(cluster: Cluster, kind: str = "ElasticIP") -> int:
    return sum(condition(obj).get("status") == "True" for obj in cluster.kube.list(API_VERSION, kind, cluster.namespace))


def wait_all_ready(cluster: Cluster, count: int, timeout: float, kind: str = "ElasticIP", poll: float = 0.25) -> None:
    deadline = time.monotonic() + timeout
    while (ready := ready_count(cluster, kind)) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{ready} of {count} {kind} Ready after {timeout}s")
        time.sleep(poll)


def metric_total(url: str, name: str, **labels: str) -> float:
    """The sum of one metric's samples on a /metrics endpoint, over the samples matching `labels`."""
    with urllib.request.urlopen(url, timeout=30) as response:
        text = response.read().decode()
    return sum(sample.value for family in text_string_to_metric_families(text) for sample in family.samples
               if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()))


def wait_metric(url: str, name: str, at_least: float, timeout: float, poll: float = 0.5, **labels: str) -> float:
    deadline = time.monotonic() + timeout
    while (value := metric_total(url, name, **labels)) < at_least:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{name} {labels} = {value} < {at_least} after {timeout}s")
        time.sleep(poll)
    return value


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far, from /proc (Linux)."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_bytes(pid: int) -> int:
    """Resident set size of a process, from /proc (Linux)."""
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise LookupError(f"no VmRSS for pid {pid}")
