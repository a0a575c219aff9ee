"""Candidate sites for new schools, each with the reason it exists.

Sources, in the ``kind`` column (``reason`` says more in a sentence):

``existing_school``
    The site of an existing school (rebuild or enlarge there); ``site_id`` is
    ``<school_id>_site`` so it never clashes with the school itself.
``township_seat`` / ``county_seat``
    The seat (所在地) of a township or of the county: where central schools concentrate.
``parcel``
    A site the planner reserved (a land parcel).
``kmeans_<level>``
    Generated: the centres of a weighted k-means (scikit-learn) of the villages, weighted by
    their children of that level, then moved to a buildable place: the nearest road node inside
    the boundary when a road network is given, else the nearest village inside the boundary.
    Sites closer than ``min_spacing_m`` to an accepted site are dropped (bigger clusters first);
    a cluster holding more children than one school takes (``site_capacity``) gets more sites.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree
from sklearn.cluster import KMeans

from planning._errors import InputError, Problem
from planning.demand import LEVELS

logger = logging.getLogger(__name__)

COLUMNS = ["site_id", "name", "township", "kind", "reason"]
_SUFFIX = re.compile(r"(街道办事处|街道|土家族乡|苗族乡|侗族乡|民族乡|镇|乡|县)$")


def name_stem(name: str) -> str:
    """A place name without its administrative suffix: ``凯本乡`` and ``凯本镇`` -> ``凯本``."""
    return _SUFFIX.sub("", str(name).strip())


def seat_sites(
    places: gpd.GeoDataFrame,
    townships: Sequence[str],
    *,
    county_seat: tuple[str, str] | None = None,
) -> gpd.GeoDataFrame:
    """Township seats found among named places by name (suffixes 乡/镇/街道 ignored).

    Parameters
    ----------
    places
        Named points (e.g. OSM ``place=town`` nodes) with a ``name`` column.
    townships
        Official township names.
    county_seat
        ``(place name, township)``: the county seat's place and the township (often a
        sub-district, 街道) it stands in.

    Returns
    -------
    Candidate sites (:data:`COLUMNS`), ``kind`` ``township_seat`` or ``county_seat``, ``site_id``
    ``seat_<township>``; townships without a matching place are logged and left out.
    """
    stems = places["name"].map(name_stem)
    seat_place, seat_town = county_seat if county_seat is not None else ("", None)
    rows = []
    for town in townships:
        is_county = town == seat_town
        want = name_stem(seat_place if is_county else town)
        hit = places[stems == want]
        if hit.empty:
            logger.info("no seat found for township %s", town)
            continue
        kind = "county_seat" if is_county else "township_seat"
        rows.append((f"seat_{town}", str(hit["name"].iloc[0]), town, kind, hit.geometry.iloc[0]))
    frame = pd.DataFrame(rows, columns=["site_id", "name", "township", "kind", "geometry"])
    frame["reason"] = np.where(
        frame["kind"] == "county_seat", "county seat (县城)", "township seat (乡镇所在地)"
    )
    return gpd.GeoDataFrame(frame[[*COLUMNS, "geometry"]], geometry="geometry", crs=places.crs)


def school_sites(schools: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Sites of existing schools as candidates for rebuilding or enlarging on the spot."""
    ids = schools["school_id"].astype(str)
    return gpd.GeoDataFrame(
        {
            "site_id": (ids + "_site").to_numpy(),
            "name": schools["name"].astype(str).to_numpy(),
            "township": schools.get("township", pd.Series("", index=schools.index)).to_numpy(),
            "kind": "existing_school",
            "reason": ("site of existing school " + ids).to_numpy(),
        },
        geometry=schools.geometry.to_numpy(),
        crs=schools.crs,
    )


def combine_sites(*layers: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    """One candidate layer from several (seats, parcels, school sites, generated), in one CRS.

    Planner-given parcels need ``site_id`` and a point; missing ``kind`` becomes ``parcel``.

    Raises
    ------
    InputError
        If a ``site_id`` appears twice.
    """
    given = [g for g in layers if g is not None and len(g)]
    if not given:
        return gpd.GeoDataFrame(columns=[*COLUMNS, "geometry"], geometry="geometry")
    crs = given[0].crs
    parts = []
    for g in given:
        g = g.to_crs(crs).copy()
        for col, default in (("name", ""), ("township", ""), ("kind", "parcel")):
            if col not in g.columns:
                g[col] = g["site_id"] if col == "name" else default
        if "reason" not in g.columns:
            g["reason"] = np.where(g["kind"] == "parcel", "parcel given by the planner", "")
        parts.append(g[[*COLUMNS, "geometry"]])
    out = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=crs)
    dup = out["site_id"][out["site_id"].duplicated()]
    if len(dup):
        raise InputError(
            [Problem("candidates", "duplicate site id", row=str(s), field="site_id") for s in dup]
        )
    return out


