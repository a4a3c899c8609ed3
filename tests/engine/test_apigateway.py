"""APIGateway through the engine against moto over HTTP, without kopf: create with routes and
stage, update of the API and its route set, drift healed with its severity, delete, Retain,
adoption after a crash, and bad input stopped before AWS; a route to our LambdaFunction with the
invoke permission granted, healed and revoked; a custom domain. moto has no UpdateStage,
UpdateDomainName or UpdateApiMapping: a change of the stage's settings, of the domain's
certificate and of its base path are checked on the calls the kind makes (a recording client);
moto shows no domain target (the fault injector adds it)."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from botocore.exceptions import ClientError

from infra_operator.operator.engine.kind import TagChange

from conftest import (KINDS, Cluster, check_adoption_after_a_lost_status_write, check_retain, check_stopped_before_aws,
                      converge, make_engine, ready_reason, reasons, value)

ITEMS = {"routeKey": "GET /items", "integrationType": "HTTP_PROXY", "integrationUri": "https://backend.example.com/items"}
ORDERS = {"routeKey": "POST /orders", "integrationType": "HTTP_PROXY",
          "integrationUri": "https://backend.example.com/orders", "integrationMethod": "POST"}


TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "lambda.amazonaws.com"}}]}
HELLO = {"routeKey": "GET /hello", "integrationType": "AWS_PROXY", "functionRef": {"name": "hello"}}
# What AWS shows of a regional domain and moto does not: its target name and hosted zone.
TARGET, TARGET_ZONE = "d-abc123xyz.execute-api.us-east-1.amazonaws.com", "Z1UJRXOUMOOFQ8"
DOMAIN_TARGET = (r'"endpointType": "REGIONAL"',
                 f'"endpointType": "REGIONAL", "apiGatewayDomainName": "{TARGET}", "hostedZoneId": "{TARGET_ZONE}"')


def ready(cluster: Cluster, kind: str, name: str, status: dict) -> None:
    """An object of another kind, Ready with `status` (as its own reconcile would leave it)."""
    cluster.apply(kind, name, {})["status"] = {
        **status, "conditions": [{"type": "Ready", "status": "True", "reason": "Available"}]}


def our_function(aws, cluster: Cluster, name: str = "hello") -> str:
    """A Lambda function in AWS and our Ready LambdaFunction object for it; returns its ARN."""
    role = aws.client("iam").create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=json.dumps(TRUST))
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context): return 1\n")
    arn = aws.client("lambda").create_function(FunctionName=name, Runtime="python3.12", Handler="handler.handler",
                                               Role=role["Role"]["Arn"], Code={"ZipFile": package.getvalue()})["FunctionArn"]
    ready(cluster, "LambdaFunction", name, {"functionName": name, "functionArn": arn})
    return arn


def remove_function(aws, name: str = "hello") -> None:
    aws.client("lambda").delete_function(FunctionName=name)
    aws.client("iam").delete_role(RoleName=f"{name}-role")


def grants(aws, function: str) -> dict[str, str]:
    """Statement id -> the SourceArn it allows, of the function's resource policy."""
    try:
        policy = json.loads(aws.client("lambda").get_policy(FunctionName=function)["Policy"])
    except ClientError as error:
        assert error.response["Error"]["Code"] == "ResourceNotFoundException"
        return {}
    return {s["Sid"]: s["Condition"]["ArnLike"]["AWS:SourceArn"] for s in policy["Statement"]}


def routes(client, api: str) -> dict[str, str]:
    """routeKey -> the URI its integration calls."""
    integrations = {i["IntegrationId"]: i for i in client.get_integrations(ApiId=api)["Items"]}
    return {r["RouteKey"]: integrations[r["Target"].split("/")[1]]["IntegrationUri"]
            for r in client.get_routes(ApiId=api)["Items"]}


