"""LambdaFunction through the engine against moto over HTTP: create with our role and bucket,
configuration and code updated in place (one at a time, as LastUpdateStatus allows), drift healed
with its severity, environment values from a Secret never seen and from a ConfigMap followed, VPC
placement by our Subnet and SecurityGroup objects, concurrency, published versions and an alias,
delete, Retain, adoption, a taken name, and bad input stopped before AWS."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import secrets
import zipfile

import pytest

from conftest import (Cluster, Secrets, calls_of, check_adoption_after_a_lost_status_write, check_name_taken, check_retain,
                      check_stopped_before_aws, converge, delete_all, kind_metrics, make_engine, ready_reason, reasons)

TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "lambda.amazonaws.com"}}]}
FUNCTION_STATE = r"GET /2015-03-31/functions/[^/]+"
OWNER_UID = "infra-operator.dev/owner-uid"


def package(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("handler.py", date_time=(2026, 1, 1, 0, 0, 0)), source)
    return buffer.getvalue()


def sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


@pytest.fixture
def lam(aws):
    return aws.client("lambda")


def make_stack(aws, cluster) -> str:
    """Our role and bucket, Ready, with a first package uploaded; returns the bucket's name."""
    suffix = secrets.token_hex(4)
    bucket = f"code-{suffix}"
    cluster.apply("IAMRole", "role", {"roleName": f"fn-{suffix}", "assumeRolePolicy": TRUST})
    cluster.apply("S3Bucket", "code", {"bucketName": bucket, "forceDestroy": True})
    converge(cluster, [("IAMRole", "role"), ("S3Bucket", "code")])
    aws.client("s3").put_object(Bucket=bucket, Key="fn.zip", Body=package("def handler(e, c): return 1\n"))
    return bucket


def remove_stack(cluster) -> None:
    delete_all(cluster, [("S3Bucket", "code"), ("IAMRole", "role")])


@pytest.fixture
def stack(aws, cluster):
    yield make_stack(aws, cluster)
    remove_stack(cluster)


def spec(name: str, **extra):
    return {"functionName": name, "runtime": "python3.12", "handler": "handler.handler", "roleRef": {"name": "role"},
            "code": {"s3BucketRef": {"name": "code"}, "s3Key": "fn.zip"}, **extra}


def configuration(lam, name: str) -> dict:
    return lam.get_function_configuration(FunctionName=name)


