"""What ALB and NLB share: an Elastic Load Balancing v2 load balancer with its attributes, and
the target groups and listeners (with an ALB's rules) declared in its spec as sets. The two
kinds declare their type, protocols and own attributes; this base does the calls.

Target groups are AWS resources of their own, carrying the load balancer object's owner tags:
found by them (Resource Groups Tagging API), deleted once the load balancer is gone (`held`),
their ownership tags removed on Retain. Listeners and rules go with the load balancer. Targets
(instances, IPs) are registered by the workloads, not here."""

from __future__ import annotations

from typing import Any, ClassVar, Mapping

from ..engine.delta import (OWNER_PREFIX, OWNER_UID, ListChanges, attribute_value, frozen, list_changes,
                            reconcile_set)
from ..engine.kind import (Adoption, AWSClients, Deletion, DriftField, ErrorMatch, Identity, Kind, Raw, Reference,
                           Severity, State, TagChange, Tagging, tag_list, tag_map)
from ..engine.schema import IMMUTABLE
from ..engine.lookups import paginated, read_tagged, tagged_arns
from ..provider.errors import DeletionProtected, InProgress, TerminalError
from .ec2 import ID_PATTERN, VPC_REF

# Seconds between looks at a load balancer AWS is still provisioning (a few minutes).
PROVISIONING_DELAY = 15.0
# Load balancer and target group names: 1-32 alphanumerics and hyphens, no hyphen at either end.
NAME = "^[a-zA-Z0-9]([a-zA-Z0-9-]{0,30}[a-zA-Z0-9])?$"
TLS_PROTOCOLS = ("HTTPS", "TLS")
# The values AWS shows for a redirect's unset parts (they keep what the request had).
REDIRECT_DEFAULTS = {"protocol": "#{protocol}", "port": "#{port}", "host": "#{host}", "path": "/#{path}",
                     "query": "#{query}"}
# The field each action type takes.
ACTION_FIELDS = {"forward": "targetGroupName", "redirect": "redirect", "fixed-response": "fixedResponse"}
CONDITIONS = ("host-header", "path-pattern", "http-request-method", "source-ip")
# The AWS name of each condition's values (host-header: HostHeaderConfig.Values...).
CONDITION_CONFIGS = {"host-header": "HostHeaderConfig", "path-pattern": "PathPatternConfig",
                     "http-request-method": "HttpRequestMethodConfig", "source-ip": "SourceIpConfig"}
ACCESS_LOGS = {
    "type": "object",
    "description": "Access logs to an S3 bucket (bucketRef to an S3Bucket, or bucket); the bucket policy must let "
                   "Elastic Load Balancing write.",
    "properties": {"enabled": {"type": "boolean", "default": True},
                   "prefix": {"type": "string", "maxLength": 200, "pattern": "^([^/].*[^/]|[^/])?$",
                              "description": "A key prefix in the bucket, without slashes at either end."}},
}
HEALTH_CHECK = {
    "type": "object",
    "description": "Unset fields keep AWS's defaults for the protocol.",
    "properties": {
        "enabled": {"type": "boolean"},
        "protocol": {"type": "string", "enum": ["HTTP", "HTTPS", "TCP"]},
        "port": {"type": "string", "pattern": "^(traffic-port|[1-9][0-9]{0,4})$"},
        "path": {"type": "string", "pattern": "^/", "maxLength": 1024},
        "intervalSeconds": {"type": "integer", "minimum": 5, "maximum": 300},
        "timeoutSeconds": {"type": "integer", "minimum": 2, "maximum": 120},
        "healthyThresholdCount": {"type": "integer", "minimum": 2, "maximum": 10},
        "unhealthyThresholdCount": {"type": "integer", "minimum": 2, "maximum": 10},
        "matcher": {"type": "string", "pattern": "^[0-9]{3}([,-][0-9]{3})*$",
                    "description": "HTTP codes of a healthy answer (200, 200-299, 200,302)."},
    },
}
HEALTH_KEYS = {"enabled": "HealthCheckEnabled", "protocol": "HealthCheckProtocol", "port": "HealthCheckPort",
               "path": "HealthCheckPath", "intervalSeconds": "HealthCheckIntervalSeconds",
               "timeoutSeconds": "HealthCheckTimeoutSeconds", "healthyThresholdCount": "HealthyThresholdCount",
               "unhealthyThresholdCount": "UnhealthyThresholdCount"}
# A target group's fields AWS cannot change: a change needs a new target group (a new name).
TARGET_GROUP_IDENTITY = ("protocol", "port", "targetType", "vpcId")


