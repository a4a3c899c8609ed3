"""ALB and NLB through the engine against moto over HTTP, without kopf: create (in progress while
provisioning), attributes, target groups, listeners and rules reconciled as sets, drift healed,
deletion protection held until the spec turns it off, delete (target groups released), Retain,
adoption by owner tag, a taken name, references, bad input stopped before AWS.

moto differs from AWS here: it makes a second load balancer of one name (the NameTaken check
is the kind's own), does not enforce deletion protection (the kind holds it from the attribute),
answers every describe `active` (the provisioning state comes from the fault injector), its
tagging API does not list listeners (nothing relies on it), and a certificate a deleted load
balancer used stays in use."""

from __future__ import annotations

import moto.settings
import pytest

from conftest import (Cluster, calls_of, check_adoption_after_a_lost_status_write, check_name_taken, check_retain,
                      check_stopped_before_aws, converge, delete_all, kind_metrics, make_engine, ready_reason, reasons)

SERVICE = "ELBv2"


@pytest.fixture
def network(aws):
    """A VPC with two subnets in two zones and a security group, made directly in moto."""
    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.40.{i}.0/24", AvailabilityZone=f"us-east-1{zone}")[
        "Subnet"]["SubnetId"] for i, zone in ((1, "a"), (2, "b"))]
    group = ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc)["GroupId"]
    return {"vpc": vpc, "subnets": subnets, "group": group}


def certificate(aws) -> str:
    return aws.client("acm").request_certificate(DomainName="shop.example.com")["CertificateArn"]


def alb_spec(network, cert: str, **more):
    return {"loadBalancerName": "shop", "subnets": network["subnets"], "securityGroups": [network["group"]],
            "targetGroups": [
                {"name": "shop-web", "protocol": "HTTP", "port": 8080, "targetType": "ip", "vpcId": network["vpc"],
                 "healthCheck": {"path": "/health", "intervalSeconds": 15}},
                {"name": "shop-api", "protocol": "HTTP", "port": 9090, "vpcId": network["vpc"]}],
            "listeners": [
                {"port": 80, "protocol": "HTTP",
                 "defaultAction": {"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443",
                                                                    "statusCode": "HTTP_301"}}},
                {"port": 443, "protocol": "HTTPS", "certificateArn": cert,
                 "defaultAction": {"type": "forward", "targetGroupName": "shop-web"},
                 "rules": [{"priority": 10, "conditions": [{"field": "path-pattern", "values": ["/api/*"]}],
                            "action": {"type": "forward", "targetGroupName": "shop-api"}},
                           {"priority": 20, "conditions": [{"field": "host-header", "values": ["old.shop.example"]}],
                            "action": {"type": "fixed-response",
                                       "fixedResponse": {"statusCode": "410", "contentType": "text/plain",
                                                         "messageBody": "gone"}}}]}],
            **more}


def nlb_spec(network, **more):
    return {"loadBalancerName": "shop-tcp", "scheme": "internal", "subnets": network["subnets"][:1],
            "enableCrossZoneLoadBalancing": True,
            "targetGroups": [{"name": "shop-tcp", "protocol": "TCP", "port": 5432, "vpcId": network["vpc"]}],
            "listeners": [{"port": 5432, "protocol": "TCP",
                           "defaultAction": {"type": "forward", "targetGroupName": "shop-tcp"}}],
            **more}


def listeners(elbv2, arn):
    found = {}
    for listener in elbv2.describe_listeners(LoadBalancerArn=arn)["Listeners"]:
        rules = elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]
        found[listener["Port"]] = {"protocol": listener["Protocol"], "default": listener["DefaultActions"][0]["Type"],
                                   "rules": {int(r["Priority"]): r["Actions"][0]["Type"] for r in rules
                                             if not r["IsDefault"]}}
    return found


