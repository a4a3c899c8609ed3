"""Helpers for the real binaries tests run as child processes on loopback (prometheus, rotel-agent)."""

from __future__ import annotations

import pathlib
import socket
import subprocess


def free_port() -> int:
    """A port free on 127.0.0.1 right now (the child binds it a moment later)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop(process: subprocess.Popen, timeout: float = 10) -> None:
    """SIGTERM (both binaries flush and exit cleanly on it), SIGKILL if it does not exit in time."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class LocalProcess:
    """A binary run as a child process for the length of a `with` block, its output in `log`.

    Subclasses give `start_command()` (choose ports, write config files, return the argv) and
    `wait_ready()`; a child that dies or never gets ready is stopped and reported with its log.
    """

    name = "process"

    def __init__(self, log: pathlib.Path) -> None:
        self.log = log
        self._process: subprocess.Popen | None = None

    def start_command(self) -> list[str]:
        raise NotImplementedError

    def wait_ready(self) -> None:
        raise NotImplementedError

    def __enter__(self):
        command = self.start_command()
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            self.wait_ready()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        if self._process is not None:
            stop(self._process)
            self._process = None

    def check_alive(self) -> None:
        if self._process.poll() is not None:
            raise RuntimeError(f"{self.name} exited ({self._process.returncode}): {self.log_tail()}")

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:]
