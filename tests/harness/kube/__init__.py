"""The Kubernetes side of the test harness: an API server emulation and a kubectl-like client."""
from harness.kube.client import ClusterAccess, KubeClient, load_yaml_documents, wait_for
from harness.kube.emulator import EmulatorServer, KubeEmulator
from harness.kube.errors import ApiError

__all__ = ["ApiError", "ClusterAccess", "EmulatorServer", "KubeClient", "KubeEmulator", "load_yaml_documents",
           "wait_for"]
