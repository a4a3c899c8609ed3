"""Real OTLP receivers on a free loopback port that keep everything they are sent: gRPC
(`GrpcReceiver`) and HTTP/protobuf (`HttpReceiver`), for asserting what an exporter or a
collector hop delivered.

    with GrpcReceiver() as receiver:
        ...  # point an exporter or a collector at receiver.endpoint
        receiver.wait_for(lambda r: r.metrics("infra_operator_reconcile_total"))
        spans = receiver.spans()
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.metrics.v1.metrics_pb2 import Metric, ResourceMetrics
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, Span


def resource_attributes(resource: Any) -> dict[str, str]:
    """A resource's (or span's) string attributes as a dict."""
    return {kv.key: kv.value.string_value for kv in resource.attributes}


class OtlpReceiver:
    """What arrived, thread-safe; subclasses add the transport."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.resource_metrics: list[ResourceMetrics] = []
        self.resource_spans: list[ResourceSpans] = []
        self.port = 0

    @property
    def endpoint(self) -> str:
        """Base URL for exporters (gRPC: as is; HTTP: append /v1/metrics, /v1/traces)."""
        return f"http://127.0.0.1:{self.port}"

    def receive(self, request: metrics_service_pb2.ExportMetricsServiceRequest
                | trace_service_pb2.ExportTraceServiceRequest) -> None:
        with self._lock:
            if isinstance(request, metrics_service_pb2.ExportMetricsServiceRequest):
                self.resource_metrics.extend(request.resource_metrics)
            else:
                self.resource_spans.extend(request.resource_spans)

    def metrics(self, name: str | None = None) -> list[Metric]:
        """Every metric message received (of that name), in arrival order."""
        with self._lock:
            return [metric for resource in self.resource_metrics for scope in resource.scope_metrics
                    for metric in scope.metrics if name is None or metric.name == name]

    def spans(self) -> list[Span]:
        with self._lock:
            return [span for resource in self.resource_spans for scope in resource.scope_spans
                    for span in scope.spans]

    def wait_for(self, condition: Callable[[OtlpReceiver], object], timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while not condition(self):
            if time.monotonic() > deadline:
                raise TimeoutError(f"OTLP data did not arrive within {timeout}s")
            time.sleep(0.05)

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class _Export(metrics_service_pb2_grpc.MetricsServiceServicer, trace_service_pb2_grpc.TraceServiceServicer):
    """Both OTLP gRPC services; their one method has the same name."""

    def __init__(self, receiver: OtlpReceiver) -> None:
        self._receiver = receiver

    def Export(self, request, context):  # noqa: N802 (the gRPC method name)
        self._receiver.receive(request)
        if isinstance(request, metrics_service_pb2.ExportMetricsServiceRequest):
            return metrics_service_pb2.ExportMetricsServiceResponse()
        return trace_service_pb2.ExportTraceServiceResponse()


class GrpcReceiver(OtlpReceiver):
    def start(self) -> None:
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        service = _Export(self)
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(service, self._server)
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(service, self._server)
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        self._server.start()

    def stop(self) -> None:
        self._server.stop(grace=None)


# URL path -> (request type, response type) of OTLP/HTTP with protobuf bodies.
_HTTP_PATHS: dict[str, tuple[Any, Any]] = {
    "/v1/metrics": (metrics_service_pb2.ExportMetricsServiceRequest, metrics_service_pb2.ExportMetricsServiceResponse),
    "/v1/traces": (trace_service_pb2.ExportTraceServiceRequest, trace_service_pb2.ExportTraceServiceResponse),
}


class HttpReceiver(OtlpReceiver):
    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                if self.path not in _HTTP_PATHS:
                    self.send_error(404)
                    return
                request_type, response_type = _HTTP_PATHS[self.path]
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.receive(request_type.FromString(body))
                payload = response_type().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.1,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()
