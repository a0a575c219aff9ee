"""岑巩县 (Cengong County, Guizhou) from public data alone: demand, candidate sites, a plan.

The worked example of docs/cengong.md. Inputs (../shared/data/cengong/, see its README): the
2020 census row of the county (population, urban/rural, age bands), the official lists of its 12
townships and 103 administrative villages / communities, 252 OpenStreetMap settlement points
(no populations) and the county polygon in GCJ-02. No school list and no road network exist, so
the plan is "where would schools go from scratch": generated candidate sites, straight-line
travel. The rule that turns these files into demand points (documented in docs/cengong.md):

1. Township seats are the OSM ``place=town`` nodes matched to the official townships by name
   (乡/镇 suffixes ignored: OSM still says 凯本乡 where the list says 凯本镇); the county seat node
   (岑巩县) stands for 㵲水街道, the county town's sub-district, which has no node of its own.
2. Every other settlement belongs to the township of its nearest seat.
3. Each community (社区, urban) has an equal share of the census urban population, each village
   committee (村, rural) an equal share of the rural population.
4. A community is a demand point at its township's seat (its position inside the town is not
   public); a township's rural population is split equally over its OSM settlements.
5. Children = persons x the county's census school-age share (ages 6-11, 12-14, single years
   interpolated from the 5-year bands), rounded so the county totals equal the census cohorts.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from planning import pipeline
from planning.candidates import combine_sites, generate_candidates, seat_sites
from planning.coords import layer_to_wgs84
from planning.demand import (
    build_demand,
    census_bands,
    nearest_area,
    school_age_shares,
    single_year_ages,
    spread_equally,
)
from planning.projection import children_in_year, project_villages
from planning.scenario import load_scenario
from tests.invariants import check_plan

COUNTY = "岑巩县"
COUNTY_TOWN = (
    "㵲水街道"  # the sub-district of the county town; OSM's county-seat node stands for it
)
SCENARIO = """\
name: 岑巩县义务教育学校布局(公开数据, 从零布点)
description: >-
  Where would schools go from scratch: demand from the 2020 census and OSM settlements,
  generated candidate sites, straight-line travel (no road network is public).
data: {villages: villages.geojson, boundary: boundary.geojson,
       candidates: candidates.geojson}
travel:
  primary: {mode: walk, max_distance_m: 5000}
  junior: {mode: drive, max_distance_m: 25000, max_minutes: 60}
new_school_types:
  - {id: P24, level: primary, classes: 24, build_cost_wan: 5000}
  - {id: J30, level: junior, classes: 30, build_cost_wan: 6500}
  - {id: N36, level: nine_year, classes: 36, build_cost_wan: 8000}
rules:
  # settlements beyond 5 km of every candidate site are reported, not dropped silently
  allow_unassigned: true
solver: {time_limit_s: 40, mip_gap: 0.02}
"""


# --- the demand layer, as a planner would build it ----------------------------------------------


def read_inputs(folder: Path) -> dict[str, pd.DataFrame]:
    return {
        "census": pd.read_csv(folder / "census2020_county_leiii.csv", dtype={"code": str}),
        "townships": pd.read_csv(folder / "townships_china_division.csv", dtype=str),
        "units": pd.read_csv(folder / "admin_villages_china_division.csv", dtype=str),
        "places": gpd.read_file(folder / "settlements_hotosm_2021.geojson"),
        "boundary": gpd.read_file(folder / "county_boundaries_cnmaps_amap.geojson"),
    }


def county_boundary(gcj: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The AMap polygon moved from GCJ-02 to WGS-84 (it is labelled EPSG:4326 but is not)."""
    return layer_to_wgs84(gcj[["geometry"]].assign(name=COUNTY), "gcj02")


def seats(places: gpd.GeoDataFrame, townships: pd.DataFrame) -> gpd.GeoDataFrame:
    towns = places[places["place"].isin(["town", "city"])]
    return seat_sites(towns, townships["name"].tolist(), county_seat=(COUNTY, COUNTY_TOWN))


def unit_populations(census: pd.Series, units: pd.DataFrame) -> pd.DataFrame:
    """Equal persons per community (of the urban total) and per village (of the rural total)."""
    urban = units["name"].str.contains("社区")
    totals = {True: census["城镇人口"], False: census["乡村人口"]}
    units = units.assign(urban=urban)
    units["population"] = spread_equally(pd.Series(totals), urban)
    return units


