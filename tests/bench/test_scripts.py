"""Every benchmark script in bench/ runs to the end with tiny sizes and prints its table, so
the scripts cannot rot. No timing is asserted; call counts that do not depend on timing are."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

BENCH = pathlib.Path(__file__).resolve().parents[2] / "bench"
RUNS = {
    "convergence.py": ["--sizes", "3", "--repeats", "1"],
    # A snapshot serves a round however long it takes; the interval only has to keep one
    # resource's next check out of the round measured (3 s for 3 checks, loaded machine or not).
    "resync_calls.py": ["--sizes", "3", "--rounds", "1", "--resync-interval", "3"],
    "telemetry_overhead.py": ["--ops", "50", "--reconciles", "3", "--repeats", "1"],
    "scrape_cost.py": ["--series", "200", "--repeats", "1"],
    "memory.py": ["--count", "2", "--repeats", "1", "--resync-interval", "1"],
    "log_levels.py": ["--repeats", "1"],
    "dependency_chain.py": ["--chains", "1", "--depth", "2"],
    "restart_stampede.py": ["--objects", "3"],
    "sandbox_timeline.py": ["--repeats", "1"],
}


def run(script: str) -> list[str]:
    done = subprocess.run([sys.executable, str(BENCH / script), *RUNS[script]], cwd=BENCH.parent,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.splitlines()


def test_every_script_is_covered() -> None:
    assert sorted(path.name for path in BENCH.glob("[!_]*.py")) == sorted(RUNS)


@pytest.mark.parametrize("script", ["convergence.py", "telemetry_overhead.py", "scrape_cost.py", "memory.py",
                                    "log_levels.py", "dependency_chain.py"])
def test_script_prints_its_table(script: str) -> None:
    lines = run(script)
    assert len(lines) >= 3 and all("nan" not in line.lower() for line in lines), lines


def test_resync_rounds_cost_one_describe_with_the_cache_and_some_per_resource_without() -> None:
    """Fails if a round of drift checks is not answered from one snapshot (a describe per
    check, or a snapshot expiring within the round)."""
    rows = {tuple(line.split()[:2]): line.split() for line in run("resync_calls.py") if line.split()[:1] == ["3"]}
    assert float(rows[("3", "on")][2]) == 1.0  # AWS calls per round
    assert float(rows[("3", "off")][3]) >= 1.0  # AWS calls per resource


def test_restart_stampede_reports_both_runs() -> None:
    """One line without the client-side limit, one with it, each with every address Ready."""
    lines = [line for line in run("restart_stampede.py") if "addresses Ready" in line]
    assert [line.split(":")[0] for line in lines] == ["limit 20/s (default)", "no limit"], lines
    assert all(line.split(": ", 1)[1].startswith("3 of 3 addresses Ready") for line in lines), lines


def test_sandbox_timeline_traces_the_critical_path_back_to_the_provider() -> None:
    """Every sample object references the AWSProvider: the path from the last object Ready,
    back through what each waited for, ends there."""
    lines = run("sandbox_timeline.py")
    path = [line.split()[0] for line in lines if line.startswith("  ") and " applied " in line]
    assert len(path) >= 2 and path[0] == "AWSProvider/aws", lines
    assert lines[-1].startswith("medians: line "), lines
