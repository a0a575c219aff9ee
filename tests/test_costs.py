"""Travel costs: compiled bounded Dijkstra agrees with networkx route by route; snapping,
contraction, cut-offs, the cache, routes, diagnostics and the ``costs`` command."""

from __future__ import annotations

import dataclasses
import itertools
from collections import defaultdict

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import LineString, Point
from typer.testing import CliRunner

from planning import costs
from planning.cli import app
from planning.coords import wgs84_to_gcj02
from planning.costs import (
    connection_report,
    contract,
    cost_table,
    network_costs,
    point_graph,
    routes,
    snap,
    straight_line_costs,
)
from planning.examples import SAMPLE_COUNTY_DIR
from planning.network import RoadGraph, load_roads, mode_edges, mode_for
from planning.scenario import Travel

UTM10N = 32610


@pytest.fixture(scope="module")
def county():
    villages = gpd.read_file(SAMPLE_COUNTY_DIR / "villages.geojson").set_index("village_id")
    crs = villages.estimate_utm_crs()
    villages = villages.to_crs(crs)
    roads = load_roads(SAMPLE_COUNTY_DIR / "roads.osm", crs=crs, use_cache=False)
    return villages.geometry, roads


@pytest.fixture(scope="module")
def yuba(shared_data):
    """Yuba County's roads; villages: its 46 OSM places and 300 points scattered near roads;
    sites: its 41 OSM schools."""
    osm = shared_data / "osm"
    roads = load_roads(osm / "yuba_county_ca.osm.pbf", crs=UTM10N, use_cache=False)
    places = gpd.read_file(osm / "yuba_places.geojson").to_crs(UTM10N)
    rng = np.random.default_rng(2020)
    xy = roads.xy[rng.choice(roads.n_nodes, 300, replace=False)] + rng.normal(0, 200, (300, 2))
    villages = pd.concat(
        [
            gpd.GeoSeries(places.geometry.to_numpy(), index="p" + places["id"].astype(str)),
            gpd.GeoSeries(gpd.points_from_xy(*xy.T), index=[f"r{i}" for i in range(300)]),
        ]
    ).set_crs(UTM10N, allow_override=True)
    schools = gpd.read_file(osm / "yuba_schools.geojson").to_crs(UTM10N)
    sites = gpd.GeoSeries(schools.geometry.to_numpy(), index="s" + schools["id"].astype(str))
    return roads, villages, sites.set_crs(UTM10N, allow_override=True)


# ------------------------------------------------------------------- the networkx reference


def _reference_graph(roads: RoadGraph, graph: costs.PointGraph, by: str) -> nx.DiGraph:
    """The same network built independently in networkx: every point splits its segment."""
    e = mode_edges(roads, graph.mode)
    weight, other = (e.minutes, e.metres) if by == "minutes" else (e.metres, e.minutes)
    on_segment = defaultdict(list)
    snaps = [(graph.village_snap, graph.village_nodes), (graph.site_snap, graph.site_nodes)]
    for s, nodes in snaps:
        for seg, t, node in zip(s.segment.tolist(), s.t.tolist(), nodes.tolist(), strict=True):
            on_segment[seg].append((t, node))
    best: dict[tuple[int, int], tuple[float, float]] = {}

    def add(a: int, b: int, w: float, o: float) -> None:
        if a != b and ((a, b) not in best or w < best[a, b][0]):
            best[a, b] = (w, o)

    rows = zip(e.u.tolist(), e.v.tolist(), e.segment.tolist(), weight, other, strict=True)
    for a, b, seg, w, o in rows:
        forward = a == roads.u[seg]
        stops = sorted((t if forward else 1 - t, n) for t, n in on_segment.get(seg, []))
        prev, at = a, 0.0
        for f, node in stops:
            add(prev, node, (f - at) * w, (f - at) * o)
            prev, at = node, f
        add(prev, b, (1 - at) * w, (1 - at) * o)
    g = nx.DiGraph()
    g.add_edges_from((a, b, {"w": w, "o": o}) for (a, b), (w, o) in best.items())
    return g


