"""LambdaFunction: a Lambda function from a zip in S3 or in a ConfigMap, or a container image in ECR,
run by one of our IAM roles, optionally in our subnets and security groups. Code and configuration
are updated in place (one at a time, as Lambda's LastUpdateStatus allows); environment values may
come from a Kubernetes Secret or ConfigMap. With `publish`, each change is published as a version,
and `alias` points at the latest one (`services/lambda_.py` computes the calls)."""

from __future__ import annotations

import re
from typing import Any, Mapping

from ..engine.kind import Adoption, DriftField, ErrorMatch, Identity, Reference, SecretInput, Severity, Tagging
from ..engine.schema import immutable
from ..provider.errors import TerminalError
from ..services.ec2 import placement_references
from ..services.lambda_ import (CONFIG_MAP_ENVIRONMENT, ENVIRONMENT_REFS, SECRET_ENVIRONMENT, UPDATE_DELAY, ZIP_FILE,
                                Function, named_keys, same_environment)

NAME = r"^[a-zA-Z0-9_-]{1,64}$"
ROLE_ARN = r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$"
LAYER_ARN = r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:layer:[a-zA-Z0-9_-]+:[0-9]+$"
VARIABLE = r"^[a-zA-Z]([a-zA-Z0-9_])*$"
# An alias name: not a version number.
ALIAS = r"^(?![0-9]+$)[a-zA-Z0-9_-]{1,128}$"
ONE_CODE = ("exactly one of code (S3), codeConfigMapRef (a zip in a ConfigMap) and image (a container image) is "
            "required")
RUNTIME_FOR_ZIP = "runtime and handler are a zip package's, required there (an image brings its own)"
ONE_IMAGE = "image: set uri, or a repository (repositoryRef or repositoryUri) with a tag"
PACKAGE_TYPE_FIXED = "a function's package type (zip or image) cannot change: replace the function"
# An ECR repository's URI, and an image in one (by tag or digest).
REPOSITORY_URI = r"^[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[a-z0-9._/-]+$"
IMAGE_URI = REPOSITORY_URI[:-1] + r"(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[a-f0-9]{64})$"
TAG = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"
VPC_PAIR = "subnets and security groups go together (a function in a VPC needs both)"
ALIAS_NEEDS_PUBLISH = "an alias points at a published version: it needs publish: true"


def _keys_needed(field: str) -> str:
    return f"{field}.keys must name the variables it sets"


