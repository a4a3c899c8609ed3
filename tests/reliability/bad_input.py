"""The malformed-input corpus: custom objects of every kind that are wrong in one way each, and
what must answer them — the API server's schema (422 naming the field), or the operator with
`Ready=False`, a specific reason and a Warning event. `retries` marks answers that are retried
(the missing piece may appear) rather than final until the spec changes.

Test setup provides: the AWSProvider `aws` (Ready), the VPC `net` (10.0.0.0/16, Ready), and
the Secret `incomplete` (an access key id and no secret key)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

AWS = {"providerRef": {"name": "aws"}}
NET = {**AWS, "vpcRef": {"name": "net"}}
RDS = {**AWS, "dbInstanceIdentifier": "orders", "engine": "postgres", "dbInstanceClass": "db.t3.micro",
       "allocatedStorage": 20, "masterUsername": "app", "subnetIds": ["subnet-0123abcd", "subnet-4567abcd"],
       "masterUserPasswordSecretRef": {"name": "incomplete", "key": "AWS_ACCESS_KEY_ID"}}
SUBNET_ID = "subnet-0123abcd"
ENDPOINT = "http://127.0.0.1:1"  # the cases' AWSProviders never get past their spec
# A valid EKSCluster spec (without its provider), changed by each EKS case.
EKS = {"clusterName": "platform", "role": "arn:aws:iam::123456789012:role/eks",
       "subnetIds": ["subnet-0123abcd", "subnet-4567abcd"]}
# A valid LambdaFunction spec (without its provider), changed by each Lambda case.
FN = {"functionName": "orders", "runtime": "python3.12", "handler": "app.handler",
      "role": "arn:aws:iam::123456789012:role/fn", "code": {"s3Bucket": "code", "s3Key": "fn.zip"}}
# The same function from a container image.
FN_IMAGE = {"functionName": "orders", "role": FN["role"],
            "image": {"uri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/orders:v1"}}


@dataclass(frozen=True)
class Case:
    name: str
    kind: str
    spec: Any
    rejected: str | None = None  # the field a 422 names
    reason: str | None = None  # the Ready=False reason and Warning event
    retries: bool = False  # answered again after a retry delay
    # Waits for an object of ours that does not exist (a dangling reference, an unknown
    # provider): not retried on a timer, run again once that object is Ready.
    waits: bool = False


def rule(**fields: Any) -> dict[str, Any]:
    """A valid ingress/egress rule changed by `fields` (None removes a field)."""
    return _without_none({"protocol": "tcp", "fromPort": 443, "cidrBlocks": ["10.0.0.0/8"], **fields})


def route(**fields: Any) -> dict[str, Any]:
    """A valid route changed by `fields` (None removes a field)."""
    return _without_none({"destinationCidrBlock": "0.0.0.0/0", "gatewayId": "igw-0123abcd", **fields})


def _without_none(item: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in item.items() if value is not None}


CASES: tuple[Case, ...] = (
    # ElasticIP: wrong types and values, provider reference, tags.
    Case("eip-domain-enum", "ElasticIP", {**AWS, "domain": "moon"}, rejected="spec.domain"),
    Case("eip-domain-type", "ElasticIP", {**AWS, "domain": 5}, rejected="spec.domain"),
    Case("eip-no-provider", "ElasticIP", {}, rejected="spec.providerRef"),
    Case("eip-provider-no-name", "ElasticIP", {"providerRef": {}}, rejected="spec.providerRef.name"),
    Case("eip-provider-bad-name", "ElasticIP", {"providerRef": {"name": "Not_A_Name"}},
         rejected="spec.providerRef.name"),
    Case("eip-provider-string", "ElasticIP", {"providerRef": "aws"}, rejected="spec.providerRef"),
    Case("eip-unknown-provider", "ElasticIP", {"providerRef": {"name": "nowhere"}}, reason="ProviderNotReady",
         waits=True),
    Case("eip-policy-enum", "ElasticIP", {**AWS, "deletionPolicy": "Sometimes"}, rejected="spec.deletionPolicy"),
    Case("eip-pool-pattern", "ElasticIP", {**AWS, "publicIpv4Pool": "pool-1"}, rejected="spec.publicIpv4Pool"),
    Case("eip-border-group-empty", "ElasticIP", {**AWS, "networkBorderGroup": ""}, rejected="spec.networkBorderGroup"),
    Case("eip-spec-string", "ElasticIP", "allocate one", rejected="spec"),
    Case("eip-tags-list", "ElasticIP", {**AWS, "tags": ["team=web"]}, rejected="spec.tags"),
    Case("eip-tag-value-number", "ElasticIP", {**AWS, "tags": {"team": 7}}, rejected="spec.tags.team"),
    Case("eip-tag-value-long", "ElasticIP", {**AWS, "tags": {"team": "v" * 257}}, rejected="spec.tags.team"),
    Case("eip-too-many-tags", "ElasticIP", {**AWS, "tags": {f"k{i}": "v" for i in range(41)}}, rejected="spec.tags"),
    Case("eip-tag-aws-prefix", "ElasticIP", {**AWS, "tags": {"aws:owner": "me"}}, reason="InvalidTags"),
    Case("eip-tag-ours", "ElasticIP", {**AWS, "tags": {"infra-operator.dev/owner-uid": "x"}}, reason="InvalidTags"),
    Case("eip-tag-key-long", "ElasticIP", {**AWS, "tags": {"k" * 129: "v"}}, reason="InvalidTags"),
    Case("eip-tag-key-empty", "ElasticIP", {**AWS, "tags": {"": "v"}}, reason="InvalidTags"),
    # VPC: CIDR blocks the pattern lets through, conflicting DNS settings.
    Case("vpc-no-cidr", "VPC", {**AWS}, rejected="spec.cidrBlock"),
    Case("vpc-cidr-number", "VPC", {**AWS, "cidrBlock": 42}, rejected="spec.cidrBlock"),
    Case("vpc-cidr-no-prefix", "VPC", {**AWS, "cidrBlock": "10.0.0.0"}, rejected="spec.cidrBlock"),
    Case("vpc-cidr-prefix-33", "VPC", {**AWS, "cidrBlock": "10.0.0.0/33"}, rejected="spec.cidrBlock"),
    Case("vpc-cidr-octet-999", "VPC", {**AWS, "cidrBlock": "999.0.0.0/16"}, reason="InvalidCidr"),
    Case("vpc-cidr-host-bits", "VPC", {**AWS, "cidrBlock": "10.0.0.1/16"}, reason="InvalidCidr"),
    Case("vpc-cidr-too-wide", "VPC", {**AWS, "cidrBlock": "10.0.0.0/8"}, reason="InvalidCidr"),
    Case("vpc-cidr-too-narrow", "VPC", {**AWS, "cidrBlock": "10.0.0.0/30"}, reason="InvalidCidr"),
    Case("vpc-dns-string", "VPC", {**AWS, "cidrBlock": "10.1.0.0/16", "enableDnsSupport": "yes"},
         rejected="spec.enableDnsSupport"),
    Case("vpc-hostnames-without-dns", "VPC", {**AWS, "cidrBlock": "10.1.0.0/16", "enableDnsSupport": False,
                                              "enableDnsHostnames": True}, reason="InvalidSpec"),
    Case("vpc-tenancy-enum", "VPC", {**AWS, "cidrBlock": "10.1.0.0/16", "instanceTenancy": "host"},
         rejected="spec.instanceTenancy"),
    # Subnet: references missing, doubled or dangling; CIDR blocks outside the VPC or the range.
    Case("subnet-no-vpc", "Subnet", {**AWS, "cidrBlock": "10.0.1.0/24"}, reason="MissingReference"),
    Case("subnet-vpc-twice", "Subnet", {**NET, "vpcId": "vpc-0123abcd", "cidrBlock": "10.0.1.0/24"},
         reason="ConflictingReference"),
    Case("subnet-vpc-dangling", "Subnet", {**AWS, "vpcRef": {"name": "ghost"}, "cidrBlock": "10.0.1.0/24"},
         reason="DependencyNotReady", waits=True),
    Case("subnet-vpc-id-pattern", "Subnet", {**AWS, "vpcId": "vpc-123", "cidrBlock": "10.0.1.0/24"},
         rejected="spec.vpcId"),
    Case("subnet-outside-vpc", "Subnet", {**NET, "cidrBlock": "10.9.0.0/24"}, reason="CidrOutsideVpc"),
    Case("subnet-too-narrow", "Subnet", {**NET, "cidrBlock": "10.0.1.0/29"}, reason="InvalidCidr"),
    Case("subnet-no-cidr", "Subnet", {**NET}, rejected="spec.cidrBlock"),
    Case("subnet-zone-pattern", "Subnet", {**NET, "cidrBlock": "10.0.1.0/24", "availabilityZone": "Mars"},
         rejected="spec.availabilityZone"),
    Case("subnet-public-ip-number", "Subnet", {**NET, "cidrBlock": "10.0.1.0/24", "mapPublicIpOnLaunch": 1},
         rejected="spec.mapPublicIpOnLaunch"),
    # InternetGateway.
    Case("igw-vpc-dangling", "InternetGateway", {**AWS, "vpcRef": {"name": "ghost"}}, reason="DependencyNotReady",
         waits=True),
    Case("igw-vpc-twice", "InternetGateway", {**NET, "vpcId": "vpc-0123abcd"}, reason="ConflictingReference"),
    Case("igw-vpc-id-pattern", "InternetGateway", {**AWS, "vpcId": "igw-0123abcd"}, rejected="spec.vpcId"),
    Case("igw-vpc-ref-no-name", "InternetGateway", {**AWS, "vpcRef": {}}, rejected="spec.vpcRef.name"),
    # NATGateway.
    Case("nat-no-subnet", "NATGateway", {**AWS}, reason="MissingReference"),
    Case("nat-subnet-twice", "NATGateway", {**AWS, "subnetRef": {"name": "sub"}, "subnetId": SUBNET_ID},
         reason="ConflictingReference"),
    Case("nat-private-with-address", "NATGateway", {**AWS, "subnetId": SUBNET_ID, "connectivityType": "private",
                                                    "allocationId": "eipalloc-0123abcd"}, reason="InvalidSpec"),
    Case("nat-connectivity-enum", "NATGateway", {**AWS, "subnetId": SUBNET_ID, "connectivityType": "satellite"},
         rejected="spec.connectivityType"),
    Case("nat-address-twice", "NATGateway", {**AWS, "subnetId": SUBNET_ID, "elasticIPRef": {"name": "ip"},
                                             "allocationId": "eipalloc-0123abcd"}, reason="ConflictingReference"),
    Case("nat-address-dangling", "NATGateway", {**AWS, "subnetId": SUBNET_ID, "elasticIPRef": {"name": "ghost"}},
         reason="DependencyNotReady", waits=True),
    Case("nat-allocation-pattern", "NATGateway", {**AWS, "subnetId": SUBNET_ID, "allocationId": "eipalloc-zz"},
         rejected="spec.allocationId"),
    # SecurityGroup: rules the schema's patterns cannot judge.
    Case("sg-no-name", "SecurityGroup", {**NET}, rejected="spec.groupName"),
    Case("sg-name-empty", "SecurityGroup", {**NET, "groupName": ""}, rejected="spec.groupName"),
    Case("sg-description-long", "SecurityGroup", {**NET, "groupName": "g", "description": "d" * 256},
         rejected="spec.description"),
    Case("sg-rule-no-port", "SecurityGroup", {**NET, "groupName": "g", "ingress": [rule(fromPort=None)]},
         reason="InvalidRule"),
    Case("sg-rule-no-source", "SecurityGroup", {**NET, "groupName": "g", "ingress": [rule(cidrBlocks=None)]},
         reason="InvalidRule"),
    Case("sg-rule-protocol-name", "SecurityGroup", {**NET, "groupName": "g", "ingress": [rule(protocol="smtp")]},
         rejected="spec.ingress[0].protocol"),
    Case("sg-rule-protocol-999", "SecurityGroup", {**NET, "groupName": "g", "ingress": [rule(protocol="999")]},
         reason="InvalidRule"),
    Case("sg-rule-port-range", "SecurityGroup", {**NET, "groupName": "g", "ingress": [rule(fromPort=70000)]},
         rejected="spec.ingress[0].fromPort"),
    Case("sg-rule-ports-inverted", "SecurityGroup", {**NET, "groupName": "g",
                                                     "ingress": [rule(fromPort=443, toPort=80)]},
         reason="InvalidRule"),
    Case("sg-rule-cidr-octet", "SecurityGroup", {**NET, "groupName": "g",
                                                 "egress": [rule(cidrBlocks=["300.0.0.0/8"])]}, reason="InvalidRule"),
    Case("sg-rule-cidr-host-bits", "SecurityGroup", {**NET, "groupName": "g",
                                                     "egress": [rule(cidrBlocks=["10.0.0.1/8"])]},
         reason="InvalidRule"),
    Case("sg-rules-string", "SecurityGroup", {**NET, "groupName": "g", "ingress": "all"}, rejected="spec.ingress"),
    Case("sg-vpc-twice", "SecurityGroup", {**NET, "vpcId": "vpc-0123abcd", "groupName": "g"},
         reason="ConflictingReference"),
    # RouteTable: routes and associations.
    Case("rtb-no-vpc", "RouteTable", {**AWS}, reason="MissingReference"),
    Case("rtb-route-no-target", "RouteTable", {**NET, "routes": [route(gatewayId=None)]}, reason="InvalidRoute"),
    Case("rtb-route-two-targets", "RouteTable", {**NET, "routes": [route(natGatewayId="nat-0123abcd")]},
         reason="InvalidRoute"),
    Case("rtb-route-prefix-40", "RouteTable", {**NET, "routes": [route(destinationCidrBlock="0.0.0.0/40")]},
         rejected="spec.routes[0].destinationCidrBlock"),
    Case("rtb-route-octet", "RouteTable", {**NET, "routes": [route(destinationCidrBlock="300.0.0.0/8")]},
         reason="InvalidRoute"),
    Case("rtb-route-gateway-dangling", "RouteTable", {**NET, "routes": [route(gatewayId=None,
                                                                             gatewayRef={"name": "ghost"})]},
         reason="DependencyNotReady", waits=True),
    Case("rtb-association-empty", "RouteTable", {**NET, "associations": [{}]}, reason="MissingReference"),
    Case("rtb-association-twice", "RouteTable", {**NET, "associations": [{"subnetRef": {"name": "sub"},
                                                                          "subnetId": SUBNET_ID}]},
         reason="ConflictingReference"),
    Case("rtb-association-string", "RouteTable", {**NET, "associations": ["subnet-a"]},
         rejected="spec.associations[0]"),
    Case("rtb-routes-string", "RouteTable", {**NET, "routes": "default"}, rejected="spec.routes"),
    # The kinds of the other services: names, ranges and enums their APIs would refuse, and
    # references to objects that do not exist (waiting, never calling AWS).
    Case("kms-pending-window", "KMSKey", {**AWS, "pendingWindowInDays": 3}, rejected="spec.pendingWindowInDays"),
    Case("kms-key-spec", "KMSKey", {**AWS, "keySpec": "RSA_1024"}, rejected="spec.keySpec"),
    Case("secret-no-name", "SecretsManagerSecret", {**AWS}, rejected="spec.secretName"),
    Case("secret-recovery-window", "SecretsManagerSecret", {**AWS, "secretName": "app", "recoveryWindowInDays": 45},
         rejected="spec.recoveryWindowInDays"),
    Case("secret-key-dangling", "SecretsManagerSecret", {**AWS, "secretName": "app", "kmsKeyRef": {"name": "ghost"},
                                                          "secretStringRef": {"name": "incomplete",
                                                                              "key": "AWS_ACCESS_KEY_ID"}},
         reason="DependencyNotReady", waits=True),
    Case("cert-domain", "Certificate", {**AWS, "domainName": "not a domain"}, rejected="spec.domainName"),
    Case("cert-validation-method", "Certificate", {**AWS, "domainName": "shop.example.com", "validationMethod": "FAX"},
         rejected="spec.validationMethod"),
    Case("sqs-name", "SQSQueue", {**AWS, "queueName": "orders!"}, rejected="spec.queueName"),
    Case("sqs-delay", "SQSQueue", {**AWS, "queueName": "orders", "delaySeconds": 901}, rejected="spec.delaySeconds"),
    Case("sqs-key-dangling", "SQSQueue", {**AWS, "queueName": "orders", "kmsKeyRef": {"name": "ghost"}},
         reason="DependencyNotReady", waits=True),
    Case("sns-name", "SNSTopic", {**AWS, "topicName": "a b"}, rejected="spec.topicName"),
    Case("sns-key-dangling", "SNSTopic", {**AWS, "topicName": "events", "kmsKeyRef": {"name": "ghost"}},
         reason="DependencyNotReady", waits=True),
    Case("ddb-name", "DynamoDBTable", {**AWS, "tableName": "x"}, rejected="spec.tableName"),
    Case("ec-cluster-id", "ElastiCacheCluster", {**AWS, "clusterId": "Sessions_1", "engine": "redis",
                                                 "nodeType": "cache.t4g.micro"}, rejected="spec.clusterId"),
    Case("ec-engine", "ElastiCacheCluster", {**AWS, "clusterId": "sessions", "engine": "keydb",
                                             "nodeType": "cache.t4g.micro"}, rejected="spec.engine"),
    Case("ec-replicas", "ElastiCacheCluster", {**AWS, "clusterId": "sessions", "engine": "redis",
                                               "nodeType": "cache.t4g.micro", "replicasPerNodeGroup": 6},
         rejected="spec.replicasPerNodeGroup"),
    Case("ec-subnet-dangling", "ElastiCacheCluster", {**AWS, "clusterId": "sessions", "engine": "redis",
                                                      "nodeType": "cache.t4g.micro", "subnetRefs": [{"name": "ghost"}]},
         reason="DependencyNotReady", waits=True),
    Case("s3-name", "S3Bucket", {**AWS, "bucketName": "Not_A_Bucket"}, rejected="spec.bucketName"),
    Case("iam-session-duration", "IAMRole", {**AWS, "roleName": "app", "maxSessionDuration": 60},
         rejected="spec.maxSessionDuration"),
    Case("lambda-memory", "LambdaFunction", {**AWS, **FN, "memorySize": 64}, rejected="spec.memorySize"),
    Case("lambda-architecture", "LambdaFunction", {**AWS, **FN, "architecture": "sparc"}, rejected="spec.architecture"),
    Case("lambda-runtime", "LambdaFunction", {**AWS, **FN, "runtime": "cobol85"}, rejected="spec.runtime"),
    Case("lambda-code-no-key", "LambdaFunction", {**AWS, **FN, "code": {"s3Bucket": "code"}},
         rejected="spec.code.s3Key"),
    Case("lambda-role-dangling", "LambdaFunction", {**AWS, **{k: v for k, v in FN.items() if k != "role"},
                                                    "roleRef": {"name": "ghost"}},
         reason="DependencyNotReady", waits=True),
    Case("lambda-subnet-id-pattern", "LambdaFunction", {**AWS, **FN, "subnetIds": ["subnet-1"],
                                                        "securityGroupIds": ["sg-0123abcd"]},
         rejected="spec.subnetIds[0]"),
    Case("lambda-subnets-without-groups", "LambdaFunction", {**AWS, **FN, "subnetIds": [SUBNET_ID]},
         reason="InvalidSpec"),
    Case("lambda-alias-unpublished", "LambdaFunction", {**AWS, **FN, "alias": {"name": "live"}}, reason="InvalidSpec"),
    Case("lambda-alias-version-number", "LambdaFunction", {**AWS, **FN, "publish": True, "alias": {"name": "7"}},
         rejected="spec.alias.name"),
    Case("lambda-image-uri", "LambdaFunction", {**AWS, **FN_IMAGE, "image": {"uri": "docker.io/library/python:3"}},
         rejected="spec.image.uri"),
    Case("lambda-image-and-runtime", "LambdaFunction", {**AWS, **FN_IMAGE, "runtime": "python3.12"},
         reason="InvalidSpec"),
    Case("eks-version", "EKSCluster", {**AWS, **EKS, "version": "2"}, rejected="spec.version"),
    Case("eks-one-subnet", "EKSCluster", {**AWS, **EKS, "subnetIds": [SUBNET_ID]}, reason="InvalidSpec"),
    Case("eks-subnets-twice", "EKSCluster", {**AWS, **EKS, "subnetRefs": [{"name": "a"}, {"name": "b"}]},
         reason="ConflictingReference"),
    Case("eks-logging", "EKSCluster", {**AWS, **EKS, "logging": ["kubelet"]}, rejected="spec.logging[0]"),
    Case("eks-auth-mode", "EKSCluster", {**AWS, **EKS, "authenticationMode": "LDAP"},
         rejected="spec.authenticationMode"),
    Case("eks-key-dangling", "EKSCluster", {**AWS, **EKS, "encryption": {"kmsKeyRef": {"name": "ghost"}}},
         reason="DependencyNotReady", waits=True),
    Case("r53-record-type", "Route53RecordSet", {**AWS, "name": "a.example.com", "type": "MAGIC"}, rejected="spec.type"),
    Case("r53-zone-dangling", "Route53RecordSet", {**AWS, "name": "a.example.com", "type": "A",
                                                   "hostedZoneRef": {"name": "ghost"}, "records": ["192.0.2.1"], "ttl": 300},
         reason="DependencyNotReady", waits=True),
    Case("cf-price-class", "CloudFront", {**AWS, "priceClass": "Cheapest"}, rejected="spec.priceClass"),
    Case("alb-name", "ALB", {**AWS, "loadBalancerName": "-shop", "subnets": [SUBNET_ID, SUBNET_ID]},
         rejected="spec.loadBalancerName"),
    Case("alb-idle-timeout", "ALB", {**AWS, "loadBalancerName": "shop", "subnets": [SUBNET_ID], "idleTimeout": 0},
         rejected="spec.idleTimeout"),
    Case("alb-subnet-dangling", "ALB", {**AWS, "loadBalancerName": "shop",
                                        "subnetRefs": [{"name": "ghost-a"}, {"name": "ghost-b"}]},
         reason="DependencyNotReady", waits=True),
    Case("nlb-scheme", "NLB", {**AWS, "loadBalancerName": "db", "subnets": [SUBNET_ID], "scheme": "public"},
         rejected="spec.scheme"),
    Case("nlb-cross-zone-type", "NLB", {**AWS, "loadBalancerName": "db", "subnets": [SUBNET_ID],
                                        "enableCrossZoneLoadBalancing": "yes"},
         rejected="spec.enableCrossZoneLoadBalancing"),
    Case("nlb-subnet-dangling", "NLB", {**AWS, "loadBalancerName": "db", "subnetRefs": [{"name": "ghost"}]},
         reason="DependencyNotReady", waits=True),
    Case("apigw-protocol", "APIGateway", {**AWS, "name": "shop", "protocolType": "GRPC"}, rejected="spec.protocolType"),
    Case("ecr-name", "ECRRepository", {**AWS, "repositoryName": "Shop API"}, rejected="spec.repositoryName"),
    Case("ecr-mutability", "ECRRepository", {**AWS, "repositoryName": "shop/api", "imageTagMutability": "SOMETIMES"},
         rejected="spec.imageTagMutability"),
    Case("ecr-key-without-kms", "ECRRepository", {**AWS, "repositoryName": "shop/api", "encryptionConfiguration": {
        "encryptionType": "AES256", "kmsKey": "arn:aws:kms:us-east-1:123456789012:key/abcd-1234"}},
         reason="InvalidSpec"),
    Case("ecr-lifecycle-not-json", "ECRRepository", {**AWS, "repositoryName": "shop/api", "lifecyclePolicy": "{rules"},
         reason="InvalidPolicy"),
    Case("ecr-key-dangling", "ECRRepository", {**AWS, "repositoryName": "shop/api", "encryptionConfiguration": {
        "encryptionType": "KMS", "kmsKeyRef": {"name": "ghost"}}}, reason="DependencyNotReady", waits=True),
    Case("ecs-name", "ECSCluster", {**AWS, "clusterName": "shop cluster"}, rejected="spec.clusterName"),
    Case("ecs-insights-value", "ECSCluster", {**AWS, "clusterName": "shop", "settings": [
        {"name": "containerInsights", "value": "on"}]}, rejected="spec.settings[0].value"),
    Case("ecs-strategy-outside-providers", "ECSCluster", {**AWS, "clusterName": "shop", "capacityProviders": ["FARGATE"],
                                                         "defaultCapacityProviderStrategy": [
                                                             {"capacityProvider": "FARGATE_SPOT", "weight": 1}]},
         reason="InvalidSpec"),
    Case("ecs-exec-override-without-log", "ECSCluster", {**AWS, "clusterName": "shop", "configuration": {
        "executeCommandConfiguration": {"logging": "OVERRIDE"}}}, reason="InvalidSpec"),
    # RDSInstance: schema, rules the API server's CEL would refuse (answered by the kind), references.
    Case("rds-engine-enum", "RDSInstance", {**RDS, "engine": "cobol"}, rejected="spec.engine"),
    Case("rds-storage-small", "RDSInstance", {**RDS, "allocatedStorage": 5}, rejected="spec.allocatedStorage"),
    Case("rds-identifier-pattern", "RDSInstance", {**RDS, "dbInstanceIdentifier": "Orders_DB"},
         rejected="spec.dbInstanceIdentifier"),
    Case("rds-one-subnet", "RDSInstance", {**RDS, "subnetIds": ["subnet-0123abcd"]}, reason="InvalidSpec"),
    Case("rds-password-and-managed", "RDSInstance", {**RDS, "manageMasterUserPassword": True}, reason="InvalidSpec"),
    Case("rds-skip-snapshot-policy", "RDSInstance", {**RDS, "deletionPolicy": "Snapshot", "skipFinalSnapshot": True},
         reason="InvalidSpec"),
    Case("rds-subnets-dangling", "RDSInstance", {**{k: v for k, v in RDS.items() if k != "subnetIds"},
                                                 "subnetRefs": [{"name": "ghost-a"}, {"name": "ghost-b"}]},
         reason="DependencyNotReady", waits=True),
    # EC2KeyPair: one key source, the generated key's options, the Secret's reference.
    Case("keypair-no-name", "EC2KeyPair", {**AWS, "privateKeySecretRef": {"name": "k", "key": "id"}},
         rejected="spec.keyName"),
    Case("keypair-both-sources", "EC2KeyPair", {**AWS, "keyName": "k", "privateKeySecretRef": {"name": "k", "key": "id"},
                                                "publicKeyMaterial": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA=="},
         reason="InvalidSpec"),
    Case("keypair-no-source", "EC2KeyPair", {**AWS, "keyName": "k"}, reason="InvalidSpec"),
    Case("keypair-type-enum", "EC2KeyPair", {**AWS, "keyName": "k", "keyType": "dsa",
                                             "privateKeySecretRef": {"name": "k", "key": "id"}}, rejected="spec.keyType"),
    Case("keypair-public-key-pattern", "EC2KeyPair", {**AWS, "keyName": "k", "publicKeyMaterial": "not a key"},
         rejected="spec.publicKeyMaterial"),
    Case("keypair-secret-no-key", "EC2KeyPair", {**AWS, "keyName": "k", "privateKeySecretRef": {"name": "k"}},
         rejected="spec.privateKeySecretRef.key"),
    Case("keypair-secret-taken", "EC2KeyPair", {**AWS, "keyName": "k", "privateKeySecretRef": {"name": "incomplete",
                                                                                           "key": "id"}},
         reason="SecretTaken"),
    # EC2Instance: the AMI, the type, volumes, metadata options, references.
    Case("ec2-image-pattern", "EC2Instance", {**AWS, "imageId": "ubuntu", "instanceType": "t3.micro",
                                              "subnetId": SUBNET_ID}, rejected="spec.imageId"),
    Case("ec2-type-pattern", "EC2Instance", {**AWS, "imageId": "ami-0123abcd", "instanceType": "huge",
                                             "subnetId": SUBNET_ID}, rejected="spec.instanceType"),
    Case("ec2-tokens-enum", "EC2Instance", {**AWS, "imageId": "ami-0123abcd", "instanceType": "t3.micro",
                                            "subnetId": SUBNET_ID, "metadataOptions": {"httpTokens": "maybe"}},
         rejected="spec.metadataOptions.httpTokens"),
    Case("ec2-no-subnet", "EC2Instance", {**AWS, "imageId": "ami-0123abcd", "instanceType": "t3.micro"},
         reason="MissingReference"),
    Case("ec2-iops-on-gp2", "EC2Instance", {**AWS, "imageId": "ami-0123abcd", "instanceType": "t3.micro",
                                            "subnetId": SUBNET_ID,
                                            "rootVolume": {"sizeGiB": 8, "volumeType": "gp2", "iops": 3000}},
         reason="InvalidVolume"),
    Case("ec2-policy-enum", "EC2Instance", {**AWS, "imageId": "ami-0123abcd", "instanceType": "t3.micro",
                                            "subnetId": SUBNET_ID, "deletionPolicy": "Hibernate"},
         rejected="spec.deletionPolicy"),
    # AWSProvider: schema, and credentials that cannot be had.
    Case("provider-no-region", "AWSProvider", {"endpoint": ENDPOINT}, rejected="spec.region"),
    Case("provider-region-pattern", "AWSProvider", {"region": "mars-1"}, rejected="spec.region"),
    Case("provider-region-number", "AWSProvider", {"region": 1}, rejected="spec.region"),
    Case("provider-endpoint-scheme", "AWSProvider", {"region": "us-east-1", "endpoint": "ftp://x"},
         rejected="spec.endpoint"),
    Case("provider-credentials-empty", "AWSProvider", {"region": "us-east-1", "credentials": {}},
         rejected="spec.credentials.secretRef"),
    Case("provider-role-pattern", "AWSProvider", {"region": "us-east-1", "assumeRoleARN": "arn:aws:iam::12:role/x"},
         rejected="spec.assumeRoleARN"),
    Case("provider-external-id-short", "AWSProvider", {"region": "us-east-1", "externalID": "x"},
         rejected="spec.externalID"),
    Case("provider-session-name", "AWSProvider", {"region": "us-east-1", "sessionName": "a b"},
         rejected="spec.sessionName"),
    Case("provider-secret-missing", "AWSProvider", {"region": "us-east-1", "endpoint": ENDPOINT,
                                                    "credentials": {"secretRef": {"name": "missing"}}},
         reason="SecretNotFound", retries=True),
    Case("provider-secret-incomplete", "AWSProvider", {"region": "us-east-1", "endpoint": ENDPOINT,
                                                       "credentials": {"secretRef": {"name": "incomplete"}}},
         reason="SecretIncomplete", retries=True),
)
