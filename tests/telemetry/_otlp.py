"""Real OTLP receivers (gRPC and HTTP/protobuf) on 127.0.0.1 and a free port, accumulating
what arrives; and rotel's collector binary as an independent hop in front of them."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent import futures
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.metrics.v1.metrics_pb2 import Metric, ResourceMetrics
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, Span


class Received:
    """Everything a receiver got, thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.resource_metrics: list[ResourceMetrics] = []
        self.resource_spans: list[ResourceSpans] = []

    def add_metrics(self, request: metrics_service_pb2.ExportMetricsServiceRequest) -> None:
        with self._lock:
            self.resource_metrics.extend(request.resource_metrics)

    def add_spans(self, request: trace_service_pb2.ExportTraceServiceRequest) -> None:
        with self._lock:
            self.resource_spans.extend(request.resource_spans)

    def metrics(self) -> list[Metric]:
        with self._lock:
            return [m for rm in self.resource_metrics for sm in rm.scope_metrics for m in sm.metrics]

    def spans(self) -> list[Span]:
        with self._lock:
            return [s for rs in self.resource_spans for ss in rs.scope_spans for s in ss.spans]

    def wait_for(self, condition: Callable[[Received], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition(self):
            if time.monotonic() > deadline:
                raise AssertionError(f"OTLP data did not arrive within {timeout}s")
            time.sleep(0.05)


def resource_attributes(resource: Any) -> dict[str, str]:
    return {kv.key: kv.value.string_value for kv in resource.attributes}


class GrpcReceiver:
    def __init__(self) -> None:
        self.received = Received()
        received = self.received

        class Metrics(metrics_service_pb2_grpc.MetricsServiceServicer):
            def Export(self, request, context):
                received.add_metrics(request)
                return metrics_service_pb2.ExportMetricsServiceResponse()

        class Traces(trace_service_pb2_grpc.TraceServiceServicer):
            def Export(self, request, context):
                received.add_spans(request)
                return trace_service_pb2.ExportTraceServiceResponse()

        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(Metrics(), self._server)
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Traces(), self._server)
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        self._server.start()
        self.endpoint = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._server.stop(grace=None)


class HttpReceiver:
    def __init__(self) -> None:
        self.received = Received()
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.path == "/v1/metrics":
                    received.add_metrics(metrics_service_pb2.ExportMetricsServiceRequest.FromString(body))
                    reply = metrics_service_pb2.ExportMetricsServiceResponse()
                elif self.path == "/v1/traces":
                    received.add_spans(trace_service_pb2.ExportTraceServiceRequest.FromString(body))
                    reply = trace_service_pb2.ExportTraceServiceResponse()
                else:
                    self.send_error(404)
                    return
                payload = reply.SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._httpd = HTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.1,), daemon=True)
        self._thread.start()
        self.endpoint = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rotel_agent_binary() -> Path:
    import rotel

    return Path(rotel.__file__).parent / "rotel-agent"


class RotelHop:
    """rotel-agent receiving OTLP gRPC and HTTP on loopback and forwarding over OTLP gRPC."""

    def __init__(self, forward_to: str, workdir: Path) -> None:
        self.grpc_port, self.http_port = free_port(), free_port()
        self._log = open(workdir / "rotel.log", "wb")  # noqa: SIM115 (closed in stop)
        self._process = subprocess.Popen(
            [
                str(rotel_agent_binary()),
                "start",
                "--otlp-grpc-endpoint",
                f"127.0.0.1:{self.grpc_port}",
                "--otlp-http-endpoint",
                f"127.0.0.1:{self.http_port}",
                "--exporter",
                "otlp",
                "--otlp-exporter-endpoint",
                forward_to,
                "--otlp-exporter-protocol",
                "grpc",
                "--batch-timeout",
                "100ms",
                "--pid-file",
                str(workdir / "rotel.pid"),
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self._wait_listening(self.grpc_port)

    def _wait_listening(self, port: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"rotel-agent exited with {self._process.returncode}")
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("rotel-agent did not start listening")

    def stop(self) -> None:
        self._process.terminate()
        self._process.wait(timeout=10)
        self._log.close()
