"""The sample county's demo scenario, end to end: invariants rebuilt from the written plan."""

from __future__ import annotations

import json

import geopandas as gpd

from planning.scenario import load_scenario
from tests.conftest import ROOT
from tests.invariants import check_plan


def test_demo_plan_keeps_every_rule(demo_run):
    check_plan(demo_run, load_scenario(ROOT / "scenarios" / "demo.yaml"))


def test_demo_summary_has_the_promised_figures(demo_run):
    s = json.loads((demo_run / "summary.json").read_text(encoding="utf-8"))
    for key in ("status", "objective", "gap", "solver"):
        assert key in s
    assert s["status"] in ("optimal", "feasible")
    assert set(s["schools"]) >= {"open", "closed", "new"}
    assert set(s["students"]) >= {"primary", "junior", "unassigned"}
    for lvl in ("primary", "junior"):
        assert set(s["travel"][lvl]) >= {"mean_m", "p90_m", "max_m"}
    assert set(s["violations"]) >= {"school_size", "class_size", "travel_limit"}
    assert not any(s["violations"].values()), s["violations"]
    # the synthetic county seat is over-full today; the baseline must say so
    assert s["baseline"]["big_classes_56"] >= 1
    assert s["baseline"]["school_size"] >= 1
    assert s["travel_costs"] == "network"


def test_demo_children_all_counted(demo_run):
    villages = gpd.read_file(demo_run / "plan.gpkg", layer="villages")
    s = json.loads((demo_run / "summary.json").read_text(encoding="utf-8"))
    for lvl in ("primary", "junior"):
        assert s["students"][lvl] + s["students"]["unassigned_by_level"][lvl] == int(
            villages[f"children_{lvl}"].sum()
        )


def test_demo_catchments_cover_the_served_villages(demo_run):
    cat = gpd.read_file(demo_run / "plan.gpkg", layer="catchments")
    villages = gpd.read_file(demo_run / "plan.gpkg", layer="villages")
    for lvl in ("primary", "junior"):
        c = cat[cat["level"] == lvl]
        assert c["school_id"].is_unique
        assert set(c["school_id"]) == set(villages[f"school_{lvl}"].dropna())
        assert (
            c["students"].sum()
            == villages.loc[villages[f"school_{lvl}"].notna(), f"children_{lvl}"].sum()
        )
        assert c.geometry.is_valid.all() and (c.to_crs(c.estimate_utm_crs()).area > 0).all()


def test_demo_routes_follow_the_roads_and_match_the_trip_lengths(demo_run):
    routes = gpd.read_file(demo_run / "plan.gpkg", layer="routes")
    villages = gpd.read_file(demo_run / "plan.gpkg", layer="villages").set_index("village_id")
    crs = routes.estimate_utm_crs()
    length = routes.to_crs(crs).length.to_numpy()
    trip = [
        villages.at[v, f"distance_m_{lvl}"]
        for v, lvl in zip(routes["village_id"], routes["level"], strict=True)
    ]
    # the route is the road path plus the straight off-road legs; lengths agree within 2%
    assert len(routes) >= 0.9 * villages["school_primary"].notna().sum()
    assert abs(length / trip - 1).max() < 0.02