def test_create_update_drift_delete(aws, telemetry, calls):
    client = aws.client("apigatewayv2")
    cluster = Cluster(make_engine(aws, telemetry, calls))
    spec = {"name": "shop", "description": "the shop's API", "cors": {"allowOrigins": ["https://shop.example.com"]},
            "stage": {"throttlingBurstLimit": 100, "throttlingRateLimit": 50}, "routes": [ITEMS],
            "tags": {"team": "shop"}}
    cluster.apply("APIGateway", "api", spec)
    status = converge(cluster, [("APIGateway", "api")])[-1][1].status
    api = status["apiId"]
    assert status["apiEndpoint"].startswith("https://") and status["stageName"] == "$default"
    described = client.get_api(ApiId=api)
    assert described["CorsConfiguration"]["AllowOrigins"] == ["https://shop.example.com"]
    assert described["Tags"]["team"] == "shop"
    stage = client.get_stages(ApiId=api)["Items"][0]
    assert stage["AutoDeploy"] and stage["DefaultRouteSettings"]["ThrottlingBurstLimit"] == 100
    assert routes(client, api) == {"GET /items": ITEMS["integrationUri"]}

    cluster.apply("APIGateway", "api", {**spec, "description": "v2", "routes": [
        {**ITEMS, "integrationUri": "https://backend-v2.example.com/items"}, ORDERS]})
    assert reasons(cluster.reconcile("APIGateway", "api", "update")) == ["Updated"]
    assert client.get_api(ApiId=api)["Description"] == "v2"
    assert routes(client, api) == {"GET /items": "https://backend-v2.example.com/items",
                                   "POST /orders": ORDERS["integrationUri"]}

    # Out of band: a route nobody asked for, and the CORS origins opened to everyone.
    extra = client.create_integration(ApiId=api, IntegrationType="HTTP_PROXY", IntegrationMethod="ANY",
                                      IntegrationUri="https://attacker.example.net", PayloadFormatVersion="1.0")
    client.create_route(ApiId=api, RouteKey="ANY /{proxy+}", Target=f"integrations/{extra['IntegrationId']}")
    client.update_api(ApiId=api, CorsConfiguration={"AllowOrigins": ["*"]})
    assert reasons(cluster.reconcile("APIGateway", "api", "resync")) == ["DriftHealed"]
    assert set(routes(client, api)) == {"GET /items", "POST /orders"}
    assert client.get_api(ApiId=api)["CorsConfiguration"]["AllowOrigins"] == ["https://shop.example.com"]
    assert reasons(cluster.reconcile("APIGateway", "api", "resync")) == []

    cluster.apply("APIGateway", "api", {**spec, "description": "v2", "routes": [
        {**ITEMS, "integrationUri": "https://backend-v2.example.com/items"}, ORDERS], "stage": {"name": "live"}})
    renamed = cluster.reconcile("APIGateway", "api", "update")
    assert reasons(renamed) == ["Updated"] and renamed.status["stageName"] == "live"
    assert [stage["StageName"] for stage in client.get_stages(ApiId=api)["Items"]] == ["live"]

    gone = cluster.delete("APIGateway", "api")
    assert gone.retry_after is None and "Deleted" in reasons(gone)
    assert client.get_apis()["Items"] == []
    samples = telemetry.sample_values()
    assert value(samples, "infra_operator_drift_detected_total", resource_type="APIGateway", severity="critical") == 1
    assert value(samples, "infra_operator_drift_healed_total", resource_type="APIGateway") == 1
    assert value(samples, "infra_operator_reconcile_total", resource_type="APIGateway", result="error") == 0
    for operation, count in {"CreateApi": 1, "CreateRoute": 2, "DeleteRoute": 1, "DeleteApi": 1}.items():
        assert value(samples, "infra_operator_aws_api_calls_total", service="ApiGatewayV2", operation=operation,
                     result="success") == count, operation


def test_retain_and_adoption(aws, cluster):
    client = aws.client("apigatewayv2")
    api = check_retain(cluster, "APIGateway", {"name": "kept"}, lambda status: {
        k: v for k, v in client.get_api(ApiId=status["apiId"])["Tags"].items()})
    client.delete_api(ApiId=api)
    check_adoption_after_a_lost_status_write(cluster, "APIGateway", {"name": "adopted", "routes": [ITEMS]})
    assert client.get_apis()["Items"] == []