@pytest.mark.parametrize(
    ("mode", "by", "limits"),
    [("walk", "metres", {"max_distance_m": 6000}), ("drive", "minutes", {"max_minutes": 25})],
)
def test_costs_equal_networkx_on_rural_county(yuba, mode, by, limits):
    """200 pairs of the real rural network: equal to networkx's single_source_dijkstra to
    1e-6 m and min, and no pair within the limit missing."""
    roads, villages, sites = yuba
    travel = Travel()
    graph = point_graph(roads, mode_for(mode, travel), villages, sites)
    table = cost_table(graph, walk_kmh=travel.walk_kmh, by=by, **limits)
    counts = table["site_id"].value_counts()  # the busiest sites: few networkx runs
    chosen = counts.index[: int(np.searchsorted(counts.cumsum().to_numpy(), 200)) + 1]
    assert len(chosen) <= 12
    sample = table[table["site_id"].isin(chosen)]
    sample = sample.sample(min(200, len(sample)), random_state=1)
    assert len(sample) == 200
    reverse = _reference_graph(roads, graph, by).reverse(copy=False)
    vnode = dict(zip(graph.villages, graph.village_nodes.tolist(), strict=True))
    snode = dict(zip(graph.sites, graph.site_nodes.tolist(), strict=True))
    v_off = dict(zip(graph.villages, graph.village_snap.offroad_m, strict=True))
    s_off = dict(zip(graph.sites, graph.site_snap.offroad_m, strict=True))
    m_per_min = travel.walk_kmh * 1000 / 60
    limit = limits.get("max_minutes", limits.get("max_distance_m"))
    for site in chosen:
        dist, paths = nx.single_source_dijkstra(reverse, snode[site], cutoff=limit, weight="w")
        for r in sample[sample["site_id"] == site].itertuples():
            path = paths[vnode[r.village_id]][::-1]  # village -> site
            other = sum(reverse[b][a]["o"] for a, b in itertools.pairwise(path))
            metres, minutes = (other, dist[path[0]]) if by == "minutes" else (dist[path[0]], other)
            off = v_off[r.village_id] + s_off[site]
            assert r.distance_m == pytest.approx(metres + off, abs=1e-6, rel=0)
            assert r.minutes == pytest.approx(minutes + off / m_per_min, abs=1e-6, rel=0)
        within = {
            v
            for v, n in vnode.items()
            if n in dist
            and (dist[n] + (v_off[v] + s_off[site]) * (1 if by == "metres" else 1 / m_per_min))
            <= limit
        }
        assert within == set(table.loc[table["site_id"] == site, "village_id"])


# ------------------------------------------------------------------------- the parts


def test_snap_lands_on_the_nearest_usable_segment(county):
    villages, roads = county
    drive = mode_edges(roads, mode_for("drive"))
    xy = villages.get_coordinates().to_numpy()
    s = snap(xy, roads, drive.segment)
    usable = np.unique(drive.segment)
    assert np.isin(s.segment, usable).all()
    a, b = roads.xy[roads.u[s.segment]], roads.xy[roads.v[s.segment]]
    assert np.allclose(s.xy, a + s.t[:, None] * (b - a))
    segments = gpd.GeoSeries(
        [
            LineString([p, q])
            for p, q in zip(roads.xy[roads.u[usable]], roads.xy[roads.v[usable]], strict=True)
        ]
    )
    nearest = np.array([segments.distance(Point(p)).min() for p in xy[:40]])
    assert np.allclose(s.offroad_m[:40], nearest, atol=1e-6)


def _line_roads(oneway: bool) -> RoadGraph:
    """One 1 km primary road from x = 0 to x = 1000 m, in ten 100 m segments."""
    xy = np.column_stack([np.arange(0.0, 1001.0, 100.0), np.zeros(11)])
    return RoadGraph(
        xy=xy,
        u=np.arange(10),
        v=np.arange(1, 11),
        length_m=np.full(10, 100.0),
        highway=np.full(10, "primary"),
        oneway=np.full(10, oneway),
        blocked=np.zeros(10, dtype=np.uint8),
        crs=UTM10N,
    )


def _points(coords, prefix):
    return gpd.GeoSeries(
        [Point(c) for c in coords], index=[f"{prefix}{i}" for i in range(len(coords))], crs=UTM10N
    )


