"""The Kubernetes API semantics the operator relies on, through KubeClient over HTTP. These hold
for the emulator and for a real cluster (``KUBECONFIG``) alike."""
from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest

from harness.kube import ApiError, KubeClient

pytestmark = pytest.mark.e2e

API = "harness.example.com/v1"
Widget = Callable[..., dict[str, Any]]


def rejection(kube: KubeClient, call: Callable[[], Any]) -> ApiError:
    with pytest.raises(ApiError) as raised:
        call()
    return raised.value


def test_create_assigns_server_fields_defaults_and_prunes(kube: KubeClient, namespace: str, widget: Widget) -> None:
    body = widget("w", extra={"anything": {"goes": 1}})
    body["spec"]["unknownField"] = "dropped"
    body["status"] = {"phase": "set-by-client"}
    created = kube.create(body)

    meta = created["metadata"]
    assert meta["uid"] and meta["creationTimestamp"].endswith("Z") and meta["resourceVersion"]
    assert meta["generation"] == 1
    assert created["spec"] == {"size": 1, "cidrBlock": "10.0.0.0/16", "color": "red",
                               "extra": {"anything": {"goes": 1}}}
    assert "status" not in created  # the status subresource owns status
    assert kube.get(API, "Widget", namespace, "w") == created
    assert rejection(kube, lambda: kube.create(widget("w"))).code == 409


def test_generate_name(kube: KubeClient, namespace: str, widget: Widget) -> None:
    body = widget("")
    body["metadata"] = {"generateName": "gen-", "namespace": namespace}
    first, second = kube.create(body), kube.create(body)
    assert first["metadata"]["name"].startswith("gen-") and len(first["metadata"]["name"]) == len("gen-") + 5
    assert first["metadata"]["name"] != second["metadata"]["name"]


def test_generation_counts_spec_changes_only(kube: KubeClient, namespace: str, widget: Widget) -> None:
    created = kube.create(widget("w"))
    version = int(created["metadata"]["resourceVersion"])

    relabelled = kube.patch(API, "Widget", namespace, "w", {"metadata": {"labels": {"a": "b"}}})
    assert relabelled["metadata"]["generation"] == 1
    assert int(relabelled["metadata"]["resourceVersion"]) > version

    status = kube.patch_status(API, "Widget", namespace, "w", {"phase": "Ready"})
    assert status["status"] == {"phase": "Ready"} and status["metadata"]["generation"] == 1

    resized = kube.patch(API, "Widget", namespace, "w", {"spec": {"size": 2}, "status": {"phase": "ignored"}})
    assert resized["metadata"]["generation"] == 2
    assert resized["status"] == {"phase": "Ready"}  # the main resource ignores status

    via_status = kube.request("PATCH", kube.path(API, "Widget", namespace, "w", "status"),
                              {"spec": {"size": 9}, "metadata": {"labels": {"x": "y"}}, "status": {"phase": "Done"}},
                              "application/merge-patch+json")
    assert via_status["spec"]["size"] == 2 and via_status["metadata"]["labels"] == {"a": "b"}
    assert via_status["status"] == {"phase": "Done"} and via_status["metadata"]["generation"] == 2

    unchanged = kube.patch(API, "Widget", namespace, "w", {"spec": {"size": 2}})
    assert unchanged["metadata"]["resourceVersion"] == via_status["metadata"]["resourceVersion"]


def test_optimistic_concurrency(kube: KubeClient, namespace: str, widget: Widget) -> None:
    stale = kube.create(widget("w"))
    kube.patch(API, "Widget", namespace, "w", {"spec": {"size": 3}})

    stale["spec"]["size"] = 4
    assert rejection(kube, lambda: kube.replace(stale)).code == 409
    stale_version = {"metadata": {"resourceVersion": stale["metadata"]["resourceVersion"]}, "spec": {"size": 5}}
    assert rejection(kube, lambda: kube.patch(API, "Widget", namespace, "w", stale_version)).code == 409

    path = kube.path(API, "Widget", namespace, "w")
    failed_test = [{"op": "test", "path": "/metadata/resourceVersion", "value": stale["metadata"]["resourceVersion"]},
                   {"op": "add", "path": "/metadata/finalizers", "value": ["x.example.com/f"]}]
    assert rejection(kube, lambda: kube.request("PATCH", path, failed_test, "application/json-patch+json")).code == 422

    fresh = kube.get(API, "Widget", namespace, "w")
    fresh["spec"]["size"] = 6
    assert kube.replace(fresh)["spec"]["size"] == 6
    current = fresh["metadata"]["resourceVersion"]
    passing_test = [{"op": "test", "path": "/metadata/resourceVersion", "value": str(int(current) + 1)},
                    {"op": "add", "path": "/metadata/finalizers", "value": ["x.example.com/f"]}]
    assert kube.request("PATCH", path, passing_test, "application/json-patch+json")["metadata"]["finalizers"] == [
        "x.example.com/f"]


