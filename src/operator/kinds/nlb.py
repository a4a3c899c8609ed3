"""NLB: a Network Load Balancer with TCP/TLS/UDP target groups and listeners that forward,
cross-zone load balancing as a spec choice (`services/elbv2.py` holds what both load balancer kinds share)."""

from __future__ import annotations

from ..services.elbv2 import LoadBalancer


class NLB(LoadBalancer):
    kind = "NLB"
    plural = "nlbs"
    short_names = ("nlb",)
    description = ("A Network Load Balancer with its attributes, target groups and listeners (forwarding to a "
                   "target group). Ready once AWS reports it active.")
    lb_type = "network"
    listener_protocols = ("TCP", "TLS", "UDP", "TCP_UDP")
    target_protocols = ("TCP", "TLS", "UDP", "TCP_UDP")
    action_types = ("forward",)
    own_attributes = {"enableCrossZoneLoadBalancing": ("load_balancing.cross_zone.enabled", False)}
    own_properties = {
        "enableCrossZoneLoadBalancing": {"type": "boolean", "default": False,
                                         "description": "Spread each zone's traffic over the targets of every "
                                                        "zone."},
    }
