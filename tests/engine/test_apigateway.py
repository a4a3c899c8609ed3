"""APIGateway through the engine against moto over HTTP, without kopf: create with routes and
stage, update of the API and its route set, drift healed with its severity, delete, Retain,
adoption after a crash, and bad input stopped before AWS. moto has no UpdateStage: a change of
the stage's settings is not tested."""

from __future__ import annotations

import pytest

from conftest import (Cluster, check_adoption_after_a_lost_status_write, check_retain, check_stopped_before_aws,
                      converge, make_engine, ready_reason, reasons, value)

ITEMS = {"routeKey": "GET /items", "integrationType": "HTTP_PROXY", "integrationUri": "https://backend.example.com/items"}
ORDERS = {"routeKey": "POST /orders", "integrationType": "HTTP_PROXY",
          "integrationUri": "https://backend.example.com/orders", "integrationMethod": "POST"}


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


@pytest.mark.parametrize("spec, reason", [
    ({"name": "ws", "protocolType": "WEBSOCKET"}, "InvalidSpec"),
    ({"name": "ws", "protocolType": "WEBSOCKET", "routeSelectionExpression": "$request.body.action",
      "cors": {"allowOrigins": ["*"]}}, "InvalidSpec"),
    ({"name": "dup", "routes": [ITEMS, ITEMS]}, "DuplicateRoute"),
    ({"name": "tags", "tags": {"aws:x": "y"}}, "InvalidTags"),
])
def test_invalid_specs_stop_before_any_aws_call(cluster, calls, spec, reason):
    check_stopped_before_aws(cluster, calls, "APIGateway", spec, reason)