def test_create_update_drift_heal_secret_and_delete(aws, lam, k8s_secrets, telemetry, calls):
    cluster = Cluster(make_engine(aws, telemetry, calls, read_secret=k8s_secrets))
    stack = make_stack(aws, cluster)
    password, rotated = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    k8s_secrets.put("db", DB_PASSWORD=password, unrelated="not-used")
    key = ("LambdaFunction", "fn")
    cluster.apply(*key, spec("orders", memorySize=256, description="orders", tags={"team": "shop"},
                             environment={"variables": {"MODE": "live"}},
                             environmentSecretRef={"name": "db", "keys": ["DB_PASSWORD"]}))
    outcomes = converge(cluster, [key])
    status = cluster.status(*key)
    assert ready_reason(status) == "Available" and status["functionName"] == "orders"
    assert status["functionArn"].endswith(":function:orders") and status["state"] == "Active"
    first = package("def handler(e, c): return 1\n")
    assert status["codeSha256"] == sha256(first)
    now = configuration(lam, "orders")
    assert now["Role"] == cluster.status("IAMRole", "role")["arn"] and now["MemorySize"] == 256
    assert now["Environment"]["Variables"] == {"MODE": "live", "DB_PASSWORD": password}
    tags = lam.list_tags(Resource=status["functionArn"])["Tags"]
    assert tags["team"] == "shop" and tags[OWNER_UID] == cluster.uid(*key)

    # Spec change: configuration in place.
    cluster.apply(*key, spec("orders", memorySize=512, timeout=30, description="orders v2", tags={"team": "shop"},
                             environment={"variables": {"MODE": "canary"}},
                             environmentSecretRef={"name": "db", "keys": ["DB_PASSWORD"]}))
    updated = cluster.reconcile(*key, "update")
    outcomes.append((key, updated))
    assert reasons(updated) == ["Updated"] and ready_reason(updated) == "Available"
    now = configuration(lam, "orders")
    assert (now["MemorySize"], now["Timeout"], now["Description"]) == (512, 30, "orders v2")
    assert now["Environment"]["Variables"] == {"MODE": "canary", "DB_PASSWORD": password}
    assert reasons(cluster.reconcile(*key, "resync")) == []

    # New code at the same key: the function follows its SHA-256 (critical: what runs changed).
    second = package("def handler(e, c): return 2\n")
    aws.client("s3").put_object(Bucket=stack, Key="fn.zip", Body=second)
    healed = cluster.reconcile(*key, "resync")
    outcomes.append((key, healed))
    assert reasons(healed) == ["DriftHealed"] and "codeSha256" in healed.events[0].message
    assert configuration(lam, "orders")["CodeSha256"] == sha256(second) == healed.status["codeSha256"]

    # Out of band: timeout and a plain variable changed, a variable added (warning).
    lam.update_function_configuration(FunctionName="orders", Timeout=3, Environment={"Variables": {
        "MODE": "debug", "DB_PASSWORD": password, "EXTRA": "1"}})
    healed = cluster.reconcile(*key, "resync")
    outcomes.append((key, healed))
    assert reasons(healed) == ["DriftHealed"]
    now = configuration(lam, "orders")
    assert now["Timeout"] == 30 and now["Environment"]["Variables"] == {"MODE": "canary", "DB_PASSWORD": password}

    # The Secret changes: the new value reaches AWS (an update).
    k8s_secrets.put("db", DB_PASSWORD=rotated)
    rotated_run = cluster.reconcile(*key, "update")
    outcomes.append((key, rotated_run))
    assert reasons(rotated_run) == ["Updated"]
    assert configuration(lam, "orders")["Environment"]["Variables"]["DB_PASSWORD"] == rotated

    # Neither value ever appears in what the engine hands out (status, events, messages).
    seen = json.dumps([(o.status, o.message, [(e.reason, e.message) for e in o.events]) for _, o in outcomes])
    assert password not in seen and rotated not in seen and "DB_PASSWORD" not in json.dumps(status)

    gone = cluster.delete(*key)
    assert gone.retry_after is None and "Deleted" in reasons(gone)
    assert "orders" not in {f["FunctionName"] for f in lam.list_functions()["Functions"]}
    samples = telemetry.sample_values()
    assert kind_metrics(samples, "LambdaFunction") == {
        "drift critical": 1, "drift warning": 1, "healed": 2, "reconcile success": 6}
    assert calls_of(samples, "Lambda", "CreateFunction", "UpdateFunctionConfiguration", "UpdateFunctionCode",
                    "DeleteFunction") == {"CreateFunction": 1, "UpdateFunctionConfiguration": 3,
                                          "UpdateFunctionCode": 1, "DeleteFunction": 1}
    remove_stack(cluster)


def test_code_then_configuration_one_update_at_a_time(aws, lam, cluster, calls, stack):
    key = ("LambdaFunction", "fn")
    cluster.apply(*key, spec("steps"))
    converge(cluster, [key])
    newer = package("def handler(e, c): return 'new'\n")
    aws.client("s3").put_object(Bucket=stack, Key="v2.zip", Body=newer)
    cluster.apply(*key, spec("steps", code={"s3BucketRef": {"name": "code"}, "s3Key": "v2.zip"}, memorySize=1024))
    calls.calls.clear()
    first = cluster.reconcile(*key, "update")
    assert ready_reason(first) == "Updating" and first.retry_after and not first.permanent
    assert calls.calls["UpdateFunctionCode"] == 1 and calls.calls["UpdateFunctionConfiguration"] == 0
    # AWS still applies the code: the configuration waits, no call refused.
    aws.faults.rewrite(r'"LastUpdateStatus": ?"Successful"', '"LastUpdateStatus": "InProgress"', service="lambda",
                       path=FUNCTION_STATE, times=1)
    waiting = cluster.reconcile(*key, "update")
    assert ready_reason(waiting) == "Updating" and calls.calls["UpdateFunctionConfiguration"] == 0
    done = cluster.reconcile(*key, "update")
    assert reasons(done) == ["Updated"] and ready_reason(done) == "Available"
    now = configuration(lam, "steps")
    assert now["MemorySize"] == 1024 and now["CodeSha256"] == sha256(newer)
    assert calls.calls["UpdateFunctionConfiguration"] == 1 and calls.calls["UpdateFunctionCode"] == 1
    delete_all(cluster, [key])


