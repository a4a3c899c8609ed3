"""Draws the dashboard's panels from live Prometheus data into a PNG, without a Grafana server.

    python -m dashboards.render_png --prometheus http://127.0.0.1:9090 --since 30m \
        --output docs/dashboard.png

Every panel query of the committed dashboard (see `dashboards.panel_queries`) is run as a range
query; the panels are drawn where the dashboard's grid puts them: time series as lines, stat and
gauge panels as their last value coloured by the thresholds, pie charts and bar gauges from the
last value of each series.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import pathlib
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from matplotlib.dates import AutoDateLocator, DateFormatter
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from dashboards.panel_queries import LIVE_SUBSTITUTIONS, load_dashboard, substitute  # noqa: E402

OUTPUT = pathlib.Path(__file__).resolve().parent.parent / "docs" / "dashboard.png"

# Grafana's grid: 24 columns over a 1920 px wide screen, rows of 30 px.
GRID_COLUMNS = 24
COLUMN_PX = 80
ROW_PX = 30
DPI = 100
MAX_POINTS = 240
# Grid rows above the first row panel, for the dashboard's title and time range.
HEADING_ROWS = 2

# Grafana's dark theme and its named colours.
BACKGROUND = "#111217"
PANEL = "#181b1f"
BORDER = "#2c3235"
TEXT = "#ccccdc"
MUTED = "#8e8e9a"
COLORS = {"green": "#73bf69", "yellow": "#fade2a", "red": "#f2495c", "blue": "#5794f2",
          "orange": "#ff9830", "purple": "#b877d9"}
SERIES_COLORS = ["#7eb26d", "#eab839", "#6ed0e0", "#ef843c", "#e24d42", "#1f78c1", "#ba43a9",
                 "#705da0", "#508642", "#cca300"]

# (below this many seconds, divide by, suffix) for the "s" unit.
DURATION_STEPS = ((1, 0.001, "ms"), (120, 1, "s"), (7200, 60, "min"), (172800, 3600, "h"))

_LEGEND_LABEL = re.compile(r"\{\{\s*(\w+)\s*\}\}")


@dataclass(frozen=True)
class Series:
    legend: str
    times: tuple[dt.datetime, ...]
    values: tuple[float, ...]

    @property
    def last(self) -> float:
        return self.values[-1]


class PrometheusError(RuntimeError):
    pass


def query_range(prometheus_url: str, expr: str, start: float, end: float, step: float) -> list[dict]:
    """The `result` of /api/v1/query_range (a list of {metric, values})."""
    body = urllib.parse.urlencode({"query": expr, "start": start, "end": end, "step": step}).encode()
    request = urllib.request.Request(f"{prometheus_url.rstrip('/')}/api/v1/query_range", data=body)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            payload = json.load(response)
    except urllib.error.HTTPError as error:  # Prometheus answers bad queries with 400 and a JSON error
        payload = json.load(error)
    if payload.get("status") != "success":
        raise PrometheusError(f"{expr!r}: {payload.get('error')}")
    return payload["data"]["result"]


def legend(template: str, labels: Mapping[str, str]) -> str:
    """A series name from Grafana's legendFormat ("{{service}} {{result}}")."""
    text = _LEGEND_LABEL.sub(lambda m: labels.get(m.group(1), ""), template).strip()
    return text or ", ".join(f"{k}={v}" for k, v in sorted(labels.items())) or "value"


def panel_series(prometheus_url: str, panel: Mapping, start: float, end: float, step: float,
                 substitutions: Mapping[str, str]) -> list[Series]:
    series = []
    for target in panel["targets"]:
        expr = substitute(target["expr"], substitutions)
        for result in query_range(prometheus_url, expr, start, end, step):
            points = [(float(t), float(v)) for t, v in result["values"] if math.isfinite(float(v))]
            if points:
                series.append(Series(
                    legend=legend(target.get("legendFormat", ""), result["metric"]),
                    times=tuple(_datetime(t) for t, _ in points),
                    values=tuple(v for _, v in points),
                ))
    return series


def format_value(value: float, unit: str, decimals: int | None = None) -> str:
    """A value in the panel's Grafana unit, the way Grafana would print it (roughly)."""
    if decimals is not None:
        return f"{value:.{decimals}f}"
    if unit == "percentunit":
        return f"{value * 100:.1f}%"
    if unit == "s":
        for limit, divisor, suffix in DURATION_STEPS:
            if abs(value) < limit:
                return f"{value / divisor:.3g} {suffix}"
        return f"{value / 86400:.3g} d"
    suffix = {"ops": " ops/s", "reqps": " req/s"}.get(unit, "")
    return f"{value:.3g}{suffix}"


def threshold_color(value: float, field_defaults: Mapping) -> str:
    steps = field_defaults.get("thresholds", {}).get("steps", [])
    color = "blue"
    for step in steps:
        if step["value"] is None or value >= step["value"]:
            color = step["color"]
    return COLORS.get(color, color)