def test_finalizers_hold_deletion(kube: KubeClient, namespace: str, widget: Widget) -> None:
    body = widget("w")
    body["metadata"]["finalizers"] = ["x.example.com/f"]
    kube.create(body)

    marked = kube.delete(API, "Widget", namespace, "w")
    assert marked is not None and marked["metadata"]["deletionTimestamp"]
    assert marked["metadata"]["generation"] == 2
    assert kube.get(API, "Widget", namespace, "w")["metadata"]["deletionTimestamp"]

    more = {"metadata": {"finalizers": ["x.example.com/f", "y.example.com/g"]}}
    error = rejection(kube, lambda: kube.patch(API, "Widget", namespace, "w", more))
    assert error.code == 422 and error.details["causes"][0]["field"] == "metadata.finalizers"

    kube.patch(API, "Widget", namespace, "w", {"metadata": {"finalizers": None}})
    kube.wait_for(lambda: kube.find(API, "Widget", namespace, "w") is None, what="release after finalizers")
    assert kube.delete(API, "Widget", namespace, "w") is None


@pytest.mark.parametrize(("spec", "causes"), [
    ({"size": None}, [("FieldValueRequired", "spec.size", "Required value")]),
    ({"size": "three"}, [("FieldValueInvalid", "spec.size",
                          'Invalid value: "string": spec.size in body must be of type integer: "string"')]),
    ({"size": 0}, [("FieldValueInvalid", "spec.size",
                    "Invalid value: 0: spec.size in body should be greater than or equal to 1")]),
    ({"color": "pink"}, [("FieldValueNotSupported", "spec.color",
                          'Unsupported value: "pink": supported values: "red", "green", "blue"')]),
    ({"label": "much-too-long"}, [("FieldValueTooLong", "spec.label", "Too long: may not be longer than 8")]),
    ({"cidrBlock": "10.0.0.0/33"}, [("FieldValueInvalid", "spec.cidrBlock",
                                     'Invalid value: "10.0.0.0/33": spec.cidrBlock in body must be of type cidr: '
                                     '"10.0.0.0/33"')]),
    ({"cidrBlock": "ten/8"}, [
        ("FieldValueInvalid", "spec.cidrBlock",
         'Invalid value: "ten/8": spec.cidrBlock in body must be of type cidr: "ten/8"'),
        ("FieldValueInvalid", "spec.cidrBlock",
         "Invalid value: \"ten/8\": spec.cidrBlock in body should match '^[0-9./]+$'")]),
    ({"tags": [{"value": "v"}]}, [("FieldValueRequired", "spec.tags[0].key", "Required value")]),
    ({"tags": [{"key": str(i)} for i in range(4)]}, [("FieldValueTooMany", "spec.tags",
                                                       "Too many: 4: must have at most 3 items")]),
])
def test_schema_violations_are_422_with_field_paths(kube: KubeClient, widget: Widget, spec: dict,
                                                    causes: list[tuple[str, str, str]]) -> None:
    body = widget("bad")
    body["spec"] = {k: v for k, v in {**body["spec"], **spec}.items() if v is not None}
    error = rejection(kube, lambda: kube.create(body))
    assert error.code == 422 and error.reason == "Invalid"
    assert error.message.startswith('Widget.harness.example.com "bad" is invalid: ')
    assert [(c["reason"], c["field"], c["message"]) for c in error.details["causes"]] == causes


def test_invalid_updates_are_rejected_and_change_nothing(kube: KubeClient, namespace: str, widget: Widget) -> None:
    created = kube.create(widget("w"))
    error = rejection(kube, lambda: kube.patch(API, "Widget", namespace, "w", {"spec": {"size": 99}}))
    assert error.code == 422 and error.details["causes"][0]["field"] == "spec.size"
    status_error = rejection(kube, lambda: kube.patch_status(API, "Widget", namespace, "w", {"handled": "no"}))
    assert status_error.code == 422 and status_error.details["causes"][0]["field"] == "status.handled"
    assert kube.get(API, "Widget", namespace, "w") == created


def test_namespaces_scope_objects(kube: KubeClient, widget: Widget, namespace: str) -> None:
    orphan = widget("w")
    orphan["metadata"]["namespace"] = "no-such-namespace"
    assert rejection(kube, lambda: kube.create(orphan)).code == 404

    doomed = kube.create_namespace(f"{namespace}-doomed")["metadata"]["name"]
    held, free = widget("held"), widget("free")
    for body in (held, free):
        body["metadata"]["namespace"] = doomed
    held["metadata"]["finalizers"] = ["x.example.com/f"]
    kube.create(held)
    kube.create(free)

    kube.delete_namespace(doomed)
    kube.wait_for(lambda: kube.find(API, "Widget", doomed, "free") is None, what="free widget gone")
    assert kube.get("v1", "Namespace", None, doomed)["status"]["phase"] == "Terminating"
    late = widget("late")
    late["metadata"]["namespace"] = doomed
    assert rejection(kube, lambda: kube.create(late)).code == 403

    kube.patch(API, "Widget", doomed, "held", {"metadata": {"finalizers": None}})
    kube.wait_for(lambda: kube.find("v1", "Namespace", None, doomed) is None, timeout=60,
                  what="namespace gone once emptied")


