"""API Gateway v2: what the APIGateway kind computes. An API (HTTP or WebSocket) with its CORS,
one stage, its routes (a set, by route key) each with its own integration, the invoke permission
of each Lambda function a route names by reference, and a regional custom domain mapped to the
stage. The kind module declares the schema; this base does the calls."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Mapping

from ..engine.delta import OWNER_UID, aws_params, reconcile_set
from ..engine.kind import AWSClients, Kind, Raw, State, TagChange, tag_resource
from ..engine.lookups import paginated

# CORS spec field -> API Gateway's key.
CORS = {"allowOrigins": "AllowOrigins", "allowMethods": "AllowMethods", "allowHeaders": "AllowHeaders",
        "exposeHeaders": "ExposeHeaders", "maxAge": "MaxAge", "allowCredentials": "AllowCredentials"}
# CreateApi's and UpdateApi's parameter -> the desired field.
API_PARAMS = {"Name": "name", "Description": "description", "DisableExecuteApiEndpoint": "disableExecuteApiEndpoint",
              "RouteSelectionExpression": "routeSelectionExpression"}
# CreateIntegration's and UpdateIntegration's parameter -> the route's field (a method: HTTP_PROXY only).
INTEGRATION_PARAMS = {"IntegrationType": "integrationType", "IntegrationUri": "integrationUri",
                      "IntegrationMethod": "integrationMethod", "PayloadFormatVersion": "payloadFormatVersion",
                      "TimeoutInMillis": "timeoutInMillis"}


class GatewayApi(Kind):
    """Base of the APIGateway kind: its desired and observed state and its calls."""

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
            # {}: no custom domain (one found is deleted).
            "domain": {"name": domain["name"].lower(), "certificateArn": domain["certificateArn"],
                       "basePath": domain.get("basePath", ""), "stage": stage.get("name", "$default")}
            if (domain := spec.get("domain")) else {},
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
            "routes": [_observed_route(api["ApiId"], route, raw) for route in raw["Routes"]],
            "domain": _observed_domain(raw["Domain"], raw["Mapping"]),
            "tags": api.get("Tags") or {},
        }

    def identify(self, raw: Raw) -> str:
        return raw["Api"]["ApiId"]

    def status(self, raw: Raw) -> State:
        target = ((raw["Domain"] or {}).get("DomainNameConfigurations") or [{}])[0]
        return {"apiEndpoint": raw["Api"].get("ApiEndpoint", ""),
                "stageName": (raw["Stage"] or {}).get("StageName", ""),
                "domainTarget": target.get("ApiGatewayDomainName", ""),
                "domainHostedZoneId": target.get("HostedZoneId", "")}

    def read(self, aws: AWSClients, ident: str) -> Raw | None:
        client = aws.client("apigatewayv2")
        api = self.absent_if_missing(client.get_api, ApiId=ident)
        return None if api is None else self._complete(aws, api)

    def find_all_owned(self, aws: AWSClients, owner_uid_tag: tuple[str, str]) -> list[Raw]:
        client = aws.client("apigatewayv2")
        key, uid = owner_uid_tag
        return [self._complete(aws, api) for api in paginated(client, "get_apis", "Items")
                if (api.get("Tags") or {}).get(key) == uid]

    def create(self, aws: AWSClients, desired: State, tags: Mapping[str, str], token: str) -> Raw:
        client = aws.client("apigatewayv2")
        params: dict[str, Any] = {**aws_params(desired, API_PARAMS), "ProtocolType": desired["protocolType"],
                                  "Tags": dict(tags)}
        if desired["cors"]:
            params["CorsConfiguration"] = desired["cors"]
        api_id = client.create_api(**params)["ApiId"]
        for route in desired["routes"]:
            _add_route(aws, api_id, route)
        client.create_stage(ApiId=api_id, **_stage_params(desired["stage"]))
        if desired["domain"]:
            _add_domain(client, api_id, desired["domain"], tags)
        return self.read(aws, api_id)

    def update(self, aws: AWSClients, ident: str, desired: State, raw: Raw, changed: frozenset[str]) -> None:
        client = aws.client("apigatewayv2")
        if api := aws_params(desired, API_PARAMS, only=changed):
            client.update_api(ApiId=ident, **api)
        if "cors" in changed:
            if desired["cors"]:
                client.update_api(ApiId=ident, CorsConfiguration=desired["cors"])
            else:
                client.delete_cors_configuration(ApiId=ident)
        if "routes" in changed:
            self._reconcile_routes(aws, ident, desired["routes"], raw)
        # A renamed stage is a new one; the old one goes once the domain is mapped to the new one.
        renamed = raw["Stage"] is None or raw["Stage"]["StageName"] != desired["stage"]["name"]
        if "stage" in changed:
            if renamed:
                client.create_stage(ApiId=ident, **_stage_params(desired["stage"]))
            else:
                client.update_stage(ApiId=ident, **_stage_params(desired["stage"]))
        if "domain" in changed:
            _reconcile_domain(client, ident, desired["domain"], desired["tags"], raw)
        if "stage" in changed and renamed and raw["Stage"] is not None:
            client.delete_stage(ApiId=ident, StageName=raw["Stage"]["StageName"])

    def set_tags(self, aws: AWSClients, ident: str, change: TagChange) -> None:
        """The API's tags, and its custom domain's (made with the same tags): found before the
        change, which may take our owner tag off (Retain)."""
        client = aws.client("apigatewayv2")
        domain = _our_domain(client, client.get_api(ApiId=ident))
        for arn in (f"arn:aws:apigateway:{aws.region}::/apis/{ident}", *([domain["DomainNameArn"]] if domain else [])):
            tag_resource(client, change, key=None, ResourceArn=arn)

    def delete(self, aws: AWSClients, ident: str, raw: Raw, spec: Mapping[str, Any]) -> None:
        # The custom domain goes first; deleting the API deletes its routes, integrations and
        # stages, but not the invoke permissions it was given.
        client = aws.client("apigatewayv2")
        _remove_domain(client, raw)
        for route in self.observe(raw)["routes"]:
            if route["invokePermission"]:
                _revoke(aws, ident, route)
        client.delete_api(ApiId=ident)

    def _complete(self, aws: AWSClients, api: Raw) -> Raw:
        client, api_id = aws.client("apigatewayv2"), api["ApiId"]
        stages = client.get_stages(ApiId=api_id)["Items"]
        integrations = {item["IntegrationId"]: item for item in client.get_integrations(ApiId=api_id)["Items"]}
        domain = _our_domain(client, api)
        mapping = domain and next((mapping for mapping in client.get_api_mappings(
            DomainName=domain["DomainName"])["Items"] if mapping["ApiId"] == api_id), None)
        functions = {item["IntegrationUri"] for item in integrations.values() if _is_function(item.get("IntegrationUri"))}
        return {"Api": {k: v for k, v in api.items() if k != "ResponseMetadata"}, "Stage": stages[0] if stages else None,
                "Routes": client.get_routes(ApiId=api_id)["Items"], "Integrations": integrations,
                "Domain": domain, "Mapping": mapping,
                "Statements": {arn: self._statement_ids(aws, arn) for arn in sorted(functions)}}

    def _statement_ids(self, aws: AWSClients, function_arn: str) -> list[str]:
        """The statement ids of the function's resource policy (none: it has no policy)."""
        found = self.absent_if_missing(aws.client("lambda").get_policy, FunctionName=function_arn)
        return [statement.get("Sid", "") for statement in json.loads(found["Policy"])["Statement"]] if found else []

    @staticmethod
    def _reconcile_routes(aws: AWSClients, api_id: str, desired: list[State], raw: Raw) -> None:
        client = aws.client("apigatewayv2")
        routes = {route["RouteKey"]: route for route in raw["Routes"]}

        def remove(have: State) -> None:
            route = routes[have["routeKey"]]
            client.delete_route(ApiId=api_id, RouteId=route["RouteId"])
            if route.get("Target", "").startswith("integrations/"):
                client.delete_integration(ApiId=api_id, IntegrationId=route["Target"].split("/", 1)[1])
            if have["invokePermission"]:
                _revoke(aws, api_id, have)

        def change(have: State, want: State) -> None:
            route = routes[have["routeKey"]]
            integration = route.get("Target", "").split("/", 1)[-1]
            if have["invokePermission"] and (not want["invokePermission"]
                                             or have["integrationUri"] != want["integrationUri"]):
                _revoke(aws, api_id, have)
            params = aws_params(want, INTEGRATION_PARAMS)
            if integration in raw["Integrations"]:
                client.update_integration(ApiId=api_id, IntegrationId=integration, **params)
            else:
                integration = client.create_integration(ApiId=api_id, **params)["IntegrationId"]
                client.update_route(ApiId=api_id, RouteId=route["RouteId"], Target=f"integrations/{integration}")
            if want["invokePermission"] and (not have["invokePermission"]
                                             or have["integrationUri"] != want["integrationUri"]):
                _permit(aws, api_id, want)

        reconcile_set(desired, [_observed_route(api_id, route, raw) for route in raw["Routes"]],
                      key=lambda route: route["routeKey"], add=lambda want: _add_route(aws, api_id, want),
                      remove=remove, change=change)