def demand_points(inputs: dict[str, pd.DataFrame]) -> gpd.GeoDataFrame:
    """Communities at their seat, rural persons spread over each township's OSM settlements."""
    census = inputs["census"].iloc[0]
    seat = seats(inputs["places"], inputs["townships"]).set_index("township")
    units = unit_populations(census, inputs["units"])
    rural_total = units[~units["urban"]].groupby("streetName")["population"].sum()
    places = inputs["places"][~inputs["places"]["osm_id"].isin(_seat_osm_ids(inputs, seat))]
    places = places.assign(
        township=nearest_area(places.geometry, seat.reset_index(), column="township")
    )
    rural = gpd.GeoDataFrame(
        {
            "village_id": "osm" + places["osm_id"].astype(str),
            "name": places["name"].fillna("(无名居民点)"),
            "township": places["township"],
            "urban": False,
            "population": spread_equally(rural_total, places["township"]).to_numpy(),
        },
        geometry=places.geometry.to_numpy(),
        crs=4326,
    )
    comm = units[units["urban"]]
    urban = gpd.GeoDataFrame(
        {
            "village_id": comm["code"].to_numpy(),
            "name": comm["name"].to_numpy(),
            "township": comm["streetName"].to_numpy(),
            "urban": True,
            "population": comm["population"].to_numpy(),
        },
        geometry=_apart(seat.geometry.reindex(comm["streetName"]).to_numpy()),
        crs=4326,
    )
    return pd.concat([urban, rural], ignore_index=True)


def _apart(points: np.ndarray) -> np.ndarray:
    """Coincident points moved onto a 10 m circle around their position.

    planning.catchments builds Voronoi cells, which GEOS refuses for coincident points; 10 m is
    far below what the data can tell about where a community lies in its town.
    """
    xy = shapely.get_coordinates(points)
    frame = pd.DataFrame(xy, columns=["x", "y"])
    k = frame.groupby(["x", "y"]).cumcount().to_numpy()
    n = frame.groupby(["x", "y"])["x"].transform("size").to_numpy()
    angle = 2 * np.pi * k / n
    metres = np.where(n > 1, 10.0, 0.0)
    dx = metres * np.cos(angle) / (111_320 * np.cos(np.radians(xy[:, 1])))
    dy = metres * np.sin(angle) / 110_574
    return shapely.points(xy[:, 0] + dx, xy[:, 1] + dy)


def _seat_osm_ids(inputs: dict[str, pd.DataFrame], seat: gpd.GeoDataFrame) -> set[int]:
    places = inputs["places"]
    hit = places[places["place"].isin(["town", "city"]) & places["name"].isin(seat["name"])]
    return set(hit["osm_id"])


def cengong_demand(folder: Path) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Villages with children per level (and the rule), and the county's school-age shares."""
    inputs = read_inputs(folder)
    census = inputs["census"].iloc[0]
    shares = school_age_shares(
        {COUNTY: census_bands(census)}, {COUNTY: float(census["人口数_合计"])}
    )
    points = demand_points(inputs)
    villages = build_demand(
        points, shares, source="2020 census, county row (leiii/census); OSM settlements (HOT 2021)"
    )
    return villages, shares


@pytest.fixture(scope="module")
def cengong(shared_data: Path) -> dict[str, object]:
    villages, shares = cengong_demand(shared_data / "cengong")
    return {"villages": villages, "shares": shares, "inputs": read_inputs(shared_data / "cengong")}


def test_population_and_children_match_the_census(cengong):
    villages, shares = cengong["villages"], cengong["shares"]
    census = cengong["inputs"]["census"].iloc[0]
    assert villages["population"].sum() == census["人口数_合计"] == 168_441
    assert villages.loc[villages["urban"], "population"].sum() == census["城镇人口"]
    assert villages["village_id"].is_unique
    for lvl in ("primary", "junior"):
        cohort = shares.at[COUNTY, f"cohort_{lvl}"]
        assert villages[f"children_{lvl}"].sum() == round(cohort)
    # 6-11 is about 4/5 of the 5-9 band (13,990) and 2/5 of 10-14 (13,532); the single-year
    # spline gives the fuller years 6-11 a little more than an even split would
    assert villages["children_primary"].sum() == pytest.approx(
        13_990 * 0.8 + 13_532 * 0.4, rel=0.02
    )
    assert villages["demand_rule"].str.contains("census school-age share").all()


# --- candidate sites and the plan -------------------------------------------------------------


