"""Travel costs: compiled bounded Dijkstra agrees with networkx route by route."""

from __future__ import annotations

import itertools

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest

from planning.costs import network_costs, snap, straight_line_costs
from planning.examples import SAMPLE_COUNTY_DIR
from planning.network import load_osm_xml, mode_graph
from planning.scenario import Travel


@pytest.fixture(scope="module")
def county():
    villages = gpd.read_file(SAMPLE_COUNTY_DIR / "villages.geojson").set_index("village_id")
    crs = villages.estimate_utm_crs()
    villages = villages.to_crs(crs)
    roads = load_osm_xml(SAMPLE_COUNTY_DIR / "roads.osm", crs=crs)
    return villages, roads


def _nx_graph(graph, weight):
    coo = weight.tocoo()
    g = nx.DiGraph()
    g.add_weighted_edges_from(
        zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True)
    )
    return g


@pytest.mark.parametrize("mode", ["walk", "drive"])
def test_costs_equal_networkx_dijkstra(county, mode):
    villages, roads = county
    travel = Travel()
    graph = mode_graph(roads, mode, travel)
    rng = np.random.default_rng(0)
    sites = villages.geometry.iloc[rng.choice(len(villages), 8, replace=False)]
    by = "metres" if mode == "walk" else "minutes"
    table = network_costs(
        roads,
        graph,
        villages.geometry,
        sites,
        walk_kmh=travel.walk_kmh,
        max_distance_m=60_000,
        by=by,
    )
    g = _nx_graph(graph, graph.metres if by == "metres" else graph.minutes)
    v_snap = snap(villages.geometry, roads, graph.usable)
    s_snap = snap(sites, roads, graph.usable)
    pos = {v: i for i, v in enumerate(villages.index)}
    spos = {s: i for i, s in enumerate(sites.index)}
    sample = table.sample(min(100, len(table)), random_state=1)
    walk = travel.walk_kmh * 1000 / 60
    for row in sample.itertuples():
        src, dst = v_snap.node[pos[row.village_id]], s_snap.node[spos[row.site_id]]
        best, path = nx.single_source_dijkstra(g, src, dst)
        metres = sum(graph.metres[a, b] for a, b in itertools.pairwise(path))
        minutes = sum(graph.minutes[a, b] for a, b in itertools.pairwise(path))
        off = v_snap.offroad_m[pos[row.village_id]] + s_snap.offroad_m[spos[row.site_id]]
        assert row.distance_m == pytest.approx(metres + off, abs=1e-6)
        assert row.minutes == pytest.approx(minutes + off / walk, abs=1e-6)
        assert (metres if by == "metres" else minutes) == pytest.approx(best, abs=1e-6)


def test_cut_off_keeps_every_pair_within_the_limit(county):
    villages, roads = county
    graph = mode_graph(roads, "walk", Travel())
    sites = villages.geometry.iloc[:20]
    full = network_costs(
        roads, graph, villages.geometry, sites, walk_kmh=4.0, max_distance_m=1e9, by="metres"
    )
    cut = network_costs(
        roads, graph, villages.geometry, sites, walk_kmh=4.0, max_distance_m=5000, by="metres"
    )
    expected = full[full["distance_m"] <= 5000].reset_index(drop=True)
    assert len(cut) == len(expected) > 0
    assert np.allclose(cut["distance_m"], expected["distance_m"])


def test_river_makes_straight_lines_lie(county):
    """The sample county's river: some trips are far longer on roads than as the crow flies."""
    villages, roads = county
    graph = mode_graph(roads, "walk", Travel())
    sites = villages.geometry.iloc[::10]
    net = network_costs(
        roads, graph, villages.geometry, sites, walk_kmh=4.0, max_distance_m=15_000, by="metres"
    )
    line = straight_line_costs(
        villages.geometry, sites, detour_factor=1.0, kmh=4.0, max_distance_m=15_000
    )
    both = net.merge(line, on=["village_id", "site_id"], suffixes=("", "_line"))
    both = both[both["distance_m_line"] > 500]
    assert (both["distance_m"] / both["distance_m_line"]).max() > 2.0
