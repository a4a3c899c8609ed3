"""A real kopf operator, in-process, against the ``kube`` fixture: the proof that the emulator
gives kopf what it needs, and the worked example of running kopf against the harness."""
from __future__ import annotations

import asyncio
import collections
import contextlib
import pathlib
from collections.abc import AsyncIterator, Callable

import kopf
import pytest

from harness.kube import ApiError, KubeClient

pytestmark = pytest.mark.e2e

GROUP, VERSION, PLURAL = "harness.example.com", "v1", "widgets"
API_VERSION = f"{GROUP}/{VERSION}"
FINALIZER = "harness.example.com/test-operator"


class Calls:
    """What the handlers saw, by handler name."""

    def __init__(self) -> None:
        self.by_handler: dict[str, list[tuple]] = collections.defaultdict(list)

    def names(self, handler: str) -> list[str]:
        return [call[0] for call in self.by_handler[handler]]


def widget_operator(kube: KubeClient, calls: Calls, login: Callable[..., object] | None = None
                    ) -> kopf.OperatorRegistry:
    """A tiny operator on Widgets, in its own registry (nothing registers at import time). It logs
    in where ``kube`` points, unless another ``login`` handler is given."""
    registry = kopf.OperatorRegistry()

    def login_to_kube(**_: object) -> kopf.ConnectionInfo:
        return kube.access.kopf_connection_info()

    kopf.on.login(registry=registry)(login or login_to_kube)

    @kopf.on.create(GROUP, VERSION, PLURAL, registry=registry)
    def created(name: str, body: kopf.Body, patch: kopf.Patch, **_: object) -> None:
        calls.by_handler["create"].append((name,))
        patch.status["phase"] = "Created"
        kopf.info(body, reason="Created", message=f"widget {name} created")

    @kopf.on.update(GROUP, VERSION, PLURAL, field="spec", registry=registry)
    def updated(name: str, meta: kopf.Meta, spec: kopf.Spec, patch: kopf.Patch, **_: object) -> None:
        calls.by_handler["update"].append((name, meta["generation"], spec["size"]))
        patch.status["observedGeneration"] = meta["generation"]

    @kopf.on.delete(GROUP, VERSION, PLURAL, registry=registry)
    def deleted(name: str, **_: object) -> None:
        calls.by_handler["delete"].append((name,))

    return registry


@contextlib.asynccontextmanager
async def running(registry: kopf.OperatorRegistry, namespace: str | None = None,
                  **operator_options: object) -> AsyncIterator[asyncio.Task]:
    """Run kopf as a task of the test's event loop; stop it by cancelling the task. With a
    namespace, kopf serves only it, without scanning; otherwise ``operator_options`` say where."""
    settings = kopf.OperatorSettings()
    settings.scanning.disabled = namespace is not None
    settings.persistence.finalizer = FINALIZER
    # Cancelled, kopf would SIGKILL this (the session's) loop's thread 10 minutes later.
    settings.process.ultimate_exiting_timeout = None
    ready = asyncio.Event()
    where = {"namespaces": [namespace]} if namespace is not None else operator_options
    task = asyncio.create_task(kopf.operator(registry=registry, settings=settings, standalone=True,
                                             ready_flag=ready, **where))
    await asyncio.wait_for(ready.wait(), timeout=10)
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def has_finalizer(obj: dict) -> bool:
    return FINALIZER in obj["metadata"].get("finalizers", [])


