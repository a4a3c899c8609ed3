from infra_operator.operator.engine.conditions import is_ready, merge_conditions


def test_transition_time_moves_only_when_status_flips():
    first = merge_conditions(None, {"Ready": (False, "Provisioning", "wait")}, "t1", 1)
    same = merge_conditions(first, {"Ready": (False, "DependencyNotReady", "other")}, "t2", 1)
    assert same[0]["lastTransitionTime"] == "t1" and same[0]["reason"] == "DependencyNotReady"
    flipped = merge_conditions(same, {"Ready": (True, "Available", "ok")}, "t3", 2)
    assert flipped[0]["lastTransitionTime"] == "t3" and flipped[0]["observedGeneration"] == 2
    assert is_ready({"conditions": flipped}) and not is_ready({"conditions": same})


def test_other_conditions_are_kept_and_sorted():
    merged = merge_conditions([{"type": "Synced", "status": "True", "lastTransitionTime": "t0"}],
                              {"Ready": (True, "Available", "ok")}, "t1", None)
    assert [c["type"] for c in merged] == ["Ready", "Synced"]
