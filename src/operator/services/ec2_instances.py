"""EC2 instances and their EBS volumes: the spec's volume and metadata-options schema, the
comparable state from a description (with the attached and loose volumes), run, modify and the
stop-change-start sequence, the volume set reconcile (create, attach, detach, delete, found again
after a crash by our tags), and the console output shown in status, sanitised. The EC2Instance
kind declares; `InstanceKind` does the calls."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any, Mapping

from ..engine.delta import OWNER_PREFIX, OWNER_UID, aws_params, owner_tags, reconcile_set, tags_from_aws
from ..engine.kind import AWSClients, Raw, State, TagChange
from ..provider.errors import InProgress, TerminalError
from .ec2 import EC2Kind, aws_tags

RESTART_FIELDS = ("instanceType", "userData")
VOLUME_TYPES = ["gp2", "gp3", "io1", "io2", "st1", "sc1", "standard"]
# Instance states as the spec's `state` drift field sees them: one starting counts as running.
STATES = {"pending": "running", "running": "running", "stopping": "stopped", "stopped": "stopped"}
VOLUME_VALUES = ("device", "sizeGiB", "volumeType", "iops", "throughput", "deleteOnTermination")
ROOT = "root"  # the device name of the root volume in the comparable state (the AMI decides the real one)
STEP_DELAY = 10.0  # seconds between looks while AWS stops or starts an instance
VOLUME_DELAY = 5.0  # seconds between looks while AWS creates, attaches or detaches a volume
# Tags on volumes the operator creates or detaches: the device a created volume is for (found
# again after a crash before its attach), and the mark of one to delete once it is detached.
DEVICE_TAG = f"{OWNER_PREFIX}device"
DELETE_TAG = f"{OWNER_PREFIX}delete-when-detached"
KMS_KEY = r"^(arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+|[A-Za-z0-9-]{1,64})$"
# Console output in status: the last lines only, each cut, lines that look like credentials redacted.
CONSOLE_LINES, CONSOLE_LINE_CHARS = 20, 200
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
SECRET_LINE = re.compile(r"(?i)pass(word|wd|phrase)?\b|secret|token|credential|api[_-]?key|private[_ -]?key|"
                         r"authorization|AKIA[0-9A-Z]{16}|ASIA[0-9A-Z]{16}")
REDACTED = "[line redacted: it looks like it holds a credential]"

VOLUME = {
    "sizeGiB": {"type": "integer", "minimum": 1, "maximum": 65536, "description": "Size in GiB (grows in place)."},
    "volumeType": {"type": "string", "enum": VOLUME_TYPES, "description": "EBS volume type (changes in place)."},
    "iops": {"type": "integer", "minimum": 100, "maximum": 256000, "description": "Provisioned IOPS (io1, io2, gp3)."},
    "throughput": {"type": "integer", "minimum": 125, "maximum": 2000, "description": "Throughput in MiB/s (gp3)."},
    "encrypted": {"type": "boolean", "description": "Encrypt (with kmsKeyId, else the account's default EBS key); "
                                                   "cannot change."},
    "kmsKeyId": {"type": "string", "pattern": KMS_KEY,
                 "description": "KMS key id or ARN encrypting the volume (needs encrypted: true); cannot change."},
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
    {"rule": "!has(self.kmsKeyId) || (has(self.encrypted) && self.encrypted)",
     "message": "kmsKeyId needs encrypted: true"},
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
METADATA_PARAMS = {"HttpTokens": "httpTokens", "HttpEndpoint": "httpEndpoint",
                   "HttpPutResponseHopLimit": "httpPutResponseHopLimit", "InstanceMetadataTags": "instanceMetadataTags"}


def volumes_match(desired: list[Mapping[str, Any]], observed: list[Mapping[str, Any]] | None) -> bool:
    """The spec's volumes, each with the values it sets, and no other volume than the root one."""
    have = {volume["device"]: volume for volume in observed or ()}
    if {device for device in have if device != ROOT} - {volume["device"] for volume in desired}:
        return False
    return all(volume["device"] in have and all(value is None or have[volume["device"]].get(key) == value
                                                  for key, value in volume.items()) for volume in desired)


