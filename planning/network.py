"""Road networks: read them from any file a planner has, and turn them into per-mode travel edges.

Sources, all giving the same :class:`RoadGraph`:

- OSM XML (``.osm``, ``.osm.bz2``, ``.osm.gz``) through osmnx (:func:`load_osm_xml`);
- OSM PBF (``.osm.pbf``, what planners download from extract services) through pyosmium
  (:func:`load_osm_pbf`): the OpenStreetMap project's own bindings to libosmium, maintained with
  libosmium itself and shipped as binary wheels for Windows, macOS and Linux;
- a planner's own road layer, GeoPackage / Shapefile / GeoJSON lines with a road-class column,
  Chinese classes (国道, 县道, 村道, 机耕道, 步道...) understood (:func:`load_road_layer`);
- a download of a named place or polygon through osmnx, when online (:func:`download_roads`).

A :class:`RoadGraph` keeps one row per road *segment* between consecutive way nodes, with its road
class, one-way flag and access restrictions; a :class:`Mode` (walk, bike, drive: speeds per road
class, excluded classes, optional slope penalty) turns it into directed travel edges with metres
and minutes (:func:`mode_edges`). No geometry library is needed past loading.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from planning import cache
from planning._errors import InputError, Problem
from planning.scenario import Travel

logger = logging.getLogger(__name__)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: Bits of :attr:`RoadGraph.blocked`: travel forbidden on foot, by bicycle, by motor vehicle.
NO_FOOT, NO_BIKE, NO_MOTOR = 1, 2, 4
#: OSM ``highway`` values that are not (yet, or any more) usable roads.
IGNORED_CLASSES = _words(
    "construction proposed planned abandoned disused razed platform raceway no bus_guideway "
    "elevator escalator rest_area services bus_stop emergency_bay"
)
_EARTH_RADIUS_M = 6_371_009.0  # the mean radius osmnx uses for edge lengths
_READER_VERSION = "1"  # bump when a loader's output changes, to ignore old cache entries
_XML_SUFFIXES = (".osm", ".xml", ".osm.bz2", ".osm.gz", ".xml.bz2", ".xml.gz")


@dataclass(frozen=True)
class RoadGraph:
    """A road network as plain arrays, in a metric CRS.

    Attributes
    ----------
    xy
        Node coordinates, shape (n, 2), metres in ``crs``.
    u, v
        End-node positions of each road segment (one row per segment, as drawn; for a one-way
        segment, travel by vehicle goes from ``u`` to ``v``).
    length_m
        Segment lengths, metres (great-circle for OSM, planar for a projected road layer).
    highway
        Road class of each segment, in OSM's ``highway`` vocabulary.
    oneway
        True where vehicles may only go from ``u`` to ``v``.
    blocked
        Bit flags of forbidden travel per segment: :data:`NO_FOOT`, :data:`NO_BIKE`,
        :data:`NO_MOTOR` (from OSM ``access``/``foot``/``bicycle``/``motor_vehicle`` tags).
    crs
        The coordinate reference system of ``xy``.
    source
        What the graph was read from, for labels and messages.
    digest
        SHA-256 of the source file's bytes and the reading options ("" when built in memory);
        keys the cost cache.
    elevation_m
        Node elevations, metres, or None (no slope penalty). NaN where unknown.
    """

    xy: np.ndarray
    u: np.ndarray
    v: np.ndarray
    length_m: np.ndarray
    highway: np.ndarray
    oneway: np.ndarray
    blocked: np.ndarray
    crs: Any
    source: str = ""
    digest: str = ""
    elevation_m: np.ndarray | None = None

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.xy)

    @property
    def n_segments(self) -> int:
        """Number of road segments."""
        return len(self.u)


# --------------------------------------------------------------------------------- loading


def load_roads(
    path: str | Path,
    *,
    crs: Any,
    class_column: str | None = None,
    layer: str | None = None,
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
) -> RoadGraph:
    """Read a road file of any supported kind, projected to ``crs``; cached on disk.

    Parameters
    ----------
    path
        ``.osm`` / ``.osm.bz2`` / ``.osm.gz`` (OSM XML), ``.osm.pbf`` (OSM PBF), or a GIS line
        layer (GeoPackage, Shapefile, GeoJSON...) with a road-class column.
    crs
        Metric CRS of the result (the planning layers' CRS).
    class_column, layer
        For a GIS line layer: the road-class column (default: found by name) and the layer
        name inside a GeoPackage.
    cache_dir, use_cache
        Where parsed graphs are kept (default :func:`planning.cache.default_dir`), and whether
        to use the cache at all. The key is the file's SHA-256 plus ``crs`` and the options.

    Raises
    ------
    InputError
        If the file is missing, unreadable, or holds no usable road.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError([Problem(str(path), "road file not found")])
    digest = cache.key(
        "roads", cache.file_digest(path), _crs_text(crs), class_column, layer, _READER_VERSION
    )
    where = cache.entry("roads", digest, ".npz", cache_dir=cache_dir)
    hit = cache.try_read_arrays(where) if use_cache else None
    if hit is not None:
        logger.info("road graph of %s read from the cache", path.name)
        return _from_arrays(*hit, crs=crs)
    roads = dataclasses.replace(_read_any(path, crs, class_column, layer), digest=digest)
    if use_cache:
        cache.store(cache.write_arrays, where, _to_arrays(roads), {"source": roads.source})
    return roads


def _read_any(path: Path, crs: Any, class_column: str | None, layer: str | None) -> RoadGraph:
    name = path.name.lower()
    if name.endswith(".pbf"):
        return load_osm_pbf(path, crs=crs)
    if name.endswith(_XML_SUFFIXES):
        return load_osm_xml(path, crs=crs)
    return load_road_layer(path, crs=crs, class_column=class_column, layer=layer)


def _crs_text(crs: Any) -> str:
    from pyproj import CRS

    return str(CRS.from_user_input(crs).to_wkt())


def _to_arrays(roads: RoadGraph) -> dict[str, np.ndarray]:
    arrays = {
        f.name: getattr(roads, f.name)
        for f in dataclasses.fields(roads)
        if isinstance(getattr(roads, f.name), np.ndarray)
    }
    arrays["digest"] = np.array(roads.digest)
    return arrays


def _from_arrays(arrays: dict[str, np.ndarray], meta: dict[str, Any], *, crs: Any) -> RoadGraph:
    digest = str(arrays.pop("digest"))
    return RoadGraph(**arrays, crs=crs, source=str(meta.get("source", "")), digest=digest)


@contextmanager
def _osmnx_way_tags() -> Iterator[Any]:
    """osmnx with the access tags this module reads kept on edges (restored afterwards)."""
    import osmnx as ox

    saved = list(ox.settings.useful_tags_way)
    extra = ["foot", "bicycle", "motor_vehicle", "motorcar", "vehicle", "motorroad"]
    ox.settings.useful_tags_way = saved + [t for t in extra if t not in saved]
    try:
        yield ox
    finally:
        ox.settings.useful_tags_way = saved


def load_osm_xml(path: str | Path, *, crs: Any) -> RoadGraph:
    """Read an OSM XML file (``.osm``, ``.osm.bz2``, ``.osm.gz``) with osmnx, unsimplified.

    Every way with a ``highway`` tag becomes road segments between its consecutive nodes, so
    every OSM node stays a place where villages can join the road; other ways (buildings,
    rivers) are ignored.

    Raises
    ------
    InputError
        If the file is not OSM XML or holds no usable road.
    """
    path = Path(path)
    try:
        with _osmnx_way_tags() as ox, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            graph = ox.graph_from_xml(path, simplify=False, retain_all=True)
    except Exception as exc:  # osmnx/xml raise many types for a bad file
        raise InputError([Problem(str(path), f"not a readable OSM XML road file: {exc}")]) from None
    return _from_osmnx(graph, crs=crs, source=str(path))


def _from_osmnx(graph: Any, *, crs: Any, source: str) -> RoadGraph:
    """Segments of an unsimplified osmnx graph (the reverse copies of two-way edges dropped)."""
    ids = np.fromiter(graph.nodes, dtype=np.int64, count=graph.number_of_nodes())
    lon = np.array([graph.nodes[n]["x"] for n in ids], dtype=float)
    lat = np.array([graph.nodes[n]["y"] for n in ids], dtype=float)
    rows = [(a, b, d) for a, b, d in graph.edges(data=True) if d.get("reversed") is not True]
    kept = [(a, b, _classify(d)) for a, b, d in rows]
    kept = [(a, b, c) for a, b, c in kept if c is not None]
    return _assemble(
        ids,
        lon,
        lat,
        np.array([a for a, _, _ in kept], dtype=np.int64),
        np.array([b for _, b, _ in kept], dtype=np.int64),
        [c for _, _, c in kept],  # type: ignore[misc]
        crs=crs,
        source=source,
    )


def load_osm_pbf(path: str | Path, *, crs: Any) -> RoadGraph:
    """Read an OSM PBF file (``.osm.pbf``) with pyosmium.

    Ways with a ``highway`` tag become segments between consecutive nodes. Nodes missing from
    the file (ways cut at the edge of an extract) split their way there.

    Raises
    ------
    InputError
        If the file is not OSM PBF or holds no usable road.
    """
    path = Path(path)
    try:
        nodes, segments = _read_pbf(path)
    except Exception as exc:  # libosmium raises RuntimeError and others for a bad file
        raise InputError([Problem(str(path), f"not a readable OSM PBF file: {exc}")]) from None
    ids = np.fromiter(nodes.keys(), dtype=np.int64, count=len(nodes))
    lonlat = np.array(list(nodes.values()), dtype=float).reshape(-1, 2)
    return _assemble(
        ids,
        lonlat[:, 0],
        lonlat[:, 1],
        np.array([s[0] for s in segments], dtype=np.int64),
        np.array([s[1] for s in segments], dtype=np.int64),
        [s[2] for s in segments],
        crs=crs,
        source=str(path),
    )


def _read_pbf(path: Path) -> tuple[dict[int, tuple[float, float]], list[tuple[int, int, Any]]]:
    import osmium

    processor = (
        osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
        .with_locations()
        .with_filter(osmium.filter.KeyFilter("highway"))
    )
    nodes: dict[int, tuple[float, float]] = {}
    segments: list[tuple[int, int, Any]] = []
    for obj in processor:
        if not isinstance(obj, osmium.osm.Way):
            continue
        cls = _classify({t.k: t.v for t in obj.tags})
        if cls is None:
            continue
        prev = None
        for ref in obj.nodes:
            if not ref.location.valid():
                prev = None  # the way leaves the extract here
                continue
            nodes[ref.ref] = (ref.location.lon, ref.location.lat)
            if prev is not None:
                segments.append((prev, ref.ref, cls))
            prev = ref.ref
    return nodes, segments


def _classify(tags: Mapping[str, Any]) -> tuple[str, int, int] | None:
    """(road class, one-way code, blocked bits) of a way, or None if it is not a usable road.

    One-way code: 0 both directions, 1 as drawn, -1 against the drawing direction (osmnx has
    already reversed such ways, so it only comes from PBF).
    """
    highway = tags.get("highway")
    if not isinstance(highway, str) or highway in IGNORED_CLASSES or tags.get("area") == "yes":
        return None
    return highway, _oneway(tags), _blocked(tags)


def _oneway(tags: Mapping[str, Any]) -> int:
    value = tags.get("oneway")
    if value is True or value in ("yes", "true", "1"):
        return 1
    if value in ("-1", "reverse"):
        return -1
    if value is False or value in ("no", "false", "0"):
        return 0
    return 1 if tags.get("junction") in ("roundabout", "circular") else 0


def _allowed(tags: Mapping[str, Any], *keys: str) -> bool | None:
    for k in keys:  # most specific key first
        value = tags.get(k)
        if value in ("yes", "designated", "permissive", "destination", "official"):
            return True
        if value in ("no", "private", "use_sidepath"):
            return False
    return None


def _blocked(tags: Mapping[str, Any]) -> int:
    closed = tags.get("access") in ("no", "private")
    motorroad = tags.get("motorroad") == "yes"
    bits = 0
    foot = _allowed(tags, "foot")
    if foot is False or (foot is None and (closed or motorroad)):
        bits |= NO_FOOT
    bike = _allowed(tags, "bicycle", "vehicle")
    if bike is False or (bike is None and (closed or motorroad)):
        bits |= NO_BIKE
    motor = _allowed(tags, "motorcar", "motor_vehicle", "vehicle")
    if motor is False or (motor is None and closed):
        bits |= NO_MOTOR
    return bits


def _assemble(
    node_ids: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    classes: list[tuple[str, int, int]],
    *,
    crs: Any,
    source: str,
) -> RoadGraph:
    """Project OSM nodes and index segments; lengths on the sphere like osmnx."""
    if len(a) == 0:
        raise InputError([Problem(source, "no roads (ways with a highway tag) in the file")])
    oneway = np.array([c[1] for c in classes], dtype=np.int8)
    a, b = np.where(oneway < 0, b, a), np.where(oneway < 0, a, b)
    keep = a != b
    order = np.argsort(node_ids)
    used = np.unique(np.concatenate([a[keep], b[keep]]))
    pos = order[np.searchsorted(node_ids, used, sorter=order)]
    ui, vi = np.searchsorted(used, a[keep]), np.searchsorted(used, b[keep])
    lon, lat = lon[pos], lat[pos]
    roads = RoadGraph(
        xy=_project(lon, lat, crs),
        u=ui.astype(np.int64),
        v=vi.astype(np.int64),
        length_m=_haversine_m(lon[ui], lat[ui], lon[vi], lat[vi]),
        highway=np.array([c[0] for c in classes], dtype=str)[keep],
        oneway=(oneway != 0)[keep],
        blocked=np.array([c[2] for c in classes], dtype=np.uint8)[keep],
        crs=crs,
        source=source,
    )
    logger.info("road graph: %d nodes, %d segments", roads.n_nodes, roads.n_segments)
    return roads


def _project(lon: np.ndarray, lat: np.ndarray, crs: Any) -> np.ndarray:
    from pyproj import Transformer

    x, y = Transformer.from_crs(4326, crs, always_xy=True).transform(lon, lat)
    return np.column_stack([np.asarray(x, dtype=float), np.asarray(y, dtype=float)])


def _haversine_m(lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray) -> Any:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * _EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def download_roads(
    place: str | None = None, *, polygon: Any = None, crs: Any
) -> RoadGraph:  # pragma: no cover - needs internet (tests marked ``network``)
    """Download every road of a named place (``"岑巩县, 贵州省"``) or a WGS-84 polygon via osmnx.

    Needs internet; the result is not cached (save it with osmnx if you want to keep it).
    """
    if (place is None) == (polygon is None):
        raise ValueError("give exactly one of place or polygon")
    with _osmnx_way_tags() as ox:
        opts = {"network_type": "all", "simplify": False, "retain_all": True}
        if place is not None:
            graph = ox.graph_from_place(place, **opts)
        else:
            graph = ox.graph_from_polygon(polygon, **opts)
    return _from_osmnx(graph, crs=crs, source=f"OpenStreetMap download: {place or 'polygon'}")


# ------------------------------------------------------------------------ planner's own layer

#: Road classes of Chinese road layers (公路等级 / 行政等级 and common field values) in OSM terms.
CHINESE_CLASSES = {
    "高速公路": "motorway",
    "高速": "motorway",
    "国道": "trunk",
    "省道": "primary",
    "县道": "secondary",
    "乡道": "tertiary",
    "村道": "unclassified",
    "专用公路": "service",
    "城市快速路": "trunk",
    "主干路": "primary",
    "次干路": "secondary",
    "支路": "residential",
    "机耕道": "track",
    "机耕路": "track",
    "步道": "path",
    "小路": "path",
    "山路": "path",
    "人行道": "footway",
    "台阶": "steps",
}
_CLASS_COLUMNS = ("highway", "road_class", "class", "fclass", "type", "道路等级", "等级", "类型")
_ONEWAY_COLUMNS = ("oneway", "one_way", "单行")


def load_road_layer(
    path: str | Path,
    *,
    crs: Any,
    class_column: str | None = None,
    oneway_column: str | None = None,
    layer: str | None = None,
    tolerance_m: float = 0.5,
) -> RoadGraph:
    """Read a planner's own road layer: lines with a road-class column.

    Line ends and vertices closer than ``tolerance_m`` (metres) become one node; lines that
    merely cross (bridges, underpasses) stay unconnected, as drawn. Classes may be OSM names
    (``primary``, ``track``...) or Chinese ones (:data:`CHINESE_CLASSES`); others count as
    ``unclassified`` (a warning says how many).

    Raises
    ------
    InputError
        Listing every problem: unreadable file, no CRS, no class column, non-line rows.
    """
    import geopandas as gpd

    path = Path(path)
    try:
        gdf = gpd.read_file(path, layer=layer)
    except Exception as exc:  # pyogrio raises several types for unreadable files
        raise InputError([Problem(str(path), f"cannot read as a GIS layer: {exc}")]) from None
    col = _check_road_layer(gdf, str(path), class_column)
    gdf = gdf.to_crs(crs).explode(ignore_index=True)
    one = oneway_column or next((c for c in _ONEWAY_COLUMNS if c in gdf.columns), None)
    return _layer_graph(gdf, col, one, tolerance_m, crs=crs, source=str(path))


def _check_road_layer(gdf: Any, file: str, class_column: str | None) -> str:
    problems = []
    if gdf.crs is None:
        problems.append(Problem(file, "road layer has no CRS; save it with one", field="crs"))
    col = class_column or next((c for c in _CLASS_COLUMNS if c in gdf.columns), None)
    if col is None or col not in gdf.columns:
        found = ", ".join(map(str, gdf.columns))
        want = class_column or " or ".join(_CLASS_COLUMNS[:4])
        problems.append(Problem(file, f"no road-class column {want} (found: {found})"))
    bad = ~gdf.geom_type.isin(["LineString", "MultiLineString"])
    problems += [
        Problem(file, f"expected a line, found {t}", row=str(i + 1), field="geometry")
        for i, t in zip(np.flatnonzero(bad), gdf.geom_type[bad], strict=True)
    ]
    if problems:
        raise InputError(problems)
    return str(col)


def _layer_graph(
    gdf: Any, col: str, oneway_col: str | None, tol: float, *, crs: Any, source: str
) -> RoadGraph:
    import shapely
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    coords, line = shapely.get_coordinates(gdf.geometry.to_numpy(), return_index=True)
    pairs = cKDTree(coords).query_pairs(tol, output_type="ndarray")
    n = len(coords)
    link = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, label = connected_components(link, directed=False)
    same = line[1:] == line[:-1]
    a, b = label[:-1][same], label[1:][same]
    seg_line = line[:-1][same]
    classes, unknown = _layer_classes(gdf[col])
    if unknown:
        logger.warning("%s: %d lines of unknown class counted as unclassified", source, unknown)
    oneway = (
        gdf[oneway_col].astype(str).str.lower().isin(["1", "yes", "true", "t", "y", "是"])
        if oneway_col
        else pd.Series(False, index=gdf.index)
    ).to_numpy()
    _, first = np.unique(label, return_index=True)
    xy = coords[first]
    keep = a != b
    a, b, seg_line = a[keep], b[keep], seg_line[keep]
    return RoadGraph(
        xy=xy,
        u=a.astype(np.int64),
        v=b.astype(np.int64),
        length_m=np.hypot(*(xy[b] - xy[a]).T),
        highway=classes[seg_line],
        oneway=oneway[seg_line],
        blocked=np.zeros(len(a), dtype=np.uint8),
        crs=crs,
        source=source,
    )


def _layer_classes(values: pd.Series) -> tuple[np.ndarray, int]:
    text = values.astype(str).str.strip()
    mapped = text.map(lambda s: CHINESE_CLASSES.get(s, s.lower()))
    known = mapped.isin(set(CHINESE_CLASSES.values()) | _OSM_CLASSES)
    return mapped.where(known, "unclassified").to_numpy(dtype=str), int((~known).sum())


_OSM_CLASSES = _words(
    "motorway trunk primary secondary tertiary unclassified residential service track path "
    "footway cycleway bridleway steps pedestrian living_street road motorway_link trunk_link "
    "primary_link secondary_link tertiary_link"
)


# --------------------------------------------------------------------------------- modes


@dataclass(frozen=True)
class Mode:
    """How one kind of trip uses the roads.

    Attributes
    ----------
    name
        ``walk``, ``bike`` or ``drive``.
    kmh
        Speed per road class, km/h; other usable classes use ``default_kmh``.
    default_kmh
        Speed on classes not listed in ``kmh``, km/h.
    excluded
        Road classes this mode cannot use.
    blocked_bit
        The :attr:`RoadGraph.blocked` bit that closes a segment to this mode.
    oneway
        Whether one-way streets bind this mode.
    slope
        Slope penalty when the graph has elevations: ``"tobler"`` (walking: Tobler's hiking
        function), ``"bike"`` (uphill slows, downhill speeds up a little) or ``"none"``.
    """

    name: str
    kmh: Mapping[str, float] = field(default_factory=dict)
    default_kmh: float = 4.0
    excluded: frozenset[str] = frozenset()
    blocked_bit: int = NO_FOOT
    oneway: bool = False
    slope: str = "none"

    def speeds(self, highway: np.ndarray) -> np.ndarray:
        """Speed of each road class in ``highway``, km/h."""
        table = pd.Series(dict(self.kmh), dtype=float)
        return pd.Series(highway).map(table).fillna(self.default_kmh).to_numpy(dtype=float)

    def settings(self) -> dict[str, Any]:
        """Everything that determines travel costs, as plain JSON (for cache keys and labels)."""
        d = dataclasses.asdict(self)
        d["kmh"] = dict(sorted(self.kmh.items()))
        d["excluded"] = sorted(self.excluded)
        return d


#: Walking speed on these classes, as a share of the flat-road speed (mountain paths, steps).
WALK_CLASS_FACTOR = {"path": 0.75, "bridleway": 0.75, "track": 0.9, "steps": 0.5}
#: Cycling speeds per class, km/h (a child on a bicycle; unlisted classes 12 km/h).
BIKE_KMH = {
    "cycleway": 12.0,
    "track": 8.0,
    "path": 6.0,
    "bridleway": 6.0,
    "footway": 6.0,
    "pedestrian": 6.0,
}


def walk_mode(
    kmh: float = 4.0,
    *,
    class_factor: Mapping[str, float] | None = None,
    excluded: tuple[str, ...] = ("motorway", "motorway_link"),
) -> Mode:
    """Walking: every way but motorways, both directions, ``kmh`` (km/h) on ordinary roads.

    ``class_factor`` (default :data:`WALK_CLASS_FACTOR`) slows paths, tracks and steps.
    """
    factor = WALK_CLASS_FACTOR if class_factor is None else class_factor
    return Mode(
        name="walk",
        kmh={c: kmh * f for c, f in factor.items()},
        default_kmh=kmh,
        excluded=frozenset(excluded),
        blocked_bit=NO_FOOT,
        oneway=False,
        slope="tobler",
    )


def bike_mode(
    kmh: float = 12.0,
    *,
    by_class: Mapping[str, float] | None = None,
    excluded: tuple[str, ...] = ("motorway", "motorway_link", "steps"),
    oneway: bool = False,
) -> Mode:
    """Cycling: ``kmh`` (km/h) on roads, slower on tracks and paths (:data:`BIKE_KMH`).

    One-way streets are ignored by default (children push their bicycle on the footway).
    """
    return Mode(
        name="bike",
        kmh=dict(BIKE_KMH if by_class is None else by_class),
        default_kmh=kmh,
        excluded=frozenset(excluded),
        blocked_bit=NO_BIKE,
        oneway=oneway,
        slope="bike",
    )


def drive_mode(travel: Travel | None = None) -> Mode:
    """School bus or car: the scenario's speeds per class, one-way streets respected."""
    travel = travel or Travel()
    return Mode(
        name="drive",
        kmh=dict(travel.drive_kmh),
        default_kmh=travel.drive_default_kmh,
        excluded=frozenset(travel.walk_only),
        blocked_bit=NO_MOTOR,
        oneway=True,
        slope="none",
    )


def mode_for(name: str, travel: Travel | None = None, *, bike_kmh: float = 12.0) -> Mode:
    """The :class:`Mode` called ``name`` (``walk``, ``bike``, ``drive``) with a scenario's speeds.

    ``bike_kmh`` (km/h) is the cycling speed on ordinary roads until scenarios carry one.
    """
    travel = travel or Travel()
    if name == "walk":
        return walk_mode(travel.walk_kmh)
    if name == "bike":
        return bike_mode(bike_kmh)
    if name == "drive":
        return drive_mode(travel)
    raise ValueError(f"unknown mode {name!r}; expected walk, bike or drive")


@dataclass(frozen=True)
class ModeEdges:
    """Directed travel edges of one mode over a :class:`RoadGraph`'s nodes.

    Attributes
    ----------
    u, v
        Tail and head node positions.
    metres, minutes
        Length (metres) and travel time (minutes) of each edge.
    segment
        The road segment each edge runs along (row of the :class:`RoadGraph`).
    """

    mode: Mode
    u: np.ndarray
    v: np.ndarray
    metres: np.ndarray
    minutes: np.ndarray
    segment: np.ndarray


def mode_edges(roads: RoadGraph, mode: Mode) -> ModeEdges:
    """The directed edges ``mode`` may travel, with metres and minutes.

    A segment is usable unless its class is in ``mode.excluded`` or its access tags block the
    mode; it is travelled from ``v`` to ``u`` too unless it is one-way and the mode respects
    one-way streets. With elevations, the slope penalty scales each direction's speed.
    """
    seg = np.flatnonzero(
        ~np.isin(roads.highway, list(mode.excluded)) & ((roads.blocked & mode.blocked_bit) == 0)
    )
    back = seg[~roads.oneway[seg]] if mode.oneway else seg
    u = np.concatenate([roads.u[seg], roads.v[back]])
    v = np.concatenate([roads.v[seg], roads.u[back]])
    segment = np.concatenate([seg, back])
    metres = roads.length_m[segment]
    kmh = mode.speeds(roads.highway[segment]) * _slope_factor(roads, u, v, metres, mode.slope)
    return ModeEdges(
        mode=mode,
        u=u,
        v=v,
        metres=metres,
        minutes=metres / (kmh * 1000.0 / 60.0),
        segment=segment,
    )


# ---------------------------------------------------------------------------------- slopes


def slope_factor(grade: np.ndarray, kind: str) -> np.ndarray:
    """Speed on a slope as a share of the speed on the flat.

    Parameters
    ----------
    grade
        Rise over run (0.1 = 10 % uphill; negative downhill).
    kind
        ``"tobler"``: walking, Tobler's hiking function ``6 exp(-3.5 |g + 0.05|)`` relative to
        its value on the flat (fastest at 5 % downhill; 0.61 at 10 % uphill);
        ``"bike"``: ``1 / (1 + 12 g)`` uphill, up to 1.3 downhill; ``"none"``: 1.
    """
    g = np.clip(np.nan_to_num(np.asarray(grade, dtype=float)), -1.0, 1.0)
    if kind == "tobler":
        return np.asarray(np.exp(-3.5 * np.abs(g + 0.05)) / math.exp(-3.5 * 0.05))
    if kind == "bike":
        return np.where(g >= 0, 1.0 / (1.0 + 12.0 * g), np.minimum(1.3, 1.0 - 3.0 * g))
    if kind == "none":
        return np.ones_like(g)
    raise ValueError(f"unknown slope kind {kind!r}; expected tobler, bike or none")


def _slope_factor(
    roads: RoadGraph, u: np.ndarray, v: np.ndarray, metres: np.ndarray, kind: str
) -> np.ndarray:
    if roads.elevation_m is None or kind == "none":
        return np.ones(len(u))
    rise = roads.elevation_m[v] - roads.elevation_m[u]
    return slope_factor(rise / np.maximum(metres, 1.0), kind)


def with_elevation(roads: RoadGraph, elevation_m: np.ndarray) -> RoadGraph:
    """``roads`` with node elevations (metres; NaN where unknown), enabling slope penalties."""
    z = np.asarray(elevation_m, dtype=float)
    if z.shape != (roads.n_nodes,):
        raise ValueError(f"expected {roads.n_nodes} node elevations, got shape {z.shape}")
    return dataclasses.replace(roads, elevation_m=z, digest=cache.key(roads.digest, z))


def sample_dem(dem: str | Path, xy: np.ndarray, crs: Any) -> np.ndarray:
    """Elevation (metres) of a DEM raster (e.g. GeoTIFF) at points ``xy`` given in ``crs``.

    Points off the raster or on nodata get NaN.
    """
    import rasterio
    from pyproj import Transformer

    try:
        src = rasterio.open(dem)
    except rasterio.errors.RasterioIOError as exc:
        raise InputError([Problem(str(dem), f"cannot read the DEM raster: {exc}")]) from None
    with src:
        x, y = Transformer.from_crs(crs, src.crs, always_xy=True).transform(xy[:, 0], xy[:, 1])
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        b = src.bounds
        inside = (x >= b.left) & (x <= b.right) & (y >= b.bottom) & (y <= b.top)
        z = np.full(len(x), np.nan)
        if inside.any():
            got = np.ma.stack(list(src.sample(zip(x[inside], y[inside], strict=True), masked=True)))
            z[inside] = np.ma.filled(got[:, 0].astype(float), np.nan)
    return z


def add_dem(roads: RoadGraph, dem: str | Path) -> RoadGraph:
    """``roads`` with node elevations sampled from the DEM raster ``dem``."""
    return with_elevation(roads, sample_dem(dem, roads.xy, roads.crs))
