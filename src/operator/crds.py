"""Renders crds/ from the kinds' declarations: `python -m infra_operator.operator.crds [DIR]`.
A test fails when the committed files differ from what this produces."""

from __future__ import annotations

import pathlib
import sys
from typing import Any

import yaml

from .engine.providers import provider_crd
from .engine.schema import GROUP, kind_crd
from .kinds import all_kinds


def all_crds() -> list[dict[str, Any]]:
    return [provider_crd(), *(kind_crd(kind) for kind in all_kinds())]


def file_name(crd: dict[str, Any]) -> str:
    return f"{GROUP}_{crd['spec']['names']['plural']}.yaml"


def render(crd: dict[str, Any]) -> str:
    return yaml.safe_dump(crd, sort_keys=False, width=100)


def main(argv: list[str]) -> int:
    target = pathlib.Path(argv[0] if argv else "crds")
    target.mkdir(parents=True, exist_ok=True)
    for crd in all_crds():
        (target / file_name(crd)).write_text(render(crd))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
