"""The import contracts in .importlinter hold (lint-imports, as CI runs it)."""

from __future__ import annotations

import configparser
import subprocess
from pathlib import Path

from tools import require_tool

ROOT = Path(__file__).resolve().parents[2]


def lint_imports(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([require_tool("lint-imports"), "--no-cache", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_import_contracts_are_kept() -> None:
    result = lint_imports()
    assert result.returncode == 0, result.stdout + result.stderr
    report = " ".join(result.stdout.split())  # lint-imports wraps long contract names
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter")
    names = [config[section]["name"] for section in config.sections() if section.startswith("importlinter:contract:")]
    assert len(names) >= 6
    for name in names:
        assert f"{name} KEPT" in report
    assert f"Contracts: {len(names)} kept, 0 broken." in report


def test_the_contracts_see_the_telemetry_imports(tmp_path: Path) -> None:
    # Guards against a vacuous pass: the same analysis must catch an import telemetry does make.
    config = tmp_path / "importlinter.ini"
    config.write_text(
        "[importlinter]\nroot_package = infra_operator\ninclude_external_packages = True\n\n"
        "[importlinter:contract:probe]\nname = probe\ntype = forbidden\n"
        "source_modules =\n    infra_operator.telemetry\nforbidden_modules =\n    opentelemetry\n"
    )
    result = lint_imports("--config", str(config))
    assert result.returncode == 1
    assert "probe BROKEN" in result.stdout