def generate_candidates(
    villages: gpd.GeoDataFrame,
    boundary: gpd.GeoDataFrame,
    *,
    n: int | Mapping[str, int],
    min_spacing_m: float = 1000.0,
    roads: np.ndarray | None = None,
    existing: gpd.GeoSeries | gpd.GeoDataFrame | None = None,
    site_capacity: Mapping[str, float] | None = None,
    reach_m: float | None = None,
    seed: int = 0,
) -> gpd.GeoDataFrame:
    """Generated candidate sites: weighted k-means of children per level, made buildable.

    Parameters
    ----------
    villages
        Points in a metric CRS (metres) with ``children_<level>``, ``name``, ``township``.
    boundary
        Planning-area polygon(s) in the same CRS; every site lies inside.
    n
        Clusters per level (one number for every level, or per level); at most the number of
        villages with children of that level.
    min_spacing_m
        No site closer than this to another accepted site or an ``existing`` one, metres.
    roads
        Road-node coordinates, shape (k, 2), same CRS (``RoadGraph.xy``); sites move to the
        nearest node inside the boundary. Without it they move to the nearest village.
    existing
        Sites that already exist (schools, seats, parcels): a cluster within ``min_spacing_m``
        of one counts it as one of its sites.
    site_capacity
        Students of a level one site can take (e.g. 24 classes x 45 = 1,080 primary); a cluster
        with more children gets ``ceil(children / capacity)`` sites. Default: one per cluster.
    reach_m
        How far from a cluster's centre its sites may lie, metres (e.g. the straight-line
        equivalent of the walking limit). Default: the cluster's radius + ``min_spacing_m``.
        The first site of a cluster may lie further when no buildable place is nearer.
    seed
        Seed of the k-means initialisation (results are reproducible).

    Returns
    -------
    GeoDataFrame with :data:`COLUMNS` (``site_id`` ``K<P|J><nn>``), in the villages' CRS.

    Raises
    ------
    InputError
        If the villages are not in a metric CRS, or no buildable place lies inside the boundary.
    """
    if villages.crs is None or not villages.crs.is_projected:
        raise InputError(
            [
                Problem(
                    "villages", f"expected a metric CRS (metres), found {villages.crs}", field="crs"
                )
            ]
        )
    counts = {lvl: n for lvl in LEVELS} if isinstance(n, int) else dict(n)
    anchors = _anchors(villages, boundary, roads)
    taken = _existing_xy(existing, villages.crs)
    rows: list[dict[str, object]] = []
    for lvl in LEVELS:
        cap = None if site_capacity is None else site_capacity.get(lvl)
        clusters = _clusters(villages, lvl, counts.get(lvl, 0), seed)
        for c in clusters.itertuples():
            centre = np.array([c.x, c.y])
            need = 1 if cap is None else int(np.ceil(c.children / cap))
            have = int((np.hypot(*(taken - centre).T) < min_spacing_m).sum())
            reach = c.radius + min_spacing_m if reach_m is None else reach_m
            picks = _pick(anchors.xy, taken, centre, need - have, min_spacing_m, reach)
            for k, a in enumerate(picks):
                taken = np.vstack([taken, anchors.xy[a]])
                rows.append(
                    _site_row(lvl, c, have + k + 1, a, anchors, len(clusters), min_spacing_m)
                )
    out = _generated_frame(rows, villages.crs)
    logger.info("generated %d candidate sites (at %s)", len(out), anchors.how)
    return out


class _Anchors(NamedTuple):
    """Buildable points (metres) with the nearest village's name and township."""

    xy: np.ndarray
    name: np.ndarray
    township: np.ndarray
    how: str


def _anchors(
    villages: gpd.GeoDataFrame, boundary: gpd.GeoDataFrame, roads: np.ndarray | None
) -> _Anchors:
    area = boundary.to_crs(villages.crs).union_all()
    vxy = np.column_stack([villages.geometry.x, villages.geometry.y])
    if roads is not None and len(roads):
        pts, how = np.asarray(roads, float), "road node"
    else:
        pts, how = vxy, "village"
    inside = gpd.GeoSeries(gpd.points_from_xy(pts[:, 0], pts[:, 1]), crs=villages.crs).within(area)
    pts = pts[inside.to_numpy()]
    if not len(pts):
        raise InputError([Problem("boundary", f"no {how} lies inside the boundary")])
    _, near = cKDTree(vxy).query(pts)
    names = villages["name"].astype(str).to_numpy()[near]
    return _Anchors(pts, names, villages["township"].astype(str).to_numpy()[near], how)