def _port(value: Any) -> str:
    return str(value)


def _covers(want: Any, have: Any) -> bool:
    """A record the spec gives (unset fields None) matches AWS's: every set field is equal."""
    if isinstance(want, Mapping):
        return isinstance(have, Mapping) and all(_covers(v, have.get(k)) for k, v in want.items() if v is not None)
    return frozen(want) == frozen(have)


def same_set(want: Mapping[str, Any], have: Mapping[str, Any] | None) -> bool:
    """A keyed collection (target groups by name, listeners by port): the same keys, each item
    covering AWS's."""
    have = have or {}
    return set(want) == set(have) and all(_covers(item, have[key]) for key, item in want.items())


def _attributes(want: Mapping[str, Any], have: Mapping[str, Any] | None) -> bool:
    return _covers(want, have or {})


class LoadBalancer(Kind):
    """Base of ALB and NLB. A kind sets `lb_type`, its protocols and target types, whether its
    listeners take rules, and its own spec fields with the attributes they map to."""

    lb_type: ClassVar[str]
    listener_protocols: ClassVar[tuple[str, ...]]
    target_protocols: ClassVar[tuple[str, ...]]
    action_types: ClassVar[tuple[str, ...]]
    rules: ClassVar[bool] = False
    min_subnets: ClassVar[int] = 1
    # Spec field -> (attribute key, default): the kind's own attributes besides the shared ones.
    own_attributes: ClassVar[Mapping[str, tuple[str, Any]]] = {}
    # The kind's own spec fields and references besides the shared ones.
    own_properties: ClassVar[Mapping[str, Any]] = {}
    own_references: ClassVar[tuple[Reference, ...]] = ()

    identifier = "loadBalancerArn"
    identity = Identity(fields=("dnsName", "canonicalHostedZoneId"))
    # Tags go with CreateLoadBalancer; DescribeTags reads them (in `read`, one call with the listing).
    tagging = Tagging(at_create=True, in_description=True)
    # moto (unlike AWS) makes a second load balancer of one name, and AWS answers a create of an
    # existing name and settings with that one: the owner tag, not the name, says which is ours.
    adoption = Adoption.OWNER_TAG
    deletion = Deletion(protected=(ErrorMatch("OperationNotPermitted", "deletion protection"),))
    # A target group a listener of AWS's view still forwards to (a moment after the listener changed).
    retryable_errors = (ErrorMatch("ResourceInUse", reason="TargetGroupInUse", delay=15.0),)
    status_properties = {"vpcId": {"type": "string"},
                         "targetGroupArns": {"type": "object", "additionalProperties": {"type": "string"}},
                         "listenerArns": {"type": "object", "additionalProperties": {"type": "string"}}}
    printer_columns = (("DNS", ".status.dnsName", "string"), ("State", ".status.state", "string"))
    drift_fields = (
        DriftField("loadBalancerName", Severity.CRITICAL, updatable=False),
        DriftField("scheme", Severity.CRITICAL, updatable=False),
        DriftField("subnets", Severity.CRITICAL),
        DriftField("securityGroups", Severity.CRITICAL),
        DriftField("listeners", Severity.CRITICAL, same=same_set),
        DriftField("ipAddressType", Severity.WARNING),
        DriftField("targetGroups", Severity.WARNING, same=same_set),
        DriftField("attributes", Severity.WARNING, same=_attributes),
    )

    # -- the spec ---------------------------------------------------------------------------

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A kind's schema, references and CEL rules, from its declarations."""
        super().__init_subclass__(**kwargs)
        cls.spec_properties = cls._schema()
        cls.references = cls._references()
        cls.spec_validations = cls._validations()

    @classmethod
    def _schema(cls) -> dict[str, Any]:
        """The spec properties: the shared ones, the kind's own, target groups and listeners
        with the kind's protocols."""
        action = {
            "type": "object", "required": ["type"],
            "properties": {
                "type": {"type": "string", "enum": list(cls.action_types)},
                "targetGroupName": {"type": "string", "pattern": NAME,
                                    "description": "forward: a target group of this spec."},
                **({"redirect": {"type": "object", "required": ["statusCode"], "properties": {
                    "protocol": {"type": "string", "enum": ["HTTP", "HTTPS", "#{protocol}"]},
                    "port": {"type": "string", "pattern": r"^([1-9][0-9]{0,4}|#\{port\})$"},
                    "host": {"type": "string", "minLength": 1, "maxLength": 128},
                    "path": {"type": "string", "pattern": "^/", "maxLength": 128},
                    "query": {"type": "string", "maxLength": 128},
                    "statusCode": {"type": "string", "enum": ["HTTP_301", "HTTP_302"]}}},
                    "fixedResponse": {"type": "object", "required": ["statusCode"], "properties": {
                        "statusCode": {"type": "string", "pattern": "^[2-5][0-9][0-9]$"},
                        "contentType": {"type": "string", "enum": ["text/plain", "text/css", "text/html",
                                                                   "application/javascript", "application/json"]},
                        "messageBody": {"type": "string", "maxLength": 1024}}}} if cls.rules else {}),
            },
            "x-kubernetes-validations": [
                {"rule": f"(self.type == '{kind}') == has(self.{field})",
                 "message": f"a {kind} action takes {field}, and only such an action"}
                for kind, field in ACTION_FIELDS.items() if kind in cls.action_types],
        }
        rule = {"type": "object", "required": ["priority", "conditions", "action"], "properties": {
            "priority": {"type": "integer", "minimum": 1, "maximum": 50000},
            "conditions": {"type": "array", "minItems": 1, "maxItems": 5, "items": {
                "type": "object", "required": ["field", "values"], "properties": {
                    "field": {"type": "string", "enum": list(CONDITIONS)},
                    "values": {"type": "array", "minItems": 1, "maxItems": 5,
                               "items": {"type": "string", "minLength": 1, "maxLength": 128}}}}},
            "action": action}}
        listener = {"type": "object", "required": ["port", "protocol", "defaultAction"], "properties": {
            "port": {"type": "integer", "minimum": 1, "maximum": 65535},
            "protocol": {"type": "string", "enum": list(cls.listener_protocols)},
            "sslPolicy": {"type": "string", "minLength": 1, "maxLength": 128,
                          "description": f"{'/'.join(p for p in TLS_PROTOCOLS if p in cls.listener_protocols)} "
                                         "listeners; AWS's default policy when unset."},
            "defaultAction": action,
            **({"rules": {"type": "array", "maxItems": 100, "items": rule, "x-kubernetes-list-type": "map",
                          "x-kubernetes-list-map-keys": ["priority"],
                          "description": "Rules by priority: conditions and the action taken when all hold."}}
               if cls.rules else {}),
        }, "x-kubernetes-validations": [
            {"rule": f"(self.protocol in {list(TLS_PROTOCOLS)}) == (has(self.certificateArn) || "
                     "has(self.certificateRef))",
             "message": "a HTTPS or TLS listener needs a certificate (certificateRef or certificateArn), "
                        "and only such a listener takes one"}]}
        target_group = {"type": "object", "required": ["name", "protocol", "port"], "properties": {
            "name": {"type": "string", "pattern": NAME},
            "protocol": {"type": "string", "enum": list(cls.target_protocols)},
            "port": {"type": "integer", "minimum": 1, "maximum": 65535},
            "targetType": {"type": "string", "enum": ["instance", "ip"], "default": "instance"},
            "healthCheck": HEALTH_CHECK,
        }}
        return {
            "loadBalancerName": {"type": "string", "pattern": NAME, **IMMUTABLE,
                                 "description": "The load balancer's name; cannot change after creation."},
            "scheme": {"type": "string", "enum": ["internet-facing", "internal"], "default": "internet-facing",
                       **IMMUTABLE},
            "ipAddressType": {"type": "string", "enum": ["ipv4", "dualstack"], "default": "ipv4"},
            "enableDeletionProtection": {"type": "boolean", "default": False,
                                         "description": "While on, deleting the object waits (DeletionProtected) "
                                                        "until the spec turns it off."},
            "accessLogs": ACCESS_LOGS,
            **cls.own_properties,
            "targetGroups": {"type": "array", "maxItems": 50, "items": target_group, "x-kubernetes-list-type": "map",
                             "x-kubernetes-list-map-keys": ["name"],
                             "description": "Target groups, owned by this object (targets are registered by the "
                                            "workloads). protocol, port, targetType and VPC cannot change: rename "
                                            "the group to replace it."},
            "listeners": {"type": "array", "maxItems": 50, "items": listener, "x-kubernetes-list-type": "map",
                          "x-kubernetes-list-map-keys": ["port"],
                          "description": "Listeners by port: protocol, certificate (HTTPS/TLS), default action"
                                         + (" and rules." if cls.rules else ".")},
        }

    spec_required = ("loadBalancerName",)

    @classmethod
    def _references(cls) -> tuple[Reference, ...]:
        return (Reference("subnetRefs", "Subnet", "subnets", ID_PATTERN.format("subnet"), many=True),
                *cls.own_references,
                Reference("bucketRef", "S3Bucket", "bucket", within="accessLogs"),
                Reference("vpcRef", "VPC", "vpcId", VPC_REF.id_pattern, within="targetGroups"),
                Reference("certificateRef", "Certificate", "certificateArn",
                          r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/.+$", required=False,
                          within="listeners"))

    @classmethod
    def _validations(cls) -> tuple[dict[str, str], ...]:
        return ({"rule": "!self.loadBalancerName.startsWith('internal-')",
                 "message": "loadBalancerName must not start with internal-"},
                {"rule": f"(has(self.subnets) ? size(self.subnets) : size(self.subnetRefs)) >= {cls.min_subnets}",
                 "message": f"{cls.kind} needs at least {cls.min_subnets} subnets (in different zones)"},
                {"rule": "!has(self.listeners) || self.listeners.all(l, l.defaultAction.type != 'forward' || "
                         "(has(self.targetGroups) && self.targetGroups.exists(g, g.name == "
                         "l.defaultAction.targetGroupName)))",
                 "message": "a listener forwards to a target group this spec does not declare"})

    def validate(self, spec: Mapping[str, Any], related: Mapping[str, Mapping[str, Any]]) -> None:
        if spec["loadBalancerName"].startswith("internal-"):
            raise TerminalError("loadBalancerName must not start with internal-")
        subnets = spec.get("subnets") or spec.get("subnetRefs") or ()
        if len(subnets) < self.min_subnets:
            raise TerminalError(f"{self.kind} needs at least {self.min_subnets} subnets (in different zones)")
        groups = [group["name"] for group in spec.get("targetGroups") or ()]
        _unique(groups, "targetGroups lists the name {} twice")
        listeners = spec.get("listeners") or ()
        _unique([listener["port"] for listener in listeners], "listeners lists the port {} twice")
        for listener in listeners:
            where = f"listener {listener['port']}"
            if (listener["protocol"] in TLS_PROTOCOLS) != bool(listener.get("certificateArn")
                                                                or listener.get("certificateRef")):
                raise TerminalError(f"{where}: a HTTPS or TLS listener needs a certificate (certificateRef or "
                                    "certificateArn), and only such a listener takes one")
            _unique([rule["priority"] for rule in listener.get("rules") or ()], where + ": two rules of priority {}")
            for action in [listener["defaultAction"], *(rule["action"] for rule in listener.get("rules") or ())]:
                for kind, field in ACTION_FIELDS.items():
                    if (action["type"] == kind) != (field in action):
                        raise TerminalError(f"{where}: a {kind} action takes {field}, and only such an action")
                target = action.get("targetGroupName")
                if action["type"] == "forward" and target not in groups:
                    raise TerminalError(f"{where} forwards to the target group {target!r}, which this spec does "
                                        "not declare", reason="UnknownTargetGroup")

    def desired(self, spec: Mapping[str, Any]) -> State:
        logs = spec.get("accessLogs")
        attributes = {"deletion_protection.enabled": attribute_value(spec.get("enableDeletionProtection", False)),
                      "access_logs.s3.enabled": attribute_value(bool(logs) and logs.get("enabled", True)),
                      "access_logs.s3.bucket": logs["bucket"] if logs else None,
                      "access_logs.s3.prefix": logs.get("prefix", "") if logs else None}
        for field, (key, default) in self.own_attributes.items():
            attributes[key] = attribute_value(spec.get(field, default))
        return {
            "loadBalancerName": spec["loadBalancerName"],
            "scheme": spec.get("scheme", "internet-facing"),
            "ipAddressType": spec.get("ipAddressType", "ipv4"),
            "subnets": sorted(spec["subnets"]),
            "securityGroups": sorted(spec["securityGroups"]) if spec.get("securityGroups") else None,
            "attributes": attributes,
            "targetGroups": {group["name"]: {
                "protocol": group["protocol"], "port": group["port"], "targetType": group.get("targetType", "instance"),
                "vpcId": group["vpcId"], "healthCheck": dict(group.get("healthCheck") or {})}
                for group in spec.get("targetGroups") or ()},
            "listeners": {_port(listener["port"]): {
                "protocol": listener["protocol"], "certificateArn": listener.get("certificateArn"),
                "sslPolicy": listener.get("sslPolicy"), "defaultAction": _spec_action(listener["defaultAction"]),
                "rules": sorted(({"priority": rule["priority"],
                                  "conditions": sorted(({"field": c["field"], "values": sorted(c["values"])}
                                                        for c in rule["conditions"]), key=repr),
                                  "action": _spec_action(rule["action"])}
                                 for rule in listener.get("rules") or ()), key=lambda r: r["priority"])
                if self.rules else None}
                for listener in spec.get("listeners") or ()},
        }

    # -- what AWS shows ---------------------------------------------------------------------

    def observe(self, raw: Raw) -> State:
        lb = raw["LoadBalancer"]
        names = {group["TargetGroupArn"]: group["TargetGroupName"] for group in raw["TargetGroups"]}
        return {
            "loadBalancerName": lb["LoadBalancerName"],
            "scheme": lb["Scheme"],
            "ipAddressType": lb.get("IpAddressType"),
            "subnets": sorted(zone["SubnetId"] for zone in lb.get("AvailabilityZones") or ()),
            "securityGroups": sorted(lb.get("SecurityGroups") or ()),
            "attributes": dict(raw["Attributes"]),
            "targetGroups": {group["TargetGroupName"]: _observed_group(group) for group in raw["TargetGroups"]},
            "listeners": {_port(listener["Port"]): {
                "protocol": listener["Protocol"],
                "certificateArn": next((c["CertificateArn"] for c in listener.get("Certificates") or ()), None),
                "sslPolicy": listener.get("SslPolicy"),
                "defaultAction": _aws_action(listener["DefaultActions"], names),
                "rules": sorted(({"priority": int(rule["Priority"]),
                                  "conditions": sorted(({"field": c["Field"], "values": sorted(_values(c))}
                                                        for c in rule["Conditions"]), key=repr),
                                  "action": _aws_action(rule["Actions"], names)}
                                 for rule in listener.get("Rules") or () if not rule.get("IsDefault")),
                                key=lambda r: r["priority"])}
                for listener in raw["Listeners"]},
            "tags": tag_map(raw.get("Tags")),
        }

    def identify(self, raw: Raw) -> str:
        return raw["LoadBalancer"]["LoadBalancerArn"]

    def identities(self, raw: Raw) -> State:
        lb = raw["LoadBalancer"]
        return {"dnsName": lb["DNSName"], "canonicalHostedZoneId": lb["CanonicalHostedZoneId"]}

    def status(self, raw: Raw) -> State:
        lb = raw["LoadBalancer"]
        return {"state": lb["State"]["Code"], "vpcId": lb.get("VpcId"),
                "targetGroupArns": {g["TargetGroupName"]: g["TargetGroupArn"] for g in raw.get("TargetGroups") or ()},
                "listenerArns": {_port(each["Port"]): each["ListenerArn"] for each in raw.get("Listeners") or ()}}

    def available(self, raw: Raw) -> bool:
        state = raw["LoadBalancer"]["State"]
        if state["Code"] == "provisioning":
            raise InProgress(f"AWS is provisioning {self.kind} {raw['LoadBalancer']['LoadBalancerName']}",
                             delay=PROVISIONING_DELAY)
        if state["Code"] == "failed":
            raise TerminalError(f"AWS failed to provision the load balancer: {state.get('Reason', 'no reason')}",
                                reason="ProvisioningFailed")
        return True

    def read(self, aws: AWSClients, arn: str) -> Raw | None:
        elbv2 = aws.client("elbv2")
        found = self.absent_if_missing(elbv2.describe_load_balancers, LoadBalancerArns=[arn])
        if not found or not found["LoadBalancers"]:
            return None
        tags = elbv2.describe_tags(ResourceArns=[arn])["TagDescriptions"][0]["Tags"]
        listeners = list(paginated(elbv2, "describe_listeners", "Listeners", LoadBalancerArn=arn))
        if self.rules:
            for listener in listeners:
                listener["Rules"] = elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]
        attributes = elbv2.describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"]
        return {"LoadBalancer": found["LoadBalancers"][0], "Tags": tags, "Listeners": listeners,
                "Attributes": {a["Key"]: a["Value"] for a in attributes},
                "TargetGroups": self._owned_groups(aws, tag_map(tags).get(OWNER_UID) or _attached_owner(elbv2, arn))}

    def _owned_groups(self, aws: AWSClients, owner_uid: str | None) -> list[dict[str, Any]]:
        """The target groups carrying the object's owner tag (none known without it)."""
        arns = tagged_arns(aws, ["elasticloadbalancing:targetgroup"], (OWNER_UID, owner_uid)) if owner_uid else []
        if not arns:
            return []
        describe = aws.client("elbv2").describe_target_groups
        found = self.absent_if_missing(describe, TargetGroupArns=arns)
        if found is None:  # the tagging API still lists one just deleted: the others, one by one
            found = {"TargetGroups": [group for arn in arns for group in
                                      (self.absent_if_missing(describe, TargetGroupArns=[arn]) or {}).get(
                                          "TargetGroups", ())]}
        return list(found["TargetGroups"])

    def find_all_owned(self, aws: AWSClients, owner_uid_tag: tuple[str, str]) -> list[Raw]:
        return read_tagged(aws, self.read, ["elasticloadbalancing:loadbalancer"], owner_uid_tag)

    def held(self, aws: AWSClients, owner_uid_tag: tuple[str, str]) -> list[str]:
        return tagged_arns(aws, ["elasticloadbalancing:targetgroup"], owner_uid_tag)

    def release_held(self, aws: AWSClients, ident: str) -> None:
        aws.client("elbv2").delete_target_group(TargetGroupArn=ident)

    # -- changes ----------------------------------------------------------------------------

    def create(self, aws: AWSClients, desired: State, tags: Mapping[str, str], token: str) -> Raw:
        """The load balancer alone: its attributes, target groups and listeners follow as the
        update the engine makes of what the new one lacks."""
        elbv2 = aws.client("elbv2")
        name = desired["loadBalancerName"]
        existing = self.absent_if_missing(elbv2.describe_load_balancers, Names=[name])
        if existing and existing["LoadBalancers"]:
            lb = existing["LoadBalancers"][0]
            held = tag_map(elbv2.describe_tags(ResourceArns=[lb["LoadBalancerArn"]])["TagDescriptions"][0]["Tags"])
            if held.get(OWNER_UID) != tags.get(OWNER_UID):
                raise TerminalError(f"a load balancer named {name} exists and is not this object's: choose "
                                    "another loadBalancerName", reason="NameTaken")
            return {"LoadBalancer": lb}
        params: dict[str, Any] = {"Name": name, "Subnets": desired["subnets"], "Scheme": desired["scheme"],
                                  "Type": self.lb_type, "IpAddressType": desired["ipAddressType"],
                                  "Tags": tag_list(tags)}
        if desired["securityGroups"]:
            params["SecurityGroups"] = desired["securityGroups"]
        return {"LoadBalancer": elbv2.create_load_balancer(**params)["LoadBalancers"][0]}

    def update(self, aws: AWSClients, arn: str, desired: State, raw: Raw, changed: frozenset[str]) -> None:
        elbv2 = aws.client("elbv2")
        if "subnets" in changed:
            elbv2.set_subnets(LoadBalancerArn=arn, Subnets=desired["subnets"])
        if "securityGroups" in changed:
            elbv2.set_security_groups(LoadBalancerArn=arn, SecurityGroups=desired["securityGroups"])
        if "ipAddressType" in changed:
            elbv2.set_ip_address_type(LoadBalancerArn=arn, IpAddressType=desired["ipAddressType"])
        if "attributes" in changed:
            elbv2.modify_load_balancer_attributes(LoadBalancerArn=arn, Attributes=[
                {"Key": key, "Value": value} for key, value in desired["attributes"].items() if value is not None])
        if {"targetGroups", "listeners"} & changed:
            self._apply_sets(elbv2, arn, desired, raw)

    def _apply_sets(self, elbv2: Any, arn: str, desired: State, raw: Raw) -> None:
        """New and changed target groups first, then the listeners and their rules, then the
        target groups no listener needs any more."""
        observed = self.observe(raw)
        arns = {group["TargetGroupName"]: group["TargetGroupArn"] for group in raw["TargetGroups"]}
        owner = [{"Key": k, "Value": v} for k, v in tag_map(raw.get("Tags")).items() if k.startswith(OWNER_PREFIX)]
        groups = _keyed_changes(desired["targetGroups"], observed["targetGroups"])
        for name, want in groups.added:
            made = elbv2.create_target_group(Name=name, **_group_params(want), **({"Tags": owner} if owner else {}))
            arns[name] = made["TargetGroups"][0]["TargetGroupArn"]
        for (name, have), (_, want) in groups.replaced:
            fixed = [field for field in TARGET_GROUP_IDENTITY if have[field] != want[field]]
            if fixed:
                raise TerminalError(f"target group {name}: {', '.join(fixed)} cannot change in place; give it a new "
                                    "name to replace it", reason="ReplacementRequired")
            if not _covers(want["healthCheck"], have["healthCheck"]):
                elbv2.modify_target_group(TargetGroupArn=arns[name], **_health_params(want["healthCheck"]))
        listeners = _keyed_changes(desired["listeners"], observed["listeners"])
        current = {_port(listener["Port"]): listener for listener in raw["Listeners"]}
        for port, _ in listeners.removed:
            elbv2.delete_listener(ListenerArn=current[port]["ListenerArn"])
        for port, want in listeners.added:
            made = elbv2.create_listener(LoadBalancerArn=arn, Port=int(port), **_listener_params(want, arns))
            if want["rules"]:
                self._apply_rules(elbv2, made["Listeners"][0]["ListenerArn"], want["rules"], [], {}, arns)
        for (port, have), (_, want) in listeners.replaced:
            listener = current[port]
            if not _covers({**want, "rules": None}, {**have, "rules": None}):
                elbv2.modify_listener(ListenerArn=listener["ListenerArn"], Port=int(port),
                                      **_listener_params(want, arns))
            if want["rules"] is not None and frozen(want["rules"]) != frozen(have["rules"]):
                by_priority = {int(r["Priority"]): r["RuleArn"] for r in listener.get("Rules") or ()
                               if not r.get("IsDefault")}
                self._apply_rules(elbv2, listener["ListenerArn"], want["rules"], have["rules"], by_priority, arns)
        for name, _ in groups.removed:
            elbv2.delete_target_group(TargetGroupArn=arns[name])

    @staticmethod
    def _apply_rules(elbv2: Any, listener: str, want: list[dict], have: list[dict], rule_arns: Mapping[int, str],
                     groups: Mapping[str, str]) -> None:
        reconcile_set(
            want, have, key=lambda rule: rule["priority"],
            remove=lambda rule: elbv2.delete_rule(RuleArn=rule_arns[rule["priority"]]),
            add=lambda rule: elbv2.create_rule(ListenerArn=listener, Priority=rule["priority"],
                                               **_rule_params(rule, groups)),
            change=lambda old, new: elbv2.modify_rule(RuleArn=rule_arns[old["priority"]], **_rule_params(new, groups)))

    def set_tags(self, aws: AWSClients, ident: str, change: TagChange) -> None:
        elbv2 = aws.client("elbv2")
        change.apply(lambda tags: elbv2.add_tags(ResourceArns=[ident], Tags=tags),
                     lambda keys: elbv2.remove_tags(ResourceArns=[ident], TagKeys=keys))

    def delete(self, aws: AWSClients, ident: str, raw: Raw, spec: Mapping[str, Any]) -> None:
        """AWS's deletion protection holds while the spec keeps it on (DeletionProtected, looked
        at again later); a spec that turned it off turns it off in AWS first."""
        elbv2 = aws.client("elbv2")
        if raw["Attributes"].get("deletion_protection.enabled") == "true":
            if spec.get("enableDeletionProtection", False):
                raise DeletionProtected(f"{self.kind} {raw['LoadBalancer']['LoadBalancerName']} has deletion "
                                        "protection on: set spec.enableDeletionProtection to false to delete it")
            elbv2.modify_load_balancer_attributes(
                LoadBalancerArn=ident, Attributes=[{"Key": "deletion_protection.enabled", "Value": "false"}])
        elbv2.delete_load_balancer(LoadBalancerArn=ident)


