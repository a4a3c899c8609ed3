"""engine.statuses: an AWS status string read as ready, in progress, unhealthy, deleting or failed."""

from __future__ import annotations

import pytest

from infra_operator.operator.engine.statuses import Statuses, status_reason
from infra_operator.operator.provider.errors import InProgress, RetryableError, TerminalError

STATUSES = Statuses(ready=frozenset({"available"}), unhealthy=frozenset({"storage-full"}),
                    deleting=frozenset({"deleting"}), failed={"create-failed": "see its events"}, delay=30.0,
                    status_reasons=True)


def raised(status: str) -> Exception:
    with pytest.raises((RetryableError, TerminalError)) as caught:
        STATUSES.available("db x", status)
    return caught.value


def test_each_kind_of_status_has_its_outcome():
    assert STATUSES.available("db x", "available") is True
    failed = raised("create-failed")
    assert isinstance(failed, TerminalError) and failed.reason == "CreateFailed" and "see its events" in str(failed)
    unhealthy = raised("storage-full")
    assert (unhealthy.reason, unhealthy.delay) == ("Unhealthy", 60.0) and not isinstance(unhealthy, InProgress)
    deleting = raised("deleting")
    assert (deleting.reason, deleting.delay) == ("DeletingInAWS", 60.0) and not isinstance(deleting, InProgress)
    busy = raised("backing-up")
    assert isinstance(busy, InProgress) and (busy.reason, busy.delay) == ("BackingUp", 30.0)


def test_an_operation_in_progress_keeps_the_engines_reason_unless_the_kind_names_it():
    with pytest.raises(InProgress) as caught:
        Statuses(ready=frozenset({"available"})).available("g", "modifying")
    assert caught.value.reason == "InProgress" and caught.value.delay is None and "g is modifying" in str(caught.value)


def test_a_change_waits_for_a_ready_status():
    STATUSES.wait_until_ready("db x", "available")
    with pytest.raises(InProgress) as caught:
        STATUSES.wait_until_ready("db x", "modifying")
    assert caught.value.delay == 30.0 and "changes wait" in str(caught.value)
    assert status_reason("inaccessible-encryption-credentials") == "InaccessibleEncryptionCredentials"
