"""APIGateway: an API Gateway v2 API (HTTP or WebSocket), its CORS, its stage (auto-deploy and
throttling), its routes, each with its own integration (a set, by route key), the invoke
permission of each Lambda function a route names by reference, and its custom domain
(`services/apigateway.py` does the calls)."""

from __future__ import annotations

from typing import Any, Mapping

from ..engine.kind import DriftField, Reference, Severity, Tagging
from ..engine.schema import immutable
from ..provider.errors import TerminalError
from ..services.apigateway import GatewayApi

# A host name, lower or upper case, without the final dot.
DOMAIN_NAME = r"^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
STRINGS = {"type": "array", "items": {"type": "string", "minLength": 1}, "maxItems": 100}

ROUTE = {
    "type": "object",
    "required": ["routeKey", "integrationType"],
    "x-kubernetes-validations": [{"rule": "!has(self.functionRef) || self.integrationType == 'AWS_PROXY'",
                                  "message": "a functionRef route is an AWS_PROXY integration"}],
    "properties": {
        "routeKey": {"type": "string", "minLength": 1, "maxLength": 512,
                     "description": "`GET /items`, `ANY /{proxy+}`, `$default`; WebSocket: `$connect`, an action."},
        "integrationType": {"type": "string", "enum": ["HTTP_PROXY", "AWS_PROXY"],
                            "description": "HTTP_PROXY: an HTTP endpoint; AWS_PROXY: a Lambda function's ARN."},
        "integrationUri": {"type": "string", "minLength": 1,
                           "description": "The HTTP endpoint, or the Lambda function's ARN; alternative to functionRef "
                                          "(whose function the operator also grants API Gateway the invoke permission)."},
        "integrationMethod": {"type": "string", "enum": ["ANY", "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD",
                                                         "OPTIONS"], "description": "HTTP_PROXY only; default ANY."},
        "payloadFormatVersion": {"type": "string", "enum": ["1.0", "2.0"]},
        "timeoutInMillis": {"type": "integer", "minimum": 50, "maximum": 30000},
    },
}


class APIGateway(GatewayApi):
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
                         **immutable("protocolType is immutable")},
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
        "domain": {"type": "object", "required": ["name"],
                   "description": "A regional custom domain name mapped to the stage (made after the API, deleted "
                                  "before it); status shows its target for a Route 53 alias.",
                   "properties": {
                       "name": {"type": "string", "maxLength": 253, "pattern": DOMAIN_NAME},
                       "basePath": {"type": "string", "maxLength": 256, "pattern": r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$",
                                    "description": "The path under the domain the API answers at; unset: the root."}}},
    }
    spec_required = ("name",)
    spec_validations = (
        {"rule": "self.protocolType != 'WEBSOCKET' || has(self.routeSelectionExpression)",
         "message": "a WebSocket API needs a routeSelectionExpression"},
        {"rule": "self.protocolType != 'WEBSOCKET' || !has(self.cors)", "message": "cors is for HTTP APIs"},
    )
    references = (Reference("functionRef", "LambdaFunction", "integrationUri", within="routes",
                            status_field="functionArn"),
                  Reference("certificateRef", "Certificate", "certificateArn", within="domain"))
    # The custom domain's target ("" without one) for a Route 53 alias to the API.
    status_properties = {"stageName": {"type": "string"}, "domainTarget": {"type": "string"},
                         "domainHostedZoneId": {"type": "string"}}
    printer_columns = (("Endpoint", ".status.apiEndpoint", "string"),)
    drift_fields = (
        DriftField("protocolType", Severity.CRITICAL, updatable=False),
        DriftField("routes", Severity.CRITICAL),
        DriftField("disableExecuteApiEndpoint", Severity.CRITICAL),
        DriftField("domain", Severity.CRITICAL),
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
        for route in spec.get("routes") or ():
            if route.get("functionRef") and route["integrationType"] != "AWS_PROXY":
                raise TerminalError(f"route {route['routeKey']}: a functionRef route is an AWS_PROXY integration")
