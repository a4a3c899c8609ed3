"""SecurityGroup: a VPC security group whose ingress and egress rules are reconciled as sets:
each rule is split into one entry per source, so order and grouping in the spec do not matter."""

from __future__ import annotations

from typing import Any, Mapping

from ..engine.delta import list_changes
from ..engine.kind import AWSClients, DriftField, ErrorMatch, Raw, Severity, State
from ..provider.errors import TerminalError
from ..services.ec2 import (CIDR_PATTERN, ID_PATTERN, IPV6_CIDR_PATTERN, VPC_REF, EC2Kind, EC2Resource,
                   network_problem)

PROTOCOLS = {"tcp": "tcp", "6": "tcp", "udp": "udp", "17": "udp", "icmp": "icmp", "1": "icmp",
             "icmpv6": "icmpv6", "58": "icmpv6", "all": "-1", "-1": "-1"}
# Rule source kinds: spec list field, AWS permission list, AWS item key.
SOURCES = (("cidrBlocks", "IpRanges", "CidrIp"), ("ipv6CidrBlocks", "Ipv6Ranges", "CidrIpv6"),
           ("securityGroupIds", "UserIdGroupPairs", "GroupId"), ("prefixListIds", "PrefixListIds", "PrefixListId"))
RULES = ("ingress", "egress")


