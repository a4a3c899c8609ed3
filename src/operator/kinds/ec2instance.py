"""EC2Instance: one EC2 instance in a subnet of ours, with its security groups, key pair, instance
profile, user data, EBS volumes, metadata options (IMDSv2 required by default), monitoring and
termination protection. Instance type and user data change only while the instance is stopped:
with `allowRestart: true` the kind stops it, changes them and starts it again, answering "in
progress" while AWS stops and starts it; without, Ready=False reason RestartRequired."""

from __future__ import annotations

from ..engine.kind import Deletion, DriftField, ErrorMatch, Reference, Severity
from ..engine.schema import IMMUTABLE
from ..services.ec2 import ID_PATTERN, SUBNET_REF, EC2Resource
from ..services.ec2_instances import (CONSOLE_LINES, KMS_KEY, METADATA, VOLUME, VOLUME_RULES, InstanceKind,
                                      layout_match, profile_match, volumes_match)


class EC2Instance(InstanceKind):
    kind = "EC2Instance"
    plural = "ec2instances"
    short_names = ("ec2",)
    description = ("An EC2 instance. Instance type and user data change only while it is stopped: allowRestart "
                   "lets the operator stop and start it for that. deletionPolicy Stop stops it and keeps it.")
    identifier = "instanceId"
    references = (
        SUBNET_REF,
        Reference("securityGroupRefs", "SecurityGroup", "securityGroupIds", ID_PATTERN.format("sg"), required=False,
                  many=True),
        Reference("keyPairRef", "EC2KeyPair", "keyName", required=False, status_field="keyName"),
        Reference("kmsKeyRef", "KMSKey", "kmsKeyId", KMS_KEY, required=False, within="rootVolume",
                  status_field="arn"),
        Reference("kmsKeyRef", "KMSKey", "kmsKeyId", KMS_KEY, required=False, within="volumes", status_field="arn"),
    )
    spec_properties = {
        "instanceName": {"type": "string", "minLength": 1, "maxLength": 256,
                         "description": "The instance's Name tag (the one in tags wins when both are set)."},
        "imageId": {"type": "string", "pattern": ID_PATTERN.format("ami"),
                    "description": "The AMI to launch; cannot change.", **IMMUTABLE},
        "instanceType": {"type": "string", "pattern": r"^[a-z][a-z0-9-]*\.[a-z0-9-]+$",
                         "description": "Instance type (e.g. t3.micro); a change stops and starts the instance "
                                        "(allowRestart)."},
        "iamInstanceProfile": {"type": "string", "minLength": 1, "maxLength": 2048,
                               "pattern": r"^(arn:aws[a-z-]*:iam::[0-9]{12}:instance-profile/\S+|[\w+=,.@-]{1,128})$",
                               "description": "Instance profile name or ARN (changes in place)."},
        "userData": {"type": "string", "maxLength": 16384,
                     "description": "User data as plain text (the operator base64-encodes it); a change stops and "
                                    "starts the instance (allowRestart)."},
        "rootVolume": {"type": "object", "properties": dict(VOLUME), "x-kubernetes-validations": list(VOLUME_RULES),
                       "description": "The root EBS volume."},
        "volumes": {"type": "array", "maxItems": 24, "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["deviceName"],
                    "items": {"type": "object", "required": ["deviceName", "sizeGiB"],
                              "properties": {"deviceName": {"type": "string", "pattern": r"^/dev/(sd|xvd)[b-z]$"},
                                             **VOLUME},
                              "x-kubernetes-validations": list(VOLUME_RULES)},
                    "description": "More EBS volumes, by device name: one added is created and attached, one "
                                   "removed is detached and deleted (kept, without our tags, when its "
                                   "deleteOnTermination is false); size (grow only), type, IOPS and throughput "
                                   "change in place."},
        "metadataOptions": METADATA,
        "monitoring": {"type": "boolean", "default": False, "description": "Detailed (1-minute) CloudWatch monitoring."},
        "terminationProtection": {"type": "boolean", "default": False,
                                  "description": "AWS refuses to terminate the instance while set (deletion waits, "
                                                 "DeletionProtected)."},
        "allowRestart": {"type": "boolean", "default": False,
                         "description": "Let the operator stop and start the instance to change its type or user "
                                        "data; without it such a change is Ready=False reason RestartRequired."},
        "enableConsoleOutput": {"type": "boolean", "default": False,
                                "description": f"Show the last {CONSOLE_LINES} lines of the instance's console "
                                               "output in status.consoleOutput (one GetConsoleOutput per reconcile; "
                                               "lines that look like credentials are redacted, but anyone who can "
                                               "read the object reads what the instance prints)."},
    }
    spec_required = ("imageId", "instanceType")
    deletion = Deletion(policies=("Stop",), keeping=("Stop",),
                        protected=(ErrorMatch("OperationNotPermitted"),))
    status_properties = {"privateDnsName": {"type": "string"}, "publicDnsName": {"type": "string"},
                         "availabilityZone": {"type": "string"}, "launchTime": {"type": "string"},
                         "consoleOutput": {"type": "string"}, "consoleOutputTime": {"type": "string"}}
    printer_columns = (("State", ".status.state", "string"), ("Type", ".status.instanceType", "string"),
                       ("Private IP", ".status.privateIp", "string"), ("Public IP", ".status.publicIp", "string"))
    drift_fields = (
        DriftField("imageId", Severity.CRITICAL, updatable=False),
        DriftField("subnetId", Severity.CRITICAL, updatable=False),
        DriftField("keyName", Severity.CRITICAL, updatable=False),
        DriftField("state", Severity.CRITICAL),
        DriftField("securityGroupIds", Severity.CRITICAL),
        DriftField("iamInstanceProfile", Severity.CRITICAL, same=profile_match),
        DriftField("metadataOptions", Severity.CRITICAL),
        DriftField("instanceType", Severity.WARNING),
        DriftField("userData", Severity.WARNING),
        DriftField("volumeLayout", Severity.WARNING, updatable=False, same=layout_match),
        DriftField("volumes", Severity.WARNING, same=volumes_match),
        DriftField("looseVolumes", Severity.WARNING),
        DriftField("monitoring", Severity.WARNING),
        DriftField("terminationProtection", Severity.WARNING),
    )
    resource = EC2Resource("describe_instances", "Reservations", "InstanceIds", "InstanceId", "instance",
                           item_key="Instances")