class LambdaFunction(Function):
    kind = "LambdaFunction"
    plural = "lambdafunctions"
    short_names = ("lambda",)
    description = ("A Lambda function (a zip package in S3 or a ConfigMap, or a container image in ECR) run by an IAM "
                   "role: runtime, handler, memory, timeout, architecture, environment (values from a Secret or "
                   "ConfigMap kept out of the spec), VPC placement, layers, reserved concurrency, ephemeral storage. "
                   "Code (its SHA-256, an image's URI) and configuration update in place; with publish, each change "
                   "becomes a version, and an alias follows the latest.")
    identifier = "functionName"
    identity = Identity(fields=("functionArn",), from_spec="functionName")
    adoption = Adoption.SPEC_NAME
    tagging = Tagging(at_create=True, in_description=True)
    # A role created a moment ago is not assumable by Lambda yet; an update still being applied
    # refuses the next one.
    retryable_errors = (ErrorMatch("InvalidParameterValueException", "cannot be assumed"),
                        ErrorMatch("ResourceConflictException", reason="FunctionUpdateInProgress", delay=UPDATE_DELAY))
    secret_inputs = (SecretInput(SECRET_ENVIRONMENT, "Environment variables whose values come from this Secret "
                                 "(the keys named: variable name = key); never written to the spec, logs or status.",
                                 required=False, shape="json", spec_field="environmentSecretRef"),
                     SecretInput(CONFIG_MAP_ENVIRONMENT, "Environment variables whose values come from this "
                                 "ConfigMap (the keys named: variable name = key); a change of it updates the "
                                 "function.", required=False, shape="json", spec_field="environmentConfigMapRef",
                                 source="ConfigMap"),
                     SecretInput(ZIP_FILE, "The deployment package: a zip in this ConfigMap's binaryData key "
                                 "(up to about 1 MiB); a change of it updates the code.", required=False,
                                 shape="binary", spec_field="codeConfigMapRef", source="ConfigMap"))
    spec_properties = {
        "functionName": {"type": "string", "pattern": NAME, "description": "Function name; cannot change.",
                         **immutable("functionName cannot change")},
        "runtime": {"type": "string", "pattern": r"^(nodejs|python|java|dotnet|ruby|provided)[a-z0-9.]*$",
                    "description": "Runtime identifier (python3.12, nodejs20.x, java21, provided.al2023...)."},
        "handler": {"type": "string", "pattern": r"^[^\s]{1,128}$",
                    "description": "The entry point (module.function for Python)."},
        "description": {"type": "string", "maxLength": 256},
        "timeout": {"type": "integer", "minimum": 1, "maximum": 900,
                    "description": "Seconds an invocation may run (AWS's default: 3)."},
        "memorySize": {"type": "integer", "minimum": 128, "maximum": 10240,
                       "description": "Memory in MiB (AWS's default: 128); CPU scales with it."},
        "architecture": {"type": "string", "enum": ["x86_64", "arm64"],
                         "description": "Instruction set (AWS's default: x86_64); changed with the code."},
        "ephemeralStorage": {"type": "integer", "minimum": 512, "maximum": 10240,
                             "description": "Size of /tmp in MiB (AWS's default: 512)."},
        "reservedConcurrency": {"type": "integer", "minimum": 0, "maximum": 100000,
                                "description": "Concurrent executions reserved for the function (0 stops it); "
                                               "unset: not compared (AWS's default is unreserved)."},
        "code": {"type": "object", "required": ["s3Key"],
                 "description": "The deployment package: a zip in S3 (the bucket by s3BucketRef or s3Bucket). "
                                "A change of its content (its SHA-256) updates the function.",
                 "properties": {
                     "s3Key": {"type": "string", "minLength": 1, "maxLength": 1024},
                     "s3ObjectVersion": {"type": "string", "minLength": 1, "maxLength": 1024,
                                         "description": "A version of a versioned bucket; unset: the latest."}}},
        "image": {"type": "object",
                  "description": "The package as a container image in ECR: uri, or an ECRRepository (repositoryRef "
                                 "or repositoryUri) and a tag; a change of it updates the code. The package type "
                                 "(image or zip) cannot change.",
                  "properties": {"uri": {"type": "string", "pattern": IMAGE_URI,
                                         "description": "The image by tag or digest."},
                                 "tag": {"type": "string", "pattern": TAG}},
                  "x-kubernetes-validations": [
                      {"rule": "has(self.uri) != (has(self.repositoryRef) || has(self.repositoryUri))",
                       "message": ONE_IMAGE},
                      {"rule": "has(self.tag) == (has(self.repositoryRef) || has(self.repositoryUri))",
                       "message": ONE_IMAGE}]},
        "environment": {"type": "object", "description": "Environment variables with plain values.",
                        "properties": {"variables": {
                            "type": "object", "maxProperties": 100,
                            "additionalProperties": {"type": "string", "maxLength": 4096},
                            "x-kubernetes-validations": [{"rule": f"self.all(k, k.matches('{VARIABLE}'))",
                                                          "message": "variable names are letters, digits and _"}]}}},
        "layers": {"type": "array", "maxItems": 5, "items": {"type": "string", "pattern": LAYER_ARN},
                   "description": "Layer version ARNs, in the order they are merged."},
        "publish": {"type": "boolean", "default": False,
                    "description": "Publish a version after each change of code or configuration (versions are "
                                   "kept; they go with the function)."},
        "alias": {"type": "object", "required": ["name"],
                  "description": "An alias at the latest published version (needs publish); the function's only "
                                 "alias: others are deleted.",
                  "properties": {"name": {"type": "string", "pattern": ALIAS},
                                 "description": {"type": "string", "maxLength": 256}}},
    }
    spec_required = ("functionName",)
    spec_validations = (
        {"rule": "(has(self.code) ? 1 : 0) + (has(self.codeConfigMapRef) ? 1 : 0) + (has(self.image) ? 1 : 0) == 1",
         "message": ONE_CODE},
        {"rule": "has(self.image) ? !(has(self.runtime) || has(self.handler)) : has(self.runtime) && has(self.handler)",
         "message": RUNTIME_FOR_ZIP},
        {"rule": "has(self.image) == has(oldSelf.image)", "message": PACKAGE_TYPE_FIXED},
        {"rule": "(has(self.subnetRefs) || has(self.subnetIds)) == "
                 "(has(self.securityGroupRefs) || has(self.securityGroupIds))", "message": VPC_PAIR},
        *({"rule": f"!has(self.{field}) || has(self.{field}.keys)", "message": _keys_needed(field)}
          for field in ENVIRONMENT_REFS),
        {"rule": "!has(self.alias) || self.publish", "message": ALIAS_NEEDS_PUBLISH},
    )
    references = (
        Reference("roleRef", "IAMRole", "role", ROLE_ARN, status_field="arn"),
        Reference("s3BucketRef", "S3Bucket", "s3Bucket", within="code"),
        Reference("repositoryRef", "ECRRepository", "repositoryUri", REPOSITORY_URI, required=False, within="image",
                  status_field="repositoryUri"),
        *placement_references(subnets_required=False),
    )
    status_properties = {"version": {"type": "string"}, "lastModified": {"type": "string"},
                         "codeSize": {"type": "integer"}, "codeSha256": {"type": "string"},
                         "stateReason": {"type": "string"}, "lastUpdateStatus": {"type": "string"},
                         "aliasArn": {"type": "string"}}
    printer_columns = (("State", ".status.state", "string"), ("Runtime", ".spec.runtime", "string"),
                       ("ARN", ".status.functionArn", "string"))
    drift_fields = (
        DriftField("functionName", Severity.CRITICAL, updatable=False),
        DriftField("packageType", Severity.CRITICAL, updatable=False),
        DriftField("role", Severity.CRITICAL),
        DriftField("codeSha256", Severity.CRITICAL),
        DriftField("imageUri", Severity.CRITICAL),
        DriftField("vpcConfig", Severity.CRITICAL),
        DriftField("runtime", Severity.WARNING),
        DriftField("handler", Severity.WARNING),
        DriftField("environment", Severity.WARNING, same=same_environment),
        DriftField("layers", Severity.WARNING, same=lambda want, have: list(want) == list(have or ())),
        DriftField("reservedConcurrency", Severity.WARNING),
        DriftField("published", Severity.WARNING),
        DriftField("aliases", Severity.WARNING),
        DriftField("architecture", Severity.WARNING, late_init=True),
        DriftField("ephemeralStorage", Severity.WARNING, late_init=True),
        *(DriftField(name, Severity.WARNING, late_init=True) for name in ("timeout", "memorySize")),
        DriftField("description", Severity.INFO),
    )

    def validate(self, spec: Mapping[str, Any], related: Mapping[str, Mapping[str, Any]]) -> None:
        if sum(field in spec for field in ("code", "codeConfigMapRef", "image")) != 1:
            raise TerminalError(ONE_CODE)
        entry_point = [field for field in ("runtime", "handler") if field in spec]
        if entry_point != ([] if "image" in spec else ["runtime", "handler"]):
            raise TerminalError(RUNTIME_FOR_ZIP)
        image = spec.get("image")
        if image is not None:
            repository = "repositoryRef" in image or "repositoryUri" in image
            if ("uri" in image) == repository or ("tag" in image) != repository:
                raise TerminalError(ONE_IMAGE)
        if bool(spec.get("subnetRefs") or spec.get("subnetIds")) != bool(spec.get("securityGroupRefs")
                                                                         or spec.get("securityGroupIds")):
            raise TerminalError(VPC_PAIR)
        if spec.get("alias") and not spec.get("publish"):
            raise TerminalError(ALIAS_NEEDS_PUBLISH)
        sources = {"environment.variables": list((spec.get("environment") or {}).get("variables") or {})}
        for field in ENVIRONMENT_REFS:
            if field not in spec:
                continue
            if not named_keys(spec[field]):
                raise TerminalError(_keys_needed(field))
            named = [key for key in named_keys(spec[field]) if not re.match(VARIABLE, key)]
            if named:
                raise TerminalError(f"{field}.keys {', '.join(named)}: variable names are letters, digits and _")
            sources[field] = named_keys(spec[field])
        for variable in sorted({key for keys in sources.values() for key in keys}):
            setting = [source for source, keys in sources.items() if variable in keys]
            if len(setting) > 1:
                raise TerminalError(f"environment variable {variable} is set by both {' and '.join(setting)}")