def write_inputs(
    folder: Path,
    out: Path,
    *,
    villages: gpd.GeoDataFrame | None = None,
    n_primary: int = 60,
    n_junior: int = 12,
) -> Path:
    """Write the county's layers (WGS-84) and scenario into ``out``; return the scenario path."""
    inputs = read_inputs(folder)
    if villages is None:
        villages, _ = cengong_demand(folder)
    boundary = county_boundary(inputs["boundary"])
    crs = villages.estimate_utm_crs()
    seat = seats(inputs["places"], inputs["townships"]).to_crs(crs)
    generated = generate_candidates(
        villages.to_crs(crs),
        boundary.to_crs(crs),
        n={"primary": n_primary, "junior": n_junior},
        min_spacing_m=1000,
        existing=seat,
        site_capacity={"primary": 24 * 45, "junior": 30 * 50},
        reach_m=3000,
    )
    sites = combine_sites(seat, generated)
    out.mkdir(parents=True, exist_ok=True)
    villages.to_file(out / "villages.geojson")
    sites.to_crs(4326).to_file(out / "candidates.geojson")
    boundary.to_file(out / "boundary.geojson")
    # no school list exists: the scenario names no schools layer (a plan from scratch)
    (out / "cengong.yaml").write_text(SCENARIO, encoding="utf-8")
    return out / "cengong.yaml"


@pytest.fixture(scope="module")
def cengong_plan(shared_data, tmp_path_factory, cengong):
    """Plan the county from scratch; write plan.gpkg, summary.json and map.html."""
    folder = tmp_path_factory.mktemp("cengong")
    path = write_inputs(shared_data / "cengong", folder / "data", villages=cengong["villages"])
    scenario = load_scenario(path)
    plan, layers = pipeline.plan_scenario(scenario)
    pipeline.write_outputs(plan, layers.boundary, folder / "plan", lang="zh")
    return {"out": folder / "plan", "scenario": scenario, "plan": plan, "layers": layers}


def test_offset_boundary_and_sites(cengong, cengong_plan):
    """GCJ-02 handled: the WGS-84 county holds every site; three settlements lie just outside."""
    layers = cengong_plan["layers"]
    area = layers.boundary.union_all()
    assert layers.candidates.within(area).all()
    outside = layers.villages[~layers.villages.within(area)]
    assert len(outside) == 3  # 黄家寨, 羊坪镇 and one unnamed hamlet, 89-480 m from the line
    assert outside.distance(area.boundary).max() < 500
    kinds = layers.candidates["kind"].value_counts()
    assert kinds["township_seat"] == 11 and kinds["county_seat"] == 1
    assert kinds["kmeans_primary"] > 0 and kinds["kmeans_junior"] > 0
    assert layers.candidates["reason"].str.len().gt(0).all()


def test_plan_keeps_every_rule_and_counts_every_child(cengong, cengong_plan):
    out, scenario = cengong_plan["out"], cengong_plan["scenario"]
    check_plan(out, scenario)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["status"] in ("optimal", "feasible")
    assert summary["travel_costs"].startswith("straight_line")
    shares = cengong["shares"]
    for lvl in ("primary", "junior"):
        served = summary["students"][lvl] + summary["students"]["unassigned_by_level"][lvl]
        assert served == round(shares.at[COUNTY, f"cohort_{lvl}"])
    # junior children ride a bus up to 25 km: all are placed; few primary ones are out of reach
    assert summary["students"]["unassigned_by_level"]["junior"] == 0
    assert (
        summary["students"]["unassigned_by_level"]["primary"]
        < 0.02 * summary["students"]["primary"]
    )
    villages = gpd.read_file(out / "plan.gpkg", layer="villages")
    assert villages["demand_rule"].str.contains("census school-age share").all()
    schools = gpd.read_file(out / "plan.gpkg", layer="schools")
    assert (schools["decision"] == "new").all() and len(schools) > 12


def test_projection_moves_the_census_cohorts_up(cengong):
    """2025's 6-11-year-olds are 2020's 1-6-year-olds of the census; the towns gain children."""
    census = cengong["inputs"]["census"].iloc[0]
    profile = single_year_ages(census_bands(census))
    villages = cengong["villages"].set_index("village_id")
    table = project_villages(villages, profile, base_year=2020, years=[2025], urban_transfer=0.02)
    year = children_in_year(table, 2025)
    assert year["children_primary"].sum() == round(profile.loc[1:6].sum())
    assert year["children_junior"].sum() == round(profile.loc[7:9].sum())
    towns = villages.index[villages["urban"]]
    assert year.loc[towns, "children_primary"].sum() > villages.loc[towns, "children_primary"].sum()
