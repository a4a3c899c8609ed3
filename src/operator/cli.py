"""The operator's side of the command line: the flags of `infra-operator run` and `sandbox` (they
fall back to INFRA_OPERATOR_* env), logging, /metrics, and `run` itself (a real cluster). The
command (`infra_operator.cli`) dispatches; the sandbox imports this module, never the reverse."""

from __future__ import annotations

import argparse
import dataclasses
import asyncio
import json
import logging
import os
import re
import signal
import sys
from typing import Mapping, Sequence, TextIO

from .. import telemetry as telemetry_api
from .engine.providers import SENSITIVE_SPEC_FIELDS
from .engine.reconciler import EngineSettings
from .kube import StartupProblem
from .leader import LeaseSettings
from .provider.ratelimit import DEFAULT_RATE, DEFAULT_RATES
from .logs import ObjectFields
from .settings import KubeSettings, OperatorConfig


class _JSONFormatter(logging.Formatter):
    # JSON field -> record attribute, present on lines about an object (see logs.py).
    OBJECT_FIELDS = {"kind": "object_kind", "namespace": "object_namespace", "name": "object_name",
                     "reason": "condition_reason"}

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "trace_id": getattr(record, "trace_id", ""),
            "span_id": getattr(record, "span_id", ""),
        }
        for field, attribute in self.OBJECT_FIELDS.items():
            if getattr(record, attribute, None):
                entry[field] = getattr(record, attribute)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


