"""EC2Instance: one EC2 instance in a subnet of ours, with its security groups, key pair, instance
profile, user data, EBS volumes, metadata options (IMDSv2 required by default), monitoring and
termination protection. Instance type and user data change only while the instance is stopped:
with `allowRestart: true` the kind stops it, changes them and starts it again, answering "in
progress" while AWS stops and starts it; without, Ready=False reason RestartRequired."""

from __future__ import annotations

import base64
import binascii
from typing import Any, Mapping

from ..engine.kind import AWSClients, Deletion, DriftField, ErrorMatch, Raw, Reference, Severity, State
from ..engine.schema import IMMUTABLE
from ..provider.errors import InProgress, TerminalError
from ._ec2 import ID_PATTERN, SUBNET_REF, EC2Kind, EC2Resource

RESTART_FIELDS = ("instanceType", "userData")
VOLUME_TYPES = ["gp2", "gp3", "io1", "io2", "st1", "sc1", "standard"]
# Instance states as the spec's `state` drift field sees them: one starting counts as running.
STATES = {"pending": "running", "running": "running", "stopping": "stopped", "stopped": "stopped"}
ROOT = "root"  # the device name of the root volume in the comparable state (the AMI decides the real one)
STEP_DELAY = 10.0  # seconds between looks while AWS stops or starts an instance

VOLUME = {
    "sizeGiB": {"type": "integer", "minimum": 1, "maximum": 65536, "description": "Size in GiB (grows in place)."},
    "volumeType": {"type": "string", "enum": VOLUME_TYPES, "description": "EBS volume type (changes in place)."},
    "iops": {"type": "integer", "minimum": 100, "maximum": 256000, "description": "Provisioned IOPS (io1, io2, gp3)."},
    "throughput": {"type": "integer", "minimum": 125, "maximum": 2000, "description": "Throughput in MiB/s (gp3)."},
    "encrypted": {"type": "boolean", "description": "Encrypt with the account's default EBS key; cannot change."},
    # No schema default: a default inside a list-type map's items makes the stored list differ
    # from the applied one (a server-side apply conflict with the client-side manager).
    "deleteOnTermination": {"type": "boolean",
                            "description": "Delete the volume when the instance is terminated (default true)."},
}
VOLUME_RULES = [
    {"rule": "!has(self.iops) || (has(self.volumeType) && self.volumeType in ['io1', 'io2', 'gp3'])",
     "message": "iops needs volumeType io1, io2 or gp3"},
    {"rule": "!has(self.throughput) || (has(self.volumeType) && self.volumeType == 'gp3')",
     "message": "throughput needs volumeType gp3"},
]
METADATA = {
    "type": "object",
    "description": "Instance metadata service options; IMDSv2 (httpTokens: required) by default.",
    "properties": {
        "httpTokens": {"type": "string", "enum": ["required", "optional"], "default": "required"},
        "httpEndpoint": {"type": "string", "enum": ["enabled", "disabled"], "default": "enabled"},
        "httpPutResponseHopLimit": {"type": "integer", "minimum": 1, "maximum": 64, "default": 2},
        "instanceMetadataTags": {"type": "string", "enum": ["enabled", "disabled"], "default": "disabled"},
    },
}
METADATA_DEFAULTS = {name: schema["default"] for name, schema in METADATA["properties"].items()}
METADATA_PARAMS = {"httpTokens": "HttpTokens", "httpEndpoint": "HttpEndpoint",
                   "httpPutResponseHopLimit": "HttpPutResponseHopLimit", "instanceMetadataTags": "InstanceMetadataTags"}


def _volumes_match(desired: list[Mapping[str, Any]], observed: list[Mapping[str, Any]] | None) -> bool:
    """The spec's volumes, each with the values it sets, and no other volume than the root one."""
    have = {volume["device"]: volume for volume in observed or ()}
    if {device for device in have if device != ROOT} - {volume["device"] for volume in desired}:
        return False
    return all(volume["device"] in have and all(value is None or have[volume["device"]].get(key) == value
                                                  for key, value in volume.items()) for volume in desired)


def _profile_match(desired: str, observed: str | None) -> bool:
    """An instance profile named by ARN, or by name (AWS shows the ARN)."""
    return observed is not None and (desired == observed or observed.rsplit("/", 1)[-1] == desired)


def _user_data(encoded: str | None) -> str | None:
    if not encoded:
        return None
    try:
        return base64.b64decode(encoded).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return encoded


