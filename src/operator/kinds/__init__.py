"""One module per AWS kind; the registry is the list the engine and the wiring serve."""

from __future__ import annotations

from ..engine.kind import Kind
from .elasticip import ElasticIP


def all_kinds() -> tuple[Kind, ...]:
    return (ElasticIP(),)
