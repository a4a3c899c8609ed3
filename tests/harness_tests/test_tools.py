"""tests/tools.py: a missing program skips the test that needs it, except in CI, where it fails."""
from __future__ import annotations

import pytest

import tools


@pytest.fixture
def missing(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setattr(tools, "find_tool", lambda name: None)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("INFRA_OPERATOR_REQUIRE_TOOLS", raising=False)
    return monkeypatch


def test_a_missing_tool_skips_on_a_developers_machine(missing: pytest.MonkeyPatch) -> None:
    with pytest.raises(pytest.skip.Exception, match="promtool not installed .*bootstrap.sh"):
        tools.require_tool("promtool")


@pytest.mark.parametrize("variable, value", [("CI", "true"), ("INFRA_OPERATOR_REQUIRE_TOOLS", "1")])
def test_a_missing_tool_fails_in_ci(missing: pytest.MonkeyPatch, variable: str, value: str) -> None:
    missing.setenv(variable, value)
    with pytest.raises(pytest.fail.Exception, match="kubectl not installed .*CI requires every tool"):
        tools.require_tool("kubectl")

