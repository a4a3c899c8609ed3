"""Log levels a platform team can alert on, and the fields that tie a line to its object.

- ERROR: a failure a person must look at (the spec cannot be satisfied, AWS refused the
  credentials, an operator bug). WARNING: an object still retrying after a threshold. INFO: a
  change of an object's state, once. DEBUG: everything routine (waits, requeues, resyncs that
  found nothing). `ObjectLog` applies this to the engine's outcomes, `KopfRoutineLines` to
  kopf's per-handler lines. Conditions and events carry the details either way.
- `about_object` and `ObjectFields` put the object's kind, namespace and name on every record
  logged while it is handled (kopf's own records name it in `k8s_ref`).
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from .engine import conditions
from .engine.objects import CustomObject
from .engine.outcome import Outcome

log = logging.getLogger("infra_operator.objects")

# Retrying reasons that no retry will fix: AWS refused the credentials.
NEEDS_A_PERSON = frozenset({"AWSAccessDenied"})

_current_object: contextvars.ContextVar[tuple[str, str, str] | None] = contextvars.ContextVar(
    "infra_operator_object", default=None)


@contextlib.contextmanager
def about_object(body: Mapping[str, Any]) -> Iterator[None]:
    """Records logged inside (in this thread or context) name this object."""
    meta = body.get("metadata") or {}
    token = _current_object.set((body.get("kind") or "", meta.get("namespace") or "", meta.get("name") or ""))
    try:
        yield
    finally:
        _current_object.reset(token)


class ObjectFields(logging.Filter):
    """Adds `object_kind`, `object_namespace` and `object_name` to records logged about an
    object: inside `about_object`, or kopf's records (their `k8s_ref`). Attach it to the handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "object_kind", None):
            return True
        current = _current_object.get()
        ref = getattr(record, "k8s_ref", None)
        if current is None and isinstance(ref, Mapping) and ref.get("kind"):
            current = (ref["kind"], ref.get("namespace") or "", ref.get("name") or "")
        if current is not None:
            record.object_kind, record.object_namespace, record.object_name = current
        return True


# kopf's lines about each handler run (kopf/_core/actions/execution.py, reactor/processing.py):
# every success, every retry (at ERROR) and every resync, for every object. The engine's outcome
# says the same once, at the level it deserves (ObjectLog); "failed with an exception" (an
# exception escaped a handler: an operator bug) keeps kopf's ERROR.
_KOPF_ROUTINE = re.compile(
    r"(?:Handler|Timer|Daemon|Activity|Indexer) '[^']*' (?:succeeded|failed temporarily|failed permanently)"
    r"|\w+ is processed: ")
# Stopping while a handler runs (a rolling update): kopf waits for it, then warns that it was
# cancelled and that its queue was not empty; a resync timer still in its handler is "orphaned",
# but the handler's thread is awaited after kopf stops (wiring._run_term). Routine; INFO says the
# stop waited.
_KOPF_STOPPING = re.compile(r"(?:Handler|Timer) '[^']*' is cancelled\. Will escalate\.|Unprocessed streams left for "
                            r"|Timer '[^']*' did not exit in time\. Leaving it orphaned\.")


