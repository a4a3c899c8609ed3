"""LambdaFunction: a Lambda function from a zip in S3 or in a ConfigMap, or a container image in ECR,
run by one of our IAM roles, optionally in our subnets and security groups. Code and configuration
are updated in place (one at a time, as Lambda's LastUpdateStatus allows); environment values may
come from a Kubernetes Secret or ConfigMap. With `publish`, each change is published as a version,
and `alias` points at the latest one."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any, Mapping

from ..engine.schema import immutable
from ..engine.kind import (Adoption, AWSClients, DriftField, ErrorMatch, Identity, Kind, Raw, Reference, SecretInput,
                           Severity, State, TagChange, Tagging)
from ..provider.errors import InProgress, RetryableError, TerminalError, is_not_found
from ..services.ec2 import placement_references

NAME = r"^[a-zA-Z0-9_-]{1,64}$"
ROLE_ARN = r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$"
LAYER_ARN = r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:layer:[a-zA-Z0-9_-]+:[0-9]+$"
VARIABLE = r"^[a-zA-Z]([a-zA-Z0-9_])*$"
# An alias name: not a version number.
ALIAS = r"^(?![0-9]+$)[a-zA-Z0-9_-]{1,128}$"
SECRET_ENVIRONMENT = "environmentSecret"
CONFIG_MAP_ENVIRONMENT = "environmentConfigMap"
# Spec fields naming environment values kept outside the spec -> their secret input.
ENVIRONMENT_REFS = {"environmentSecretRef": SECRET_ENVIRONMENT, "environmentConfigMapRef": CONFIG_MAP_ENVIRONMENT}
ZIP_FILE = "zipFile"
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
# The delay before looking again while Lambda applies an update (seconds, usually).
UPDATE_DELAY = 5.0

# spec field -> (GetFunction's Configuration key, minimum, maximum, description); late-initialised.
NUMBERS = {
    "timeout": ("Timeout", 1, 900, "Seconds an invocation may run (AWS's default: 3)."),
    "memorySize": ("MemorySize", 128, 10240, "Memory in MiB (AWS's default: 128); CPU scales with it."),
}
# Drift fields UpdateFunctionConfiguration applies (UpdateFunctionCode: code and architecture).
CONFIGURATION = frozenset({"role", "runtime", "handler", "description", "environment", "vpcConfig", "layers",
                           "ephemeralStorage", *NUMBERS, *ENVIRONMENT_REFS.values()})
# What a published version freezes of the function's configuration: a version whose values equal
# $LATEST's publishes the current code and configuration.
PUBLISHED_KEYS = ("CodeSha256", "Role", "Runtime", "Handler", "Timeout", "MemorySize", "Environment", "VpcConfig",
                  "Architectures", "EphemeralStorage")


def _same_environment(want: Mapping[str, Any], have: Mapping[str, str] | None) -> bool:
    """The function's variables are the spec's plain ones, with their values, and the Secret's and
    ConfigMap's (by name: their values are compared where they are read, never here)."""
    have = have or {}
    plain = want["variables"]
    return set(have) == set(plain) | set(want["referencedKeys"]) and all(have[k] == v for k, v in plain.items())


def _keys(ref: Mapping[str, Any] | None) -> list[str]:
    return list((ref or {}).get("keys") or ())


def _keys_needed(field: str) -> str:
    return f"{field}.keys must name the variables it sets"


