"""Travel costs: sparse (village, site) tables of metres and minutes, cut off at a limit.

On a road network, each site runs one bounded Dijkstra (scipy.sparse.csgraph, compiled code)
on the reversed graph, so the table holds village -> site trips. The quantity that is not the
Dijkstra weight (metres when minimising minutes) is summed along the same shortest-path tree by
pointer jumping, so both columns describe one and the same route. Villages and sites reach the
network at their nearest usable node; that off-road leg is walked in a straight line and counted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from planning.network import ModeGraph, RoadGraph

logger = logging.getLogger(__name__)

COLUMNS = ["village_id", "site_id", "distance_m", "minutes"]
_CHUNK_CELLS = 20_000_000  # sources x nodes held in memory at once


@dataclass(frozen=True)
class Snap:
    """Where points join the network: node position and straight off-road leg (metres)."""

    node: np.ndarray
    offroad_m: np.ndarray


def snap(points: gpd.GeoSeries, roads: RoadGraph, usable: np.ndarray) -> Snap:
    """Snap points to their nearest usable network node (metric CRS)."""
    candidates = np.flatnonzero(usable)
    tree = cKDTree(roads.xy[candidates])
    xy = np.column_stack([points.x.to_numpy(), points.y.to_numpy()])
    dist, pos = tree.query(xy)
    return Snap(node=candidates[pos], offroad_m=dist)


def network_costs(
    roads: RoadGraph,
    graph: ModeGraph,
    villages: gpd.GeoSeries,
    sites: gpd.GeoSeries,
    *,
    walk_kmh: float,
    max_distance_m: float,
    max_minutes: float | None = None,
    by: str = "minutes",
) -> pd.DataFrame:
    """Sparse village -> site travel table on a road network.

    Parameters
    ----------
    villages, sites
        Points in the network's CRS, indexed by their ids.
    walk_kmh
        Speed of the off-road legs, km/h.
    max_distance_m, max_minutes
        Pairs beyond either limit (off-road legs included) are left out.
    by
        ``"minutes"`` (fastest route) or ``"metres"`` (shortest route).

    Returns
    -------
    DataFrame with columns ``village_id, site_id, distance_m, minutes``.
    """
    v_snap = snap(villages, roads, graph.usable)
    s_snap = snap(sites, roads, graph.usable)
    weight, other = (
        (graph.minutes, graph.metres) if by == "minutes" else (graph.metres, graph.minutes)
    )
    limit = _limit(graph, by, max_distance_m, max_minutes)
    walk_m_per_min = walk_kmh * 1000.0 / 60.0
    src_nodes, src_of_site = np.unique(s_snap.node, return_inverse=True)
    frames = []
    for start in range(0, len(src_nodes), max(1, _CHUNK_CELLS // roads.n_nodes)):
        chunk = src_nodes[start : start + max(1, _CHUNK_CELLS // roads.n_nodes)]
        w, o = _tree_costs(weight, other, chunk, limit)
        w, o = w[:, v_snap.node], o[:, v_snap.node]  # (sources in chunk, villages)
        rows, cols = np.nonzero(np.isfinite(w))
        first = np.searchsorted(src_nodes, chunk[0])
        for site_pos in np.flatnonzero((src_of_site >= first) & (src_of_site < first + len(chunk))):
            sel = rows == src_of_site[site_pos] - first
            frames.append(
                _pairs(
                    int(site_pos),
                    cols[sel],
                    w[rows[sel], cols[sel]],
                    o[rows[sel], cols[sel]],
                    by,
                    v_snap,
                    s_snap,
                    walk_m_per_min,
                )
            )
    table = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=["v", "s", "distance_m", "minutes"])
    )
    return _finish(table, villages, sites, max_distance_m, max_minutes)


def _limit(graph: ModeGraph, by: str, max_m: float, max_min: float | None) -> float:
    if by == "metres":
        return max_m
    if max_min is not None:
        return max_min
    slowest = np.min(graph.metres.data / graph.minutes.data)  # metres per minute
    return max_m / slowest


def _tree_costs(
    weight: object, other: object, sources: np.ndarray, limit: float
) -> tuple[np.ndarray, np.ndarray]:
    """Bounded Dijkstra from ``sources`` on the reversed graph, plus ``other`` along its tree."""
    rev_w = weight.T.tocsr()  # type: ignore[attr-defined]
    dist, pred = dijkstra(
        rev_w, directed=True, indices=sources, limit=limit, return_predecessors=True
    )
    return dist, _sum_along_tree(other, pred)


def _sum_along_tree(other: object, pred: np.ndarray) -> np.ndarray:
    """Sum edge values ``other[v, pred[v]]`` from every node to its tree's root.

    ``pred`` comes from the reversed graph, so the original edge used from v is (v, pred[v]).
    Pointer jumping: log2(depth) vectorised passes instead of a walk per node.
    """
    csr = other.tocsr()  # type: ignore[attr-defined]
    csr.sort_indices()
    n = csr.shape[0]
    keys = np.repeat(np.arange(n, dtype=np.int64), np.diff(csr.indptr)) * n + csr.indices
    has = pred >= 0
    nodes = np.broadcast_to(np.arange(n, dtype=np.int64), pred.shape)
    acc = np.zeros(pred.shape)
    acc[has] = csr.data[np.searchsorted(keys, nodes[has] * n + pred[has])]
    anc = np.where(has, pred, -1).astype(np.int64)
    rows = np.arange(pred.shape[0])[:, None]
    while (anc >= 0).any():
        step = anc >= 0
        safe = np.where(step, anc, 0)
        acc = np.where(step, acc + acc[rows, safe], acc)
        anc = np.where(step, anc[rows, safe], -1)
    return acc


def _pairs(
    site_pos: int,
    cols: np.ndarray,
    w: np.ndarray,
    o: np.ndarray,
    by: str,
    v_snap: Snap,
    s_snap: Snap,
    walk_m_per_min: float,
) -> pd.DataFrame:
    metres, minutes = (o, w) if by == "minutes" else (w, o)
    off = v_snap.offroad_m[cols] + s_snap.offroad_m[site_pos]
    return pd.DataFrame(
        {
            "v": cols,
            "s": site_pos,
            "distance_m": metres + off,
            "minutes": minutes + off / walk_m_per_min,
        }
    )


def _finish(
    table: pd.DataFrame,
    villages: gpd.GeoSeries,
    sites: gpd.GeoSeries,
    max_m: float,
    max_min: float | None,
) -> pd.DataFrame:
    keep = table["distance_m"] <= max_m
    if max_min is not None:
        keep &= table["minutes"] <= max_min
    table = table[keep]
    out = pd.DataFrame(
        {
            "village_id": villages.index.to_numpy()[table["v"].to_numpy(dtype=int)],
            "site_id": sites.index.to_numpy()[table["s"].to_numpy(dtype=int)],
            "distance_m": table["distance_m"].to_numpy(dtype=float),
            "minutes": table["minutes"].to_numpy(dtype=float),
        }
    )
    return out.sort_values(["village_id", "site_id"], ignore_index=True)


def straight_line_costs(
    villages: gpd.GeoSeries,
    sites: gpd.GeoSeries,
    *,
    detour_factor: float,
    kmh: float,
    max_distance_m: float,
    max_minutes: float | None = None,
) -> pd.DataFrame:
    """Fallback without roads: straight-line distance x ``detour_factor`` at ``kmh``.

    Same columns as :func:`network_costs`; callers label results as straight-line.
    """
    vxy = np.column_stack([villages.x.to_numpy(), villages.y.to_numpy()])
    sxy = np.column_stack([sites.x.to_numpy(), sites.y.to_numpy()])
    reach = max_distance_m / detour_factor
    if max_minutes is not None:
        reach = min(reach, max_minutes * kmh * 1000.0 / 60.0 / detour_factor)
    hits = cKDTree(sxy).query_ball_point(vxy, reach)
    v = np.repeat(np.arange(len(vxy)), [len(h) for h in hits])
    s = np.fromiter((j for h in hits for j in h), dtype=np.int64, count=len(v))
    metres = np.hypot(*(vxy[v] - sxy[s]).T) * detour_factor
    table = pd.DataFrame(
        {"v": v, "s": s, "distance_m": metres, "minutes": metres / (kmh * 1000.0 / 60.0)}
    )
    return _finish(table, villages, sites, max_distance_m, max_minutes)
