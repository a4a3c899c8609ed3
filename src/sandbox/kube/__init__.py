"""The Kubernetes API emulation over HTTP (for the sandbox and the tests) and a kubectl-like client."""
from .client import ClusterAccess, KubeClient, load_yaml_documents, wait_for
from .emulator import EmulatorServer, KubeEmulator
from .errors import ApiError

__all__ = ["ApiError", "ClusterAccess", "EmulatorServer", "KubeClient", "KubeEmulator", "load_yaml_documents",
           "wait_for"]