class LambdaFunction(Kind):
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
        **{name: {"type": "integer", "minimum": low, "maximum": high, "description": text}
           for name, (_, low, high, text) in NUMBERS.items()},
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
        DriftField("environment", Severity.WARNING, same=_same_environment),
        DriftField("layers", Severity.WARNING, same=lambda want, have: list(want) == list(have or ())),
        DriftField("reservedConcurrency", Severity.WARNING),
        DriftField("published", Severity.WARNING),
        DriftField("aliases", Severity.WARNING),
        DriftField("architecture", Severity.WARNING, late_init=True),
        DriftField("ephemeralStorage", Severity.WARNING, late_init=True),
        *(DriftField(name, Severity.WARNING, late_init=True) for name in NUMBERS),
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
            if not _keys(spec[field]):
                raise TerminalError(_keys_needed(field))
            named = [key for key in _keys(spec[field]) if not re.match(VARIABLE, key)]
            if named:
                raise TerminalError(f"{field}.keys {', '.join(named)}: variable names are letters, digits and _")
            sources[field] = _keys(spec[field])
        for variable in sorted({key for keys in sources.values() for key in keys}):
            setting = [source for source, keys in sources.items() if variable in keys]
            if len(setting) > 1:
                raise TerminalError(f"environment variable {variable} is set by both {' and '.join(setting)}")

    def desired(self, spec: Mapping[str, Any]) -> State:
        code = spec.get("code")
        subnets = list(spec.get("subnetIds") or ())
        alias = spec.get("alias")
        return {
            "functionName": spec["functionName"],
            "role": spec["role"],
            "runtime": spec.get("runtime"),
            "handler": spec.get("handler"),
            "packageType": "Image" if "image" in spec else "Zip",
            "imageUri": _image_uri(spec["image"]) if "image" in spec else None,
            "description": spec.get("description", ""),
            **{name: spec.get(name) for name in NUMBERS},
            "architecture": spec.get("architecture"),
            "ephemeralStorage": spec.get("ephemeralStorage"),
            "reservedConcurrency": spec.get("reservedConcurrency"),
            "environment": {"variables": dict((spec.get("environment") or {}).get("variables") or {}),
                            "referencedKeys": sorted(key for field in ENVIRONMENT_REFS
                                                     for key in _keys(spec.get(field)))},
            "vpcConfig": ({"subnetIds": subnets, "securityGroupIds": list(spec.get("securityGroupIds") or ())}
                          if subnets else {}),
            "layers": list(spec.get("layers") or ()),
            # Where the code is in S3 (None: in a ConfigMap); `inputs` adds its SHA-256 (compared).
            "code": {"S3Bucket": code["s3Bucket"], "S3Key": code["s3Key"],
                     **({"S3ObjectVersion": code["s3ObjectVersion"]} if code.get("s3ObjectVersion") else {})}
            if code else None,
            "published": True if spec.get("publish") else None,
            "aliases": [{"name": alias["name"], "description": alias.get("description", ""), "latest": True}]
            if alias else [],
        }

    def inputs(self, aws: AWSClients, desired: State) -> None:
        """The code's SHA-256 as Lambda reports it (base64), from the ConfigMap's bytes or the S3
        object itself (an image is compared by its URI)."""
        if desired["imageUri"]:
            return
        if desired.get(ZIP_FILE) is not None:
            desired["codeSha256"] = base64.b64encode(hashlib.sha256(desired[ZIP_FILE].reveal()).digest()).decode()
            return
        code = desired["code"]
        where = f"s3://{code['S3Bucket']}/{code['S3Key']}"
        params = {"Bucket": code["S3Bucket"], "Key": code["S3Key"]}
        if "S3ObjectVersion" in code:
            params["VersionId"] = code["S3ObjectVersion"]
        try:
            body = aws.client("s3").get_object(**params)["Body"]
        except Exception as exc:
            if is_not_found(exc):
                raise RetryableError(f"the code object {where} does not exist", reason="CodeNotFound",
                                     delay=30.0) from exc
            raise
        digest = hashlib.sha256()
        for chunk in iter(lambda: body.read(1 << 20), b""):
            digest.update(chunk)
        desired["codeSha256"] = base64.b64encode(digest.digest()).decode()

    def observe(self, raw: Raw) -> State:
        config = raw["Configuration"]
        vpc = config.get("VpcConfig") or {}
        latest = _latest_version(raw)
        return {
            "functionName": config["FunctionName"],
            "role": config.get("Role"),
            "runtime": config.get("Runtime"),
            "handler": config.get("Handler"),
            "description": config.get("Description", ""),
            **{name: config.get(key) for name, (key, *_) in NUMBERS.items()},
            "architecture": (config.get("Architectures") or ["x86_64"])[0],
            "ephemeralStorage": (config.get("EphemeralStorage") or {}).get("Size"),
            "reservedConcurrency": (raw.get("Concurrency") or {}).get("ReservedConcurrentExecutions"),
            "environment": (config.get("Environment") or {}).get("Variables") or {},
            "vpcConfig": ({"subnetIds": vpc["SubnetIds"], "securityGroupIds": vpc.get("SecurityGroupIds") or []}
                          if vpc.get("SubnetIds") else {}),
            "layers": [layer["Arn"] for layer in config.get("Layers") or ()],
            "codeSha256": config.get("CodeSha256"),
            "packageType": config.get("PackageType", "Zip"),
            "imageUri": (raw.get("Code") or {}).get("ImageUri"),
            "published": latest is not None and _frozen(latest) == _frozen(config),
            "aliases": [{"name": alias["Name"], "description": alias.get("Description", ""),
                         "latest": latest is not None and alias["FunctionVersion"] == latest["Version"]}
                        for alias in raw.get("Aliases") or ()],
            "tags": raw.get("Tags") or {},
        }

    def identify(self, raw: Raw) -> str:
        return raw["Configuration"]["FunctionName"]

    def identities(self, raw: Raw) -> State:
        return {"functionArn": raw["Configuration"]["FunctionArn"]}

    def status(self, raw: Raw) -> State:
        config, latest, aliases = raw["Configuration"], _latest_version(raw), raw.get("Aliases") or ()
        return {"state": config.get("State"), "stateReason": config.get("StateReason"),
                "lastUpdateStatus": config.get("LastUpdateStatus"),
                "version": latest["Version"] if latest else config.get("Version"),
                "aliasArn": aliases[0]["AliasArn"] if aliases else None,
                "lastModified": config.get("LastModified"), "codeSize": config.get("CodeSize"),
                "codeSha256": config.get("CodeSha256")}

    def available(self, raw: Raw) -> bool:
        config = raw["Configuration"]
        name = config["FunctionName"]
        if config.get("State") == "Failed":
            raise TerminalError(f"Lambda could not create function {name}: {config.get('StateReason', '')}",
                                reason="FunctionFailed")
        if config.get("State") == "Pending":
            raise InProgress(f"Lambda is creating function {name}", delay=UPDATE_DELAY)
        _wait_for_update(config)
        return True

    def read(self, aws: AWSClients, ident: str) -> Raw | None:
        """The function, its published versions (oldest first) and its aliases."""
        lam = aws.client("lambda")
        answer = self.absent_if_missing(lam.get_function, FunctionName=ident)
        if answer is None:
            return None
        raw = {key: answer[key] for key in ("Configuration", "Code", "Tags", "Concurrency") if key in answer}
        versions = [version for page in lam.get_paginator("list_versions_by_function").paginate(FunctionName=ident)
                    for version in page["Versions"] if version["Version"] != "$LATEST"]
        raw["Versions"] = sorted(versions, key=lambda version: int(version["Version"]))
        raw["Aliases"] = [alias for page in lam.get_paginator("list_aliases").paginate(FunctionName=ident)
                          for alias in page["Aliases"]]
        return raw

    def create(self, aws: AWSClients, desired: State, tags: Mapping[str, str], token: str) -> Raw:
        lam = aws.client("lambda")
        params = {"FunctionName": desired["functionName"], "Role": desired["role"], "Code": _code(desired),
                  "Description": desired["description"], "Environment": _environment(desired),
                  "Layers": desired["layers"], "Tags": dict(tags), "Publish": bool(desired["published"]),
                  **_entry_point(desired), **_numbers(desired)}
        if desired["imageUri"]:
            params["PackageType"] = "Image"
        if desired["vpcConfig"]:
            params["VpcConfig"] = _vpc(desired)
        if desired["architecture"]:
            params["Architectures"] = [desired["architecture"]]
        created = lam.create_function(**params)
        _point_aliases(lam, desired["functionName"], desired["aliases"], (), created["Version"])
        if desired["reservedConcurrency"] is not None:
            lam.put_function_concurrency(FunctionName=desired["functionName"],
                                         ReservedConcurrentExecutions=desired["reservedConcurrency"])
        return self.read(aws, desired["functionName"]) or {}

    def update(self, aws: AWSClients, ident: str, desired: State, raw: Raw, changed: frozenset[str]) -> None:
        """Concurrency (its own call), then the code, then the configuration, then a published
        version and the alias: Lambda takes one update at a time, so each step after a code or
        configuration change waits for Lambda to have applied it."""
        _wait_for_update(raw["Configuration"])
        changed -= _inputs_in_place(desired, raw["Configuration"])
        lam = aws.client("lambda")
        if "reservedConcurrency" in changed:
            lam.put_function_concurrency(FunctionName=ident, ReservedConcurrentExecutions=desired["reservedConcurrency"])
        configuration = changed & CONFIGURATION
        if changed & {"codeSha256", "imageUri", "architecture", ZIP_FILE}:
            lam.update_function_code(FunctionName=ident, **_code(desired),
                                     **({"Architectures": [desired["architecture"]]} if desired["architecture"] else {}))
            if configuration or desired["published"]:
                raise InProgress(f"updated the code of function {ident}; its configuration and version follow once "
                                 "Lambda has applied it", delay=UPDATE_DELAY, reason="Updating")
            return
        if configuration:
            lam.update_function_configuration(
                FunctionName=ident, Role=desired["role"], Description=desired["description"],
                Environment=_environment(desired), Layers=desired["layers"], VpcConfig=_vpc(desired),
                **_entry_point(desired), **_numbers(desired))
            if desired["published"]:
                raise InProgress(f"updated the configuration of function {ident}; a version is published once "
                                 "Lambda has applied it", delay=UPDATE_DELAY, reason="Updating", sent=True)
        latest = _latest_version(raw)
        version = latest["Version"] if latest else None
        if "published" in changed:
            # CodeSha256: publish only the code this run looked at.
            version = lam.publish_version(FunctionName=ident, CodeSha256=raw["Configuration"]["CodeSha256"])["Version"]
        if changed & {"published", "aliases"}:
            _point_aliases(lam, ident, desired["aliases"], raw.get("Aliases") or (), version)

    def set_tags(self, aws: AWSClients, ident: str, change: TagChange) -> None:
        lam = aws.client("lambda")
        arn = lam.get_function_configuration(FunctionName=ident)["FunctionArn"]
        if change.add:
            lam.tag_resource(Resource=arn, Tags=dict(change.add))
        if change.remove:
            lam.untag_resource(Resource=arn, TagKeys=sorted(change.remove))

    def delete(self, aws: AWSClients, ident: str, raw: Raw, spec: Mapping[str, Any]) -> None:
        aws.client("lambda").delete_function(FunctionName=ident)


