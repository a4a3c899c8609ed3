"""Operator settings: one tree of dataclasses with units and defaults, filled from flags and
INFRA_OPERATOR_* environment variables by the CLI."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from .engine.reconciler import EngineSettings
from .leader import LeaseSettings


@dataclass(frozen=True)
class KubeSettings:
    # Namespaces to serve (glob patterns allowed); empty with clusterwide=False means the
    # kubeconfig's current namespace.
    namespaces: tuple[str, ...] = ()
    clusterwide: bool = False
    # Explicit API server URL (sandbox, tests); None: in-cluster service account, else kubeconfig.
    server: str | None = None
    # HA: name of the kopf peering object; None runs standalone (no peering objects needed).
    peering: str | None = None
    # HA: the Lease that elects the one replica that acts; None: act without an election.
    lease: LeaseSettings | None = None
    # Sharding: serve only our objects matching this label selector (filtered by the API server).
    label_selector: str | None = None


@dataclass(frozen=True)
class OperatorConfig:
    kube: KubeSettings = field(default_factory=KubeSettings)
    engine: EngineSettings = field(default_factory=EngineSettings)
    # Seconds between drift checks of every resource.
    resync_interval: float = 300.0
    # Seconds between STS checks of every AWSProvider (and retry delay of an unready one).
    provider_check_interval: float = 300.0
    provider_retry_delay: float = 30.0
    # host:port of the Prometheus /metrics endpoint; None disables it.
    metrics_address: str | None = "0.0.0.0:8080"
    # host:port of kopf's liveness endpoint (/healthz); None disables it.
    liveness_address: str | None = "0.0.0.0:8081"
    # Concurrent handler threads (each AWS call blocks one).
    workers: int = 32
    # Requests per second per AWSProvider and AWS service ("*": every other service; 0: no
    # limit); unlisted services keep provider.ratelimit.DEFAULT_RATES.
    aws_rate_limits: Mapping[str, float] = field(default_factory=dict)
    log_format: str = "text"  # text | json
    log_level: str = "INFO"
    # Seconds an object may keep retrying (not Ready) before that is logged as a WARNING (once).
    retry_warning_after: float = 300.0
