"""Panel queries and the PNG renderer against a real Prometheus scraping all catalog metrics."""

from __future__ import annotations

import time

import pytest
from matplotlib.image import imread

from dashboards import render_png
from dashboards.panel_queries import data_panels, load_dashboard, panel_queries
from deploy.manifests import rule_groups, write_rules_file
from prometheus_server import PrometheusServer

from .catalog_target import CatalogTarget

pytestmark = [
    pytest.mark.live,
    pytest.mark.tools("prometheus"),
]


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("prom")
    # With the PrometheusRule's rules: the SLO panels query its recording rules.
    rules = write_rules_file(workdir / "rules.yaml", rule_groups())
    with CatalogTarget() as target, PrometheusServer([target.address], workdir, rule_files=[rules]) as server:
        server.started_at = time.time()
        # rate() and histogram_quantile() over a 1m window need two samples of every series.
        server.wait_for("count_over_time(infra_operator_reconcile_total[1m]) >= 3")
        server.wait_for("count_over_time(resource_type:infra_operator_reconcile_failed:ratio_rate1h[1m]) >= 2")
        yield server


def test_every_panel_query_returns_data(prometheus):
    queries = panel_queries()
    empty = [(query.title, query.expr) for query in queries if not prometheus.query(query.expr)]
    assert empty == []


def test_renderer_draws_every_panel_with_data(prometheus, tmp_path):
    output = tmp_path / "dashboard.png"
    drawn = render_png.render(prometheus.url, prometheus.started_at - 5, time.time(), output)
    dashboard = load_dashboard()
    assert set(drawn) == {panel["title"] for panel in data_panels(dashboard)}
    assert all(count > 0 for count in drawn.values()), drawn
    pixels = imread(output)
    grid_rows = max(panel["gridPos"]["y"] + panel["gridPos"]["h"] for panel in dashboard["panels"])
    assert pixels.shape[:2] == ((grid_rows + render_png.HEADING_ROWS) * render_png.ROW_PX, 24 * render_png.COLUMN_PX)
    # Drawn panels, not a blank canvas: many distinct colours.
    assert len({tuple(pixel) for pixel in pixels[::7, ::7].reshape(-1, pixels.shape[2])}) > 200


def test_renderer_command_line(prometheus, tmp_path, capsys):
    output = tmp_path / "cli.png"
    assert render_png.main(["--prometheus", prometheus.url, "--since", "1m", "--output", str(output)]) == 0
    assert output.read_bytes().startswith(b"\x89PNG")
    panels = len(data_panels(load_dashboard()))
    assert capsys.readouterr().out.strip() == f"wrote {output}: {panels} panels"


def test_renderer_reports_a_query_prometheus_rejects(prometheus):
    with pytest.raises(render_png.PrometheusError, match="parse error"):
        render_png.query_range(prometheus.url, "sum(", time.time() - 60, time.time(), 15)
