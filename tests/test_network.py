"""Road networks: every reader gives the same graph; modes, access, slopes and the cache."""

from __future__ import annotations

import collections

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString, Point

from planning import network
from planning._errors import InputError
from planning.network import (
    NO_FOOT,
    NO_MOTOR,
    RoadGraph,
    _classify,
    load_road_layer,
    load_roads,
    mode_edges,
    mode_for,
    slope_factor,
    with_elevation,
)

UTM50N = 32650  # Beijing
UTM10N = 32610  # Yuba County, California


@pytest.fixture(scope="module")
def yizhuang_pbf(shared_data):
    return shared_data / "osm" / "beijing_yizhuang.osm.pbf"


def _as_xml(pbf, out):
    """Write the roads of ``pbf`` (plus one building) as OSM XML with libosmium."""
    import osmium

    refs: set[int] = set()
    ways = []
    for w in osmium.FileProcessor(str(pbf), osmium.osm.WAY):
        if "highway" in w.tags or (not ways and "building" in w.tags):
            refs.update(n.ref for n in w.nodes)
            nodes = [n.ref for n in w.nodes]
            ways.append(osmium.osm.mutable.Way(id=w.id, nodes=nodes, tags=dict(w.tags)))
    with osmium.SimpleWriter(str(out)) as writer:
        for node in osmium.FileProcessor(str(pbf), osmium.osm.NODE):
            if node.id in refs:
                writer.add(node)
        for w in ways:
            writer.add(w)
    return out


def _summary(r: RoadGraph) -> tuple[object, ...]:
    return (
        r.n_nodes,
        r.n_segments,
        round(float(r.length_m.sum()), 6),
        int(r.oneway.sum()),
        int(r.blocked.astype(int).sum()),
        collections.Counter(r.highway.tolist()),
    )


def test_pbf_and_xml_readers_give_the_same_graph(yizhuang_pbf, tmp_path):
    pbf = load_roads(yizhuang_pbf, crs=UTM50N, use_cache=False)
    xml = load_roads(_as_xml(yizhuang_pbf, tmp_path / "y.osm.bz2"), crs=UTM50N, use_cache=False)
    assert _summary(pbf) == _summary(xml)
    assert pbf.n_nodes > 3000 and pbf.oneway.any() and (pbf.blocked > 0).any()
    assert "building" not in set(xml.highway)
    order = np.lexsort(pbf.xy.T), np.lexsort(xml.xy.T)
    assert np.allclose(pbf.xy[order[0]], xml.xy[order[1]], atol=1e-6)


def test_rural_county_pbf(shared_data):
    roads = load_roads(shared_data / "osm" / "yuba_county_ca.osm.pbf", crs=UTM10N, use_cache=False)
    assert 100_000 < roads.n_nodes < 130_000
    assert {"motorway", "trunk", "track", "footway", "service"} <= set(roads.highway)
    lonlat = gpd.GeoSeries(gpd.points_from_xy(*roads.xy.T), crs=UTM10N).to_crs(4326)
    assert lonlat.x.between(-121.8, -120.7).all() and lonlat.y.between(38.8, 39.8).all()
    drive = mode_edges(roads, mode_for("drive"))
    assert not np.isin(roads.highway[drive.segment], ["footway", "path", "steps"]).any()
    # the great-circle lengths agree with the projected geometry to well under 0.1 %
    planar = np.hypot(*(roads.xy[roads.u] - roads.xy[roads.v]).T)
    assert abs(planar.sum() / roads.length_m.sum() - 1) < 1e-3


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"highway": "residential"}, ("residential", 0, 0)),
        ({"highway": "primary", "oneway": "yes"}, ("primary", 1, 0)),
        ({"highway": "primary", "oneway": "-1"}, ("primary", -1, 0)),
        ({"highway": "primary", "junction": "roundabout"}, ("primary", 1, 0)),
        ({"highway": "primary", "junction": "roundabout", "oneway": "no"}, ("primary", 0, 0)),
        ({"highway": "service", "access": "private"}, ("service", 0, 7)),
        ({"highway": "service", "access": "private", "foot": "yes"}, ("service", 0, 6)),
        ({"highway": "trunk", "foot": "no", "bicycle": "no"}, ("trunk", 0, 3)),
        ({"highway": "track", "motor_vehicle": "no"}, ("track", 0, 4)),
        ({"highway": "pedestrian", "area": "yes"}, None),
        ({"highway": "construction"}, None),
        ({"building": "yes"}, None),
    ],
)
def test_way_tags(tags, expected):
    assert _classify(tags) == expected


