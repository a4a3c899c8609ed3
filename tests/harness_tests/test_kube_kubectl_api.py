"""What kubectl reads from the API server, in the shapes the Kubernetes API reference documents:
discovery (legacy and aggregated), Tables from printer columns, event field selectors, the
OpenAPI documents, fieldValidation, managedFields and server-side apply. Over HTTP, so these hold
for the emulator and for a real cluster (``KUBECONFIG``) alike."""
from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from harness.kube import KubeClient

pytestmark = pytest.mark.e2e

API = "harness.example.com/v1"
GROUP = "harness.example.com"
AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
Widget = Callable[..., dict[str, Any]]


@dataclass
class Answer:
    code: int
    headers: dict[str, str]
    body: Any


def call(kube: KubeClient, method: str, path: str, body: Any = None, accept: str = "application/json",
         content_type: str = "application/json", **query: str) -> Answer:
    """One request, answered with its code, headers and JSON body (errors included)."""
    url = kube.access.server + path + ("?" + urllib.parse.urlencode(query) if query else "")
    data = (body if isinstance(body, bytes) else json.dumps(body).encode()) if body is not None else None
    headers = {"Accept": accept, "Content-Type": content_type, **kube.access.headers()}
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10, context=kube.access.ssl_context()) as response:
            return Answer(response.status, dict(response.headers), json.loads(response.read() or b"null"))
    except urllib.error.HTTPError as error:
        return Answer(error.code, dict(error.headers), json.loads(error.read() or b"null"))


