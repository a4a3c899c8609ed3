"""IAMRole against moto: a global, spec-named kind whose policies are canonical JSON and whose
managed policies are a set."""

from __future__ import annotations

import json

import pytest

from conftest import KINDS, converge, delete_all, ready_reason, reasons

TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "lambda.amazonaws.com"}}]}
READ = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}]}


@pytest.fixture
def iam(aws):
    return aws.client("iam")


@pytest.fixture
def managed(iam):
    name = f"managed-{id(iam)}"
    arn = iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(READ))["Policy"]["Arn"]
    yield arn
    iam.delete_policy(PolicyArn=arn)


def role_spec(name: str, **extra):
    return {"roleName": name, "assumeRolePolicy": TRUST, "inlinePolicies": {"read": READ}, **extra}


def test_create_update_drift_and_delete(cluster, iam, managed):
    key = ("IAMRole", "fn")
    cluster.apply(*key, role_spec("fn-role", managedPolicyArns=[managed], tags={"team": "a"}))
    converge(cluster, [key])
    status = cluster.status(*key)
    assert status["arn"].endswith(":role/fn-role") and ready_reason(status) == "Available"
    assert iam.list_role_policies(RoleName="fn-role")["PolicyNames"] == ["read"]
    assert [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName="fn-role")["AttachedPolicies"]] == [managed]

    # The same documents in another key order and with one-item lists as scalars: no change.
    reordered = {"Statement": {"Resource": ["*"], "Action": "s3:GetObject", "Effect": "Allow"}, "Version": "2012-10-17"}
    cluster.apply(*key, role_spec("fn-role", managedPolicyArns=[managed], tags={"team": "a"},
                                  inlinePolicies={"read": reordered}))
    assert reasons(cluster.reconcile(*key, "update")) == []

    # Update in place: session duration, a managed policy detached.
    cluster.apply(*key, role_spec("fn-role", maxSessionDuration=7200, tags={"team": "a"}))
    assert reasons(cluster.reconcile(*key, "update")) == ["Updated"]
    assert iam.get_role(RoleName="fn-role")["Role"]["MaxSessionDuration"] == 7200
    assert iam.list_attached_role_policies(RoleName="fn-role")["AttachedPolicies"] == []

    # Out-of-band: an inline policy changed and another added; healed back.
    iam.put_role_policy(RoleName="fn-role", PolicyName="read", PolicyDocument=json.dumps(TRUST | {"Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    iam.put_role_policy(RoleName="fn-role", PolicyName="extra", PolicyDocument=json.dumps(READ))
    assert reasons(cluster.reconcile(*key, "resync")) == ["DriftHealed"]
    assert iam.list_role_policies(RoleName="fn-role")["PolicyNames"] == ["read"]

    delete_all(cluster, [key])
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_role(RoleName="fn-role")


def test_retain_leaves_the_role_without_our_tags(cluster, iam):
    key = ("IAMRole", "kept")
    cluster.apply(*key, role_spec("kept-role", deletionPolicy="Retain"))
    converge(cluster, [key])
    delete_all(cluster, [key])
    tags = {t["Key"] for t in iam.list_role_tags(RoleName="kept-role")["Tags"]}
    assert not any(k.startswith("infra-operator.dev/") for k in tags)
    iam.delete_role_policy(RoleName="kept-role", PolicyName="read")
    iam.delete_role(RoleName="kept-role")


def test_a_role_made_before_a_crash_is_adopted_and_a_stranger_is_name_taken(cluster, iam):
    key = ("IAMRole", "crashy")
    body = cluster.apply(*key, role_spec("crashy-role"))
    cluster.engine.reconcile(KINDS["IAMRole"], body, "create", cluster)  # its status write is lost (a crash)
    assert "Adopted" in reasons(cluster.reconcile(*key))
    assert len([r for r in iam.list_roles()["Roles"] if r["RoleName"] == "crashy-role"]) == 1
    delete_all(cluster, [key])

    iam.create_role(RoleName="someone-elses", AssumeRolePolicyDocument=json.dumps(TRUST))
    cluster.apply("IAMRole", "stranger", role_spec("someone-elses"))
    outcome = cluster.reconcile("IAMRole", "stranger")
    assert outcome.permanent and ready_reason(outcome) == "NameTaken"
    iam.delete_role(RoleName="someone-elses")


@pytest.mark.parametrize("spec,reason", [
    ({"assumeRolePolicy": {"Version": "2012-10-17"}}, "InvalidPolicy"),
    ({"inlinePolicies": {"bad name!": READ}}, "InvalidPolicy"),
    ({"tags": {"aws:reserved": "x"}}, "InvalidTags"),
])
def test_bad_inputs_are_answered_without_an_aws_call(cluster, calls, spec, reason):
    cluster.apply("IAMRole", "bad", {**role_spec("bad-role"), **spec})
    outcome = cluster.reconcile("IAMRole", "bad")
    assert outcome.permanent and ready_reason(outcome) == reason
    assert not [c for c in calls.calls if c != "GetCallerIdentity"]
