"""Session fixtures for end-to-end tests: ``aws`` (moto), ``kube`` (Kubernetes) and ``namespace``."""
from __future__ import annotations

import os
import pathlib
import re
import secrets
from collections.abc import Iterator

import pytest

from harness.aws import MotoServer
from harness.kube import EmulatorServer, KubeClient, load_yaml_documents
from tools import require_tool

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
CRD_DIR = REPO_ROOT / "crds"
_AWS_SERVER = pytest.StashKey[MotoServer]()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """`@pytest.mark.tools(...)`: each tool is required (tests/tools.py) before any fixture runs."""
    for mark in item.iter_markers("tools"):
        for name in mark.args:
            require_tool(name)


@pytest.fixture(scope="session")
def aws(request: pytest.FixtureRequest) -> Iterator[MotoServer]:
    """One moto server per session, warmed up; its faults and call log are cleared after each test."""
    server = MotoServer().start()
    server.warm_up()
    request.config.stash[_AWS_SERVER] = server
    yield server
    del request.config.stash[_AWS_SERVER]
    server.stop()


@pytest.fixture(autouse=True)
def _clear_aws_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    server = request.config.stash.get(_AWS_SERVER, None)
    if server is not None:
        server.faults.clear()
        server.calls.clear()


@pytest.fixture(scope="session")
def kube() -> Iterator[KubeClient]:
    """A KubeClient on the cluster of ``KUBECONFIG`` if set, otherwise on a fresh API emulator;
    the CRDs of ``crds/*.yaml`` are installed (created or replaced) either way."""
    emulator = None
    if os.environ.get("KUBECONFIG"):
        client = KubeClient.from_kubeconfig(os.environ["KUBECONFIG"].split(os.pathsep)[0])
    else:
        emulator = EmulatorServer().start()
        client = KubeClient.for_server(emulator.url, emulator=emulator)
    try:
        documents = load_yaml_documents(sorted(CRD_DIR.glob("*.yaml")))
        client.apply_crds(doc for doc in documents if doc.get("kind") == "CustomResourceDefinition")
        yield client
    finally:
        if emulator is not None:
            emulator.stop()


@pytest.fixture
def namespace(kube: KubeClient, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace named after the test, deleted afterwards."""
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:40].strip("-")
    name = f"{slug}-{secrets.token_hex(3)}"
    kube.create_namespace(name)
    yield name
    kube.delete_namespace(name)


@pytest.fixture(scope="session")
def kubectl_binary() -> str:
    """kubectl's path (tests/tools.py: skipped without it on a laptop, a failure in CI)."""
    return require_tool("kubectl")
