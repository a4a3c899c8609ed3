"""Watch streams: what kopf's list-then-watch needs to see every change exactly once."""
from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Callable, Generator
from typing import Any

import pytest

from harness.kube import EmulatorServer, KubeClient

pytestmark = pytest.mark.e2e

API = "harness.example.com/v1"


def summary(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["type"], e["object"]["metadata"].get("name", "")) for e in events]


def first(stream: Generator[dict[str, Any], None, None], count: int) -> list[dict[str, Any]]:
    """The first ``count`` events, then hang up. Stale or foreign events would come before the
    expected ones, so the first events are enough (and no test waits for a server timeout)."""
    events = list(itertools.islice(stream, count))
    stream.close()
    return events


def rest_of(stream: Generator[dict[str, Any], None, None], timeout: float = 30) -> list[dict[str, Any]]:
    """The events left once the stream ends, which must be long before its own (hour-long)
    timeout: read in a thread, so a stream that never ends fails the test instead of hanging it."""
    ended: queue.Queue[list[dict[str, Any]]] = queue.Queue()
    threading.Thread(target=lambda: ended.put(list(stream)), daemon=True).start()
    try:
        return ended.get(timeout=timeout)
    except queue.Empty:
        raise AssertionError(f"the watch stream did not end within {timeout:g}s") from None


def test_watch_without_version_starts_with_a_snapshot(kube: KubeClient, namespace: str,
                                                      widget: Callable[..., dict]) -> None:
    kube.create(widget("a"))
    kube.create(widget("b"))
    assert summary(first(kube.watch(API, "Widget", namespace), 2)) == [("ADDED", "a"), ("ADDED", "b")]


def test_watch_from_a_list_version_replays_nothing_older(kube: KubeClient, namespace: str,
                                                         widget: Callable[..., dict]) -> None:
    kube.create(widget("a"))
    listed = kube.request("GET", kube.path(API, "Widget", namespace))["metadata"]["resourceVersion"]
    patched = kube.patch(API, "Widget", namespace, "a", {"spec": {"size": 2}})
    kube.create(widget("b"))
    kube.delete(API, "Widget", namespace, "a")

    events = first(kube.watch(API, "Widget", namespace, resource_version=listed), 3)
    assert summary(events) == [("MODIFIED", "a"), ("ADDED", "b"), ("DELETED", "a")]
    assert events[0]["object"] == patched
    versions = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert versions == sorted(versions) and versions[0] > int(listed)

    resumed = first(kube.watch(API, "Widget", namespace, resource_version=str(versions[1])), 1)
    assert summary(resumed) == [("DELETED", "a")]


def test_watch_sees_writes_made_while_it_streams(kube: KubeClient, namespace: str,
                                                 widget: Callable[..., dict]) -> None:
    stream = kube.watch(API, "Widget", namespace, timeout_seconds=5)
    kube.create(widget("a"))
    added = next(stream)  # the request is sent on the first next()
    kube.patch(API, "Widget", namespace, "a", {"spec": {"size": 3}})
    # Whether "a" existed when the watch began decides ADDED-from-snapshot or ADDED-live; either
    # way each write shows exactly once.
    events = [added, *first(stream, 1)]
    assert summary(events) == [("ADDED", "a"), ("MODIFIED", "a")]
    assert events[-1]["object"]["spec"]["size"] == 3


def test_watch_filters_by_namespace_and_label(kube: KubeClient, namespace: str,
                                              widget: Callable[..., dict]) -> None:
    start = kube.request("GET", kube.path(API, "Widget", namespace))["metadata"]["resourceVersion"]
    other = kube.create_namespace(f"{namespace}-other")["metadata"]["name"]
    for name, tier, where in (("a", "web", namespace), ("b", "db", namespace), ("c", "web", other),
                              ("z", "web", namespace)):
        body = widget(name)
        body["metadata"] |= {"labels": {"tier": tier}, "namespace": where}
        kube.create(body)
    assert summary(first(kube.watch(API, "Widget", namespace, start, label_selector="tier=web"), 2)) == [
        ("ADDED", "a"), ("ADDED", "z")]
    assert summary(first(kube.watch(API, "Widget", None, start, label_selector="tier=web"), 3)) == [
        ("ADDED", "a"), ("ADDED", "c"), ("ADDED", "z")]
    kube.delete_namespace(other)


def test_initial_events_end_with_a_bookmark(kube: KubeClient, namespace: str, widget: Callable[..., dict]) -> None:
    kube.create(widget("a"))
    events = first(kube.watch(API, "Widget", namespace, send_initial_events=True), 2)
    assert [e["type"] for e in events] == ["ADDED", "BOOKMARK"]
    bookmark = events[-1]["object"]["metadata"]
    assert bookmark["annotations"] == {"k8s.io/initial-events-end": "true"}
    assert int(bookmark["resourceVersion"]) >= int(events[0]["object"]["metadata"]["resourceVersion"])


def test_a_version_older_than_the_kept_log_is_410_gone() -> None:
    with EmulatorServer(max_events=3) as server:
        kube = KubeClient.for_server(server.url)
        kube.create_namespace("ns")
        first = kube.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "ns"}})
        for value in "abcd":
            kube.patch("v1", "ConfigMap", "ns", "c", {"data": {"k": value}})
        [event] = kube.watch("v1", "ConfigMap", "ns", resource_version=first["metadata"]["resourceVersion"])
        assert event["type"] == "ERROR" and event["object"]["code"] == 410
        assert event["object"]["reason"] == "Expired"


def test_stopping_the_emulator_ends_open_watches() -> None:
    server = EmulatorServer().start()
    stream = KubeClient.for_server(server.url).watch("v1", "Namespace", timeout_seconds=3600)
    assert next(stream)["type"] == "ADDED"
    server.stop()
    assert [e["type"] for e in rest_of(stream)] == ["ADDED", "ADDED"]  # the rest of the snapshot, then the end


def test_dropped_watches_end_and_new_ones_resume() -> None:
    with EmulatorServer() as server:
        kube = KubeClient.for_server(server.url)
        kube.create_namespace("ns")
        stream = kube.watch("v1", "ConfigMap", "ns", timeout_seconds=3600)
        made = kube.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "ns"}})
        assert summary([next(stream)]) == [("ADDED", "a")]
        server.drop_watches()
        assert rest_of(stream) == []
        kube.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b", "namespace": "ns"}})
        resumed = first(kube.watch("v1", "ConfigMap", "ns", resource_version=made["metadata"]["resourceVersion"],
                                   timeout_seconds=3600), 1)
        assert summary(resumed) == [("ADDED", "b")]
        assert server.watches_opened == 2
