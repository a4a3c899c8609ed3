"""ECRRepository: a private ECR repository, its tag mutability, scan on push, encryption (AES256
or a KMS key, fixed at creation), lifecycle policy and repository policy (JSON, compared
canonically), and tags. The spec decides the name (the Resource Groups Tagging API does not list
ECR repositories everywhere, so the name is how a crash after the create is survived). A
repository holding images is deleted only with forceDelete."""

from __future__ import annotations

import json
from typing import Any, Mapping

from ..engine.kind import (Adoption, AWSClients, Deletion, DriftField, ErrorMatch, Identity, Kind, Raw, Reference,
                           Severity, State, TagChange, Tagging, tag_list, tag_map)
from ..engine.lookups import paginated
from ..engine.schema import immutable, immutable_rule
from ..engine.policies import canonical_policy
from ..provider.errors import TerminalError
from ..services.ecr import POLICIES, policy, set_policies

REPOSITORY_NAME = r"^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$"
KMS_KEY_ARN = r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+$"
FIXED_AT_CREATE = "cannot change after creation (ECR fixes it at the create)"
KEY_NEEDS_KMS = "a KMS key (kmsKeyRef or kmsKey) needs encryptionType KMS"
NO_RULES = "lifecyclePolicy needs a non-empty rules list"

ENCRYPTION = {
    "type": "object", "x-kubernetes-validations": [
        immutable_rule(FIXED_AT_CREATE),
        {"rule": "!(has(self.kmsKeyRef) || has(self.kmsKey)) || self.encryptionType == 'KMS'",
         "message": KEY_NEEDS_KMS}],
    "description": "How images are encrypted at rest; cannot change after creation. Unset: AES256.",
    "properties": {
        "encryptionType": {"type": "string", "enum": ["AES256", "KMS"], "default": "AES256",
                           "description": "AES256 (S3-managed keys) or KMS (kmsKeyRef or kmsKey; unset: the AWS "
                                          "managed key aws/ecr)."},
    },
}


