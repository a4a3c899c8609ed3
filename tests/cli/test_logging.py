"""Log levels a platform team can alert on (src/operator/logs.py) and the JSON fields that tie a
line to its object and trace (cli.configure_logging)."""

from __future__ import annotations

import io
import json
import logging

import pytest

from infra_operator.operator.cli import configure_logging
from infra_operator.operator.engine.outcome import Outcome
from infra_operator.operator.logs import KopfRoutineLines, ObjectLog, about_object
from infra_operator.telemetry import Telemetry

NOW = 1_800_000_000.0  # 2027-01-15T08:00:00Z
SINCE = "2027-01-15T07:55:00Z"  # 300 s before NOW


def body(status: str | None = None, reason: str = "", since: str = SINCE) -> dict:
    conditions = [{"type": "Ready", "status": status, "reason": reason, "message": "…",
                   "lastTransitionTime": since}] if status else []
    return {"kind": "VPC", "metadata": {"namespace": "team", "name": "main", "uid": "u-1"},
            "status": {"conditions": conditions}}


def outcome(status: str, reason: str, *, retry: float | None = None, permanent: bool = False,
            events: tuple[tuple[str, str], ...] = ()) -> Outcome:
    result = Outcome(status={"conditions": [{"type": "Ready", "status": status, "reason": reason,
                                             "message": f"{reason} message"}]},
                     retry_after=retry, permanent=permanent, message=f"{reason} message")
    for type_, message in events:
        result.event(type_, "Reason", message)
    return result


class Lines:
    def __init__(self, caplog: pytest.LogCaptureFixture) -> None:
        self._caplog = caplog

    def take(self) -> list[tuple[str, str]]:
        """(level, message) of the lines ObjectLog logged since the last take."""
        taken = [(record.levelname, record.getMessage()) for record in self._caplog.records
                 if record.name == "infra_operator.objects"]
        self._caplog.clear()
        return taken


@pytest.fixture
def lines(caplog: pytest.LogCaptureFixture) -> Lines:
    caplog.set_level(logging.DEBUG, logger="infra_operator.objects")
    return Lines(caplog)


def test_a_wait_logs_info_when_it_begins_and_debug_while_it_lasts(lines) -> None:
    log = ObjectLog(retry_warning_after=300, clock=lambda: NOW - 10)
    log.record(body(), outcome("False", "DependencyNotReady", retry=5))
    assert lines.take() == [("INFO", "VPC team/main is not Ready: DependencyNotReady: DependencyNotReady message; "
                                     "retrying in 5 s")]
    log.record(body("False", "DependencyNotReady"), outcome("False", "DependencyNotReady", retry=5))
    assert [level for level, _ in lines.take()] == ["DEBUG"]
    log.record(body("False", "DependencyNotReady"), outcome("False", "Provisioning", retry=5))
    assert [level for level, _ in lines.take()] == ["INFO"]  # another reason: a change of state


def test_a_retry_past_the_threshold_warns_once_per_stretch_of_not_ready(lines) -> None:
    clock = [NOW - 1]
    log = ObjectLog(retry_warning_after=300, clock=lambda: clock[0])
    failing = body("False", "AWSThrottled")
    log.record(failing, outcome("False", "AWSThrottled", retry=15))
    assert [level for level, _ in lines.take()] == ["DEBUG"]
    clock[0] = NOW
    log.record(failing, outcome("False", "AWSThrottled", retry=15))
    log.record(failing, outcome("False", "AWSThrottled", retry=15))
    assert lines.take() == [
        ("WARNING", "VPC team/main has not been Ready for 300 s: AWSThrottled: AWSThrottled message; retrying in 15 s"),
        ("DEBUG", "VPC team/main is still not Ready: AWSThrottled: AWSThrottled message; retrying in 15 s")]
    # Ready again, then a new stretch of failures that lasts: warned again.
    log.record(failing, outcome("True", "Available"))
    log.record(body("False", "AWSThrottled", since="2027-01-15T07:50:00Z"), outcome("False", "AWSThrottled", retry=15))
    assert [level for level, _ in lines.take()] == ["INFO", "WARNING"]


@pytest.mark.parametrize("failure", [outcome("False", "InvalidSpec", permanent=True),
                                     outcome("False", "AWSRejected", permanent=True),
                                     outcome("False", "AWSAccessDenied", retry=60)])
def test_failures_a_person_must_fix_log_error_once(lines, failure: Outcome) -> None:
    log = ObjectLog(retry_warning_after=300, clock=lambda: NOW - 60)
    log.record(body("True", "Available"), failure)
    [(level, message)] = lines.take()
    assert level == "ERROR" and message.startswith("VPC team/main is not Ready: ")
    reason = failure.status["conditions"][0]["reason"]
    log.record(body("False", reason), failure)
    assert [level for level, _ in lines.take()] == ["DEBUG"]


