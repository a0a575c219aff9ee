"""Chinese web-map coordinates: GCJ-02 (AMap, Tencent) and BD-09 (Baidu) to WGS-84 and back.

Coordinates copied from Chinese web maps are shifted by a published-by-leak, non-linear formula
(GCJ-02, hundreds of metres), and Baidu shifts GCJ-02 again (BD-09). OpenStreetMap, surveys and
CGCS2000 data are WGS-84 to within a metre. Every function here is vectorised over NumPy arrays
of longitudes and latitudes in degrees.

The forward formulas (WGS-84 -> GCJ-02 -> BD-09) are exact by definition; the inverses have no
closed form and are solved by fixed-point iteration to 1e-9 degrees (about 0.1 mm), far below
the 1-2 m error of the one-step inverse most libraries ship. Points outside China's bounding
box are returned unchanged, as the web maps do.

No package on the index does this vectorised, with an exact inverse, for every platform a
planner uses (checked: ``coordTransform`` has a one-step inverse; ``geocoordinates-rs`` has no
Windows wheel; the others are unmaintained), hence this small module, tested against published
reference points (``tests/test_coords.py``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

#: Coordinate systems a layer may declare (CGCS2000 is treated as WGS-84: they differ by cm).
SYSTEMS = ("wgs84", "cgcs2000", "gcj02", "bd09")

_A = 6378245.0  # Krasovsky 1940 semi-major axis, as in the GCJ-02 formula
_EE = 0.00669342162296594323  # its first eccentricity squared
_X_PI = np.pi * 3000.0 / 180.0
_TOL_DEG = 1e-9
_MAX_ITER = 30

Array = np.ndarray


def _arrays(lon: Any, lat: Any) -> tuple[Array, Array]:
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def out_of_china(lon: Any, lat: Any) -> Array:
    """True where a point lies outside the box in which web maps apply the GCJ-02 shift."""
    lon, lat = _arrays(lon, lat)
    return np.asarray(~((lon >= 72.004) & (lon <= 137.8347) & (lat >= 0.8293) & (lat <= 55.8271)))


def _delta(lon: Array, lat: Array) -> tuple[Array, Array]:
    """GCJ-02 shift (degrees of longitude, latitude) at a WGS-84 point."""
    x, y = lon - 105.0, lat - 35.0
    s = 20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    dlat += (s + 20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    dlon += (s + 20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    rad = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(rad) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = dlat * 180.0 / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlon = dlon * 180.0 / (_A / sqrt_magic * np.cos(rad) * np.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon: Any, lat: Any) -> tuple[Array, Array]:
    """WGS-84 -> GCJ-02 (degrees); points outside China unchanged."""
    lon, lat = _arrays(lon, lat)
    dlon, dlat = _delta(lon, lat)
    out = out_of_china(lon, lat)
    return np.where(out, lon, lon + dlon), np.where(out, lat, lat + dlat)


def gcj02_to_wgs84(lon: Any, lat: Any) -> tuple[Array, Array]:
    """GCJ-02 -> WGS-84 (degrees), solved to 1e-9 degrees; points outside China unchanged."""
    return _invert(wgs84_to_gcj02, *_arrays(lon, lat))


def gcj02_to_bd09(lon: Any, lat: Any) -> tuple[Array, Array]:
    """GCJ-02 -> BD-09 (degrees); points outside China unchanged."""
    lon, lat = _arrays(lon, lat)
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    out = out_of_china(lon, lat)
    return (
        np.where(out, lon, z * np.cos(theta) + 0.0065),
        np.where(out, lat, z * np.sin(theta) + 0.006),
    )


def bd09_to_gcj02(lon: Any, lat: Any) -> tuple[Array, Array]:
    """BD-09 -> GCJ-02 (degrees), solved to 1e-9 degrees."""
    return _invert(gcj02_to_bd09, *_arrays(lon, lat))


def wgs84_to_bd09(lon: Any, lat: Any) -> tuple[Array, Array]:
    """WGS-84 -> BD-09 (degrees)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: Any, lat: Any) -> tuple[Array, Array]:
    """BD-09 -> WGS-84 (degrees)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def _invert(forward: Any, lon: Array, lat: Array) -> tuple[Array, Array]:
    """Solve ``forward(x, y) = (lon, lat)`` by fixed-point iteration (the shift is smooth and
    small, so each step gains several digits)."""
    x, y = lon.copy(), lat.copy()
    for _ in range(_MAX_ITER):
        fx, fy = forward(x, y)
        ex, ey = fx - lon, fy - lat
        x, y = x - ex, y - ey
        if np.all(np.abs(ex) < _TOL_DEG) and np.all(np.abs(ey) < _TOL_DEG):
            break
    return x, y


def to_wgs84(lon: Any, lat: Any, system: str) -> tuple[Array, Array]:
    """Convert from ``system`` (one of :data:`SYSTEMS`) to WGS-84."""
    system = system.lower()
    if system in ("wgs84", "cgcs2000"):
        return _arrays(lon, lat)
    if system == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    if system == "bd09":
        return bd09_to_wgs84(lon, lat)
    raise ValueError(f"unknown coordinate system {system!r}; expected one of {', '.join(SYSTEMS)}")


def layer_to_wgs84(gdf: Any, system: str) -> Any:
    """A copy of a GeoDataFrame/GeoSeries whose geometries, read as ``system``, are now WGS-84.

    Works on any geometry type; the result is in EPSG:4326 (a projected input is first taken to
    its longitudes and latitudes, as the web maps' shift is defined on them).
    """
    import shapely

    if system.lower() in ("wgs84", "cgcs2000"):
        return gdf.to_crs(4326)
    ll = gdf.to_crs(4326)

    def shift(xy: Array) -> Array:
        x, y = to_wgs84(xy[:, 0], xy[:, 1], system)
        return np.column_stack([x, y])

    geoms = shapely.transform(ll.geometry.to_numpy(), shift)
    if hasattr(ll, "set_geometry"):
        return ll.set_geometry(geoms.tolist(), crs=4326)
    return type(ll)(geoms, index=ll.index, crs=4326)


# --------------------------------------------------------------------- reading point layers

#: Column names taken as a point layer's id, in this order, when none is named.
ID_COLUMNS = ("village_id", "school_id", "site_id", "id", "ID", "code", "编号", "代码")


def read_points(path: str | Path, id_col: str | None, coords: str) -> tuple[Any, str]:
    """Read a point layer whose coordinates are in ``coords`` (:data:`SYSTEMS`), as WGS-84.

    Returns the GeoDataFrame indexed by its id column (``id_col``, or the first found of
    :data:`ID_COLUMNS`) and that column's name.

    Raises
    ------
    InputError
        Listing every problem: unknown system, no or duplicate ids, non-points, no CRS.
    """
    from planning._errors import InputError, Problem
    from planning.layers import read_layer

    gdf = read_layer(path)
    file = str(path)
    col = id_col or next((c for c in ID_COLUMNS if c in gdf.columns), None)
    problems = []
    if coords.lower() not in SYSTEMS:
        problems.append(
            Problem(file, f"unknown coordinates {coords!r}; expected {', '.join(SYSTEMS)}")
        )
    if col is None or col not in gdf.columns:
        found = ", ".join(map(str, gdf.columns))
        problems.append(
            Problem(file, f"no id column {id_col or 'village_id/school_id/id'} (found: {found})")
        )
    elif gdf[col].duplicated().any():
        dup = gdf.loc[gdf[col].duplicated(), col].astype(str).unique()[:5]
        problems.append(Problem(file, f"duplicate ids: {', '.join(dup)}", field=col))
    bad = ~gdf.geom_type.isin(["Point"])
    problems += [
        Problem(file, f"expected a Point, found {t}", row=str(i + 1), field="geometry")
        for i, t in zip(np.flatnonzero(bad), gdf.geom_type[bad], strict=True)
    ]
    if gdf.crs is None:
        problems.append(Problem(file, "layer has no CRS; save it with one", field="crs"))
    if problems:
        raise InputError(problems)
    gdf = layer_to_wgs84(gdf, coords).set_index(col)
    return gdf, str(col)


def offset_warnings(roads: Any, *layers: tuple[Any, Any, str]) -> list[Any]:
    """Warnings (:class:`~planning._errors.Problem`) for point layers that look like
    undeclared GCJ-02 / BD-09, checked only inside China and for 5 points or more.

    ``layers`` are (name or path, GeoDataFrame in any CRS, declared system) triples.
    """
    from planning._errors import Problem

    out = []
    for path, gdf, coords in layers:
        if coords.lower() not in ("wgs84", "cgcs2000") or len(gdf) < 5:
            continue
        ll = gdf.geometry.to_crs(4326)
        if out_of_china(ll.x, ll.y).all():
            continue
        check = detect_offset(ll, roads, declared="wgs84")
        if check.suspicious:
            out.append(Problem(str(path), check.message(), field="geometry", severity="warning"))
    return out


# --------------------------------------------------------------------- detecting a shift


@dataclass(frozen=True)
class OffsetCheck:
    """How far a layer's points lie from the roads, read as each coordinate system.

    Attributes
    ----------
    median_m
        Median distance (metres) from the points to the nearest road, per system in which the
        points were read (``wgs84``, ``gcj02``, ``bd09``).
    closer_share
        Per system: the share of points that get closer to a road than when read as declared.
    likely
        The system that explains the points best (the declared one unless another brings them
        clearly closer to the roads).
    declared
        The system the layer declared.
    """

    median_m: dict[str, float]
    closer_share: dict[str, float]
    likely: str
    declared: str

    @property
    def suspicious(self) -> bool:
        """True when another system explains the points clearly better than the declared one."""
        return self.likely != self.declared

    def message(self) -> str:
        """One sentence for a warning, with the numbers."""
        d, k = self.declared, self.likely
        return (
            f"points lie a median {self.median_m[d]:,.0f} m from the roads as {d}, but "
            f"{self.median_m[k]:,.0f} m if read as {k} ({self.closer_share[k]:.0%} of them "
            f"closer): the layer is probably in {k} coordinates; declare `coords: {k}`"
        )


def detect_offset(
    points: Any,
    roads: Any,
    *,
    declared: str = "wgs84",
    min_gain_m: float = 100.0,
    min_share: float = 0.6,
) -> OffsetCheck:
    """Check whether a layer's points sit off the roads the way a GCJ-02/BD-09 shift explains.

    Parameters
    ----------
    points
        GeoSeries or GeoDataFrame of points with a CRS (as read, before any conversion).
    roads
        A :class:`planning.network.RoadGraph` covering the points.
    declared
        The system the layer declares (``wgs84`` when it declares none).
    min_gain_m, min_share
        Another system is "likely" only if it brings the median distance to the roads down by
        at least ``min_gain_m`` metres and to at most half, and brings at least ``min_share``
        of the points closer.
    """
    declared = "wgs84" if declared.lower() == "cgcs2000" else declared.lower()
    ll = points.to_crs(4326)
    geom = ll.geometry if hasattr(ll, "geometry") else ll
    lon, lat = geom.x.to_numpy(dtype=float), geom.y.to_numpy(dtype=float)
    tree = _segment_tree(roads)
    dist = {
        s: _road_distance(*to_wgs84(lon, lat, s), roads, tree) for s in ("wgs84", "gcj02", "bd09")
    }
    median = {s: float(np.median(d)) for s, d in dist.items()}
    share = {s: float(np.mean(d < dist[declared])) for s, d in dist.items()}
    best = min(median, key=median.__getitem__)
    gain = median[declared] - median[best]
    clear = gain >= min_gain_m and median[best] <= median[declared] / 2 and share[best] >= min_share
    return OffsetCheck(median, share, best if clear else declared, declared)


def _segment_tree(roads: Any) -> Any:
    import shapely

    a, b = roads.xy[roads.u], roads.xy[roads.v]
    return shapely.STRtree(shapely.linestrings(np.stack([a, b], axis=1)))


def _road_distance(lon: Array, lat: Array, roads: Any, tree: Any) -> Array:
    import shapely
    from pyproj import Transformer

    x, y = Transformer.from_crs(4326, roads.crs, always_xy=True).transform(lon, lat)
    pts = shapely.points(np.column_stack([x, y]))
    idx, dist = tree.query_nearest(pts, return_distance=True, all_matches=False)
    out = np.full(len(lon), np.nan)
    out[idx[0]] = dist
    return out