def _list(item: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": "array", "maxItems": 60, "items": item}


RULE = {
    "type": "object",
    "required": ["protocol"],
    "properties": {
        "protocol": {"type": "string", "pattern": "^(tcp|udp|icmp|icmpv6|all|-1|[0-9]{1,3})$",
                     "description": "tcp, udp, icmp, icmpv6, all, or an IP protocol number."},
        "fromPort": {"type": "integer", "minimum": -1, "maximum": 65535,
                     "description": "First port (ICMP: type); required unless protocol is all."},
        "toPort": {"type": "integer", "minimum": -1, "maximum": 65535,
                   "description": "Last port (ICMP: code); defaults to fromPort."},
        "cidrBlocks": _list({"type": "string", "pattern": CIDR_PATTERN}),
        "ipv6CidrBlocks": _list({"type": "string", "pattern": IPV6_CIDR_PATTERN}),
        "securityGroupIds": _list({"type": "string", "pattern": ID_PATTERN.format("sg")}),
        "prefixListIds": _list({"type": "string", "pattern": ID_PATTERN.format("pl")}),
        "description": {"type": "string", "maxLength": 255},
    },
    "x-kubernetes-validations": [
        {"rule": "self.protocol in ['all', '-1'] || has(self.fromPort)", "message": "fromPort is required"},
        {"rule": "has(self.cidrBlocks) || has(self.ipv6CidrBlocks) || has(self.securityGroupIds) "
                 "|| has(self.prefixListIds)", "message": "a rule needs at least one source or destination"},
    ],
}


def _rule_problem(rule: Mapping[str, Any]) -> str | None:
    """What AWS would refuse in a rule that passed the schema (which cannot compare fields or
    judge numbers inside patterns); None when nothing."""
    protocol = _protocol(rule["protocol"])
    if protocol.isdigit() and int(protocol) > 255:
        return f"protocol {protocol} is not an IP protocol number (0 to 255)"
    if protocol != "-1" and rule.get("fromPort") is None:
        return f"fromPort is required for protocol {rule['protocol']}"
    if protocol in ("tcp", "udp") and rule.get("toPort") is not None and rule["toPort"] < rule["fromPort"]:
        return f"the port range {rule['fromPort']}-{rule['toPort']} ends before it starts"
    if not any(rule.get(field) for field, _, _ in SOURCES):
        return "a rule needs at least one source or destination"
    return next(filter(None, (network_problem(cidr) for field in ("cidrBlocks", "ipv6CidrBlocks")
                              for cidr in rule.get(field) or ())), None)


def _protocol(value: Any) -> str:
    return PROTOCOLS.get(str(value).lower(), str(value))


def _entries(protocol: Any, from_port: int | None, to_port: int | None,
             sources: list[tuple[str, str]], description: Any = None) -> list[dict[str, Any]]:
    """One comparable entry per (protocol, ports, source)."""
    protocol = _protocol(protocol)
    ports = (None, None) if protocol == "-1" else (from_port, from_port if to_port is None else to_port)
    return [{"protocol": protocol, "fromPort": ports[0], "toPort": ports[1], "source": kind,
             "target": target, "description": description} for kind, target in sources]


def spec_entries(rules: list[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    return [entry for rule in rules or () for entry in _entries(
        rule["protocol"], rule.get("fromPort"), rule.get("toPort"),
        [(field, target) for field, _, _ in SOURCES for target in rule.get(field) or ()], rule.get("description"))]


def aws_entries(permissions: list[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    entries = []
    for permission in permissions or ():
        for field, aws_list, aws_key in SOURCES:
            for item in permission.get(aws_list) or ():
                entries += _entries(permission["IpProtocol"], permission.get("FromPort"), permission.get("ToPort"),
                                    [(field, item[aws_key])], item.get("Description"))
    return entries


def permission(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The IpPermissions item of one entry."""
    aws_list, aws_key = next((l, k) for f, l, k in SOURCES if f == entry["source"])
    item = {aws_key: entry["target"], **({"Description": entry["description"]} if entry.get("description") else {})}
    ports = {} if entry["fromPort"] is None else {"FromPort": entry["fromPort"], "ToPort": entry["toPort"]}
    return {"IpProtocol": entry["protocol"], **ports, aws_list: [item]}


class SecurityGroup(EC2Kind):
    kind = "SecurityGroup"
    plural = "securitygroups"
    short_names = ("sg",)
    description = "A VPC security group with its ingress and egress rules (unlisted rules are removed)."
    identifier = "groupId"
    references = (VPC_REF,)
    spec_properties = {
        "groupName": {"type": "string", "minLength": 1, "maxLength": 255,
                      "pattern": r"^[a-zA-Z0-9 ._:/()#,@\[\]+=&;{}!$*-]+$",
                      "description": "Group name, unique in the VPC; cannot change after creation."},
        "description": {"type": "string", "minLength": 1, "maxLength": 255, "default": "Managed by infra-operator",
                        "description": "Group description; cannot change after creation."},
        "ingress": {**_list(RULE), "description": "Inbound rules; an empty or missing list allows nothing in."},
        "egress": {**_list(RULE), "description": "Outbound rules; an empty or missing list allows nothing out "
                                                 "(AWS's default allow-all rule is removed unless listed)."},
    }
    spec_required = ("groupName",)
    printer_columns = (("VPC", ".status.vpcId", "string"),)
    drift_fields = (
        DriftField("vpcId", Severity.CRITICAL, updatable=False),
        DriftField("groupName", Severity.CRITICAL, updatable=False),
        DriftField("description", Severity.INFO, updatable=False),
        DriftField("ingress", Severity.CRITICAL),
        DriftField("egress", Severity.CRITICAL),
    )
    # A rule already there: a retried call (its first answer lost to a timeout) went through
    # already; the next run reads it and finds nothing to add.
    retryable_errors = (ErrorMatch("InvalidPermission.Duplicate"),)
    resource = EC2Resource("describe_security_groups", "SecurityGroups", "GroupIds", "GroupId", "security-group")

    def validate(self, spec: Mapping[str, Any], related: Mapping[str, Mapping[str, Any]]) -> None:
        for direction in RULES:
            for index, rule in enumerate(spec.get(direction) or ()):
                problem = _rule_problem(rule)
                if problem:
                    raise TerminalError(f"spec.{direction}[{index}]: {problem}", reason="InvalidRule")

    def desired(self, spec: Mapping[str, Any]) -> State:
        return {"vpcId": spec["vpcId"], "groupName": spec["groupName"],
                "description": spec.get("description", "Managed by infra-operator"),
                **{direction: spec_entries(spec.get(direction)) for direction in RULES}}

    def observe(self, raw: Raw) -> State:
        return {"vpcId": raw.get("VpcId"), "groupName": raw.get("GroupName"), "description": raw.get("Description"),
                "ingress": aws_entries(raw.get("IpPermissions")), "egress": aws_entries(raw.get("IpPermissionsEgress")),
                "tags": self.observed_tags(raw)}

    def status(self, raw: Raw) -> State:
        return {"vpcId": raw.get("VpcId")}

    def create(self, aws: AWSClients, desired: State, tags: Mapping[str, str], token: str) -> Raw:
        return aws.client("ec2").create_security_group(
            GroupName=desired["groupName"], Description=desired["description"], VpcId=desired["vpcId"],
            TagSpecifications=self.tag_specifications(tags))

    def update(self, aws: AWSClients, ident: str, desired: State, raw: Raw, changed: frozenset[str]) -> None:
        ec2 = aws.client("ec2")
        observed = self.observe(raw)
        for direction in RULES:
            if direction not in changed:
                continue
            # Matched on everything, the description included: a changed rule is revoked, then re-added.
            changes = list_changes(desired[direction], observed[direction])
            if changes.removed:
                getattr(ec2, f"revoke_security_group_{direction}")(
                    GroupId=ident, IpPermissions=[permission(e) for e in changes.removed])
            if changes.added:
                getattr(ec2, f"authorize_security_group_{direction}")(
                    GroupId=ident, IpPermissions=[permission(e) for e in changes.added])

    def delete(self, aws: AWSClients, ident: str, raw: Raw, spec: Mapping[str, Any]) -> None:
        aws.client("ec2").delete_security_group(GroupId=ident)