def test_list_with_label_selector(kube: KubeClient, namespace: str, widget: Widget) -> None:
    for name, tier in (("a", "web"), ("b", "db"), ("c", "web")):
        body = widget(name)
        body["metadata"]["labels"] = {"tier": tier}
        kube.create(body)
    names = lambda selector: [w["metadata"]["name"] for w in kube.list(API, "Widget", namespace, selector)]
    assert names(None) == ["a", "b", "c"]
    assert names("tier=web") == ["a", "c"]
    assert names("tier!=web") == ["b"]
    assert names("tier in (db,cache)") == ["b"]
    assert names("!tier") == []
    assert kube.list(API, "widgets", namespace) == kube.list(API, "Widget", namespace)


def test_secret_string_data_is_stored_encoded(kube: KubeClient, namespace: str) -> None:
    kube.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds", "namespace": namespace},
                 "stringData": {"accessKeyId": "AKIDEXAMPLE"}})
    secret = kube.get("v1", "Secret", namespace, "creds")
    assert "stringData" not in secret and secret["type"] == "Opaque"
    assert base64.b64decode(secret["data"]["accessKeyId"]) == b"AKIDEXAMPLE"


def test_events_about_one_object(kube: KubeClient, namespace: str) -> None:
    for name, reason in (("one", "Created"), ("two", "Created"), ("one", "Updated")):
        kube.create({"apiVersion": "v1", "kind": "Event", "metadata": {"generateName": "ev-", "namespace": namespace},
                     "involvedObject": {"apiVersion": API, "kind": "Widget", "name": name, "namespace": namespace},
                     "reason": reason, "message": f"{name} {reason}", "type": "Normal"})
    assert [e["message"] for e in kube.events(namespace, involved_name="one")] == ["one Created", "one Updated"]
    assert len(kube.events(namespace)) == 3


def test_unknown_kinds_and_objects_are_404(kube: KubeClient, namespace: str, widgets: None) -> None:
    assert rejection(kube, lambda: kube.get(API, "Gadget", namespace, "x")).code == 404
    assert rejection(kube, lambda: kube.get(API, "Widget", namespace, "absent")).code == 404
    assert kube.find(API, "Widget", namespace, "absent") is None


def test_discovery_lists_the_crd_and_its_status_subresource(kube: KubeClient, widgets: None) -> None:
    listing = kube.request("GET", "/apis/harness.example.com/v1")
    resources = {r["name"]: r for r in listing["resources"]}
    assert {"widgets", "widgets/status"} <= set(resources)
    assert resources["widgets"]["kind"] == "Widget" and resources["widgets"]["namespaced"] is True
    assert {"list", "watch", "patch"} <= set(resources["widgets"]["verbs"])
    assert kube.request("GET", "/api/v1")["groupVersion"] == "v1"


def test_wait_for_timeout_shows_the_last_observation(kube: KubeClient, namespace: str, widget: Widget) -> None:
    kube.create(widget("w"))
    with pytest.raises(AssertionError) as timed_out:
        kube.wait_for(lambda: kube.get(API, "Widget", namespace, "w"), until=lambda w: w["spec"]["size"] == 5,
                      timeout=0.3, what="size 5")
    text = str(timed_out.value)
    assert "timed out after 0.3s waiting for size 5" in text and "'size': 1" in text

    with pytest.raises(AssertionError) as missing:
        kube.wait_for(lambda: kube.get(API, "Widget", namespace, "absent"), timeout=0.2)
    assert "last error: ApiError" in str(missing.value) and "404" in str(missing.value)


def crd(name: str, group: str, schema: dict) -> dict:
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": name},
            "spec": {"group": group, "scope": "Namespaced",
                     "names": {"plural": "gizmos", "singular": "gizmo", "kind": "Gizmo"},
                     "versions": [{"name": "v1", "served": True, "storage": True,
                                   "schema": {"openAPIV3Schema": schema}}]}}


@pytest.mark.parametrize(("name", "schema", "field"), [
    ("gizmos.bad.example.com", {"type": 5}, "spec.versions[0].schema.openAPIV3Schema"),
    ("wrong.bad.example.com", {"type": "object"}, "metadata.name"),
])
def test_unusable_crds_are_rejected(kube: KubeClient, name: str, schema: dict, field: str) -> None:
    error = rejection(kube, lambda: kube.create(crd(name, "bad.example.com", schema)))
    assert error.code == 422
    assert any(cause["field"].startswith(field) for cause in error.details["causes"]), error.details
