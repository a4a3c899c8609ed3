"""Every object of samples/ through the real kubectl, as a user of the sandbox would: discovery and
short names without warnings, apply (validated: unknown fields and wrong types refused), wait for
Ready, `get -o wide` with every printer column filled, describe with the operator's events,
explain, patch, server-side apply with its conflicts, and delete (finalizers, AWS resources gone).

The objects and kinds come from samples/ and the CRDs: kinds added later are covered as soon as
they have a sample. The tests of this module run in order on one applied set of samples; each
command runs once for all objects (or kinds) where kubectl takes many, in a module fixture, and each
object's test checks its own part of the output."""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import moto.settings
import pytest
from botocore.exceptions import ClientError
import yaml

from infra_operator.operator.crds import all_crds
from infra_operator.operator.engine.delta import OWNER_UID
from infra_operator.operator.engine.schema import GROUP
from infra_operator.sandbox.app import SANDBOX_CERTIFICATE_WAIT, sample_documents

from .conftest import Kubectl

pytestmark = pytest.mark.e2e

CRDS = {crd["spec"]["names"]["kind"]: crd for crd in all_crds()}
SAMPLES = [doc for doc in sample_documents("http://127.0.0.1:5000") if doc["apiVersion"].startswith(f"{GROUP}/")]
OBJECTS = [(doc["kind"], doc["metadata"]["name"]) for doc in SAMPLES]
SAMPLE_KINDS = sorted({kind for kind, _ in OBJECTS})
IDS = [f"{kind}/{name}" for kind, name in OBJECTS]


class _QuotingDumper(yaml.SafeDumper):
    """Quotes every string: kubectl reads YAML 1.1, where a bare `N` or `y` (a DynamoDB
    attribute type) is a boolean, and PyYAML writes them bare."""


