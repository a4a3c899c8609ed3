"""The sandbox's terminal output: redrawn in place on a terminal, periodic lines otherwise."""

from __future__ import annotations

import io
import re

import pytest

from infra_operator.sandbox.display import Display


def test_live_redraws_the_block_under_the_events(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "12")
    monkeypatch.setenv("LINES", "3")
    out = io.StringIO()
    display = Display(out, live=True)
    display.update(["a" * 20, "b"])
    display.event("ready")
    display.update(["c", "d", "e"])
    # Lines cut to the width less one, the block to the height less one (no wrap, no scroll),
    # and each redraw first moves up over the lines drawn before and clears below.
    assert re.sub(r"\d\d:\d\d:\d\d ", "T ", out.getvalue()) == (
        "aaaaaaaaaaa\nb\n" "\x1b[2F\x1b[J" "T ready\n" "aaaaaaaaaaa\nb\n" "\x1b[2F\x1b[J" "c\nd\n")


def test_not_live_prints_events_at_once_and_the_block_every_interval() -> None:
    out = io.StringIO()
    display = Display(out, live=False, report_interval=3600)
    display.update(["first"])
    display.update(["second"])  # within the interval: kept for later
    display.event("ready")
    display.final()
    lines = out.getvalue().splitlines()
    assert "\x1b" not in out.getvalue()
    assert [line for line in lines if not line.startswith("---")] == ["first", lines[2], "second"]
    assert lines[2].endswith(" ready")