async def test_kopf_lifecycle_create_update_delete(kube: KubeClient, namespace: str,
                                                   widget: Callable[..., dict]) -> None:
    calls = Calls()
    async with running(widget_operator(kube, calls), namespace):
        for name in ("alpha", "beta", "gamma"):
            kube.create(widget(name))
        for name in ("alpha", "beta", "gamma"):
            obj = await kube.wait_for_async(lambda name=name: kube.get(API_VERSION, "Widget", namespace, name),
                                            until=lambda o: has_finalizer(o) and o["status"]["phase"] == "Created",
                                            what=f"{name}: finalizer added and status patched")
            assert obj["metadata"]["generation"] == 1

        # kopf handles an object's changes in order: a duplicate create (kopf acting on stale
        # state) would run before the update handler of the object's next change.
        for name in ("alpha", "beta", "gamma"):
            kube.patch(API_VERSION, "Widget", namespace, name, {"spec": {"size": 5}})
        for name in ("alpha", "beta", "gamma"):
            updated = await kube.wait_for_async(lambda name=name: kube.get(API_VERSION, "Widget", namespace, name),
                                                until=lambda o: o["status"].get("observedGeneration") == 2,
                                                what=f"{name}: update handled")
            assert updated["metadata"]["generation"] == 2
        assert sorted(calls.names("create")) == ["alpha", "beta", "gamma"]
        assert sorted(calls.by_handler["update"]) == [("alpha", 2, 5), ("beta", 2, 5), ("gamma", 2, 5)]

        kube.delete(API_VERSION, "Widget", namespace, "alpha")
        await kube.wait_for_async(lambda: kube.find(API_VERSION, "Widget", namespace, "alpha") is None,
                                  what="alpha to disappear after its delete handler")
        assert calls.names("delete") == ["alpha"]
        assert sorted(calls.names("create")) == ["alpha", "beta", "gamma"]

        events = await kube.wait_for_async(lambda: kube.events(namespace, involved_name="beta"))
        assert [(e["reason"], e["message"], e["involvedObject"]["kind"]) for e in events] == [
            ("Created", "widget beta created", "Widget")]


async def test_kopf_never_sees_a_spec_the_schema_rejects(kube: KubeClient, namespace: str,
                                                         widget: Callable[..., dict]) -> None:
    calls = Calls()
    async with running(widget_operator(kube, calls), namespace):
        invalid = widget("too-big", size=11)
        with pytest.raises(ApiError) as rejected:
            kube.create(invalid)
        assert rejected.value.code == 422
        assert rejected.value.details["causes"] == [{
            "reason": "FieldValueInvalid", "field": "spec.size",
            "message": "Invalid value: 11: spec.size in body should be less than or equal to 10"}]

        kube.create(widget("just-right", size=10))
        await kube.wait_for_async(lambda: kube.get(API_VERSION, "Widget", namespace, "just-right"),
                                  until=lambda o: o.get("status", {}).get("phase") == "Created")
        assert calls.names("create") == ["just-right"]
        assert kube.find(API_VERSION, "Widget", namespace, "too-big") is None


@pytest.mark.parametrize("where", ["clusterwide", "namespace-pattern"])
async def test_kopf_with_scanning_cluster_wide_or_by_pattern(kube: KubeClient, namespace: str,
                                                            widget: Callable[..., dict], where: str) -> None:
    """kopf's namespace and CRD scanning also works against the emulator (for --all-namespaces)."""
    calls = Calls()
    options = {"clusterwide": True} if where == "clusterwide" else {"namespaces": [namespace[:-6] + "*"]}
    async with running(widget_operator(kube, calls), **options):
        kube.create(widget("scanned"))
        await kube.wait_for_async(lambda: kube.get(API_VERSION, "Widget", namespace, "scanned"),
                                  until=lambda o: o.get("status", {}).get("phase") == "Created")
        kube.delete(API_VERSION, "Widget", namespace, "scanned")
        await kube.wait_for_async(lambda: kube.find(API_VERSION, "Widget", namespace, "scanned") is None)
    # A cluster-wide operator also finishes other tests' leftovers (objects still holding the
    # finalizer in their terminating namespaces), as it would on a real cluster: count ours only.
    assert calls.names("create").count("scanned") == calls.names("delete").count("scanned") == 1


async def test_kopf_logs_in_with_a_kubeconfig_written_for_the_cluster(
        kube: KubeClient, namespace: str, widget: Callable[..., dict], tmp_path: pathlib.Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """How an operator in a subprocess (``infra-operator run``) reaches the harness's cluster:
    ``KUBECONFIG`` pointing at ``kube.access.write_kubeconfig(...)``."""
    monkeypatch.setenv("KUBECONFIG", str(kube.access.write_kubeconfig(tmp_path / "kubeconfig")))
    calls = Calls()
    async with running(widget_operator(kube, calls, login=kopf.login_with_kubeconfig), namespace):
        kube.create(widget("via-kubeconfig"))
        await kube.wait_for_async(lambda: kube.get(API_VERSION, "Widget", namespace, "via-kubeconfig"),
                                  until=lambda o: o.get("status", {}).get("phase") == "Created")
    assert calls.names("create") == ["via-kubeconfig"]
