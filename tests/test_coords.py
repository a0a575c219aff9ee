"""Chinese web-map coordinates: published reference points, round trips, offset detection."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, box

from planning.coords import (
    bd09_to_gcj02,
    bd09_to_wgs84,
    detect_offset,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    layer_to_wgs84,
    out_of_china,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from planning.examples import SAMPLE_COUNTY_DIR
from planning.network import _haversine_m, load_roads

# Published in googollee/eviltransform's test suites (MIT): WGS-84 lat, lon -> GCJ-02 lat, lon.
GCJ_POINTS = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),  # Shanghai
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),  # Shenzhen
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),  # Beijing
]
# Same source: BD-09 lat, lon -> WGS-84 lat, lon (Jinhua, Zhejiang).
BD_POINTS = [
    (29.199786, 120.019809, 29.196131605295484, 120.00877901149691),
    (29.210504, 120.036455, 29.206795749156136, 120.0253853970846),
]


@pytest.mark.parametrize(("wlat", "wlon", "glat", "glon"), GCJ_POINTS)
def test_gcj02_matches_published_points(wlat, wlon, glat, glon):
    lon, lat = wgs84_to_gcj02(wlon, wlat)
    assert (float(lon), float(lat)) == pytest.approx((glon, glat), abs=1e-9)
    back_lon, back_lat = gcj02_to_wgs84(glon, glat)
    assert _haversine_m(back_lon, back_lat, wlon, wlat) < 0.01  # the exact inverse: < 1 cm


@pytest.mark.parametrize(("blat", "blon", "wlat", "wlon"), BD_POINTS)
def test_bd09_near_published_points_and_round_trips(blat, blon, wlat, wlon):
    lon, lat = bd09_to_wgs84(blon, blat)
    # the public BD-09 formula reproduces Baidu's own conversion to tens of metres (11 m and
    # 41 m here), against a raw BD-09 shift of about 700 m
    assert _haversine_m(lon, lat, wlon, wlat) < 50
    assert _haversine_m(blon, blat, wlon, wlat) > 500
    again = wgs84_to_bd09(lon, lat)
    assert _haversine_m(*again, blon, blat) < 1e-3


@pytest.mark.parametrize(("wlat", "wlon", "glat", "glon"), GCJ_POINTS)
def test_round_trips_below_a_metre_at_reference_points(wlat, wlon, glat, glon):
    for fwd, inv in ((wgs84_to_gcj02, gcj02_to_wgs84), (wgs84_to_bd09, bd09_to_wgs84)):
        assert _haversine_m(*inv(*fwd(wlon, wlat)), wlon, wlat) < 1.0
        assert _haversine_m(*fwd(*inv(glon, glat)), glon, glat) < 1.0


@settings(max_examples=200, deadline=None)
@given(
    st.floats(min_value=73.5, max_value=135.0),
    st.floats(min_value=18.0, max_value=53.5),
)
def test_round_trip_anywhere_in_china(lon, lat):
    assert _haversine_m(*gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat)), lon, lat) < 0.01
    assert _haversine_m(*bd09_to_gcj02(*gcj02_to_bd09(lon, lat)), lon, lat) < 0.01
    shift = _haversine_m(*wgs84_to_gcj02(lon, lat), lon, lat)
    assert 0 < shift < 1500  # hundreds of metres, never kilometres


def test_vectorised_and_outside_china_unchanged():
    lon = np.array([108.8, -121.3, 2.35])
    lat = np.array([27.2, 39.1, 48.86])
    assert out_of_china(lon, lat).tolist() == [False, True, True]
    for f in (wgs84_to_gcj02, gcj02_to_wgs84, wgs84_to_bd09, bd09_to_wgs84):
        x, y = f(lon, lat)
        assert x.shape == (3,)
        assert x[1:].tolist() == lon[1:].tolist() and y[1:].tolist() == lat[1:].tolist()
        assert abs(x[0] - lon[0]) > 1e-3
    assert to_wgs84(lon, lat, "CGCS2000")[0].tolist() == lon.tolist()
    with pytest.raises(ValueError, match="unknown coordinate system"):
        to_wgs84(lon, lat, "utm")


def test_layer_to_wgs84_moves_points_and_polygons():
    pts = gpd.GeoDataFrame({"id": [1]}, geometry=[Point(108.8, 27.2)], crs=4326)
    poly = gpd.GeoDataFrame(geometry=[box(108.7, 27.1, 108.9, 27.3)], crs=4326)
    moved = layer_to_wgs84(pts, "gcj02")
    want = gcj02_to_wgs84(108.8, 27.2)
    assert (moved.geometry.x[0], moved.geometry.y[0]) == pytest.approx(want, abs=1e-12)
    assert layer_to_wgs84(poly.to_crs(32649), "bd09").crs.to_epsg() == 4326
    shifted = layer_to_wgs84(poly, "gcj02").geometry[0]
    assert shifted.is_valid and abs(shifted.area - poly.geometry[0].area) < 1e-6
    assert layer_to_wgs84(pts, "wgs84").geometry[0] == pts.geometry[0]


@pytest.fixture(scope="module")
def yizhuang(shared_data):
    """Yizhuang's roads, and its schools and kindergartens from the same OSM file (WGS-84)."""
    import osmium

    path = shared_data / "osm" / "beijing_yizhuang.osm.pbf"
    points = []
    fp = osmium.FileProcessor(str(path)).with_locations()
    for obj in fp.with_filter(
        osmium.filter.TagFilter(("amenity", "school"), ("amenity", "kindergarten"))
    ):
        if isinstance(obj, osmium.osm.Node):
            points.append((obj.location.lon, obj.location.lat))
        elif isinstance(obj, osmium.osm.Way):
            xy = [(n.lon, n.lat) for n in obj.nodes if n.location.valid()]
            points.append(tuple(np.mean(xy, axis=0)))
    schools = gpd.GeoSeries([Point(p) for p in points], crs=4326)
    crs = schools.estimate_utm_crs()
    return schools, load_roads(path, crs=crs, use_cache=False)