def test_a_route_to_our_function_and_its_invoke_permission(aws, telemetry, calls):
    client, lam = aws.client("apigatewayv2"), aws.client("lambda")
    cluster = Cluster(make_engine(aws, telemetry, calls))
    function = our_function(aws, cluster)
    cluster.apply("APIGateway", "api", {"name": "hello", "routes": [HELLO, ITEMS]})
    api = converge(cluster, [("APIGateway", "api")])[-1][1].status["apiId"]
    assert routes(client, api) == {"GET /hello": function, "GET /items": ITEMS["integrationUri"]}
    [(statement, source)] = grants(aws, function).items()
    assert source == f"arn:aws:execute-api:us-east-1:123456789012:{api}/*" and api in statement

    lam.remove_permission(FunctionName=function, StatementId=statement)  # out of band
    assert reasons(cluster.reconcile("APIGateway", "api", "resync")) == ["DriftHealed"]
    assert grants(aws, function) == {statement: source}
    assert reasons(cluster.reconcile("APIGateway", "api", "resync")) == []

    cluster.apply("APIGateway", "api", {"name": "hello", "routes": [ITEMS]})
    assert reasons(cluster.reconcile("APIGateway", "api", "update")) == ["Updated"]
    assert set(routes(client, api)) == {"GET /items"} and grants(aws, function) == {}

    cluster.apply("APIGateway", "api", {"name": "hello", "routes": [HELLO]})
    assert reasons(cluster.reconcile("APIGateway", "api", "update")) == ["Updated"]
    assert grants(aws, function) == {statement: source}
    assert "Deleted" in reasons(cluster.delete("APIGateway", "api"))
    assert grants(aws, function) == {} and client.get_apis()["Items"] == []
    remove_function(aws)
    samples = telemetry.sample_values()
    assert value(samples, "infra_operator_drift_detected_total", resource_type="APIGateway", severity="critical") == 1
    assert value(samples, "infra_operator_reconcile_total", resource_type="APIGateway", result="error") == 0
    for operation, count in {"AddPermission": 3, "RemovePermission": 2, "GetPolicy": 9}.items():
        assert value(samples, "infra_operator_aws_api_calls_total", service="Lambda", operation=operation,
                     result="success") == count, operation


def test_a_custom_domain_mapped_to_the_stage(aws, cluster):
    client = aws.client("apigatewayv2")
    aws.faults.rewrite(*DOMAIN_TARGET, "apigateway", path=r"GET /v2/domainnames")
    certificate = aws.client("acm").request_certificate(DomainName="api.shop.example.com")["CertificateArn"]
    ready(cluster, "Certificate", "api", {"certificateArn": certificate})
    domain = {"name": "api.shop.example.com", "certificateRef": {"name": "api"}, "basePath": "v1"}
    cluster.apply("APIGateway", "api", {"name": "shop", "routes": [ITEMS], "domain": domain})
    status = converge(cluster, [("APIGateway", "api")])[-1][1].status
    api = status["apiId"]
    assert (status["domainTarget"], status["domainHostedZoneId"]) == (TARGET, TARGET_ZONE)
    [made] = client.get_domain_names()["Items"]
    assert made["DomainNameConfigurations"][0]["CertificateArn"] == certificate
    [mapping] = client.get_api_mappings(DomainName="api.shop.example.com")["Items"]
    assert (mapping["ApiId"], mapping["Stage"], mapping["ApiMappingKey"]) == (api, "$default", "v1")

    client.delete_api_mapping(DomainName="api.shop.example.com", ApiMappingId=mapping["ApiMappingId"])  # out of band
    assert reasons(cluster.reconcile("APIGateway", "api", "resync")) == ["DriftHealed"]
    assert [m["ApiId"] for m in client.get_api_mappings(DomainName="api.shop.example.com")["Items"]] == [api]

    cluster.apply("APIGateway", "api", {"name": "shop", "routes": [ITEMS]})
    dropped = cluster.reconcile("APIGateway", "api", "update")
    assert reasons(dropped) == ["Updated"] and client.get_domain_names()["Items"] == []
    assert (dropped.status["domainTarget"], dropped.status["domainHostedZoneId"]) == ("", "")

    cluster.apply("APIGateway", "api", {"name": "shop", "routes": [ITEMS], "domain": {**domain, "name": "v2.shop.example.com"}})
    assert reasons(cluster.reconcile("APIGateway", "api", "update")) == ["Updated"]
    assert [d["DomainName"] for d in client.get_domain_names()["Items"]] == ["v2.shop.example.com"]
    assert "Deleted" in reasons(cluster.delete("APIGateway", "api"))
    assert client.get_domain_names()["Items"] == [] and client.get_apis()["Items"] == []


class Recorder:
    """An AWSClients whose API Gateway client records each call: for the updates moto 5.2.5
    lacks (UpdateStage, UpdateDomainName, UpdateApiMapping), what the kind asks AWS for."""

    region = "us-east-1"

    def __init__(self):
        self.calls: list[tuple[str, dict]] = []

    def client(self, service, region=None):
        assert service == "apigatewayv2"
        return self

    def __getattr__(self, operation):
        return lambda **params: self.calls.append((operation, params))