def test_a_pending_function_is_provisioning_until_active(aws, cluster, stack):
    pending = aws.faults.rewrite(r'"State": ?"Active"', '"State": "Pending"', service="lambda", path=FUNCTION_STATE)
    key = ("LambdaFunction", "fn")
    cluster.apply(*key, spec("pending"))
    created = cluster.reconcile(*key)
    assert ready_reason(created) == "Provisioning" and created.retry_after and created.status["state"] == "Pending"
    assert ready_reason(cluster.reconcile(*key)) == "Provisioning"
    pending.times = pending.used  # Lambda is done
    assert ready_reason(cluster.reconcile(*key)) == "Available"
    delete_all(cluster, [key])


NETWORK = [("VPC", "net"), ("Subnet", "fn-a"), ("Subnet", "fn-b"), ("SecurityGroup", "fn")]


def test_vpc_placement_layers_and_concurrency(aws, lam, cluster, stack):
    cluster.apply("VPC", "net", {"cidrBlock": "10.42.0.0/16"})
    for name, cidr in (("fn-a", "10.42.1.0/24"), ("fn-b", "10.42.2.0/24")):
        cluster.apply("Subnet", name, {"vpcRef": {"name": "net"}, "cidrBlock": cidr})
    cluster.apply("SecurityGroup", "fn", {"vpcRef": {"name": "net"}, "groupName": "fn", "description": "fn"})
    converge(cluster, NETWORK)
    subnets = [cluster.status("Subnet", name)["subnetId"] for name in ("fn-a", "fn-b")]
    layer = lam.publish_layer_version(LayerName="deps", Content={"ZipFile": package("x = 1\n")})["LayerVersionArn"]
    key = ("LambdaFunction", "fn")
    cluster.apply(*key, spec("placed", subnetRefs=[{"name": "fn-a"}, {"name": "fn-b"}],
                             securityGroupRefs=[{"name": "fn"}], layers=[layer], reservedConcurrency=5))
    converge(cluster, [key])
    now = lam.get_function(FunctionName="placed")
    assert now["Configuration"]["VpcConfig"]["SubnetIds"] == subnets
    assert now["Configuration"]["VpcConfig"]["SecurityGroupIds"] == [cluster.status("SecurityGroup", "fn")["groupId"]]
    assert [item["Arn"] for item in now["Configuration"]["Layers"]] == [layer]
    assert now["Concurrency"]["ReservedConcurrentExecutions"] == 5
    lam.put_function_concurrency(FunctionName="placed", ReservedConcurrentExecutions=50)
    healed = cluster.reconcile(*key, "resync")
    assert reasons(healed) == ["DriftHealed"] and "reservedConcurrency" in healed.events[0].message
    assert lam.get_function(FunctionName="placed")["Concurrency"]["ReservedConcurrentExecutions"] == 5
    cluster.apply(*key, spec("placed"))  # out of the VPC, no layers, concurrency no longer compared
    assert reasons(cluster.reconcile(*key, "update")) == ["Updated"]
    now = lam.get_function(FunctionName="placed")["Configuration"]
    assert not (now.get("VpcConfig") or {}).get("SubnetIds") and not now.get("Layers")
    delete_all(cluster, [key, *reversed(NETWORK)])


def test_retain_leaves_the_function_without_our_tags(lam, cluster, stack):
    def tags(status):
        return lam.list_tags(Resource=status["functionArn"])["Tags"]
    check_retain(cluster, "LambdaFunction", spec("kept"), tags)
    lam.delete_function(FunctionName="kept")


def test_a_tag_change_adds_and_removes_tags_in_place(lam, cluster, stack):
    key = ("LambdaFunction", "tagged")
    cluster.apply(*key, spec("tagged", tags={"team": "shop", "stage": "dev"}))
    arn = converge(cluster, [key])[-1][1].status["functionArn"]
    cluster.apply(*key, spec("tagged", tags={"team": "ops"}))
    assert reasons(cluster.reconcile(*key, "update")) == ["Updated"]
    tags = lam.list_tags(Resource=arn)["Tags"]
    assert tags["team"] == "ops" and "stage" not in tags and tags[OWNER_UID] == cluster.uid(*key)
    delete_all(cluster, [key])


def test_adoption_after_a_lost_status_write(cluster, stack):
    check_adoption_after_a_lost_status_write(cluster, "LambdaFunction", spec("adopted"))


def test_a_name_someone_else_holds_is_not_taken_over(lam, cluster, stack):
    role = cluster.status("IAMRole", "role")["arn"]
    lam.create_function(FunctionName="theirs", Runtime="python3.12", Role=role, Handler="handler.handler",
                        Code={"S3Bucket": stack, "S3Key": "fn.zip"})
    check_name_taken(cluster, "LambdaFunction", spec("theirs"))
    assert OWNER_UID not in lam.get_function(FunctionName="theirs").get("Tags", {})
    lam.delete_function(FunctionName="theirs")


