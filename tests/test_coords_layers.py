"""A layer declared as GCJ-02 is converted to WGS-84 on reading."""

from __future__ import annotations

import numpy as np

from planning.coords import wgs84_to_gcj02
from planning.layers import load_layers


def test_declared_gcj02_villages_come_back_to_wgs84(toy_scenario, tmp_path):
    import geopandas as gpd

    d = toy_scenario.parent
    v = gpd.read_file(d / "villages.geojson")
    lon, lat = wgs84_to_gcj02(v.geometry.x.to_numpy(), v.geometry.y.to_numpy())
    shifted = v.set_geometry(gpd.points_from_xy(lon, lat), crs=4326)
    shifted.to_file(tmp_path / "v.geojson", driver="GeoJSON")
    args = dict(schools=d / "schools.csv", boundary=d / "boundary.geojson")
    plain = load_layers(villages=d / "villages.geojson", **args).villages
    read = load_layers(villages=tmp_path / "v.geojson", coords={"villages": "gcj02"}, **args)
    moved = np.hypot(
        read.villages.geometry.x - plain.geometry.x, read.villages.geometry.y - plain.geometry.y
    )
    assert moved.max() < 1.0  # metres
    raw = load_layers(villages=tmp_path / "v.geojson", **args).villages
    assert (
        np.hypot(raw.geometry.x - plain.geometry.x, raw.geometry.y - plain.geometry.y).min() > 100
    )
