"""Terminal output of the sandbox: on a terminal, permanent event lines above a block redrawn in
place (plain ANSI escapes); otherwise (a pipe, a CI log) event lines as they happen and the
block every `report_interval` seconds."""

from __future__ import annotations

import shutil
import time
from collections.abc import Sequence
from typing import TextIO

_PREVIOUS_LINE = "\x1b[{}F"  # cursor up n lines, to column 1
_CLEAR_BELOW = "\x1b[J"


class Display:
    def __init__(self, stream: TextIO, live: bool, report_interval: float = 5.0) -> None:
        self._stream = stream
        self.live = live
        self._report_interval = report_interval
        self._drawn = 0  # lines of the live block currently on screen
        self._block: list[str] = []
        self._last_report = float("-inf")

    def event(self, line: str) -> None:
        """A line that stays (startup, all Ready, drift injected, ...)."""
        self._erase()
        self._stream.write(f"{time.strftime('%H:%M:%S')} {line}\n")
        self._draw()

    def lines(self, lines: Sequence[str]) -> None:
        """Permanent lines printed together (a trace tree), without a timestamp."""
        self._erase()
        self._stream.write("".join(f"{line}\n" for line in lines))
        self._draw()

    @property
    def due(self) -> bool:
        """Whether `update` would show a block now (live: always)."""
        return self.live or time.monotonic() - self._last_report >= self._report_interval

    def update(self, block: Sequence[str]) -> None:
        """The current summary: redrawn in place live, else printed every report interval."""
        self._block = list(block)
        if self.live:
            self._erase()
            self._draw()
        elif self.due:
            self.final()

    def final(self, block: Sequence[str] | None = None) -> None:
        """Print the block (the given one, else the current one) as permanent lines."""
        if block is not None:
            self._block = list(block)
        self._erase()
        self._stream.write(f"--- {time.strftime('%H:%M:%S')}\n" + "".join(f"{line}\n" for line in self._block))
        self._stream.flush()
        self._last_report = time.monotonic()

    def _erase(self) -> None:
        if self._drawn:
            self._stream.write(_PREVIOUS_LINE.format(self._drawn) + _CLEAR_BELOW)
            self._drawn = 0

    def _draw(self) -> None:
        if self.live and self._block:
            size = shutil.get_terminal_size()
            # Wrapped lines, or more lines than the screen holds, would break moving up over them.
            block = [line[:size.columns - 1] for line in self._block[:size.lines - 1]]
            self._stream.write("".join(f"{line}\n" for line in block))
            self._drawn = len(block)
        self._stream.flush()
