"""An OTLP/gRPC receiver on a free loopback port that keeps every export request it gets.

    with OtlpGrpcReceiver() as receiver:
        ...  # point an exporter or a collector at receiver.endpoint
        receiver.wait_for(lambda r: "infra_operator_reconcile_total" in r.metrics())
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent import futures

import grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.metrics.v1.metrics_pb2 import Metric
from opentelemetry.proto.trace.v1.trace_pb2 import Span


class OtlpGrpcReceiver(metrics_service_pb2_grpc.MetricsServiceServicer, trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.metric_requests: list[metrics_service_pb2.ExportMetricsServiceRequest] = []
        self.trace_requests: list[trace_service_pb2.ExportTraceServiceRequest] = []
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(self, self._server)
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(self, self._server)
        self.port = 0

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> OtlpGrpcReceiver:
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        self._server.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.stop(grace=None)

    def Export(self, request, context):  # noqa: N802 (the gRPC method name of both services)
        with self._lock:
            if isinstance(request, metrics_service_pb2.ExportMetricsServiceRequest):
                self.metric_requests.append(request)
                return metrics_service_pb2.ExportMetricsServiceResponse()
            self.trace_requests.append(request)
            return trace_service_pb2.ExportTraceServiceResponse()

    def metrics(self) -> dict[str, Metric]:
        """Every metric received, by name (the last one received wins)."""
        with self._lock:
            return {metric.name: metric
                    for request in self.metric_requests for resource in request.resource_metrics
                    for scope in resource.scope_metrics for metric in scope.metrics}

    def spans(self) -> list[Span]:
        with self._lock:
            return [span
                    for request in self.trace_requests for resource in request.resource_spans
                    for scope in resource.scope_spans for span in scope.spans]

    def wait_for(self, condition: Callable[[OtlpGrpcReceiver], bool], timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while not condition(self):
            if time.monotonic() > deadline:
                raise TimeoutError(f"OTLP data did not arrive within {timeout}s")
            time.sleep(0.05)