def mapped_text(value: float, field_defaults: Mapping) -> tuple[str, str] | None:
    """(text, colour) of a value mapping that matches `value`."""
    for mapping in field_defaults.get("mappings", []):
        result = mapping.get("options", {}).get(f"{value:g}")
        if mapping.get("type") == "value" and result:
            return result["text"], COLORS.get(result.get("color"), TEXT)
    return None


def _style(ax) -> None:
    ax.set_facecolor(PANEL)
    ax.tick_params(colors=MUTED, labelsize=7)
    for spine in ax.spines.values():
        spine.set_color(BORDER)


def _draw_timeseries(ax, panel: Mapping, series: Sequence[Series]) -> None:
    defaults = panel["fieldConfig"]["defaults"]
    unit = defaults.get("unit", "")
    for index, item in enumerate(series):
        ax.plot(item.times, item.values, label=item.legend, linewidth=1.2,
                color=SERIES_COLORS[index % len(SERIES_COLORS)])
    ax.set_ylim(bottom=0)
    low, high = ax.get_ylim()
    if defaults.get("custom", {}).get("thresholdsStyle", {}).get("mode", "off") != "off":
        for step in defaults["thresholds"]["steps"]:
            if step["value"] is not None and low <= step["value"] <= high:
                ax.axhline(step["value"], color=COLORS.get(step["color"]), linestyle="--", linewidth=0.8)
    ax.yaxis.set_major_formatter(lambda value, _: format_value(value, unit))
    ax.grid(color=BORDER, linewidth=0.5)
    ax.legend(loc="upper left", fontsize=6, ncol=2, labelcolor=TEXT, facecolor=PANEL, edgecolor=BORDER,
              framealpha=0.8)