def _attached_owner(elbv2: Any, arn: str) -> str | None:
    """The owner uid on the target groups the load balancer forwards to: the object's, when the
    load balancer itself lost its tags out of band (healed by the same run)."""
    attached = [group["TargetGroupArn"] for group in paginated(
        elbv2, "describe_target_groups", "TargetGroups", LoadBalancerArn=arn)][:20]  # DescribeTags takes 20 ARNs
    described = elbv2.describe_tags(ResourceArns=attached)["TagDescriptions"] if attached else []
    return next((tag_map(each["Tags"])[OWNER_UID] for each in described if OWNER_UID in tag_map(each["Tags"])), None)


def _keyed_changes(want: Mapping[str, Any], have: Mapping[str, Any]) -> ListChanges:
    """A keyed collection's changes, as (key, item) pairs; an item covering AWS's is unchanged."""
    return list_changes(list(want.items()), list(have.items()), key=lambda pair: pair[0],
                        same=lambda wanted, present: _covers(wanted[1], present[1]))


def _unique(values: list[Any], message: str) -> None:
    seen: set[Any] = set()
    for value in values:
        if value in seen:
            raise TerminalError(message.format(value), reason="DuplicateEntry")
        seen.add(value)


def _spec_action(action: Mapping[str, Any]) -> dict[str, Any]:
    """A spec action in the form `_aws_action` gives (a redirect's unset parts as AWS shows them)."""
    if action["type"] == "forward":
        return {"type": "forward", "targetGroupName": action["targetGroupName"]}
    if action["type"] == "redirect":
        redirect = action["redirect"]
        return {"type": "redirect", "redirect": {**REDIRECT_DEFAULTS, **redirect}}
    return {"type": "fixed-response", "fixedResponse": dict(action["fixedResponse"])}


