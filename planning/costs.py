"""Travel costs: sparse (village, site) tables of metres and minutes, cut off at a limit.

On a road network (:func:`network_costs`):

1. **Snap.** Each village and site joins the nearest road segment its mode may use, at the
   closest point on it (not the nearest node); the straight off-road leg to that point is
   walked and counted.
2. **Splice.** That point becomes a node splitting its segment, so a trip starts along the
   segment in whichever direction is allowed, and two points on one segment reach each other
   directly.
3. **Contract.** Nodes that only continue a road (two neighbours, same directions both ways)
   are removed and their chains summed into one edge, and dead ends without a village or site
   (driveways, farm tracks) are pruned: the same shortest paths on a graph about 15 times
   smaller (Yuba County, driving: 115,000 nodes to 7,500).
4. **Bounded multi-source Dijkstra** in compiled code (``scipy.sparse.csgraph``) from every
   site on the reversed graph, stopped at the scenario's limit; the quantity that is not the
   Dijkstra weight (metres when minimising minutes) is summed along the same shortest-path tree
   by pointer jumping, so both columns describe one and the same route.

Tables can be cached on disk (:mod:`planning.cache`): the key is the road file's hash, the
mode's settings and the points' ids and coordinates; a table computed to a longer limit serves
any shorter one. Without roads, :func:`straight_line_costs` uses great-circle distance times a
detour factor, and callers label the result as such.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, dijkstra

from planning import cache
from planning.network import Mode, ModeEdges, RoadGraph, mode_edges, mode_for
from planning.scenario import Travel

logger = logging.getLogger(__name__)

COLUMNS = ["village_id", "site_id", "distance_m", "minutes"]
_CHUNK_CELLS = 12_000_000  # sources x nodes held in memory at once
_EPS = 1e-12  # stands in for zero-cost edges, which sparse graphs cannot tell from no edge
_EARTH_RADIUS_M = 6_371_008.8
_TABLE_VERSION = "1"  # bump when the way tables are computed changes: old cache entries ignored


@dataclass(frozen=True)
class Snap:
    """Where points join the network.

    Attributes
    ----------
    segment
        Road segment (row of the :class:`~planning.network.RoadGraph`) each point joins.
    t
        Position of the joining point along the segment, 0 at its ``u`` end, 1 at ``v``.
    xy
        The joining point, metres.
    offroad_m
        Straight distance from the point to the road, metres.
    """

    segment: np.ndarray
    t: np.ndarray
    xy: np.ndarray
    offroad_m: np.ndarray


def snap(points: np.ndarray, roads: RoadGraph, segments: np.ndarray) -> Snap:
    """Snap points (``(k, 2)`` metres) to the nearest of ``segments`` (rows of ``roads``)."""
    import shapely

    segments = np.unique(segments)
    a, b = roads.xy[roads.u[segments]], roads.xy[roads.v[segments]]
    tree = shapely.STRtree(shapely.linestrings(np.stack([a, b], axis=1)))
    found = tree.query_nearest(shapely.points(points), all_matches=False)
    hit = np.zeros(len(points), dtype=np.int64)
    hit[found[0]] = found[1]
    a, b = a[hit], b[hit]
    ab = b - a
    t = np.clip(np.einsum("ij,ij->i", points - a, ab) / np.maximum((ab**2).sum(1), 1e-18), 0, 1)
    xy = a + t[:, None] * ab
    return Snap(segments[hit], t, xy, np.hypot(*(points - xy).T))


@dataclass(frozen=True)
class PointGraph:
    """A mode's directed travel graph with villages and sites spliced in as nodes.

    Road nodes keep their positions ``0..n-1``; village ``i`` is node ``n + i`` and site ``j``
    node ``n + n_villages + j``.

    Attributes
    ----------
    u, v, metres, minutes
        Directed edges (parallel edges not yet removed), metres and minutes.
    xy
        Coordinates of every node, metres.
    points
        The villages' then the sites' own coordinates, metres.
    villages, sites
        The points' ids, in node order.
    village_snap, site_snap
        Where they join the network.
    mode
        The travel mode.
    crs
        CRS of every coordinate (the roads').
    """

    u: np.ndarray
    v: np.ndarray
    metres: np.ndarray
    minutes: np.ndarray
    xy: np.ndarray
    points: np.ndarray
    villages: pd.Index
    sites: pd.Index
    village_snap: Snap
    site_snap: Snap
    mode: Mode
    crs: Any = None

    @property
    def n_nodes(self) -> int:
        """Road nodes plus points."""
        return len(self.xy)

    @property
    def village_nodes(self) -> np.ndarray:
        """Node of each village."""
        return self.n_nodes - len(self.sites) - len(self.villages) + np.arange(len(self.villages))

    @property
    def site_nodes(self) -> np.ndarray:
        """Node of each site."""
        return self.n_nodes - len(self.sites) + np.arange(len(self.sites))


def point_graph(
    roads: RoadGraph, mode: Mode, villages: gpd.GeoSeries, sites: gpd.GeoSeries
) -> PointGraph:
    """Snap ``villages`` and ``sites`` (points in ``roads.crs``, indexed by id) onto ``mode``'s
    roads and splice them into its graph."""
    _same_crs(roads, villages, sites)
    edges = mode_edges(roads, mode)
    if len(edges.u) == 0:
        raise ValueError(f"no road in {roads.source or 'the graph'} is usable for {mode.name}")
    xy = np.concatenate([_xy(villages), _xy(sites)])
    where = snap(xy, roads, edges.segment)
    u, v, metres, minutes = _splice(edges, roads, where)
    nv = len(villages)
    return PointGraph(
        u=u,
        v=v,
        metres=metres,
        minutes=minutes,
        xy=np.concatenate([roads.xy, where.xy]),
        points=xy,
        villages=pd.Index(villages.index),
        sites=pd.Index(sites.index),
        village_snap=_subset(where, slice(0, nv)),
        site_snap=_subset(where, slice(nv, None)),
        mode=mode,
        crs=roads.crs,
    )


def _same_crs(roads: RoadGraph, *layers: gpd.GeoSeries) -> None:
    from pyproj import CRS

    want = CRS.from_user_input(roads.crs)
    for layer in layers:
        if layer.crs is not None and not CRS.from_user_input(layer.crs).equals(want):
            raise ValueError(f"points in {layer.crs.name}, roads in {want.name}: project first")


def _xy(points: gpd.GeoSeries) -> np.ndarray:
    return np.column_stack([points.x.to_numpy(dtype=float), points.y.to_numpy(dtype=float)])


def _subset(s: Snap, sel: slice) -> Snap:
    return Snap(s.segment[sel], s.t[sel], s.xy[sel], s.offroad_m[sel])


def _splice(
    edges: ModeEdges, roads: RoadGraph, where: Snap
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split every edge at the points snapped onto its segment (points are nodes n, n+1...)."""
    n = roads.n_nodes
    order = np.argsort(where.segment, kind="stable")
    seg_sorted = where.segment[order]
    first = np.searchsorted(seg_sorted, edges.segment, side="left")
    count = np.searchsorted(seg_sorted, edges.segment, side="right") - first
    hit = np.flatnonzero(count > 0)
    # one row per (edge, point on its segment): ragged ranges without a Python loop
    e = np.repeat(hit, count[hit])
    offset = np.arange(len(e)) - np.repeat(np.cumsum(count[hit]) - count[hit], count[hit])
    p = order[np.repeat(first[hit], count[hit]) + offset]
    forward = edges.u[e] == roads.u[edges.segment[e]]
    f = np.where(forward, where.t[p], 1.0 - where.t[p])
    srt = np.lexsort((f, e))
    e, p, f = e[srt], p[srt], f[srt]
    new_group = np.ones(len(e), dtype=bool)
    new_group[1:] = e[1:] != e[:-1]
    prev_node = np.where(new_group, edges.u[e], np.roll(n + p, 1))
    prev_f = np.where(new_group, 0.0, np.roll(f, 1))
    last = np.ones(len(e), dtype=bool)
    last[:-1] = e[1:] != e[:-1]
    frac = np.concatenate([f - prev_f, 1.0 - f[last]])
    src = np.concatenate([e, e[last]])
    keep = np.ones(len(edges.u), dtype=bool)
    keep[hit] = False
    return (
        np.concatenate([edges.u[keep], prev_node, n + p[last]]),
        np.concatenate([edges.v[keep], n + p, edges.v[e[last]]]),
        np.concatenate([edges.metres[keep], frac * edges.metres[src]]),
        np.concatenate([edges.minutes[keep], frac * edges.minutes[src]]),
    )


# ------------------------------------------------------------------------------ contraction


@dataclass(frozen=True)
class Contracted:
    """The graph with pass-through nodes removed: CSR matrices of the weight and the other
    quantity over the same edges, and each kept node's original position."""

    weight: sp.csr_matrix
    other: sp.csr_matrix
    node: np.ndarray

    def position(self, original: np.ndarray) -> np.ndarray:
        """Contracted positions of kept original nodes."""
        return np.searchsorted(self.node, original)


def fastest_edges(
    u: np.ndarray, v: np.ndarray, w: np.ndarray, o: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Drop self-loops and keep, for every ordered node pair, the edge of least weight."""
    loop = u == v
    u, v, w, o = u[~loop], v[~loop], w[~loop], o[~loop]
    order = np.lexsort((w, v, u))
    u, v, w, o = u[order], v[order], w[order], o[order]
    first = np.ones(len(u), dtype=bool)
    first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
    return u[first], v[first], w[first], o[first]


def contract(
    u: np.ndarray, v: np.ndarray, w: np.ndarray, o: np.ndarray, pinned: np.ndarray
) -> Contracted:
    """Keep only the nodes shortest paths between ``pinned`` nodes can need, and sum ``w`` and
    ``o`` along the chains between them.

    Removed are, repeatedly: nodes inside a road (one way in and a different way out, or
    exactly two neighbours each linked both ways), whose chains become one edge; and dead ends
    (one neighbour, or no way in or no way out), which no shortest path between other nodes
    enters. Shortest paths between pinned nodes, and their ``w`` and ``o`` sums, are unchanged.
    """
    n = len(pinned)
    u, v, w, o = fastest_edges(u, v, w, o)
    node = np.arange(n)
    for _ in range(64):
        m = len(u)
        u, v, w, o, keep = _contract_once(u, v, w, o, pinned)
        node, pinned = node[keep], pinned[keep]
        if len(u) == m:
            break
    k = len(node)
    return Contracted(
        weight=sp.csr_matrix((np.maximum(w, _EPS), (u, v)), shape=(k, k)),
        other=sp.csr_matrix((np.maximum(o, _EPS), (u, v)), shape=(k, k)),
        node=node,
    )


def _contract_once(
    u: np.ndarray, v: np.ndarray, w: np.ndarray, o: np.ndarray, pinned: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One round: drop dead ends, then merge chains through pass-through nodes; relabel."""
    n = len(pinned)
    dead = _dead_end(u, v, n) & ~pinned
    alive = ~dead[u] & ~dead[v]
    u, v, w, o = u[alive], v[alive], w[alive], o[alive]
    through = _pass_through(u, v, n) & ~pinned
    nxt = _next_edge(u, v, through)
    acc_w, acc_o, end = _jump(nxt, w.copy(), o.copy(), v.copy())
    start = ~through[u] & (end >= 0)
    cu, cv, cw, co = fastest_edges(u[start], end[start], acc_w[start], acc_o[start])
    keep = ~through & ~dead & (pinned | _has_edge(cu, cv, n))
    relabel = np.cumsum(keep) - 1
    return relabel[cu], relabel[cv], cw, co, keep


def _has_edge(u: np.ndarray, v: np.ndarray, n: int) -> np.ndarray:
    return (np.bincount(u, minlength=n) + np.bincount(v, minlength=n)) > 0


def _dead_end(u: np.ndarray, v: np.ndarray, n: int) -> np.ndarray:
    """Nodes no shortest path passes through: no way in, no way out, or a single neighbour."""
    indeg, outdeg = np.bincount(v, minlength=n), np.bincount(u, minlength=n)
    a, b = np.minimum(u, v), np.maximum(u, v)
    pair = np.unique(a * n + b)
    neighbours = np.bincount(pair // n, minlength=n) + np.bincount(pair % n, minlength=n)
    return np.asarray((indeg == 0) | (outdeg == 0) | (neighbours <= 1))


def _pass_through(u: np.ndarray, v: np.ndarray, n: int) -> np.ndarray:
    """Nodes inside a road: in/out neighbour sets {a}->{b} with a != b, or {a, b} both ways."""
    indeg, outdeg = np.bincount(v, minlength=n), np.bincount(u, minlength=n)
    uf, vf = u.astype(float), v.astype(float)
    in_sum, out_sum = np.bincount(v, uf, minlength=n), np.bincount(u, vf, minlength=n)
    in_sq, out_sq = np.bincount(v, uf**2, minlength=n), np.bincount(u, vf**2, minlength=n)
    one_way = (indeg == 1) & (outdeg == 1) & (in_sum != out_sum)
    two_way = (indeg == 2) & (outdeg == 2) & (in_sum == out_sum) & (in_sq == out_sq)
    return np.asarray(one_way | two_way)


def _next_edge(u: np.ndarray, v: np.ndarray, through: np.ndarray) -> np.ndarray:
    """For each edge into a pass-through node, the edge that continues the road (-1 if none)."""
    by_tail = np.argsort(u, kind="stable")  # edges are sorted by tail already; be explicit
    first = np.searchsorted(u[by_tail], v)  # first out-edge of each edge's head
    nxt = np.full(len(u), -1, dtype=np.int64)
    go = np.flatnonzero(through[v])
    e1 = by_tail[first[go]]
    two = np.bincount(u, minlength=len(through))[v[go]] == 2
    e2 = by_tail[np.minimum(first[go] + 1, len(u) - 1)]
    # two-way: leave by the out-edge that does not turn straight back
    nxt[go] = np.where(two & (v[e1] == u[go]), e2, e1)
    return nxt


def _jump(
    nxt: np.ndarray, w: np.ndarray, o: np.ndarray, end: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pointer jumping along ``nxt``: sums of ``w``/``o`` to the chain's end and its last head.

    Edges on closed loops of pass-through nodes never end; their ``end`` is -1.
    """
    nxt = nxt.copy()
    for _ in range(int(np.ceil(np.log2(max(len(nxt), 2)))) + 2):
        live = np.flatnonzero(nxt >= 0)
        if len(live) == 0:
            break
        step = nxt[live]
        w[live] += w[step]
        o[live] += o[step]
        end[live] = end[step]
        nxt[live] = nxt[step]
    end[nxt >= 0] = -1
    return w, o, end


# ------------------------------------------------------------------------------- the table


def network_costs(
    roads: RoadGraph,
    mode: Mode,
    villages: gpd.GeoSeries,
    sites: gpd.GeoSeries,
    *,
    walk_kmh: float = 4.0,
    max_distance_m: float | None = None,
    max_minutes: float | None = None,
    by: str = "minutes",
    cache_dir: str | Path | None = None,
    use_cache: bool = False,
) -> pd.DataFrame:
    """Sparse village -> site travel table on a road network.

    Parameters
    ----------
    roads, mode
        The network and the travel mode (:func:`planning.network.mode_for`).
    villages, sites
        Points in the network's CRS, indexed by their ids.
    walk_kmh
        Speed of the straight off-road legs at both ends, km/h.
    max_distance_m, max_minutes
        Pairs beyond either limit (off-road legs included) are left out; None: no limit.
    by
        ``"minutes"`` (fastest route) or ``"metres"`` (shortest route).
    cache_dir, use_cache
        Keep and reuse the table on disk (:mod:`planning.cache`), keyed by the inputs' hashes.

    Returns
    -------
    DataFrame with columns ``village_id, site_id, distance_m, minutes``, sorted by both ids.
    """
    if by not in ("minutes", "metres"):
        raise ValueError(f"by must be 'minutes' or 'metres', found {by!r}")
    digest, where = "", None
    if use_cache:
        digest = _table_key(roads, mode, villages, sites, walk_kmh, by)
        where = cache.entry("costs", digest, ".parquet", cache_dir=cache_dir)
        hit = _cached(where, max_distance_m, max_minutes)
        if hit is not None:
            return hit
    table = cost_table(
        point_graph(roads, mode, villages, sites),
        walk_kmh=walk_kmh,
        max_distance_m=max_distance_m,
        max_minutes=max_minutes,
        by=by,
    )
    if where is not None:
        limits = {"max_distance_m": max_distance_m, "max_minutes": max_minutes}
        cache.store(cache.write_table, table, where, meta=limits)
    return table


def _table_key(
    roads: RoadGraph,
    mode: Mode,
    villages: gpd.GeoSeries,
    sites: gpd.GeoSeries,
    walk_kmh: float,
    by: str,
) -> str:
    graph = roads.digest or cache.key(roads.xy, roads.u, roads.v, roads.length_m, roads.highway)
    return cache.key(
        "costs",
        _TABLE_VERSION,
        graph,
        roads.elevation_m if roads.elevation_m is not None else "flat",
        mode.settings(),
        walk_kmh,
        by,
        np.asarray(villages.index.astype(str)),
        np.round(_xy(villages), 3),
        np.asarray(sites.index.astype(str)),
        np.round(_xy(sites), 3),
    )


def _cached(where: Path, max_m: float | None, max_min: float | None) -> pd.DataFrame | None:
    hit = cache.try_read_table(where)
    if hit is None:
        return None
    table, meta = hit
    if not (
        _covers(meta.get("max_distance_m"), max_m) and _covers(meta.get("max_minutes"), max_min)
    ):
        return None
    logger.info("travel costs read from the cache (%d pairs)", len(table))
    return _cut(table, max_m, max_min)


def _covers(stored: float | None, wanted: float | None) -> bool:
    return stored is None or (wanted is not None and wanted <= stored)


def _cut(table: pd.DataFrame, max_m: float | None, max_min: float | None) -> pd.DataFrame:
    keep = np.ones(len(table), dtype=bool)
    if max_m is not None:
        keep &= table["distance_m"].to_numpy() <= max_m
    if max_min is not None:
        keep &= table["minutes"].to_numpy() <= max_min
    return table[keep].reset_index(drop=True)


def cost_table(
    graph: PointGraph,
    *,
    walk_kmh: float = 4.0,
    max_distance_m: float | None = None,
    max_minutes: float | None = None,
    by: str = "minutes",
) -> pd.DataFrame:
    """The village -> site table of a :class:`PointGraph` (see :func:`network_costs`)."""
    w, o = (graph.minutes, graph.metres) if by == "minutes" else (graph.metres, graph.minutes)
    pinned = np.zeros(graph.n_nodes, dtype=bool)
    pinned[graph.village_nodes] = pinned[graph.site_nodes] = True
    net = contract(graph.u, graph.v, w, o, pinned)
    limit = _limit(graph, by, max_distance_m, max_minutes)
    vpos, spos = net.position(graph.village_nodes), net.position(graph.site_nodes)
    frames = [_pairs(*pair, graph, by, walk_kmh) for pair in _sweep(net, spos, vpos, limit)]
    table = pd.concat(frames, ignore_index=True) if frames else _empty_pairs()
    return _finish(table, graph.villages, graph.sites, max_distance_m, max_minutes)


def _limit(graph: PointGraph, by: str, max_m: float | None, max_min: float | None) -> float:
    """The Dijkstra bound in the weight's unit (network part only; off-road legs add to it)."""
    if by == "metres":
        return np.inf if max_m is None else max_m
    if max_min is not None:
        return max_min
    if max_m is None:
        return np.inf
    moving = graph.metres > 0
    slowest = np.min(graph.metres[moving] / graph.minutes[moving])  # metres per minute
    return max_m / slowest


def _sweep(
    net: Contracted, spos: np.ndarray, vpos: np.ndarray, limit: float
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Bounded Dijkstra from every site on the reversed graph, in chunks of sources.

    Returns (site index, village index, weight, other) arrays of the reached pairs per chunk.
    """
    rev_w, rev_o = net.weight.T.tocsr(), net.other.T.tocsr()
    src, site_of = np.unique(spos, return_inverse=True)
    step = max(1, _CHUNK_CELLS // max(net.weight.shape[0], 1))
    out = []
    for lo in range(0, len(src), step):
        dist, pred = dijkstra(
            rev_w, directed=True, indices=src[lo : lo + step], limit=limit, return_predecessors=True
        )
        other = _sum_along_tree(rev_o, pred)[:, vpos]
        dist = dist[:, vpos]
        sites = np.flatnonzero((site_of >= lo) & (site_of < lo + step))
        row = site_of[sites] - lo  # sites joining the network at one node share a row
        s, vi = np.nonzero(np.isfinite(dist[row]))
        out.append((sites[s], vi, dist[row[s], vi], other[row[s], vi]))
    return out


def _sum_along_tree(rev_other: sp.csr_matrix, pred: np.ndarray) -> np.ndarray:
    """Sum edge values ``rev_other[pred[v], v]`` from every node up to its tree's root.

    ``pred`` holds one shortest-path tree per row. Pointer jumping on the reached nodes only:
    log2(depth) vectorised passes instead of a walk per node.
    """
    csr = rev_other.tocsr()
    csr.sort_indices()
    rows, n = pred.shape
    idx = np.int32 if rows * n < 2**31 else np.int64
    flat = pred.ravel()
    has = np.flatnonzero(flat >= 0).astype(idx)
    node = (has % n).astype(idx)
    parent = flat[has].astype(idx)
    acc = np.zeros(rows * n)
    acc[has] = csr.data[_edge_position(csr, parent, node)]
    anc = np.full(rows * n, -1, dtype=idx)
    anc[has] = has - node + parent  # the parent's flat position, same row
    live = has
    while len(live):
        up = anc[live]
        acc[live] += acc[up]
        anc[live] = anc[up]
        live = live[anc[live] >= 0]
    return acc.reshape(rows, n)


def _edge_position(csr: sp.csr_matrix, row: np.ndarray, col: np.ndarray) -> np.ndarray:
    """Positions in ``csr.data`` of existing entries (row, col): a short scan of each row."""
    pos = csr.indptr[row].astype(np.int64)
    todo = np.flatnonzero(csr.indices[pos] != col)
    while len(todo):
        pos[todo] += 1
        todo = todo[csr.indices[pos[todo]] != col[todo]]
    return pos


def _pairs(
    s: np.ndarray, vi: np.ndarray, w: np.ndarray, o: np.ndarray, g: PointGraph, by: str, kmh: float
) -> pd.DataFrame:
    metres, minutes = (o, w) if by == "minutes" else (w, o)
    off = g.village_snap.offroad_m[vi] + g.site_snap.offroad_m[s]
    return pd.DataFrame(
        {
            "v": vi,
            "s": s,
            "distance_m": metres + off,
            "minutes": minutes + off / (kmh * 1000.0 / 60.0),
        }
    )


def _empty_pairs() -> pd.DataFrame:
    return pd.DataFrame(
        {"v": np.empty(0, int), "s": np.empty(0, int), "distance_m": [], "minutes": []}
    )


def _finish(
    table: pd.DataFrame,
    villages: pd.Index,
    sites: pd.Index,
    max_m: float | None,
    max_min: float | None,
) -> pd.DataFrame:
    table = _cut(table, max_m, max_min)
    out = pd.DataFrame(
        {
            "village_id": villages.to_numpy()[table["v"].to_numpy(dtype=int)],
            "site_id": sites.to_numpy()[table["s"].to_numpy(dtype=int)],
            "distance_m": table["distance_m"].to_numpy(dtype=float),
            "minutes": table["minutes"].to_numpy(dtype=float),
        }
    )
    return out.sort_values(["village_id", "site_id"], ignore_index=True)


# ---------------------------------------------------------------------------- diagnostics


def connection_report(graph: PointGraph, *, long_leg_m: float = 1000.0) -> pd.DataFrame:
    """Villages whose data look wrong for routing.

    Parameters
    ----------
    graph
        Villages and sites spliced into a mode's network.
    long_leg_m
        Off-road legs longer than this (metres) are reported: the point is probably misplaced
        (or in GCJ-02 / BD-09 coordinates), or its road is missing from the map.

    Returns
    -------
    DataFrame with columns ``village_id``, ``problem`` (``long_offroad_leg`` or
    ``no_site_connected``), ``offroad_m`` and ``message``.
    """
    n = graph.n_nodes
    adj = sp.csr_matrix((np.ones(len(graph.u)), (graph.u, graph.v)), shape=(n, n))
    _, label = connected_components(adj, directed=True, connection="weak")
    lone = ~np.isin(label[graph.village_nodes], label[graph.site_nodes])
    leg = graph.village_snap.offroad_m
    long = leg > long_leg_m
    rows = [
        (vid, "long_offroad_leg", m, f"{m:,.0f} m from the nearest {graph.mode.name} road")
        for vid, m in zip(graph.villages[long], leg[long], strict=True)
    ] + [
        (vid, "no_site_connected", m, f"its roads ({graph.mode.name}) reach no school or site")
        for vid, m in zip(graph.villages[lone], leg[lone], strict=True)
    ]
    return pd.DataFrame(rows, columns=["village_id", "problem", "offroad_m", "message"])


# --------------------------------------------------------------------------------- routes


def routes(graph: PointGraph, pairs: pd.DataFrame, *, by: str = "minutes") -> gpd.GeoSeries:
    """Route geometry of each ``(village_id, site_id)`` row of ``pairs``.

    Each route is a LineString from the village point, along its off-road leg, through the
    road nodes of the route chosen by :func:`cost_table` (same weight ``by``), to the site
    point; ``None`` where the site cannot be reached. Index as ``pairs``; CRS of the roads.
    """
    w = graph.minutes if by == "minutes" else graph.metres
    u, v, w, _ = fastest_edges(graph.u, graph.v, w, w)
    n = graph.n_nodes
    rev = sp.csr_matrix((np.maximum(w, _EPS), (v, u)), shape=(n, n))
    vnode = dict(zip(graph.villages, graph.village_nodes, strict=True))
    snode = dict(zip(graph.sites, graph.site_nodes, strict=True))
    out: dict[Any, Any] = {}
    for site, group in pairs.groupby("site_id", sort=False):
        _, pred = dijkstra(rev, directed=True, indices=snode[site], return_predecessors=True)
        for idx, vid in zip(group.index, group["village_id"], strict=True):
            out[idx] = _line(graph, pred, vnode[vid], snode[site])
    return gpd.GeoSeries(pd.Series(out, dtype=object).reindex(pairs.index), crs=graph.crs)


def route_lines(
    roads: RoadGraph,
    mode: Mode,
    villages: gpd.GeoSeries,
    sites: gpd.GeoSeries,
    pairs: pd.DataFrame,
    *,
    by: str = "minutes",
) -> gpd.GeoSeries:
    """Route geometries of ``pairs`` (columns ``village_id``, ``site_id``) on ``mode``.

    ``villages`` and ``sites`` are points in ``roads.crs`` indexed by id (only those in
    ``pairs`` are used). Use ``by="metres"`` for walking levels, as :func:`level_tables` does.
    Returns LineStrings (village point, road nodes, site point) indexed as ``pairs``, in
    ``roads.crs``; None where unreachable.
    """
    v = villages.loc[pd.unique(pairs["village_id"])]
    s = sites.loc[pd.unique(pairs["site_id"])]
    return routes(point_graph(roads, mode, v, s), pairs, by=by)


def route(roads: RoadGraph, mode: Mode, village: Any, site: Any, *, by: str = "minutes") -> Any:
    """The route (shapely LineString in ``roads.crs``, or None) from one point to another."""
    pts = gpd.GeoSeries([village, site], index=["village", "site"], crs=roads.crs)
    pair = pd.DataFrame({"village_id": ["village"], "site_id": ["site"]})
    return route_lines(roads, mode, pts.iloc[:1], pts.iloc[1:], pair, by=by).iloc[0]


def _line(graph: PointGraph, pred: np.ndarray, start: int, end: int) -> Any:
    """Village point, road nodes from ``start`` to ``end`` along ``pred``, site point."""
    from shapely import LineString

    nodes = [start]
    while nodes[-1] != end:
        nxt = int(pred[nodes[-1]])
        if nxt < 0:
            return None
        nodes.append(nxt)
    first = graph.n_nodes - len(graph.points)
    coords = np.concatenate(
        [graph.points[[start - first]], graph.xy[nodes], graph.points[[end - first]]]
    )
    keep = np.ones(len(coords), dtype=bool)
    keep[1:] = np.any(coords[1:] != coords[:-1], axis=1)
    coords = coords[keep]
    return LineString(coords if len(coords) > 1 else np.repeat(coords, 2, axis=0))


# ----------------------------------------------------------------------- per school level


def level_tables(
    roads: RoadGraph | None,
    villages: gpd.GeoSeries,
    sites: gpd.GeoSeries,
    travel: Travel,
    *,
    levels: tuple[str, ...] = ("primary", "junior"),
    bike_kmh: float = 12.0,
    long_leg_m: float = 1000.0,
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
) -> tuple[dict[str, pd.DataFrame], str, pd.DataFrame]:
    """Village -> site tables for each school level, with that level's mode and limits.

    Parameters
    ----------
    roads
        The road network, or None for the straight-line fallback.
    villages, sites
        Points in the planning CRS, indexed by id.
    travel
        The scenario's travel settings (mode and limits per level, speeds).
    bike_kmh, long_leg_m
        Cycling speed on ordinary roads (km/h) and the off-road leg (metres) above which a
        village is reported.
    cache_dir, use_cache
        The on-disk cache of tables (:mod:`planning.cache`).

    Returns
    -------
    tables
        One table per level (columns as :func:`network_costs`).
    method
        ``"network"``, or ``"straight_line x F"`` for the fallback: show it with the results.
    report
        :func:`connection_report` rows of every mode used, with a ``mode`` column.
    """
    if roads is None:
        tables = {lvl: _straight(villages, sites, travel, lvl, bike_kmh) for lvl in levels}
        empty = pd.DataFrame(columns=["village_id", "problem", "offroad_m", "message", "mode"])
        return tables, f"straight_line x {travel.detour_factor:g}", empty
    tables, reports = {}, {}
    for lvl in levels:
        lt = travel.of(lvl)
        mode = mode_for(lt.mode, travel, bike_kmh=bike_kmh)
        tables[lvl] = network_costs(
            roads,
            mode,
            villages,
            sites,
            walk_kmh=travel.walk_kmh,
            max_distance_m=lt.max_distance_m,
            max_minutes=lt.max_minutes,
            by=_by(lt.mode),
            cache_dir=cache_dir,
            use_cache=use_cache,
        )
        if mode.name not in reports:
            graph = point_graph(roads, mode, villages, sites)
            reports[mode.name] = connection_report(graph, long_leg_m=long_leg_m)
    report = pd.concat([r.assign(mode=m) for m, r in reports.items()], ignore_index=True)
    return tables, "network", report


def _by(mode: str) -> str:
    """Walking trips are limited in metres and take the shortest route; others the fastest."""
    return "metres" if mode == "walk" else "minutes"


def level_routes(
    roads: RoadGraph,
    travel: Travel,
    level: str,
    villages: gpd.GeoSeries,
    sites: gpd.GeoSeries,
    pairs: pd.DataFrame,
    *,
    bike_kmh: float = 12.0,
) -> gpd.GeoSeries:
    """Routes of ``pairs`` (``village_id``, ``site_id``) for one school level: the same mode
    and route choice as :func:`level_tables`, so each line matches its table row.

    LineStrings in ``roads.crs`` indexed as ``pairs`` (see :func:`route_lines`).
    """
    lt = travel.of(level)
    mode = mode_for(lt.mode, travel, bike_kmh=bike_kmh)
    return route_lines(roads, mode, villages, sites, pairs, by=_by(lt.mode))


def _straight(
    villages: gpd.GeoSeries, sites: gpd.GeoSeries, travel: Travel, level: str, bike_kmh: float
) -> pd.DataFrame:
    lt = travel.of(level)
    kmh = {"walk": travel.walk_kmh, "bike": bike_kmh}.get(lt.mode, travel.drive_default_kmh)
    return straight_line_costs(
        villages,
        sites,
        detour_factor=travel.detour_factor,
        kmh=kmh,
        max_distance_m=lt.max_distance_m,
        max_minutes=lt.max_minutes,
    )


# ------------------------------------------------------------------ any two point layers


@dataclass(frozen=True)
class ODResult:
    """An origin -> destination table and what was noticed while making it.

    Attributes
    ----------
    table
        Columns: origin id, destination id (named after the layers' id columns),
        ``distance_m``, ``minutes``; sorted by both ids.
    warnings
        Sentences about suspicious data (long off-road legs, unconnected origins, a layer that
        looks like GCJ-02/BD-09).
    """

    table: pd.DataFrame
    warnings: list[str]


def od_costs(
    roads: str | Path,
    origins: str | Path,
    destinations: str | Path,
    *,
    mode: str = "walk",
    max_minutes: float | None = None,
    max_distance_m: float | None = None,
    origin_id: str | None = None,
    destination_id: str | None = None,
    origin_coords: str = "wgs84",
    destination_coords: str = "wgs84",
    travel: Travel | None = None,
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
) -> ODResult:
    """Fastest-route table between two point layers on any road file (``schoolplan costs``).

    Parameters
    ----------
    roads
        OSM XML / PBF or a GIS line layer (see :func:`planning.network.load_roads`).
    origins, destinations
        Point layers (GeoPackage, GeoJSON, Shapefile, or CSV with ``lon``/``lat``).
    mode
        ``walk``, ``bike`` or ``drive`` (speeds: ``travel``, default the scenario defaults).
    max_minutes, max_distance_m
        Leave out slower or longer pairs (minutes, metres); None: every reachable pair.
    origin_id, destination_id
        Id columns (default: the first of ``village_id, school_id, site_id, id, ...``).
    origin_coords, destination_coords
        ``wgs84`` (or ``cgcs2000``), ``gcj02`` or ``bd09``: converted to WGS-84 on load.

    Raises
    ------
    InputError
        Unreadable layers, missing or duplicate ids, unusable road file.
    """
    from planning.coords import offset_warnings, read_points
    from planning.network import load_roads

    a, a_col = read_points(origins, origin_id, origin_coords)
    b, b_col = read_points(destinations, destination_id, destination_coords)
    crs = a.to_crs(4326).estimate_utm_crs()
    net = load_roads(roads, crs=crs, cache_dir=cache_dir, use_cache=use_cache)
    a_pts, b_pts = a.geometry.to_crs(crs), b.geometry.to_crs(crs)
    found = offset_warnings(net, (origins, a, origin_coords), (destinations, b, destination_coords))
    warnings = [str(p) for p in found]
    walk = (travel or Travel()).walk_kmh
    how = mode_for(mode, travel)
    table = network_costs(
        net,
        how,
        a_pts,
        b_pts,
        walk_kmh=walk,
        max_distance_m=max_distance_m,
        max_minutes=max_minutes,
        by="minutes",
        cache_dir=cache_dir,
        use_cache=use_cache,
    )
    report = connection_report(point_graph(net, how, a_pts, b_pts))
    warnings += [f"{origins}, row {r.village_id}: {r.message}" for r in report.itertuples()]
    names = (a_col, b_col) if a_col != b_col else (f"from_{a_col}", f"to_{b_col}")
    return ODResult(table.rename(columns=dict(zip(COLUMNS[:2], names, strict=True))), warnings)


# ------------------------------------------------------------------------- no road network


def straight_line_costs(
    villages: gpd.GeoSeries,
    sites: gpd.GeoSeries,
    *,
    detour_factor: float,
    kmh: float,
    max_distance_m: float | None = None,
    max_minutes: float | None = None,
) -> pd.DataFrame:
    """Fallback without roads: great-circle distance x ``detour_factor`` at ``kmh`` (km/h).

    Neighbours within the limits come from a scikit-learn ``BallTree`` (haversine metric) on
    the points' WGS-84 coordinates. Same columns as :func:`network_costs`; callers must label
    the result as straight-line (e.g. ``"straight_line x 1.4"``).
    """
    from sklearn.neighbors import BallTree

    vll, sll = _radians(villages), _radians(sites)
    reach = np.inf if max_distance_m is None else max_distance_m / detour_factor
    if max_minutes is not None:
        reach = min(reach, max_minutes * kmh * 1000.0 / 60.0 / detour_factor)
    if len(vll) == 0 or len(sll) == 0:
        return _finish(_empty_pairs(), villages.index, sites.index, None, None)
    tree = BallTree(sll, metric="haversine")
    radius = min(reach / _EARTH_RADIUS_M, np.pi)
    hits, dist = tree.query_radius(vll, r=radius, return_distance=True)
    v = np.repeat(np.arange(len(vll)), [len(h) for h in hits])
    metres = np.concatenate(dist) * _EARTH_RADIUS_M * detour_factor if len(v) else np.empty(0)
    table = pd.DataFrame(
        {
            "v": v,
            "s": np.concatenate(hits).astype(int) if len(v) else np.empty(0, int),
            "distance_m": metres,
            "minutes": metres / (kmh * 1000.0 / 60.0),
        }
    )
    return _finish(table, villages.index, sites.index, max_distance_m, max_minutes)


def _radians(points: gpd.GeoSeries) -> np.ndarray:
    ll = points.to_crs(4326) if points.crs is not None else points
    return np.radians(np.column_stack([ll.y.to_numpy(dtype=float), ll.x.to_numpy(dtype=float)]))
