"""The `infra-operator` command: `run` (the operator against a real cluster) and `sandbox`
(everything local; the sandbox package and its extra are imported only for it)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Sequence

from .operator.cli import config_from_args, parser, run


def main(argv: Sequence[str] | None = None) -> int:
    command = parser()
    args = command.parse_args(argv)
    if args.command == "sandbox":
        return sandbox(args)
    try:
        config = config_from_args(args)
    except (ValueError, argparse.ArgumentTypeError) as problem:
        command.error(str(problem))
    return run(config)


def sandbox(args: argparse.Namespace) -> int:
    try:
        from .sandbox.app import SandboxOptions, run_sandbox
    except ImportError as exc:  # the sandbox's dependencies are an extra
        print(f"infra-operator sandbox: error: {exc}; install the sandbox extra: "
              "pip install 'infra-operator[sandbox]'", file=sys.stderr)
        return 1
    return run_sandbox(SandboxOptions(
        metrics_address=args.metrics_address, kube_address=args.kube_address, aws_address=args.aws_address,
        resync_interval=args.resync_interval, drift=args.drift, drift_interval=args.drift_interval,
        show_traces=args.show_traces, duration=args.duration, log_file=args.log_file, log_level=args.log_level,
        retry_warning_after=args.retry_warning_after,
        log_format=args.log_format, live=False if args.plain else None))


def entrypoint() -> None:
    """main(), then exit without the interpreter's teardown of every module and object, which
    takes seconds once moto is loaded (the sandbox). By then every server has stopped, telemetry
    is flushed and the handler threads have finished."""
    code = main()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    entrypoint()
