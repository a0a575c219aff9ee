"""Demand from census bands, projection to a target year and generated candidate sites,
through the whole flow on the toy county."""

from __future__ import annotations

import shutil

import geopandas as gpd
import pandas as pd
import pytest
import yaml

from planning.pipeline import plan_scenario
from planning.scenario import load_scenario
from tests.invariants import check_plan_object

# one county row: 10 persons per single year of age 0-19 in every band (so shares are exact)
CENSUS = "人口数_合计,男_0岁,男_1到4岁,男_5到9岁,男_10到14岁,男_15到19岁\n4000,10,40,50,50,50\n"


def _county(toy_scenario, tmp_path, **settings):
    folder = tmp_path / "toy"
    shutil.copytree(toy_scenario.parent, folder)
    v = gpd.read_file(folder / "villages.geojson").drop(
        columns=["children_primary", "children_junior"]
    )
    v.to_file(folder / "villages.geojson", driver="GeoJSON")
    (folder / "census.csv").write_text(CENSUS, encoding="utf-8")
    path = folder / toy_scenario.name
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["demand"] = {"census": "census.csv", "source": "test census"}
    doc.update(settings)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return load_scenario(path)


def test_children_derived_from_census_bands(toy_scenario, tmp_path):
    scenario = _county(toy_scenario, tmp_path)
    plan, _ = plan_scenario(scenario)
    check_plan_object(plan, scenario)
    v = plan.villages
    # 4,000 persons hold 60 of ages 6-11 and 30 of ages 12-14: 1.5% and 0.75%; 400 per village
    assert (v["children_primary"] == 6).all() and (v["children_junior"] == 3).all()
    assert set(v["demand_source"]) == {"test census"}


def test_projection_replaces_children_with_the_target_year(toy_scenario, tmp_path):
    scenario = _county(
        toy_scenario,
        tmp_path,
        projection={"base_year": 2020, "target_year": 2027, "birth_change": -0.5},
    )
    plan, _ = plan_scenario(scenario)
    table = plan.tables["projection"]
    assert set(table["year"]) == set(range(2021, 2028))
    # 1 child per single age per village in 2020; the 2021 births are halved and are the
    # 6-year-olds of 2027: 5.5 primary children per village instead of 6, juniors unchanged
    assert table[(table["year"] == 2027) & (table["level"] == "primary")]["children"].sum() == (
        pytest.approx(55.0)
    )
    assert plan.villages["children_junior"].sum() == 30
    check_plan_object(plan, scenario)


def test_generated_candidates_carry_their_reason(toy_scenario, tmp_path):
    scenario = _county(
        toy_scenario, tmp_path, candidates={"generate_primary": 2, "min_spacing_m": 500}
    )
    plan, layers = plan_scenario(scenario)
    made = layers.candidates[layers.candidates["kind"] == "kmeans_primary"]
    assert 1 <= len(made) <= 2
    assert made["reason"].str.len().gt(0).all()
    assert isinstance(plan.tables["new_sites"], pd.DataFrame)
