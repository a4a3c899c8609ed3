"""ALB: an Application Load Balancer in subnets of at least two zones, behind security groups,
with HTTP/HTTPS target groups and listeners whose rules route by host, path, method or source
address (`services/elbv2.py` holds what both load balancer kinds share)."""

from __future__ import annotations

from ..engine.kind import Reference
from ..services.ec2 import ID_PATTERN
from ..services.elbv2 import LoadBalancer


class ALB(LoadBalancer):
    kind = "ALB"
    plural = "albs"
    short_names = ("alb",)
    description = ("An Application Load Balancer with its attributes, target groups and listeners (default actions "
                   "forward, redirect or fixed-response; rules by priority). Ready once AWS reports it active.")
    lb_type = "application"
    listener_protocols = ("HTTP", "HTTPS")
    target_protocols = ("HTTP", "HTTPS")
    action_types = ("forward", "redirect", "fixed-response")
    rules = True
    min_subnets = 2
    own_attributes = {"enableHttp2": ("routing.http2.enabled", True),
                      "idleTimeout": ("idle_timeout.timeout_seconds", 60)}
    own_properties = {
        "enableHttp2": {"type": "boolean", "default": True},
        "idleTimeout": {"type": "integer", "minimum": 1, "maximum": 4000, "default": 60,
                        "description": "Seconds a connection may stay idle."},
    }
    own_references = (Reference("securityGroupRefs", "SecurityGroup", "securityGroups", ID_PATTERN.format("sg"),
                                required=False, many=True),)