class KopfRoutineLines(logging.Filter):
    """Logs kopf's per-handler lines at DEBUG, its stopping-while-busy lines at INFO. Attach it to
    the loggers of kopf's handlers (`kopf.objects`, `kopf.activities.*`) and of its queue."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        level = (logging.DEBUG if _KOPF_ROUTINE.match(message)
                 else logging.INFO if _KOPF_STOPPING.match(message) else record.levelno)
        if level >= record.levelno:
            return True
        record.levelno, record.levelname = level, logging.getLevelName(level)
        # The logger let the record through at its old level; the handlers have no level of their own.
        return logging.getLogger(record.name).isEnabledFor(level)


def _ready_condition(status: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return next((c for c in (status or {}).get("conditions") or () if c.get("type") == conditions.READY), {})


def _epoch(rfc3339: str | None) -> float | None:
    if not rfc3339:
        return None
    return datetime.datetime.strptime(rfc3339, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp()


class ObjectLog:
    """One line per engine outcome, at the level of what it means for the object.

    A failure logs when the object's Ready condition changes to it: ERROR when the spec cannot be
    satisfied or the credentials were refused, INFO for a wait or retry. The same failure again
    is DEBUG, until the object has not been Ready for `retry_warning_after` seconds (since the
    condition's lastTransitionTime): then one WARNING for that stretch. A success logs INFO when
    the object becomes Ready or the outcome changed something (its events), else nothing.
    The state compared is the object's status, so a restarted operator does not repeat itself."""

    def __init__(self, retry_warning_after: float, clock: Callable[[], float] = time.time) -> None:
        self.retry_warning_after = retry_warning_after
        self._clock = clock
        # uid -> lastTransitionTime of the not-Ready stretch a WARNING was logged for.
        self._warned: dict[str, str] = {}
        # uids whose becoming Ready was logged, until they fail again: of two runs queued on one
        # object, the second reads the status from before the first one's write, which would log
        # the same "is Ready" twice. Runs happen on kopf's handler threads.
        self._logged_ready: set[str] = set()
        self._lock = threading.Lock()

    def forget(self, uid: str) -> None:
        """The object left the cluster."""
        with self._lock:
            self._warned.pop(uid, None)
            self._logged_ready.discard(uid)

    def record(self, body: Mapping[str, Any], outcome: Outcome) -> None:
        if not outcome.status and not outcome.events and outcome.retry_after is None and not outcome.permanent:
            return  # nothing was done (e.g. a resync skipped while a handler runs)
        obj = CustomObject.from_body(body)
        before, after = _ready_condition(obj.status), _ready_condition(outcome.status)
        subject = f"{obj.kind} {obj.key}"
        if outcome.permanent or outcome.retry_after is not None:
            self._failed(obj, subject, before, after, outcome)
            return
        with self._lock:
            self._warned.pop(obj.uid, None)
            became_ready = (after.get("status") == "True" and before.get("status") != "True"
                            and obj.uid not in self._logged_ready)
            if after.get("status") == "True":
                self._logged_ready.add(obj.uid)
        changes = "; ".join(event.message for event in outcome.events)
        if became_ready:
            self._log(logging.INFO, after, "%s is Ready: %s%s", subject, after.get("message", ""),
                      f" ({changes})" if changes else "")
        elif changes:
            self._log(logging.INFO, after, "%s: %s", subject, changes)

    def _failed(self, obj: CustomObject, subject: str, before: Mapping[str, Any], after: Mapping[str, Any],
                outcome: Outcome) -> None:
        reason = after.get("reason", "")
        message = outcome.message or after.get("message", "")
        # The failure's own Warning event repeats the message; other events are changes made.
        changes = "; ".join(event.message for event in outcome.events if event.type == "Normal")
        suffix = f" ({changes})" if changes else ""
        # An object waiting for others runs again when they are Ready (its message names them).
        retry = "" if outcome.permanent or outcome.waiting_on else f"; retrying in {outcome.retry_after:g} s"
        with self._lock:
            self._logged_ready.discard(obj.uid)
        if before.get("status") != "False" or before.get("reason") != reason:
            level = logging.ERROR if outcome.permanent or reason in NEEDS_A_PERSON else logging.INFO
            self._log(level, after, "%s is not Ready: %s: %s%s%s", subject, reason, message, retry, suffix)
            return
        since = before.get("lastTransitionTime", "")
        started = _epoch(since)
        waited = self._clock() - started if started is not None else 0.0
        if waited >= self.retry_warning_after and self._warned.get(obj.uid) != since:
            self._warned[obj.uid] = since
            self._log(logging.WARNING, after, "%s has not been Ready for %.0f s: %s: %s%s%s", subject, waited,
                      reason, message, retry, suffix)
            return
        self._log(logging.INFO if changes else logging.DEBUG, after, "%s is still not Ready: %s: %s%s%s",
                  subject, reason, message, retry, suffix)

    @staticmethod
    def _log(level: int, condition: Mapping[str, Any], message: str, *args: Any) -> None:
        log.log(level, message, *args, extra={"condition_reason": condition.get("reason", "")})