def test_a_new_certificate_base_path_and_stage_change_the_domain_in_place():
    kind = KINDS["APIGateway"]
    domain = {"DomainName": "api.shop.example.com", "DomainNameConfigurations": [{"CertificateArn": "arn:old"}]}
    raw = {"Api": {"ApiId": "a1", "Name": "shop", "ProtocolType": "HTTP"}, "Stage": {"StageName": "$default"},
           "Routes": [], "Integrations": {}, "Statements": {}, "Domain": domain,
           "Mapping": {"ApiMappingId": "m1", "ApiMappingKey": "", "Stage": "$default", "ApiId": "a1"}}
    desired = kind.desired({"name": "shop", "stage": {"name": "live"},
                            "domain": {"name": "api.shop.example.com", "certificateArn": "arn:new", "basePath": "v2"}})
    aws = Recorder()
    kind.update(aws, "a1", {**desired, "tags": {}}, raw, frozenset({"stage", "domain"}))
    configuration = [{"CertificateArn": "arn:new", "EndpointType": "REGIONAL", "SecurityPolicy": "TLS_1_2"}]
    assert aws.calls == [
        ("create_stage", {"ApiId": "a1", "StageName": "live", "AutoDeploy": True}),
        ("update_domain_name", {"DomainName": "api.shop.example.com", "DomainNameConfigurations": configuration}),
        ("update_api_mapping", {"DomainName": "api.shop.example.com", "ApiMappingId": "m1", "ApiId": "a1",
                                "Stage": "live", "ApiMappingKey": "v2"}),
        ("delete_stage", {"ApiId": "a1", "StageName": "$default"})]


class Tagged(Recorder):
    """Answers GetApi and GetDomainNames (one page: ours and someone else's domain); moto 5.2.5
    does not route TagResource for a domain name's ARN."""

    OWNER = {"infra-operator.dev/owner-uid": "u1"}

    def get_api(self, ApiId):
        return {"ApiId": ApiId, "Tags": {**self.OWNER, "team": "api"}}

    def get_paginator(self, operation):
        assert operation == "get_domain_names"
        domains = [{"DomainName": "other.example.com", "DomainNameArn": "arn:other", "Tags": {}},
                   {"DomainName": "api.shop.example.com", "DomainNameArn": "arn:domain", "Tags": dict(self.OWNER)}]
        return type("Pages", (), {"paginate": staticmethod(lambda: [{"Items": domains}])})


def test_a_tag_change_reaches_the_custom_domain_too():
    aws = Tagged()
    KINDS["APIGateway"].set_tags(aws, "a1", TagChange({"team": "web"}, frozenset({"cost"})))
    api = "arn:aws:apigateway:us-east-1::/apis/a1"
    assert aws.calls == [
        ("untag_resource", {"ResourceArn": api, "TagKeys": ["cost"]}),
        ("tag_resource", {"ResourceArn": api, "Tags": {"team": "web"}}),
        ("untag_resource", {"ResourceArn": "arn:domain", "TagKeys": ["cost"]}),
        ("tag_resource", {"ResourceArn": "arn:domain", "Tags": {"team": "web"}})]


@pytest.mark.parametrize("spec, reason", [
    ({"name": "ws", "protocolType": "WEBSOCKET"}, "InvalidSpec"),
    ({"name": "ws", "protocolType": "WEBSOCKET", "routeSelectionExpression": "$request.body.action",
      "cors": {"allowOrigins": ["*"]}}, "InvalidSpec"),
    ({"name": "dup", "routes": [ITEMS, ITEMS]}, "DuplicateRoute"),
    ({"name": "tags", "tags": {"aws:x": "y"}}, "InvalidTags"),
    ({"name": "http", "routes": [{**HELLO, "integrationType": "HTTP_PROXY"}]}, "InvalidSpec"),
    ({"name": "neither", "routes": [{"routeKey": "GET /x", "integrationType": "AWS_PROXY"}]}, "MissingReference"),
    ({"name": "both", "routes": [{**HELLO, "integrationUri": "arn:aws:lambda:us-east-1:123456789012:function:x"}]},
     "ConflictingReference"),
])
def test_invalid_specs_stop_before_any_aws_call(cluster, calls, spec, reason):
    check_stopped_before_aws(cluster, calls, "APIGateway", spec, reason)
