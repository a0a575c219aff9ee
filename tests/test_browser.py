"""The demo map and report in a real browser, with the network switched off.

Headless Chromium (Debian's ``chromium`` package) driven by Playwright's Python package. Every
request that is not a local file is aborted and recorded, so a map that still needed a CDN fails
here. Without Chromium these tests are skipped with the command that installs it.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from planning.i18n import t
from planning.maps import comparison_map, plan_map, write_map
from planning.plan import Plan
from planning.scenario import load_scenario
from tests.conftest import ROOT
from tests.sample_plans import read_plan

CHROMIUM = Path(os.environ.get("SCHOOLPLAN_CHROMIUM", "/usr/bin/chromium"))
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
INSTALL = "apt-get install -y chromium fonts-noto-cjk"
SCHOOL_PAYLOAD = '<img src=x onerror="window.__xss=1;alert(1)">'
VILLAGE_PAYLOAD = "<script>window.__xss=2</script>"
CLICK_MS = 5000


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for the module; skipped when Chromium or Playwright is missing."""
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="Playwright missing: pip install -e '.[test]'"
    )
    if not CHROMIUM.exists():
        pytest.skip(
            f"headless Chromium not found at {CHROMIUM}: install it with `{INSTALL}` "
            "(Debian; .ci/run does this), or set SCHOOLPLAN_CHROMIUM to its path"
        )
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield chromium
        chromium.close()


@dataclass
class Visit:
    """A page opened offline, with what it asked for and what went wrong."""

    page: Any
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    @property
    def external(self) -> list[str]:
        return [url for url in self.requests if not url.startswith(("file:", "data:"))]


def _abort_unless_local(route: Any) -> None:
    if route.request.url.startswith(("file:", "data:")):
        route.continue_()
    else:
        route.abort()


@contextmanager
def offline(browser: Any, path: Path) -> Iterator[Visit]:
    """Open a local file with every network request blocked and recorded."""
    context = browser.new_context(offline=True, viewport={"width": 1400, "height": 900})
    context.route("**/*", _abort_unless_local)
    page = context.new_page()
    visit = Visit(page)
    page.on("request", lambda r: visit.requests.append(r.url))
    page.on("console", lambda m: visit.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: visit.errors.append(str(e)))
    page.on("dialog", lambda d: (visit.dialogs.append(d.message), d.dismiss()))
    page.goto(path.resolve().as_uri())
    page.wait_for_load_state("load")
    try:
        yield visit
    finally:
        context.close()


def _boundary() -> gpd.GeoDataFrame:
    scenario = load_scenario(ROOT / "scenarios" / "demo.yaml")
    return gpd.read_file(scenario.data.boundary)


@pytest.fixture(scope="module")
def demo_plan(demo_run: Path) -> Plan:
    return read_plan(demo_run)


