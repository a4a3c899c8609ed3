"""One module per AWS kind; the registry is the list the engine and the wiring serve."""

from __future__ import annotations

from ..engine.kind import Kind
from .acm import Certificate
from .alb import ALB
from .apigateway import APIGateway
from .cloudfront import CloudFront
from .dynamodb import DynamoDBTable
from .ec2instance import EC2Instance
from .ec2keypair import EC2KeyPair
from .ecr import ECRRepository
from .ecs import ECSCluster
from .elasticache import ElastiCacheCluster
from .ekscluster import EKSCluster
from .elasticip import ElasticIP
from .iamrole import IAMRole
from .internetgateway import InternetGateway
from .kms import KMSKey
from .lambdafunction import LambdaFunction
from .natgateway import NATGateway
from .nlb import NLB
from .rds import RDSInstance
from .route53hostedzone import Route53HostedZone
from .route53recordset import Route53RecordSet
from .routetable import RouteTable
from .s3bucket import S3Bucket
from .secretsmanager import SecretsManagerSecret
from .securitygroup import SecurityGroup
from .sns import SNSTopic
from .sqs import SQSQueue
from .subnet import Subnet
from .vpc import VPC


def all_kinds() -> tuple[Kind, ...]:
    return (ElasticIP(), VPC(), Subnet(), InternetGateway(), NATGateway(), SecurityGroup(), RouteTable(),
            KMSKey(), SecretsManagerSecret(), Certificate(), SQSQueue(), SNSTopic(), DynamoDBTable(),
            Route53HostedZone(), Route53RecordSet(), APIGateway(), CloudFront(), IAMRole(), S3Bucket(),
            ECRRepository(), ECSCluster(), ElastiCacheCluster(), RDSInstance(), ALB(), NLB(), EC2KeyPair(),
            EC2Instance(), LambdaFunction(), EKSCluster())
