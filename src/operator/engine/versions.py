"""Engine versions as the spec gives them (7.1, 15) against AWS's full ones (7.1.0, 15.4): a
spec version names AWS's when it is a prefix of it, so that AWS's minor upgrades are no drift."""

from __future__ import annotations

from typing import Any

from ..provider.errors import TerminalError


def version_key(text: str) -> tuple[tuple[int, Any], ...]:
    """A version as a comparable key: numbers numerically, anything else after them."""
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in text.split("."))


def names_version(want: str, have: str) -> bool:
    """Whether the spec's version names AWS's: equal, or a prefix of it (7.1 names 7.1.0)."""
    wanted = version_key(want)
    return version_key(have)[:len(wanted)] == wanted


def is_downgrade(want: str, have: str) -> bool:
    """Whether `want` is below the running version, compared as far as `want` goes (7.0 is
    below 7.1.0; 7 is not)."""
    wanted = version_key(want)
    return wanted < version_key(have)[:len(wanted)]


def refuse_downgrade(subject: str, want: str, have: str | None, reason: str = "DowngradeRefused") -> None:
    """A terminal error when `want` is below the version `subject` runs (AWS never downgrades);
    nothing when it is not, or the running version is not known."""
    if have and is_downgrade(want, have):
        raise TerminalError(f"{subject} runs {have}: AWS cannot downgrade it to {want}", reason=reason)
