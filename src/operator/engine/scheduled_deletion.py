"""Deletion after a waiting period (`Deletion(scheduled=True)`), as KMS keys and Secrets Manager
secrets have it: one call schedules the deletion with a window in days from a spec field (or
deletes at once when the kind's force flag is set and AWS offers it), one call cancels it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

from .kind import AWSClients, Kind, Raw

# The longest waiting period KMS and Secrets Manager allow, and their default.
DEFAULT_WINDOW = 30


@dataclass(frozen=True)
class ScheduledDeletion:
    """The service's calls: `schedule` and `cancel` take the key as `key_param`; `schedule` takes
    the window as `window_param` (from the spec's `window_field`), or `force_param=True`."""

    service: str
    key_param: str
    schedule: str
    cancel: str
    window_param: str
    window_field: str
    force_param: str | None = None


class ScheduledDeletionKind(Kind):
    """A kind whose `delete` schedules the deletion (unless `deletion_date` says it is scheduled
    already) and whose `restore` cancels it."""

    scheduled_deletion: ClassVar[ScheduledDeletion]

    def delete(self, aws: AWSClients, ident: str, raw: Raw, spec: Mapping[str, Any]) -> None:
        if self.deletion_date(raw) is not None:
            return
        calls = self.scheduled_deletion
        force = self.deletion.force_field
        when = ({calls.force_param: True} if calls.force_param and force and spec.get(force)
                else {calls.window_param: spec.get(calls.window_field, DEFAULT_WINDOW)})
        getattr(aws.client(calls.service), calls.schedule)(**{calls.key_param: ident}, **when)

    def restore(self, aws: AWSClients, ident: str, raw: Raw) -> None:
        calls = self.scheduled_deletion
        getattr(aws.client(calls.service), calls.cancel)(**{calls.key_param: ident})
