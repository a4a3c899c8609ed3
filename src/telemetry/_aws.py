"""AWS API metrics from botocore's own events.

botocore emits `before-call` and `after-call` (or `after-call-error` when no HTTP response
came back) once per logical call, and `response-received` once per attempt. So calls, duration
(retries included) and errors are recorded once per logical call, throttles once per attempt.
The per-call state rides in botocore's request context dict, which all these events share.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from botocore import exceptions as botocore_exceptions

from . import catalog
from ._recorders import Instruments

_CALL_KEY = "infra_operator.telemetry.aws_call"
_TRANSPORT_ERRORS = (botocore_exceptions.ConnectionError, botocore_exceptions.HTTPClientError)


class EventEmitter(Protocol):
    """What we need of botocore's event emitter (`session.events`, `client.meta.events`)."""

    def register(
        self, event_name: str, handler: Any, unique_id: Any = None, unique_id_uses_count: bool = False
    ) -> None: ...


def response_error_code(parsed: dict[str, Any] | None) -> str | None:
    """The AWS error code of a parsed response, None when it carries no error."""
    if not parsed:
        return None
    error = parsed.get("Error")
    if not error:
        return None
    return error.get("Code") or None


def exception_error_code(exception: BaseException) -> str:
    """error_code for a call that got no HTTP response: `ConnectionError` for any transport
    failure (refused, reset, timeouts, proxy, TLS), the botocore exception class name for
    other botocore failures (e.g. `NoCredentialsError`), `Unknown` otherwise. All bounded."""
    if isinstance(exception, _TRANSPORT_ERRORS):
        return catalog.CONNECTION_ERROR_CODE
    if isinstance(exception, botocore_exceptions.BotoCoreError):
        return type(exception).__name__
    return catalog.UNKNOWN_ERROR_CODE


class AwsApiHooks:
    """botocore event handlers recording the `aws_api_*` metrics."""

    def __init__(self, instruments: Instruments) -> None:
        self._calls = instruments[catalog.AWS_API_CALLS]
        self._duration = instruments[catalog.AWS_API_CALL_DURATION]
        self._errors = instruments[catalog.AWS_API_ERRORS]
        self._throttles = instruments[catalog.AWS_API_THROTTLES]
        self._declare = instruments.declare
        # (service, operation) pairs called so far: their known series exist from the first call.
        self._operations: set[tuple[str, str]] = set()
        # Registering twice on one emitter (or on a session and then on its client's copy)
        # must not double count: botocore ignores a repeated unique_id.
        self._unique_prefix = f"infra_operator.telemetry.aws.{id(self)}"

    def register(self, events: EventEmitter) -> None:
        for event_name, handler in (
            ("before-call", self._before_call),
            ("response-received", self._response_received),
            ("after-call", self._after_call),
            ("after-call-error", self._after_call_error),
        ):
            events.register(event_name, handler, unique_id=f"{self._unique_prefix}.{event_name}")

    def _before_call(self, model: Any, context: dict[str, Any], **_: Any) -> None:
        service = catalog.service_label(model.service_model.service_id)
        operation = model.name
        if (service, operation) not in self._operations:
            self._operations.add((service, operation))
            self._declare(service=service, operation=operation)
        context[_CALL_KEY] = (service, operation, time.perf_counter())

    def _response_received(self, parsed_response: dict[str, Any] | None, context: dict[str, Any], **_: Any) -> None:
        call = context.get(_CALL_KEY)
        if call is not None and response_error_code(parsed_response) in catalog.THROTTLING_CODES:
            self._throttles(1, call[0], call[1])

    def _after_call(self, http_response: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        error_code = None
        if http_response.status_code >= 300:
            # The same precedence botocore uses to pick the exception class it raises.
            error_code = context.get("error_code_override") or response_error_code(parsed) or catalog.UNKNOWN_ERROR_CODE
        self._finish(context, error_code)

    def _after_call_error(self, exception: BaseException, context: dict[str, Any], **_: Any) -> None:
        self._finish(context, exception_error_code(exception))

    def _finish(self, context: dict[str, Any], error_code: str | None) -> None:
        call = context.pop(_CALL_KEY, None)
        if call is None:
            return
        service, operation, started = call
        self._duration(time.perf_counter() - started, service, operation)
        self._calls(1, service, operation, "success" if error_code is None else "error")
        if error_code is not None:
            self._errors(1, service, operation, error_code)
