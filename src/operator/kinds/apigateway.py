"""APIGateway: an API Gateway v2 API (HTTP or WebSocket), its CORS, its stage (auto-deploy and
throttling) and its routes, each with its own integration (a set, by route key)."""

from __future__ import annotations

from typing import Any, Mapping

from ..engine.delta import reconcile_set
from ..engine.errors import TerminalError
from ..engine.kind import AWSClients, DriftField, Kind, Raw, Severity, State, TagChange, Tagging

# CORS spec field -> API Gateway's key.
CORS = {"allowOrigins": "AllowOrigins", "allowMethods": "AllowMethods", "allowHeaders": "AllowHeaders",
        "exposeHeaders": "ExposeHeaders", "maxAge": "MaxAge", "allowCredentials": "AllowCredentials"}
STRINGS = {"type": "array", "items": {"type": "string", "minLength": 1}, "maxItems": 100}

ROUTE = {
    "type": "object",
    "required": ["routeKey", "integrationType", "integrationUri"],
    "properties": {
        "routeKey": {"type": "string", "minLength": 1, "maxLength": 512,
                     "description": "`GET /items`, `ANY /{proxy+}`, `$default`; WebSocket: `$connect`, an action."},
        "integrationType": {"type": "string", "enum": ["HTTP_PROXY", "AWS_PROXY"],
                            "description": "HTTP_PROXY: an HTTP endpoint; AWS_PROXY: a Lambda function's ARN."},
        "integrationUri": {"type": "string", "minLength": 1},
        "integrationMethod": {"type": "string", "enum": ["ANY", "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD",
                                                         "OPTIONS"], "description": "HTTP_PROXY only; default ANY."},
        "payloadFormatVersion": {"type": "string", "enum": ["1.0", "2.0"]},
        "timeoutInMillis": {"type": "integer", "minimum": 50, "maximum": 30000},
    },
}


