"""The observed run: what the operator is made to do so that every one of the 21 catalog metrics
has data, through the real protocols only (objects through the Kubernetes API, changes out of
band and faults through AWS's HTTP front end).

Three providers: `aws` (works), `rejected` (AWS refuses its access key) and `assumed` (assumes a
role whose credentials last 900 s, so botocore renews them on every call: rotations). On them: the
ElasticIP and network samples plus a few addresses with parts to play. Then, one step after the
other (each waits for its effect, so a fault meets the call it is meant for): a tag update;
throttled and failing describe calls that succeed on retry; drift out of band (a removed tag, a
revoked security-group rule, a released address); a deletion; a drift heal that fails once; a
deletion that fails once (in that order, so that the finalizer histogram has a series in
Prometheus before its second observation: its rate is not 0).
"""

from __future__ import annotations

import pathlib
import time

import yaml

from e2e.resources import KINDS_IN_DELETION_ORDER, Cluster

SAMPLES = pathlib.Path(__file__).resolve().parents[2] / "samples"
REJECTED_KEY = "AKIAREJECTEDBYAWS001"
ROLE = "arn:aws:iam::123456789012:role/infra-operator-live"
# What an object names is created (and Ready) before the object itself.
CREATION_ORDER = tuple(reversed(KINDS_IN_DELETION_ORDER))
# Addresses besides the samples': name -> provider.
ADDRESSES = {"released": "aws", "heal-fails": "aws", "doomed": "aws", "rotating": "assumed", "stuck": "rejected"}
WEB_RULE_80 = {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}


def sample_objects() -> list[dict]:
    """The custom objects of the ElasticIP and network samples (the provider is made here)."""
    return [document for path in (SAMPLES / "10-elasticip.yaml", SAMPLES / "20-network.yaml")
            for document in yaml.safe_load_all(path.read_text()) if document]


class ObservedRun:
    def __init__(self, cluster: Cluster):
        self.cluster = cluster
        self.faults = cluster.aws.faults
        self.ec2 = cluster.aws.client("ec2")
        self.started = time.time()
        self.ended: float | None = None
        self.retained: list[str] = []

    def drive(self) -> None:
        self.providers()
        self.apply()
        self.update_tags()
        self.transient_faults()
        self.drift()
        self.delete("released")
        self.failed_heal()
        self.failed_deletion()
        self.ended = time.time()

    @property
    def settled(self) -> float:
        """A moment two scrapes after the end: queries evaluated then see everything the run did
        (a rate over [1m] at a later moment may no longer see its deletions)."""
        return self.ended + 2

    def ident(self, kind: str, name: str, field: str = "allocationId") -> str:
        return self.cluster.get(kind, name)["status"][field]

    def providers(self) -> None:
        cluster = self.cluster
        self.faults.reject_credentials(REJECTED_KEY)
        cluster.create_provider("aws")
        cluster.create_provider("rejected", access_key=REJECTED_KEY)
        cluster.create_provider("assumed", assumeRoleARN=ROLE, assumeRoleDurationSeconds=900)
        cluster.wait_ready("AWSProvider", "aws")
        cluster.wait_ready("AWSProvider", "assumed")
        cluster.wait_condition("AWSProvider", "rejected", status="False", reason="ProviderNotReady")

    def apply(self) -> None:
        cluster = self.cluster
        objects = [(o["kind"], o["metadata"]["name"], o["spec"]) for o in sample_objects()]
        objects += [("ElasticIP", name, {"providerRef": {"name": provider}, "tags": {"team": "live"}})
                    for name, provider in ADDRESSES.items()]
        for kind in CREATION_ORDER:
            mine = [(name, spec) for each_kind, name, spec in objects if each_kind == kind]
            for name, spec in mine:
                cluster.create(kind, name, spec)
            for name, spec in mine:
                if spec["providerRef"]["name"] == "rejected":
                    cluster.wait_condition(kind, name, status="False", reason="ProviderNotReady")
                else:
                    cluster.wait_ready(kind, name)
        self.retained.append(self.ident("ElasticIP", "bastion"))

    def update_tags(self) -> None:
        self.cluster.patch("ElasticIP", "web-ingress", {"spec": {"tags": {"env": "live"}}})
        self.cluster.wait_event("web-ingress", "Updated")

    def transient_faults(self) -> None:
        """Throttled and 500-answered describes, retried by botocore until they succeed."""
        self.faults.throttle("ec2", "DescribeAddresses", times=2)
        self.faults.server_error("ec2", "DescribeSecurityGroups", times=2)
        self.cluster.kube.wait_for(lambda: (self.faults.count("throttle"), self.faults.count("server_error")),
                                   until=lambda counts: counts == (2, 2), what="throttles and 500s answered")

    def drift(self) -> None:
        cluster = self.cluster
        released = self.ident("ElasticIP", "released")
        self.ec2.delete_tags(Resources=[self.ident("ElasticIP", "web-ingress")], Tags=[{"Key": "team"}])
        self.ec2.revoke_security_group_ingress(GroupId=self.ident("SecurityGroup", "web", "groupId"),
                                               IpPermissions=[WEB_RULE_80])
        self.ec2.release_address(AllocationId=released)
        cluster.wait_event("web-ingress", "DriftHealed")
        cluster.wait_event("web", "DriftHealed")
        cluster.kube.wait_for(lambda: self.ident("ElasticIP", "released"), until=lambda now: now != released,
                              what="the released address re-created")

    def failed_heal(self) -> None:
        """The first heal's CreateTags fails all its attempts; the next resync heals."""
        self.faults.server_error("ec2", "CreateTags", times=5)
        self.ec2.delete_tags(Resources=[self.ident("ElasticIP", "heal-fails")], Tags=[{"Key": "team"}])
        self.cluster.wait_event("heal-fails", "DriftHealed")
        assert self.faults.count("server_error", operation="CreateTags") == 5

    def delete(self, name: str) -> None:
        self.cluster.delete("ElasticIP", name)
        self.cluster.wait_gone("ElasticIP", name)

    def failed_deletion(self) -> None:
        """`doomed`'s release fails all its attempts; its finalizer retries (and succeeds) later."""
        self.faults.server_error("ec2", "ReleaseAddress", times=5)
        self.cluster.delete("ElasticIP", "doomed")
        self.cluster.kube.wait_for(lambda: self.faults.count("server_error", operation="ReleaseAddress"),
                                   until=lambda count: count == 5, what="ReleaseAddress failing")

    def clean_up(self) -> None:
        """Faults off, every object deleted by the operator, the retained address released, the
        server's call log cleared (as after any test)."""
        self.faults.clear()
        self.cluster.wait_ready("AWSProvider", "rejected")
        self.cluster.delete_everything()
        for allocation in self.retained:
            self.ec2.release_address(AllocationId=allocation)
        self.cluster.aws.calls.clear()