_QuotingDumper.add_representer(
    str, lambda dumper, value: dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"'))


def kubectl_yaml(documents) -> str:
    return yaml.dump_all(documents, Dumper=_QuotingDumper)


def resource(kind: str) -> str:
    return f"{CRDS[kind]['spec']['names']['plural']}.{GROUP}"


def singular(kind: str) -> str:
    return CRDS[kind]["spec"]["names"]["singular"]


def version(kind: str) -> dict[str, Any]:
    return next(v for v in CRDS[kind]["spec"]["versions"] if v.get("storage"))


def sample(kind: str, name: str, documents: list[dict[str, Any]]) -> dict[str, Any]:
    return next(doc for doc in documents if doc["kind"] == kind and doc["metadata"]["name"] == name)


@pytest.fixture(scope="module")
def documents(aws) -> list[dict[str, Any]]:
    """samples/*.yaml with the AWSProvider pointed at moto."""
    return sample_documents(aws.endpoint)


@pytest.fixture(scope="module")
def certificates_issued_soon() -> Iterator[None]:
    """moto issues a certificate 60 s after its request (MOTO_ACM_VALIDATION_WAIT): the sample's,
    and the CloudFront distribution waiting for it, would hold up "all Ready" for a minute. One
    second, as in the sandbox (infra_operator.sandbox.app)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(moto.settings, "ACM_VALIDATION_WAIT", SANDBOX_CERTIFICATE_WAIT)
        yield


@pytest.fixture(scope="module")
def applied(kubectl: Kubectl, operator, documents: list[dict[str, Any]], tmp_path_factory,
            certificates_issued_soon) -> list[dict[str, Any]]:
    """The samples applied with `kubectl apply -f` and every object of ours Ready (`kubectl wait`)."""
    manifest = tmp_path_factory.mktemp("samples") / "samples.yaml"
    manifest.write_text(kubectl_yaml(documents))
    output = kubectl("apply", "-f", str(manifest)).stdout
    for kind, name in OBJECTS:
        assert f"{singular(kind)}.{GROUP}/{name} created" in output
    kubectl("wait", "--for=condition=Ready", "--timeout=120s", *(f"{resource(k)}/{n}" for k, n in OBJECTS))
    return documents


def test_discovery_and_every_short_name_without_warnings(kubectl: Kubectl, applied) -> None:
    listing = kubectl("api-resources")
    assert listing.stderr == ""
    rows = {line.split()[0]: line for line in listing.stdout.splitlines()[1:]}
    for kind, crd in CRDS.items():
        names = crd["spec"]["names"]
        assert names["plural"] in rows and all(short in rows[names["plural"]] for short in names["shortNames"])
    shorts = [short for crd in CRDS.values() for short in crd["spec"]["names"]["shortNames"]]
    got = kubectl("get", ",".join(shorts))
    assert got.stderr == "", f"kubectl get {','.join(shorts)}: {got.stderr}"
    assert not any("/" in name for name in rows)  # subresources are not resource types
    version = kubectl("version")
    assert "Server Version: v1." in version.stdout and "WARNING" not in version.stdout + version.stderr


def test_get_aws_lists_every_sample_object(kubectl: Kubectl, applied) -> None:
    got = kubectl("get", "aws", "-o", "name")
    assert got.stderr == ""
    assert sorted(got.stdout.split()) == sorted(f"{singular(k)}.{GROUP}/{n}" for k, n in OBJECTS)


def table_rows(text: str) -> list[dict[str, str]]:
    """kubectl's table output, cut at the header's column starts."""
    header, *lines = text.rstrip("\n").splitlines()
    starts = [match.start() for match in re.finditer(r"(?:^|(?<=\s\s))\S", header)]
    bounds = list(zip(starts, [*starts[1:], None]))
    names = [header[a:b].strip() for a, b in bounds]
    return [dict(zip(names, (line[a:b].strip() for a, b in bounds))) for line in lines]


def qualified(kind: str, name: str) -> str:
    """How kubectl names an object when a command lists several kinds."""
    return f"{singular(kind)}.{GROUP}/{name}"


@pytest.fixture(scope="module")
def wide(kubectl: Kubectl, applied) -> tuple[str, dict[str, list[dict[str, str]]]]:
    """`kubectl get -o wide` of every kind with a sample: its stderr, and its rows by object (one
    table per kind, objects named kind.group/name)."""
    got = kubectl("get", ",".join(resource(kind) for kind in SAMPLE_KINDS), "-o", "wide")
    rows: dict[str, list[dict[str, str]]] = {}
    for table in got.stdout.strip("\n").split("\n\n"):
        for row in table_rows(table):
            rows.setdefault(row["NAME"], []).append(row)
    return got.stderr, rows


@pytest.mark.parametrize(("kind", "name"), OBJECTS, ids=IDS)
def test_get_wide_shows_every_printer_column_filled(wide, kind: str, name: str) -> None:
    stderr, rows = wide
    assert stderr == ""
    [row] = rows[qualified(kind, name)]
    expected = ["NAME", *(column["name"].upper() for column in version(kind)["additionalPrinterColumns"])]
    assert list(row) == expected
    assert all(row[column] not in ("", "<none>") for column in expected), row
    assert row["READY"] == "True"


@pytest.fixture(scope="module")
def descriptions(kubectl: Kubectl, applied) -> dict[tuple[str, str], str]:
    """One `kubectl describe` of every object, cut into each object's description (kubectl shows
    the events of several objects only when asked)."""
    described = kubectl("describe", "--show-events=true", *(f"{resource(kind)}/{name}" for kind, name in OBJECTS)).stdout
    parts = re.split(r"^(?=Name:)", described, flags=re.MULTILINE)[1:]
    by_object = {}
    for part in parts:
        name = re.match(r"Name:\s+(\S+)", part)[1]
        kind = re.search(r"^Kind:\s+(\S+)", part, re.MULTILINE)[1]
        by_object[kind, name] = part
    return by_object


@pytest.mark.parametrize(("kind", "name"), OBJECTS, ids=IDS)
def test_describe_lists_the_operators_events(descriptions, kind: str, name: str) -> None:
    described = descriptions[kind, name]
    events = described.split("\nEvents:", 1)[1]
    assert "<none>" not in events
    reason = "Ready" if kind == "AWSProvider" else "Created"
    assert re.search(rf"^\s+Normal\s+{reason}\s+", events, re.MULTILINE), described


@pytest.mark.parametrize("kind", SAMPLE_KINDS)
def test_explain_prints_the_schemas_descriptions(kubectl: Kubectl, applied, kind: str) -> None:
    schema = version(kind)["schema"]["openAPIV3Schema"]
    spec = schema["properties"]["spec"]
    explained = kubectl("explain", f"{resource(kind)}.spec").stdout
    assert f"KIND:       {kind}" in explained
    described = {field: " ".join(sub["description"].split()[:4])
                 for field, sub in spec["properties"].items() if sub.get("description")}
    for field in spec["properties"]:
        assert re.search(rf"^  {field}\s+<", explained, re.MULTILINE), field
    for field, first_words in described.items():
        assert first_words in " ".join(explained.split()), field
    field, first_words = next(iter(described.items()))
    one = kubectl("explain", f"{resource(kind)}.spec.{field}").stdout
    assert f"FIELD: {field} <" in one and first_words in " ".join(one.split())
    # The same from OpenAPI v2, which kubectl reads as protobuf.
    from_v2 = kubectl("explain", f"{resource(kind)}.spec", "--output=plaintext-openapiv2").stdout
    assert f"KIND:     {kind}" in from_v2 and all(words in " ".join(from_v2.split()) for words in described.values())


def first_string_field(kind: str) -> str:
    spec_fields = version(kind)["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    return next(name for name, schema in spec_fields.items() if schema.get("type") == "string")


@pytest.fixture(scope="module")
def refused(kubectl: Kubectl, applied) -> dict[str, Any]:
    """`kubectl apply` of one object per kind with an unknown field, then one per kind with a number
    in a string field (both named not-created), then `kubectl get` of the not-created objects."""
    docs = [next(doc for doc in applied if doc["kind"] == kind) for kind in SAMPLE_KINDS]
    unknown = [{**doc, "metadata": {"name": "not-created"}, "spec": {**doc["spec"], "notAField": 1}} for doc in docs]
    wrong = [{**doc, "metadata": {"name": "not-created"}, "spec": {**doc["spec"], first_string_field(doc["kind"]): 12345}}
             for doc in docs]
    return {"unknown": kubectl("apply", "-f", "-", stdin=kubectl_yaml(unknown), check=False),
            "wrong": kubectl("apply", "-f", "-", stdin=kubectl_yaml(wrong), check=False),
            "get": kubectl("get", *(f"{resource(kind)}/not-created" for kind in SAMPLE_KINDS), check=False)}


def stderr_line(result, about: str) -> str:
    """The stderr line of a command on many objects that is about one of them."""
    return next((line for line in result.stderr.splitlines() if about in line), "")


@pytest.mark.parametrize("kind", SAMPLE_KINDS)
def test_apply_refuses_unknown_fields_and_wrong_types(refused, kind: str) -> None:
    unknown = refused["unknown"]
    assert unknown.returncode != 0
    assert 'strict decoding error: unknown field "spec.notAField"' in stderr_line(
        unknown, f"cannot be handled as a {kind}: "), unknown.stderr
    field, wrong = first_string_field(kind), refused["wrong"]
    assert wrong.returncode != 0
    assert f"spec.{field} in body must be of type string" in stderr_line(
        wrong, f'{kind}.{GROUP} "not-created" is invalid: '), wrong.stderr
    got = refused["get"]
    assert got.returncode != 0 and f'{resource(kind)} "not-created" not found' in got.stderr


def test_diff_and_server_dry_run_change_nothing(kubectl: Kubectl, applied, tmp_path) -> None:
    ours = [doc for doc in applied if doc["apiVersion"].startswith(f"{GROUP}/")]
    manifest = tmp_path / "samples.yaml"
    manifest.write_text(kubectl_yaml(ours))
    assert kubectl("diff", "-f", str(manifest)).stdout == ""  # exit code 0: no difference
    changed = [{**doc, "metadata": {**doc["metadata"], "labels": {"changed": "yes"}}} for doc in ours]
    manifest.write_text(kubectl_yaml(changed))
    diff = kubectl("diff", "-f", str(manifest), check=False)
    assert diff.returncode == 1 and diff.stdout.count("+    changed: \"yes\"") == len(changed), diff.stdout
    for flags in ((), ("--server-side",)):
        dry = kubectl("apply", *flags, "--dry-run=server", "-f", str(manifest)).stdout
        assert dry.count("(server dry run)") == len(changed)
    assert kubectl("get", "aws", "-l", "changed=yes", "-o", "name").stdout == ""


def every_object() -> list[str]:
    return [f"{resource(kind)}/{name}" for kind, name in OBJECTS]


def get_every_object(kubectl: Kubectl, *flags: str) -> dict[tuple[str, str], dict[str, Any]]:
    """One `kubectl get -o json` of every object, by kind and name."""
    items = json.loads(kubectl("get", *every_object(), "-o", "json", *flags).stdout)["items"]
    return {(item["kind"], item["metadata"]["name"]): item for item in items}


@pytest.fixture(scope="module")
def patched(kubectl: Kubectl, applied) -> dict[str, Any]:
    """A merge patch, then a JSON patch, of every object's labels (one command each), then the objects."""
    merge = kubectl("patch", *every_object(), "--type", "merge", "-p", '{"metadata":{"labels":{"patched":"merge"}}}')
    json_patch = kubectl("patch", *every_object(), "--type", "json",
                         "-p", '[{"op":"add","path":"/metadata/labels/json","value":"yes"}]')
    return {"merge": merge.stdout, "json": json_patch.stdout, "got": get_every_object(kubectl)}


