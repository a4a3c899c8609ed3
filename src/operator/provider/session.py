"""AWS sessions per AWSProvider: credentials (Secret, default chain, assumed role refreshed
before expiry), endpoint override, retry policy, client-side request rates, and a cache of
clients."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import RefreshableCredentials

from .errors import ProviderNotReady
from .errors import classify
from .ratelimit import RateLimits


# Services with one global endpoint, and the region that signs their requests (the aws
# partition; CloudFront's certificates live in ACM in us-east-1 too, asked for by region).
GLOBAL_SERVICES = {"iam": "us-east-1", "cloudfront": "us-east-1", "route53": "us-east-1",
                   "organizations": "us-east-1"}


@dataclass(frozen=True)
class StaticCredentials:
    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class AssumeRole:
    role_arn: str
    external_id: str | None = field(default=None, repr=False)
    session_name: str = "infra-operator"
    duration_seconds: int = 3600


@dataclass(frozen=True)
class ProviderConfig:
    """What an AWSProvider resolves to. repr never shows secret values."""

    name: str  # namespace/name: the metric's provider_name
    region: str
    endpoint: str | None = None
    credentials: StaticCredentials | None = None  # None: the default chain (IRSA, instance role)
    assume_role: AssumeRole | None = None
    max_attempts: int = 5
    connect_timeout: float = 5.0
    read_timeout: float = 20.0


class ProviderSession:
    """One provider's boto3 session and its clients. Clients are thread-safe and cached per
    service: creating one costs milliseconds and a few MB, so they are built once."""

    def __init__(self, config: ProviderConfig, *,
                 instrument: Callable[[Any], None] = lambda events: None,
                 on_rotation: Callable[[str], None] = lambda provider: None,
                 rate_limits: Mapping[str, float] | None = None):
        """`rate_limits`: requests per second per service of this provider's clients (see
        ratelimit.DEFAULT_RATES)."""
        self.config = config
        self._rate_limits = RateLimits(rate_limits)
        self._on_rotation = on_rotation
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        self._botocore_config = Config(
            region_name=config.region,
            retries={"mode": "standard", "total_max_attempts": config.max_attempts},
            connect_timeout=config.connect_timeout,
            read_timeout=config.read_timeout,
        )
        try:
            self.session = self._build_session(instrument)
        except Exception as exc:  # assuming the role failed: the provider is not usable yet
            error = classify(exc)
            if error is None:
                raise
            raise ProviderNotReady(f"STS AssumeRole failed: {error.message}") from exc

    def _build_session(self, instrument: Callable[[Any], None]) -> boto3.Session:
        core = botocore.session.get_session()
        creds = self.config.credentials
        base = boto3.Session(
            botocore_session=core,
            region_name=self.config.region,
            aws_access_key_id=creds.access_key_id if creds else None,
            aws_secret_access_key=creds.secret_access_key if creds else None,
            aws_session_token=creds.session_token if creds else None,
        )
        instrument(base.events)
        if not self.config.assume_role:
            return base
        sts = base.client("sts", endpoint_url=self.config.endpoint, config=self._botocore_config)
        role = self.config.assume_role
        first = True

        def refresh() -> dict[str, str]:
            nonlocal first
            kwargs = {"RoleArn": role.role_arn, "RoleSessionName": role.session_name,
                      "DurationSeconds": role.duration_seconds}
            if role.external_id:
                kwargs["ExternalId"] = role.external_id
            issued = sts.assume_role(**kwargs)["Credentials"]
            if not first:
                self._on_rotation(self.config.name)
            first = False
            return {
                "access_key": issued["AccessKeyId"],
                "secret_key": issued["SecretAccessKey"],
                "token": issued["SessionToken"],
                "expiry_time": issued["Expiration"].isoformat(),
            }

        assumed_core = botocore.session.get_session()
        # botocore refreshes these before expiry (advisory window 15 min) on the next call.
        assumed_core._credentials = RefreshableCredentials.create_from_metadata(
            metadata=refresh(), refresh_using=refresh, method="sts-assume-role")
        assumed = boto3.Session(botocore_session=assumed_core, region_name=self.config.region)
        instrument(assumed.events)
        return assumed

    @property
    def region(self) -> str:
        return self.config.region

    def client(self, service: str, region: str | None = None) -> Any:
        """The client for `service` in `region` (default: the provider's; a global service's
        own region, e.g. IAM's us-east-1), built on first use."""
        region = region or GLOBAL_SERVICES.get(service) or self.config.region
        key = (service, region)
        cached = self._clients.get(key)  # a built client is found without waiting on a build
        if cached is not None:
            return cached
        # One build at a time: a boto3 session is not safe to build clients from concurrently.
        with self._lock:
            cached = self._clients.get(key)
            if cached is None:
                config = self._botocore_config.merge(Config(region_name=region))
                cached = self.session.client(service, region_name=region, endpoint_url=self.config.endpoint,
                                             config=config)
                self._rate_limits.attach(cached, service)
                self._clients[key] = cached  # only once its rate limit is on
            return cached

    def caller_identity(self) -> Mapping[str, str]:
        """STS GetCallerIdentity: proves the credentials (and the assumed role) work."""
        try:
            return self.client("sts").get_caller_identity()
        except Exception as exc:  # any failure means the provider is not usable
            error = classify(exc)
            if error is None:
                raise
            raise ProviderNotReady(f"STS GetCallerIdentity failed: {error.message}") from exc