def test_trips_start_along_the_segment_and_respect_one_way():
    villages = _points([(330, 10), (750, -20)], "v")
    sites = _points([(370, -10), (20, 5)], "s")
    walk = network_costs(_line_roads(False), mode_for("walk"), villages, sites, by="metres")
    got = walk.set_index(["village_id", "site_id"])["distance_m"]
    assert got["v0", "s0"] == pytest.approx(40 + 10 + 10)  # along one segment, not via a node
    assert got["v1", "s1"] == pytest.approx(730 + 20 + 5)
    drive = network_costs(_line_roads(True), mode_for("drive"), villages, sites)
    assert set(zip(drive["village_id"], drive["site_id"], strict=True)) == {("v0", "s0")}
    minutes = drive["minutes"].iloc[0]
    assert minutes == pytest.approx(40 / (50_000 / 60) + 20 / (4000 / 60))


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000))
def test_contraction_keeps_shortest_paths(seed):
    """Random road-like graphs: distances between kept nodes, and the second quantity summed
    along the same paths, are what the full graph gives."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 40))
    chain = rng.permutation(n)
    extra = rng.integers(0, n, (int(rng.integers(0, n)), 2))
    pairs = np.vstack([np.column_stack([chain[:-1], chain[1:]]), extra])
    two_way = rng.random(len(pairs)) < 0.7
    u = np.concatenate([pairs[:, 0], pairs[two_way, 1]])
    v = np.concatenate([pairs[:, 1], pairs[two_way, 0]])
    w = rng.uniform(1, 10, len(u))
    pinned = rng.random(n) < 0.3
    pinned[chain[0]] = True
    net = contract(u, v, w, 2 * w, pinned)
    keep = np.flatnonzero(pinned)
    edges = pd.DataFrame({"u": u, "v": v, "w": w})
    edges = edges[edges["u"] != edges["v"]].groupby(["u", "v"], as_index=False)["w"].min()
    full = sp.csr_matrix((edges["w"], (edges["u"], edges["v"])), shape=(n, n))
    assert np.isin(keep, net.node).all()
    want = dijkstra(full, indices=keep)[:, keep]
    got = dijkstra(net.weight, indices=net.position(keep))[:, net.position(keep)]
    assert np.allclose(got, want, rtol=1e-12, atol=1e-9, equal_nan=True)
    assert np.allclose(net.other.data, 2 * net.weight.data)
    assert net.weight.shape[0] <= n


def test_cut_off_keeps_every_pair_within_the_limit(county):
    villages, roads = county
    walk = mode_for("walk")
    sites = villages.iloc[:20]
    full = network_costs(roads, walk, villages, sites, by="metres")
    cut = network_costs(roads, walk, villages, sites, max_distance_m=5000, by="metres")
    expected = full[full["distance_m"] <= 5000].reset_index(drop=True)
    assert len(cut) == len(expected) > 0
    pd.testing.assert_frame_equal(cut, expected)


def test_river_makes_straight_lines_lie(county):
    """The sample county's river: some trips are far longer on roads than as the crow flies."""
    villages, roads = county
    sites = villages.iloc[::10]
    net = network_costs(
        roads, mode_for("walk"), villages, sites, max_distance_m=15_000, by="metres"
    )
    line = straight_line_costs(villages, sites, detour_factor=1.0, kmh=4.0, max_distance_m=15_000)
    both = net.merge(line, on=["village_id", "site_id"], suffixes=("", "_line"))
    both = both[both["distance_m_line"] > 500]
    assert (both["distance_m"] / both["distance_m_line"]).max() > 2.0
    assert (both["distance_m"] >= both["distance_m_line"] - 1e-6).all()


def test_straight_line_is_great_circle_times_detour():
    pts = gpd.GeoSeries(
        [Point(108.8, 27.0), Point(108.8, 28.0), Point(108.8, 29.0)], index=["a", "b", "c"]
    ).set_crs(4326)
    table = straight_line_costs(
        pts.iloc[:1], pts.to_crs(32649), detour_factor=1.4, kmh=20.0, max_distance_m=200_000
    )
    one_degree = 6_371_008.8 * np.pi / 180
    assert table["site_id"].tolist() == ["a", "b"]
    assert table["distance_m"].tolist() == pytest.approx([0.0, 1.4 * one_degree], abs=1e-6)
    assert table["minutes"].iloc[1] == pytest.approx(1.4 * one_degree / (20_000 / 60))


