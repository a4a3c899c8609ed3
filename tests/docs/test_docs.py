"""The docs stay true to the code: generated references are current, every code path they cite
records what they say, and every setting, span name, attribute and condition reason the code
has is documented."""

from __future__ import annotations

import importlib
import inspect
import pathlib
import re

import pytest

from infra_operator.operator import reference_docs
from infra_operator.telemetry import _recorders, catalog

REPO = pathlib.Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
REGENERATE = "regenerate with: python -m infra_operator.operator.reference_docs docs"


def read(name: str) -> str:
    return (DOCS / name).read_text()


@pytest.mark.parametrize("path", sorted(reference_docs.generated(DOCS)), ids=lambda path: path.name)
def test_generated_reference_is_current(path: pathlib.Path) -> None:
    assert path.read_text() == reference_docs.generated(DOCS)[path], f"{path.name} is stale; {REGENERATE}"


def test_every_metric_says_what_records_it_and_the_code_does() -> None:
    assert set(reference_docs.RECORDED_BY) == {spec.name for spec in catalog.METRICS}
    for metric, recorders in reference_docs.RECORDED_BY.items():
        for recorded in recorders:
            module, _, qualname = recorded.where.partition(":")
            target = importlib.import_module(module)
            for part in qualname.split("."):
                target = getattr(target, part)
            assert recorded.call in inspect.getsource(target), f"{metric}: {recorded.where} has no {recorded.call!r}"


def test_the_metrics_reference_names_every_label_value_set() -> None:
    text = read("metrics.md")
    for values in (catalog.RESULTS, catalog.STATUSES, catalog.SEVERITIES, catalog.ERROR_TYPES,
                   catalog.THROTTLING_CODES, set(catalog.SERVICES.values())):
        for value in values:
            assert f"`{value}`" in text


def test_every_environment_variable_read_is_documented() -> None:
    configuration = read("configuration.md")
    settings_source = (REPO / "src/telemetry/_settings.py").read_text()
    variables = set(re.findall(r'"((?:OTEL|POD|NODE)_[A-Z_]+)"', settings_source))
    variables |= {f"INFRA_OPERATOR_{name}" for name in
                  re.findall(r'env\("([A-Z_]+)"', (REPO / "src/operator/cli.py").read_text())}
    assert len(variables) > 15
    assert not {variable for variable in variables if f"`{variable}`" not in configuration}


def test_tracing_doc_names_every_span_attribute_and_event() -> None:
    tracing = read("tracing.md")
    emitted = {value for name, value in vars(_recorders).items()
               if name.startswith("ATTR_") or name == "DRIFT_EVENT"}
    for span_name in ("reconcile {resource_type}", "finalize {resource_type}", "drift {resource_type}",
                      "provider check", "infra_operator.provider", "rpc.method", "aws.request_id"):
        emitted.add(span_name)
    assert not {value for value in emitted if f"`{value}`" not in tracing}


def _condition_reasons() -> set[str]:
    source = "\n".join(path.read_text() for path in (REPO / "src/operator").rglob("*.py"))
    return set(re.findall(r'reason ?= ?"(\w+)"', source)) | set(re.findall(r'\((?:True|False), "(\w+)"', source))


def _event_reasons() -> set[str]:
    source = "\n".join(path.read_text() for path in (REPO / "src/operator").rglob("*.py"))
    return set(re.findall(r'event\("(?:Normal|Warning)", "(\w+)"', source))


def test_troubleshooting_explains_every_condition_and_event_reason() -> None:
    troubleshooting = read("troubleshooting.md")
    reasons = _condition_reasons() | _event_reasons()
    assert {"DependencyNotReady", "AWSThrottled", "DriftHealed", "InvalidCidr"} <= reasons
    assert not {reason for reason in reasons if f"`{reason}`" not in troubleshooting}


def test_relative_links_between_docs_resolve() -> None:
    for path in [REPO / "README.md", *DOCS.glob("*.md")]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", path.read_text()):
            assert (path.parent / target).exists(), f"{path.name} links to missing {target}"