def test_missing_code_waits_without_creating(lam, cluster, calls, stack):
    key = ("LambdaFunction", "fn")
    cluster.apply(*key, spec("later", code={"s3BucketRef": {"name": "code"}, "s3Key": "not-yet.zip"}))
    waiting = cluster.reconcile(*key)
    assert ready_reason(waiting) == "CodeNotFound" and not waiting.permanent and "not-yet.zip" in waiting.message
    assert calls.calls["CreateFunction"] == 0
    del cluster.bodies[key]


def test_code_from_a_config_map_follows_it(lam, cluster, calls, stack):
    config_maps = Secrets()  # the same shape: decoded data (binaryData's bytes as escaped text), a version
    cluster.engine.read_config_map = config_maps
    key = ("LambdaFunction", "fn")
    inline = {k: v for k, v in spec("inline").items() if k != "code"}
    cluster.apply(*key, {**inline, "codeConfigMapRef": {"name": "fn-code", "key": "package.zip"}})
    waiting = cluster.reconcile(*key)
    assert ready_reason(waiting) == "ConfigMapNotFound" and not waiting.permanent and calls.calls["CreateFunction"] == 0
    first, second = package("def handler(e, c): return 'a'\n"), package("def handler(e, c): return 'b'\n")
    config_maps.put("fn-code", **{"package.zip": first.decode("utf-8", "surrogateescape")})
    converge(cluster, [key])
    assert cluster.status(*key)["codeSha256"] == sha256(first) == configuration(lam, "inline")["CodeSha256"]
    config_maps.put("fn-code", **{"package.zip": second.decode("utf-8", "surrogateescape")})
    updated = cluster.reconcile(*key, "update")  # the ConfigMap watch wakes the object
    assert reasons(updated) == ["Updated"] and configuration(lam, "inline")["CodeSha256"] == sha256(second)
    assert reasons(cluster.reconcile(*key, "resync")) == []
    delete_all(cluster, [key])


@pytest.mark.parametrize("extra", [
    {"codeConfigMapRef": {"name": "fn-code", "key": "package.zip"}},
    {"subnetIds": ["subnet-0123456789abcdef0"]},
    {"securityGroupIds": ["sg-0123456789abcdef0"]},
    {"environmentSecretRef": {"name": "db"}},
    {"environmentConfigMapRef": {"name": "settings"}},
    {"environment": {"variables": {"A": "1"}}, "environmentSecretRef": {"name": "db", "keys": ["A"]}},
    {"environmentConfigMapRef": {"name": "settings", "keys": ["A"]},
     "environmentSecretRef": {"name": "db", "keys": ["A"]}},
    {"environmentSecretRef": {"name": "db", "keys": ["not-a-name"]}},
    {"environmentConfigMapRef": {"name": "settings", "keys": ["not-a-name"]}},
    {"alias": {"name": "live"}},
    {"image": {"uri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/fn:v1"}},  # and code
])
def test_invalid_specs_stop_before_any_aws_call(cluster, calls, extra):
    bad = {**spec("bad"), "role": "arn:aws:iam::123456789012:role/r",
           "code": {"s3Bucket": "b", "s3Key": "k.zip"}, **extra}
    del bad["roleRef"]
    check_stopped_before_aws(cluster, calls, "LambdaFunction", bad, "InvalidSpec")