def _time_axis(ax, panel: Mapping, start: float, end: float) -> None:
    """The dashboard's whole time range on the x axis, as Grafana shows it, whatever the series cover."""
    ax.set_xlim(_datetime(start), _datetime(end))
    if end - start >= 2:  # matplotlib's date locator has no interval for shorter spans
        ax.xaxis.set_major_locator(AutoDateLocator(minticks=2, maxticks=max(3, panel["gridPos"]["w"] // 2)))
    ax.xaxis.set_major_formatter(DateFormatter("%H:%M:%S", tz=dt.timezone.utc))


def _draw_single_values(ax, panel: Mapping, series: Sequence[Series]) -> None:
    """Stat and gauge panels: one coloured tile per series with its last value."""
    defaults = panel["fieldConfig"]["defaults"]
    ax.set_axis_off()
    width = 1 / len(series)
    for index, item in enumerate(series):
        mapped = mapped_text(item.last, defaults)
        value = format_value(item.last, defaults.get("unit", ""), defaults.get("decimals"))
        text, color = mapped or (value, threshold_color(item.last, defaults))
        left = index * width
        ax.add_patch(_tile(left + 0.02, 0.1, width - 0.04, 0.8, color))
        ax.text(left + width / 2, 0.55, text, ha="center", va="center", fontsize=16, color=BACKGROUND,
                weight="bold", transform=ax.transAxes)
        ax.text(left + width / 2, 0.25, item.legend, ha="center", va="center", fontsize=7, color=BACKGROUND,
                transform=ax.transAxes)


def _tile(x: float, y: float, width: float, height: float, color: str) -> FancyBboxPatch:
    return FancyBboxPatch((x, y), width, height, boxstyle="round,pad=0,rounding_size=0.03", color=color)


def _draw_pie(ax, panel: Mapping, series: Sequence[Series]) -> None:
    values = [max(item.last, 0) for item in series]
    colors = [SERIES_COLORS[i % len(SERIES_COLORS)] for i in range(len(series))]
    if sum(values) == 0:
        _no_data(ax, "all values are 0")
        return
    ax.pie(values, labels=[f"{item.legend} ({item.last:g})" for item in series], colors=colors,
           wedgeprops={"width": 0.4, "edgecolor": PANEL}, textprops={"color": TEXT, "fontsize": 7})
    ax.set_aspect("equal")


def _draw_bars(ax, panel: Mapping, series: Sequence[Series]) -> None:
    defaults = panel["fieldConfig"]["defaults"]
    unit = defaults.get("unit", "")
    ordered = sorted(series, key=lambda item: item.last)
    positions = range(len(ordered))
    ax.barh(positions, [item.last for item in ordered],
            color=[threshold_color(item.last, defaults) for item in ordered])
    ax.set_yticks(list(positions), [item.legend for item in ordered], fontsize=7, color=TEXT)
    for position, item in zip(positions, ordered, strict=True):
        ax.text(item.last, position, " " + format_value(item.last, unit), va="center", fontsize=7, color=TEXT)
    ax.xaxis.set_major_formatter(lambda value, _: format_value(value, unit))
    ax.margins(x=0.25)


def _no_data(ax, reason: str = "No data") -> None:
    ax.set_axis_off()
    ax.text(0.5, 0.5, reason, ha="center", va="center", color=MUTED, fontsize=10, transform=ax.transAxes)


DRAWERS = {
    "timeseries": _draw_timeseries,
    "stat": _draw_single_values,
    "gauge": _draw_single_values,
    "piechart": _draw_pie,
    "bargauge": _draw_bars,
}


def render(prometheus_url: str, start: float, end: float, output: pathlib.Path = OUTPUT,
           dashboard: Mapping | None = None) -> dict[str, int]:
    """Draws every panel into `output`; returns the number of series drawn per panel title."""
    dashboard = load_dashboard() if dashboard is None else dashboard
    step = max(1.0, math.ceil((end - start) / MAX_POINTS))
    substitutions = {**LIVE_SUBSTITUTIONS, "__range": f"{max(1, round(end - start))}s"}
    total_rows = HEADING_ROWS + max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in dashboard["panels"])
    figure = Figure(figsize=(GRID_COLUMNS * COLUMN_PX / DPI, total_rows * ROW_PX / DPI), dpi=DPI,
                    facecolor=BACKGROUND)
    heading = f"{dashboard['title']}   ({_utc(start)} to {_utc(end)} UTC, refresh {dashboard['refresh']})"
    figure.text(0.01, 1 - 1 / total_rows, heading, color=TEXT, fontsize=14, weight="bold", va="center")
    drawn = {}
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        if panel["type"] == "row":
            y = 1 - (grid["y"] + HEADING_ROWS + 0.5) / total_rows
            figure.text(0.005, y, panel["title"], color=TEXT, fontsize=12, weight="bold", va="center")
            continue
        outer = _frame_rect(grid, total_rows)
        frame = figure.add_axes(outer, facecolor=PANEL)
        frame.set_xticks([])
        frame.set_yticks([])
        for spine in frame.spines.values():
            spine.set_color(BORDER)
        frame.text(0.01, 1 - 0.6 / grid["h"], panel["title"], transform=frame.transAxes, color=TEXT,
                   fontsize=9, weight="bold", va="center")
        ax = figure.add_axes(_inset(outer, grid["h"], wide_left=panel["type"] == "bargauge"))
        _style(ax)
        series = panel_series(prometheus_url, panel, start, end, step, substitutions)
        drawn[panel["title"]] = len(series)
        if series:
            DRAWERS[panel["type"]](ax, panel, series)
            if panel["type"] == "timeseries":
                _time_axis(ax, panel, start, end)
        else:
            _no_data(ax)
    output.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(output, facecolor=BACKGROUND)
    return drawn


def _frame_rect(grid: Mapping, total_rows: int) -> list[float]:
    """A panel's [left, bottom, width, height] in figure fractions, with a small gutter."""
    bottom = 1 - (grid["y"] + HEADING_ROWS + grid["h"]) / total_rows
    gutter = 0.004
    return [grid["x"] / GRID_COLUMNS + gutter, bottom + gutter,
            grid["w"] / GRID_COLUMNS - 2 * gutter, grid["h"] / total_rows - 2 * gutter]


def _inset(outer: list[float], grid_rows: int, wide_left: bool) -> list[float]:
    """The plotting area inside a panel frame: below the title, room for tick labels."""
    x, y, width, height = outer
    title = height * 1.2 / grid_rows
    left = width * (0.28 if wide_left else 0.12)
    return [x + left, y + height * 0.1, width - left - width * 0.03, height - title - height * 0.12]


def _datetime(timestamp: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(timestamp, dt.timezone.utc)


def _utc(timestamp: float) -> str:
    return _datetime(timestamp).strftime("%Y-%m-%d %H:%M:%S")


def _duration(text: str) -> float:
    match = re.fullmatch(r"(\d+)([smh])", text)
    if not match:
        raise argparse.ArgumentTypeError(f"expected a duration like 90s, 30m or 2h, got {text!r}")
    return int(match.group(1)) * {"s": 1, "m": 60, "h": 3600}[match.group(2)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prometheus", required=True, help="base URL, e.g. http://127.0.0.1:9090")
    parser.add_argument("--since", type=_duration, default=_duration("30m"),
                        help="time range ending now (90s, 30m, 2h); ignored with --start/--end")
    parser.add_argument("--start", type=float, help="range start, Unix seconds")
    parser.add_argument("--end", type=float, help="range end, Unix seconds")
    parser.add_argument("--output", type=pathlib.Path, default=OUTPUT)
    args = parser.parse_args(argv)
    end = args.end if args.end is not None else dt.datetime.now(dt.timezone.utc).timestamp()
    start = args.start if args.start is not None else end - args.since
    drawn = render(args.prometheus, start, end, args.output)
    empty = sorted(title for title, count in drawn.items() if count == 0)
    missing = f", no data in: {', '.join(empty)}" if empty else ""
    print(f"wrote {args.output}: {len(drawn)} panels{missing}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
