"""Runs the real operator for end-to-end tests: in-process on a thread of its own (fast, shares
the telemetry object with the test), or as a subprocess that can be SIGKILLed."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from typing import Iterable

from infra_operator.operator.engine.reconciler import EngineSettings
from infra_operator.operator.kinds import all_kinds
from infra_operator.operator.settings import KubeSettings, OperatorConfig
from infra_operator.operator.wiring import run_operator
from infra_operator.telemetry import Telemetry


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def kube_server(kube) -> str | None:
    """The emulator's URL; None on a real cluster (the operator then logs in with KUBECONFIG)."""
    return kube.access.server if kube.emulator is not None else None


def test_config(server: str, namespaces: Iterable[str] = (), **overrides) -> OperatorConfig:
    """Fast timings for tests; production defaults otherwise."""
    config = OperatorConfig(
        kube=KubeSettings(namespaces=tuple(namespaces), clusterwide=not namespaces, server=server),
        resync_interval=2.0, provider_check_interval=5.0, provider_retry_delay=1.0,
        metrics_address=None, liveness_address=None, workers=8,
        # moto finishes long operations at once (a CloudFront deployment): look again after 1 s.
        engine=EngineSettings(in_progress_max_delay=1.0))
    return replace(config, **overrides)


class InProcessOperator:
    def __init__(self, config: OperatorConfig, telemetry: Telemetry, kinds=None):
        self.config = config
        self.telemetry = telemetry
        self.kinds = tuple(kinds or all_kinds())
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task | None = None
        self._ready = threading.Event()
        self.error: BaseException | None = None

    def start(self, timeout: float = 20) -> "InProcessOperator":
        self._ready.clear()
        self._thread = threading.Thread(target=self._main, name="operator", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError(f"operator not ready in {timeout}s: {self.error!r}")
        return self

    def _main(self) -> None:
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()

        async def main() -> None:
            self._task = asyncio.current_task()
            await run_operator(self.config, self.telemetry, ready_flag=ready, kinds=self.kinds)

        def flag_when_ready() -> None:
            ready.wait()
            self._ready.set()

        threading.Thread(target=flag_when_ready, daemon=True).start()
        try:
            self._loop.run_until_complete(main())
        except asyncio.CancelledError:
            pass
        except BaseException as exc:  # surfaced by start()/stop()
            self.error = exc
            self._ready.set()
        finally:
            self._loop.close()

    def stop(self, timeout: float = 15) -> None:
        if self._loop and self._task and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._task.cancel)
        if self._thread:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise TimeoutError("operator did not stop")
        self._thread = None

    def __enter__(self) -> "InProcessOperator":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class SubprocessOperator:
    """`infra-operator run` in a child process: for SIGKILL crash tests and the CLI itself."""

    def __init__(self, server: str | None, *args: str, env: dict[str, str] | None = None):
        """server: the emulator's URL; None logs in with KUBECONFIG like a real deployment."""
        self.server = server
        self.args = args
        self.metrics_port = free_port()
        self.env = {**os.environ, "OTEL_METRICS_EXPORTER": "none", "OTEL_TRACES_EXPORTER": "none",
                    **(env or {})}
        self.process: subprocess.Popen | None = None
        self._log = tempfile.TemporaryFile()

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    def start(self) -> "SubprocessOperator":
        self.process = subprocess.Popen(
            [sys.executable, "-m", "infra_operator.cli", "run",
             *(("--server", self.server) if self.server else ()), "--metrics-address", f"127.0.0.1:{self.metrics_port}", "--liveness-address", "off",
             "--resync-interval", "2", "--provider-check-interval", "5", *self.args],
            env=self.env, stdout=subprocess.DEVNULL, stderr=self._log)
        return self

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> str:
        """SIGTERM, wait, and return what it logged."""
        if not self.process:
            return ""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.log()

    def log(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def wait_metrics(self, timeout: float = 20) -> None:
        import urllib.request
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.metrics_url, timeout=1).read()
                return
            except OSError:
                time.sleep(0.1)
        raise TimeoutError("operator /metrics did not come up")
