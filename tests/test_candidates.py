"""Candidate sites: weighted k-means, snapping inside the boundary, spacing, capacity, seats."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, Polygon, box

from planning._errors import InputError
from planning.candidates import (
    combine_sites,
    generate_candidates,
    name_stem,
    school_sites,
    seat_sites,
)
from planning.layers import load_layers
from tests.conftest import ROOT

UTM = "EPSG:32649"
AREA = gpd.GeoDataFrame(geometry=[box(0, 0, 20_000, 20_000)], crs=UTM)


def villages(points: list[tuple[float, float, int, int]]) -> gpd.GeoDataFrame:
    """Villages from (x, y, primary, junior)."""
    n = len(points)
    return gpd.GeoDataFrame(
        {
            "village_id": [f"V{i}" for i in range(n)],
            "name": [f"村{i}" for i in range(n)],
            "township": ["T"] * n,
            "children_primary": [p[2] for p in points],
            "children_junior": [p[3] for p in points],
        },
        geometry=[Point(p[0], p[1]) for p in points],
        crs=UTM,
    )


def three_groups() -> gpd.GeoDataFrame:
    """Three groups of four villages, 8 km apart; the middle village of each is the heaviest."""
    pts = []
    for cx, cy in [(3000, 3000), (11000, 3000), (3000, 11000)]:
        pts += [
            (cx, cy, 100, 0),
            (cx + 300, cy, 30, 0),
            (cx - 300, cy, 30, 0),
            (cx, cy + 300, 30, 0),
        ]
    return villages(pts)


def xy(gdf: gpd.GeoDataFrame) -> set[tuple[float, float]]:
    return {(round(p.x), round(p.y)) for p in gdf.geometry}


def test_one_site_per_cluster_at_the_heaviest_village():
    sites = generate_candidates(three_groups(), AREA, n={"primary": 3}, min_spacing_m=1000)
    assert xy(sites) == {(3000, 3000), (11000, 3000), (3000, 11000)}
    assert sites["site_id"].tolist() == ["KP01", "KP02", "KP03"]
    assert set(sites["kind"]) == {"kmeans_primary"}
    assert sites["reason"].str.contains("weighted k-means centre of 190 primary children").all()
    assert set(sites["name"]) == {"村0", "村4", "村8"}


def test_sites_are_reproducible():
    a = generate_candidates(three_groups(), AREA, n=3, min_spacing_m=1000, seed=7)
    b = generate_candidates(three_groups(), AREA, n=3, min_spacing_m=1000, seed=7)
    pd.testing.assert_frame_equal(a, b)


def test_min_spacing_drops_the_smaller_neighbour():
    v = villages([(5000, 5000, 200, 0), (5600, 5000, 100, 0), (15000, 15000, 50, 0)])
    sites = generate_candidates(v, AREA, n={"primary": 3}, min_spacing_m=1000)
    assert xy(sites) == {(5000, 5000), (15000, 15000)}
    gaps = [a.distance(b) for a in sites.geometry for b in sites.geometry if a is not b]
    assert min(gaps) >= 1000


def test_existing_site_covers_its_cluster():
    existing = gpd.GeoSeries([Point(3100, 3000)], crs=UTM)
    sites = generate_candidates(
        three_groups(), AREA, n={"primary": 3}, min_spacing_m=1000, existing=existing
    )
    assert xy(sites) == {(11000, 3000), (3000, 11000)}


def test_junior_centres_near_primary_sites_add_nothing():
    v = three_groups()
    v["children_junior"] = v["children_primary"] // 2
    sites = generate_candidates(v, AREA, n=3, min_spacing_m=1000)
    assert set(sites["kind"]) == {"kmeans_primary"} and len(sites) == 3


def test_big_cluster_gets_several_spaced_sites():
    # one town: 2,400 primary children in five communities 600 m apart
    v = villages([(5000 + 600 * i, 5000, 480, 0) for i in range(5)])
    sites = generate_candidates(
        v, AREA, n={"primary": 1}, min_spacing_m=1000, site_capacity={"primary": 1080}
    )
    assert len(sites) == 3  # ceil(2400 / 1080)
    assert sites["reason"].iloc[1].startswith("site 2 for the 2,400 primary children of k-means")
    gaps = [a.distance(b) for a in sites.geometry for b in sites.geometry if a is not b]
    assert min(gaps) >= 1000


def test_sites_snap_to_roads_inside_a_concave_boundary():
    # a U-shaped county: the demand centre falls in the notch, outside the county
    u_shape = Polygon([(0, 0), (10_000, 0), (10_000, 10_000), (7000, 10_000), (7000, 3000),
                       (3000, 3000), (3000, 10_000), (0, 10_000)])  # fmt: skip
    area = gpd.GeoDataFrame(geometry=[u_shape], crs=UTM)
    v = villages([(1500, 8000, 100, 0), (8500, 8000, 100, 0)])
    roads = np.array([[5000.0, 8000.0], [5000.0, 2500.0], [500.0, 500.0]])
    sites = generate_candidates(v, area, n={"primary": 1}, min_spacing_m=500, roads=roads)
    # the node at the centre (5000, 8000) lies in the notch: the nearest node inside is taken
    assert xy(sites) == {(5000, 2500)}
    assert sites.within(u_shape).all()
    assert "road node nearest the centre (5,500 m)" in sites["reason"].iloc[0]


def test_no_anchor_inside_the_boundary_is_an_error():
    v = villages([(30_000, 30_000, 10, 0)])
    with pytest.raises(InputError, match="no village lies inside the boundary"):
        generate_candidates(v, AREA, n=1)


def test_degrees_are_refused():
    v = villages([(3000, 3000, 10, 0)]).to_crs(4326)
    with pytest.raises(InputError, match=r"expected a metric CRS \(metres\), found EPSG:4326"):
        generate_candidates(v, AREA, n=1)


def test_seats_match_names_without_suffix():
    places = gpd.GeoDataFrame(
        {"name": ["凯本乡", "岑巩县", "羊坪镇"]},
        geometry=[Point(0, 0), Point(1, 1), Point(2, 2)],
        crs=UTM,
    )
    seats = seat_sites(places, ["凯本镇", "㵲水街道", "天星乡"], county_seat=("岑巩县", "㵲水街道"))
    assert seats["site_id"].tolist() == ["seat_凯本镇", "seat_㵲水街道"]
    assert seats["kind"].tolist() == ["township_seat", "county_seat"]
    assert name_stem("羊桥土家族乡") == "羊桥"


def test_combined_layer_loads_in_the_pipeline(tmp_path):
    sample = ROOT / "data" / "sample_county"
    layers = load_layers(
        schools=sample / "schools.csv",
        villages=sample / "villages.geojson",
        boundary=sample / "boundary.geojson",
    )
    parcels = gpd.GeoDataFrame(
        {"site_id": ["P1"]}, geometry=[layers.villages.geometry.iloc[0]], crs=layers.crs
    )
    generated = generate_candidates(
        layers.villages, layers.boundary, n={"primary": 8, "junior": 3}, existing=layers.schools
    )
    sites = combine_sites(parcels, school_sites(layers.schools.head(2)), generated)
    assert sites["kind"].iloc[:3].tolist() == ["parcel", "existing_school", "existing_school"]
    path = tmp_path / "candidates.geojson"
    sites.to_crs(4326).to_file(path)
    again = load_layers(
        schools=sample / "schools.csv",
        villages=sample / "villages.geojson",
        boundary=sample / "boundary.geojson",
        candidates=path,
    )
    assert list(again.candidates.index) == sites["site_id"].tolist()
    assert again.candidates["reason"].str.len().gt(0).all()


def test_duplicate_site_ids_are_an_error():
    a = gpd.GeoDataFrame({"site_id": ["X"]}, geometry=[Point(0, 0)], crs=UTM)
    with pytest.raises(InputError, match=r"row X.*duplicate site id"):
        combine_sites(a, a)
