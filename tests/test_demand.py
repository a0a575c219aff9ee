"""Demand layers: census bands -> single years -> shares -> children, adjustments, rasters."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from planning._errors import InputError
from planning.demand import (
    adjust_demand,
    apportion,
    build_demand,
    census_bands,
    grid_demand_points,
    nearest_area,
    parse_age_band,
    raster_to_villages,
    read_population_raster,
    school_age_shares,
    single_year_ages,
    spread_equally,
)
from planning.layers import load_layers
from tests.conftest import ROOT

UTM = "EPSG:32649"  # UTM 49N, metres: the zone of eastern Guizhou


def bands(*rows: tuple[int, int, float]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["age_from", "age_to", "persons"])


@pytest.mark.parametrize(
    ("label", "ages"),
    [
        ("0岁", (0, 0)),
        ("1到4岁", (1, 4)),
        ("5-9", (5, 9)),
        ("10～14岁", (10, 14)),
        ("85岁及以上", (85, 100)),
    ],
)
def test_age_band_labels(label, ages):
    assert parse_age_band(label) == ages


def test_census_row_sums_sexes_and_skips_shares():
    row = pd.Series(
        {
            "区县": "X",
            "男_0岁": 10,
            "女_0岁": 12,
            "男_1到4岁": 40,
            "女_1到4岁": 44,
            "人口比重_0-14岁": 9.5,
        }
    )
    got = census_bands(row)
    assert got.values.tolist() == [[0, 0, 22.0], [1, 4, 84.0]]


def test_even_bands_split_evenly():
    ages = single_year_ages(bands((0, 4, 500), (5, 9, 500), (10, 14, 500), (15, 19, 500)))
    assert ages.to_numpy() == pytest.approx(np.full(20, 100.0))


def test_single_years_keep_band_totals_and_are_never_negative():
    b = bands((0, 0, 2349), (1, 4, 10646), (5, 9, 13990), (10, 14, 13532), (15, 19, 10794))
    ages = single_year_ages(b)
    assert list(ages.index) == list(range(20))
    for lo, hi, n in b.itertuples(index=False):
        assert ages.loc[lo:hi].sum() == pytest.approx(n)
    assert (ages >= 0).all()
    # a falling band next to a rising one: no single year overshoots its neighbours wildly
    assert ages.loc[5:9].max() < 1.1 * 13990 / 5


def test_gap_in_bands_is_an_error_with_the_ages():
    with pytest.raises(InputError, match=r"not contiguous: 4 then 10"):
        single_year_ages(bands((0, 4, 5), (10, 14, 5)))


def test_shares_are_cohort_over_population():
    b = bands((0, 4, 500), (5, 9, 500), (10, 14, 500), (15, 19, 500))
    shares = school_age_shares({"A": b}, {"A": 10_000})
    # ages 6-11: 6 x 100; 12-14: 3 x 100
    assert shares.loc["A", "primary"] == pytest.approx(0.06)
    assert shares.loc["A", "junior"] == pytest.approx(0.03)
    assert shares.loc["A", "cohort_primary"] == pytest.approx(600)


def test_apportion_keeps_group_totals():
    got = apportion(pd.Series([0.5, 0.5, 0.5, 1.2, 2.6]), pd.Series(["a", "a", "b", "b", "b"]))
    assert got.tolist() == [1, 0, 0, 1, 3]  # a: 1.0 -> 1; b: 4.3 -> 4, the spare one to .6


def test_spread_equally_whole_persons():
    got = spread_equally(pd.Series({"a": 10, "b": 3}), pd.Series(["a", "a", "a", "b"]))
    assert got.tolist() == [4, 3, 3, 3]


def villages_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "village_id": ["V1", "V2", "V3", "V4"],
            "township": ["T1", "T1", "T2", "T2"],
            "population": [1000, 1500, 800, 0],
            "children_primary": [np.nan, np.nan, np.nan, 30],
            "children_junior": [np.nan, np.nan, np.nan, 12],
        }
    ).set_index("village_id", drop=False)


SHARES = pd.DataFrame(
    {"primary": [0.1, 0.05], "junior": [0.051, 0.02]}, index=pd.Index(["T1", "T2"])
)


def test_children_derived_per_township_given_kept():
    out = build_demand(villages_frame(), SHARES, by="township", source="2020 census")
    assert out["children_primary"].tolist() == [100, 150, 40, 30]
    # T1 junior: 51 + 76.5 = 127.5 -> 128 in whole children (largest remainder to V2)
    assert out["children_junior"].tolist() == [51, 77, 16, 12]
    assert out.loc["V4", "demand_rule"] == "given"
    assert "school-age share of 'T1'" in out.loc["V1", "demand_rule"]
    assert "6-11" in out.loc["V1", "demand_rule"]
    assert out.loc["V1", "demand_source"] == "2020 census"
    assert out["children_primary"].dtype.kind == "i"


def test_unknown_area_and_missing_population_are_named():
    v = villages_frame()
    v.loc["V3", "township"] = "T9"
    v.loc["V2", "population"] = -5
    with pytest.raises(InputError) as err:
        build_demand(v, SHARES, by="township")
    text = str(err.value)
    assert "no census share for area 'T9'" in text and "row V3" in text
    assert "found -5" in text and "row V2" in text


def test_resident_factor_and_migrant_children_per_township():
    out = build_demand(villages_frame(), SHARES, by="township")
    adj = pd.DataFrame(
        {"township": ["T1", "T2"], "resident_factor": [0.8, 1.0], "migrant_primary": [0, 7]}
    )
    got = adjust_demand(out, adj, key="township", source="civil affairs 2023")
    # T1: 100, 150 x 0.8 = 80, 120; T2 primary 40, 30 + 7 spread 40:30 -> 4, 3
    assert got["children_primary"].tolist() == [80, 120, 44, 33]
    assert got["children_junior"].tolist() == [41, 61, 16, 12]  # 40.8 + 61.6 = 102.4 -> 102
    assert got.loc["V1", "demand_rule"].endswith("adjusted per township (civil affairs 2023)")


def test_village_level_migrants_and_negative_result_is_an_error():
    out = build_demand(villages_frame(), SHARES, by="township")
    got = adjust_demand(out, pd.DataFrame({"village_id": ["V3"], "migrant_junior": [5]}))
    assert got.loc["V3", "children_junior"] == 21
    with pytest.raises(InputError, match=r"row V4.*children_primary would be -10"):
        adjust_demand(out, pd.DataFrame({"village_id": ["V4"], "migrant_primary": [-40]}))
    with pytest.raises(InputError, match=r"unknown village_id 'V9'"):
        adjust_demand(out, pd.DataFrame({"village_id": ["V9"], "migrant_primary": [1]}))


# --- rasters: a 4 x 4 GeoTIFF of 100 m cells written by the test -------------------------------


@pytest.fixture
def raster(tmp_path):
    import rasterio
    from affine import Affine

    data = np.array(
        [
            [10, 0, 0, 5],
            [20, 30, 0, 0],
            [0, 0, -9999, 0],
            [0, 0, 0, 40],
        ],
        dtype="float32",
    )
    path = tmp_path / "pop.tif"
    profile = {
        "driver": "GTiff",
        "height": 4,
        "width": 4,
        "count": 1,
        "dtype": "float32",
        "crs": UTM,
        "transform": Affine(100, 0, 500_000, 0, -100, 3_000_400),  # 100 m cells
        "nodata": -9999,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)
    return path


def test_raster_cells_are_points_with_persons(raster):
    cells = read_population_raster(raster)
    assert len(cells) == 5 and cells["population"].sum() == pytest.approx(105)
    first = cells.set_index("cell_id").loc["r0c0"]
    assert (first.geometry.x, first.geometry.y) == (500_050, 3_000_350)
    blocks = read_population_raster(raster, block=2).set_index("cell_id")["population"]
    assert blocks.to_dict() == {"r0c0": 60, "r0c1": 5, "r1c1": 40}


def test_raster_to_nearest_village_within_reach_and_rest_as_grid_points(raster):
    villages = gpd.GeoDataFrame(
        {"village_id": ["A", "B"], "name": ["A", "B"], "township": "T"},
        geometry=[Point(500_100, 3_000_300), Point(500_390, 3_000_390)],
        crs=UTM,
    )
    got, rest = raster_to_villages(read_population_raster(raster), villages, max_distance_m=150)
    assert got["population"].tolist() == [60, 5]  # A: 10 + 20 + 30; B: 5 (60 m away)
    assert rest["population"].tolist() == [40]  # 260 m from B: beyond reach
    grid = grid_demand_points(rest)
    assert grid["village_id"].tolist() == ["grid_r3c3"] and grid.crs == villages.crs


def test_raster_to_village_polygons(raster):
    polys = gpd.GeoDataFrame(
        {"village_id": ["W", "E"]},
        geometry=[
            box(500_000, 3_000_000, 500_200, 3_000_400),
            box(500_200, 3_000_000, 500_400, 3_000_400),
        ],
        crs=UTM,
    )
    got, rest = raster_to_villages(read_population_raster(raster), polys)
    assert got["population"].tolist() == [60, 45] and rest.empty


def test_raster_demand_then_children(raster):
    cells = read_population_raster(raster)
    points = grid_demand_points(cells, township="T1")
    out = build_demand(points, SHARES.loc[["T1"]], source="raster")
    assert out["children_primary"].sum() == round(105 * 0.1)


@pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")
def test_raster_without_crs_is_an_error(tmp_path):
    import rasterio

    path = tmp_path / "nocrs.tif"
    with rasterio.open(
        path, "w", driver="GTiff", height=1, width=1, count=1, dtype="float32"
    ) as dst:
        dst.write(np.ones((1, 1), dtype="float32"), 1)
    with pytest.raises(InputError, match="raster has no CRS"):
        read_population_raster(path)


def test_nearest_area_is_the_nearest_seat():
    seats = gpd.GeoDataFrame(
        {"township": ["A", "B"]}, geometry=[Point(0, 0), Point(10_000, 0)], crs=UTM
    )
    points = gpd.GeoSeries([Point(1000, 500), Point(9000, -800), Point(4900, 0)], crs=UTM)
    assert nearest_area(points, seats, column="township").tolist() == ["A", "B", "A"]


def test_derived_villages_load_in_the_pipeline(tmp_path):
    """Drop the sample county's children, derive them again, and read them as a layer."""
    sample = ROOT / "data" / "sample_county"
    raw = gpd.read_file(sample / "villages.geojson").drop(
        columns=["children_primary", "children_junior"]
    )
    shares = pd.DataFrame({"primary": [0.1], "junior": [0.05]}, index=["county"])
    out = build_demand(raw, shares, source="test shares")
    out.to_file(tmp_path / "villages.geojson")
    layers = load_layers(
        schools=sample / "schools.csv",
        villages=tmp_path / "villages.geojson",
        boundary=sample / "boundary.geojson",
    )
    v = layers.villages
    assert v["children_primary"].sum() == round(raw["population"].sum() * 0.1)
    assert (v["demand_source"] == "test shares").all()