@pytest.mark.parametrize(("kind", "name"), OBJECTS, ids=IDS)
def test_patch(patched, kind: str, name: str) -> None:
    assert f"{qualified(kind, name)} patched" in patched["merge"].splitlines()
    assert f"{qualified(kind, name)} patched" in patched["json"].splitlines()
    assert patched["got"][kind, name]["metadata"]["labels"] == {"patched": "merge", "json": "yes"}


def with_owner_label(doc: dict[str, Any]) -> dict[str, Any]:
    return {**doc, "metadata": {**doc["metadata"], "labels": {"owner": "server-side"}}}


@pytest.fixture(scope="module")
def server_side_applied(kubectl: Kubectl, applied) -> dict[str, Any]:
    """Every object labelled by `kubectl label`, then applied server-side with another value of that
    label: without --force-conflicts one object at a time (kubectl's conflict message does not name
    the object), then with it all at once; then the objects with their managed fields."""
    labelled = kubectl("label", *every_object(), "owner=kubectl-label").stdout
    configs = {key: with_owner_label(sample(*key, applied)) for key in OBJECTS}
    conflicts = {key: kubectl("apply", "--server-side", "-f", "-", stdin=json.dumps(config), check=False)
                 for key, config in configs.items()}
    forced = kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", stdin=kubectl_yaml(configs.values()))
    return {"labelled": labelled, "conflicts": conflicts, "forced": forced.stdout,
            "got": get_every_object(kubectl, "--show-managed-fields")}