def layout_match(desired: list[Mapping[str, Any]], observed: list[Mapping[str, Any]] | None) -> bool:
    """The encryption of each volume the spec and AWS both have (set when the volume is made:
    another needs a new volume). Volumes on one side only are `volumes`' business."""
    have = {volume["device"]: volume for volume in observed or ()}
    return all((volume["encrypted"] is None or have[volume["device"]]["encrypted"] == volume["encrypted"])
               and _same_key(volume["kmsKeyId"], have[volume["device"]]["kmsKeyId"])
               for volume in desired if volume["device"] in have)


def _same_key(desired: str | None, observed: str | None) -> bool:
    """A KMS key named by id or ARN (AWS shows the ARN)."""
    return desired is None or observed is not None and (observed == desired or observed.endswith(f"/{desired}"))


def profile_match(desired: str, observed: str | None) -> bool:
    """An instance profile named by ARN, or by name (AWS shows the ARN)."""
    return observed is not None and (desired == observed or observed.rsplit("/", 1)[-1] == desired)


def _user_data(encoded: str | None) -> str | None:
    if not encoded:
        return None
    try:
        return base64.b64decode(encoded).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return encoded


class InstanceKind(EC2Kind):
    """An EC2 instance with its volumes (the EC2Instance kind declares the rest)."""

    def validate(self, spec: Mapping[str, Any], related: Mapping[str, Mapping[str, Any]]) -> None:
        tags, room = spec.get("tags") or {}, self.tagging.max_tags - len(owner_tags("", "", "", ""))
        if spec.get("instanceName") and "Name" not in tags and len(tags) >= room:
            raise TerminalError(f"instanceName adds the Name tag: {len(tags)} tags and Name are more than the {room} "
                                "AWS leaves beside the operator's ownership tags", reason="InvalidTags")
        named = [("rootVolume", spec["rootVolume"])] if spec.get("rootVolume") else []
        named += [(f"volumes[{i}]", volume) for i, volume in enumerate(spec.get("volumes") or ())]
        for field, volume in named:
            if volume.get("iops") is not None and volume.get("volumeType") not in ("io1", "io2", "gp3"):
                raise TerminalError(f"spec.{field}: {VOLUME_RULES[0]['message']}", reason="InvalidVolume")
            if volume.get("throughput") is not None and volume.get("volumeType") != "gp3":
                raise TerminalError(f"spec.{field}: {VOLUME_RULES[1]['message']}", reason="InvalidVolume")
            if volume.get("kmsKeyId") is not None and not volume.get("encrypted"):
                raise TerminalError(f"spec.{field}: {VOLUME_RULES[2]['message']}", reason="InvalidVolume")

    def desired(self, spec: Mapping[str, Any]) -> State:
        groups = list(spec.get("securityGroupIds") or ())
        volumes = ([{**spec["rootVolume"], "deviceName": ROOT}] if spec.get("rootVolume") else []) + list(
            spec.get("volumes") or ())
        return {
            "imageId": spec["imageId"], "subnetId": spec["subnetId"], "keyName": spec.get("keyName"),
            "state": "running", "securityGroupIds": sorted(groups) or None,
            "iamInstanceProfile": spec.get("iamInstanceProfile"),
            "metadataOptions": {**METADATA_DEFAULTS, **(spec.get("metadataOptions") or {})},
            "instanceType": spec["instanceType"], "userData": spec.get("userData"),
            "volumeLayout": [{"device": v["deviceName"], "encrypted": v.get("encrypted"), "kmsKeyId": v.get("kmsKeyId")}
                             for v in volumes],
            "volumes": [{"device": v["deviceName"], "sizeGiB": v.get("sizeGiB"), "volumeType": v.get("volumeType"),
                         "iops": v.get("iops"), "throughput": v.get("throughput"),
                         "deleteOnTermination": v.get("deleteOnTermination", True)} for v in volumes],
            "monitoring": spec.get("monitoring", False),
            "terminationProtection": spec.get("terminationProtection", False),
            "allowRestart": spec.get("allowRestart", False),
            "rootVolume": spec.get("rootVolume"),
            "looseVolumes": [],  # created or detached by us and not attached: none once done
            "tags": {"Name": spec["instanceName"]} if spec.get("instanceName") else {},
        }

    def observe(self, raw: Raw) -> State:
        metadata = raw.get("MetadataOptions") or {}
        volumes = raw.get("_Volumes") or []
        return {
            "imageId": raw.get("ImageId"), "subnetId": raw.get("SubnetId"), "keyName": raw.get("KeyName"),
            "state": STATES.get(raw["State"]["Name"], raw["State"]["Name"]),
            "securityGroupIds": sorted(g["GroupId"] for g in raw.get("SecurityGroups") or ()),
            "iamInstanceProfile": (raw.get("IamInstanceProfile") or {}).get("Arn"),
            "metadataOptions": {name: metadata.get(param) for param, name in METADATA_PARAMS.items()},
            "instanceType": raw.get("InstanceType"), "userData": raw.get("_UserData"),
            "volumeLayout": [{"device": v["device"], "encrypted": v["encrypted"], "kmsKeyId": v["kmsKeyId"]}
                             for v in volumes],
            "volumes": [{k: volume[k] for k in VOLUME_VALUES} for volume in volumes],
            "looseVolumes": sorted(v["VolumeId"] for v in raw.get("_LooseVolumes") or ()),
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

    def present(self, raw: Raw) -> bool:
        return raw["State"]["Name"] not in ("shutting-down", "terminated")

    def describe_more(self, aws: AWSClients, raw: Raw) -> Raw:
        ec2, ident = aws.client("ec2"), raw["InstanceId"]
        user_data = ec2.describe_instance_attribute(InstanceId=ident, Attribute="userData").get("UserData") or {}
        protection = ec2.describe_instance_attribute(InstanceId=ident, Attribute="disableApiTermination")
        mappings = {m["Ebs"]["VolumeId"]: m for m in raw.get("BlockDeviceMappings") or () if m.get("Ebs")}
        # One call finds the volumes tagged as ours (all of them, for an instance this operator
        # created): attached, or loose (created and not attached yet, or detached to be deleted).
        # Attached volumes without our tags (made before tags were given to volumes, or attached
        # outside the operator) take a second call.
        owner = self.observed_tags(raw).get(OWNER_UID)
        ours = ec2.describe_volumes(Filters=[{"Name": f"tag:{OWNER_UID}", "Values": [owner]}])["Volumes"] \
            if owner else []
        untagged = sorted(set(mappings) - {volume["VolumeId"] for volume in ours})
        volumes = [volume for volume in ours if volume["VolumeId"] in mappings] + (
            ec2.describe_volumes(VolumeIds=untagged)["Volumes"] if untagged else [])
        loose = [volume for volume in ours if volume["State"] in ("creating", "available")]
        return {**raw, "_UserData": _user_data(user_data.get("Value")),
                "_DisableApiTermination": (protection.get("DisableApiTermination") or {}).get("Value"),
                "_Volumes": sorted((self._volume(raw, mappings[v["VolumeId"]], v) for v in volumes),
                                   key=lambda v: v["device"]),
                "_LooseVolumes": sorted(loose, key=lambda v: v["VolumeId"])}

    @staticmethod
    def _volume(raw: Raw, mapping: Mapping[str, Any], volume: Mapping[str, Any]) -> dict[str, Any]:
        device = mapping["DeviceName"]
        return {"device": ROOT if device == raw.get("RootDeviceName") else device, "volumeId": volume["VolumeId"],
                "sizeGiB": volume.get("Size"), "volumeType": volume.get("VolumeType"), "iops": volume.get("Iops"),
                "throughput": volume.get("Throughput"), "encrypted": volume.get("Encrypted"),
                "kmsKeyId": volume.get("KmsKeyId"), "deleteOnTermination": mapping["Ebs"].get("DeleteOnTermination"),
                "attachment": mapping["Ebs"].get("Status"), "tags": tags_from_aws(volume.get("Tags"))}

    def available(self, raw: Raw) -> bool:
        state = raw["State"]["Name"]
        if state != "running":
            raise InProgress(f"instance {raw['InstanceId']} is {state}", delay=STEP_DELAY)
        moving = [f"{v['volumeId']} {v['attachment']}" for v in raw.get("_Volumes") or ()
                  if v["attachment"] in ("attaching", "detaching")]
        if moving:
            raise InProgress(f"volumes of instance {raw['InstanceId']}: {', '.join(moving)}", delay=VOLUME_DELAY)
        return True

    def requested_status(self, aws: AWSClients, raw: Raw, spec: Mapping[str, Any]) -> State:
        if not spec.get("enableConsoleOutput"):
            return {"consoleOutput": None, "consoleOutputTime": None}
        answer = aws.client("ec2").get_console_output(InstanceId=raw["InstanceId"], Latest=True)
        return {"consoleOutput": console_tail(answer.get("Output")),
                "consoleOutputTime": self.timestamp(answer.get("Timestamp"))}

    # -- writing ------------------------------------------------------------------------------

    def create(self, aws: AWSClients, desired: State, tags: Mapping[str, str], token: str) -> Raw:
        ec2 = aws.client("ec2")
        params: dict[str, Any] = {
            "ImageId": desired["imageId"], "InstanceType": desired["instanceType"], "MinCount": 1, "MaxCount": 1,
            "SubnetId": desired["subnetId"], "ClientToken": token,
            "MetadataOptions": aws_params(desired["metadataOptions"], METADATA_PARAMS),
            "Monitoring": {"Enabled": desired["monitoring"]},
            "DisableApiTermination": desired["terminationProtection"],
            "TagSpecifications": self.tag_specifications(tags) + self.tag_specifications(tags, "volume")}
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
        kms_keys = {v["device"]: v["kmsKeyId"] for v in desired["volumeLayout"]}
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
                   "Encrypted": encrypted[volume["device"]], "KmsKeyId": kms_keys[volume["device"]]}
            mappings.append({"DeviceName": root if volume["device"] == ROOT else volume["device"],
                             "Ebs": {k: v for k, v in ebs.items() if v is not None}})
        return mappings

    def update(self, aws: AWSClients, ident: str, desired: State, raw: Raw, changed: frozenset[str]) -> None:
        ec2 = aws.client("ec2")
        if "volumes" in changed:
            _refuse_shrink(ident, desired["volumes"], raw)
        restart = [name for name in RESTART_FIELDS if name in changed]
        if restart and not desired["allowRestart"]:
            raise TerminalError(f"{' and '.join(restart)} of instance {ident} change only while it is stopped: set "
                                "allowRestart: true to let the operator stop and start it", reason="RestartRequired")
        if "metadataOptions" in changed:
            ec2.modify_instance_metadata_options(
                InstanceId=ident, **aws_params(desired["metadataOptions"], METADATA_PARAMS))
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
        if restart or "state" in changed:
            self._restart(aws, ident, desired, raw, restart)
        if "volumes" in changed or "looseVolumes" in changed:
            self._reconcile_volumes(aws, ident, desired, raw)

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

    def _reconcile_volumes(self, aws: AWSClients, ident: str, desired: State, raw: Raw) -> None:
        """Make the attached volumes the spec's set (by device), then settle the loose ones: a
        wanted device's is attached, one marked for deletion deleted, any other left to the
        user without our tags. AWS's creating, attaching and detaching answer "in progress"."""
        wanted = desired["volumes"]
        devices = {volume["device"] for volume in wanted}
        attached = [volume for volume in raw.get("_Volumes") or () if volume["device"] != ROOT or ROOT in devices]
        missing = devices - {volume["device"] for volume in attached}
        loose = {volume["VolumeId"]: volume for volume in raw.get("_LooseVolumes") or ()}
        for_device = {tags_from_aws(v.get("Tags")).get(DEVICE_TAG): v for v in loose.values()}
        layout = {volume["device"]: volume for volume in desired["volumeLayout"]}
        waiting: list[str] = []

        def add(volume: Mapping[str, Any]) -> None:
            found = for_device.get(volume["device"])
            if found is not None:
                del loose[found["VolumeId"]]
            waiting.append(self._attach(aws, ident, raw, {**volume, **layout[volume["device"]]}, desired["tags"],
                                        found))

        def remove(current: Mapping[str, Any]) -> None:
            waiting.append(self._detach(aws, ident, raw, current))

        def change(current: Mapping[str, Any], volume: Mapping[str, Any]) -> None:
            waiting.extend(self._modify_volume(aws, ident, raw, current, volume))

        reconcile_set(wanted, attached, key=lambda volume: volume["device"], add=add, remove=remove, change=change)
        for volume in loose.values():
            waiting.extend(self._settle_loose(aws, volume, missing))
        if waiting:
            raise InProgress(f"volumes of instance {ident}: {'; '.join(waiting)}", delay=VOLUME_DELAY)

    def _attach(self, aws: AWSClients, ident: str, raw: Raw, volume: Mapping[str, Any], tags: Mapping[str, str],
                found: Mapping[str, Any] | None) -> str:
        """Create the volume for a device unless an earlier run made it (`found`), and attach it
        once AWS has it available. Its deleteOnTermination is set once attached (`change`)."""
        ec2, device = aws.client("ec2"), volume["device"]
        if found is None:
            marks = {DEVICE_TAG: device, **({DELETE_TAG: ident} if volume["deleteOnTermination"] else {})}
            params = {"AvailabilityZone": raw["Placement"]["AvailabilityZone"], "Size": volume["sizeGiB"],
                      "VolumeType": volume["volumeType"], "Iops": volume["iops"], "Throughput": volume["throughput"],
                      "Encrypted": volume["encrypted"], "KmsKeyId": volume["kmsKeyId"],
                      "TagSpecifications": self.tag_specifications({**tags, **marks}, "volume")}
            found = ec2.create_volume(**{k: v for k, v in params.items() if v is not None})
        if found["State"] != "available":
            return f"{found['VolumeId']} for {device} is {found['State']}"
        ec2.attach_volume(VolumeId=found["VolumeId"], InstanceId=ident, Device=device)
        return f"attaching {found['VolumeId']} at {device}"

    def _detach(self, aws: AWSClients, ident: str, raw: Raw, current: Mapping[str, Any]) -> str:
        """Mark the volume for deletion (deleteOnTermination) or take our tags off it (kept),
        then detach it; the mark makes it found and deleted once detached, even after a crash."""
        ec2, volume_id, device = aws.client("ec2"), current["volumeId"], current["device"]
        if current["attachment"] == "detaching":
            return f"{volume_id} is detaching from {device}"
        if current["deleteOnTermination"]:
            owner = self.observed_tags(raw).get(OWNER_UID)
            ec2.create_tags(Resources=[volume_id], Tags=aws_tags({DELETE_TAG: ident, **(
                {OWNER_UID: owner} if owner else {})}))
        else:
            _drop_our_tags(ec2, volume_id, current["tags"])
        ec2.detach_volume(VolumeId=volume_id, InstanceId=ident, Device=device)
        return f"detaching {volume_id} from {device}" + (" to delete it" if current["deleteOnTermination"] else "")

    def _modify_volume(self, aws: AWSClients, ident: str, raw: Raw, current: Mapping[str, Any],
                       volume: Mapping[str, Any]) -> list[str]:
        if current["attachment"] not in (None, "attached"):
            return [f"{current['volumeId']} is {current['attachment']} at {current['device']}"]
        ec2 = aws.client("ec2")
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
        return []

    @staticmethod
    def _settle_loose(aws: AWSClients, volume: Mapping[str, Any], missing: set[str]) -> list[str]:
        """A loose volume no wanted device takes: deleted when marked so, else left to the user."""
        ec2, tags = aws.client("ec2"), tags_from_aws(volume.get("Tags"))
        if tags.get(DEVICE_TAG) in missing:
            return []  # attached by `add` (AWS's creating answered there)
        if DELETE_TAG not in tags:
            _drop_our_tags(ec2, volume["VolumeId"], tags)
            return []
        if volume["State"] != "available":
            return [f"{volume['VolumeId']} is {volume['State']} (to delete)"]
        ec2.delete_volume(VolumeId=volume["VolumeId"])
        return []

    def set_tags(self, aws: AWSClients, ident: str, change: TagChange) -> None:
        """The instance's and its volumes' tags (tagged alike at create, and by Retain untagged alike)."""
        found = aws.client("ec2").describe_instances(InstanceIds=[ident])
        volumes = [m["Ebs"]["VolumeId"] for each in self.resource.items(found)
                   for m in each.get("BlockDeviceMappings") or () if m.get("Ebs")]
        for resource in (ident, *volumes):
            super().set_tags(aws, resource, change)

    def delete(self, aws: AWSClients, ident: str, raw: Raw, spec: Mapping[str, Any]) -> None:
        ec2 = aws.client("ec2")
        if spec.get("deletionPolicy") == "Stop":
            if raw["State"]["Name"] not in ("stopping", "stopped"):
                ec2.stop_instances(InstanceIds=[ident])
        else:
            if raw["State"]["Name"] not in ("shutting-down", "terminated"):
                ec2.terminate_instances(InstanceIds=[ident])
            # Volumes detached to be deleted, or created and never attached: gone with the instance.
            for volume in raw.get("_LooseVolumes") or ():
                if volume["State"] == "available" and DELETE_TAG in tags_from_aws(volume.get("Tags")):
                    ec2.delete_volume(VolumeId=volume["VolumeId"])