def attributes(elbv2, arn):
    return {a["Key"]: a["Value"] for a in elbv2.describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"]}


def groups(elbv2):
    return {g["TargetGroupName"]: g for g in elbv2.describe_target_groups()["TargetGroups"]}


def test_alb_create_update_drift_delete(aws, telemetry, calls, network):
    elbv2 = aws.client("elbv2")
    cert = certificate(aws)
    cluster = Cluster(make_engine(aws, telemetry, calls))
    cluster.apply("ALB", "shop", alb_spec(network, cert, idleTimeout=120, tags={"team": "shop"}))
    created = converge(cluster, [("ALB", "shop")])[-1][1]
    assert ready_reason(created) == "Available" and reasons(created) == ["Created", "Updated"]
    status = cluster.status("ALB", "shop")
    arn = status["loadBalancerArn"]
    assert status["state"] == "active" and status["vpcId"] == network["vpc"]
    assert status["dnsName"].endswith(".elb.amazonaws.com") and status["canonicalHostedZoneId"]
    assert sorted(status["targetGroupArns"]) == ["shop-api", "shop-web"]
    assert sorted(status["listenerArns"]) == ["443", "80"]
    assert listeners(elbv2, arn) == {80: {"protocol": "HTTP", "default": "redirect", "rules": {}},
                                     443: {"protocol": "HTTPS", "default": "forward",
                                           "rules": {10: "forward", 20: "fixed-response"}}}
    assert attributes(elbv2, arn)["idle_timeout.timeout_seconds"] == "120"
    web = groups(elbv2)["shop-web"]
    assert (web["HealthCheckPath"], web["HealthCheckIntervalSeconds"], web["TargetType"]) == ("/health", 15, "ip")
    owner = {t["Key"]: t["Value"] for t in elbv2.describe_tags(ResourceArns=[web["TargetGroupArn"]])[
        "TagDescriptions"][0]["Tags"]}
    assert owner["infra-operator.dev/owner-uid"] == cluster.uid("ALB", "shop")

    # In place: an attribute, a health check, a rule changed, one removed, one added, a target
    # group added and the redirect listener now answering itself.
    spec = alb_spec(network, cert, idleTimeout=30, tags={"team": "shop"})
    spec["targetGroups"][0]["healthCheck"]["path"] = "/ready"
    spec["targetGroups"].append({"name": "shop-v2", "protocol": "HTTP", "port": 8081, "vpcId": network["vpc"]})
    spec["listeners"][0]["defaultAction"] = {"type": "fixed-response", "fixedResponse": {"statusCode": "404"}}
    spec["listeners"][1]["rules"] = [
        {"priority": 10, "conditions": [{"field": "path-pattern", "values": ["/api/*", "/v1/*"]}],
         "action": {"type": "forward", "targetGroupName": "shop-api"}},
        {"priority": 30, "conditions": [{"field": "http-request-method", "values": ["POST"]}],
         "action": {"type": "forward", "targetGroupName": "shop-v2"}}]
    cluster.apply("ALB", "shop", spec)
    updated = converge(cluster, [("ALB", "shop")])[-1][1]
    assert reasons(updated) == ["Updated"]
    assert listeners(elbv2, arn)[80]["default"] == "fixed-response"
    assert listeners(elbv2, arn)[443]["rules"] == {10: "forward", 30: "forward"}
    assert attributes(elbv2, arn)["idle_timeout.timeout_seconds"] == "30"
    assert groups(elbv2)["shop-web"]["HealthCheckPath"] == "/ready" and "shop-v2" in groups(elbv2)

    # Out of band: a rule deleted (critical: listeners), the idle timeout changed (warning).
    rule = next(r for r in elbv2.describe_rules(ListenerArn=status["listenerArns"]["443"])["Rules"]
                if r["Priority"] == "30")
    elbv2.delete_rule(RuleArn=rule["RuleArn"])
    elbv2.modify_load_balancer_attributes(LoadBalancerArn=arn, Attributes=[
        {"Key": "idle_timeout.timeout_seconds", "Value": "600"}])
    healed = cluster.reconcile("ALB", "shop", "resync")
    assert reasons(healed) == ["DriftHealed"] and "listeners" in healed.events[0].message
    assert listeners(elbv2, arn)[443]["rules"] == {10: "forward", 30: "forward"}
    assert attributes(elbv2, arn)["idle_timeout.timeout_seconds"] == "30"
    assert reasons(cluster.reconcile("ALB", "shop", "resync")) == []

    delete_all(cluster, [("ALB", "shop")])
    assert elbv2.describe_load_balancers()["LoadBalancers"] == []
    assert not set(groups(elbv2)) & {"shop-web", "shop-api", "shop-v2"}
    samples = telemetry.sample_values()
    assert kind_metrics(samples, "ALB") == {"drift critical": 1, "drift warning": 1, "healed": 1,
                                            "reconcile success": 4}
    assert calls_of(samples, SERVICE, "CreateLoadBalancer", "CreateTargetGroup", "CreateListener", "CreateRule",
                    "DeleteRule", "ModifyRule", "ModifyListener", "ModifyTargetGroup", "DeleteLoadBalancer",
                    "DeleteTargetGroup") == {
        "CreateLoadBalancer": 1, "CreateTargetGroup": 3, "CreateListener": 2, "CreateRule": 4, "DeleteRule": 1,
        "ModifyRule": 1, "ModifyListener": 1, "ModifyTargetGroup": 1, "DeleteLoadBalancer": 1, "DeleteTargetGroup": 3}


def test_provisioning_is_in_progress_until_active(aws, cluster, network):
    """moto's load balancer is active at its first describe: the injector answers the first two
    describes with AWS's provisioning state."""
    aws.faults.rewrite("<Code>active</Code>", "<Code>provisioning</Code>", service="elasticloadbalancing",
                       operation="DescribeLoadBalancers", times=2)
    cluster.apply("NLB", "tcp", nlb_spec(network))
    first = cluster.reconcile("NLB", "tcp")
    assert ready_reason(first) == "Provisioning" and first.retry_after == 15.0
    assert cluster.status("NLB", "tcp")["state"] == "provisioning"
    converge(cluster, [("NLB", "tcp")])
    assert cluster.status("NLB", "tcp")["state"] == "active"
    assert aws.faults.count("rewrite") == 2
    delete_all(cluster, [("NLB", "tcp")])


def test_nlb_create_update_drift_delete(aws, telemetry, calls, network):
    elbv2 = aws.client("elbv2")
    cluster = Cluster(make_engine(aws, telemetry, calls))
    cluster.apply("NLB", "tcp", nlb_spec(network))
    converge(cluster, [("NLB", "tcp")])
    arn = cluster.status("NLB", "tcp")["loadBalancerArn"]
    lb = elbv2.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"][0]
    assert (lb["Type"], lb["Scheme"]) == ("network", "internal")
    assert attributes(elbv2, arn)["load_balancing.cross_zone.enabled"] == "true"
    assert listeners(elbv2, arn)[5432]["protocol"] == "TCP"

    spec = nlb_spec(network, enableCrossZoneLoadBalancing=False)
    spec["listeners"][0]["port"] = 6432  # a listener of another port: the old one goes
    cluster.apply("NLB", "tcp", spec)
    converge(cluster, [("NLB", "tcp")])
    assert attributes(elbv2, arn)["load_balancing.cross_zone.enabled"] == "false"
    assert set(listeners(elbv2, arn)) == {6432}

    elbv2.modify_load_balancer_attributes(LoadBalancerArn=arn, Attributes=[
        {"Key": "load_balancing.cross_zone.enabled", "Value": "true"}])
    assert reasons(cluster.reconcile("NLB", "tcp", "resync")) == ["DriftHealed"]
    assert attributes(elbv2, arn)["load_balancing.cross_zone.enabled"] == "false"
    delete_all(cluster, [("NLB", "tcp")])
    assert "shop-tcp" not in groups(elbv2)
    assert kind_metrics(telemetry.sample_values(), "NLB") == {"drift warning": 1, "healed": 1, "reconcile success": 3}


def test_deletion_protection_holds_until_the_spec_turns_it_off(aws, cluster, network):
    """moto deletes a protected load balancer: the kind holds it from the attribute."""
    elbv2 = aws.client("elbv2")
    cluster.apply("NLB", "tcp", nlb_spec(network, enableDeletionProtection=True))
    converge(cluster, [("NLB", "tcp")])
    arn = cluster.status("NLB", "tcp")["loadBalancerArn"]
    held = cluster.delete("NLB", "tcp")
    assert ready_reason(held) == "DeletionProtected" and held.retry_after and not held.permanent
    assert "enableDeletionProtection" in held.message
    assert elbv2.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"]
    cluster.apply("NLB", "tcp", nlb_spec(network, enableDeletionProtection=False))
    delete_all(cluster, [("NLB", "tcp")])
    assert elbv2.describe_load_balancers()["LoadBalancers"] == []


def test_retain_adoption_and_a_taken_name(aws, cluster, network):
    elbv2 = aws.client("elbv2")

    def tags(status):
        return {t["Key"]: t["Value"] for t in elbv2.describe_tags(ResourceArns=[status["loadBalancerArn"]])[
            "TagDescriptions"][0]["Tags"]}
    kept = check_retain(cluster, "NLB", nlb_spec(network), tags)
    group = groups(elbv2)["shop-tcp"]["TargetGroupArn"]
    assert not any(t["Key"].startswith("infra-operator.dev/")
                   for t in elbv2.describe_tags(ResourceArns=[group])["TagDescriptions"][0]["Tags"])
    check_name_taken(cluster, "NLB", nlb_spec(network, targetGroups=[], listeners=[]))
    elbv2.delete_load_balancer(LoadBalancerArn=kept)
    elbv2.delete_target_group(TargetGroupArn=group)
    check_adoption_after_a_lost_status_write(cluster, "NLB", nlb_spec(network))
    assert elbv2.describe_load_balancers()["LoadBalancers"] == [] and "shop-tcp" not in groups(elbv2)


def test_a_target_group_is_replaced_by_renaming_it(aws, cluster, network):
    elbv2 = aws.client("elbv2")
    cluster.apply("NLB", "tcp", nlb_spec(network))
    converge(cluster, [("NLB", "tcp")])
    moved = nlb_spec(network)
    moved["targetGroups"][0]["port"] = 6543
    cluster.apply("NLB", "tcp", moved)
    refused = cluster.reconcile("NLB", "tcp")
    assert ready_reason(refused) == "ReplacementRequired" and "shop-tcp: port" in refused.message
    renamed = nlb_spec(network, targetGroups=[{**moved["targetGroups"][0], "name": "shop-tcp2"}])
    renamed["listeners"][0]["defaultAction"]["targetGroupName"] = "shop-tcp2"
    cluster.apply("NLB", "tcp", renamed)
    converge(cluster, [("NLB", "tcp")])
    assert {"shop-tcp2"} <= set(groups(elbv2)) and "shop-tcp" not in groups(elbv2)
    delete_all(cluster, [("NLB", "tcp")])


def test_the_network_and_certificate_by_reference(aws, cluster, monkeypatch):
    monkeypatch.setattr(moto.settings, "ACM_VALIDATION_WAIT", -1)
    cluster.apply("VPC", "net", {"cidrBlock": "10.41.0.0/16"})
    for name, cidr, zone in (("a", "10.41.1.0/24", "us-east-1a"), ("b", "10.41.2.0/24", "us-east-1b")):
        cluster.apply("Subnet", name, {"vpcRef": {"name": "net"}, "cidrBlock": cidr, "availabilityZone": zone})
    cluster.apply("SecurityGroup", "web", {"vpcRef": {"name": "net"}, "groupName": "web", "description": "web"})
    cluster.apply("Certificate", "shop", {"domainName": "shop.example.com"})
    spec = {"loadBalancerName": "refs", "subnetRefs": [{"name": "a"}, {"name": "b"}],
            "securityGroupRefs": [{"name": "web"}],
            "targetGroups": [{"name": "refs-web", "protocol": "HTTP", "port": 80, "vpcRef": {"name": "net"}}],
            "listeners": [{"port": 443, "protocol": "HTTPS", "certificateRef": {"name": "shop"},
                           "defaultAction": {"type": "forward", "targetGroupName": "refs-web"}}]}
    cluster.apply("ALB", "refs", spec)
    waiting = cluster.reconcile("ALB", "refs")
    assert ready_reason(waiting) == "DependencyNotReady"
    keys = [("VPC", "net"), ("Subnet", "a"), ("Subnet", "b"), ("SecurityGroup", "web"), ("Certificate", "shop"),
            ("ALB", "refs")]
    converge(cluster, keys)
    lb = aws.client("elbv2").describe_load_balancers(LoadBalancerArns=[cluster.status("ALB", "refs")[
        "loadBalancerArn"]])["LoadBalancers"][0]
    assert sorted(z["SubnetId"] for z in lb["AvailabilityZones"]) == sorted(
        cluster.status("Subnet", n)["subnetId"] for n in "ab")
    assert lb["SecurityGroups"] == [cluster.status("SecurityGroup", "web")["groupId"]]
    listener = aws.client("elbv2").describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"][0]
    assert listener["Certificates"][0]["CertificateArn"] == cluster.status("Certificate", "shop")["certificateArn"]
    delete_all(cluster, [key for key in reversed(keys) if key[0] != "Certificate"])
    # moto never takes a deleted load balancer off a certificate's InUseBy: the certificate stays.
    assert ready_reason(cluster.delete("Certificate", "shop")) == "CertificateInUse"


FORWARD = {"type": "forward", "targetGroupName": "nowhere"}


@pytest.mark.parametrize("kind, change, reason", [
    ("ALB", {"listeners": [{"port": 80, "protocol": "HTTP", "defaultAction": FORWARD}]}, "UnknownTargetGroup"),
    ("ALB", {"listeners": [{"port": 443, "protocol": "HTTPS",
                            "defaultAction": {"type": "fixed-response", "fixedResponse": {"statusCode": "200"}}}]},
     "InvalidSpec"),
    ("ALB", {"subnets": ["subnet-12345678"]}, "InvalidSpec"),
    ("ALB", {"loadBalancerName": "internal-shop"}, "InvalidSpec"),
    ("NLB", {"targetGroups": [{"name": "a", "protocol": "TCP", "port": 1, "vpcId": "vpc-12345678"}] * 2},
     "DuplicateEntry"),
    ("NLB", {"listeners": [{"port": 1, "protocol": "TCP", "defaultAction": FORWARD}]}, "UnknownTargetGroup"),
    ("NLB", {"listeners": [{"port": 1, "protocol": "TLS", "defaultAction": {"type": "forward"}}]}, "InvalidSpec"),
    ("ALB", {"listeners": [{"port": 80, "protocol": "HTTP", "defaultAction": {"type": "redirect"}}]}, "InvalidSpec"),
])
def test_invalid_specs_stop_before_any_aws_call(cluster, calls, kind, change, reason):
    spec = {"loadBalancerName": "bad", "subnets": ["subnet-12345678", "subnet-87654321"], **change}
    check_stopped_before_aws(cluster, calls, kind, spec, reason)


def test_a_target_group_the_tagging_api_lists_after_its_deletion_is_skipped(aws, cluster, network):
    """The tagging API lags behind deletions: the bulk describe's TargetGroupNotFound makes the
    read describe the groups one by one, and nothing is created twice."""
    cluster.apply("NLB", "tcp", nlb_spec(network))
    converge(cluster, [("NLB", "tcp")])
    aws.faults.reject("TargetGroupNotFound", "One or more target groups not found", service="elasticloadbalancing",
                      operation="DescribeTargetGroups", times=1)
    assert reasons(cluster.reconcile("NLB", "tcp", "resync")) == []
    assert aws.faults.count("reject") == 1 and list(groups(aws.client("elbv2"))).count("shop-tcp") == 1
    delete_all(cluster, [("NLB", "tcp")])


def test_a_load_balancer_stripped_of_its_tags_keeps_its_target_groups(aws, cluster, network):
    """The owner tags removed out of band: the target groups are found through the listeners'
    (which carry them), nothing is created twice, and the tags come back."""
    elbv2 = aws.client("elbv2")
    cluster.apply("NLB", "tcp", nlb_spec(network))
    converge(cluster, [("NLB", "tcp")])
    arn = cluster.status("NLB", "tcp")["loadBalancerArn"]
    tags = elbv2.describe_tags(ResourceArns=[arn])["TagDescriptions"][0]["Tags"]
    elbv2.remove_tags(ResourceArns=[arn], TagKeys=[t["Key"] for t in tags])
    healed = cluster.reconcile("NLB", "tcp", "resync")
    assert reasons(healed) == ["DriftHealed"] and "tags" in healed.events[0].message, healed.message
    assert elbv2.describe_tags(ResourceArns=[arn])["TagDescriptions"][0]["Tags"] and len(groups(elbv2)) == 1
    delete_all(cluster, [("NLB", "tcp")])