def test_environment_from_a_config_map_follows_it(lam, cluster, calls, stack):
    config_maps = Secrets()
    cluster.engine.read_config_map = config_maps
    key = ("LambdaFunction", "fn")
    cluster.apply(*key, spec("configured", environment={"variables": {"MODE": "live"}},
                             environmentConfigMapRef={"name": "settings", "keys": ["LOG_LEVEL", "REGION"]}))
    waiting = cluster.reconcile(*key)
    assert ready_reason(waiting) == "ConfigMapNotFound" and not waiting.permanent and "settings" in waiting.message
    config_maps.put("settings", LOG_LEVEL="info", REGION="eu-west-1", UNUSED="x")
    converge(cluster, [key])
    assert configuration(lam, "configured")["Environment"]["Variables"] == {
        "MODE": "live", "LOG_LEVEL": "info", "REGION": "eu-west-1"}
    config_maps.put("settings", LOG_LEVEL="debug", REGION="eu-west-1")
    updated = cluster.reconcile(*key, "update")  # the ConfigMap watch wakes the object
    assert reasons(updated) == ["Updated"]
    assert configuration(lam, "configured")["Environment"]["Variables"]["LOG_LEVEL"] == "debug"
    assert reasons(cluster.reconcile(*key, "resync")) == []

    # A variable of the ConfigMap removed out of band comes back (its name is compared).
    lam.update_function_configuration(FunctionName="configured", Environment={"Variables": {"MODE": "live"}})
    healed = cluster.reconcile(*key, "resync")
    assert reasons(healed) == ["DriftHealed"]
    assert configuration(lam, "configured")["Environment"]["Variables"]["REGION"] == "eu-west-1"

    # Published: the update waits for Lambda, then the next run publishes without applying the
    # ConfigMap again (it is still new to the engine: the waiting run recorded nothing).
    cluster.apply(*key, spec("configured", environment={"variables": {"MODE": "live"}}, publish=True,
                             environmentConfigMapRef={"name": "settings", "keys": ["LOG_LEVEL", "REGION"]}))
    converge(cluster, [key])
    config_maps.put("settings", LOG_LEVEL="warning", REGION="eu-west-1")
    calls.calls.clear()
    assert ready_reason(cluster.reconcile(*key, "update")) == "Updating"
    published = cluster.reconcile(*key, "update")
    assert reasons(published) == ["Updated"] and ready_reason(published) == "Available"
    assert calls.calls["UpdateFunctionConfiguration"] == 1 and calls.calls["PublishVersion"] == 1
    assert lam.get_function(FunctionName="configured", Qualifier=published.status["version"])[
        "Configuration"]["Environment"]["Variables"]["LOG_LEVEL"] == "warning"
    assert reasons(cluster.reconcile(*key, "update")) == [] and calls.calls["UpdateFunctionConfiguration"] == 1
    delete_all(cluster, [key])


def versions(lam, name: str) -> list[str]:
    return [v["Version"] for v in lam.list_versions_by_function(FunctionName=name)["Versions"]
            if v["Version"] != "$LATEST"]


def test_publish_versions_and_an_alias_at_the_latest(aws, lam, cluster, calls, stack):
    key = ("LambdaFunction", "fn")
    cluster.apply(*key, spec("released", publish=True, alias={"name": "live", "description": "what serves"}))
    converge(cluster, [key])
    status = cluster.status(*key)
    alias = lam.get_alias(FunctionName="released", Name="live")
    assert versions(lam, "released") == ["1"] and status["version"] == "1"
    assert (alias["FunctionVersion"], alias["Description"]) == ("1", "what serves")
    assert status["aliasArn"] == alias["AliasArn"] and status["aliasArn"].endswith(":function:released:live")
    assert reasons(cluster.reconcile(*key, "resync")) == []

    # A configuration change: updated, then (once Lambda applied it) published, the alias follows.
    cluster.apply(*key, spec("released", publish=True, alias={"name": "live", "description": "what serves"},
                             memorySize=512))
    first = cluster.reconcile(*key, "update")
    assert ready_reason(first) == "Updating" and calls.calls["PublishVersion"] == 0
    done = cluster.reconcile(*key, "update")
    assert reasons(done) == ["Updated"] and ready_reason(done) == "Available"
    assert versions(lam, "released") == ["1", "2"] and done.status["version"] == "2"
    assert lam.get_alias(FunctionName="released", Name="live")["FunctionVersion"] == "2"
    assert lam.get_function(FunctionName="released", Qualifier="2")["Configuration"]["MemorySize"] == 512

    # New code: the same path (code, then a version).
    aws.client("s3").put_object(Bucket=stack, Key="fn.zip", Body=package("def handler(e, c): return 3\n"))
    assert ready_reason(cluster.reconcile(*key, "resync")) == "Updating"
    converge(cluster, [key])
    assert versions(lam, "released") == ["1", "2", "3"]
    assert lam.get_alias(FunctionName="released", Name="live")["FunctionVersion"] == "3"

    # Out of band: the alias moved back and a second alias added (the function's only alias is the spec's).
    lam.update_alias(FunctionName="released", Name="live", FunctionVersion="1")
    lam.create_alias(FunctionName="released", Name="other", FunctionVersion="1")
    healed = cluster.reconcile(*key, "resync")
    assert reasons(healed) == ["DriftHealed"] and "aliases" in healed.events[0].message
    assert [(a["Name"], a["FunctionVersion"]) for a in lam.list_aliases(FunctionName="released")["Aliases"]] == [
        ("live", "3")]

    # Renamed, then removed: the old alias goes; no version is published without a change.
    cluster.apply(*key, spec("released", publish=True, alias={"name": "stable"}, memorySize=512))
    assert reasons(cluster.reconcile(*key, "update")) == ["Updated"]
    assert [a["Name"] for a in lam.list_aliases(FunctionName="released")["Aliases"]] == ["stable"]
    cluster.apply(*key, spec("released", publish=True, memorySize=512))
    assert reasons(cluster.reconcile(*key, "update")) == ["Updated"]
    assert lam.list_aliases(FunctionName="released")["Aliases"] == [] and versions(lam, "released") == ["1", "2", "3"]
    assert cluster.status(*key).get("aliasArn") is None
    assert calls.calls["PublishVersion"] == 2
    delete_all(cluster, [key])


