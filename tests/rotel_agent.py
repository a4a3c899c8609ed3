"""rotel's collector binary (`rotel-agent`, from the PyPI package `rotel`) as a real collector hop.

    with RotelAgent(forward_to="http://127.0.0.1:4317", workdir=tmp_path) as rotel:
        exporter = OTLPSpanExporter(endpoint=rotel.grpc_endpoint, insecure=True)

It receives OTLP over gRPC and HTTP on free loopback ports and forwards everything over OTLP
(gRPC by default, or HTTP/protobuf) to `forward_to`. It runs in the foreground (no --daemon), so
stopping is terminating our own child process (rotel flushes its batches on SIGTERM); its log
goes to `workdir/rotel.log` and is quoted when it fails to start.
"""

from __future__ import annotations

import pathlib
import socket
import time

from local_process import LocalProcess, free_port
from tools import find_tool


class RotelAgent(LocalProcess):
    name = "rotel-agent"

    def __init__(self, forward_to: str, workdir: pathlib.Path, protocol: str = "grpc",
                 batch_timeout: str = "100ms") -> None:
        super().__init__(workdir / "rotel.log")
        self.forward_to = forward_to
        self.workdir = workdir
        self.protocol = protocol
        self.batch_timeout = batch_timeout
        self.grpc_port = self.http_port = 0

    @property
    def grpc_endpoint(self) -> str:
        """For OTLP gRPC exporters (OTEL_EXPORTER_OTLP_ENDPOINT with protocol grpc)."""
        return f"http://127.0.0.1:{self.grpc_port}"

    @property
    def http_endpoint(self) -> str:
        """Base URL for OTLP HTTP exporters (append /v1/metrics, /v1/traces)."""
        return f"http://127.0.0.1:{self.http_port}"

    def start_command(self) -> list[str]:
        self.grpc_port, self.http_port = free_port(), free_port()
        return [
            find_tool("rotel-agent") or "rotel-agent", "start",
            "--otlp-grpc-endpoint", f"127.0.0.1:{self.grpc_port}",
            "--otlp-http-endpoint", f"127.0.0.1:{self.http_port}",
            "--exporter", "otlp",
            "--otlp-exporter-endpoint", self.forward_to,
            "--otlp-exporter-protocol", self.protocol,
            "--batch-timeout", self.batch_timeout,
            "--pid-file", str(self.workdir / "rotel.pid"),
            "--log-file", str(self.log),
        ]

    def wait_ready(self, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        waiting = [self.grpc_port, self.http_port]
        while waiting:
            self.check_alive()
            if time.monotonic() > deadline:
                raise TimeoutError(f"rotel-agent not listening on {waiting} after {timeout}s: {self.log_tail()}")
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", waiting[0])) == 0:
                    waiting.pop(0)
                    continue
            time.sleep(0.05)