def _existing_xy(existing: gpd.GeoSeries | gpd.GeoDataFrame | None, crs: object) -> np.ndarray:
    if existing is None or len(existing) == 0:
        return np.empty((0, 2))
    geom = existing.to_crs(crs).geometry
    return np.column_stack([geom.x, geom.y])


def _clusters(villages: gpd.GeoDataFrame, level: str, n: int, seed: int) -> pd.DataFrame:
    """Weighted k-means of one level: centre, children and radius (metres) per cluster."""
    w = villages[f"children_{level}"].to_numpy(float)
    xy = np.column_stack([villages.geometry.x, villages.geometry.y])[w > 0]
    w = w[w > 0]
    k = min(n, len(np.unique(xy, axis=0)))
    if k <= 0:
        return pd.DataFrame(columns=["x", "y", "children", "radius", "rank"])
    km = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(xy, sample_weight=w)
    lab = km.labels_
    children = np.bincount(lab, weights=w, minlength=k)
    dist = np.hypot(*(xy - km.cluster_centers_[lab]).T)
    radius = pd.Series(dist).groupby(lab).max().reindex(range(k), fill_value=0.0)
    out = pd.DataFrame(
        {
            "x": km.cluster_centers_[:, 0],
            "y": km.cluster_centers_[:, 1],
            "children": children,
            "radius": radius.to_numpy(),
        }
    )
    out = out[out["children"] > 0].sort_values("children", ascending=False, kind="stable")
    return out.assign(rank=np.arange(1, len(out) + 1)).reset_index(drop=True)


def _pick(
    anchors: np.ndarray,
    taken: np.ndarray,
    centre: np.ndarray,
    need: int,
    spacing: float,
    reach: float,
) -> list[int]:
    """Up to ``need`` anchors nearest the centre, ``spacing`` from taken sites and each other.

    Only anchors within ``reach`` of the centre count, except the nearest anchor of all (a
    cluster far from any road still gets its site).
    """
    if need <= 0:
        return []
    dist = np.hypot(*(anchors - centre).T)
    order = np.argsort(dist, kind="stable")
    picks: list[int] = []
    placed = taken
    for i, a in enumerate(order):
        if len(picks) == need or (i > 0 and dist[a] > reach):
            break
        if len(placed) and np.hypot(*(placed - anchors[a]).T).min() < spacing:
            continue
        picks.append(int(a))
        placed = np.vstack([placed, anchors[a]])
    return picks


def _site_row(
    level: str, c: Any, number: int, a: int, anchors: _Anchors, n: int, spacing: float
) -> dict[str, object]:
    """One generated site; ``number`` counts the cluster's sites (existing ones first)."""
    moved = float(np.hypot(*(anchors.xy[a] - [c.x, c.y])))
    kids = f"{c.children:,.0f} {level} children"
    why = f"weighted k-means centre of {kids} (cluster {c.rank} of {n})"
    if number > 1:
        why = f"site {number} for the {kids} of k-means cluster {c.rank} of {n} (too many for one)"
    where = f"the {anchors.how} nearest the centre ({moved:,.0f} m) inside the boundary"
    where += f" and at least {spacing:,.0f} m from other sites"
    return {
        "level": level,
        "name": str(anchors.name[a]) if anchors.how == "village" else f"{anchors.name[a]}附近",
        "township": str(anchors.township[a]),
        "kind": f"kmeans_{level}",
        "reason": f"{why}; at {where}",
        "x": anchors.xy[a, 0],
        "y": anchors.xy[a, 1],
    }


def _generated_frame(rows: list[dict[str, object]], crs: object) -> gpd.GeoDataFrame:
    if not rows:
        return gpd.GeoDataFrame(columns=[*COLUMNS, "geometry"], geometry="geometry", crs=crs)
    df = pd.DataFrame(rows)
    tag = df["level"].str[0].str.upper()
    df["site_id"] = "K" + tag + (df.groupby("level").cumcount() + 1).map("{:02d}".format)
    return gpd.GeoDataFrame(df[COLUMNS], geometry=gpd.points_from_xy(df["x"], df["y"]), crs=crs)