IMAGE_URI = "123456789012.dkr.ecr.us-east-1.amazonaws.com/fn:v1"


def image_spec(name: str, image: dict, **extra):
    return {"functionName": name, "roleRef": {"name": "role"}, "image": image, **extra}


def test_a_container_image_from_our_repository_follows_its_tag(lam, cluster, calls, stack):
    cluster.apply("ECRRepository", "images", {"repositoryName": f"fn-{secrets.token_hex(4)}"})
    converge(cluster, [("ECRRepository", "images")])
    repository = cluster.status("ECRRepository", "images")["repositoryUri"]
    key = ("LambdaFunction", "fn")
    cluster.apply(*key, image_spec("boxed", {"repositoryRef": {"name": "images"}, "tag": "v1"}, memorySize=256))
    converge(cluster, [key])
    now = lam.get_function(FunctionName="boxed")
    assert now["Configuration"]["PackageType"] == "Image" and now["Code"]["ImageUri"] == f"{repository}:v1"
    assert "Runtime" not in now["Configuration"] or not now["Configuration"]["Runtime"]
    assert reasons(cluster.reconcile(*key, "resync")) == []

    cluster.apply(*key, image_spec("boxed", {"repositoryRef": {"name": "images"}, "tag": "v2"}, memorySize=256))
    calls.calls.clear()
    assert reasons(cluster.reconcile(*key, "update")) == ["Updated"]
    assert lam.get_function(FunctionName="boxed")["Code"]["ImageUri"] == f"{repository}:v2"
    assert calls.calls["UpdateFunctionCode"] == 1 and calls.calls["UpdateFunctionConfiguration"] == 0

    # Another image deployed outside: critical drift, the spec's image again.
    lam.update_function_code(FunctionName="boxed", ImageUri=f"{repository}:debug")
    healed = cluster.reconcile(*key, "resync")
    assert reasons(healed) == ["DriftHealed"] and "imageUri" in healed.events[0].message
    assert lam.get_function(FunctionName="boxed")["Code"]["ImageUri"] == f"{repository}:v2"
    delete_all(cluster, [key, ("ECRRepository", "images")])


def test_an_image_by_uri_is_created_with_no_runtime_and_stays_an_image(lam, cluster, calls, stack):
    key = ("LambdaFunction", "fn")
    cluster.apply(*key, image_spec("by-uri", {"uri": IMAGE_URI}))
    converge(cluster, [key])
    assert lam.get_function(FunctionName="by-uri")["Code"]["ImageUri"] == IMAGE_URI
    # A zip package instead (past the CRD's transition rule, e.g. on an API server without it).
    cluster.apply(*key, spec("by-uri"))
    calls.calls.clear()
    refused = cluster.reconcile(*key, "update")
    assert refused.permanent and ready_reason(refused) == "ReplacementRequired" and "packageType" in refused.message
    assert calls.calls["UpdateFunctionCode"] == 0
    assert lam.get_function(FunctionName="by-uri")["Code"]["ImageUri"] == IMAGE_URI
    delete_all(cluster, [key])


@pytest.mark.parametrize("extra", [
    {"runtime": "python3.12"},
    {"image": {"uri": IMAGE_URI, "tag": "v1"}},
    {"image": {"repositoryUri": IMAGE_URI.split(":")[0]}},
])
def test_invalid_image_specs_stop_before_any_aws_call(cluster, calls, extra):
    bad = {**image_spec("bad", {"uri": IMAGE_URI}), "role": "arn:aws:iam::123456789012:role/r", **extra}
    del bad["roleRef"]
    check_stopped_before_aws(cluster, calls, "LambdaFunction", bad, "InvalidSpec")
