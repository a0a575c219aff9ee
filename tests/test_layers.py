"""Input validation: every problem at once, with file, row and field."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import Point

from planning._errors import InputError
from planning.layers import load_layers


def _layers(toy_scenario):
    d = toy_scenario.parent
    return dict(
        schools=d / "schools.csv",
        villages=d / "villages.geojson",
        boundary=d / "boundary.geojson",
        candidates=d / "candidates.geojson",
    )


def test_toy_layers_load_in_metres(toy_scenario):
    layers = load_layers(**_layers(toy_scenario))
    assert layers.crs.is_projected
    assert list(layers.schools.index) == ["A", "B", "C", "T", "J"]
    assert layers.warnings == []


def test_all_village_problems_reported_at_once(toy_scenario, tmp_path):
    paths = _layers(toy_scenario)
    v = gpd.read_file(paths["villages"])
    v.loc[1, "children_primary"] = -5
    v.loc[2, "village_id"] = "V0"
    v.loc[3, "geometry"] = None
    bad = tmp_path / "villages.gpkg"
    v.to_file(bad, driver="GPKG")
    with pytest.raises(InputError) as err:
        load_layers(**{**paths, "villages": bad})
    text = str(err.value)
    assert "row V1, field 'children_primary': expected a count >= 0, found -5" in text
    assert "duplicate id 'V0'" in text
    assert "row V3, field 'geometry': missing or empty geometry" in text
    assert len(err.value.problems) == 3


def test_layer_without_crs_is_an_error(toy_scenario, tmp_path):
    paths = _layers(toy_scenario)
    c = gpd.read_file(paths["candidates"]).set_crs(None, allow_override=True)
    bad = tmp_path / "cands.gpkg"
    c.to_file(bad, driver="GPKG")
    with pytest.raises(InputError, match=r"cands\.gpkg, field 'crs'.*no coordinate reference"):
        load_layers(**{**paths, "candidates": bad})


def test_unknown_level_and_missing_column(toy_scenario, tmp_path):
    paths = _layers(toy_scenario)
    s = (paths["schools"]).read_text(encoding="utf-8").replace("teaching_point", "kindergarten")
    bad = tmp_path / "schools.csv"
    bad.write_text(s, encoding="utf-8")
    with pytest.raises(InputError, match=r"row T, field 'level': unknown level 'kindergarten'"):
        load_layers(**{**paths, "schools": bad})
    v = gpd.read_file(paths["villages"]).drop(columns=["children_junior"])
    bad_v = tmp_path / "v.geojson"
    v.to_file(bad_v, driver="GeoJSON")
    with pytest.raises(InputError, match=r"field 'children_junior': required column missing"):
        load_layers(**{**paths, "villages": bad_v})


def test_chinese_level_names_accepted(toy_scenario, tmp_path):
    paths = _layers(toy_scenario)
    s = paths["schools"].read_text(encoding="utf-8").replace("teaching_point", "教学点")
    good = tmp_path / "schools.csv"
    good.write_text(s, encoding="utf-8")
    layers = load_layers(**{**paths, "schools": good})
    assert layers.schools.at["T", "level"] == "teaching_point"


def test_point_outside_boundary_is_a_warning(toy_scenario, tmp_path):
    paths = _layers(toy_scenario)
    v = gpd.read_file(paths["villages"])
    v.loc[0, "geometry"] = Point(100.0, 20.0)
    moved = tmp_path / "v.geojson"
    v.to_file(moved, driver="GeoJSON")
    layers = load_layers(**{**paths, "villages": moved})
    assert any(w.row == "V0" and "outside the boundary" in w.message for w in layers.warnings)