class _RedactSpecFields(logging.Filter):
    """Masks the values of sensitive spec fields wherever a message shows an object: as a dict
    (`'externalID': '…'`), as JSON (`"externalID":"…"`) or as JSON inside a string (kopf's
    last-handled-configuration annotation, `\\"externalID\\":\\"…\\"`)."""

    def __init__(self, fields: Sequence[str]) -> None:
        super().__init__()
        names = "|".join(map(re.escape, fields))
        self._pattern = re.compile(rf"""((?:{names})\\?["']\s*:\s*\\?["'])[^"'\\]*""")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self._pattern.sub(r"\1***", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def configure_logging(log_format: str, level: str, telemetry: telemetry_api.Telemetry,
                      stream: TextIO | None = None) -> None:
    """Root logging to `stream` (stderr by default), text or JSON lines, with trace ids."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(_RedactSpecFields(SENSITIVE_SPEC_FIELDS))
    handler.addFilter(telemetry.log_filter())
    handler.addFilter(ObjectFields())
    handler.addFilter(telemetry.export_error_filter())
    if log_format == "json":
        handler.setFormatter(_JSONFormatter())
    else:
        handler.setFormatter(logging.Formatter(
            "%(asctime)s %(levelname)-7s %(name)s [trace=%(trace_id)s span=%(span_id)s] %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Per-request debug logs of the AWS SDK would be far too chatty at INFO.
    for noisy in ("botocore", "boto3", "urllib3", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _env(name: str, default: str | None = None, environ: Mapping[str, str] = os.environ) -> str | None:
    return environ.get(f"INFRA_OPERATOR_{name}", default)


def _address(value: str) -> str | None:
    if value.lower() in ("", "off", "none", "0"):
        return None
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) < 65536:  # port 0: any free port
        raise argparse.ArgumentTypeError(f"expected host:port or 'off', got {value!r}")
    return f"{host or '0.0.0.0'}:{port}"


def _positive(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {value!r}") from None
    if number <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {value!r}")
    return number


# The engine's delays by flag name: EngineSettings fields of seconds, without "_delay".
DELAYS = {f.name.removesuffix("_delay").replace("_", "-"): f.name for f in dataclasses.fields(EngineSettings)
          if f.type in ("float", float) and f.name != "backoff_jitter"}


def _delay(value: str) -> tuple[str, float]:
    name, _, seconds = value.partition("=")
    if name not in DELAYS:
        raise argparse.ArgumentTypeError(f"unknown delay {name!r}; known: {', '.join(DELAYS)}")
    return DELAYS[name], _positive(seconds)


def _service_rate(value: str) -> tuple[str, float]:
    service, sep, rate = value.partition("=")
    try:
        number = float(rate)
    except ValueError:
        number = -1.0
    if not sep or not service or number < 0:
        raise argparse.ArgumentTypeError(f"expected SERVICE=REQUESTS_PER_SECOND (e.g. ec2=20), got {value!r}")
    return service, number


def _log_flags(command: argparse.ArgumentParser, environ: Mapping[str, str] | None) -> None:
    """--log-format, --log-level and --retry-warning-after; with `environ`, INFRA_OPERATOR_*
    give the defaults."""
    env = {} if environ is None else environ

    def named(variable: str) -> str:
        return f" [INFRA_OPERATOR_{variable}]" if environ is not None else ""

    command.add_argument("--log-format", choices=("text", "json"), default=_env("LOG_FORMAT", "text", env),
                         help="log format; json carries trace_id/span_id, the object's kind/namespace/name and "
                              "the condition reason (default text)" + named("LOG_FORMAT"))
    command.add_argument("--log-level", choices=("DEBUG", "INFO", "WARNING", "ERROR"),
                         default=(_env("LOG_LEVEL", "INFO", env) or "INFO").upper(),
                         help="log level (default INFO)" + named("LOG_LEVEL"))
    command.add_argument("--retry-warning-after", type=_positive, metavar="SECONDS",
                         default=_env("RETRY_WARNING_AFTER", "300", env),
                         help="an object still retrying (not Ready) after this many seconds is logged once as "
                              "a WARNING; earlier retries log at DEBUG (default 300)" + named("RETRY_WARNING_AFTER"))


def parser(environ: Mapping[str, str] = os.environ) -> argparse.ArgumentParser:
    """`environ` gives the INFRA_OPERATOR_* defaults of `run`. They stay strings: argparse
    converts (and reports) them like flags."""

    def env(name: str, default: str | None = None) -> str | None:
        return _env(name, default, environ)

    top = argparse.ArgumentParser(prog="infra-operator", description=__doc__)
    commands = top.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the operator against a Kubernetes cluster",
                              description="Run the operator against the cluster of the in-cluster "
                                          "service account or the kubeconfig. OTEL_* variables configure export.")
    scope = run.add_mutually_exclusive_group()
    scope.add_argument("--namespace", "-n", action="append", default=None, metavar="NS",
                       help="serve this namespace (repeatable, globs allowed) [INFRA_OPERATOR_NAMESPACE, comma-separated]")
    scope.add_argument("--all-namespaces", "-A", action="store_true",
                       default=env("ALL_NAMESPACES", "") in ("1", "true"),
                       help="serve every namespace (the default when no namespace is given) "
                            "[INFRA_OPERATOR_ALL_NAMESPACES=true]")
    run.add_argument("--metrics-address", type=_address, metavar="HOST:PORT", default=env("METRICS_ADDRESS", "0.0.0.0:8080"),
                     help="host:port of /metrics, or 'off' (default 0.0.0.0:8080) [INFRA_OPERATOR_METRICS_ADDRESS]")
    run.add_argument("--liveness-address", type=_address, metavar="HOST:PORT", default=env("LIVENESS_ADDRESS", "0.0.0.0:8081"),
                     help="host:port of /healthz, or 'off' (default 0.0.0.0:8081) [INFRA_OPERATOR_LIVENESS_ADDRESS]")
    run.add_argument("--resync-interval", type=_positive, metavar="SECONDS", default=env("RESYNC_INTERVAL", "300"),
                     help="seconds between drift checks of each resource (default 300) [INFRA_OPERATOR_RESYNC_INTERVAL]")
    run.add_argument("--describe-cache", choices=("on", "off"), default=env("DESCRIBE_CACHE", "on"),
                     help="on: one describe of all managed resources of a kind answers a resync round's "
                          "drift checks; off: one describe per drift check (default on) "
                          "[INFRA_OPERATOR_DESCRIBE_CACHE]")
    run.add_argument("--provider-check-interval", type=_positive, metavar="SECONDS",
                     default=env("PROVIDER_CHECK_INTERVAL", "300"),
                     help="seconds between credential checks of each AWSProvider (default 300) "
                          "[INFRA_OPERATOR_PROVIDER_CHECK_INTERVAL]")
    run.add_argument("--delay", type=_delay, action="append", metavar="NAME=SECONDS",
                     default=[_delay(item) for item in env("DELAYS", "").split(",") if item],
                     help="set one of the engine's delays in seconds (repeatable; default in brackets): "
                          + ", ".join(f"{name} ({getattr(EngineSettings, field):g})" for name, field in DELAYS.items())
                          + "; see docs/engine.md [INFRA_OPERATOR_DELAYS, comma-separated]")
    run.add_argument("--workers", type=int, metavar="N", default=env("WORKERS", "32"),
                     help="concurrent reconcile threads (default 32) [INFRA_OPERATOR_WORKERS]")
    run.add_argument("--aws-rate-limit", action="append", type=_service_rate, metavar="SERVICE=RATE",
                     default=None,
                     help="requests per second per AWSProvider to an AWS service, e.g. ec2=20 (repeatable; '*' for "
                          "every other service, 0 for no limit; defaults: "
                          + ", ".join(f"{service}={rate:g}" for service, rate in DEFAULT_RATES.items())
                          + f", others {DEFAULT_RATE:g}) [INFRA_OPERATOR_AWS_RATE_LIMIT, comma-separated]")
    run.add_argument("--label-selector", metavar="SELECTOR", default=env("LABEL_SELECTOR"),
                     help="serve only our objects with these labels, e.g. shard=a: one shard of several "
                          "Deployments [INFRA_OPERATOR_LABEL_SELECTOR]")
    _log_flags(run, environ)
    election = run.add_argument_group("leader election (one acting replica of several)")
    election.add_argument("--leader-election", action="store_true",
                          default=env("LEADER_ELECTION", "") in ("1", "true"),
                          help="act only while holding a coordination.k8s.io Lease; otherwise stand by, serving "
                               "/metrics and /healthz [INFRA_OPERATOR_LEADER_ELECTION=true]")
    election.add_argument("--lease-name", metavar="NAME", default=env("LEASE_NAME", "infra-operator"),
                          help="the Lease's name (default infra-operator) [INFRA_OPERATOR_LEASE_NAME]")
    election.add_argument("--lease-namespace", metavar="NS",
                          default=env("LEASE_NAMESPACE", environ.get("POD_NAMESPACE") or "default"),
                          help="the Lease's namespace (default: POD_NAMESPACE, else default) "
                               "[INFRA_OPERATOR_LEASE_NAMESPACE]")
    election.add_argument("--lease-duration", type=_positive, metavar="SECONDS", default=env("LEASE_DURATION", "10"),
                          help="seconds a standby waits after the leader's last renewal before taking over "
                               "(default 10) [INFRA_OPERATOR_LEASE_DURATION]")
    election.add_argument("--renew-deadline", type=_positive, metavar="SECONDS", default=env("RENEW_DEADLINE", "7"),
                          help="seconds the leader tries to renew before it stops acting; less than the lease "
                               "duration (default 7) [INFRA_OPERATOR_RENEW_DEADLINE]")
    election.add_argument("--retry-period", type=_positive, metavar="SECONDS", default=env("RETRY_PERIOD", "2"),
                          help="seconds between renewals and between a standby's tries (default 2) "
                               "[INFRA_OPERATOR_RETRY_PERIOD]")
    peering = run.add_mutually_exclusive_group()
    peering.add_argument("--peering", metavar="NAME", default=env("PEERING"),
                         help="join kopf peering NAME for high availability (one active replica) [INFRA_OPERATOR_PEERING]")
    peering.add_argument("--standalone", action="store_true", help="no peering (default)")
    run.add_argument("--server", default=env("SERVER"), help=argparse.SUPPRESS)

    sandbox = commands.add_parser(
        "sandbox", help="run everything locally: embedded AWS endpoint, Kubernetes API emulation, operator, samples",
        description="Start an embedded AWS endpoint (moto) and a Kubernetes API emulation on 127.0.0.1, install "
                    "the CRDs, apply samples/*.yaml, run the operator against them and show what its metrics and "
                    "traces say. OTEL_* variables configure export. Needs the 'sandbox' extra.")
    sandbox.add_argument("--metrics-address", type=_address, metavar="HOST:PORT", default="127.0.0.1:8080",
                         help="host:port of /metrics, or 'off' (default 127.0.0.1:8080)")
    sandbox.add_argument("--resync-interval", type=_positive, metavar="SECONDS", default="10",
                         help="seconds between drift checks of each resource (default 10)")
    sandbox.add_argument("--drift", action="store_true",
                         help="change tags, security-group rules and addresses out of band, one change every "
                              "--drift-interval, so drift is detected and healed")
    sandbox.add_argument("--drift-interval", type=_positive, metavar="SECONDS", default="20",
                         help="seconds between out-of-band changes with --drift (default 20)")
    sandbox.add_argument("--show-traces", action="store_true",
                         help="print the latest reconciles as span trees (AWS calls with durations and outcomes)")
    sandbox.add_argument("--duration", type=_positive, default=None, metavar="SECONDS",
                         help="stop cleanly after this many seconds (default: run until Ctrl-C)")
    sandbox.add_argument("--kube-address", type=_address, metavar="HOST:PORT", default="127.0.0.1:0",
                         help="host:port of the Kubernetes API emulation (default 127.0.0.1:0, a free port)")
    sandbox.add_argument("--aws-address", type=_address, metavar="HOST:PORT", default="127.0.0.1:0",
                         help="host:port of the embedded AWS endpoint (default 127.0.0.1:0, a free port)")
    sandbox.add_argument("--log-file", metavar="PATH", default=None,
                         help="write logs here (default: stderr; a file in the temp directory when the "
                              "summary is redrawn live)")
    _log_flags(sandbox, None)
    sandbox.add_argument("--plain", action="store_true",
                         help="print the summary as periodic lines even on a terminal (default when not a terminal)")
    return top


def _lease(args: argparse.Namespace) -> LeaseSettings | None:
    if not args.leader_election:
        return None
    if args.peering and not args.standalone:
        raise ValueError("--leader-election and --peering both pick one acting replica: choose one")
    return LeaseSettings(name=args.lease_name, namespace=args.lease_namespace, duration=args.lease_duration,
                         renew_deadline=args.renew_deadline, retry_period=args.retry_period)


def config_from_args(args: argparse.Namespace) -> OperatorConfig:
    """The configuration the parsed flags describe; ValueError when they contradict each other."""
    namespaces = tuple(args.namespace or [n for n in (_env("NAMESPACE") or "").split(",") if n])
    rates = args.aws_rate_limit or [_service_rate(item) for item in (_env("AWS_RATE_LIMIT") or "").split(",") if item]
    return OperatorConfig(
        kube=KubeSettings(namespaces=namespaces, clusterwide=args.all_namespaces or not namespaces,
                          server=args.server, peering=None if args.standalone else args.peering,
                          lease=_lease(args), label_selector=args.label_selector or None),
        aws_rate_limits=dict(rates),
        resync_interval=args.resync_interval,
        engine=EngineSettings(describe_cache=args.describe_cache == "on", **dict(args.delay)),
        provider_check_interval=args.provider_check_interval,
        metrics_address=args.metrics_address,
        liveness_address=args.liveness_address,
        workers=args.workers,
        log_format=args.log_format,
        log_level=args.log_level,
        retry_warning_after=args.retry_warning_after,
    )


def serve_metrics(telemetry: telemetry_api.Telemetry, address: str | None) -> telemetry_api.MetricsServer | None:
    """Serve /metrics on host:port (None: not at all); a taken port is a StartupProblem."""
    if not address:
        return None
    host, _, port = address.rpartition(":")
    try:
        return telemetry.serve_metrics(host, int(port))
    except OSError as exc:
        raise StartupProblem(f"cannot serve /metrics on {address}: {exc.strerror or exc}; choose another address "
                             "with --metrics-address HOST:PORT (or 'off')") from None


def run(config: OperatorConfig) -> int:
    from .wiring import check_cluster, run_operator  # kopf is imported only when the operator runs

    telemetry = telemetry_api.setup_telemetry(telemetry_api.TelemetrySettings.from_env())
    configure_logging(config.log_format, config.log_level, telemetry)
    log = logging.getLogger("infra_operator")
    try:
        check_cluster(config)
        server = serve_metrics(telemetry, config.metrics_address)
    except StartupProblem as problem:
        log.error("%s", problem)
        telemetry.shutdown()
        return 1
    if server:
        log.info("serving metrics on %s", server.url)

    async def main_loop() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_operator(config, telemetry, stop_flag=stop)

    try:
        asyncio.run(main_loop())
    except Exception as exc:  # a clear line, not a traceback, for setup problems
        log.error("operator stopped: %s: %s", type(exc).__name__, exc)
        return 1
    finally:
        telemetry.shutdown()
    return 0