def _refuse_shrink(ident: str, wanted: list[Mapping[str, Any]], raw: Raw) -> None:
    have = {volume["device"]: volume for volume in raw.get("_Volumes") or ()}
    shrunk = [f"{v['device']} ({have[v['device']]['sizeGiB']} GiB to {v['sizeGiB']})" for v in wanted
              if v["sizeGiB"] is not None and v["device"] in have and v["sizeGiB"] < have[v["device"]]["sizeGiB"]]
    if shrunk:
        raise TerminalError(f"EBS volumes only grow: {', '.join(shrunk)} of instance {ident}; nothing was changed. "
                            "Restore the size, or add a smaller volume and move the data", reason="VolumeShrinkRefused")


def _drop_our_tags(ec2: Any, volume_id: str, tags: Mapping[str, str]) -> None:
    """Leave a volume to the user: without the operator's tags nothing of ours finds it again."""
    ours = sorted(key for key in tags if key.startswith(OWNER_PREFIX))
    if ours:
        ec2.delete_tags(Resources=[volume_id], Tags=[{"Key": key} for key in ours])


def console_tail(output: str | None) -> str | None:
    """The last lines of a console output (AWS answers it base64-encoded), control characters
    and ANSI escapes removed, each line cut, lines that look like credentials redacted."""
    if not output:
        return None
    try:
        text = base64.b64decode(output, validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        text = output
    lines, in_key = [], False
    for line in ANSI.sub("", text).splitlines():
        line = CONTROL.sub("", line)
        in_key = in_key or "-----BEGIN" in line and "PRIVATE KEY" in line
        lines.append(REDACTED if in_key or SECRET_LINE.search(line) else line[:CONSOLE_LINE_CHARS])
        in_key = in_key and not ("-----END" in line and "PRIVATE KEY" in line)
    return "\n".join(lines[-CONSOLE_LINES:]) or None


def _profile(profile: str) -> dict[str, str]:
    return {"Arn": profile} if profile.startswith("arn:") else {"Name": profile}