def _toy_roads(**kw: object) -> RoadGraph:
    """0 -(primary, one-way)- 1 -(footway)- 2 -(motorway)- 3 -(steps)- 4, 100 m each."""
    xy = np.array([[0.0, 0.0], [100.0, 0.0], [200.0, 0.0], [300.0, 0.0], [400.0, 0.0]])
    base = {
        "xy": xy,
        "u": np.array([0, 1, 2, 3]),
        "v": np.array([1, 2, 3, 4]),
        "length_m": np.full(4, 100.0),
        "highway": np.array(["primary", "footway", "motorway", "steps"]),
        "oneway": np.array([True, False, False, False]),
        "blocked": np.zeros(4, dtype=np.uint8),
        "crs": UTM50N,
    }
    base.update(kw)
    return RoadGraph(**base)  # type: ignore[arg-type]


def test_modes_use_the_roads_they_may():
    roads = _toy_roads()
    walk, bike, drive = (mode_edges(roads, mode_for(m)) for m in ("walk", "bike", "drive"))
    assert sorted(zip(walk.u, walk.v, strict=True)) == [
        (0, 1),
        (1, 0),
        (1, 2),
        (2, 1),
        (3, 4),
        (4, 3),
    ]
    assert walk.minutes[walk.segment == 3][0] == pytest.approx(3.0)  # steps at half of 4 km/h
    assert sorted(zip(bike.u, bike.v, strict=True)) == [(0, 1), (1, 0), (1, 2), (2, 1)]
    assert sorted(zip(drive.u, drive.v, strict=True)) == [
        (0, 1),
        (2, 3),
        (3, 2),
    ]  # one-way, no footway
    assert drive.minutes[0] == pytest.approx(100 / (50_000 / 60))  # primary at 50 km/h
    blocked = _toy_roads(blocked=np.array([NO_MOTOR, NO_FOOT, 0, 0], dtype=np.uint8))
    no_cars = mode_edges(blocked, mode_for("drive"))
    assert (0, 1) not in set(zip(no_cars.u.tolist(), no_cars.v.tolist(), strict=True))
    assert 1 not in mode_edges(blocked, mode_for("walk")).segment
    with pytest.raises(ValueError, match="unknown mode"):
        mode_for("horse")


def test_slope_slows_walking_uphill_not_driving():
    assert slope_factor(np.array([0.0]), "tobler")[0] == pytest.approx(1.0)
    assert slope_factor(np.array([0.1]), "tobler")[0] == pytest.approx(np.exp(-0.525 + 0.175))
    assert slope_factor(np.array([-0.05]), "tobler")[0] > 1.0  # Tobler: fastest gently downhill
    assert slope_factor(np.array([0.2]), "bike")[0] < 0.3
    assert slope_factor(np.array([0.2]), "none")[0] == 1.0
    roads = with_elevation(_toy_roads(), np.array([0.0, 20.0, 20.0, 20.0, np.nan]))
    walk = mode_edges(roads, mode_for("walk"))
    up = walk.minutes[(walk.u == 0) & (walk.v == 1)][0]
    down = walk.minutes[(walk.u == 1) & (walk.v == 0)][0]
    assert up > 1.5 * 100 / (4000 / 60) and down < up
    flat = walk.minutes[(walk.u == 1) & (walk.v == 2)][0]
    assert flat == pytest.approx(100 / (4000 / 60) / slope_factor(np.array([0.0]), "tobler")[0])
    assert np.isfinite(walk.minutes).all()  # unknown elevation counts as flat
    drive = mode_edges(roads, mode_for("drive"))
    assert drive.minutes[0] == pytest.approx(100 / (50_000 / 60))
    with pytest.raises(ValueError, match="node elevations"):
        with_elevation(roads, np.zeros(3))


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
def test_dem_gives_node_elevations(tmp_path):
    import rasterio
    from rasterio.transform import from_origin

    z = np.arange(80, dtype="float32").reshape(10, 8)  # cells 50 m wide, 10 m tall
    with rasterio.open(
        tmp_path / "dem.tif",
        "w",
        driver="GTiff",
        width=8,
        height=10,
        count=1,
        dtype="float32",
        crs=f"EPSG:{UTM50N}",
        transform=from_origin(-50.0, 50.0, 50.0, 10.0),
        nodata=-9999,
    ) as dst:
        dst.write(z, 1)
    roads = network.add_dem(_toy_roads(), tmp_path / "dem.tif")
    assert roads.elevation_m is not None
    # nodes at y = 0 (row 5) and x = 0, 100, 200, 300 m (columns 1, 3, 5, 7); x = 400 is off
    assert roads.elevation_m[:4].tolist() == [41.0, 43.0, 45.0, 47.0]
    assert np.isnan(roads.elevation_m[4])
    (tmp_path / "bad.tif").write_bytes(b"no raster")
    with pytest.raises(InputError, match="cannot read the DEM"):
        network.add_dem(_toy_roads(), tmp_path / "bad.tif")


