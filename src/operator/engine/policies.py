"""Canonical JSON for policy documents (IAM, S3 bucket, KMS key, SQS queue policies), so that
the spec's form and AWS's answer compare equal when they mean the same."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from .errors import TerminalError


def canonical_policy(document: str | dict[str, Any] | None) -> str | None:
    """One string per meaning: keys sorted, a one-item list and its item the same, list order
    ignored (statements, actions, resources), URL-encoded documents (as IAM returns them)
    decoded. None stays None (the spec sets no policy)."""
    if document is None:
        return None
    if isinstance(document, str):
        text = document.strip()
        if text.startswith("%"):
            text = urllib.parse.unquote(text)
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise TerminalError(f"a policy document is not JSON: {exc.msg} at position {exc.pos}",
                                reason="InvalidPolicy") from None
    return json.dumps(_canonical(document), sort_keys=True, separators=(",", ":"))


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _canonical(item) for key, item in value.items()}
    if isinstance(value, list):
        items = [_canonical(item) for item in value]
        if len(items) == 1:
            return items[0]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
    return value
