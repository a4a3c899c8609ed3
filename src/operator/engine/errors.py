"""Errors are control flow: kinds and the provider raise these; the engine alone turns them into
conditions, events, retry delays and metric outcomes."""

from __future__ import annotations


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

    def __init__(self, message: str, *, delay: float | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.delay = delay  # None: the engine's provisioning delay


class DeletionProtected(RetryableError):
    """AWS refuses the delete while the resource's deletion protection is on."""

    reason = "DeletionProtected"
    error_type = "finalizer_failed"