class EC2Instance(EC2Kind):
    kind = "EC2Instance"
    plural = "ec2instances"
    short_names = ("ec2",)
    description = ("An EC2 instance. Instance type and user data change only while it is stopped: allowRestart "
                   "lets the operator stop and start it for that. deletionPolicy Stop stops it and keeps it.")
    identifier = "instanceId"
    references = (
        SUBNET_REF,
        Reference("securityGroupRef", "SecurityGroup", "groupId", ID_PATTERN.format("sg"), within="securityGroups"),
        Reference("keyPairRef", "EC2KeyPair", "keyName", required=False, status_field="keyName"),
    )
    spec_properties = {
        "imageId": {"type": "string", "pattern": ID_PATTERN.format("ami"),
                    "description": "The AMI to launch; cannot change.", **IMMUTABLE},
        "instanceType": {"type": "string", "pattern": r"^[a-z][a-z0-9-]*\.[a-z0-9-]+$",
                         "description": "Instance type (e.g. t3.micro); a change stops and starts the instance "
                                        "(allowRestart)."},
        "securityGroups": {"type": "array", "maxItems": 16, "items": {"type": "object"},
                           "description": "Security groups (securityGroupRef or groupId); the subnet's VPC default "
                                          "group when unset."},
        "iamInstanceProfile": {"type": "string", "minLength": 1, "maxLength": 2048,
                               "pattern": r"^(arn:aws[a-z-]*:iam::[0-9]{12}:instance-profile/\S+|[\w+=,.@-]{1,128})$",
                               "description": "Instance profile name or ARN (changes in place)."},
        "userData": {"type": "string", "maxLength": 16384,
                     "description": "User data as plain text (the operator base64-encodes it); a change stops and "
                                    "starts the instance (allowRestart)."},
        "rootVolume": {"type": "object", "properties": VOLUME, "x-kubernetes-validations": VOLUME_RULES,
                       "description": "The root EBS volume."},
        "volumes": {"type": "array", "maxItems": 24, "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["deviceName"],
                    "items": {"type": "object", "required": ["deviceName", "sizeGiB"],
                              "properties": {"deviceName": {"type": "string", "pattern": r"^/dev/(sd|xvd)[b-z]$"},
                                             **VOLUME},
                              "x-kubernetes-validations": VOLUME_RULES},
                    "description": "More EBS volumes, by device name; size, type, IOPS and throughput change in "
                                   "place, adding or removing one needs a new instance."},
        "metadataOptions": METADATA,
        "monitoring": {"type": "boolean", "default": False, "description": "Detailed (1-minute) CloudWatch monitoring."},
        "terminationProtection": {"type": "boolean", "default": False,
                                  "description": "AWS refuses to terminate the instance while set (deletion waits, "
                                                 "DeletionProtected)."},
        "allowRestart": {"type": "boolean", "default": False,
                         "description": "Let the operator stop and start the instance to change its type or user "
                                        "data; without it such a change is Ready=False reason RestartRequired."},
    }
    spec_required = ("imageId", "instanceType")
    deletion = Deletion(policies=("Stop",), keeping=("Stop",),
                        protected=(ErrorMatch("OperationNotPermitted"),))
    status_properties = {"privateDnsName": {"type": "string"}, "publicDnsName": {"type": "string"},
                         "availabilityZone": {"type": "string"}, "launchTime": {"type": "string"}}
    printer_columns = (("State", ".status.state", "string"), ("Type", ".status.instanceType", "string"),
                       ("Private IP", ".status.privateIp", "string"), ("Public IP", ".status.publicIp", "string"))
    drift_fields = (
        DriftField("imageId", Severity.CRITICAL, updatable=False),
        DriftField("subnetId", Severity.CRITICAL, updatable=False),
        DriftField("keyName", Severity.CRITICAL, updatable=False),
        DriftField("state", Severity.CRITICAL),
        DriftField("securityGroupIds", Severity.CRITICAL),
        DriftField("iamInstanceProfile", Severity.CRITICAL, same=_profile_match),
        DriftField("metadataOptions", Severity.CRITICAL),
        DriftField("instanceType", Severity.WARNING),
        DriftField("userData", Severity.WARNING),
        DriftField("volumeLayout", Severity.WARNING, updatable=False, same=_volumes_match),
        DriftField("volumes", Severity.WARNING, same=_volumes_match),
        DriftField("monitoring", Severity.WARNING),
        DriftField("terminationProtection", Severity.WARNING),
    )
    resource = EC2Resource("describe_instances", "Reservations", "InstanceIds", "InstanceId", "instance")

    def validate(self, spec: Mapping[str, Any], related: Mapping[str, Mapping[str, Any]]) -> None:
        named = [("rootVolume", spec["rootVolume"])] if spec.get("rootVolume") else []
        named += [(f"volumes[{i}]", volume) for i, volume in enumerate(spec.get("volumes") or ())]
        for field, volume in named:
            if volume.get("iops") is not None and volume.get("volumeType") not in ("io1", "io2", "gp3"):
                raise TerminalError(f"spec.{field}: {VOLUME_RULES[0]['message']}", reason="InvalidVolume")
            if volume.get("throughput") is not None and volume.get("volumeType") != "gp3":
                raise TerminalError(f"spec.{field}: {VOLUME_RULES[1]['message']}", reason="InvalidVolume")

    def desired(self, spec: Mapping[str, Any]) -> State:
        groups = [item["groupId"] for item in spec.get("securityGroups") or ()]
        volumes = ([{**spec["rootVolume"], "deviceName": ROOT}] if spec.get("rootVolume") else []) + list(
            spec.get("volumes") or ())
        return {
            "imageId": spec["imageId"], "subnetId": spec["subnetId"], "keyName": spec.get("keyName"),
            "state": "running", "securityGroupIds": sorted(groups) or None,
            "iamInstanceProfile": spec.get("iamInstanceProfile"),
            "metadataOptions": {**METADATA_DEFAULTS, **(spec.get("metadataOptions") or {})},
            "instanceType": spec["instanceType"], "userData": spec.get("userData"),
            "volumeLayout": [{"device": v["deviceName"], "encrypted": v.get("encrypted")} for v in volumes],
            "volumes": [{"device": v["deviceName"], "sizeGiB": v.get("sizeGiB"), "volumeType": v.get("volumeType"),
                         "iops": v.get("iops"), "throughput": v.get("throughput"),
                         "deleteOnTermination": v.get("deleteOnTermination", True)} for v in volumes],
            "monitoring": spec.get("monitoring", False),
            "terminationProtection": spec.get("terminationProtection", False),
            "allowRestart": spec.get("allowRestart", False),
            "rootVolume": spec.get("rootVolume"),
        }

    def observe(self, raw: Raw) -> State:
        metadata = raw.get("MetadataOptions") or {}
        volumes = raw.get("_Volumes") or []
        return {
            "imageId": raw.get("ImageId"), "subnetId": raw.get("SubnetId"), "keyName": raw.get("KeyName"),
            "state": STATES.get(raw["State"]["Name"], raw["State"]["Name"]),
            "securityGroupIds": sorted(g["GroupId"] for g in raw.get("SecurityGroups") or ()),
            "iamInstanceProfile": (raw.get("IamInstanceProfile") or {}).get("Arn"),
            "metadataOptions": {name: metadata.get(param) for name, param in METADATA_PARAMS.items()},
            "instanceType": raw.get("InstanceType"), "userData": raw.get("_UserData"),
            "volumeLayout": [{"device": v["device"], "encrypted": v["encrypted"]} for v in volumes],
            "volumes": [{k: v for k, v in volume.items() if k not in ("encrypted", "volumeId")} for volume in volumes],
            "monitoring": (raw.get("Monitoring") or {}).get("State") in ("enabled", "pending"),
            "terminationProtection": raw.get("_DisableApiTermination"),
            "tags": self.observed_tags(raw),
        }

    def status(self, raw: Raw) -> State:
        return {"state": raw["State"]["Name"], "instanceType": raw.get("InstanceType"),
                "privateIp": raw.get("PrivateIpAddress"), "publicIp": raw.get("PublicIpAddress"),
                "privateDnsName": raw.get("PrivateDnsName") or None, "publicDnsName": raw.get("PublicDnsName") or None,
                "availabilityZone": (raw.get("Placement") or {}).get("AvailabilityZone"),
                "launchTime": self.timestamp(raw.get("LaunchTime"))}

    # -- reading ------------------------------------------------------------------------------

    def read(self, aws: AWSClients, ident: str) -> Raw | None:
        found = self.absent_if_missing(aws.client("ec2").describe_instances, InstanceIds=[ident])
        return self._first_present(aws, _instances([found])) if found else None

    def list_managed(self, aws: AWSClients, managed_tag: tuple[str, str]) -> list[Raw]:
        key, value = managed_tag
        pages = aws.client("ec2").get_paginator("describe_instances").paginate(
            Filters=[{"Name": f"tag:{key}", "Values": [value]}])
        return [raw for raw in _instances(pages) if self.present(raw)
                and self.observed_tags(raw).get(key) == value]

    def present(self, raw: Raw) -> bool:
        return raw["State"]["Name"] not in ("shutting-down", "terminated")

    def describe_more(self, aws: AWSClients, raw: Raw) -> Raw:
        ec2, ident = aws.client("ec2"), raw["InstanceId"]
        user_data = ec2.describe_instance_attribute(InstanceId=ident, Attribute="userData").get("UserData") or {}
        protection = ec2.describe_instance_attribute(InstanceId=ident, Attribute="disableApiTermination")
        mappings = {m["Ebs"]["VolumeId"]: m for m in raw.get("BlockDeviceMappings") or () if m.get("Ebs")}
        volumes = ec2.describe_volumes(VolumeIds=sorted(mappings))["Volumes"] if mappings else []
        return {**raw, "_UserData": _user_data(user_data.get("Value")),
                "_DisableApiTermination": (protection.get("DisableApiTermination") or {}).get("Value"),
                "_Volumes": sorted((self._volume(raw, mappings[v["VolumeId"]], v) for v in volumes),
                                   key=lambda v: v["device"])}

    @staticmethod
    def _volume(raw: Raw, mapping: Mapping[str, Any], volume: Mapping[str, Any]) -> dict[str, Any]:
        device = mapping["DeviceName"]
        return {"device": ROOT if device == raw.get("RootDeviceName") else device, "volumeId": volume["VolumeId"],
                "sizeGiB": volume.get("Size"), "volumeType": volume.get("VolumeType"), "iops": volume.get("Iops"),
                "throughput": volume.get("Throughput"), "encrypted": volume.get("Encrypted"),
                "deleteOnTermination": mapping["Ebs"].get("DeleteOnTermination")}

    def available(self, raw: Raw) -> bool:
        state = raw["State"]["Name"]
        if state != "running":
            raise InProgress(f"instance {raw['InstanceId']} is {state}", delay=STEP_DELAY)
        return True

    # -- writing ------------------------------------------------------------------------------

    def create(self, aws: AWSClients, desired: State, tags: Mapping[str, str], token: str) -> Raw:
        ec2 = aws.client("ec2")
        params: dict[str, Any] = {
            "ImageId": desired["imageId"], "InstanceType": desired["instanceType"], "MinCount": 1, "MaxCount": 1,
            "SubnetId": desired["subnetId"], "ClientToken": token,
            "MetadataOptions": {METADATA_PARAMS[k]: v for k, v in desired["metadataOptions"].items()},
            "Monitoring": {"Enabled": desired["monitoring"]},
            "DisableApiTermination": desired["terminationProtection"],
            "TagSpecifications": self.tag_specifications(tags)}
        if desired["securityGroupIds"]:
            params["SecurityGroupIds"] = desired["securityGroupIds"]
        if desired["keyName"]:
            params["KeyName"] = desired["keyName"]
        if desired["iamInstanceProfile"]:
            params["IamInstanceProfile"] = _profile(desired["iamInstanceProfile"])
        if desired["userData"]:
            params["UserData"] = desired["userData"]  # botocore base64-encodes it
        mappings = self._mappings(aws, desired)
        if mappings:
            params["BlockDeviceMappings"] = mappings
        return ec2.run_instances(**params)["Instances"][0]

    def _mappings(self, aws: AWSClients, desired: State) -> list[dict[str, Any]]:
        volumes = desired["volumes"]
        encrypted = {v["device"]: v["encrypted"] for v in desired["volumeLayout"]}
        if not volumes:
            return []
        root = None
        if desired["rootVolume"]:
            image = aws.client("ec2").describe_images(ImageIds=[desired["imageId"]])["Images"]
            if not image:
                raise TerminalError(f"AMI {desired['imageId']} does not exist", reason="ImageNotFound")
            root = image[0]["RootDeviceName"]
        mappings = []
        for volume in volumes:
            ebs = {"VolumeSize": volume["sizeGiB"], "VolumeType": volume["volumeType"], "Iops": volume["iops"],
                   "Throughput": volume["throughput"], "DeleteOnTermination": volume["deleteOnTermination"],
                   "Encrypted": encrypted[volume["device"]]}
            mappings.append({"DeviceName": root if volume["device"] == ROOT else volume["device"],
                             "Ebs": {k: v for k, v in ebs.items() if v is not None}})
        return mappings

    def update(self, aws: AWSClients, ident: str, desired: State, raw: Raw, changed: frozenset[str]) -> None:
        ec2 = aws.client("ec2")
        restart = [name for name in RESTART_FIELDS if name in changed]
        if restart and not desired["allowRestart"]:
            raise TerminalError(f"{' and '.join(restart)} of instance {ident} change only while it is stopped: set "
                                "allowRestart: true to let the operator stop and start it", reason="RestartRequired")
        if "metadataOptions" in changed:
            ec2.modify_instance_metadata_options(
                InstanceId=ident, **{METADATA_PARAMS[k]: v for k, v in desired["metadataOptions"].items()})
        if "securityGroupIds" in changed:
            ec2.modify_instance_attribute(InstanceId=ident, Groups=desired["securityGroupIds"])
        if "terminationProtection" in changed:
            ec2.modify_instance_attribute(InstanceId=ident,
                                          DisableApiTermination={"Value": desired["terminationProtection"]})
        if "monitoring" in changed:
            call = ec2.monitor_instances if desired["monitoring"] else ec2.unmonitor_instances
            call(InstanceIds=[ident])
        if "iamInstanceProfile" in changed:
            self._set_profile(aws, ident, desired["iamInstanceProfile"])
        if "volumes" in changed:
            self._modify_volumes(aws, ident, desired["volumes"], raw)
        if restart or "state" in changed:
            self._restart(aws, ident, desired, raw, restart)

    def _restart(self, aws: AWSClients, ident: str, desired: State, raw: Raw, restart: list[str]) -> None:
        """Stop the instance (when a change needs it stopped), apply what needs it stopped, start it."""
        ec2, state = aws.client("ec2"), raw["State"]["Name"]
        if state in ("pending", "stopping") or state == "running" and restart:
            if state == "running":
                ec2.stop_instances(InstanceIds=[ident])
            raise InProgress(f"instance {ident} is {'stopping' if state == 'running' else state}"
                             + (f" to change {' and '.join(restart)}" if restart else ""), delay=STEP_DELAY)
        if state != "stopped":
            return
        if "instanceType" in restart:
            ec2.modify_instance_attribute(InstanceId=ident, InstanceType={"Value": desired["instanceType"]})
        if "userData" in restart:
            # AWS wants the user data base64-encoded inside the blob here (botocore encodes the
            # blob once more), unlike RunInstances, where botocore's single encoding is all.
            ec2.modify_instance_attribute(InstanceId=ident, UserData={
                "Value": base64.b64encode((desired["userData"] or "").encode())})
        ec2.start_instances(InstanceIds=[ident])

    def _set_profile(self, aws: AWSClients, ident: str, profile: str) -> None:
        ec2 = aws.client("ec2")
        associations = ec2.describe_iam_instance_profile_associations(
            Filters=[{"Name": "instance-id", "Values": [ident]}])["IamInstanceProfileAssociations"]
        current = [a for a in associations if a.get("State") in ("associating", "associated")]
        if current:
            ec2.replace_iam_instance_profile_association(IamInstanceProfile=_profile(profile),
                                                         AssociationId=current[0]["AssociationId"])
        else:
            ec2.associate_iam_instance_profile(IamInstanceProfile=_profile(profile), InstanceId=ident)

    def _modify_volumes(self, aws: AWSClients, ident: str, wanted: list[Mapping[str, Any]], raw: Raw) -> None:
        ec2 = aws.client("ec2")
        have = {volume["device"]: volume for volume in raw.get("_Volumes") or ()}
        for volume in wanted:
            current = have.get(volume["device"])
            if current is None:
                continue  # a new device: volumeLayout says the instance must be replaced
            changes = {param: volume[key] for key, param in (("sizeGiB", "Size"), ("volumeType", "VolumeType"),
                                                             ("iops", "Iops"), ("throughput", "Throughput"))
                       if volume[key] is not None and volume[key] != current[key]}
            if changes:
                ec2.modify_volume(VolumeId=current["volumeId"], **changes)
            keep = volume["deleteOnTermination"]
            if keep is not None and keep != current["deleteOnTermination"]:
                device = raw["RootDeviceName"] if volume["device"] == ROOT else volume["device"]
                ec2.modify_instance_attribute(InstanceId=ident, BlockDeviceMappings=[
                    {"DeviceName": device, "Ebs": {"DeleteOnTermination": keep}}])

    def delete(self, aws: AWSClients, ident: str, raw: Raw, spec: Mapping[str, Any]) -> None:
        ec2 = aws.client("ec2")
        if spec.get("deletionPolicy") == "Stop":
            if raw["State"]["Name"] not in ("stopping", "stopped"):
                ec2.stop_instances(InstanceIds=[ident])
        elif raw["State"]["Name"] not in ("shutting-down", "terminated"):
            ec2.terminate_instances(InstanceIds=[ident])


def _instances(pages: Any) -> list[Raw]:
    return [instance for page in pages for reservation in page["Reservations"] for instance in reservation["Instances"]]


def _profile(profile: str) -> dict[str, str]:
    return {"Arn": profile} if profile.startswith("arn:") else {"Name": profile}
