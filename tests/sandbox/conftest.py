"""`infra-operator sandbox` as users run it: a child process on free ports, its output in files."""

from __future__ import annotations

import os
import pathlib
import re
import signal
import subprocess
import sys
import time

import yaml

from local_process import free_port

REPO = pathlib.Path(__file__).resolve().parents[2]
GROUP = "aws.infra-operator.dev"


def sample_objects() -> list[tuple[str, str]]:
    """(kind, name) of every object of ours in samples/."""
    return [(doc["kind"], doc["metadata"]["name"])
            for path in sorted((REPO / "samples").glob("*.yaml"))
            for doc in yaml.safe_load_all(path.read_text()) if doc and doc["apiVersion"].startswith(GROUP)]


# How long to wait for the sandbox to print a line or to exit: a deadline for an event, never a
# measurement, so generous enough for a loaded machine (starting moto, the emulation and kopf).
PATIENCE = 120.0


class Sandbox:
    """The sandbox in a child process; stdout and stderr go to files read while it runs."""

    def __init__(self, tmp: pathlib.Path, *args: str, metrics_port: int | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.metrics_port = metrics_port or free_port()
        self.stdout_path, self.stderr_path = tmp / "stdout.txt", tmp / "stderr.txt"
        # OTLP export only where a test asks for it, whatever the environment says.
        env = {**{key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}, **(env or {})}
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "infra_operator.cli", "sandbox",
                 "--metrics-address", f"127.0.0.1:{self.metrics_port}", *args],
                stdout=out, stderr=err, env=env, cwd=tmp)

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def wait_output(self, pattern: str, timeout: float = PATIENCE) -> re.Match[str]:
        """The first match of `pattern` in stdout, waiting for it while the sandbox runs."""
        deadline = time.monotonic() + timeout
        while True:
            output = self.stdout()
            # Complete lines only: a line being written may end mid-URL.
            found = re.search(pattern, output[:output.rfind("\n") + 1], re.MULTILINE)
            if found:
                return found
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"no {pattern!r} in the sandbox's output (exit code {self.process.poll()})\n"
                                     f"{self.stdout()[-3000:]}\n--- stderr\n{self.stderr()[-3000:]}")
            time.sleep(0.2)

    def interrupt(self, timeout: float = PATIENCE) -> int:
        """Ctrl-C, then wait for the exit code."""
        self.process.send_signal(signal.SIGINT)
        return self.wait(timeout)

    def wait(self, timeout: float = PATIENCE) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"the sandbox did not exit in {timeout} s\n{self.stdout()[-3000:]}") from None