@pytest.mark.parametrize(("kind", "name"), OBJECTS, ids=IDS)
def test_server_side_apply_reports_conflicts(server_side_applied, kind: str, name: str) -> None:
    assert f"{qualified(kind, name)} labeled" in server_side_applied["labelled"].splitlines()
    doc = sample(kind, name, SAMPLES)
    conflict = server_side_applied["conflicts"][kind, name]
    assert conflict.returncode != 0
    assert ('Apply failed with 1 conflict: conflict with "kubectl-label" using '
            f'{doc["apiVersion"]}: .metadata.labels.owner') in conflict.stderr
    assert f"{qualified(kind, name)} serverside-applied" in server_side_applied["forced"].splitlines()
    got = server_side_applied["got"][kind, name]
    assert got["metadata"]["labels"]["owner"] == "server-side"
    managers = {(entry["manager"], entry["operation"]) for entry in got["metadata"]["managedFields"]}
    assert ("kubectl", "Apply") in managers and ("kubectl-client-side-apply", "Update") in managers


# Whether a resource named by its ARN is there and not scheduled for deletion (KMS pending window,
# Secrets Manager recovery window: the deletion is done as far as the object is concerned). Every
# service here is one the tagging API lists by the owner tag.
ARN_LOOKUPS = {
    "kms": lambda aws, arn: aws.client("kms").describe_key(KeyId=arn)["KeyMetadata"]["KeyState"] != "PendingDeletion",
    "secretsmanager": lambda aws, arn: not aws.client("secretsmanager").describe_secret(SecretId=arn).get("DeletedDate"),
    "acm": lambda aws, arn: bool(aws.client("acm").describe_certificate(CertificateArn=arn)["Certificate"]),
    "sqs": lambda aws, arn: bool(aws.client("sqs").get_queue_url(QueueName=arn.rsplit(":", 1)[1])["QueueUrl"]),
    "sns": lambda aws, arn: bool(aws.client("sns").get_topic_attributes(TopicArn=arn)["Attributes"]),
    "dynamodb": lambda aws, arn: bool(aws.client("dynamodb").describe_table(TableName=arn.rsplit("/", 1)[1])["Table"]),
    "s3": lambda aws, arn: bool(aws.client("s3").head_bucket(Bucket=arn.rsplit(":", 1)[1])),
    "cloudfront": lambda aws, arn: bool(aws.client("cloudfront").get_distribution(Id=arn.rsplit("/", 1)[1])),
    "elasticache": lambda aws, arn: _elasticache_exists(aws, arn),
    "rds": lambda aws, arn: _rds_exists(aws, *arn.split(":")[5:7]),
    # Load balancers and the target groups they own.
    "elasticloadbalancing": lambda aws, arn: bool(
        aws.client("elbv2").describe_target_groups(TargetGroupArns=[arn])["TargetGroups"] if ":targetgroup/" in arn
        else aws.client("elbv2").describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"]),
}
# Kinds whose resources the tagging API does not list (IAM, Route 53, API Gateway, ECR, EKS in moto;
# ECS clusters are named in status; record sets have no tags at all), and Lambda functions: looked up
# by the id in the object's status.
STATUS_LOOKUPS = {
    "IAMRole": ("roleName", lambda aws, name: bool(aws.client("iam").get_role(RoleName=name)["Role"])),
    "Route53HostedZone": ("hostedZoneId", lambda aws, zone: bool(aws.client("route53").get_hosted_zone(Id=zone))),
    "APIGateway": ("apiId", lambda aws, api: bool(aws.client("apigatewayv2").get_api(ApiId=api))),
    "Route53RecordSet": ("recordKey", lambda aws, key: _record_exists(aws, *key.split("/", 3))),
    "ECRRepository": ("repositoryName", lambda aws, name: bool(
        aws.client("ecr").describe_repositories(repositoryNames=[name])["repositories"])),
    # A deleted cluster stays listed as INACTIVE.
    "ECSCluster": ("clusterArn", lambda aws, arn: any(
        c["status"] != "INACTIVE" for c in aws.client("ecs").describe_clusters(clusters=[arn])["clusters"])),
    "LambdaFunction": ("functionName", lambda aws, name: bool(aws.client("lambda").get_function(FunctionName=name))),
    "EKSCluster": ("clusterName", lambda aws, name: bool(aws.client("eks").describe_cluster(name=name))),
}
NOT_FOUND = {"DBInstanceNotFound", "DBSubnetGroupNotFoundFault", "NotFoundException", "ResourceNotFoundException", "NotFound", "NoSuchEntity", "NoSuchHostedZone",
             "NoSuchDistribution", "NoSuchBucket", "404", "AWS.SimpleQueueService.NonExistentQueue",
             "RepositoryNotFoundException", "LoadBalancerNotFound", "TargetGroupNotFound"}


def _record_exists(aws, zone: str, name: str, record_type: str, set_identifier: str) -> bool:
    found = aws.client("route53").list_resource_record_sets(
        HostedZoneId=zone, StartRecordName=name, StartRecordType=record_type)["ResourceRecordSets"]
    return any(record["Name"].rstrip(".") == name.rstrip(".") and record["Type"] == record_type
               and record.get("SetIdentifier", "") == set_identifier for record in found)


def _elasticache_exists(aws, arn: str) -> bool:
    """A replication group not being deleted, a cache cluster, or a subnet group (by its ARN)."""
    elasticache, (resource_type, name) = aws.client("elasticache"), arn.split(":")[-2:]
    if resource_type == "replicationgroup":
        return elasticache.describe_replication_groups(ReplicationGroupId=name)["ReplicationGroups"][0][
            "Status"] != "deleting"
    if resource_type == "cluster":
        return elasticache.describe_cache_clusters(CacheClusterId=name)["CacheClusters"][0][
            "CacheClusterStatus"] != "deleting"
    return bool(elasticache.describe_cache_subnet_groups(CacheSubnetGroupName=name)["CacheSubnetGroups"])
def _rds_exists(aws, resource_type: str, name: str) -> bool:
    """A DB instance (`db`) or DB subnet group (`subgrp`) by the type and name its ARN ends with."""
    rds = aws.client("rds")
    if resource_type == "subgrp":
        return bool(rds.describe_db_subnet_groups(DBSubnetGroupName=name)["DBSubnetGroups"])
    assert resource_type == "db", f"add how to look up rds {resource_type} to _rds_exists"
    return bool(rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"])


def _exists_unless_not_found(lookup, *args) -> bool:
    try:
        return lookup(*args)
    except ClientError as exc:
        if exc.response["Error"]["Code"] in NOT_FOUND:
            return False
        raise


# Whether an EC2 resource still exists, by its ID's prefix (moto keeps the tags of deleted resources).
EC2_LOOKUPS = {
    "eipalloc": lambda ec2, id_: ec2.describe_addresses(Filters=[{"Name": "allocation-id", "Values": [id_]}])[
        "Addresses"],
    "vpc": lambda ec2, id_: ec2.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [id_]}])["Vpcs"],
    "subnet": lambda ec2, id_: ec2.describe_subnets(Filters=[{"Name": "subnet-id", "Values": [id_]}])["Subnets"],
    "igw": lambda ec2, id_: ec2.describe_internet_gateways(
        Filters=[{"Name": "internet-gateway-id", "Values": [id_]}])["InternetGateways"],
    "nat": lambda ec2, id_: [gateway for gateway in ec2.describe_nat_gateways(
        Filters=[{"Name": "nat-gateway-id", "Values": [id_]}])["NatGateways"] if gateway["State"] != "deleted"],
    "rtb": lambda ec2, id_: ec2.describe_route_tables(
        Filters=[{"Name": "route-table-id", "Values": [id_]}])["RouteTables"],
    "sg": lambda ec2, id_: ec2.describe_security_groups(Filters=[{"Name": "group-id", "Values": [id_]}])[
        "SecurityGroups"],
    "i": lambda ec2, id_: [i for r in ec2.describe_instances(Filters=[{"Name": "instance-id", "Values": [id_]}])[
        "Reservations"] for i in r["Instances"] if i["State"]["Name"] != "terminated"],
    "key": lambda ec2, id_: ec2.describe_key_pairs(Filters=[{"Name": "key-pair-id", "Values": [id_]}])["KeyPairs"],
    "vol": lambda ec2, id_: [volume for volume in ec2.describe_volumes(
        Filters=[{"Name": "volume-id", "Values": [id_]}])["Volumes"] if volume["State"] != "deleted"],
}


