"""Lambda: what LambdaFunction computes. The function's parameters (its package, the environment
with the Secret's and ConfigMap's values, VPC placement), the comparable state of GetFunction with
the published versions and aliases, the code's SHA-256, and the update sequence Lambda allows:
one update at a time (concurrency, code, configuration), then a published version and the alias."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any, Mapping

from ..engine.delta import aws_params
from ..engine.kind import AWSClients, Kind, Raw, State, TagChange
from ..engine.lookups import paginated
from ..provider.errors import InProgress, RetryableError, TerminalError, is_not_found

SECRET_ENVIRONMENT = "environmentSecret"
CONFIG_MAP_ENVIRONMENT = "environmentConfigMap"
# Spec fields naming environment values kept outside the spec -> their secret input.
ENVIRONMENT_REFS = {"environmentSecretRef": SECRET_ENVIRONMENT, "environmentConfigMapRef": CONFIG_MAP_ENVIRONMENT}
ZIP_FILE = "zipFile"
# The delay before looking again while Lambda applies an update (seconds, usually).
UPDATE_DELAY = 5.0
# GetFunction's Configuration keys that CreateFunction and UpdateFunctionConfiguration take as the
# state has them -> the state's field.
SETTINGS = {"Role": "role", "Runtime": "runtime", "Handler": "handler", "Timeout": "timeout",
            "MemorySize": "memorySize"}
# Drift fields UpdateFunctionConfiguration applies (UpdateFunctionCode: code and architecture).
CONFIGURATION = frozenset({*SETTINGS.values(), "description", "environment", "vpcConfig", "layers",
                           "ephemeralStorage", *ENVIRONMENT_REFS.values()})
# What a published version freezes of the function's configuration: a version whose values equal
# $LATEST's publishes the current code and configuration.
PUBLISHED_KEYS = ("CodeSha256", "Role", "Runtime", "Handler", "Timeout", "MemorySize", "Environment", "VpcConfig",
                  "Architectures", "EphemeralStorage")


def named_keys(ref: Mapping[str, Any] | None) -> list[str]:
    """The keys (= variable names) an environmentSecretRef or environmentConfigMapRef names."""
    return list((ref or {}).get("keys") or ())


def same_environment(want: Mapping[str, Any], have: Mapping[str, str] | None) -> bool:
    """The function's variables are the spec's plain ones, with their values, and the Secret's and
    ConfigMap's (by name: their values are compared where they are read, never here)."""
    have = have or {}
    plain = want["variables"]
    return set(have) == set(plain) | set(want["referencedKeys"]) and all(have[k] == v for k, v in plain.items())


class Function(Kind):
    """Base of LambdaFunction: a function keyed by its name, read with its versions and aliases."""

    def desired(self, spec: Mapping[str, Any]) -> State:
        code = spec.get("code")
        subnets = list(spec.get("subnetIds") or ())
        alias = spec.get("alias")
        image = spec.get("image")
        return {
            "functionName": spec["functionName"],
            "role": spec["role"],
            **{field: spec.get(field) for field in ("runtime", "handler", "timeout", "memorySize", "architecture",
                                                    "ephemeralStorage", "reservedConcurrency")},
            "packageType": "Image" if "image" in spec else "Zip",
            "imageUri": (image["uri"] if "uri" in image else f"{image['repositoryUri']}:{image['tag']}")
            if "image" in spec else None,
            "description": spec.get("description", ""),
            "environment": {"variables": dict((spec.get("environment") or {}).get("variables") or {}),
                            "referencedKeys": sorted(key for field in ENVIRONMENT_REFS
                                                     for key in named_keys(spec.get(field)))},
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
            **{field: config.get(key) for key, field in SETTINGS.items()},
            "description": config.get("Description", ""),
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
        versions = [version for version in paginated(lam, "list_versions_by_function", "Versions", FunctionName=ident)
                    if version["Version"] != "$LATEST"]
        raw["Versions"] = sorted(versions, key=lambda version: int(version["Version"]))
        raw["Aliases"] = list(paginated(lam, "list_aliases", "Aliases", FunctionName=ident))
        return raw

    def create(self, aws: AWSClients, desired: State, tags: Mapping[str, str], token: str) -> Raw:
        lam = aws.client("lambda")
        params = {"FunctionName": desired["functionName"], "Code": _code(desired), "Tags": dict(tags),
                  "Publish": bool(desired["published"]), **_configuration(desired)}
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
            lam.update_function_configuration(FunctionName=ident, VpcConfig=_vpc(desired), **_configuration(desired))
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
        change.apply(lambda tags: lam.tag_resource(Resource=arn, Tags=tags),
                     lambda keys: lam.untag_resource(Resource=arn, TagKeys=keys), key=None)

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


def _configuration(desired: State) -> dict[str, Any]:
    """What CreateFunction and UpdateFunctionConfiguration both take: role, entry point (a zip
    package's; an image brings its own), numbers, description, environment and layers."""
    params = {"Description": desired["description"], "Environment": _environment(desired),
              "Layers": desired["layers"], **aws_params(desired, SETTINGS)}
    if desired["ephemeralStorage"] is not None:
        params["EphemeralStorage"] = {"Size": desired["ephemeralStorage"]}
    return params


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
