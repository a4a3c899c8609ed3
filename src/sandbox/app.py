"""`infra-operator sandbox`: the whole product on one machine, without a cluster or an AWS account.

Starts the embedded AWS endpoint (moto server) and the Kubernetes API emulation on 127.0.0.1,
installs the CRDs, runs the operator against them, applies the samples (the AWSProvider pointed
at the embedded endpoint), serves /metrics, exports OTLP when OTEL_* says so, and shows what
the operator's own metrics (and, with --show-traces, its spans) say while things converge.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import logging
import os
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import resources
from typing import Any, TextIO

import yaml

from ..operator.cli import StartupProblem, configure_logging, serve_metrics
from ..operator.crds import all_crds
from ..operator.engine.reconciler import EngineSettings
from ..operator.engine.schema import GROUP
from ..operator.provider.ratelimit import UNLIMITED
from ..operator.settings import KubeSettings, OperatorConfig
from ..operator.wiring import run_operator
from ..telemetry import RecentSpans, Telemetry, TelemetrySettings, setup_telemetry
from . import summary, traces
from .children import KubeEmulationProcess, MotoProcess
from .display import Display
from .drift import DriftInjector
from .kube import KubeClient

log = logging.getLogger(__name__)
SAMPLES_PACKAGE_DIR = "samples"
# Seconds a sample certificate stays PENDING_VALIDATION in the embedded AWS: long enough to be
# seen, short enough not to hold up "all Ready".
SANDBOX_CERTIFICATE_WAIT = 1
# How many finished reconcile traces --show-traces keeps on screen (live) or checks per refresh.
LIVE_TRACES, TRACES_PER_REFRESH = 3, 50
# Seconds between looks at whether all sample objects are Ready (the line's precision).
READY_CHECK_INTERVAL = 0.05


@dataclass(frozen=True)
class SandboxOptions:
    """What `infra-operator sandbox` takes (see its --help); times in seconds."""

    metrics_address: str | None = "127.0.0.1:8080"
    kube_address: str = "127.0.0.1:0"  # port 0: a free port
    aws_address: str = "127.0.0.1:0"
    resync_interval: float = 10.0
    drift: bool = False
    drift_interval: float = 20.0
    show_traces: bool = False
    duration: float | None = None  # None: until Ctrl-C or SIGTERM
    refresh_interval: float = 1.0
    log_file: str | None = None  # None: stderr, or a file in the temp dir when the view is live
    log_level: str = "INFO"
    log_format: str = "text"
    retry_warning_after: float = 300.0
    live: bool | None = None  # redraw the summary in place; None: when stdout is a terminal


def sample_documents(aws_endpoint: str) -> list[dict[str, Any]]:
    """samples/*.yaml in file order, the AWSProvider's endpoint replaced by the embedded one.
    The samples ship inside the package (a symlink to the repository's samples/ in a checkout)."""
    folder = resources.files(__package__) / SAMPLES_PACKAGE_DIR
    documents = []
    for sample in sorted((entry for entry in folder.iterdir() if entry.name.endswith(".yaml")),
                         key=lambda entry: entry.name):
        documents += [doc for doc in yaml.safe_load_all(sample.read_text()) if doc]
    for doc in documents:
        if doc["kind"] == "AWSProvider":
            doc["spec"]["endpoint"] = aws_endpoint
    return documents


def _split(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host or "127.0.0.1", int(port)


def _start(server: Any, flag: str, address: str) -> Any:
    try:
        return server.start()
    except (OSError, RuntimeError) as exc:
        cause = exc.__cause__ or exc
        raise StartupProblem(f"cannot listen on {address} ({flag}): {cause}; choose another with {flag} "
                             "HOST:PORT (port 0 picks a free one)") from None


class Sandbox:
    def __init__(self, options: SandboxOptions, stream: TextIO) -> None:
        self.options = options
        self.display = Display(stream, stream.isatty() if options.live is None else options.live)
        self.recent = RecentSpans() if options.show_traces else None
        self.injector: DriftInjector | None = None
        self._printed_traces: set[str] = set()
        self._started = time.monotonic()
        self._metrics_url = "/metrics off"

    def run(self) -> int:
        settings = TelemetrySettings.from_env()
        telemetry = setup_telemetry(settings, extra_span_processors=[self.recent] if self.recent else [])
        with contextlib.ExitStack() as stack:
            stack.callback(telemetry.shutdown)
            log_target = self._configure_logging(telemetry, stack)
            metrics = serve_metrics(telemetry, self.options.metrics_address)
            aws = _start(MotoProcess(*_split(self.options.aws_address), SANDBOX_CERTIFICATE_WAIT), "--aws-address",
                         self.options.aws_address)
            stack.callback(aws.stop)
            emulator = _start(KubeEmulationProcess(*_split(self.options.kube_address)), "--kube-address",
                              self.options.kube_address)
            stack.callback(emulator.stop)
            kube = KubeClient.for_server(emulator.url)
            kube.apply_crds(all_crds())
            kubeconfig = self._write_kubeconfig(kube, stack)
            self._announce(settings, metrics.url if metrics else None, emulator.url, aws.endpoint, log_target,
                           kubeconfig)
            asyncio.run(self._operate(telemetry, aws, kube))
        return 0

    @staticmethod
    def _write_kubeconfig(kube: KubeClient, stack: contextlib.ExitStack) -> str:
        """A kubeconfig for the emulated API (namespace default), removed when the sandbox stops."""
        folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="infra-operator-sandbox-"))
        access = dataclasses.replace(kube.access, default_namespace="default")
        return str(access.write_kubeconfig(os.path.join(folder, "kubeconfig"), name="infra-operator-sandbox"))

    def _configure_logging(self, telemetry: Telemetry, stack: contextlib.ExitStack) -> str:
        path = self.options.log_file
        if path is None and self.display.live:  # log lines would tear the redrawn view
            path = os.path.join(tempfile.gettempdir(), "infra-operator-sandbox.log")
        stream = stack.enter_context(open(path, "a", encoding="utf-8")) if path else sys.stderr
        configure_logging(self.options.log_format, self.options.log_level, telemetry, stream)
        return path or "stderr"

    def _announce(self, settings: TelemetrySettings, metrics_url: str | None, kube_url: str, aws_url: str,
                  log_target: str, kubeconfig: str) -> None:
        otlp = settings.traces_otlp or settings.metrics_otlp
        options = self.options
        self._metrics_url = metrics_url or self._metrics_url
        header = [
            f"metrics         {metrics_url or 'off'}",
            f"Kubernetes API  {kube_url} (emulation)",
            f"AWS endpoint    {aws_url} (moto)",
            f"OTLP export     {otlp.endpoint if otlp else 'off (set OTEL_EXPORTER_OTLP_ENDPOINT to export)'}",
            f"logs            {log_target}",
            f"resync every {options.resync_interval:g} s"
            + (f", drift injected every {options.drift_interval:g} s" if options.drift else "")
            + (f", stopping after {options.duration:g} s" if options.duration else "") + "; Ctrl-C stops",
        ]
        self.display.event("infra-operator sandbox")
        self.display.lines([f"  {line}" for line in header])
        self.display.lines([f"  export KUBECONFIG={kubeconfig}",
                            "  try: kubectl get aws -o wide    (or kubectl describe vpc main, kubectl explain vpc.spec)",
                            *([f"       curl {metrics_url}"] if metrics_url else [])])

    async def _operate(self, telemetry: Telemetry, aws: MotoProcess, kube: KubeClient) -> None:
        options = self.options
        loop = asyncio.get_running_loop()
        stop, ready, all_ready = asyncio.Event(), asyncio.Event(), asyncio.Event()

        def stop_on_signals() -> None:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)

        stop_on_signals()
        config = OperatorConfig(
            kube=KubeSettings(clusterwide=True, server=kube.access.server),
            # Its embedded AWS never throttles: the client-side request rates would only add waits
            # (the sample S3 bucket's 21 calls took 1.1 s at S3's 10 per second).
            aws_rate_limits=UNLIMITED,
            resync_interval=options.resync_interval, provider_check_interval=60.0, provider_retry_delay=5.0,
            metrics_address=None, liveness_address=None, workers=8,
            # The embedded AWS provisions at once or within SANDBOX_CERTIFICATE_WAIT: looking again
            # after the default 5 s (30 s for a CloudFront deployment) would hold the samples up.
            engine=EngineSettings(provisioning_delay=float(SANDBOX_CERTIFICATE_WAIT),
                                  in_progress_max_delay=float(SANDBOX_CERTIFICATE_WAIT)),
            log_format=options.log_format, log_level=options.log_level,
            retry_warning_after=options.retry_warning_after)
        operator = asyncio.create_task(run_operator(config, telemetry, stop_flag=stop, ready_flag=ready))
        await asyncio.wait([operator, asyncio.create_task(ready.wait())], return_when=asyncio.FIRST_COMPLETED)
        if operator.done():
            operator.result()  # the operator could not start: raise why
        # The operator took the signals over when it started; ours stop our tasks before it.
        stop_on_signals()
        self.display.event("operator started; applying samples/*.yaml")
        expected = await asyncio.to_thread(self._apply_samples, kube, aws.endpoint)
        helpers = [asyncio.create_task(self._watch(telemetry, expected, time.monotonic(), all_ready))]
        if options.drift:
            self.injector = DriftInjector(aws.client("ec2"), kube)
            helpers.append(asyncio.create_task(self._inject_drift(all_ready)))
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait([operator, stopped], timeout=options.duration, return_when=asyncio.FIRST_COMPLETED)
        self.display.event("stopping: operator, Kubernetes API emulation, AWS endpoint")
        # Our tasks first: the stopping operator cancels every task started after it, ours too.
        for task in (*helpers, stopped):
            task.cancel()
        await asyncio.gather(*helpers, stopped, return_exceptions=True)
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await operator
        self._refresh(telemetry, expected, final=True)

    def _apply_samples(self, kube: KubeClient, aws_endpoint: str) -> dict[str, int]:
        """Create every sample object; returns how many objects of each of our kinds."""
        expected: collections.Counter[str] = collections.Counter()
        for doc in sample_documents(aws_endpoint):
            kube.create({**doc, "metadata": {"namespace": "default", **doc["metadata"]}})
            if doc["apiVersion"].startswith(f"{GROUP}/"):
                expected[doc["kind"]] += 1
        return dict(expected)

    async def _watch(self, telemetry: Telemetry, expected: dict[str, int], applied: float,
                     all_ready: asyncio.Event) -> None:
        """Redraw the summary every refresh interval; until all are Ready, look every
        READY_CHECK_INTERVAL whether they are (the live objects' statuses, not a /metrics render:
        that costs the operator's process 0.1-0.3 s of CPU), so the line says when it happened."""
        total = sum(expected.values())
        next_refresh = time.monotonic()
        while True:
            if time.monotonic() >= next_refresh:
                self._refresh(telemetry, expected)
                next_refresh = time.monotonic() + self.options.refresh_interval
            if not all_ready.is_set() and summary.ready_of(telemetry.resources.counts(), expected) == total:
                all_ready.set()
                self.display.event(f"all {total} objects Ready {time.monotonic() - applied:.1f} s after "
                                   "they were applied")
            await asyncio.sleep(READY_CHECK_INTERVAL if not all_ready.is_set()
                                else max(0.0, next_refresh - time.monotonic()))

    def _refresh(self, telemetry: Telemetry, expected: dict[str, int], final: bool = False) -> None:
        """Show the summary now: redrawn or periodic, or `final`: printed to stay. Not live, the
        summary is built only when it is printed (new traces are printed at once)."""
        if not (final or self.display.due):
            if self.recent is not None:
                self._traces()
            return
        snapshot = summary.Snapshot.of(telemetry.sample_values())
        block = [f"infra-operator sandbox · up {time.monotonic() - self._started:.0f} s · {self._metrics_url}",
                 *summary.render(snapshot, expected)]
        if self.injector is not None:
            kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(self.injector.injected.items()))
            block.append(f"Injected    {sum(self.injector.injected.values())} out-of-band changes"
                         + (f" ({kinds})" if kinds else ""))
        if self.recent is not None:
            block += self._traces()
        if final:
            self.display.final(block)
        else:
            self.display.update(block)

    def _traces(self) -> list[str]:
        """Live: the latest reconcile trees for the block. Otherwise: print each new tree once."""
        assert self.recent is not None
        latest = self.recent.latest_traces(TRACES_PER_REFRESH, traces.ROOT_PREFIXES)
        if self.display.live:
            return ["", "Latest reconciles:",
                    *(line for trace in latest[-LIVE_TRACES:] for line in traces.render_trace(trace))]
        for trace in latest:
            if trace[0].span_id not in self._printed_traces:
                self.display.lines(traces.render_trace(trace))
        self._printed_traces = {trace[0].span_id for trace in latest}
        return []

    async def _inject_drift(self, all_ready: asyncio.Event) -> None:
        assert self.injector is not None
        await all_ready.wait()
        while True:
            await asyncio.sleep(self.options.drift_interval)
            try:
                done = await asyncio.to_thread(self.injector.inject)
            except Exception as exc:  # e.g. the last change is not healed yet: try the next one later
                self.display.event(f"drift injection skipped: {type(exc).__name__}: {exc}")
            else:
                self.display.event(f"drift injected: {done}")


def run_sandbox(options: SandboxOptions, stream: TextIO | None = None) -> int:
    """Run until Ctrl-C, SIGTERM or `options.duration`; 0 on a clean stop, 1 when it cannot start."""
    try:
        return Sandbox(options, stream or sys.stdout).run()
    except StartupProblem as problem:
        print(f"infra-operator sandbox: error: {problem}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C before the operator took over the signal
        return 0
    except Exception as exc:  # one line here; the traceback goes to the log
        log.exception("the sandbox stopped")
        print(f"infra-operator sandbox: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