def _inputs_in_place(desired: State, config: Mapping[str, Any]) -> set[str]:
    """The ConfigMap and Secret inputs the function has already (compared here, in memory): an
    update that went on waiting for Lambda runs again with them still new, and must not apply
    them again (that would wait again, for ever)."""
    in_place = {ZIP_FILE} if desired.get("codeSha256") == config.get("CodeSha256") else set()
    if _environment(desired)["Variables"] == (config.get("Environment") or {}).get("Variables", {}):
        in_place |= set(ENVIRONMENT_REFS.values())
    return in_place


def _latest_version(raw: Raw) -> Raw | None:
    """The configuration of the latest published version; None: none is published."""
    versions = raw.get("Versions") or ()
    return versions[-1] if versions else None


def _frozen(config: Mapping[str, Any]) -> dict[str, Any]:
    """What a published version keeps of a configuration, comparable with $LATEST's."""
    return {**{key: config.get(key) for key in PUBLISHED_KEYS},
            "Layers": [layer["Arn"] for layer in config.get("Layers") or ()]}


def _point_aliases(lam: Any, ident: str, wanted: list[dict[str, Any]], aliases: Any, version: str | None) -> None:
    """The function's aliases become the spec's (at most one), at the latest published version;
    any other alias is deleted."""
    have = {alias["Name"] for alias in aliases}
    for alias in wanted:
        call = lam.update_alias if alias["name"] in have else lam.create_alias
        call(FunctionName=ident, Name=alias["name"], FunctionVersion=version, Description=alias["description"])
    for name in sorted(have - {alias["name"] for alias in wanted}):
        lam.delete_alias(FunctionName=ident, Name=name)


