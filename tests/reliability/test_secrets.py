"""Secrets never leak: operators run with credentials from Secrets (with a session token), an
assumed role with an external ID, and revoked credentials, and copy Secret keys into Secrets
Manager (a JSON object, a binary value) and an RDS instance's master password; their logs (JSON and text, the text
one at DEBUG), spans and metrics (over OTLP), Kubernetes events, object statuses and /metrics
expositions hold none of the secret values, nor the role credentials STS issued."""

from __future__ import annotations

import json
import logging
import secrets
import string
import urllib.request

from moto.sts.models import sts_backends

from infra_operator.operator.cli import _RedactSpecFields
from infra_operator.operator.engine.providers import SENSITIVE_SPEC_FIELDS

from e2e.resources import API_VERSION, Cluster, KINDS_IN_DELETION_ORDER
from otlp_receiver import GrpcReceiver

from .support import operator_process, wait_provider_ready

ROLE_ACCOUNT = "123456789012"


def token(length: int = 40) -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(length))


def set_up(cluster: Cluster, aws) -> tuple[list[str], str]:
    """Providers with Secret credentials (one of them revoked) and one assuming a role, the
    working ones with an address to manage; returns the secret values used, and the role's
    external ID."""
    values, external_id = [], token()
    for provider in ("static", "revoked", "role"):
        key_id, secret_key, session_token = f"AKIA{token(16).upper()}", token(), token(120)
        values += [secret_key, session_token]
        cluster.kube.create({"apiVersion": "v1", "kind": "Secret",
                             "metadata": {"name": provider, "namespace": cluster.namespace},
                             "stringData": {"AWS_ACCESS_KEY_ID": key_id, "AWS_SECRET_ACCESS_KEY": secret_key,
                                            "AWS_SESSION_TOKEN": session_token}})
        spec = {"region": "us-east-1", "endpoint": aws.endpoint, "credentials": {"secretRef": {"name": provider}}}
        if provider == "role":
            spec |= {"assumeRoleARN": f"arn:aws:iam::{ROLE_ACCOUNT}:role/operator", "externalID": external_id}
        if provider == "revoked":
            aws.faults.reject_credentials(key_id)
        cluster.create("AWSProvider", provider, spec)
        if provider != "revoked":
            cluster.create("ElasticIP", f"on-{provider}", {"providerRef": {"name": provider}})
    # A Secrets Manager secret built from a Secret's keys: a JSON object and a binary value.
    password, blob = token(), token(48)
    values += [password, blob]
    cluster.kube.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "app", "namespace": cluster.namespace},
                         "stringData": {"username": "app", "password": password, "blob": blob}})
    for name, value_ref in (("app-json", {"secretJsonRef": {"name": "app", "keys": ["username", "password"]}}),
                            ("app-binary", {"secretBinaryRef": {"name": "app", "key": "blob"}})):
        cluster.create("SecretsManagerSecret", name, {"providerRef": {"name": "static"}, "forceDeleteWithoutRecovery": True,
                                                      "secretName": f"{cluster.namespace}/{name}", **value_ref})
    # The same password as an RDS instance's master password, in two subnets made in AWS directly.
    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.90.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.90.{n}.0/24", AvailabilityZone=f"us-east-1{zone}")[
        "Subnet"]["SubnetId"] for n, zone in ((1, "a"), (2, "b"))]
    cluster.create("RDSInstance", "db", {"providerRef": {"name": "static"}, "dbInstanceIdentifier": f"db{token(8).lower()}",
                                         "engine": "postgres", "dbInstanceClass": "db.t3.micro", "allocatedStorage": 20,
                                         "masterUsername": "app", "subnetIds": subnets, "deletionPolicy": "Delete",
                                         "skipFinalSnapshot": True,
                                         "masterUserPasswordSecretRef": {"name": "app", "key": "password"}})
    return values, external_id


def issued_for(external_id: str) -> list[str]:
    """The secret key and session token STS (moto, in this process) issued to the role."""
    return [value for role in sts_backends[ROLE_ACCOUNT]["aws"].assumed_roles if role.external_id == external_id
            for value in (role.secret_access_key, role.session_token)]


