"""Every panel query of the committed dashboard, ready to run against a plain Prometheus.

Reads `dashboards/infra-operator.json` (what users import into Grafana), so a live check of these
queries checks the committed dashboard itself. Grafana's template variables are replaced by
values a bare Prometheus understands: the resource_type and service filters match everything,
`$__rate_interval` becomes 1m and `$__range` the queried time range.
"""

from __future__ import annotations

import json
import pathlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

DASHBOARD = pathlib.Path(__file__).with_name("infra-operator.json")

LIVE_SUBSTITUTIONS: Mapping[str, str] = {
    "__rate_interval": "1m",
    "__range": "1h",
    "resource_type": ".*",
    "service": ".*",
}

# $name or ${name}, the two forms Grafana expands inside queries.
_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


@dataclass(frozen=True)
class PanelQuery:
    panel_id: int
    title: str
    panel_type: str
    ref_id: str
    expr: str
    legend: str


def load_dashboard(path: pathlib.Path = DASHBOARD) -> dict:
    return json.loads(path.read_text())


def data_panels(dashboard: Mapping) -> list[dict]:
    """The panels that query data, in dashboard order (rows are layout only)."""
    return [panel for panel in dashboard["panels"] if panel["type"] != "row"]


def substitute(expr: str, substitutions: Mapping[str, str] = LIVE_SUBSTITUTIONS) -> str:
    """`expr` with every template variable replaced; an unknown variable is an error."""

    def value(match: re.Match) -> str:
        name = match.group(1) or match.group(2)
        if name not in substitutions:
            raise KeyError(f"no substitution for template variable ${name} in {expr!r}")
        return substitutions[name]

    return _VARIABLE.sub(value, expr)


def panel_queries(dashboard: Mapping | None = None,
                  substitutions: Mapping[str, str] = LIVE_SUBSTITUTIONS) -> list[PanelQuery]:
    """(panel, query) pairs of every data panel, template variables substituted."""
    dashboard = load_dashboard() if dashboard is None else dashboard
    return [
        PanelQuery(
            panel_id=panel["id"],
            title=panel["title"],
            panel_type=panel["type"],
            ref_id=target["refId"],
            expr=substitute(target["expr"], substitutions),
            legend=target.get("legendFormat", ""),
        )
        for panel in data_panels(dashboard)
        for target in panel["targets"]
    ]