def _desired_route(route: Mapping[str, Any]) -> State:
    http = route["integrationType"] == "HTTP_PROXY"
    return {"routeKey": route["routeKey"], "integrationType": route["integrationType"],
            "integrationUri": route["integrationUri"],
            # Granted by the operator only to a function named by reference.
            "invokePermission": bool(route.get("functionRef")),
            "integrationMethod": route.get("integrationMethod", "ANY") if http else None,
            "payloadFormatVersion": route.get("payloadFormatVersion", "1.0" if http else "2.0"),
            "timeoutInMillis": route.get("timeoutInMillis", 30000)}


def _observed_route(api_id: str, route: Raw, raw: Raw) -> State:
    integration = raw["Integrations"].get(route.get("Target", "").split("/", 1)[-1]) or {}
    uri = integration.get("IntegrationUri")
    return {"routeKey": route["RouteKey"], "integrationType": integration.get("IntegrationType"),
            "integrationUri": uri,
            "invokePermission": _statement_id(api_id, route["RouteKey"]) in raw["Statements"].get(uri, ()),
            "integrationMethod": integration.get("IntegrationMethod")
            if integration.get("IntegrationType") == "HTTP_PROXY" else None,
            "payloadFormatVersion": integration.get("PayloadFormatVersion"),
            "timeoutInMillis": integration.get("TimeoutInMillis")}


