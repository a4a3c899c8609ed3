"""LambdaFunction end to end (kopf + the engine against the API emulation and moto): the package
in a ConfigMap, read with kopf's login; a new package there reaches the function (the ConfigMap
watch wakes the object; the tests' 2 s resync would find it too); an environment value from a
ConfigMap published as a new version behind the alias."""

from __future__ import annotations

import base64
import hashlib
import io
import secrets
import zipfile

TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "lambda.amazonaws.com"}}]}


def package(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("handler.py", date_time=(2026, 1, 1, 0, 0, 0)), source)
    return buffer.getvalue()


def config_map(cluster, data: bytes) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "code", "namespace": cluster.namespace},
            "binaryData": {"package.zip": base64.b64encode(data).decode()}}


def test_a_new_package_in_the_config_map_is_deployed_at_once(cluster, aws):
    first, second = package("def handler(e, c): return 1\n"), package("def handler(e, c): return 2\n")
    name = f"e2e-{secrets.token_hex(4)}"
    cluster.kube.create(config_map(cluster, first))
    cluster.create("IAMRole", "role", {"providerRef": {"name": "aws"}, "roleName": name, "assumeRolePolicy": TRUST})
    cluster.create("LambdaFunction", "fn", {"providerRef": {"name": "aws"}, "functionName": name,
                                            "runtime": "python3.12", "handler": "handler.handler",
                                            "roleRef": {"name": "role"},
                                            "codeConfigMapRef": {"name": "code", "key": "package.zip"}})
    status = cluster.wait_ready("LambdaFunction", "fn")["status"]
    assert status["codeSha256"] == base64.b64encode(hashlib.sha256(first).digest()).decode()
    lam = aws.client("lambda")
    cluster.kube.patch("v1", "ConfigMap", cluster.namespace, "code",
                       {"binaryData": {"package.zip": base64.b64encode(second).decode()}})
    wanted = base64.b64encode(hashlib.sha256(second).digest()).decode()
    cluster.kube.wait_for(lambda: lam.get_function_configuration(FunctionName=name)["CodeSha256"],
                          until=lambda sha: sha == wanted, timeout=30, what="the new package deployed")
    # The event follows the reconcile's last read of the function, a moment after the update.
    cluster.kube.wait_for(lambda: set(cluster.event_reasons("fn")), until=lambda seen: {"Updated", "DriftHealed"} & seen,
                          timeout=10, what="the update's event")


def test_a_changed_config_map_value_is_published_and_the_alias_follows(cluster, aws):
    name = f"e2e-{secrets.token_hex(4)}"
    cluster.kube.create(config_map(cluster, package("def handler(e, c): return 1\n")))
    cluster.kube.create({"apiVersion": "v1", "kind": "ConfigMap",
                         "metadata": {"name": "settings", "namespace": cluster.namespace}, "data": {"LEVEL": "info"}})
    cluster.create("IAMRole", "role", {"providerRef": {"name": "aws"}, "roleName": name, "assumeRolePolicy": TRUST})
    cluster.create("LambdaFunction", "fn", {"providerRef": {"name": "aws"}, "functionName": name,
                                            "runtime": "python3.12", "handler": "handler.handler",
                                            "roleRef": {"name": "role"},
                                            "codeConfigMapRef": {"name": "code", "key": "package.zip"},
                                            "environmentConfigMapRef": {"name": "settings", "keys": ["LEVEL"]},
                                            "publish": True, "alias": {"name": "live"}})
    status = cluster.wait_ready("LambdaFunction", "fn")["status"]
    lam = aws.client("lambda")
    assert status["version"] == "1" and status["aliasArn"] == lam.get_alias(FunctionName=name, Name="live")["AliasArn"]
    cluster.kube.patch("v1", "ConfigMap", cluster.namespace, "settings", {"data": {"LEVEL": "debug"}})
    cluster.kube.wait_for(lambda: lam.get_function(FunctionName=name, Qualifier="live")["Configuration"],
                          until=lambda live: live.get("Environment", {}).get("Variables", {}).get("LEVEL") == "debug",
                          timeout=30, what="the new value published behind the alias")
    assert lam.get_alias(FunctionName=name, Name="live")["FunctionVersion"] == "2"
