"""Errors are control flow: kinds, the engine and the provider raise these, and botocore's
exceptions become them here, in one place; the engine alone turns them into conditions,
events, retry delays and metric outcomes. The lowest layer of the operator: it imports nothing
else of it."""

from __future__ import annotations

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError as BotoConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
)

from ...aws_codes import THROTTLING_CODES


class EngineError(Exception):
    """Base: carries the condition reason shown to users and the catalog's error_type."""

    reason = "ReconcileError"
    error_type = "sync_failed"

    def __init__(self, message: str, *, reason: str | None = None, error_type: str | None = None):
        super().__init__(message)
        self.message = message
        if reason:
            self.reason = reason
        if error_type:
            self.error_type = error_type


class TerminalError(EngineError):
    """The spec cannot be satisfied as written: stop retrying until the spec changes."""

    reason = "InvalidSpec"
    error_type = "validation_failed"


class RetryableError(EngineError):
    """A transient failure: back off and retry after `delay` seconds."""

    reason = "AWSTransientError"
    error_type = "aws_api_failed"

    def __init__(self, message: str, *, delay: float = 10.0, **kwargs):
        super().__init__(message, **kwargs)
        self.delay = delay


class ProviderNotReady(RetryableError):
    """The AWSProvider cannot serve yet. `provider` (namespace/name) is set when the registry
    says so (not reconciled, being checked, check failed): its next check may end the wait."""

    reason = "ProviderNotReady"
    error_type = "provider_failed"

    def __init__(self, message: str, *, provider: str | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.provider = provider


class DependencyNotReady(RetryableError):
    """A referenced object of ours is missing or not Ready; no AWS call was made. `waiting_on`
    names them (kind, name), so that the wiring can run this object again once they are Ready."""

    reason = "DependencyNotReady"
    error_type = "sync_failed"

    def __init__(self, message: str, *, waiting_on: tuple[tuple[str, str], ...] = (), **kwargs):
        super().__init__(message, **kwargs)
        self.waiting_on = waiting_on


class NotFound(EngineError):
    """Raised by kinds when the AWS resource is gone (the engine treats it as absence)."""

    reason = "NotFound"


class InProgress(RetryableError):
    """AWS is working on it (a create, modify or delete that takes minutes): look again after
    `delay` seconds. Not a failure: no Warning event, no error counted, no worker waits."""

    reason = "InProgress"
    error_type = "sync_failed"

    def __init__(self, message: str, *, delay: float | None = None, sent: bool = False, **kwargs):
        super().__init__(message, **kwargs)
        self.delay = delay  # None: the engine's provisioning delay
        # Raised by an update after it sent the changes asked for (secret inputs included) and
        # AWS applies them: the secrets' versions are recorded, so they are not sent again.
        self.sent = sent


class DeletionProtected(RetryableError):
    """AWS refuses the delete while the resource's deletion protection is on."""

    reason = "DeletionProtected"
    error_type = "finalizer_failed"


_TRANSIENT_CODES = frozenset({
    "InternalError", "InternalFailure", "ServiceUnavailable", "Unavailable", "RequestTimeout",
    "RequestTimeoutException", "IncorrectState", "DependencyViolation",
    # Held by another resource of ours that is about to let go (e.g. a subnet moving between
    # route tables): retry rather than give up.
    "Resource.AlreadyAssociated",
})
_ACCESS_CODES = frozenset({
    "AuthFailure", "UnauthorizedOperation", "AccessDenied", "AccessDeniedException",
    "InvalidClientTokenId", "ExpiredToken", "ExpiredTokenException", "SignatureDoesNotMatch",
    "UnrecognizedClientException",
})


def error_code(exc: BaseException) -> str:
    """The AWS error code of a ClientError ("" for any other exception)."""
    if not isinstance(exc, ClientError):
        return ""
    return exc.response.get("Error", {}).get("Code") or "Unknown"


def error_message(exc: BaseException) -> str:
    if not isinstance(exc, ClientError):
        return str(exc)
    return exc.response.get("Error", {}).get("Message") or str(exc)


# Not-found codes that follow none of the generic patterns of `is_not_found`.
_NOT_FOUND_CODES = frozenset({"AWS.SimpleQueueService.NonExistentQueue", "ResourceNotFoundException"})


def is_not_found(exc: BaseException, codes: frozenset[str] = frozenset()) -> bool:
    """Whether AWS says the thing a call names does not exist: one of `codes` (the kind's), a
    generic not-found code (`*.NotFound`, `*NotFound`, `*NotFoundException`, `*NotFoundFault`,
    `NoSuch*`, SQS's NonExistentQueue) or S3's bare 404 answer to a HEAD request."""
    if not isinstance(exc, ClientError):
        return False
    code = error_code(exc)
    return (code in codes or code in _NOT_FOUND_CODES or code.startswith("NoSuch") or code == "404"
            or code.endswith(("NotFound", "NotFoundException", "NotFoundFault")))


def classify(exc: BaseException) -> EngineError | None:
    """Map an AWS failure to control flow. Messages carry the AWS code and message, which name
    resources and parameters but never credentials. None: not an AWS failure."""
    if isinstance(exc, EngineError):
        return exc
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return ProviderNotReady(f"no usable AWS credentials: {exc}", delay=30)
    if isinstance(exc, ClientError):
        code = error_code(exc)
        message = exc.response.get("Error", {}).get("Message") or str(exc)
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        text = f"{exc.operation_name}: {code}: {message}"
        if is_not_found(exc):
            return NotFound(text)
        if code in THROTTLING_CODES:
            return RetryableError(text, reason="AWSThrottled", delay=15)
        if code in _TRANSIENT_CODES or status >= 500:
            return RetryableError(text, reason="AWSUnavailable", delay=10)
        if code in _ACCESS_CODES:
            return RetryableError(text, reason="AWSAccessDenied", delay=60)
        if code.endswith("LimitExceeded"):
            return RetryableError(text, reason="AWSLimitExceeded", delay=120)
        return TerminalError(text, reason="AWSRejected", error_type="aws_api_failed")
    if isinstance(exc, ReadTimeoutError):  # asked, but no answer in time: the call may have happened
        return RetryableError(f"AWS did not answer in time: {type(exc).__name__}", reason="AWSUnavailable", delay=10)
    if isinstance(exc, (BotoConnectionError, BotoCoreError)):
        return RetryableError(f"AWS endpoint unreachable: {type(exc).__name__}", reason="AWSUnreachable", delay=10)
    return None