def test_resource_list_keeps_short_names_and_categories_off_subresources(kube: KubeClient, widgets) -> None:
    listing = call(kube, "GET", f"/apis/{API}").body
    assert listing["kind"] == "APIResourceList" and listing["groupVersion"] == API
    resources = {entry["name"]: entry for entry in listing["resources"]}
    main, status = resources["widgets"], resources["widgets/status"]
    assert main["singularName"] == "widget" and main["namespaced"] is True and main["kind"] == "Widget"
    assert main["shortNames"] == ["wdg"] and main["categories"] == ["harness"]
    assert set(main["verbs"]) == {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
    assert not status.get("shortNames") and not status.get("categories")
    assert set(status["verbs"]) == {"get", "patch", "update"} and status["kind"] == "Widget"


def test_aggregated_discovery_lists_every_group_in_one_answer(kube: KubeClient, widgets) -> None:
    named = call(kube, "GET", "/apis", accept=f"{AGGREGATED},application/json")
    assert named.headers["Content-Type"].replace(" ", "").startswith(AGGREGATED)
    assert named.body["kind"] == "APIGroupDiscoveryList" and named.body["apiVersion"] == "apidiscovery.k8s.io/v2"
    group = next(item for item in named.body["items"] if item["metadata"].get("name") == GROUP)
    [version] = [v for v in group["versions"] if v["version"] == "v1"]
    widget = next(r for r in version["resources"] if r["resource"] == "widgets")
    assert widget["responseKind"] == {"group": GROUP, "version": "v1", "kind": "Widget"}
    assert widget["scope"] == "Namespaced" and widget["singularResource"] == "widget"
    assert widget["shortNames"] == ["wdg"] and widget["categories"] == ["harness"]
    assert [(s["subresource"], set(s["verbs"])) for s in widget["subresources"]] == [("status",
                                                                                       {"get", "patch", "update"})]
    core = call(kube, "GET", "/api", accept=f"{AGGREGATED},application/json").body
    [legacy] = core["items"]
    assert not legacy["metadata"].get("name") and legacy["versions"][0]["version"] == "v1"
    assert {"namespaces", "events", "secrets"} <= {r["resource"] for r in legacy["versions"][0]["resources"]}


def test_legacy_discovery_without_the_aggregated_accept(kube: KubeClient, widgets) -> None:
    groups = call(kube, "GET", "/apis").body
    assert groups["kind"] == "APIGroupList"
    entry = next(g for g in groups["groups"] if g["name"] == GROUP)
    assert entry["preferredVersion"] == {"groupVersion": API, "version": "v1"}
    assert call(kube, "GET", f"/apis/{GROUP}").body["kind"] == "APIGroup"
    assert call(kube, "GET", "/api").body["versions"] == ["v1"]
    version = call(kube, "GET", "/version").body
    assert version["major"] == "1" and version["gitVersion"].startswith(f"v1.{version['minor']}.")


def test_tables_follow_the_printer_columns(kube: KubeClient, namespace: str, widget: Widget) -> None:
    kube.create(widget("w", size=3, tags=[{"key": "team", "value": "blue"}]))
    kube.patch_status(API, "Widget", namespace, "w", {"phase": "Ready"})
    table = call(kube, "GET", f"/apis/{API}/namespaces/{namespace}/widgets", accept=TABLE).body
    assert table["kind"] == "Table" and table["apiVersion"] == "meta.k8s.io/v1"
    columns = [(c["name"], c["type"], c.get("priority", 0)) for c in table["columnDefinitions"]]
    assert columns == [("Name", "string", 0), ("Size", "integer", 0), ("Color", "string", 0),
                       ("Team", "string", 1), ("Phase", "string", 0), ("Age", "date", 0)]
    assert table["columnDefinitions"][0]["format"] == "name"
    assert table["columnDefinitions"][2]["description"] == "the widget's color"
    [row] = table["rows"]
    name, size, color, team, phase, age = row["cells"]
    assert (name, size, color, team, phase) == ("w", 3, "red", "blue", "Ready")
    assert age.endswith("s")  # a duration, as the server renders dates ("0s", "5s")
    assert row["object"]["kind"] == "PartialObjectMetadata" and row["object"]["metadata"]["name"] == "w"

    full = call(kube, "GET", f"/apis/{API}/namespaces/{namespace}/widgets/w", accept=TABLE,
                includeObject="Object").body
    assert full["rows"][0]["object"]["spec"]["size"] == 3
    kube.create(widget("bare"))
    bare = call(kube, "GET", f"/apis/{API}/namespaces/{namespace}/widgets/bare", accept=TABLE).body
    assert bare["rows"][0]["cells"][3:5] == [None, None]  # what the JSONPath does not reach


def test_events_are_selected_by_the_object_they_are_about(kube: KubeClient, namespace: str) -> None:
    def event(name: str, involved: str, reason: str, type_: str) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "Event", "metadata": {"name": name, "namespace": namespace},
                "involvedObject": {"apiVersion": API, "kind": "Widget", "name": involved, "namespace": namespace,
                                   "uid": f"uid-{involved}"},
                "reason": reason, "message": "m", "type": type_, "source": {"component": "harness"}}
    kube.create(event("e1", "a", "Created", "Normal"))
    kube.create(event("e2", "b", "Failed", "Warning"))
    kube.create(event("e3", "a", "Failed", "Warning"))

    def names(selector: str) -> list[str]:
        listing = call(kube, "GET", f"/api/v1/namespaces/{namespace}/events", fieldSelector=selector).body
        return sorted(item["metadata"]["name"] for item in listing["items"])
    # What kubectl describe asks for.
    assert names(f"involvedObject.name=a,involvedObject.namespace={namespace},involvedObject.kind=Widget,"
                 "involvedObject.uid=uid-a") == ["e1", "e3"]
    assert names("type=Warning") == ["e2", "e3"]
    assert names("reason!=Failed") == ["e1"]
    assert names("metadata.name=e2") == ["e2"]
    unsupported = call(kube, "GET", f"/api/v1/namespaces/{namespace}/events", fieldSelector="spec.nothing=x")
    assert unsupported.code == 400 and "field label not supported: spec.nothing" in unsupported.body["message"]