def _aws_action(actions: list[Mapping[str, Any]], names: Mapping[str, str]) -> dict[str, Any] | None:
    """The action AWS shows (one per listener or rule here), target groups by our name."""
    action = actions[0] if actions else None
    if action is None:
        return None
    if action["Type"] == "forward":
        arn = action.get("TargetGroupArn") or action["ForwardConfig"]["TargetGroups"][0]["TargetGroupArn"]
        return {"type": "forward", "targetGroupName": names.get(arn, arn)}
    if action["Type"] == "redirect":
        config = action["RedirectConfig"]
        return {"type": "redirect", "redirect": {
            **{key: config.get(key[0].upper() + key[1:], default) for key, default in REDIRECT_DEFAULTS.items()},
            "statusCode": config["StatusCode"]}}
    if action["Type"] == "fixed-response":
        config = action["FixedResponseConfig"]
        return {"type": "fixed-response", "fixedResponse": {
            "statusCode": config["StatusCode"], "contentType": config.get("ContentType"),
            "messageBody": config.get("MessageBody")}}
    return {"type": action["Type"]}


def _action_params(action: Mapping[str, Any], groups: Mapping[str, str]) -> list[dict[str, Any]]:
    if action["type"] == "forward":
        return [{"Type": "forward", "TargetGroupArn": groups[action["targetGroupName"]]}]
    if action["type"] == "redirect":
        return [{"Type": "redirect", "RedirectConfig": {
            key[0].upper() + key[1:]: value for key, value in action["redirect"].items()}}]
    return [{"Type": "fixed-response", "FixedResponseConfig": {
        key[0].upper() + key[1:]: value for key, value in action["fixedResponse"].items() if value is not None}}]


