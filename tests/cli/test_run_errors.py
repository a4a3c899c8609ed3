"""`infra-operator run` refuses to start in one clear line (no traceback) when there is no
cluster, the cluster is unreachable, our CRDs are missing, the metrics port is taken or a flag
is wrong."""

from __future__ import annotations

import os
import pathlib
import socket
import subprocess
import sys

import pytest

from harness.kube import ClusterAccess, EmulatorServer, KubeClient
from infra_operator.operator.crds import all_crds
from infra_operator.operator.kinds import all_kinds
from local_process import free_port

ALL_CRDS = ["awsproviders", *(kind.plural for kind in all_kinds())]


def run_operator(*args: str, env: dict[str, str], timeout: float = 30) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith(("OTEL_", "INFRA_OPERATOR_", "KUBECONFIG"))}
    return subprocess.run([sys.executable, "-m", "infra_operator.cli", "run", "--liveness-address", "off",
                           *args], env={**environment, **env}, capture_output=True, text=True, timeout=timeout)


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.splitlines()
    assert " ERROR " in line
    return line.split("] ", 1)[1]


def kubeconfig_for(server: str, path: pathlib.Path) -> dict[str, str]:
    return {"KUBECONFIG": str(ClusterAccess(server=server).write_kubeconfig(path))}


def test_no_cluster_configured(tmp_path: pathlib.Path) -> None:
    result = run_operator("--metrics-address", "off", env={"HOME": str(tmp_path)})
    assert one_error_line(result) == ("no Kubernetes cluster configured: no in-cluster service account and no "
                                      "kubeconfig (set KUBECONFIG or create ~/.kube/config)")


def test_a_kubeconfig_that_does_not_exist(tmp_path: pathlib.Path) -> None:
    missing = tmp_path / "nowhere" / "config"
    result = run_operator("--metrics-address", "off", env={"KUBECONFIG": str(missing)})
    assert one_error_line(result) == (f"cannot log in to the Kubernetes API: FileNotFoundError: [Errno 2] "
                                      f"No such file or directory: '{missing}'")


def test_an_unreachable_cluster(tmp_path: pathlib.Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    result = run_operator("--metrics-address", "off", env=kubeconfig_for(closed, tmp_path / "kubeconfig"))
    assert one_error_line(result) == f"cannot reach the Kubernetes API at {closed}: [Errno 111] Connection refused"


@pytest.mark.parametrize("installed", [[], ["awsproviders"]], ids=["none", "provider-only"])
def test_missing_crds_are_named_with_the_command_to_install_them(tmp_path: pathlib.Path, installed: list[str]) -> None:
    with EmulatorServer() as emulator:
        KubeClient.for_server(emulator.url).apply_crds(
            crd for crd in all_crds() if crd["spec"]["names"]["plural"] in installed)
        result = run_operator("--metrics-address", "off", env=kubeconfig_for(emulator.url, tmp_path / "kubeconfig"))
    missing = ", ".join(f"{plural}.aws.infra-operator.dev" for plural in ALL_CRDS if plural not in installed)
    assert one_error_line(result) == (f"CRDs not installed: {missing}; install them with `kubectl apply -k crds/` "
                                      "from the repository, or render them with `python -m "
                                      "infra_operator.operator.crds DIR` and `kubectl apply -f DIR`")


def test_a_taken_metrics_port(kube: KubeClient, tmp_path: pathlib.Path) -> None:
    """The session's cluster (emulated, or KUBECONFIG's) has our CRDs: only the port is wrong."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        result = run_operator("--metrics-address", address,
                              env={"KUBECONFIG": str(kube.access.write_kubeconfig(tmp_path / "kubeconfig"))})
    assert one_error_line(result) == (f"cannot serve /metrics on {address}: Address already in use; choose "
                                      "another address with --metrics-address HOST:PORT (or 'off')")


@pytest.mark.parametrize(("args", "env", "message"), [
    (["--resync-interval", "soon"], {}, "argument --resync-interval: expected a number of seconds, got 'soon'"),
    (["--metrics-address", "8080"], {}, "argument --metrics-address: expected host:port or 'off', got '8080'"),
    ([], {"INFRA_OPERATOR_RESYNC_INTERVAL": "-1"},
     "argument --resync-interval: expected a positive number of seconds, got '-1'"),
    (["--log-format", "xml"], {}, "argument --log-format: invalid choice: 'xml' (choose from 'text', 'json')"),
])
def test_a_bad_flag_or_variable_is_a_usage_error(args: list[str], env: dict[str, str], message: str) -> None:
    result = run_operator(*args, env=env)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1] == f"infra-operator run: error: {message}"
