"""rotel's collector binary (`rotel-agent`, from the PyPI package `rotel`) as a real collector hop.

    with RotelAgent(forward_to="http://127.0.0.1:4317", workdir=tmp_path) as rotel:
        exporter = OTLPSpanExporter(endpoint=rotel.grpc_endpoint, insecure=True)

It receives OTLP over gRPC and HTTP on free loopback ports and forwards everything over OTLP
(gRPC by default, or HTTP/protobuf) to `forward_to`. It runs in the foreground (no --daemon), so
stopping is terminating our own child process; its log goes to `workdir/rotel.log` and is quoted
when it fails to start.
"""

from __future__ import annotations

import pathlib
import socket
import subprocess
import time

import rotel

BINARY = pathlib.Path(rotel.__file__).parent / "rotel-agent"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RotelAgent:
    def __init__(self, forward_to: str, workdir: pathlib.Path, protocol: str = "grpc",
                 batch_timeout: str = "100ms") -> None:
        self.forward_to = forward_to
        self.workdir = workdir
        self.protocol = protocol
        self.batch_timeout = batch_timeout
        self.grpc_port = self.http_port = 0
        self.log = workdir / "rotel.log"
        self._process: subprocess.Popen | None = None

    @property
    def grpc_endpoint(self) -> str:
        """For OTLP gRPC exporters (OTEL_EXPORTER_OTLP_ENDPOINT with protocol grpc)."""
        return f"http://127.0.0.1:{self.grpc_port}"

    @property
    def http_endpoint(self) -> str:
        """Base URL for OTLP HTTP exporters (append /v1/metrics, /v1/traces)."""
        return f"http://127.0.0.1:{self.http_port}"

    def command(self) -> list[str]:
        return [
            str(BINARY), "start",
            "--otlp-grpc-endpoint", f"127.0.0.1:{self.grpc_port}",
            "--otlp-http-endpoint", f"127.0.0.1:{self.http_port}",
            "--exporter", "otlp",
            "--otlp-exporter-endpoint", self.forward_to,
            "--otlp-exporter-protocol", self.protocol,
            "--batch-timeout", self.batch_timeout,
            "--pid-file", str(self.workdir / "rotel.pid"),
            "--log-file", str(self.log),
        ]

    def __enter__(self) -> RotelAgent:
        self.grpc_port, self.http_port = free_port(), free_port()
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT)
        try:
            for port in (self.grpc_port, self.http_port):
                self._wait_listening(port)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        if self._process is None:
            return
        self._process.terminate()  # rotel flushes its batches on SIGTERM
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def _wait_listening(self, port: int, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"rotel-agent exited ({self._process.returncode}): {self.log.read_text()[-2000:]}")
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    return
            time.sleep(0.05)
        raise TimeoutError(f"rotel-agent not listening on {port} after {timeout}s: {self.log.read_text()[-2000:]}")
