"""Out-of-band changes to the sample resources (`--drift`), made with boto3 directly against the
embedded AWS endpoint, as someone with console access would: the operator's next resync finds
them as drift and heals them."""

from __future__ import annotations

import collections
import itertools
from collections.abc import Callable
from typing import Any

from ..operator.engine.schema import GROUP, VERSION
from .kube import KubeClient

API_VERSION = f"{GROUP}/{VERSION}"
# The samples' objects that are changed behind the operator's back (see samples/).
VPC, SECURITY_GROUP, ADDRESS = ("VPC", "main"), ("SecurityGroup", "web"), ("ElasticIP", "web-ingress")


class DriftInjector:
    """Each `inject()` makes the next change of a fixed rotation: retag the VPC (info drift),
    open SSH on the security group (critical), release the Elastic IP (critical: it is gone)."""

    def __init__(self, ec2: Any, kube: KubeClient, namespace: str = "default") -> None:
        self._ec2 = ec2
        self._kube = kube
        self._namespace = namespace
        self._round = 0
        self._changes: itertools.cycle[tuple[str, Callable[[], str]]] = itertools.cycle((
            ("tags", self._retag_vpc),
            ("security-group rule", self._open_ssh),
            ("address released", self._release_address),
        ))
        self.injected: collections.Counter[str] = collections.Counter()

    def inject(self) -> str:
        """Make the next change; returns what was done (one line)."""
        kind, change = next(self._changes)
        self._round += 1
        done = change()
        self.injected[kind] += 1
        return done

    def _status(self, target: tuple[str, str], field: str) -> str:
        kind, name = target
        return self._kube.get(API_VERSION, kind, self._namespace, name)["status"][field]

    def _retag_vpc(self) -> str:
        vpc_id = self._status(VPC, "vpcId")
        self._ec2.create_tags(Resources=[vpc_id], Tags=[{"Key": "team", "Value": f"someone-else-{self._round}"}])
        return f"retagged {vpc_id} (VPC {VPC[1]}): team=someone-else-{self._round}"

    def _open_ssh(self) -> str:
        group_id = self._status(SECURITY_GROUP, "groupId")
        self._ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=[{
            "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
        return f"opened tcp/22 from 0.0.0.0/0 on {group_id} (SecurityGroup {SECURITY_GROUP[1]})"

    def _release_address(self) -> str:
        allocation_id = self._status(ADDRESS, "allocationId")
        self._ec2.release_address(AllocationId=allocation_id)
        return f"released {allocation_id} (ElasticIP {ADDRESS[1]})"