def test_openapi_v3_publishes_the_crd_schema_and_field_validation(kube: KubeClient, widgets) -> None:
    index = call(kube, "GET", "/openapi/v3").body
    url = index["paths"][f"apis/{API}"]["serverRelativeURL"]
    assert url.startswith(f"/openapi/v3/apis/{API}")
    document = call(kube, "GET", url).body
    assert document["openapi"].startswith("3.0")
    schemas = document["components"]["schemas"]
    [widget] = [s for s in schemas.values()
                if {"group": GROUP, "version": "v1", "kind": "Widget"} in s.get("x-kubernetes-group-version-kind", [])]
    assert widget["properties"]["spec"]["properties"]["size"]["maximum"] == 10
    meta_ref = widget["properties"]["metadata"]["allOf"][0]["$ref"]
    assert meta_ref.rsplit("/", 1)[1] in schemas  # kubectl explain follows it
    item_path = document["paths"][f"/apis/{API}/namespaces/{{namespace}}/widgets/{{name}}"]
    patch = item_path["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {"group": GROUP, "version": "v1", "kind": "Widget"}
    assert "fieldValidation" in {p["name"] for p in patch["parameters"] if p.get("in") == "query"}
    assert "application/apply-patch+yaml" in patch["requestBody"]["content"]
    core = call(kube, "GET", index["paths"]["api/v1"]["serverRelativeURL"]).body["components"]["schemas"]
    [secret] = [s for s in core.values()
                if {"group": "", "version": "v1", "kind": "Secret"} in s.get("x-kubernetes-group-version-kind", [])]
    assert {"data", "stringData", "type"} <= set(secret["properties"])


def test_openapi_v2_as_json(kube: KubeClient, widgets) -> None:
    document = call(kube, "GET", "/openapi/v2").body
    assert document["swagger"] == "2.0"
    assert any({"group": GROUP, "version": "v1", "kind": "Widget"} in d.get("x-kubernetes-group-version-kind", [])
               for d in document["definitions"].values())


def test_openapi_v2_as_protobuf_when_asked(kube: KubeClient, widgets) -> None:
    request = urllib.request.Request(kube.access.server + "/openapi/v2", headers={
        "Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf", **kube.access.headers()})
    with urllib.request.urlopen(request, timeout=10, context=kube.access.ssl_context()) as response:
        assert response.headers["Content-Type"] == "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
        body = response.read()
    assert body.startswith(b"\x0a\x032.0")  # field 1 (swagger): "2.0"
    assert b"x-kubernetes-group-version-kind" in body and b"Widget" in body


def test_field_validation_strict_refuses_and_warn_warns(kube: KubeClient, namespace: str, widget: Widget) -> None:
    path = f"/apis/{API}/namespaces/{namespace}/widgets"
    body = widget("w", bogus=1)
    strict = call(kube, "POST", path, body, fieldValidation="Strict")
    assert strict.code == 400 and strict.body["reason"] == "BadRequest"
    assert 'strict decoding error: unknown field "spec.bogus"' in strict.body["message"]
    warned = call(kube, "POST", path, body, fieldValidation="Warn")
    assert warned.code == 201 and 'unknown field \\"spec.bogus\\"' in warned.headers["Warning"]
    assert "bogus" not in warned.body["spec"]


def apply(kube: KubeClient, namespace: str, config: dict[str, Any], manager: str, **query: str) -> Answer:
    name = config["metadata"]["name"]
    return call(kube, "PATCH", f"/apis/{API}/namespaces/{namespace}/widgets/{name}", json.dumps(config).encode(),
                content_type="application/apply-patch+yaml", fieldManager=manager, **query)


def owned(obj: dict[str, Any], manager: str, operation: str = "Apply") -> dict[str, Any]:
    return next((entry["fieldsV1"] for entry in obj["metadata"]["managedFields"]
                 if entry["manager"] == manager and entry["operation"] == operation), {})


def test_server_side_apply_creates_updates_and_reports_conflicts(kube: KubeClient, namespace: str,
                                                                 widget: Widget) -> None:
    config = widget("w", label="first")
    del config["metadata"]["namespace"]
    created = apply(kube, namespace, config, "alice")
    assert created.code == 201
    assert owned(created.body, "alice")["f:spec"] == {"f:size": {}, "f:cidrBlock": {}, "f:label": {}}

    spec = {"size": 2, "cidrBlock": config["spec"]["cidrBlock"]}
    conflict = apply(kube, namespace, {**config, "spec": spec}, "bob")
    assert conflict.code == 409 and conflict.body["reason"] == "Conflict"
    assert conflict.body["message"] == 'Apply failed with 1 conflict: conflict with "alice": .spec.size'
    assert conflict.body["details"]["causes"] == [{"reason": "FieldManagerConflict", "message":
                                                   'conflict with "alice"', "field": ".spec.size"}]
    same_values = apply(kube, namespace, {**config, "spec": {**spec, "size": 1}}, "bob")  # shared, no conflict
    assert same_values.code == 200 and owned(same_values.body, "bob")["f:spec"]["f:size"] == {}

    forced = apply(kube, namespace, {**config, "spec": spec}, "bob", force="true")
    assert forced.code == 200 and forced.body["spec"]["size"] == 2
    assert "f:size" not in owned(forced.body, "alice")["f:spec"]

    kube.patch(API, "Widget", namespace, "w", {"metadata": {"labels": {"by": "patch"}}})
    patched = kube.get(API, "Widget", namespace, "w")
    assert owned(patched, "Python-urllib", "Update") == {"f:metadata": {"f:labels": {"f:by": {}}}}
    # alice stops applying size and label: label (hers only) goes, size (bob's too) stays.
    reapplied = apply(kube, namespace, {**config, "spec": {"cidrBlock": spec["cidrBlock"]}}, "alice").body
    assert "label" not in reapplied["spec"] and reapplied["spec"]["size"] == 2
    missing_manager = call(kube, "PATCH", f"/apis/{API}/namespaces/{namespace}/widgets/w",
                           json.dumps(config).encode(), content_type="application/apply-patch+yaml")
    assert missing_manager.code == 422 and "fieldManager: Required value" in missing_manager.body["message"]


def test_a_printer_column_path_the_server_cannot_evaluate_is_refused(kube: KubeClient) -> None:
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "gadgets.harness.example.com"},
           "spec": {"group": GROUP, "scope": "Namespaced",
                    "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
                    "versions": [{"name": "v1", "served": True, "storage": True,
                                  "schema": {"openAPIV3Schema": {"type": "object"}},
                                  "additionalPrinterColumns": [{"name": "Bad", "type": "string",
                                                                "jsonPath": ".spec.tags["}]}]}}
    refused = call(kube, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
    assert refused.code == 422
    assert refused.body["details"]["causes"][0]["field"] == "spec.versions[0].additionalPrinterColumns[0].jsonPath"


def test_dry_run_answers_and_leaves_nothing_behind(kube: KubeClient, namespace: str, widget: Widget) -> None:
    path = f"/apis/{API}/namespaces/{namespace}/widgets"
    version = call(kube, "GET", path).body["metadata"]["resourceVersion"]
    created = call(kube, "POST", path, widget("w"), dryRun="All")
    assert created.code == 201 and created.body["metadata"]["name"] == "w" and created.body["spec"]["color"] == "red"
    assert call(kube, "GET", f"{path}/w").code == 404
    stored = kube.create(widget("w"))
    patched = call(kube, "PATCH", f"{path}/w", {"spec": {"size": 5}}, content_type="application/merge-patch+json",
                   dryRun="All")
    assert patched.body["spec"]["size"] == 5
    assert patched.body["metadata"]["resourceVersion"] == stored["metadata"]["resourceVersion"]
    assert call(kube, "DELETE", f"{path}/w", dryRun="All").code == 200
    assert kube.get(API, "Widget", namespace, "w") == stored
    assert int(call(kube, "GET", path).body["metadata"]["resourceVersion"]) > int(version)
    assert call(kube, "POST", path, widget("x"), dryRun="Some").code == 400


def test_metadata_only_answers(kube: KubeClient, namespace: str, widget: Widget) -> None:
    kube.create(widget("w"))
    path = f"/apis/{API}/namespaces/{namespace}/widgets"
    listing = call(kube, "GET", path, accept="application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1").body
    assert listing["kind"] == "PartialObjectMetadataList" and listing["apiVersion"] == "meta.k8s.io/v1"
    [item] = listing["items"]
    assert item["kind"] == "PartialObjectMetadata" and item["metadata"]["name"] == "w" and "spec" not in item
    one = call(kube, "GET", f"{path}/w", accept="application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1").body
    assert one["kind"] == "PartialObjectMetadata" and set(one) == {"kind", "apiVersion", "metadata"}


def test_watches_answer_in_tables_when_asked(kube: KubeClient, namespace: str, widget: Widget) -> None:
    """What `kubectl get -w` reads: one Table (with its columns) per event."""
    kube.create(widget("w", size=4))
    request = urllib.request.Request(
        f"{kube.access.server}/apis/{API}/namespaces/{namespace}/widgets?watch=true&timeoutSeconds=1",
        headers={"Accept": TABLE, **kube.access.headers()})
    with urllib.request.urlopen(request, timeout=10, context=kube.access.ssl_context()) as response:
        event = json.loads(response.readline())
    assert event["type"] == "ADDED" and event["object"]["kind"] == "Table"
    assert [c["name"] for c in event["object"]["columnDefinitions"]][:2] == ["Name", "Size"]
    assert event["object"]["rows"][0]["cells"][:2] == ["w", 4]