def test_cache_serves_the_same_and_shorter_limits(county, tmp_path, monkeypatch):
    villages, roads = county
    args = (roads, mode_for("drive"), villages, villages.iloc[::25])
    opts = {"cache_dir": tmp_path, "use_cache": True}
    first = network_costs(*args, max_minutes=40, **opts)
    monkeypatch.setattr(costs, "point_graph", lambda *a, **k: pytest.fail("recomputed"))
    pd.testing.assert_frame_equal(network_costs(*args, max_minutes=40, **opts), first)
    shorter = network_costs(*args, max_minutes=20, **opts)
    monkeypatch.undo()
    direct = network_costs(*args, max_minutes=20)
    pd.testing.assert_frame_equal(shorter, direct)
    longer = network_costs(*args, max_minutes=60, **opts)
    assert len(longer) > len(first)
    other_mode = network_costs(roads, mode_for("walk"), *args[2:], max_minutes=40, **opts)
    assert not other_mode.equals(first)
    assert len(list((tmp_path / "costs").glob("*.parquet"))) == 2
    assert not list(tmp_path.rglob("*.tmp"))


def test_routes_follow_the_table(county):
    villages, roads = county
    sites = villages.iloc[::40]
    graph = point_graph(roads, mode_for("walk"), villages, sites)
    table = cost_table(graph, max_distance_m=8000, by="metres").sample(30, random_state=3)
    lines = routes(graph, table, by="metres")
    assert lines.index.equals(table.index)
    for r, line in zip(table.itertuples(), lines, strict=True):
        start, end = np.array(line.coords[0]), np.array(line.coords[-1])
        assert np.allclose(start, villages.get_coordinates().loc[r.village_id].to_numpy())
        assert np.allclose(end, sites.get_coordinates().loc[r.site_id].to_numpy())
        # planar (UTM) route length vs lengths on osmnx's sphere: within 0.5 %
        assert line.length == pytest.approx(r.distance_m, rel=5e-3, abs=1e-6)


def test_route_of_one_pair_is_the_drawn_path():
    from planning.costs import route, route_lines

    roads = _line_roads(False)
    line = route(roads, mode_for("walk"), Point(330, 10), Point(370, -10), by="metres")
    assert list(line.coords) == [(330, 10), (330, 0), (370, 0), (370, -10)]
    villages, sites = _points([(150, 30), (820, 0)], "v"), _points([(990, 0)], "s")
    pairs = pd.DataFrame({"village_id": ["v1", "v0"], "site_id": ["s0", "s0"]}, index=[7, 3])
    lines = route_lines(_line_roads(True), mode_for("drive"), villages, sites, pairs)
    assert lines.index.tolist() == [7, 3] and lines.crs.to_epsg() == UTM10N
    assert lines[3].length == pytest.approx(30 + 840)
    assert route(_line_roads(True), mode_for("drive"), Point(990, 0), Point(150, 30)) is None
    assert len(route_lines(roads, mode_for("walk"), villages, sites, pairs.iloc[:0])) == 0


def test_connection_report_names_far_and_cut_off_villages():
    roads = _line_roads(False)
    island = RoadGraph(
        xy=np.vstack([roads.xy, [[0, 5000], [500, 5000]]]),
        u=np.append(roads.u, 11),
        v=np.append(roads.v, 12),
        length_m=np.append(roads.length_m, 500.0),
        highway=np.append(roads.highway, "track"),
        oneway=np.append(roads.oneway, False),
        blocked=np.zeros(11, dtype=np.uint8),
        crs=UTM10N,
    )
    villages = _points([(300, 5), (200, 5020), (600, -1500)], "v")
    graph = point_graph(island, mode_for("walk"), villages, _points([(900, 0)], "s"))
    report = connection_report(graph, long_leg_m=1000)
    got = set(zip(report["village_id"], report["problem"], strict=True))
    assert got == {("v1", "no_site_connected"), ("v2", "long_offroad_leg")}
    assert "1,500 m" in report.set_index("village_id").loc["v2", "message"]