def test_no_secret_value_in_logs_spans_metrics_events_or_status(kube, aws, namespace):
    other = f"{namespace[:50]}-text"
    kube.create_namespace(other)
    clusters = [Cluster(kube, aws, namespace), Cluster(kube, aws, other)]
    receiver = GrpcReceiver()
    receiver.start()
    otlp = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
            "OTEL_METRICS_EXPORTER": "otlp", "OTEL_TRACES_EXPORTER": "otlp", "OTEL_METRIC_EXPORT_INTERVAL": "500",
            "OTEL_BSP_SCHEDULE_DELAY": "200"}
    try:
        with operator_process(kube, namespace, "--log-format", "json", env=otlp) as json_logs, \
                operator_process(kube, other, "--log-format", "text", "--log-level", "DEBUG", env=otlp) as text_logs:
            values, external_ids = [], []
            for cluster in clusters:
                secret_values, external_id = set_up(cluster, aws)
                values += [*secret_values, external_id]
                external_ids.append(external_id)
            for cluster, process in zip(clusters, (json_logs, text_logs)):
                for provider in ("static", "role"):
                    wait_provider_ready(kube, process, f"{cluster.namespace}/{provider}")
                    cluster.wait_ready("ElasticIP", f"on-{provider}")
                for name in ("app-json", "app-binary"):
                    cluster.wait_ready("SecretsManagerSecret", name)
                cluster.wait_ready("RDSInstance", "db")
                cluster.wait_condition("AWSProvider", "revoked", status="False", reason="ProviderNotReady")
                cluster.delete("ElasticIP", "on-role")
                cluster.wait_gone("ElasticIP", "on-role")
            issued = [value for external_id in external_ids for value in issued_for(external_id)]
            receiver.wait_for(lambda received: len(received.spans()) > 20 and received.metrics())
            exposed = [urllib.request.urlopen(p.metrics_url).read().decode() for p in (json_logs, text_logs)]
            statuses = [str(obj.get("status")) for c in clusters for kind in KINDS_IN_DELETION_ORDER
                        for obj in kube.list(API_VERSION, kind, c.namespace)]
            for cluster in clusters:
                cluster.delete_everything()
            places = {
                "json log": json_logs.log(), "text log": text_logs.log(), "metrics": "\n".join(exposed),
                "otlp": "\n".join(str(data) for data in receiver.resource_spans + receiver.resource_metrics),
                "events": "\n".join(str(event) for c in clusters for event in kube.events(c.namespace)),
                "statuses": "\n".join(statuses),
            }
    finally:
        receiver.stop()
        kube.delete_namespace(other)
    assert len(values) == 18 and len(issued) >= 4
    leaks = {(where, value[:6]) for where, text in places.items() for value in values + issued if value in text}
    assert not leaks, leaks
    assert '"trace_id"' in places["json log"] and "DEBUG" in places["text log"]
    print(f"\nsecrets: {len(values)} secret values and {len(issued)} issued credentials, none in "
          + ", ".join(f"{where} ({len(text)} chars)" for where, text in places.items()))


def test_sensitive_spec_fields_are_masked_in_every_notation_kopf_logs_objects_in():
    secret = token()
    body = {"spec": {"region": "us-east-1", "externalID": secret}}
    annotation = json.dumps({"spec": body["spec"]})
    record = logging.LogRecord("kopf.objects", logging.DEBUG, __file__, 1, "Creation is in progress: %r; %s",
                               ({**body, "metadata": {"annotations": {"last-handled": annotation}}}, annotation), None)
    assert _RedactSpecFields(SENSITIVE_SPEC_FIELDS).filter(record)
    message = record.getMessage()
    assert secret not in message and message.count("***") == 3 and "us-east-1" in message


def test_a_changed_secret_reaches_secrets_manager_through_the_watch_not_a_resync(kube, aws, namespace):
    """With resyncs an hour apart, a changed Secret is written as a new version at once: the
    operator watches the Secrets that secret inputs name."""
    cluster = Cluster(kube, aws, namespace)
    first, second = token(), token()
    with operator_process(kube, namespace, "--resync-interval", "3600") as process:
        cluster.create_provider("aws")
        wait_provider_ready(kube, process, f"{namespace}/aws")
        kube.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "api", "namespace": namespace},
                     "stringData": {"token": first}})
        cluster.create("SecretsManagerSecret", "api", {"providerRef": {"name": "aws"}, "secretName": f"{namespace}/api",
                                                       "secretStringRef": {"name": "api", "key": "token"},
                                                       "forceDeleteWithoutRecovery": True})
        version = cluster.wait_ready("SecretsManagerSecret", "api")["status"]["versionId"]
        sm = aws.client("secretsmanager")
        assert sm.get_secret_value(SecretId=f"{namespace}/api")["SecretString"] == first
        kube.patch("v1", "Secret", namespace, "api", {"stringData": {"token": second}})
        kube.wait_for(lambda: sm.get_secret_value(SecretId=f"{namespace}/api")["SecretString"] == second,
                      timeout=20, interval=0.1, what="the new value in Secrets Manager")
        kube.wait_for(lambda: cluster.get("SecretsManagerSecret", "api")["status"]["versionId"] != version,
                      timeout=20, interval=0.1, what="the new version in status")
        cluster.wait_event("api", "Updated")
        log = process.log()
        cluster.delete_everything()
    assert first not in log and second not in log
