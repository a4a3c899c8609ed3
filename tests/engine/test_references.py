"""References between objects (also inside list items), their CRD schema, keyed list changes,
and the committed crds/ matching the kinds' declarations. Pure: no AWS, no cluster."""

import pathlib

import jsonschema
import pytest
import yaml

from infra_operator.operator import crds
from infra_operator.operator.engine.delta import list_changes
from infra_operator.operator.engine.kind import Kind, Reference
from infra_operator.operator.provider.errors import TerminalError
from infra_operator.operator.engine.objects import ObjectSummary
from infra_operator.operator.engine.references import referenced, resolve
from infra_operator.operator.engine.schema import kind_crd
from infra_operator.operator.kinds.routetable import RouteTable

ROOT = pathlib.Path(__file__).parents[2]
SPEC = {"vpcRef": {"name": "v"},
        "routes": [{"destinationCidrBlock": "0.0.0.0/0", "natGatewayRef": {"name": "n"}},
                   {"destinationCidrBlock": "10.9.0.0/16", "gatewayId": "igw-12345678"}],
        "associations": [{"subnetRef": {"name": "a"}}, {"subnetId": "subnet-12345678"}]}


class Objects:
    def __init__(self, **summaries):
        self.summaries = summaries

    def find(self, kind, namespace, name):
        return self.summaries.get(f"{kind}/{name}")

    def dependents(self, kind, namespace, name):
        return []


def test_referenced_names_top_level_and_list_item_references():
    assert referenced(RouteTable(), SPEC) == {("VPC", "v"), ("NATGateway", "n"), ("Subnet", "a")}


def test_resolve_fills_ids_everywhere_and_keeps_the_input():
    ready = Objects(**{"VPC/v": ObjectSummary(True, "vpc-1", {"cidrBlock": "10.0.0.0/16"}),
                       "NATGateway/n": ObjectSummary(True, "nat-1"), "Subnet/a": ObjectSummary(True, "subnet-1")})
    resolved = resolve(RouteTable(), SPEC, "ns", ready)
    assert resolved.waiting is None and resolved.related == {"vpcRef": {"cidrBlock": "10.0.0.0/16"}}
    assert resolved.spec["vpcId"] == "vpc-1"
    assert [r.get("natGatewayId") or r.get("gatewayId") for r in resolved.spec["routes"]] == ["nat-1", "igw-12345678"]
    assert [a["subnetId"] for a in resolved.spec["associations"]] == ["subnet-1", "subnet-12345678"]
    assert "subnetId" not in SPEC["associations"][0]


def test_resolve_waits_for_every_missing_or_unready_object():
    partial = Objects(**{"VPC/v": ObjectSummary(False, None)})
    waiting = resolve(RouteTable(), SPEC, "ns", partial).waiting
    assert waiting.reason == "DependencyNotReady" and waiting.delay == 5
    assert "VPC v (spec.vpcRef) is not Ready" in waiting.message
    assert "NATGateway n (spec.routes[0].natGatewayRef) does not exist" in waiting.message
    assert "Subnet a (spec.associations[0].subnetRef) does not exist" in waiting.message


def test_resolve_rejects_missing_and_conflicting_references():
    with pytest.raises(TerminalError, match=r"spec.associations\[0\]: subnetRef.name or subnetId is required"):
        resolve(RouteTable(), {"vpcId": "vpc-12345678", "associations": [{}]}, "ns", Objects())
    with pytest.raises(TerminalError, match="set vpcRef or vpcId, not both"):
        resolve(RouteTable(), {"vpcId": "vpc-12345678", "vpcRef": {"name": "v"}}, "ns", Objects())