def _listener_params(listener: Mapping[str, Any], groups: Mapping[str, str]) -> dict[str, Any]:
    params: dict[str, Any] = {"Protocol": listener["protocol"],
                              "DefaultActions": _action_params(listener["defaultAction"], groups)}
    if listener["certificateArn"]:
        params["Certificates"] = [{"CertificateArn": listener["certificateArn"]}]
    if listener["sslPolicy"]:
        params["SslPolicy"] = listener["sslPolicy"]
    return params


def _rule_params(rule: Mapping[str, Any], groups: Mapping[str, str]) -> dict[str, Any]:
    return {"Conditions": [{"Field": c["field"], CONDITION_CONFIGS[c["field"]]: {"Values": c["values"]}}
                           for c in rule["conditions"]],
            "Actions": _action_params(rule["action"], groups)}


def _values(condition: Mapping[str, Any]) -> list[str]:
    config = condition.get(CONDITION_CONFIGS.get(condition["Field"], ""))
    return list(config["Values"] if config else condition.get("Values") or ())


def _observed_group(group: Mapping[str, Any]) -> dict[str, Any]:
    health = {key: group.get(aws_key) for key, aws_key in HEALTH_KEYS.items()}
    health["matcher"] = (group.get("Matcher") or {}).get("HttpCode")
    return {"protocol": group["Protocol"], "port": group["Port"], "targetType": group["TargetType"],
            "vpcId": group["VpcId"], "healthCheck": health}


def _health_params(health: Mapping[str, Any]) -> dict[str, Any]:
    params = {HEALTH_KEYS[key]: value for key, value in health.items() if key in HEALTH_KEYS}
    if health.get("matcher"):
        params["Matcher"] = {"HttpCode": health["matcher"]}
    return params


def _group_params(group: Mapping[str, Any]) -> dict[str, Any]:
    return {"Protocol": group["protocol"], "Port": group["port"], "TargetType": group["targetType"],
            "VpcId": group["vpcId"], **_health_params(group["healthCheck"])}