def _add_route(aws: AWSClients, api_id: str, route: State) -> None:
    client = aws.client("apigatewayv2")
    integration = client.create_integration(ApiId=api_id, **aws_params(route, INTEGRATION_PARAMS))["IntegrationId"]
    client.create_route(ApiId=api_id, RouteKey=route["routeKey"], Target=f"integrations/{integration}")
    if route["invokePermission"]:
        _permit(aws, api_id, route)


def _is_function(uri: str | None) -> bool:
    """A Lambda function's ARN (the integration URI a functionRef fills in)."""
    parts = (uri or "").split(":")
    return len(parts) >= 7 and parts[0] == "arn" and parts[2] == "lambda" and parts[5] == "function"


def _statement_id(api_id: str, route_key: str) -> str:
    """The invoke permission's statement id: the same for the same API and route, so a grant
    made before a crash is recognised (route keys hold spaces and slashes; ids may not)."""
    return f"infra-operator-{api_id}-{hashlib.sha256(route_key.encode()).hexdigest()[:16]}"


def _permit(aws: AWSClients, api_id: str, route: State) -> None:
    """Let this API (any stage, method and path of it) invoke the route's function."""
    partition, _, _, account = route["integrationUri"].split(":")[1:5]
    aws.client("lambda").add_permission(
        FunctionName=route["integrationUri"], StatementId=_statement_id(api_id, route["routeKey"]),
        Action="lambda:InvokeFunction", Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:{partition}:execute-api:{aws.region}:{account}:{api_id}/*")


def _revoke(aws: AWSClients, api_id: str, route: State) -> None:
    aws.client("lambda").remove_permission(FunctionName=route["integrationUri"],
                                           StatementId=_statement_id(api_id, route["routeKey"]))


def _our_domain(client: Any, api: Raw) -> Raw | None:
    """The custom domain made for the API: it carries the API's owner tag (found again after a
    crash, or once the spec drops it)."""
    uid = (api.get("Tags") or {}).get(OWNER_UID)
    if not uid:
        return None
    return next((domain for domain in paginated(client, "get_domain_names", "Items")
                 if (domain.get("Tags") or {}).get(OWNER_UID) == uid), None)


def _observed_domain(domain: Raw | None, mapping: Raw | None) -> State:
    if domain is None:
        return {}
    certificate = (domain.get("DomainNameConfigurations") or [{}])[0].get("CertificateArn")
    return {"name": domain["DomainName"], "certificateArn": certificate,
            # A domain without our mapping (a crash between the two, or deleted out of band).
            "basePath": mapping.get("ApiMappingKey", "") if mapping else None,
            "stage": mapping["Stage"] if mapping else None}


def _add_domain(client: Any, api_id: str, domain: State, tags: Mapping[str, str]) -> None:
    client.create_domain_name(DomainName=domain["name"], Tags=dict(tags),
                              DomainNameConfigurations=_domain_configurations(domain))
    _add_mapping(client, api_id, domain)


def _domain_configurations(domain: State) -> list[dict[str, str]]:
    return [{"CertificateArn": domain["certificateArn"], "EndpointType": "REGIONAL", "SecurityPolicy": "TLS_1_2"}]


def _add_mapping(client: Any, api_id: str, domain: State) -> None:
    client.create_api_mapping(DomainName=domain["name"], ApiId=api_id, Stage=domain["stage"],
                              ApiMappingKey=domain["basePath"])


def _remove_domain(client: Any, raw: Raw) -> None:
    """Delete our mapping, then our domain."""
    if raw["Mapping"] is not None:
        client.delete_api_mapping(DomainName=raw["Domain"]["DomainName"], ApiMappingId=raw["Mapping"]["ApiMappingId"])
    if raw["Domain"] is not None:
        client.delete_domain_name(DomainName=raw["Domain"]["DomainName"])


def _reconcile_domain(client: Any, api_id: str, desired: State, tags: Mapping[str, str], raw: Raw) -> None:
    """Another name is another domain: the old one goes. Same name: the certificate and the
    mapping change in place."""
    have = _observed_domain(raw["Domain"], raw["Mapping"])
    if have and (not desired or have["name"] != desired["name"]):
        _remove_domain(client, raw)
        have = {}
    if not desired:
        return
    if not have:
        _add_domain(client, api_id, desired, tags)
        return
    if have["certificateArn"] != desired["certificateArn"]:
        client.update_domain_name(DomainName=desired["name"], DomainNameConfigurations=_domain_configurations(desired))
    if raw["Mapping"] is None:
        _add_mapping(client, api_id, desired)
    elif (have["basePath"], have["stage"]) != (desired["basePath"], desired["stage"]):
        client.update_api_mapping(DomainName=desired["name"], ApiMappingId=raw["Mapping"]["ApiMappingId"], ApiId=api_id,
                                  Stage=desired["stage"], ApiMappingKey=desired["basePath"])


def _stage_params(stage: State) -> dict[str, Any]:
    settings = aws_params(stage, {"ThrottlingBurstLimit": "throttlingBurstLimit",
                                  "ThrottlingRateLimit": "throttlingRateLimit"})
    return {"StageName": stage["name"], "AutoDeploy": stage["autoDeploy"],
            **({"DefaultRouteSettings": settings} if settings else {})}
