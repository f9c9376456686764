"""The Grafana dashboard is importable and has a panel for each view operators asked for."""

import json

from tests.deploy.promql import DASHBOARD, dashboard_panels

# Issue 19's list; each must be a panel title (case-insensitive).
REQUIRED_PANELS = {
    "payments by status",
    "amount volume by currency",
    "charge latency percentiles",
    "webhook intake and rejects",
    "delivery lag and dead letters",
    "idempotency replays and conflicts",
    "gateway latency (p95)",
    "gateway errors and conflicts",
    # Issue 30: card networks act on a dispute rate above about 1%.
    "dispute rate",
}


def test_dashboard_has_every_required_panel() -> None:
    """Each required view is a panel with at least one PromQL target."""
    panels = {panel["title"].lower(): panel for panel in dashboard_panels()}
    assert set(panels) >= REQUIRED_PANELS, REQUIRED_PANELS - set(panels)
    assert all(panel["targets"] and panel["targets"][0]["expr"] for panel in panels.values())


def test_dashboard_imports_with_a_chosen_prometheus_datasource() -> None:
    """Every panel and target reads the ${DS_PROMETHEUS} input, so import asks for one."""
    dashboard = json.loads(DASHBOARD.read_text())
    assert [item["name"] for item in dashboard["__inputs"]] == ["DS_PROMETHEUS"]
    sources = [panel["datasource"] for panel in dashboard_panels()] + [
        target["datasource"] for panel in dashboard_panels() for target in panel["targets"]
    ]
    assert all(source == {"type": "prometheus", "uid": "${DS_PROMETHEUS}"} for source in sources)


def test_panels_have_unique_ids_and_do_not_overlap() -> None:
    """Panel ids are unique and no two panels share a grid cell."""
    panels = dashboard_panels()
    assert len({panel["id"] for panel in panels}) == len(panels)
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        grid = panel["gridPos"]
        mine = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert grid["x"] + grid["w"] <= 24 and not mine & cells, panel["title"]
        cells |= mine
