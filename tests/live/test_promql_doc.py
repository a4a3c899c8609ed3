"""Issue 5: every PromQL example of docs/promql.md (one query per ```promql block, each after a
sentence saying what it answers, grouped by area) runs against the live Prometheus of the
observed run and returns data: a result with at least one finite value."""

import pathlib
import re

import pytest

from prometheus_server import finite_values

DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "promql.md"
AREAS = ["Reconcile", "Resources", "AWS API", "Drift", "Finalizer", "Provider", "Workqueue", "Cache"]
# A level-2 heading, or a fenced promql block with the last non-blank line before it.
_PART = re.compile(r"^## (?P<area>[^\n]+)$|^(?P<before>[^\n]*)\n+```promql\n(?P<query>.*?)\n```", re.M | re.S)


def examples(text: str) -> list[tuple[str, str, str]]:
    """(area, the sentence before, query) of every promql block, in order."""
    found, area = [], None
    for match in _PART.finditer(text):
        if match["area"]:
            area = match["area"].strip()
        else:
            found.append((area, match["before"].strip(), match["query"].strip()))
    return found


EXAMPLES = examples(DOC.read_text())


def test_the_doc_has_at_least_50_examples_in_every_area_each_explained():
    assert len(EXAMPLES) >= 50
    assert list(dict.fromkeys(area for area, _, _ in EXAMPLES)) == AREAS
    for area in AREAS:
        assert sum(1 for each, _, _ in EXAMPLES if each == area) >= 5, area
    unexplained = [query for _, sentence, query in EXAMPLES if not sentence.endswith((".", "?"))]
    assert unexplained == []
    assert len({query for _, _, query in EXAMPLES}) == len(EXAMPLES)


@pytest.mark.parametrize(("area", "sentence", "query"), EXAMPLES,
                         ids=[f"{area}-{index}" for index, (area, _, _) in enumerate(EXAMPLES)])
def test_example_returns_data(run, prometheus, area, sentence, query):
    assert finite_values(prometheus.query(query, at=run.settled)), f"{sentence}\n{query}"