class ECRRepository(Kind):
    kind = "ECRRepository"
    plural = "ecrrepositories"
    short_names = ("ecr",)
    description = ("A private ECR repository: tag mutability, scan on push, encryption (fixed at creation), "
                   "lifecycle and repository policies. Deleting a repository that holds images waits "
                   "(DeletionProtected) unless forceDelete.")
    identifier = "repositoryName"
    identity = Identity(fields=("repositoryArn", "repositoryUri", "registryId"), from_spec="repositoryName")
    adoption = Adoption.SPEC_NAME
    tagging = Tagging(at_create=True, in_description=True)
    deletion = Deletion(force_field="forceDelete", protected=(ErrorMatch("RepositoryNotEmptyException"),),
                        force_description="Delete the repository with every image it holds (else a repository "
                                          "with images is not deleted).")
    spec_properties = {
        "repositoryName": {"type": "string", "minLength": 2, "maxLength": 256, "pattern": REPOSITORY_NAME,
                           **immutable(FIXED_AT_CREATE),
                           "description": "The repository's name (may hold namespaces: team/app); cannot change "
                                          "after creation."},
        "imageTagMutability": {"type": "string", "enum": ["MUTABLE", "IMMUTABLE"], "default": "MUTABLE",
                               "description": "IMMUTABLE: a pushed tag can never point at another image."},
        "scanOnPush": {"type": "boolean", "default": False,
                       "description": "Scan every image for vulnerabilities when it is pushed."},
        "encryptionConfiguration": ENCRYPTION,
        "lifecyclePolicy": {"type": "string", "minLength": 2, "maxLength": 30720,
                            "description": "The lifecycle policy (JSON with its rules); compared canonically. "
                                           "Unset: no lifecycle policy."},
        "repositoryPolicy": {"type": "string", "minLength": 2, "maxLength": 10240,
                             "description": "The repository (access) policy as JSON; compared canonically. Unset: "
                                            "no repository policy."},
    }
    spec_required = ("repositoryName",)
    references = (Reference("kmsKeyRef", "KMSKey", "kmsKey", id_pattern=KMS_KEY_ARN, required=False,
                            within="encryptionConfiguration", status_field="arn"),)
    status_properties = {"createdAt": {"type": "string"}, "imageCount": {"type": "integer"}}
    printer_columns = (("URI", ".status.repositoryUri", "string"), ("Images", ".status.imageCount", "integer"),
                       ("Mutability", ".spec.imageTagMutability", "string"))
    drift_fields = (
        # Encryption is fixed at creation: a difference needs a new repository.
        *(DriftField(name, Severity.CRITICAL, updatable=False) for name in ("encryptionType", "kmsKey")),
        DriftField("repositoryPolicy", Severity.CRITICAL),  # who may pull and push
        *(DriftField(name, Severity.WARNING) for name in ("imageTagMutability", "scanOnPush", "lifecyclePolicy")),
    )

    def validate(self, spec: Mapping[str, Any], related: Mapping[str, Mapping[str, Any]]) -> None:
        encryption = spec.get("encryptionConfiguration") or {}
        if (encryption.get("kmsKeyRef") or encryption.get("kmsKey")) and encryption.get("encryptionType") != "KMS":
            raise TerminalError(KEY_NEEDS_KMS)
        canonical_policy(spec.get("repositoryPolicy"))  # refuses a document that is not JSON
        if spec.get("lifecyclePolicy") is not None:
            rules = _document_field(spec["lifecyclePolicy"], "rules")
            if not isinstance(rules, list) or not rules:
                raise TerminalError(NO_RULES, reason="InvalidPolicy")

    def desired(self, spec: Mapping[str, Any]) -> State:
        encryption = spec.get("encryptionConfiguration") or {}
        return {
            "repositoryName": spec["repositoryName"],
            "imageTagMutability": spec.get("imageTagMutability", "MUTABLE"),
            "scanOnPush": bool(spec.get("scanOnPush", False)),
            "encryptionType": encryption.get("encryptionType", "AES256"),
            # Unset under KMS: the AWS managed key AWS picks, not compared.
            "kmsKey": encryption.get("kmsKey"),
            # "" (not None): no policy is what the spec asks for, so one added outside is drift.
            **{field: canonical_policy(spec.get(field)) or "" for field in POLICIES},
            # Sent as written; the canonical forms are for comparing only.
            **{f"{field}Text": spec.get(field) for field in POLICIES},
        }

    def observe(self, raw: Raw) -> State:
        repository = raw["repository"]
        encryption = repository.get("encryptionConfiguration") or {}
        return {
            "repositoryName": repository["repositoryName"],
            "imageTagMutability": repository.get("imageTagMutability"),
            "scanOnPush": bool((repository.get("imageScanningConfiguration") or {}).get("scanOnPush", False)),
            "encryptionType": encryption.get("encryptionType", "AES256"),
            "kmsKey": encryption.get("kmsKey"),
            **{field: canonical_policy(raw.get(field)) or "" for field in POLICIES},
            "tags": tag_map(raw.get("tags")),
        }

    def identify(self, raw: Raw) -> str:
        return raw["repository"]["repositoryName"]

    def identities(self, raw: Raw) -> State:
        repository = raw["repository"]
        return {"repositoryArn": repository["repositoryArn"], "repositoryUri": repository["repositoryUri"],
                "registryId": repository["registryId"]}

    def status(self, raw: Raw) -> State:
        return {"createdAt": self.timestamp(raw["repository"].get("createdAt")), "imageCount": raw.get("imageCount")}

    def read(self, aws: AWSClients, ident: str) -> Raw | None:
        ecr = aws.client("ecr")
        answer = self.absent_if_missing(ecr.describe_repositories, repositoryNames=[ident])
        if answer is None or not answer["repositories"]:
            return None
        repository = answer["repositories"][0]
        images = sum(1 for _ in paginated(ecr, "describe_images", "imageDetails", repositoryName=ident))
        return {
            "repository": repository,
            **{field: policy(ecr, field, ident) for field in POLICIES},
            "tags": ecr.list_tags_for_resource(resourceArn=repository["repositoryArn"]).get("tags", []),
            "imageCount": images,
        }

    def create(self, aws: AWSClients, desired: State, tags: Mapping[str, str], token: str) -> Raw:
        ecr = aws.client("ecr")
        encryption: dict[str, str] = {"encryptionType": desired["encryptionType"]}
        if desired["kmsKey"]:
            encryption["kmsKey"] = desired["kmsKey"]
        created = ecr.create_repository(repositoryName=desired["repositoryName"], tags=tag_list(tags),
                                        imageTagMutability=desired["imageTagMutability"],
                                        imageScanningConfiguration={"scanOnPush": desired["scanOnPush"]},
                                        encryptionConfiguration=encryption)["repository"]
        # The policies follow as calls of their own (CreateRepository takes none).
        self.update(aws, created["repositoryName"], desired, {"repository": created}, frozenset(
            field for field in POLICIES if desired[field]))
        return {"repository": created}

    def update(self, aws: AWSClients, ident: str, desired: State, raw: Raw, changed: frozenset[str]) -> None:
        ecr = aws.client("ecr")
        if "imageTagMutability" in changed:
            ecr.put_image_tag_mutability(repositoryName=ident, imageTagMutability=desired["imageTagMutability"])
        if "scanOnPush" in changed:
            ecr.put_image_scanning_configuration(repositoryName=ident,
                                                 imageScanningConfiguration={"scanOnPush": desired["scanOnPush"]})
        set_policies(ecr, ident, desired, POLICIES.keys() & changed)

    def set_tags(self, aws: AWSClients, ident: str, change: TagChange) -> None:
        ecr = aws.client("ecr")
        arn = ecr.describe_repositories(repositoryNames=[ident])["repositories"][0]["repositoryArn"]
        change.apply(lambda tags: ecr.tag_resource(resourceArn=arn, tags=tags),
                     lambda keys: ecr.untag_resource(resourceArn=arn, tagKeys=keys))

    def delete(self, aws: AWSClients, ident: str, raw: Raw, spec: Mapping[str, Any]) -> None:
        # Without forceDelete, AWS refuses while images remain (RepositoryNotEmptyException:
        # DeletionProtected); the original operator always forced it, whatever the policy said.
        aws.client("ecr").delete_repository(repositoryName=ident, force=bool(spec.get("forceDelete", False)))


def _document_field(text: str, name: str) -> Any:
    """A top-level field of a JSON document (the document refused when it is not JSON)."""
    canonical_policy(text)
    document = json.loads(text)
    return document.get(name) if isinstance(document, dict) else None