def test_success_logs_info_when_the_object_becomes_ready_or_something_changed(lines) -> None:
    log = ObjectLog(retry_warning_after=300)
    log.record(body("False", "Provisioning"), outcome("True", "Available", events=(("Normal", "created VPC vpc-1"),)))
    assert lines.take() == [("INFO", "VPC team/main is Ready: Available message (created VPC vpc-1)")]
    log.record(body("True", "Available"), outcome("True", "Available"))  # a resync that found nothing
    log.record(body("True", "Available"), Outcome())  # a resync skipped
    assert lines.take() == []
    log.record(body("True", "Available"), outcome("True", "Available", events=(("Normal", "healed drift: tags"),)))
    deleted = Outcome()
    deleted.event("Normal", "Deleted", "deleted VPC vpc-1")
    log.record(body("True", "Available"), deleted)
    assert lines.take() == [("INFO", "VPC team/main: healed drift: tags"), ("INFO", "VPC team/main: deleted VPC vpc-1")]


def test_two_runs_on_one_stale_status_log_becoming_ready_once_and_a_new_stretch_again(lines) -> None:
    log = ObjectLog(retry_warning_after=300, clock=lambda: NOW)
    waiting = body("False", "PendingValidation")
    log.record(waiting, outcome("True", "Available"))
    log.record(waiting, outcome("True", "Available"))  # queued behind the first, same body
    assert lines.take() == [("INFO", "VPC team/main is Ready: Available message")]
    log.record(body("True", "Available"), outcome("False", "AWSThrottled", retry=5))
    log.record(body("False", "AWSThrottled"), outcome("True", "Available"))
    assert lines.take() == [("INFO", "VPC team/main is not Ready: AWSThrottled: AWSThrottled message; retrying in 5 s"),
                            ("INFO", "VPC team/main is Ready: Available message")]
    log.forget("u-1")  # the object left the cluster: nothing is kept of it
    log.record(waiting, outcome("True", "Available"))
    assert lines.take() == [("INFO", "VPC team/main is Ready: Available message")]


def test_kopf_routine_lines_drop_to_debug_stopping_to_info_and_bug_reports_stay_errors(caplog: pytest.LogCaptureFixture) -> None:
    kopf_objects = logging.getLogger("kopf.objects")
    routine = KopfRoutineLines()
    kopf_objects.addFilter(routine)
    try:
        caplog.set_level(logging.INFO, logger="kopf.objects")
        kopf_objects.info("Timer 'resync' succeeded.")
        kopf_objects.error("Handler 'reconcile' failed temporarily: waiting for VPC main")
        kopf_objects.info("Creation is processed: 1 succeeded; 0 failed.")
        kopf_objects.error("Handler 'reconcile' failed with an exception. Will retry.")
        assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
            ("ERROR", "Handler 'reconcile' failed with an exception. Will retry.")]
        caplog.clear()
        caplog.set_level(logging.DEBUG, logger="kopf.objects")
        kopf_objects.error("Handler 'finalize' failed permanently: no")
        kopf_objects.warning("Handler 'reconcile' is cancelled. Will escalate.")
        kopf_objects.warning("Timer 'resync' is cancelled. Will escalate.")
        kopf_objects.warning("Timer 'resync' did not exit in time. Leaving it orphaned.")
        kopf_objects.warning("Daemon 'watch' did not exit in time. Leaving it orphaned.")
        assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
            ("DEBUG", "Handler 'finalize' failed permanently: no"),
            ("INFO", "Handler 'reconcile' is cancelled. Will escalate."),
            ("INFO", "Timer 'resync' is cancelled. Will escalate."),
            ("INFO", "Timer 'resync' did not exit in time. Leaving it orphaned."),
            ("WARNING", "Daemon 'watch' did not exit in time. Leaving it orphaned.")]
    finally:
        kopf_objects.removeFilter(routine)


def test_json_lines_name_the_object_the_reason_and_the_trace() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    telemetry = Telemetry.noop()
    try:
        configure_logging("json", "DEBUG", telemetry, stream)
        vpc = body("False", "Provisioning")
        with about_object(vpc):
            logging.getLogger("infra_operator.operator.engine.reconciler").debug("inside a reconcile")
            ObjectLog(retry_warning_after=300).record(vpc, outcome("True", "Available"))
        logging.getLogger("kopf.objects").info("Handler 'reconcile' succeeded.", extra={
            "k8s_ref": {"kind": "Subnet", "namespace": "team", "name": "a"}})
        logging.getLogger("infra_operator").info("not about an object")
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    engine, ready, kopf, plain = map(json.loads, stream.getvalue().splitlines())
    assert {key: engine[key] for key in ("kind", "namespace", "name")} == {
        "kind": "VPC", "namespace": "team", "name": "main"}
    assert "reason" not in engine and engine["trace_id"] == "" and engine["span_id"] == ""
    assert ready["reason"] == "Available" and ready["kind"] == "VPC" and ready["level"] == "info"
    assert (kopf["kind"], kopf["namespace"], kopf["name"]) == ("Subnet", "team", "a")
    assert not {"kind", "namespace", "name", "reason"} & set(plain)
