"""Issue 7, live: every panel of the committed dashboard has data from the observed run, and the
renderer draws all of them. `DASHBOARD_PNG=docs/dashboard.png ./scripts/test tests/live` writes
the picture the docs show; otherwise it goes to a temporary file."""

import os
import pathlib
import time

from matplotlib.image import imread

from dashboards import render_png
from dashboards.panel_queries import data_panels, load_dashboard, panel_queries
from prometheus_server import finite_values


def test_every_panel_query_returns_data(run, prometheus):
    empty = [(query.title, query.expr) for query in panel_queries()
             if not finite_values(prometheus.query(query.expr, at=run.settled))]
    assert empty == []


def test_the_dashboard_renders_every_panel_with_data(run, prometheus, tmp_path):
    output = pathlib.Path(os.environ.get("DASHBOARD_PNG") or tmp_path / "dashboard.png")
    drawn = render_png.render(prometheus.url, run.started, time.time(), output)
    titles = [panel["title"] for panel in data_panels(load_dashboard())]
    assert sorted(drawn) == sorted(titles)
    assert {title: count for title, count in drawn.items() if count == 0} == {}
    pixels = imread(output)
    # Drawn panels, not a blank canvas: many distinct colours.
    assert len({tuple(pixel) for pixel in pixels[::7, ::7].reshape(-1, pixels.shape[2])}) > 200