@pytest.fixture(scope="module")
def county_villages():
    """The sample county's villages, scattered up to a few hundred metres off their roads."""
    v = gpd.read_file(SAMPLE_COUNTY_DIR / "villages.geojson")
    crs = v.estimate_utm_crs()
    xy = v.to_crs(crs).get_coordinates().to_numpy(copy=True)
    xy += np.random.default_rng(7).normal(0.0, 60.0, xy.shape)
    pts = gpd.GeoSeries(gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=crs).to_crs(4326)
    return pts, load_roads(SAMPLE_COUNTY_DIR / "roads.osm", crs=crs, use_cache=False)


@pytest.mark.parametrize(("system", "shift"), [("gcj02", wgs84_to_gcj02), ("bd09", wgs84_to_bd09)])
def test_offset_detection_names_the_web_map_system(county_villages, system, shift):
    pts, roads = county_villages
    assert not detect_offset(pts, roads).suspicious
    copied = gpd.GeoSeries(gpd.points_from_xy(*shift(pts.x, pts.y)), crs=4326)
    check = detect_offset(copied, roads)
    assert check.suspicious and check.likely == system
    assert 150 < check.median_m["wgs84"] < 700  # the few hundred metres the issue describes
    assert check.median_m[system] < check.median_m["wgs84"] / 2
    assert f"coords: {system}" in check.message()
    assert not detect_offset(copied, roads, declared=system).suspicious


def test_no_false_alarm_on_real_schools(yizhuang):
    schools, roads = yizhuang
    assert len(schools) >= 10
    honest = detect_offset(schools, roads)
    assert not honest.suspicious
    assert honest.median_m["wgs84"] < 150
