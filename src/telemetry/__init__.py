"""infra-operator's telemetry facade: the metric catalog, setup of the OTel providers and
exporters, the /metrics endpoint and the recorders the reconcile engine calls.

It knows nothing of kopf, Kubernetes objects or resource kinds; everything else records
through it:

    from infra_operator.telemetry import Telemetry, TelemetrySettings, setup_telemetry, catalog

    telemetry = setup_telemetry(TelemetrySettings.from_env())
    server = telemetry.serve_metrics("0.0.0.0", 8080)
    with telemetry.reconcile("VPC", "default", "main", trigger="create") as rec:
        ...
        rec.outcome("requeue", "aws_api_failed")
"""

from . import catalog
from ._exposition import parse_samples
from ._recorders import DriftRecorder, FinalizerRecorder, ReconcileRecorder, SpanRef
from ._server import MetricsServer
from ._settings import OtlpSettings, TelemetrySettings
from ._setup import setup_telemetry
from ._spans import FinishedSpan, RecentSpans, SpanEvent, SpanLink
from ._telemetry import Telemetry

__all__ = [
    "DriftRecorder",
    "FinalizerRecorder",
    "FinishedSpan",
    "MetricsServer",
    "OtlpSettings",
    "RecentSpans",
    "ReconcileRecorder",
    "SpanEvent",
    "SpanLink",
    "SpanRef",
    "Telemetry",
    "TelemetrySettings",
    "catalog",
    "parse_samples",
    "setup_telemetry",
]
