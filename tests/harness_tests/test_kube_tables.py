"""The pieces of the emulation's Table responses that have no HTTP of their own: durations as the
API server's ``duration.HumanDuration`` writes them, and the JSONPath subset printer columns use."""
from __future__ import annotations

import pytest

from infra_operator.sandbox.kube.jsonpath import compile_json_path
from infra_operator.sandbox.kube.tables import human_duration

HOUR = 3600


@pytest.mark.parametrize(("seconds", "shown"), [
    # The cases of apimachinery's duration_test.go.
    (1, "1s"), (70, "70s"), (190, "3m10s"), (70 * 60, "70m"), (47 * HOUR, "47h"), (49 * HOUR, "2d1h"),
    ((8 * 24 + 2) * HOUR, "8d"), (367 * 24 * HOUR, "367d"), ((365 * 2 * 24 + 25) * HOUR, "2y1d"),
    ((365 * 8 * 24 + 2) * HOUR, "8y"),
    (-1, "0s"), (-5, "<invalid>"), (300, "5m"), (5 * HOUR + 30 * 60, "5h30m"),
])
def test_human_duration(seconds: int, shown: str) -> None:
    assert human_duration(seconds) == shown


OBJ = {"status": {"conditions": [{"type": "Synced", "status": "False"}, {"type": "Ready", "status": "True"}],
                  "ids": ["a", "b"]},
       "spec": {"tags": {"team": "blue"}}}


@pytest.mark.parametrize(("path", "found"), [
    ('.status.conditions[?(@.type=="Ready")].status', ["True"]),
    ("{.status.conditions[?(@.type!='Ready')].type}", ["Synced"]),
    (".status.ids[1]", ["b"]),
    (".status.ids[-1]", ["b"]),
    (".status.ids[*]", ["a", "b"]),
    (".spec.tags.team", ["blue"]),
    (".spec.missing.deeper", []),
    (".status.ids[5]", []),
])
def test_json_path(path: str, found: list[str]) -> None:
    assert compile_json_path(path)(OBJ) == found


def test_json_path_refuses_what_it_cannot_evaluate() -> None:
    with pytest.raises(ValueError, match="unsupported JSONPath"):
        compile_json_path(".status..deep")
