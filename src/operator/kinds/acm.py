"""Certificate: an ACM public certificate, with its DNS validation records written to a Route 53
hosted zone when the spec names one.

The records the operator writes are remembered in a tag of the certificate (the zone id), so a
changed zone moves them and a delete removes them; a record another certificate of the account
also validates with is left in place. `services/acm.py` computes the calls.
"""

from __future__ import annotations

from typing import Any, Mapping

from ..provider.errors import TerminalError
from ..engine.kind import Deletion, DriftField, ErrorMatch, Reference, Severity, Tagging, TokenFormat
from ..services.acm import ZONE_TAG, ACMCertificate

DOMAIN = r"^(\*\.)?([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z0-9-]{2,63}$"
HOSTED_ZONE_ID = r"^(/hostedzone/)?Z[A-Z0-9]{1,31}$"
KEY_ALGORITHMS = ("RSA_2048", "EC_prime256v1", "EC_secp384r1")
ZONE_NEEDS_DNS = "validation.hostedZoneId and validation.hostedZoneRef need validationMethod DNS"


class Certificate(ACMCertificate):
    kind = "Certificate"
    plural = "certificates"
    short_names = ("cert",)
    description = ("An ACM public certificate. With DNS validation and validation.hostedZoneId (or "
                   "hostedZoneRef), the operator writes the validation records into that Route 53 zone and "
                   "removes them on delete. Ready once ACM has issued it; a delete waits while the "
                   "certificate is in use.")
    identifier = "certificateArn"
    token = TokenFormat(max_length=32)  # ACM's IdempotencyToken: 1 to 32 word characters
    spec_properties = {
        "domainName": {"type": "string", "maxLength": 253, "pattern": DOMAIN,
                       "description": "The certificate's domain name (*.example.com for a wildcard); cannot "
                                      "change after the request."},
        "subjectAlternativeNames": {
            "type": "array", "maxItems": 100, "x-kubernetes-list-type": "set",
            "items": {"type": "string", "maxLength": 253, "pattern": DOMAIN},
            "description": "More names the certificate covers; cannot change after the request."},
        "validationMethod": {"type": "string", "enum": ["DNS", "EMAIL"], "default": "DNS",
                             "description": "How ACM validates domain ownership; cannot change after the request."},
        "validation": {"type": "object", "description": "Where the operator writes the DNS validation records.",
                       "properties": {}},
        "keyAlgorithm": {"type": "string", "enum": list(KEY_ALGORITHMS), "default": "RSA_2048",
                         "description": "The key pair's algorithm; cannot change after the request."},
        "certificateTransparencyLogging": {
            "type": "string", "enum": ["ENABLED", "DISABLED"], "default": "ENABLED",
            "description": "Whether the certificate is logged in public certificate transparency logs."},
    }
    spec_required = ("domainName",)
    spec_validations = (
        {"rule": "!has(self.validation) || self.validationMethod == 'DNS'", "message": ZONE_NEEDS_DNS},
    )
    references = (Reference("hostedZoneRef", "Route53HostedZone", "hostedZoneId", id_pattern=HOSTED_ZONE_ID,
                            required=False, within="validation"),)
    printer_columns = (("Domain", ".spec.domainName", "string"), ("Status", ".status.status", "string"),
                       ("Expires", ".status.notAfter", "string"))
    status_properties = {
        "validationRecords": {"type": "array", "items": {"type": "object", "properties": {
            "domainName": {"type": "string"}, "name": {"type": "string"}, "type": {"type": "string"},
            "value": {"type": "string"}, "status": {"type": "string"}}}},
        "validationZoneId": {"type": "string"},
        "inUseBy": {"type": "array", "items": {"type": "string"}},
    }
    drift_fields = (
        DriftField("domainName", Severity.CRITICAL, updatable=False),
        DriftField("subjectAlternativeNames", Severity.CRITICAL, updatable=False),
        DriftField("validationMethod", Severity.CRITICAL, updatable=False),
        DriftField("keyAlgorithm", Severity.CRITICAL, updatable=False),
        DriftField("certificateTransparencyLogging", Severity.WARNING),
        DriftField("validationZoneId", Severity.WARNING),
    )
    tagging = Tagging(at_create=True, in_description=True, reserved_prefixes=("aws:", ZONE_TAG))
    deletion = Deletion(protected=(ErrorMatch("ResourceInUseException"),))

    def validate(self, spec: Mapping[str, Any], related: Mapping[str, Mapping[str, Any]]) -> None:
        if spec.get("validation") and spec.get("validationMethod", "DNS") != "DNS":
            raise TerminalError(ZONE_NEEDS_DNS)
