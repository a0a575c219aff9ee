"""Road networks: load OpenStreetMap XML with osmnx and turn it into sparse travel graphs."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from planning._errors import InputError, Problem
from planning.scenario import Travel

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RoadGraph:
    """A road network as plain arrays, in a metric CRS.

    Attributes
    ----------
    xy
        Node coordinates, shape (n, 2), metres.
    u, v
        Edge end-node positions (directed, as OSM allows travel).
    length_m
        Edge lengths, metres.
    highway
        Edge road class (OSM ``highway`` tag).
    """

    xy: np.ndarray
    u: np.ndarray
    v: np.ndarray
    length_m: np.ndarray
    highway: np.ndarray

    @property
    def n_nodes(self) -> int:
        return len(self.xy)


@dataclass(frozen=True)
class ModeGraph:
    """Sparse matrices of one travel mode: minutes and metres per usable edge.

    Both are (n, n) CSR matrices over the same sparsity pattern; entry (a, b) is the fastest
    edge from a to b. ``usable`` marks nodes on at least one usable edge.
    """

    minutes: sp.csr_matrix
    metres: sp.csr_matrix
    usable: np.ndarray


def load_osm_xml(path: str | Path, *, crs: object) -> RoadGraph:
    """Read an OSM XML file with osmnx and project it to ``crs``.

    Raises
    ------
    InputError
        If the file is not OSM XML or holds no usable road.
    """
    import osmnx as ox

    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # unsimplified: every OSM node stays a place where villages can join the road
            graph = ox.graph_from_xml(path, simplify=False, retain_all=True)
    except Exception as exc:  # osmnx/xml raise many types for a bad file
        raise InputError([Problem(str(path), f"not a readable OSM XML road file: {exc}")]) from None
    if graph.number_of_edges() == 0:
        raise InputError([Problem(str(path), "no roads (ways with a highway tag) in the file")])
    graph = ox.project_graph(graph, to_crs=crs)
    return _to_arrays(graph)


def _to_arrays(graph: object) -> RoadGraph:
    nodes = list(graph.nodes)  # type: ignore[attr-defined]
    pos = {n: i for i, n in enumerate(nodes)}
    xy = np.array([(graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in nodes])  # type: ignore[attr-defined]
    edges = list(graph.edges(data=True))  # type: ignore[attr-defined]
    u = np.fromiter((pos[a] for a, _, _ in edges), dtype=np.int64, count=len(edges))
    v = np.fromiter((pos[b] for _, b, _ in edges), dtype=np.int64, count=len(edges))
    length = np.fromiter((d["length"] for _, _, d in edges), dtype=float, count=len(edges))
    highway = np.array([_first(d.get("highway", "unclassified")) for _, _, d in edges], dtype=str)
    logger.info("road graph: %d nodes, %d directed edges", len(xy), len(u))
    return RoadGraph(xy=xy, u=u, v=v, length_m=length, highway=highway)


def _first(tag: object) -> str:
    # simplified edges may merge ways of several classes; the first is kept
    return str(tag[0]) if isinstance(tag, list) else str(tag)


def mode_graph(roads: RoadGraph, mode: str, travel: Travel) -> ModeGraph:
    """Build the sparse travel graph of one mode (``walk`` or ``drive``).

    Walking uses every way in both directions at ``travel.walk_kmh``; driving skips the
    ``travel.walk_only`` classes, respects one-way streets, and uses ``travel.drive_kmh``.
    """
    if mode == "walk":
        u = np.concatenate([roads.u, roads.v])
        v = np.concatenate([roads.v, roads.u])
        length = np.concatenate([roads.length_m, roads.length_m])
        kmh = np.full(len(u), travel.walk_kmh)
    elif mode == "drive":
        keep = ~np.isin(roads.highway, travel.walk_only)
        u, v, length = roads.u[keep], roads.v[keep], roads.length_m[keep]
        speeds = pd.Series(travel.drive_kmh)
        kmh = speeds.reindex(roads.highway[keep]).fillna(travel.drive_default_kmh).to_numpy()
    else:
        raise ValueError(f"unknown mode {mode!r}; expected walk or drive")
    minutes = length / (kmh * 1000.0 / 60.0)
    return _fastest_edges(u, v, minutes, length, roads.n_nodes)


def _fastest_edges(
    u: np.ndarray, v: np.ndarray, minutes: np.ndarray, length: np.ndarray, n: int
) -> ModeGraph:
    """Keep, for every ordered node pair, only the fastest parallel edge."""
    order = np.lexsort((minutes, v, u))
    u, v, minutes, length = u[order], v[order], minutes[order], length[order]
    first = np.ones(len(u), dtype=bool)
    first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
    u, v, minutes, length = u[first], v[first], minutes[first], length[first]
    # csgraph treats explicit zeros as missing edges: keep zero-length edges tiny but present
    minutes = np.maximum(minutes, 1e-9)
    length = np.maximum(length, 1e-9)
    shape = (n, n)
    usable = np.zeros(n, dtype=bool)
    usable[u] = True
    usable[v] = True
    return ModeGraph(
        minutes=sp.csr_matrix((minutes, (u, v)), shape=shape),
        metres=sp.csr_matrix((length, (u, v)), shape=shape),
        usable=usable,
    )
