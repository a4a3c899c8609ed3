import pytest

from infra_operator.operator.engine.versions import is_downgrade, names_version, refuse_downgrade
from infra_operator.operator.provider.errors import TerminalError


def test_a_spec_version_names_every_version_it_is_a_prefix_of():
    assert names_version("7.1", "7.1.0") and names_version("15", "15.4") and names_version("8.0.35", "8.0.35")
    assert not names_version("7.1", "7.10.0") and not names_version("15.4", "15")


def test_a_downgrade_is_compared_as_far_as_the_spec_goes():
    assert is_downgrade("7.0", "7.1.0") and is_downgrade("9.6", "10.1") and is_downgrade("7.2", "7.10.0")
    assert not is_downgrade("7", "7.1.0") and not is_downgrade("7.2", "7.1.9")
    assert is_downgrade("19.0.0.0.ru-2023", "19.0.0.0.ru-2024")


def test_a_downgrade_is_refused_with_the_kinds_reason_and_an_unknown_version_is_not():
    with pytest.raises(TerminalError) as refused:
        refuse_downgrade("DB instance orders", "14.9", "15.4", reason="VersionDowngradeRefused")
    assert refused.value.reason == "VersionDowngradeRefused" and "runs 15.4" in str(refused.value)
    refuse_downgrade("g", "7.1", "7.1.0")
    refuse_downgrade("g", "7.0", None)
