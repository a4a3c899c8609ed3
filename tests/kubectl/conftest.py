"""The real `kubectl` against the API emulation (or the ``KUBECONFIG`` cluster), with moto and the
operator running: what a user of the sandbox types."""
from __future__ import annotations

import dataclasses
import pathlib
import secrets
import subprocess
from collections.abc import Iterator

import pytest

from e2e.runner import InProcessOperator, kube_server, test_config
from harness.kube import KubeClient
from infra_operator.telemetry import TelemetrySettings, setup_telemetry


@dataclasses.dataclass
class Kubectl:
    """Runs kubectl with a kubeconfig whose context's namespace is the test's, and a discovery
    cache of its own; counts the commands it ran."""

    binary: str
    kubeconfig: pathlib.Path
    cache_dir: pathlib.Path
    commands: list[str] = dataclasses.field(default_factory=list)

    def __call__(self, *args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        self.commands.append(args[0])
        result = subprocess.run([self.binary, "--kubeconfig", str(self.kubeconfig), "--cache-dir", str(self.cache_dir),
                                 *args], input=stdin, capture_output=True, text=True, timeout=180)
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} exited with {result.returncode}:\n"
                                 f"{result.stdout}\n{result.stderr}")
        return result


@pytest.fixture(scope="module")
def operator(kube: KubeClient, aws) -> Iterator[InProcessOperator]:
    telemetry = setup_telemetry(TelemetrySettings.from_env(environ={}))
    try:
        # No check here waits for a resync: resyncing every sample object every 2 s (test_config)
        # only competes with the emulator serving kubectl, in this process.
        config = test_config(kube_server(kube), resync_interval=300.0)
        with InProcessOperator(config, telemetry) as running:
            yield running
    finally:
        telemetry.shutdown()


@pytest.fixture(scope="module")
def kubectl(kubectl_binary: str, kube: KubeClient, tmp_path_factory: pytest.TempPathFactory,
            request: pytest.FixtureRequest) -> Iterator[Kubectl]:
    """kubectl in a fresh namespace of its own (deleted afterwards)."""
    folder = tmp_path_factory.mktemp("kubectl")
    namespace = f"kubectl-{request.module.__name__.rsplit('.', 1)[-1].replace('_', '-')}"[:50] + \
        f"-{secrets.token_hex(3)}"
    kube.create_namespace(namespace)
    access = dataclasses.replace(kube.access, default_namespace=namespace)
    kubeconfig = access.write_kubeconfig(folder / "kubeconfig", name="kubectl-tests")
    tool = Kubectl(kubectl_binary, kubeconfig, folder / "cache")
    yield tool
    kube.delete_namespace(namespace)