def _wait_for_update(config: Mapping[str, Any]) -> None:
    if config.get("LastUpdateStatus") == "InProgress":
        raise InProgress(f"Lambda is applying an update to function {config['FunctionName']}", delay=UPDATE_DELAY,
                         reason="Updating")


def _code(desired: State) -> dict[str, Any]:
    """The package: the image, the ConfigMap's bytes, or where it is in S3."""
    if desired["imageUri"]:
        return {"ImageUri": desired["imageUri"]}
    return {"ZipFile": desired[ZIP_FILE].reveal()} if desired.get(ZIP_FILE) is not None else dict(desired["code"])


def _image_uri(image: Mapping[str, Any]) -> str:
    return image["uri"] if "uri" in image else f"{image['repositoryUri']}:{image['tag']}"


def _entry_point(desired: State) -> dict[str, str]:
    """Runtime and handler: a zip package's (an image brings its own)."""
    return {key: desired[name] for name, key in (("runtime", "Runtime"), ("handler", "Handler")) if desired[name]}


def _environment(desired: State) -> dict[str, Any]:
    """The variables: the plain ones, the Secret's and the ConfigMap's (revealed for the AWS call only)."""
    variables = dict(desired["environment"]["variables"])
    for name in ENVIRONMENT_REFS.values():
        if desired.get(name) is not None:
            variables.update(json.loads(desired[name].reveal()))
    return {"Variables": variables}


def _vpc(desired: State) -> dict[str, list[str]]:
    """VpcConfig: empty lists take the function out of its VPC."""
    vpc = desired["vpcConfig"]
    return {"SubnetIds": vpc.get("subnetIds", []), "SecurityGroupIds": vpc.get("securityGroupIds", [])}


def _numbers(desired: State) -> dict[str, Any]:
    params = {key: desired[name] for name, (key, *_) in NUMBERS.items() if desired[name] is not None}
    if desired["ephemeralStorage"] is not None:
        params["EphemeralStorage"] = {"Size": desired["ephemeralStorage"]}
    return params
