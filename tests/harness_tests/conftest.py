"""The harness's own test kind: Widget (widget-crd.yaml), installed once per session."""
from __future__ import annotations

import pathlib
from collections.abc import Callable
from typing import Any

import pytest

from harness.kube import KubeClient, load_yaml_documents

WIDGET_API_VERSION = "harness.example.com/v1"
WidgetFactory = Callable[..., dict[str, Any]]


@pytest.fixture(scope="session")
def widgets(kube: KubeClient) -> None:
    kube.apply_crds(load_yaml_documents([pathlib.Path(__file__).with_name("widget-crd.yaml")]))


@pytest.fixture
def widget(widgets: None, namespace: str) -> WidgetFactory:
    """Builds a valid Widget in the test's namespace; keyword arguments override spec fields."""
    def build(name: str, **spec: Any) -> dict[str, Any]:
        return {"apiVersion": WIDGET_API_VERSION, "kind": "Widget",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {"size": 1, "cidrBlock": "10.0.0.0/16", **spec}}
    return build