def test_delete_waits_for_the_finalizers_and_aws_forgets_the_resources(kubectl: Kubectl, aws, applied) -> None:
    """Last: everything but the provider is deleted in one command (each waits for what depends on
    it), then the provider. Retained resources stay in AWS, the others are gone."""
    ec2 = aws.client("ec2")

    def owned(kind: str, got: dict) -> list[str]:
        """The IDs (EC2), ARNs (other tagged services) or status ids of the object's resources."""
        if kind in STATUS_LOOKUPS:
            ident = got.get("status", {}).get(STATUS_LOOKUPS[kind][0])
            return [ident] if ident else []
        uid = got["metadata"]["uid"]
        tags = ec2.describe_tags(Filters=[{"Name": "key", "Values": [OWNER_UID]}, {"Name": "value", "Values": [uid]}])
        tagged = aws.client("resourcegroupstaggingapi").get_resources(
            ResourceTypeFilters=list(ARN_LOOKUPS), TagFilters=[{"Key": OWNER_UID, "Values": [uid]}])
        # DB snapshots carry the instance's tags (copyTagsToSnapshot): the data a deletion keeps
        # (automated backups, the final snapshot), not the object's resources.
        return [tag["ResourceId"] for tag in tags["Tags"]] + [
            found["ResourceARN"] for found in tagged["ResourceTagMappingList"] if ":snapshot:" not in found["ResourceARN"]]

    def exists(kind: str, resource_id: str) -> bool:
        if kind in STATUS_LOOKUPS:
            return _exists_unless_not_found(STATUS_LOOKUPS[kind][1], aws, resource_id)
        if resource_id.startswith("arn:"):
            service = resource_id.split(":")[2]
            assert service in ARN_LOOKUPS, f"add how to look up {resource_id} to ARN_LOOKUPS"
            return _exists_unless_not_found(ARN_LOOKUPS[service], aws, resource_id)
        prefix = resource_id.split("-", 1)[0]
        assert prefix in EC2_LOOKUPS, f"add how to look up {resource_id} to EC2_LOOKUPS"
        return bool(EC2_LOOKUPS[prefix](ec2, resource_id))

    objects = get_every_object(kubectl)
    assert set(objects) == set(OBJECTS)
    assert all(got["metadata"].get("finalizers") for got in objects.values())  # deletion has something to wait for
    in_aws = {key: owned(key[0], got) for key, got in objects.items()}
    assert {key for key, ids in in_aws.items() if ids and all(exists(key[0], id_) for id_ in ids)} == {
        key for key in OBJECTS if key[0] != "AWSProvider"}  # every kind with AWS resources is checked
    dependents = [f"{resource(kind)}/{name}" for kind, name in OBJECTS if kind != "AWSProvider"]
    deleted = kubectl("delete", "--wait", "--timeout=180s", *dependents)
    assert deleted.stdout.count(" deleted") == len(dependents)
    for key, ids in in_aws.items():
        retained = sample(*key, applied).get("spec", {}).get("deletionPolicy") == "Retain"
        assert [exists(key[0], id_) for id_ in ids] == [retained] * len(ids), key
    providers = [f"{resource(k)}/{n}" for k, n in OBJECTS if k == "AWSProvider"]
    kubectl("delete", "--wait", "--timeout=60s", *providers)
    assert kubectl("get", "aws", "-o", "name").stdout == ""