def _layer(tmp_path, rows, crs=UTM50N, **cols):
    gdf = gpd.GeoDataFrame(cols, geometry=rows, crs=crs)
    gdf.to_file(tmp_path / "roads.gpkg", driver="GPKG")
    return tmp_path / "roads.gpkg"


def test_planners_road_layer(tmp_path):
    lines = [
        LineString([(0, 0), (500, 0), (1000, 0)]),
        LineString([(1000.3, 0), (1000, 800)]),  # starts 0.3 m from the first line's end
        LineString([(500, -300), (500, 300)]),  # crosses the first line without a node: bridge
    ]
    path = _layer(
        tmp_path, lines, 道路等级=["县道", "机耕道", "高速公路"], oneway=["否", "是", "否"]
    )
    roads = load_roads(path, crs=UTM50N, use_cache=False)
    assert roads.n_nodes == 6 and roads.n_segments == 4
    assert sorted(set(roads.highway)) == ["motorway", "secondary", "track"]
    assert roads.oneway.tolist() == [False, False, True, False]
    assert roads.length_m.sum() == pytest.approx(1000 + 800 + 600)  # merged ends: one node
    walk = mode_edges(roads, mode_for("walk"))
    assert "motorway" not in set(roads.highway[walk.segment])  # the bridge is no short cut


def test_road_layer_problems_are_reported_together(tmp_path):
    lines = [LineString([(0, 0), (1, 1)]), Point(3, 3)]
    path = _layer(tmp_path, lines, name=["a", "b"])
    with pytest.raises(InputError) as err:
        load_road_layer(path, crs=UTM50N)
    text = str(err.value)
    assert "no road-class column" in text and "found: name" in text
    assert "expected a line, found Point" in text and "row 2" in text


def test_unreadable_road_files(tmp_path):
    (tmp_path / "bad.osm.pbf").write_bytes(b"not a pbf")
    (tmp_path / "bad.osm").write_text("<osm><node", encoding="utf-8")
    for name, kind in (("bad.osm.pbf", "PBF"), ("bad.osm", "XML")):
        with pytest.raises(InputError, match=f"not a readable OSM {kind}"):
            load_roads(tmp_path / name, crs=UTM50N, use_cache=False)
    with pytest.raises(InputError, match="not found"):
        load_roads(tmp_path / "missing.osm.pbf", crs=UTM50N)
    (tmp_path / "empty.osm").write_text(
        '<osm version="0.6"><node id="1" lat="1" lon="1"/><node id="2" lat="1.1" lon="1"/>'
        '<way id="9"><nd ref="1"/><nd ref="2"/><tag k="waterway" v="river"/></way></osm>',
        encoding="utf-8",
    )
    with pytest.raises(InputError, match="no roads"):
        load_roads(tmp_path / "empty.osm", crs=UTM50N, use_cache=False)


def test_road_graph_cache(yizhuang_pbf, tmp_path, monkeypatch):
    first = load_roads(yizhuang_pbf, crs=UTM50N, cache_dir=tmp_path)
    files = list((tmp_path / "roads").iterdir())
    assert len(files) == 1 and files[0].suffix == ".npz" and first.digest
    monkeypatch.setattr(network, "_read_any", lambda *a: pytest.fail("parsed again"))
    again = load_roads(yizhuang_pbf, crs=UTM50N, cache_dir=tmp_path)
    assert _summary(again) == _summary(first) and again.digest == first.digest
    assert np.array_equal(again.xy, first.xy) and again.highway.dtype.kind == "U"
    files[0].write_bytes(b"damaged")
    monkeypatch.undo()
    assert _summary(load_roads(yizhuang_pbf, crs=UTM50N, cache_dir=tmp_path)) == _summary(first)
    assert not list(tmp_path.rglob("*.tmp"))  # writes are atomic


@pytest.mark.network
def test_download_a_named_place():  # pragma: no cover - needs internet
    roads = network.download_roads("Yizhuang, Beijing, China", crs=UTM50N)
    assert roads.n_segments > 1000
