from infra_operator.operator.engine.kind import Tagging
from infra_operator.operator.engine.delta import (OWNER_UID, attribute_value, aws_params, compute_delta,
                                                  list_changes, owner_tags, tag_problems, tags_from_aws)
from infra_operator.operator.engine.kind import DriftField, Severity

FIELDS = (DriftField("cidr", Severity.CRITICAL, updatable=False), DriftField("dns", Severity.WARNING),
          DriftField("rules", Severity.CRITICAL))


def test_no_delta_when_equal_and_unset_fields_are_not_compared():
    desired = {"cidr": "10.0.0.0/16", "dns": None, "tags": {"a": "1"}}
    observed = {"cidr": "10.0.0.0/16", "dns": True, "tags": {"a": "1"}}
    assert compute_delta(desired, observed, FIELDS).empty


def test_changed_fields_grouped_by_severity_and_replacement_flagged():
    delta = compute_delta({"cidr": "10.1.0.0/16", "dns": True, "tags": {}},
                          {"cidr": "10.0.0.0/16", "dns": False, "tags": {"x": "y"}}, FIELDS)
    assert [f.name for f in delta.changed] == ["cidr", "dns"]
    assert delta.needs_replacement == ("cidr",)
    assert delta.by_severity() == {Severity.CRITICAL: ["cidr"], Severity.WARNING: ["dns"],
                                   Severity.INFO: ["tags"]}
    assert delta.tags_to_remove == {"x"}


def test_lists_compare_without_order():
    rule_a, rule_b = {"port": 22, "cidr": "0.0.0.0/0"}, {"port": 443, "cidr": "10.0.0.0/8"}
    assert compute_delta({"rules": [rule_a, rule_b]}, {"rules": [rule_b, rule_a]}, FIELDS).empty
    assert not compute_delta({"rules": [rule_a]}, {"rules": [rule_b, rule_a]}, FIELDS).empty


def test_tags_set_and_removed():
    delta = compute_delta({"tags": {"a": "1", "b": "2"}}, {"tags": {"a": "0", "c": "3"}}, ())
    assert delta.tags_to_set == {"a": "1", "b": "2"}
    assert delta.tags_to_remove == {"c"}


def test_aws_reserved_tags_are_invisible():
    assert tags_from_aws([{"Key": "aws:cloudformation:stack", "Value": "x"}, {"Key": "k", "Value": "v"}]) == {"k": "v"}


def test_owner_tags_identify_the_object():
    tags = owner_tags("ElasticIP", "ns", "name", "uid-1")
    assert tags[OWNER_UID] == "uid-1" and tags["infra-operator.dev/owner"] == "ns/name"


def test_tag_problems():
    assert tag_problems({"ok": "v"}, Tagging()) == []
    assert len(tag_problems({"aws:x": "v", "k" * 129: "v", "infra-operator.dev/owner": "x", "big": "v" * 257}, Tagging())) == 4


def test_a_field_may_say_what_the_same_means():
    """An observed item AWS shows without its attributes (e.g. an SNS subscription awaiting
    confirmation) can match by key only; without `same`, canonical equality decides."""
    def by_key_where_unknown(want, have):
        known = {item["key"]: item for item in have}
        return {w["key"] for w in want} == set(known) and all(
            known[w["key"]].get("unknown") or w == known[w["key"]] for w in want)
    fields = (DriftField("items", Severity.WARNING, same=by_key_where_unknown),)
    desired = {"items": [{"key": "a", "v": 1}, {"key": "b", "v": 2}]}
    assert compute_delta(desired, {"items": [{"key": "a", "v": 1}, {"key": "b", "unknown": True}]}, fields).empty
    assert not compute_delta(desired, {"items": [{"key": "a", "v": 3}, {"key": "b", "unknown": True}]}, fields).empty
    assert not compute_delta(desired, {"items": [{"key": "a", "v": 1}]}, fields).empty


def test_list_changes_replaces_only_what_same_says_differs():
    """A desired item may leave fields to AWS: `same` says when it matches the observed one."""
    def covers(want, have):
        return all(have.get(k) == v for k, v in want.items())

    changes = list_changes([{"n": "a", "port": 80}, {"n": "b", "port": 81}],
                           [{"n": "a", "port": 80, "health": 5}, {"n": "b", "port": 90, "health": 5}],
                           key=lambda item: item["n"], same=covers)
    assert changes.added == changes.removed == ()
    assert changes.replaced == (({"n": "b", "port": 90, "health": 5}, {"n": "b", "port": 81}),)


def test_aws_params_take_the_set_fields_and_only_those_asked_for():
    state = {"engineVersion": "7.1", "nodeType": None, "multiAZ": False}
    fields = {"EngineVersion": "engineVersion", "CacheNodeType": "nodeType", "MultiAZEnabled": "multiAZ"}
    assert aws_params(state, fields) == {"EngineVersion": "7.1", "MultiAZEnabled": False}
    assert aws_params(state, fields, only={"multiAZ", "nodeType"}) == {"MultiAZEnabled": False}


def test_attribute_values_are_strings_with_booleans_as_aws_writes_them():
    assert [attribute_value(v) for v in (True, False, 30, "x")] == ["true", "false", "30", "x"]