@pytest.fixture(scope="module")
def injected(demo_plan: Plan, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The demo map with markup in a school's and a village's name, and where they are."""
    schools, villages = demo_plan.schools.copy(), demo_plan.villages.copy()
    points = pd.concat([schools.geometry, villages.geometry], ignore_index=True)
    s = _most_isolated(schools.geometry, points)
    v = _most_isolated(villages.geometry, points)
    schools.iloc[s, schools.columns.get_loc("name")] = SCHOOL_PAYLOAD
    villages.iloc[v, villages.columns.get_loc("name")] = VILLAGE_PAYLOAD
    plan = dataclasses.replace(demo_plan, schools=schools, villages=villages)
    path = tmp_path_factory.mktemp("injected") / "map.html"
    write_map(plan_map(plan, _boundary()), path)
    where = {
        "school": (s, schools.geometry.to_crs(4326).iloc[s]),
        "village": (v, villages.geometry.to_crs(4326).iloc[v]),
    }
    return {"path": path, **where}


def _most_isolated(points: gpd.GeoSeries, others: gpd.GeoSeries) -> int:
    """Position of the point farthest from every other symbol, so that a click reaches it."""
    utm = points.estimate_utm_crs()
    a = shapely.get_coordinates(points.to_crs(utm).to_numpy())
    b = shapely.get_coordinates(others.to_crs(utm).to_numpy())
    gaps = np.hypot(a[:, None, 0] - b[None, :, 0], a[:, None, 1] - b[None, :, 1])
    gaps[gaps == 0] = np.inf  # the point itself
    return int(gaps.min(axis=1).argmax())


def _zoom_to(visit: Visit, point: shapely.Point, zoom: int = 16) -> None:
    """Centre the map on a point, close up, so that a click there reaches it.

    Leaflet ignores a view set during a zoom animation, so this asks again until the map shows
    the view and has stopped moving.
    """
    visit.page.wait_for_function(
        """([lat, lon, zoom]) => {
            const map = window[document.querySelector(".folium-map").id];
            const c = map.getCenter();
            const there = map.getZoom() === zoom
                && Math.abs(c.lat - lat) < 1e-6 && Math.abs(c.lng - lon) < 1e-6;
            if (!there && !map._animatingZoom) {
                map.closePopup();
                map.setView([lat, lon], zoom, {animate: false});
            }
            return there && !map._animatingZoom;
        }""",
        arg=[point.y, point.x, zoom],
        timeout=CLICK_MS,
    )


def _count(visit: Visit, selector: str) -> int:
    return visit.page.locator(selector).count()


def _box(visit: Visit, selector: str) -> dict[str, float]:
    box = visit.page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} not visible"
    return box


def _overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def test_demo_map_renders_offline_with_every_layer(browser, demo_run, demo_plan):
    with offline(browser, demo_run / "map.html") as visit:
        assert visit.external == [], "the map asked the network for something"
        assert visit.errors == []
        moving = "() => !!window[document.querySelector('.folium-map').id]._animatingZoom"
        assert not visit.page.evaluate(moving), "the map should open at the county, not zoom there"
        cat = demo_plan.catchments
        assert _count(visit, ".school-marker") == len(demo_plan.schools)
        assert _count(visit, "path.village-marker") == len(demo_plan.villages)
        assert _count(visit, "path.catchment-primary") == int((cat["level"] == "primary").sum())
        assert _count(visit, "path.catchment-junior") == 0  # hidden until switched on
        names = visit.page.locator(".leaflet-control-layers-overlays label").all_inner_texts()
        expected = ["boundary", "catchments_primary", "catchments_junior", "links_primary"]
        expected += ["links_junior", "villages", "schools"]
        assert [n.strip() for n in names] == [t(f"layer_{key}") for key in expected]
        legend, layers = _box(visit, ".plan-legend"), _box(visit, ".leaflet-control-layers")
        for other in (layers, _box(visit, ".leaflet-control-zoom"), _box(visit, ".plan-title")):
            assert not _overlap(legend, other)
        assert not _overlap(_box(visit, ".plan-title"), layers)


def test_layer_switcher_shows_junior_catchments_and_links(browser, demo_run, demo_plan):
    with offline(browser, demo_run / "map.html") as visit:
        overlays = visit.page.locator(".leaflet-control-layers-overlays label")
        overlays.filter(has_text=t("layer_catchments_junior")).locator("input").check()
        junior = int((demo_plan.catchments["level"] == "junior").sum())
        assert _count(visit, "path.catchment-junior") == junior
        overlays.filter(has_text=t("layer_links_primary")).locator("input").check()
        linked = int(demo_plan.villages["school_primary"].notna().sum())
        assert _count(visit, "path.link-primary") == linked
        overlays.filter(has_text=t("layer_catchments_primary")).locator("input").uncheck()
        assert _count(visit, "path.catchment-primary") == 0
        assert visit.errors == []


def test_popups_open_and_injected_names_stay_text(browser, injected):
    with offline(browser, injected["path"]) as visit:
        page, popup = visit.page, visit.page.locator(".leaflet-popup-content").last
        school, at = injected["school"]
        _zoom_to(visit, at)
        page.locator(".school-marker").nth(school).click(timeout=CLICK_MS)
        assert SCHOOL_PAYLOAD in popup.inner_text()
        assert t("popup_before") in popup.inner_text()
        page.locator(".school-marker").nth(school).hover(timeout=CLICK_MS)
        assert SCHOOL_PAYLOAD in page.locator(".leaflet-tooltip").last.inner_text()
        village, at = injected["village"]
        _zoom_to(visit, at, zoom=18)
        page.locator("path.village-marker").nth(village).click(timeout=CLICK_MS)
        assert VILLAGE_PAYLOAD in popup.inner_text()
        assert t("popup_children", level=t("level_primary")) in popup.inner_text()
        assert page.evaluate("window.__xss") is None
        assert page.locator('img[src="x"]').count() == 0
        assert visit.dialogs == []
        assert visit.external == [] and visit.errors == []


def test_comparison_switches_between_plans(browser, demo_plan, tmp_path):
    schools = demo_plan.schools.copy()
    kept = int(np.flatnonzero(schools["decision"].to_numpy() == "keep")[0])
    schools.iloc[kept, schools.columns.get_loc("decision")] = "close"
    before = dataclasses.replace(demo_plan, name="A", schools=schools)
    path = write_map(comparison_map(before, demo_plan, _boundary()), tmp_path / "compare.html")
    closed_b = int((demo_plan.schools["decision"] == "close").sum())
    with offline(browser, path) as visit:
        assert _count(visit, "path.change-school") == 1  # open in B, closed in A
        assert _count(visit, ".school-marker.school-close") == closed_b
        visit.page.locator(".plan-toggle-a").click(timeout=CLICK_MS)
        assert _count(visit, ".school-marker.school-close") == closed_b + 1
        visit.page.locator(".plan-toggle-b").click(timeout=CLICK_MS)
        assert _count(visit, ".school-marker.school-close") == closed_b
        assert visit.external == [] and visit.errors == []


def test_demo_report_renders_offline_and_prints(browser, demo_run):
    with offline(browser, demo_run / "report.html") as visit:
        assert visit.external == [] and visit.errors == []
        widths = visit.page.eval_on_selector_all("img", "imgs => imgs.map(i => i.naturalWidth)")
        assert len(widths) == 2 and min(widths) > 0
        pdf = visit.page.pdf(format="A4")
    assert pdf.startswith(b"%PDF")
    pages = pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages")
    assert 2 <= pages <= 8
