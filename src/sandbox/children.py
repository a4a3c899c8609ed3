"""The sandbox's AWS endpoint (moto) and Kubernetes API emulation, each in a process of its own.

Both answer the operator on every reconcile; in the operator's process, moto's request threads,
the emulation's event loop, kopf's event loop and the handlers' threads took turns on one
interpreter lock (the sample stack's line went from 7.7 to 5.8 s once they ran apart:
docs/performance.md, "The sandbox's sample stack"). A child ignores Ctrl-C (a terminal
sends it to the whole process group: the sandbox stops its operator first, then its servers)
and ends when the sandbox tells it to or is gone. Tests that inject faults run `MotoServer`
in their own process instead (the fault rules live in the server's process). This module
imports moto, boto3 and the emulation only where they are used: each child imports it.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import signal
from multiprocessing.connection import Connection
from typing import Any, Callable

# Seconds a stopping child gets before it is killed (its server shuts down in well under one).
STOP_PATIENCE = 10.0
_SPAWN = multiprocessing.get_context("spawn")  # no fork: the sandbox's process runs threads


class ServerProcess:
    """A server started by `serve(host, port, *args)` in a child process: `start` returns once
    it listens (its address in `url`), or raises OSError with why it could not."""

    def __init__(self, serve: Callable[..., None], host: str, port: int, *args: Any) -> None:
        self._serve, self._args = serve, (host, port, *args)
        self._pipe: Connection | None = None
        self._process: Any = None
        self.url = ""

    def start(self) -> ServerProcess:
        self._pipe, theirs = _SPAWN.Pipe()
        self._process = _SPAWN.Process(target=_run_child, args=(theirs, self._serve, self._args),
                                       name=self._serve.__name__, daemon=True)
        self._process.start()
        theirs.close()
        try:
            state, detail = self._pipe.recv()
        except EOFError:
            self._process.join(STOP_PATIENCE)
            state, detail = "failed", f"its process exited with code {self._process.exitcode}"
        if state != "serving":
            self.stop()
            raise OSError(detail)
        self.url = detail
        return self

    def stop(self) -> None:
        if self._pipe is not None:
            try:
                self._pipe.send("stop")
            except OSError:
                pass  # gone already
            self._pipe.close()
        if self._process is not None:
            self._process.join(STOP_PATIENCE)
            if self._process.is_alive():
                self._process.kill()
                self._process.join()
        self._pipe = self._process = None


def _run_child(pipe: Connection, serve: Callable[..., None], args: tuple[Any, ...]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    serve(pipe, *args)


def _wait_for_stop(pipe: Connection) -> None:
    """Until the sandbox says stop, or its end of the pipe closes (it is gone)."""
    try:
        pipe.recv()
    except EOFError:
        pass


def serve_moto(pipe: Connection, host: str, port: int, certificate_wait: float) -> None:
    from .aws import FIRST_READS, MotoServer  # imported in the child: moto's import is most of its start

    refusal = io.StringIO()
    try:
        # werkzeug prints why it cannot listen (e.g. "Address already in use") and exits.
        with contextlib.redirect_stderr(refusal):
            server = MotoServer(host, port).start()
    except (OSError, RuntimeError) as exc:
        pipe.send(("failed", str(exc.__cause__ or exc)))
        return
    except SystemExit:
        pipe.send(("failed", refusal.getvalue().strip().split("\n")[0] or "moto's server exited"))
        return
    server.warm_up(FIRST_READS)  # before serving: not on the clock of the first objects
    server.issue_certificates_after(certificate_wait)
    pipe.send(("serving", server.endpoint))
    _wait_for_stop(pipe)
    server.stop()


def serve_kube_emulation(pipe: Connection, host: str, port: int) -> None:
    from .kube import EmulatorServer

    try:
        server = EmulatorServer(host, port).start()
    except (OSError, RuntimeError) as exc:
        pipe.send(("failed", str(exc.__cause__ or exc)))
        return
    pipe.send(("serving", server.url))
    _wait_for_stop(pipe)
    server.stop()


class MotoProcess(ServerProcess):
    """The embedded AWS endpoint: a warmed-up moto server whose pending ACM certificates turn
    ISSUED `certificate_wait` seconds after their request."""

    def __init__(self, host: str, port: int, certificate_wait: float) -> None:
        super().__init__(serve_moto, host, port, certificate_wait)

    @property
    def endpoint(self) -> str:
        return self.url

    def client(self, service: str, region: str = "us-east-1") -> Any:
        """A boto3 client on the endpoint with the dummy credentials moto takes."""
        import boto3
        import botocore.config

        from .aws import DUMMY_CREDENTIALS

        return boto3.session.Session(**DUMMY_CREDENTIALS).client(
            service, region_name=region, endpoint_url=self.endpoint,
            config=botocore.config.Config(retries={"mode": "standard"}))


class KubeEmulationProcess(ServerProcess):
    def __init__(self, host: str, port: int) -> None:
        super().__init__(serve_kube_emulation, host, port)