class APIGateway(Kind):
    kind = "APIGateway"
    plural = "apigateways"
    short_names = ("apigw",)
    description = ("An API Gateway v2 API (HTTP or WebSocket) with its CORS, one stage (auto-deploy, throttling) "
                   "and its routes, each with its integration (an HTTP endpoint or a Lambda function's ARN).")
    identifier = "apiId"
    # CreateApi takes tags and GetApi shows them; the stage carries none of ours.
    tagging = Tagging(at_create=True, in_description=True)
    spec_properties = {
        "name": {"type": "string", "minLength": 1, "maxLength": 128},
        "description": {"type": "string", "maxLength": 1024},
        "protocolType": {"type": "string", "enum": ["HTTP", "WEBSOCKET"], "default": "HTTP",
                         "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "protocolType is immutable"}]},
        "routeSelectionExpression": {"type": "string", "minLength": 1,
                                     "description": "WebSocket: required (e.g. `$request.body.action`)."},
        "disableExecuteApiEndpoint": {"type": "boolean", "default": False},
        "cors": {"type": "object", "description": "HTTP APIs only.", "properties": {
            "allowOrigins": STRINGS, "allowMethods": STRINGS, "allowHeaders": STRINGS, "exposeHeaders": STRINGS,
            "maxAge": {"type": "integer", "minimum": -1, "maximum": 86400}, "allowCredentials": {"type": "boolean"}}},
        "stage": {"type": "object", "description": "The API's stage; unset: `$default` with auto-deploy.",
                  "properties": {
                      "name": {"type": "string", "pattern": r"^(\$default|[A-Za-z0-9_-]{1,128})$", "default": "$default"},
                      "autoDeploy": {"type": "boolean", "default": True},
                      "throttlingBurstLimit": {"type": "integer", "minimum": 0},
                      "throttlingRateLimit": {"type": "number", "minimum": 0}}},
        "routes": {"type": "array", "items": ROUTE, "maxItems": 300,
                   "description": "Every route of the API, added, changed and removed to match."},
    }
    spec_required = ("name",)
    spec_validations = (
        {"rule": "self.protocolType != 'WEBSOCKET' || has(self.routeSelectionExpression)",
         "message": "a WebSocket API needs a routeSelectionExpression"},
        {"rule": "self.protocolType != 'WEBSOCKET' || !has(self.cors)", "message": "cors is for HTTP APIs"},
    )
    status_properties = {"stageName": {"type": "string"}}
    printer_columns = (("Endpoint", ".status.apiEndpoint", "string"),)
    drift_fields = (
        DriftField("protocolType", Severity.CRITICAL, updatable=False),
        DriftField("routes", Severity.CRITICAL),
        DriftField("disableExecuteApiEndpoint", Severity.CRITICAL),
        DriftField("cors", Severity.CRITICAL),
        DriftField("routeSelectionExpression", Severity.WARNING),
        DriftField("stage", Severity.WARNING),
        DriftField("name", Severity.INFO),
        DriftField("description", Severity.INFO),
    )

    def validate(self, spec: Mapping[str, Any], related: Mapping[str, Mapping[str, Any]]) -> None:
        websocket = spec.get("protocolType") == "WEBSOCKET"
        if websocket and not spec.get("routeSelectionExpression"):
            raise TerminalError("a WebSocket API needs a routeSelectionExpression")
        if websocket and spec.get("cors"):
            raise TerminalError("cors is for HTTP APIs")
        keys = [route["routeKey"] for route in spec.get("routes") or ()]
        if len(keys) != len(set(keys)):
            raise TerminalError("routes lists one routeKey twice", reason="DuplicateRoute")

    def desired(self, spec: Mapping[str, Any]) -> State:
        stage = spec.get("stage") or {}
        protocol = spec.get("protocolType", "HTTP")
        return {
            "name": spec["name"],
            "description": spec.get("description", ""),
            "protocolType": protocol,
            "routeSelectionExpression": spec.get("routeSelectionExpression"),
            "disableExecuteApiEndpoint": spec.get("disableExecuteApiEndpoint", False),
            "cors": {CORS[k]: v for k, v in (spec.get("cors") or {}).items()} if protocol == "HTTP" else None,
            "stage": {"name": stage.get("name", "$default"), "autoDeploy": stage.get("autoDeploy", True),
                      "throttlingBurstLimit": stage.get("throttlingBurstLimit"),
                      "throttlingRateLimit": float(stage["throttlingRateLimit"])
                      if "throttlingRateLimit" in stage else None},
            "routes": [_desired_route(route) for route in spec.get("routes") or ()],
        }

    def observe(self, raw: Raw) -> State:
        api, stage = raw["Api"], raw["Stage"]
        settings = (stage or {}).get("DefaultRouteSettings") or {}
        return {
            "name": api["Name"],
            "description": api.get("Description", ""),
            "protocolType": api["ProtocolType"],
            "routeSelectionExpression": api.get("RouteSelectionExpression"),
            "disableExecuteApiEndpoint": api.get("DisableExecuteApiEndpoint", False),
            "cors": dict(api.get("CorsConfiguration") or {}),
            "stage": stage and {"name": stage["StageName"], "autoDeploy": stage.get("AutoDeploy", False),
                                "throttlingBurstLimit": settings.get("ThrottlingBurstLimit"),
                                "throttlingRateLimit": settings.get("ThrottlingRateLimit")},
            "routes": [_observed_route(route, raw["Integrations"]) for route in raw["Routes"]],
            "tags": api.get("Tags") or {},
        }

    def identify(self, raw: Raw) -> str:
        return raw["Api"]["ApiId"]

    def status(self, raw: Raw) -> State:
        return {"apiEndpoint": raw["Api"].get("ApiEndpoint", ""),
                "stageName": (raw["Stage"] or {}).get("StageName", "")}

    def read(self, aws: AWSClients, ident: str) -> Raw | None:
        client = aws.client("apigatewayv2")
        api = self.absent_if_missing(client.get_api, ApiId=ident)
        return None if api is None else self._complete(client, api)

    def find_all_owned(self, aws: AWSClients, owner_uid_tag: tuple[str, str]) -> list[Raw]:
        client = aws.client("apigatewayv2")
        key, uid = owner_uid_tag
        return [self._complete(client, api) for page in client.get_paginator("get_apis").paginate()
                for api in page["Items"] if (api.get("Tags") or {}).get(key) == uid]

    def create(self, aws: AWSClients, desired: State, tags: Mapping[str, str], token: str) -> Raw:
        client = aws.client("apigatewayv2")
        params: dict[str, Any] = {"Name": desired["name"], "ProtocolType": desired["protocolType"],
                                  "Description": desired["description"], "Tags": dict(tags),
                                  "DisableExecuteApiEndpoint": desired["disableExecuteApiEndpoint"]}
        if desired["routeSelectionExpression"]:
            params["RouteSelectionExpression"] = desired["routeSelectionExpression"]
        if desired["cors"]:
            params["CorsConfiguration"] = desired["cors"]
        api_id = client.create_api(**params)["ApiId"]
        for route in desired["routes"]:
            _add_route(client, api_id, route)
        client.create_stage(ApiId=api_id, **_stage_params(desired["stage"]))
        return self.read(aws, api_id)

    def update(self, aws: AWSClients, ident: str, desired: State, raw: Raw, changed: frozenset[str]) -> None:
        client = aws.client("apigatewayv2")
        api = {field: desired[field] for field in ("name", "description", "disableExecuteApiEndpoint",
                                                   "routeSelectionExpression") if field in changed}
        if api:
            client.update_api(ApiId=ident, **{_aws_name(k): v for k, v in api.items()})
        if "cors" in changed:
            if desired["cors"]:
                client.update_api(ApiId=ident, CorsConfiguration=desired["cors"])
            else:
                client.delete_cors_configuration(ApiId=ident)
        if "routes" in changed:
            self._reconcile_routes(client, ident, desired["routes"], raw)
        if "stage" in changed:
            if raw["Stage"] is None or raw["Stage"]["StageName"] != desired["stage"]["name"]:
                if raw["Stage"] is not None:
                    client.delete_stage(ApiId=ident, StageName=raw["Stage"]["StageName"])
                client.create_stage(ApiId=ident, **_stage_params(desired["stage"]))
            else:
                client.update_stage(ApiId=ident, **_stage_params(desired["stage"]))

    def set_tags(self, aws: AWSClients, ident: str, change: TagChange) -> None:
        client = aws.client("apigatewayv2")
        arn = f"arn:aws:apigateway:{aws.region}::/apis/{ident}"
        if change.remove:
            client.untag_resource(ResourceArn=arn, TagKeys=sorted(change.remove))
        if change.add:
            client.tag_resource(ResourceArn=arn, Tags=dict(change.add))

    def delete(self, aws: AWSClients, ident: str, raw: Raw, spec: Mapping[str, Any]) -> None:
        # Deleting an API deletes its routes, integrations and stages.
        aws.client("apigatewayv2").delete_api(ApiId=ident)

    @staticmethod
    def _complete(client: Any, api: Raw) -> Raw:
        api_id = api["ApiId"]
        stages = client.get_stages(ApiId=api_id)["Items"]
        integrations = {item["IntegrationId"]: item for item in client.get_integrations(ApiId=api_id)["Items"]}
        return {"Api": {k: v for k, v in api.items() if k != "ResponseMetadata"}, "Stage": stages[0] if stages else None,
                "Routes": client.get_routes(ApiId=api_id)["Items"], "Integrations": integrations}

    @staticmethod
    def _reconcile_routes(client: Any, api_id: str, desired: list[State], raw: Raw) -> None:
        routes = {route["RouteKey"]: route for route in raw["Routes"]}

        def remove(have: State) -> None:
            route = routes[have["routeKey"]]
            client.delete_route(ApiId=api_id, RouteId=route["RouteId"])
            if route.get("Target", "").startswith("integrations/"):
                client.delete_integration(ApiId=api_id, IntegrationId=route["Target"].split("/", 1)[1])

        def change(have: State, want: State) -> None:
            route = routes[have["routeKey"]]
            integration = route.get("Target", "").split("/", 1)[-1]
            if integration in raw["Integrations"]:
                client.update_integration(ApiId=api_id, IntegrationId=integration, **_integration_params(want))
            else:
                integration = client.create_integration(ApiId=api_id, **_integration_params(want))["IntegrationId"]
                client.update_route(ApiId=api_id, RouteId=route["RouteId"], Target=f"integrations/{integration}")

        reconcile_set(desired, [_observed_route(route, raw["Integrations"]) for route in raw["Routes"]],
                      key=lambda route: route["routeKey"], add=lambda want: _add_route(client, api_id, want),
                      remove=remove, change=change)


def _aws_name(field: str) -> str:
    return field[0].upper() + field[1:]


def _desired_route(route: Mapping[str, Any]) -> State:
    http = route["integrationType"] == "HTTP_PROXY"
    return {"routeKey": route["routeKey"], "integrationType": route["integrationType"],
            "integrationUri": route["integrationUri"],
            "integrationMethod": route.get("integrationMethod", "ANY") if http else None,
            "payloadFormatVersion": route.get("payloadFormatVersion", "1.0" if http else "2.0"),
            "timeoutInMillis": route.get("timeoutInMillis", 30000)}


def _observed_route(route: Raw, integrations: Mapping[str, Raw]) -> State:
    integration = integrations.get(route.get("Target", "").split("/", 1)[-1]) or {}
    return {"routeKey": route["RouteKey"], "integrationType": integration.get("IntegrationType"),
            "integrationUri": integration.get("IntegrationUri"),
            "integrationMethod": integration.get("IntegrationMethod")
            if integration.get("IntegrationType") == "HTTP_PROXY" else None,
            "payloadFormatVersion": integration.get("PayloadFormatVersion"),
            "timeoutInMillis": integration.get("TimeoutInMillis")}


def _integration_params(route: State) -> dict[str, Any]:
    params = {"IntegrationType": route["integrationType"], "IntegrationUri": route["integrationUri"],
              "PayloadFormatVersion": route["payloadFormatVersion"], "TimeoutInMillis": route["timeoutInMillis"]}
    if route["integrationMethod"]:
        params["IntegrationMethod"] = route["integrationMethod"]
    return params


def _add_route(client: Any, api_id: str, route: State) -> None:
    integration = client.create_integration(ApiId=api_id, **_integration_params(route))["IntegrationId"]
    client.create_route(ApiId=api_id, RouteKey=route["routeKey"], Target=f"integrations/{integration}")


def _stage_params(stage: State) -> dict[str, Any]:
    settings = {key: stage[field] for field, key in (("throttlingBurstLimit", "ThrottlingBurstLimit"),
                                                     ("throttlingRateLimit", "ThrottlingRateLimit"))
                if stage[field] is not None}
    return {"StageName": stage["name"], "AutoDeploy": stage["autoDeploy"],
            **({"DefaultRouteSettings": settings} if settings else {})}