def test_demo_travel_costs_use_the_network(tmp_path):
    from planning.costs import level_routes
    from planning.layers import load_layers
    from planning.network import load_roads
    from planning.pipeline import all_sites, travel_costs
    from planning.scenario import load_scenario
    from tests.conftest import ROOT

    scenario = load_scenario(ROOT / "scenarios" / "demo.yaml")
    d = scenario.data
    layers = load_layers(
        schools=d.schools, villages=d.villages, boundary=d.boundary, candidates=d.candidates
    )
    tables, method = travel_costs(layers, scenario, cache_dir=tmp_path)
    assert method == "network"
    assert set(tables) == {"primary", "junior"}
    assert (tables["primary"]["distance_m"] <= 5000).all()
    assert (tables["junior"]["minutes"] <= 60).all()
    again, _ = travel_costs(layers, scenario, cache_dir=tmp_path)
    pd.testing.assert_frame_equal(again["junior"], tables["junior"])
    assert len(list((tmp_path / "costs").iterdir())) == 2  # one table per level, reused
    assert len(list((tmp_path / "roads").iterdir())) == 1
    roads = load_roads(d.roads, crs=layers.crs, cache_dir=tmp_path)
    pairs = tables["primary"].iloc[::50]
    lines = level_routes(
        roads, scenario.travel, "primary", layers.villages.geometry, all_sites(layers), pairs
    )
    assert np.allclose(lines.length, pairs["distance_m"], rtol=5e-3)
    assert not [w for w in layers.warnings if "gcj02" in w.message]
    ll = layers.villages.to_crs(4326)
    copied = gpd.points_from_xy(*wgs84_to_gcj02(ll.geometry.x, ll.geometry.y), crs=4326)
    amap = dataclasses.replace(
        layers, villages=ll.set_geometry(copied).to_crs(layers.crs), warnings=[]
    )
    travel_costs(amap, scenario, cache_dir=tmp_path)
    found = [w for w in amap.warnings if "coords: gcj02" in w.message]
    assert [w.file for w in found] == ["villages"]


# ----------------------------------------------------------------------- the command line

runner = CliRunner()


def test_costs_command_on_any_point_layers(tmp_path):
    out = tmp_path / "c.parquet"
    args = ["costs", "--roads", str(SAMPLE_COUNTY_DIR / "roads.osm")]
    args += ["--from", str(SAMPLE_COUNTY_DIR / "villages.geojson")]
    args += ["--to", str(SAMPLE_COUNTY_DIR / "schools.csv"), "--mode", "drive"]
    result = runner.invoke(app, [*args, "--max-minutes", "30", "--out", str(out), "--no-cache"])
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(out)
    assert table.columns.tolist() == ["village_id", "school_id", "distance_m", "minutes"]
    assert table["minutes"].max() <= 30 and table["school_id"].str.startswith("S").all()
    assert f"{len(table):,} pairs" in result.output
    # the same schools as copied from AMap (GCJ-02): declared, they give the same table
    schools = pd.read_csv(SAMPLE_COUNTY_DIR / "schools.csv")
    schools["lon"], schools["lat"] = wgs84_to_gcj02(schools["lon"], schools["lat"])
    schools.to_csv(tmp_path / "amap.csv", index=False)
    args[args.index("--to") + 1] = str(tmp_path / "amap.csv")
    csv = tmp_path / "c.csv"
    declared = runner.invoke(
        app,
        [*args, "--to-coords", "gcj02", "--max-minutes", "30", "--out", str(csv), "--no-cache"],
    )
    assert declared.exit_code == 0, declared.output
    again = pd.read_csv(csv, dtype={"village_id": str, "school_id": str})
    assert np.allclose(again["distance_m"], table["distance_m"], atol=0.01)
    undeclared = runner.invoke(app, [*args, "--max-minutes", "30", "--out", str(csv), "--no-cache"])
    assert "declare `coords: gcj02`" in undeclared.output


def test_costs_command_reports_bad_input(tmp_path):
    args = ["costs", "--roads", str(SAMPLE_COUNTY_DIR / "roads.osm")]
    args += ["--from", str(SAMPLE_COUNTY_DIR / "boundary.geojson")]
    args += ["--to", str(SAMPLE_COUNTY_DIR / "schools.csv"), "--out", str(tmp_path / "x.csv")]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "no id column" in result.output and "expected a Point" in result.output
    bad_mode = runner.invoke(app, [*args, "--mode", "boat"])
    assert bad_mode.exit_code == 2
