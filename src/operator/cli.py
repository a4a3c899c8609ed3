"""Command line: `infra-operator run` (a real cluster). Flags fall back to INFRA_OPERATOR_* env."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from typing import Sequence

from .. import telemetry as telemetry_api
from .engine.reconciler import EngineSettings
from .settings import KubeSettings, OperatorConfig


class _JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "trace_id": getattr(record, "trace_id", ""),
            "span_id": getattr(record, "span_id", ""),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure_logging(log_format: str, level: str, telemetry: telemetry_api.Telemetry) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(telemetry.log_filter())
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


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"INFRA_OPERATOR_{name}", default)


def _address(value: str) -> str | None:
    if value.lower() in ("", "off", "none", "0"):
        return None
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected host:port or 'off', got {value!r}")
    return f"{host or '0.0.0.0'}:{port}"


def _seconds(value: str, zero_allowed: bool) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {value!r}") from None
    if number < 0 or (number == 0 and not zero_allowed):
        raise argparse.ArgumentTypeError(f"expected a {'non-negative' if zero_allowed else 'positive'} "
                                         f"number of seconds, got {value!r}")
    return number


def _positive(value: str) -> float:
    return _seconds(value, zero_allowed=False)


def _non_negative(value: str) -> float:
    return _seconds(value, zero_allowed=True)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="infra-operator", description=__doc__)
    commands = top.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the operator against a Kubernetes cluster",
                              description="Run the operator against the cluster of the in-cluster "
                                          "service account or the kubeconfig. OTEL_* variables configure export.")
    scope = run.add_mutually_exclusive_group()
    scope.add_argument("--namespace", "-n", action="append", default=None, metavar="NS",
                       help="serve this namespace (repeatable, globs allowed) [INFRA_OPERATOR_NAMESPACE, comma-separated]")
    scope.add_argument("--all-namespaces", "-A", action="store_true",
                       default=_env("ALL_NAMESPACES", "") in ("1", "true"),
                       help="serve every namespace [INFRA_OPERATOR_ALL_NAMESPACES=true]")
    run.add_argument("--metrics-address", type=_address, default=_address(_env("METRICS_ADDRESS", "0.0.0.0:8080")),
                     help="host:port of /metrics, or 'off' (default 0.0.0.0:8080) [INFRA_OPERATOR_METRICS_ADDRESS]")
    run.add_argument("--liveness-address", type=_address, default=_address(_env("LIVENESS_ADDRESS", "0.0.0.0:8081")),
                     help="host:port of /healthz, or 'off' (default 0.0.0.0:8081) [INFRA_OPERATOR_LIVENESS_ADDRESS]")
    run.add_argument("--resync-interval", type=_positive, default=_positive(_env("RESYNC_INTERVAL", "300")),
                     help="seconds between drift checks of each resource (default 300) [INFRA_OPERATOR_RESYNC_INTERVAL]")
    run.add_argument("--describe-cache-ttl", type=_non_negative, default=_env("DESCRIBE_CACHE_TTL"),
                     help="seconds one describe of all managed resources of a kind answers drift checks; "
                          "0 turns the cache off (default and maximum: the resync interval) "
                          "[INFRA_OPERATOR_DESCRIBE_CACHE_TTL]")
    run.add_argument("--provider-check-interval", type=_positive,
                     default=_positive(_env("PROVIDER_CHECK_INTERVAL", "300")),
                     help="seconds between credential checks of each AWSProvider (default 300) "
                          "[INFRA_OPERATOR_PROVIDER_CHECK_INTERVAL]")
    run.add_argument("--workers", type=int, default=int(_env("WORKERS", "32")),
                     help="concurrent reconcile threads (default 32) [INFRA_OPERATOR_WORKERS]")
    run.add_argument("--log-format", choices=("text", "json"), default=_env("LOG_FORMAT", "text"),
                     help="log format; json carries trace_id/span_id (default text) [INFRA_OPERATOR_LOG_FORMAT]")
    run.add_argument("--log-level", choices=("DEBUG", "INFO", "WARNING", "ERROR"),
                     default=_env("LOG_LEVEL", "INFO").upper(), help="(default INFO) [INFRA_OPERATOR_LOG_LEVEL]")
    peering = run.add_mutually_exclusive_group()
    peering.add_argument("--peering", metavar="NAME", default=_env("PEERING"),
                         help="join kopf peering NAME for high availability (one active replica) [INFRA_OPERATOR_PEERING]")
    peering.add_argument("--standalone", action="store_true", help="no peering (default)")
    run.add_argument("--server", default=_env("SERVER"), help=argparse.SUPPRESS)
    return top


def config_from_args(args: argparse.Namespace) -> OperatorConfig:
    namespaces = tuple(args.namespace or [n for n in (_env("NAMESPACE") or "").split(",") if n])
    return OperatorConfig(
        kube=KubeSettings(namespaces=namespaces, clusterwide=args.all_namespaces or not namespaces,
                          server=args.server, peering=None if args.standalone else args.peering),
        resync_interval=args.resync_interval,
        engine=EngineSettings(describe_cache_ttl=(args.resync_interval if args.describe_cache_ttl is None
                                                  else args.describe_cache_ttl)),
        provider_check_interval=args.provider_check_interval,
        metrics_address=args.metrics_address,
        liveness_address=args.liveness_address,
        workers=args.workers,
        log_format=args.log_format,
        log_level=args.log_level,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "run":
        return run(config_from_args(args))
    return 2


def run(config: OperatorConfig) -> int:
    from .wiring import run_operator  # kopf is imported only when the operator runs

    telemetry = telemetry_api.setup_telemetry(telemetry_api.TelemetrySettings.from_env())
    configure_logging(config.log_format, config.log_level, telemetry)
    log = logging.getLogger("infra_operator")
    server = None
    if config.metrics_address:
        host, _, port = config.metrics_address.rpartition(":")
        try:
            server = telemetry.serve_metrics(host, int(port))
        except OSError as exc:
            log.error("cannot serve /metrics on %s: %s", config.metrics_address, exc)
            return 1
        log.info("serving metrics on http://%s/metrics", config.metrics_address)

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
        if server:
            server.close()
        telemetry.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
