"""scripts/bootstrap.sh prints one line of its own while installing; pip's output goes to a log
that is shown only when pip fails. pip is a stub here: the real install takes minutes."""

from __future__ import annotations

import os
import pathlib
import subprocess

REPO = pathlib.Path(__file__).resolve().parents[2]


def bootstrap(venv: pathlib.Path, pip_exit: int) -> subprocess.CompletedProcess[str]:
    python = venv / "bin" / "python"
    python.parent.mkdir(parents=True)
    # `python -m pip …`: chatter on both streams, as pip and setuptools' build warnings do.
    python.write_text(f"#!/bin/sh\necho 'Collecting boto3'\necho 'BuildBackendWarning: noise' >&2\nexit {pip_exit}\n")
    python.chmod(0o755)
    return source_bootstrap(venv)


def source_bootstrap(venv: pathlib.Path) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "INFRA_OPERATOR_VENV": str(venv), "BOOTSTRAP_WITHOUT_PROMETHEUS": "1"}
    return subprocess.run(["bash", "-c", f"source {REPO / 'scripts/bootstrap.sh'}"], env=environment,
                          capture_output=True, text=True, timeout=60)


def test_a_successful_install_prints_one_line_and_nothing_from_pip(tmp_path: pathlib.Path) -> None:
    done = bootstrap(tmp_path / "venv", pip_exit=0)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith("bootstrap: installing the project and its test extras into ")
    assert "BuildBackendWarning" in (tmp_path / "venv" / "bootstrap-pip.log").read_text()
    # Installed: sourcing it again prints nothing at all.
    again = source_bootstrap(tmp_path / "venv")
    assert (again.returncode, again.stdout, again.stderr) == (0, "", "")


def test_a_failed_install_shows_pip_output_and_fails(tmp_path: pathlib.Path) -> None:
    done = bootstrap(tmp_path / "venv", pip_exit=1)
    assert done.returncode == 1
    assert "Collecting boto3" in done.stderr and "BuildBackendWarning: noise" in done.stderr
    assert done.stderr.rstrip().splitlines()[-1].startswith("bootstrap: pip failed")
