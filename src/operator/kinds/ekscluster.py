"""EKSCluster: an EKS control plane (node groups and add-ons are not managed here). Create,
update and delete take minutes in AWS: the engine looks again while the cluster is CREATING,
UPDATING or DELETING, and the kind applies one update at a time, as EKS requires
(`services/eks.py`)."""

from __future__ import annotations

from typing import Any, Mapping

from ..engine.schema import immutable
from ..engine.kind import Adoption, DriftField, ErrorMatch, Identity, Reference, Severity, Tagging
from ..provider.errors import TerminalError
from ..services.ec2 import CIDR_PATTERN, placement_references
from ..services.eks import AUTHENTICATION_MODES, LOG_TYPES, PROGRESS_DELAY, Cluster

NAME = r"^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$"
VERSION = r"^1\.[0-9]{2}$"
ROLE_ARN = r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$"
TWO_SUBNETS = "EKS needs at least 2 subnets (in different availability zones)"


class EKSCluster(Cluster):
    kind = "EKSCluster"
    plural = "eksclusters"
    short_names = ("eks",)
    description = ("An EKS cluster's control plane: Kubernetes version (upgraded one minor at a time), role, "
                   "subnets and security groups, endpoint access, control plane logging, secrets encryption with "
                   "a KMS key, authentication mode, tags. Node groups and add-ons are not managed by this kind.")
    identifier = "clusterName"
    identity = Identity(fields=("arn",), from_spec="clusterName")
    adoption = Adoption.SPEC_NAME
    tagging = Tagging(at_create=True, in_description=True)
    # A role created a moment ago may not be assumable by EKS yet; one update at a time.
    retryable_errors = (ErrorMatch("InvalidParameterException", "(?i)role.*(assume|trust)"),
                        ErrorMatch("ResourceInUseException", reason="ClusterUpdateInProgress", delay=PROGRESS_DELAY))
    spec_properties = {
        "clusterName": {"type": "string", "pattern": NAME, "description": "Cluster name; cannot change.",
                        **immutable("clusterName cannot change")},
        "version": {"type": "string", "pattern": VERSION,
                    "description": "Kubernetes minor version (1.31); upgraded in place one minor at a time, never "
                                   "downgraded. Unset: EKS's default, recorded."},
        "endpointPublicAccess": {"type": "boolean", "default": True,
                                 "description": "The API server endpoint is reachable from the internet."},
        "endpointPrivateAccess": {"type": "boolean", "default": False,
                                  "description": "The API server endpoint is reachable from inside the VPC."},
        "publicAccessCidrs": {"type": "array", "maxItems": 40, "items": {"type": "string", "pattern": CIDR_PATTERN},
                              "description": "CIDR blocks that may reach the public endpoint (AWS's default: "
                                             "0.0.0.0/0)."},
        "logging": {"type": "array", "maxItems": 5, "items": {"type": "string", "enum": list(LOG_TYPES)},
                    "description": "Control plane log types sent to CloudWatch Logs (unlisted ones are off)."},
        "authenticationMode": {"type": "string", "enum": list(AUTHENTICATION_MODES),
                               "description": "How IAM principals are mapped: access entries (API), the aws-auth "
                                              "ConfigMap, or both; only moves towards API."},
        "encryption": {"type": "object", "description": "Envelope encryption of Kubernetes Secrets with a KMS key "
                                                        "(by kmsKeyRef or kmsKeyArn); can be added, never changed "
                                                        "or removed."},
    }
    spec_required = ("clusterName",)
    spec_validations = ({"rule": "!has(self.subnetRefs) || size(self.subnetRefs) >= 2", "message": TWO_SUBNETS},
                        {"rule": "!has(self.subnetIds) || size(self.subnetIds) >= 2", "message": TWO_SUBNETS},
                        {"rule": "self.endpointPublicAccess || self.endpointPrivateAccess",
                         "message": "at least one of endpointPublicAccess and endpointPrivateAccess must be true"},
                        {"rule": "!has(self.publicAccessCidrs) || self.endpointPublicAccess",
                         "message": "publicAccessCidrs needs endpointPublicAccess"})
    references = (
        Reference("roleRef", "IAMRole", "role", ROLE_ARN, status_field="arn"),
        *placement_references(subnets_required=True),
        Reference("kmsKeyRef", "KMSKey", "kmsKeyArn", required=False, within="encryption", status_field="arn"),
    )
    status_properties = {"certificateAuthority": {"type": "string"}, "oidcIssuer": {"type": "string"},
                         "platformVersion": {"type": "string"}, "version": {"type": "string"}}
    printer_columns = (("Status", ".status.status", "string"), ("Version", ".status.version", "string"),
                       ("Endpoint", ".status.endpoint", "string"))
    drift_fields = (
        DriftField("clusterName", Severity.CRITICAL, updatable=False),
        DriftField("role", Severity.CRITICAL, updatable=False),
        DriftField("subnetIds", Severity.CRITICAL),
        DriftField("securityGroupIds", Severity.CRITICAL),
        DriftField("endpointPublicAccess", Severity.CRITICAL),
        DriftField("endpointPrivateAccess", Severity.CRITICAL),
        DriftField("publicAccessCidrs", Severity.CRITICAL),
        DriftField("kmsKeyArn", Severity.CRITICAL),
        DriftField("authenticationMode", Severity.CRITICAL),
        DriftField("version", Severity.WARNING, late_init=True),
        DriftField("logging", Severity.WARNING),
    )

    def validate(self, spec: Mapping[str, Any], related: Mapping[str, Mapping[str, Any]]) -> None:
        if len(spec.get("subnetRefs") or spec.get("subnetIds") or ()) < 2:
            raise TerminalError(TWO_SUBNETS)
        if not (spec.get("endpointPublicAccess", True) or spec.get("endpointPrivateAccess", False)):
            raise TerminalError("at least one of endpointPublicAccess and endpointPrivateAccess must be true")
        if "publicAccessCidrs" in spec and not spec.get("endpointPublicAccess", True):
            raise TerminalError("publicAccessCidrs needs endpointPublicAccess")