def test_list_item_references_are_declared_on_the_items():
    spec = kind_crd(RouteTable())["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    route = spec["properties"]["routes"]["items"]
    assert {"gatewayRef", "gatewayId", "natGatewayRef", "natGatewayId"} <= set(route["properties"])
    assert "!(has(self.natGatewayRef) && has(self.natGatewayId))" in [v["rule"] for v in route["x-kubernetes-validations"]]
    association = spec["properties"]["associations"]["items"]
    assert association["x-kubernetes-validations"][0]["rule"] == "has(self.subnetRef) != has(self.subnetId)"
    assert spec["x-kubernetes-validations"][0]["rule"] == "has(self.vpcRef) != has(self.vpcId)"
    assert "routes" not in spec["required"] and "subnetRef" not in spec["properties"]


class Many(Kind):
    kind, plural, identifier = "Many", "manies", "manyId"
    references = (Reference("subnetRefs", "Subnet", "subnets", "^subnet-[0-9a-f]+$", many=True),
                  Reference("groupRefs", "SecurityGroup", "groups", required=False, many=True))


class Alias(Kind):
    kind, plural, identifier = "Alias", "aliases", "key"
    references = (Reference("albRef", "ALB", "dnsName", required=False, status_field="dnsName",
                            also=(("hostedZoneId", "canonicalHostedZoneId"),)),)


def test_a_reference_conflicts_with_every_field_it_fills():
    ready = Objects(**{"ALB/a": ObjectSummary(True, "arn", {"dnsName": "a.elb", "canonicalHostedZoneId": "Z1"})})
    assert resolve(Alias(), {"albRef": {"name": "a"}}, "ns", ready).spec["hostedZoneId"] == "Z1"
    with pytest.raises(TerminalError, match="spec: set albRef or hostedZoneId, not both"):
        resolve(Alias(), {"albRef": {"name": "a"}, "hostedZoneId": "Z9"}, "ns", ready)


def test_many_references_fill_a_list_of_ids_in_order():
    spec = {"subnetRefs": [{"name": "b"}, {"name": "a"}], "groups": ["sg-1"]}
    ready = Objects(**{"Subnet/a": ObjectSummary(True, "subnet-a"), "Subnet/b": ObjectSummary(True, "subnet-b")})
    assert referenced(Many(), spec) == {("Subnet", "a"), ("Subnet", "b")}
    resolved = resolve(Many(), spec, "ns", ready)
    assert resolved.waiting is None and resolved.spec["subnets"] == ["subnet-b", "subnet-a"]
    assert resolved.spec["groups"] == ["sg-1"] and resolved.related == {}
    partial = resolve(Many(), spec, "ns", Objects(**{"Subnet/a": ObjectSummary(False, None)}))
    assert "subnets" not in partial.spec and partial.waiting.waiting_on == (("Subnet", "a"), ("Subnet", "b"))
    with pytest.raises(TerminalError, match="spec: subnetRefs or subnets is required"):
        resolve(Many(), {}, "ns", Objects())
    with pytest.raises(TerminalError, match="set groupRefs or groups, not both"):
        resolve(Many(), {"subnets": ["subnet-1"], "groups": ["sg-1"], "groupRefs": [{"name": "g"}]}, "ns", Objects())


def test_many_references_are_lists_in_the_crd():
    spec = kind_crd(Many())["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    refs, ids = spec["properties"]["subnetRefs"], spec["properties"]["subnets"]
    assert refs["type"] == ids["type"] == "array" and refs["items"]["required"] == ["name"]
    assert ids["items"] == {"type": "string", "pattern": "^subnet-[0-9a-f]+$"}
    rules = [v["rule"] for v in spec["x-kubernetes-validations"]]
    assert rules == ["has(self.subnetRefs) != has(self.subnets)", "!(has(self.groupRefs) && has(self.groups))"]
    schema = {**spec, "x-kubernetes-validations": None}
    jsonschema.validate({"providerRef": {"name": "p"}, "subnetRefs": [{"name": "a"}]}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"providerRef": {"name": "p"}, "subnets": ["vpc-1"]}, schema)


def test_list_changes_by_key_and_by_whole_item():
    by_destination = list_changes([{"d": "a", "t": 1}, {"d": "b", "t": 2}], [{"d": "b", "t": 3}, {"d": "c", "t": 4}],
                                  key=lambda r: r["d"])
    assert by_destination.added == ({"d": "a", "t": 1},) and by_destination.removed == ({"d": "c", "t": 4},)
    assert by_destination.replaced == (({"d": "b", "t": 3}, {"d": "b", "t": 2}),)
    whole = list_changes([{"p": 1, "x": None}, {"p": 2}], [{"p": 2}, {"p": 1}])
    assert whole.added == whole.removed == whole.replaced == ()


def test_committed_crds_match_the_kinds():
    for crd in crds.all_crds():
        assert (ROOT / "crds" / crds.file_name(crd)).read_text() == crds.render(crd), crds.file_name(crd)


def test_samples_satisfy_their_crd_schemas():
    schemas = {crd["spec"]["names"]["kind"]: crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
               for crd in crds.all_crds()}
    checked = 0
    for sample in sorted((ROOT / "samples").glob("*.yaml")):
        for doc in yaml.safe_load_all(sample.read_text()):
            if doc and doc["kind"] in schemas:
                jsonschema.validate(doc, schemas[doc["kind"]])
                checked += 1
    assert checked >= 10
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"spec": {"providerRef": {"name": "aws"}, "cidrBlock": "10.0.0.0/33"}}, schemas["VPC"])


def test_a_ready_object_without_the_status_value_is_looked_at_again_later_not_waited_for():
    # The waker wakes a dependent at once when what it waits for is Ready: waiting on a Ready
    # object that lacks the value would wake the dependent again and again.
    lacking = Objects(**{"VPC/v": ObjectSummary(True, None), "NATGateway/n": ObjectSummary(True, "nat-1"),
                         "Subnet/a": ObjectSummary(True, "subnet-1")})
    resolved = resolve(RouteTable(), SPEC, "ns", lacking)
    assert resolved.waiting.waiting_on == () and resolved.waiting.delay == 5
    assert "VPC v (spec.vpcRef) is Ready but has no status.identifier" in resolved.waiting.message
    assert resolved.lacking == (("VPC", "v"),) and resolved.missing == ()
