"""The synthetic sample county (示范县, "Sample County (synthetic)").

The tool ships one small, fully synthetic county so that every command, notebook and test can run
without real data. :func:`generate_sample_county` writes it deterministically for a given seed,
without network access. Its size follows a Guizhou mountain county (岑巩县, 2020 census: 168,441
residents of whom 74,366 urban, 1,474 km², 12 townships, about 250 natural villages): villages
strung along valleys, one river that only four bridges cross, an over-full county seat, and many
small rural schools and teaching points. Nothing in it describes a real place.

Run ``python planning/examples.py [out_dir]`` to regenerate ``data/sample_county``.
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple
from xml.sax.saxutils import quoteattr

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import dijkstra, minimum_spanning_tree
from scipy.spatial import cKDTree

SAMPLE_COUNTY_DIR: Path = Path(__file__).resolve().parent.parent / "data" / "sample_county"
"""Where the shipped sample county lives: ``<repo>/data/sample_county``."""

COUNTY_NAME = "示范县"
_LON0, _LAT0 = 108.85, 27.225  # centre of the synthetic county
_EARTH_RADIUS = 6_371_008.8
_AREA_M2 = 1_474e6
_POPULATION, _URBAN_POPULATION = 168_441, 74_366
_CHILDREN_PRIMARY = round(4 / 5 * 13_990 + 2 / 5 * 13_532)  # ages 6-11 from the 5-9, 10-14 bands
_CHILDREN_JUNIOR = round(3 / 5 * 13_532)  # ages 12-14
_N_RURAL_VILLAGES = 232
_N_VILLAGE_SCHOOLS = 40  # village primaries and teaching points, at least
_N_TEACHING_POINTS = 15
_STEP = 200.0  # m between road nodes
_MARGIN = 120.0  # m: roads keep this far from the river except on bridges
_WALK_PRIMARY = 4_500.0  # m: every village gets a primary-level school this close (5 km - margin)
_WALK_JUNIOR = 24_000.0  # m: and a junior-level school this close (25 km - margin)
_RIVER = "清水河"
_TOWNSHIPS: tuple[str, ...] = (
    "清阳镇",
    "青溪镇",
    "石门镇",
    "龙塘镇",
    "桃源乡",
    "白岩镇",
)  # the first: county seat
_TOWNSHIPS += ("坪山乡", "河口镇", "木城乡", "新场镇", "官田乡", "羊坡乡")
_FIRST = "高大小上下新老马龙岩石白黄杨木竹茶水坪青红桃梨金平长中田牛羊凉猫鸡三两干半瓦松桐枫杉"
_SECOND = "坪坝寨坡冲湾溪田山岭脚坳洞沟塘屯堡桥场垭岗井坑口头庄林河"
_COMMUNITIES = {1: ("西门", "文昌", "城北", "新城", "东门"), -1: ("河西", "城南", "滨江")}
_STREETS = {
    1: ("滨江北路", "人民路", "中山路", "文化路", "建设路"),
    -1: ("滨江南路", "南环路", "新华路"),
}
_PRIMARY_LEVELS = ("primary", "nine_year", "teaching_point")
_JUNIOR_LEVELS = ("junior", "nine_year")
_VILLAGE_COLUMNS: tuple[str, ...] = ("village_id", "name", "township", "population")
_VILLAGE_COLUMNS += ("children_primary", "children_junior")
_SCHOOL_COLUMNS: tuple[str, ...] = (
    "school_id",
    "name",
    "level",
    "township",
    "students_primary",
    "students_junior",
)
_SCHOOL_COLUMNS += ("classes_primary", "classes_junior", "classrooms", "teachers")
_SCHOOL_COLUMNS += ("teachers_qualified", "teachers_backbone", "teachers_pe_art", "floor_area_m2")
_SCHOOL_COLUMNS += ("sports_area_m2", "equipment_value_wan", "multimedia_rooms", "boarding_places")
_SCHOOL_COLUMNS += ("lon", "lat")
_RESOURCES = """
item                county      township    village     teaching_point
pupils_per_teacher  18-21       14-18       10-15       6-12
qualified_share     0.75-0.95   0.55-0.85   0.35-0.75   0.2-0.6
backbone_share      0.15-0.3    0.05-0.15   0-0.08      0-0.05
pe_art_share        0.09-0.15   0.06-0.12   0-0.1       0-0
floor_m2            3.2-4.8     4.5-7.5     5-9         4-8
sports_m2           2.5-5       6-11        6-14        4-10
sports_min_m2       0-0         1500-3000   300-800     100-400
equipment_wan       0.15-0.28   0.12-0.26   0.08-0.25   0.05-0.2
"""  # uniform ranges per kind of school; "per pupil" unless "share" (of teachers) or "min"
_CLASS_SIZE = {"primary": (58.0, 57.0, 52.0, 48.0), "junior": (57.0, 53.0)}  # county seat


# --------------------------------------------------------------------------- small helpers


def _curve(rng: np.random.Generator, p: np.ndarray, q: np.ndarray, wiggle: float) -> np.ndarray:
    """Points from ``p`` to ``q`` about ``_STEP`` apart, bent by smooth sideways noise."""
    d = np.asarray(q, dtype=float) - p
    length = float(np.hypot(*d))
    t = np.linspace(0.0, 1.0, max(int(length / _STEP), 1) + 1)
    k = np.arange(1, 26)
    offset = np.sin(np.pi * np.outer(t, k)) @ rng.normal(0.0, wiggle * length / k**1.4)
    return p + np.outer(t, d) + np.outer(offset, [-d[1], d[0]]) / max(length, 1e-9)


def _walk(rng: np.random.Generator, start: np.ndarray, target: np.ndarray) -> np.ndarray:
    """A meandering line from ``start`` to ``target``: a smooth random walk, pinned at the end,
    with bends of a few hundred metres on top."""
    d = target - start
    n = max(int(1.1 * np.hypot(*d) / _STEP), 2)
    turn = np.convolve(rng.normal(0.0, 0.12, n + 8), np.ones(9) / 9, mode="valid")[:n]
    h = np.arctan2(d[1], d[0]) + np.concatenate([[0.0], np.cumsum(turn)])
    unit = np.column_stack([np.cos(h), np.sin(h)])
    bends = np.convolve(rng.normal(0.0, 250.0, n + 5), np.ones(5) / 5, mode="valid")
    bends *= np.minimum(np.arange(n + 1) / 3, 1)  # leave the start straight
    pts = start + np.cumsum(np.vstack([[0.0, 0.0], _STEP * unit[1:]]), axis=0)
    pts += bends[:, None] * unit[:, ::-1] * [-1, 1]
    return pts + np.outer(np.linspace(0, 1, n + 1), target - pts[-1])


def _to_lonlat(xy: np.ndarray) -> np.ndarray:
    """Local metres (east, north) around the county centre to WGS-84 lon/lat."""
    xy = np.asarray(xy, dtype=float)
    lat = _LAT0 + np.degrees(xy[..., 1] / _EARTH_RADIUS)
    lon = _LON0 + np.degrees(xy[..., 0] / (_EARTH_RADIUS * np.cos(np.radians(_LAT0))))
    return np.stack([lon, lat], axis=-1)


def _apportion(total: int, weights: np.ndarray) -> np.ndarray:
    """Integers proportional to ``weights`` summing exactly to ``total`` (largest remainder)."""
    raw = total * np.asarray(weights, dtype=float) / np.sum(weights)
    out = np.floor(raw).astype(int)
    out[np.argsort(out - raw, kind="stable")[: total - out.sum()]] += 1
    return out


def _farthest(xy: np.ndarray, first: int, n: int) -> list[int]:
    """``n`` indices of well-spread points (farthest-point sampling from ``first``)."""
    chosen, dist = [first], np.hypot(*(xy - xy[first]).T)
    while len(chosen) < min(n, len(xy)):
        chosen.append(int(np.argmax(dist)))
        dist = np.minimum(dist, np.hypot(*(xy - xy[chosen[-1]]).T))
    return chosen


def _jitter(rng: np.random.Generator, xy: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Move points ``lo``-``hi`` metres in random directions."""
    a = rng.uniform(0, 2 * np.pi, len(xy))
    return xy + rng.uniform(lo, hi, len(xy))[:, None] * np.column_stack([np.cos(a), np.sin(a)])


class _River(NamedTuple):
    """The main river as a smooth curve ``y = f(x)`` crossing the county from west to east."""

    y0: float
    amp: np.ndarray
    wavelength: np.ndarray
    phase: np.ndarray

    def __call__(self, x: np.ndarray | float) -> np.ndarray:
        waves = self.amp * np.sin(
            2 * np.pi * np.asarray(x)[..., None] / self.wavelength + self.phase
        )
        return self.y0 + waves.sum(axis=-1)

    def side(self, xy: np.ndarray) -> np.ndarray:
        """+1 north of the river, -1 south of it."""
        xy = np.asarray(xy, dtype=float)
        return np.where(xy[..., 1] >= self(xy[..., 0]), 1, -1)

    def clamp(self, xy: np.ndarray, side: int, margin: float = _MARGIN) -> np.ndarray:
        """Push points within ``margin`` of the river (or across it) back to ``side``."""
        f = self(xy[:, 0])
        return np.column_stack(
            [xy[:, 0], np.where(side * (xy[:, 1] - f) < margin, f + side * margin, xy[:, 1])]
        )


class _Town(NamedTuple):
    """The street grid of a township seat: its node ids and its centre node."""

    ids: np.ndarray
    centre: int


class _Valley(NamedTuple):
    """A road villages line: node ids from its start (on a town or a road) outwards."""

    ids: np.ndarray
    main: bool


# --------------------------------------------------------------------------- the road network


class _Net:
    """Road nodes (local metres) and ways (node-index arrays with their OSM tags)."""

    def __init__(self) -> None:
        self.xy = np.empty((0, 2))
        self.ways: list[tuple[np.ndarray, dict[str, str]]] = []

    def nodes(self, pts: np.ndarray | list[list[float]]) -> np.ndarray:
        pts = np.atleast_2d(np.asarray(pts, dtype=float))
        self.xy = np.vstack([self.xy, pts])
        return np.arange(len(self.xy) - len(pts), len(self.xy))

    def way(self, ids: np.ndarray | list[int], **tags: str) -> None:
        if len(ids) >= 2:
            self.ways.append((np.asarray(ids, dtype=int), tags))

    def exit(self, ids: np.ndarray, centre: np.ndarray, target: np.ndarray) -> int:
        """The node of a town (``ids``) furthest out towards ``target``."""
        return int(ids[np.argmax((self.xy[ids] - centre) @ (target - centre))])

    def segments(self, bridges: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Start node, end node and way index of every way segment."""
        ways = [
            (k, ids) for k, (ids, tags) in enumerate(self.ways) if bridges or "bridge" not in tags
        ]
        a = np.concatenate([ids[:-1] for _, ids in ways])
        b = np.concatenate([ids[1:] for _, ids in ways])
        return a, b, np.repeat([k for k, _ in ways], [len(ids) - 1 for _, ids in ways])

    def junctions(self, ids: np.ndarray) -> np.ndarray:
        """Those of ``ids`` where three or more segments meet (they survive simplification)."""
        a, b, _ = self.segments()
        return ids[np.bincount(np.concatenate([a, b]), minlength=len(self.xy))[ids] >= 3]

    def graph(self) -> csr_matrix:
        """The walking network as a sparse matrix of segment lengths (metres)."""
        a, b, _ = self.segments()
        pairs = np.unique(np.sort(np.column_stack([a, b]), axis=1), axis=0)
        pairs = pairs[pairs[:, 0] != pairs[:, 1]]
        w = np.maximum(np.hypot(*(self.xy[pairs[:, 0]] - self.xy[pairs[:, 1]]).T), 0.01)
        return coo_matrix((w, tuple(pairs.T)), shape=(len(self.xy),) * 2).tocsr()

    def planarize(self) -> None:
        """Add a shared node wherever two ways cross (bridges excepted): at-grade junctions."""
        a, b, way = self.segments(bridges=False)
        first = np.concatenate([[0], np.flatnonzero(np.diff(way)) + 1])
        pos = np.arange(len(a)) - np.repeat(first, np.diff(np.append(first, len(a))))
        lines = shapely.linestrings(np.stack([self.xy[a], self.xy[b]], axis=1))
        i, j = shapely.STRtree(lines).query(lines, predicate="crosses")
        i, j = i[i < j], j[i < j]
        pts = shapely.get_coordinates(shapely.intersection(lines[i], lines[j]))
        new, seg = self.nodes(pts.reshape(-1, 2)), np.concatenate([i, j])
        d = self.xy[b[seg]] - self.xy[a[seg]]
        t = np.einsum("ij,ij->i", np.tile(pts, (2, 1)) - self.xy[a[seg]], d) / np.einsum(
            "ij,ij->i", d, d
        )
        key, node = pos[seg] + np.clip(t, 1e-6, 1 - 1e-6), np.tile(new, 2)
        for w in np.unique(way[seg]):
            ids, tags = self.ways[w]
            mine = way[seg] == w
            keys = np.concatenate([np.arange(len(ids), dtype=float), key[mine]])
            self.ways[w] = (
                np.concatenate([ids, node[mine]])[np.argsort(keys, kind="stable")],
                tags,
            )

    def osm_xml(self) -> str:
        """The network as OSM XML (node ids from 1, way ids from 10,000,001)."""
        lonlat = _to_lonlat(self.xy)
        used = np.unique(np.concatenate([ids for ids, _ in self.ways]))
        (x0, y0), (x1, y1) = lonlat[used].min(axis=0), lonlat[used].max(axis=0)
        lines = [
            '<?xml version="1.0" encoding="UTF-8"?>',
            '<osm version="0.6" generator="planning.examples">',
        ]
        lines.append(
            f'  <bounds minlat="{y0:.6f}" minlon="{x0:.6f}" maxlat="{y1:.6f}" maxlon="{x1:.6f}"/>'
        )
        lines += [
            f'  <node id="{i + 1}" lat="{y:.6f}" lon="{x:.6f}"/>'
            for i, (x, y) in zip(used, lonlat[used], strict=True)
        ]
        for k, (ids, tags) in enumerate(self.ways):
            lines.append(f'  <way id="{10_000_001 + k}">')
            lines += [f'    <nd ref="{i + 1}"/>' for i in ids]
            lines += [f"    <tag k={quoteattr(t)} v={quoteattr(tags[t])}/>" for t in sorted(tags)]
            lines.append("  </way>")
        return "\n".join([*lines, "</osm>", ""])


# --------------------------------------------------------------------------- the county


class _County:
    """Builds the whole county in local metres (x east, y north of ``_LON0``, ``_LAT0``)."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.net = _Net()
        self.boundary = self._boundary()
        self.inner = self.boundary.buffer(-300)
        self.centre = np.array([self.rng.uniform(-3000, 3000), self.rng.uniform(-2000, 2000)])
        self.river = self._river()
        seats = self._seats()
        self.seats = cKDTree(seats)
        county, trunk = self._county_town(seats[0])
        self.towns = [county, *map(self._small_town, seats[1:], _TOWNSHIPS[1:])]
        self._trunk(trunk)
        self._county_roads()
        roads = [ids for ids, tags in self.net.ways if "ref" in tags and "bridge" not in tags]
        valleys = self._valleys(roads + self._riverside())
        self._valley_loops(valleys)
        self.villages = self._villages(valleys)
        self.net.planarize()
        self._footpaths()
        self.net.planarize()
        self.schools = self._schools()
        self.candidates = self._candidates()
        self.net.planarize()

    # ------------------------------------------------------------- landscape

    def _boundary(self) -> shapely.Polygon:
        """A lobed, ragged outline of exactly ``_AREA_M2``."""
        theta, k = np.linspace(0.0, 2 * np.pi, 721)[:-1], np.arange(2, 81)
        amp = self.rng.normal(0.0, 0.3 / k**1.1)
        r = np.exp(np.cos(np.outer(theta, k) + self.rng.uniform(0, 2 * np.pi, k.size)) @ amp)
        poly = shapely.Polygon(
            np.column_stack([1.08 * r * np.cos(theta), 0.93 * r * np.sin(theta)])
        )
        return shapely.affinity.scale(poly, *[np.sqrt(_AREA_M2 / poly.area)] * 2, origin=(0, 0))

    def _river(self) -> _River:
        """A river winding west to east, passing 150 m south of the county-seat centre."""
        amp = np.array([2500.0, 1200.0, 500.0, 200.0]) * self.rng.uniform(0.6, 1.0, 4)
        wavelength = np.array([30e3, 14e3, 7e3, 3.5e3]) * self.rng.uniform(0.85, 1.15, 4)
        river = _River(0.0, amp, wavelength, self.rng.uniform(0, 2 * np.pi, 4))
        return river._replace(y0=self.centre[1] - 150.0 - float(river(self.centre[0])))

    def river_line(self) -> shapely.Geometry:
        """The river's course within the county (and 1 km beyond)."""
        minx, _, maxx, _ = self.boundary.bounds
        x = np.arange(minx - 3000, maxx + 3000, 100.0)
        return shapely.LineString(np.column_stack([x, self.river(x)])).intersection(
            self.boundary.buffer(1000)
        )

    def _seats(self) -> np.ndarray:
        """Township seats, well spread (best-candidate sampling), clear of river and border."""
        inner = self.boundary.buffer(-3500)
        minx, miny, maxx, maxy = inner.bounds
        pts = self.rng.uniform([minx, miny], [maxx, maxy], size=(6000, 2))
        gap = np.abs(pts[:, 1] - self.river(pts[:, 0]))
        pts = pts[shapely.contains_xy(inner, pts[:, 0], pts[:, 1]) & (gap > 1500)]
        seats = [self.centre]
        for start in range(0, 30 * (len(_TOWNSHIPS) - 1), 30):
            cand = pts[start : start + 30]
            seats.append(cand[np.argmax(cKDTree(seats).query(cand)[0])])
        return np.array(seats)

    # ------------------------------------------------------------- towns and county roads

    def _road(self, a: int, b: int, wiggle: float = 0.1) -> np.ndarray:
        """Node ids of a sinuous road from node ``a`` to node ``b``, kept on ``a``'s bank."""
        pts = _curve(self.rng, self.net.xy[a], self.net.xy[b], wiggle)[1:-1]
        pts = self.river.clamp(pts, int(self.river.side(self.net.xy[a])))
        return np.array([a, *self.net.nodes(pts), b], dtype=int)

    def _county_town(self, centre: np.ndarray) -> tuple[_Town, dict[int, np.ndarray]]:
        """The county seat: streets parallel to both banks, a second town bridge.

        Returns the town and, per bank, the node ids of the middle cross street (the trunk).
        """
        n, s, rng, net = 7, 300.0, self.rng, self.net
        cols = np.arange(-n, n + 1)
        x = centre[0] + cols * s + rng.normal(0, 25, cols.size)
        grids: dict[int, np.ndarray] = {}
        for side, rows in ((1, 4.6), (-1, 3.3)):
            depth = np.floor(rows * np.sqrt(1 - (cols / (n + 1)) ** 2) + 0.4).astype(int)
            jj, cc = np.meshgrid(np.arange(depth.max()), np.arange(cols.size))
            keep = jj < depth[:, None]
            y = self.river(x)[:, None] + side * (150 + jj * s + rng.uniform(-25, 25, jj.shape))
            grid = grids[side] = np.full(jj.shape, -1)
            grid[keep] = net.nodes(
                np.column_stack([x[cc[keep]] + rng.normal(0, 20, keep.sum()), y[keep]])
            )
            for j in range(grid.shape[1]):  # streets along the river
                net.way(grid[grid[:, j] >= 0, j], highway="residential", name=_STREETS[side][j])
            # cross streets, except the middle one: the trunk road runs there
            for c in np.delete(np.arange(cols.size), n):
                net.way(grid[c, grid[c] >= 0], highway="residential")
        b = n + int(rng.choice([-3, 3]))  # the second bridge, 900 m from the trunk's
        bridge = {"bridge": "yes", "layer": "1", "name": f"{_RIVER}二桥"}
        net.way([grids[-1][b, 0], grids[1][b, 0]], highway="secondary", **bridge)
        ids = np.concatenate([g[g >= 0] for g in grids.values()])
        return _Town(ids, int(grids[1][n, 0])), {side: g[n, g[n] >= 0] for side, g in grids.items()}

    def _small_town(self, centre: np.ndarray, name: str) -> _Town:
        """A township seat: a rotated, jittered 3 x 3 block of streets."""
        a = self.rng.uniform(0, np.pi / 2)
        rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        ij = np.stack(np.meshgrid([-1, 0, 1], [-1, 0, 1], indexing="ij"), -1).reshape(-1, 2)
        pts = centre + (ij * self.rng.uniform(220, 300) + self.rng.normal(0, 25, (9, 2))) @ rot.T
        pts[4] = centre
        ids = self.net.nodes(pts).reshape(3, 3)
        for k in range(3):
            self.net.way(
                ids[k], highway="residential", **({"name": f"{name[:-1]}街"} if k == 1 else {})
            )
            self.net.way(ids[:, k], highway="residential")
        return _Town(ids.ravel(), int(ids[1, 1]))

    def _trunk(self, cols: dict[int, np.ndarray]) -> None:
        """The trunk road: across the county, through the seat, over the main bridge."""
        tags = {"highway": "trunk", "ref": "G999", "name": "国道999线"}
        for side in (-1, 1):
            start = self.net.xy[cols[side][-1]]
            angle = side * np.pi / 2 + self.rng.uniform(-0.5, 0.5)
            ray = start + np.outer(np.arange(0, 60000, 100.0), [np.cos(angle), np.sin(angle)])
            end = ray[np.argmin(shapely.contains_xy(self.boundary, ray[:, 0], ray[:, 1]))]
            road = self._road(
                self.net.nodes(self.river.clamp(end[None], side, 500.0))[0], cols[side][-1], 0.08
            )
            self.net.way(np.concatenate([road, cols[side][::-1][1:]])[::-side], **tags)
        bridge = {"bridge": "yes", "layer": "1", "name": f"{_RIVER}大桥"}
        self.net.way([cols[-1][0], cols[1][0]], **tags | bridge)

    def _county_roads(self) -> None:
        """County roads: a spanning tree over the seats of each bank plus one loop, and two
        rural bridges (the county seat lies on both banks)."""
        side = self.river.side(np.array([self.net.xy[t.centre] for t in self.towns]))
        county = self.towns[0].ids
        gates = {s: county[self.river.side(self.net.xy[county]) == s] for s in (1, -1)}
        number = 1
        for bank in (1, -1):
            members = [0, *(t for t in range(1, len(self.towns)) if side[t] == bank)]
            pts = np.array([self.net.xy[self.towns[t].centre] for t in members])
            dist = np.hypot(*(pts[:, None] - pts[None]).T)
            tree = minimum_spanning_tree(dist).toarray() > 0
            extra = np.where(tree | tree.T | (dist == 0), np.inf, dist)
            pairs = [*zip(*np.nonzero(tree), strict=True)]
            if np.isfinite(extra).any() and extra.min() < 15000:
                pairs.append(np.unravel_index(np.argmin(extra), extra.shape))
            for i, j in pairs:
                a, b = members[i], members[j]
                ea = self.net.exit(gates[bank] if a == 0 else self.towns[a].ids, pts[i], pts[j])
                eb = self.net.exit(gates[bank] if b == 0 else self.towns[b].ids, pts[j], pts[i])
                highway = "secondary" if 0 in (a, b) else "tertiary"
                name = f"{_TOWNSHIPS[a][:-1]}{_TOWNSHIPS[b][:-1]}公路"
                self.net.way(self._road(ea, eb), highway=highway, ref=f"X{number:03d}", name=name)
                number += 1
        self._rural_bridges(side)

    def _rural_bridges(self, side: np.ndarray) -> None:
        """One county road over the river west of the county seat and one east of it."""
        xy = np.array([self.net.xy[t.centre] for t in self.towns])
        north, south = np.flatnonzero(side[1:] == 1) + 1, np.flatnonzero(side[1:] == -1) + 1
        a, b = (g.ravel() for g in np.meshgrid(north, south))
        mid, length = (xy[a, 0] + xy[b, 0]) / 2, np.hypot(*(xy[a] - xy[b]).T)
        for k, sign in enumerate((-1, 1)):
            ok = np.flatnonzero(sign * (mid - xy[0, 0]) > 5000)
            if not len(ok):
                continue
            m = ok[np.argmin(length[ok])]
            y = float(self.river(mid[m]))
            ends = self.net.nodes([[mid[m], y + s * d] for s in (1, -1) for d in (500, 100)])
            name = f"{_TOWNSHIPS[a[m]][:-1]}{_TOWNSHIPS[b[m]][:-1]}公路"
            tags = {"highway": "tertiary", "ref": f"X1{k:02d}", "name": name}
            ea = self.net.exit(self.towns[a[m]].ids, xy[a[m]], self.net.xy[ends[0]])
            eb = self.net.exit(self.towns[b[m]].ids, xy[b[m]], self.net.xy[ends[2]])
            self.net.way([*self._road(ea, ends[0]), ends[1]], **tags)
            self.net.way([ends[1], ends[3]], **tags | {"bridge": "yes", "layer": "1"})
            self.net.way([ends[3], *self._road(ends[2], eb)], **tags)

    # ------------------------------------------------------------- valleys and villages

    def _grow(self, start: int, target: np.ndarray) -> np.ndarray | None:
        """Node ids of a valley road from node ``start`` towards ``target``; it stops at the
        border, at the river and where it would enter another township (``None``: too short)."""
        p0 = self.net.xy[start]
        pts = _walk(self.rng, p0, target)[1:]
        side, township = int(self.river.side(p0)), self.seats.query(p0)[1]
        dist, owner = self.seats.query(pts, k=2)
        ok = shapely.contains_xy(self.inner, pts[:, 0], pts[:, 1]) & (owner[:, 0] == township)
        ok &= (dist[:, 1] > 1500) & (side * (pts[:, 1] - self.river(pts[:, 0])) > _MARGIN)
        pts = pts[: np.argmin(ok) if not ok.all() else len(ok)]
        if len(pts) < 6:
            return None
        ids = np.concatenate([[start], self.net.nodes(pts)])
        self.net.way(ids, highway="unclassified")
        return ids

    def _valleys(self, roads: list[np.ndarray]) -> list[_Valley]:
        """Valley roads from every seat, each towards the emptiest part of its township, then side
        valleys off them and off the county roads (returned too: villages line them as well)."""
        minx, miny, maxx, maxy = self.inner.bounds
        grid = np.mgrid[minx:maxx:500.0, miny:maxy:500.0].reshape(2, -1).T
        grid = grid[shapely.contains_xy(self.inner, grid[:, 0], grid[:, 1])]
        grid = grid[np.abs(grid[:, 1] - self.river(grid[:, 0])) > 400]
        owner, grid_side = self.seats.query(grid)[1], self.river.side(grid)
        valleys = []
        for t, town in enumerate(self.towns):
            centre = self.net.xy[town.centre]
            mine = grid[(owner == t) & np.isin(grid_side, self.river.side(self.net.xy[town.ids]))]
            n = 4 if t == 0 else int(self.rng.integers(2, 4)) + _TOWNSHIPS[t].endswith("镇")
            for _ in range(n):
                free = cKDTree(self.net.xy).query(mine)[0]
                if not len(free) or free.max() < 2000:
                    break
                target = mine[np.argmax(free * self.rng.uniform(0.8, 1.0, free.size))]
                gate = town.ids[self.river.side(self.net.xy[town.ids]) == self.river.side(target)]
                ids = self._grow(self.net.exit(gate, centre, target), target)
                valleys += [] if ids is None else [_Valley(ids, True)]
        valleys += [_Valley(ids, False) for ids in roads]
        branches = []
        for v in valleys:
            for _ in range(int(self.rng.integers(1, 4)) if len(v.ids) >= 15 else 0):
                k = int(self.rng.integers(len(v.ids) // 5, len(v.ids) * 17 // 20))
                d = self.net.xy[v.ids[k + 1]] - self.net.xy[v.ids[k - 1]]
                h = np.arctan2(d[1], d[0]) + self.rng.choice([-1, 1]) * self.rng.uniform(0.7, 1.4)
                reach = self.rng.uniform(1500, 4500) * np.array([np.cos(h), np.sin(h)])
                ids = self._grow(v.ids[k], self.net.xy[v.ids[k]] + reach)
                branches += [] if ids is None else [_Valley(ids, False)]
        return valleys + branches

    def _riverside(self) -> list[np.ndarray]:
        """Village roads along stretches of both banks, well away from the bridges: villages
        there face schools across the water that they can only reach by a long detour."""
        bridges = [
            self.net.xy[ids].mean(axis=0)[0] for ids, tags in self.net.ways if "bridge" in tags
        ]
        minx, _, maxx, _ = self.inner.bounds
        x = np.arange(minx, maxx, 100.0)
        away = np.min(np.abs(x[:, None] - np.array(bridges)[None]), axis=1) > 4000
        centres = x[away & shapely.contains_xy(self.boundary.buffer(-3000), x, self.river(x))]
        roads: list[np.ndarray] = []
        if len(centres) < 4:
            return roads
        for bank, x0 in zip(
            (1, -1, 1, -1), self.rng.choice(centres, 4, replace=False), strict=True
        ):
            xs = x0 + np.arange(-1, 1, _STEP / 3000) * 3000
            wave = np.convolve(self.rng.normal(0, 1, xs.size + 9), np.ones(10) / 10, mode="valid")
            pts = np.column_stack([xs, self.river(xs) + bank * (350 + 400 * np.abs(wave))])
            inside = shapely.contains_xy(self.inner, pts[:, 0], pts[:, 1])
            if inside.sum() < 10:
                continue
            pts = pts[inside]  # the river crosses the border far from here: one run
            near = np.flatnonzero(self.river.side(self.net.xy) == bank)
            ids = self.net.nodes(pts)
            link = near[np.argmin(np.hypot(*(self.net.xy[near] - pts[len(pts) // 2]).T))]
            self.net.way(ids, highway="unclassified")
            self.net.way(self._road(int(link), int(ids[len(ids) // 2])), highway="unclassified")
            roads.append(ids)
        return roads

    def _valley_loops(self, valleys: list[_Valley]) -> None:
        """Tracks from some valley heads over to a neighbouring valley (loops in the network)."""
        ids = np.concatenate([v.ids[1:] for v in valleys])
        owner = np.repeat(np.arange(len(valleys)), [len(v.ids) - 1 for v in valleys])
        tree = cKDTree(self.net.xy[ids])
        for k, v in enumerate(valleys):
            if not v.main or self.rng.random() > 0.45:
                continue
            head = int(v.ids[-1])
            dist, idx = tree.query(self.net.xy[head], k=60, distance_upper_bound=2500)
            idx = idx[np.isfinite(dist)]
            same_bank = self.river.side(self.net.xy[ids[idx]]) == self.river.side(self.net.xy[head])
            idx = idx[(owner[idx] != k) & same_bank]
            if len(idx):
                self.net.way(self._road(head, int(ids[idx[0]]), wiggle=0.15), highway="track")

    def _rural_villages(self, valleys: list[_Valley]) -> pd.DataFrame:
        """Natural villages spread evenly along the valley roads, each on a short spur road."""
        rng, n = self.rng, _N_RURAL_VILLAGES
        xy = [self.net.xy[v.ids] for v in valleys]
        seg = np.concatenate([np.hypot(*np.diff(p, axis=0).T) for p in xy])
        tangent = np.concatenate([np.gradient(p, axis=0)[1:] for p in xy])
        owner = np.repeat(np.arange(len(valleys)), [len(v.ids) - 1 for v in valleys])
        vertex = np.concatenate([v.ids[1:] for v in valleys])
        dist, township = self.seats.query(self.net.xy[vertex])
        eligible = np.flatnonzero(dist > 800)
        cum = np.cumsum(seg[eligible])
        pick = eligible[
            np.searchsorted(cum, (np.arange(n) + rng.uniform(0.15, 0.85, n)) * cum[-1] / n)
        ]
        normal = tangent[pick][:, ::-1] * [-1, 1] / np.hypot(*tangent[pick].T)[:, None]
        anchor = self.net.xy[vertex[pick]]
        offset = normal * (rng.choice([-1, 1], n) * rng.uniform(60, 350, n))[:, None]
        pts = anchor + offset
        gap = self.river.side(anchor) * (pts[:, 1] - self.river(pts[:, 0]))
        ok = (gap > _MARGIN) & shapely.contains_xy(self.boundary, pts[:, 0], pts[:, 1])
        pts = np.where(ok[:, None], pts, anchor + offset * 40 / np.hypot(*offset.T)[:, None])
        nodes = self.net.nodes(pts)
        for a, b in zip(vertex[pick], nodes, strict=True):
            self.net.way([a, b], highway="residential")
        return pd.DataFrame(
            {"node": nodes, "anchor": vertex[pick], "township": township[pick]}
        ).assign(kind="rural", valley=owner[pick], dist=dist[pick])

    def _villages(self, valleys: list[_Valley]) -> pd.DataFrame:
        """All demand points: rural villages, township-seat villages, county-seat communities."""
        rural = self._rural_villages(valleys)
        seats = pd.DataFrame({"node": [t.centre for t in self.towns[1:]], "kind": "seat"})
        seats["township"] = np.arange(1, len(self.towns))
        county, urban = self.towns[0].ids, []
        for side, names in _COMMUNITIES.items():
            ids = self.net.junctions(county[self.river.side(self.net.xy[county]) == side])
            first = int(np.argmin(np.hypot(*(self.net.xy[ids] - self.centre).T)))
            picks = _farthest(self.net.xy[ids], first, len(names))
            urban += [(ids[k], f"{name}社区") for k, name in zip(picks, names, strict=True)]
        urban_df = pd.DataFrame(urban, columns=["node", "name"]).assign(kind="urban", township=0)
        df = pd.concat([urban_df, seats, rural], ignore_index=True)
        df[["x", "y"]] = self.net.xy[df["node"].to_numpy(dtype=int)]
        stems = {t[:-1] for t in _TOWNSHIPS}
        pool = [a + b for a in _FIRST for b in _SECOND if a != b and a + b not in stems]
        stem = iter(self.rng.choice(pool, size=len(rural), replace=False))
        df["name"] = [
            n if k == "urban" else f"{_TOWNSHIPS[t][:-1]}村" if k == "seat" else f"{next(stem)}村"
            for n, k, t in zip(df["name"], df["kind"], df["township"], strict=True)
        ]
        return self._populate(df)

    def _populate(self, df: pd.DataFrame) -> pd.DataFrame:
        """Population and school-age children, matching the census totals exactly."""
        rng, kind = self.rng, df["kind"].to_numpy()
        pop = np.zeros(len(df), dtype=int)
        urban, seat, rural = kind == "urban", kind == "seat", kind == "rural"
        pop[urban] = _apportion(_URBAN_POPULATION, rng.dirichlet(np.full(urban.sum(), 8.0)))
        pop[seat] = rng.integers(1800, 3500, seat.sum())
        target = _POPULATION - pop.sum()
        w = rng.lognormal(0.0, 0.7, rural.sum()) * (
            1.7 - 1.1 * np.minimum(df["dist"][rural] / 9e3, 1)
        )
        extra = target - 100 * rural.sum()  # 100 to 1,500 residents, fewer far up the valleys
        for _ in range(10):
            w = np.minimum(w * extra / w.sum(), 1400)
        pop[rural] = 100 + _apportion(extra, w)
        df["population"] = pop
        for col, total in (
            ("children_primary", _CHILDREN_PRIMARY),
            ("children_junior", _CHILDREN_JUNIOR),
        ):
            df[col] = _apportion(total, pop * rng.lognormal(0.0, 0.12, len(df)))
        df = df.iloc[np.lexsort((df["dist"].fillna(-1), ~urban, ~seat, df["township"]))]
        return df.reset_index(drop=True).assign(
            village_id=lambda d: [f"V{k + 1:03d}" for k in d.index]
        )

    def _footpaths(self, n: int = 30) -> None:
        """Paths over the ridges between villages that are close but far apart by road."""
        rural = self.villages[self.villages["kind"] == "rural"]
        xy, node = rural[["x", "y"]].to_numpy(), rural["anchor"].to_numpy(dtype=int)
        i, j = cKDTree(xy).query_pairs(2500, output_type="ndarray").T
        straight, valley = np.hypot(*(xy[i] - xy[j]).T), rural["valley"].to_numpy()
        ok = (
            (valley[i] != valley[j])
            & (self.river.side(xy[i]) == self.river.side(xy[j]))
            & (straight > 600)
        )
        i, j, straight = i[ok], j[ok], straight[ok]
        src = np.unique(i)
        dist = dijkstra(self.net.graph(), directed=False, indices=node[src], limit=25_000)
        ratio = dist[np.searchsorted(src, i), node[j]] / straight
        used: set[int] = set()
        for k in np.argsort(-ratio, kind="stable"):
            if ratio[k] < 3 or len(used) >= 2 * n:
                break
            if not {i[k], j[k]} & used:
                used |= {int(i[k]), int(j[k])}
                highway = "footway" if self.rng.random() < 0.2 else "path"
                self.net.way(
                    self._road(int(node[i[k]]), int(node[j[k]]), wiggle=0.15), highway=highway
                )

    # ------------------------------------------------------------- schools and sites

    def _town_schools(self) -> pd.DataFrame:
        """A central primary and a junior school (or one nine-year school in the three smallest
        townships) at every township seat."""
        population = self.villages.groupby("township")["population"].sum().drop(0)
        nine_year, rows = set(population.nsmallest(3).index), []
        for t in range(1, len(self.towns)):
            k, name, ids = int(self.rng.choice([1, 3, 5, 7])), _TOWNSHIPS[t], self.towns[t].ids
            if t in nine_year:
                rows.append((f"{name}九年一贯制学校", "nine_year", t, ids[k]))
            else:
                rows.append((f"{name}中心小学", "primary", t, ids[k]))
                rows.append((f"{name}中学", "junior", t, ids[8 - k]))
        return pd.DataFrame(rows, columns=["name", "level", "township", "node"])

    def _county_schools(self, others: pd.DataFrame) -> pd.DataFrame:
        """Two junior and four primary schools at communities of the county seat, chosen so that
        their catchments (next to the ``others`` schools) are as even as possible."""
        free, rows = np.flatnonzero(self.villages["kind"] == "urban"), []
        for level, n, word in (("junior", 2, "中学"), ("primary", 4, "小学")):
            levels = _JUNIOR_LEVELS if level == "junior" else _PRIMARY_LEVELS
            xy = self.net.xy[others.loc[others["level"].isin(levels), "node"].to_numpy(dtype=int)]
            sites = _balanced(self.villages, free, n, xy)
            free = np.setdiff1d(free, sites)
            nodes = self.villages["node"].to_numpy()[sites]
            rows += [
                (f"{COUNTY_NAME}第{'一二三四'[k]}{word}", level, 0, c) for k, c in enumerate(nodes)
            ]
        return pd.DataFrame(rows[2:] + rows[:2], columns=["name", "level", "township", "node"])

    def _village_schools(self, town: pd.DataFrame) -> pd.DataFrame:
        """Village schools: first so that every village has a primary-level school within
        ``_WALK_PRIMARY`` on the network (greedy cover), then at the remotest small villages."""
        v = self.villages
        vnode = v["node"].to_numpy()
        full = dijkstra(self.net.graph(), directed=False, indices=vnode)
        reach = full[:, vnode] <= _WALK_PRIMARY
        best = full[:, town.loc[town["level"].isin(_PRIMARY_LEVELS), "node"]].min(axis=1)
        eligible, chosen = (v["kind"] == "rural").to_numpy().copy(), list[int]()
        while (best > _WALK_PRIMARY).any() or len(chosen) < _N_VILLAGE_SCHOOLS:
            if (best > _WALK_PRIMARY).any():
                score = (reach & (best > _WALK_PRIMARY)).sum(axis=1) + v["population"] / 1e5
            else:
                score = best * self.rng.uniform(0.85, 1.0, len(best)) / np.sqrt(v["population"])
            chosen.append(int(np.argmax(np.where(eligible, score, -1.0))))
            eligible[chosen[-1]] = False
            best = np.minimum(best, full[chosen[-1], vnode])
        out = pd.DataFrame(
            {"name": v["name"].iloc[chosen] + "小学", "level": "primary", "kind": "village"}
        )
        out[["township", "node"]] = v[["township", "node"]].iloc[chosen].to_numpy()
        junior_far = full[:, town.loc[town["level"].isin(_JUNIOR_LEVELS), "node"]].min(axis=1)
        for far in np.flatnonzero(junior_far > _WALK_JUNIOR):  # never for the default seed
            k = out.index[int(np.argmin(full[far, out["node"].to_numpy(dtype=int)]))]
            out.loc[k, ["level", "name"]] = [
                "nine_year",
                out.loc[k, "name"][:-2] + "九年一贯制学校",
            ]
        return out.reset_index(drop=True)

    def _schools(self) -> pd.DataFrame:
        """The schools table, with enrolment consistent with the villages."""
        town = self._town_schools()
        county = self._county_schools(town)
        rural = self._village_schools(pd.concat([county, town]))
        county = self._county_schools(pd.concat([town, rural]))  # again, next to village schools
        df = pd.concat([county, town], ignore_index=True)
        df["kind"] = np.where(df["township"] == 0, "county", "township")
        df = pd.concat([df, self._village_schools(df)], ignore_index=True)
        xy = self.net.xy[df["node"].to_numpy(dtype=int)]
        village = (df["kind"] == "village").to_numpy()[:, None]
        df[["x", "y"]] = np.where(
            village, _jitter(self.rng, xy, 60, 150), _jitter(self.rng, xy, 30, 80)
        )
        df = _teaching_points(self.villages, df)
        df["students_primary"], df["students_junior"] = _enrol(self.villages, df)
        df = _resources(self.rng, _rank_county(df))
        df["school_id"] = [f"S{k + 1:03d}" for k in range(len(df))]
        df[["lon", "lat"]] = np.round(_to_lonlat(df[["x", "y"]].to_numpy()), 6)
        df["township"] = [_TOWNSHIPS[t] for t in df["township"]]
        return df

    def _parcel(self, town: _Town, direction: float, far: float) -> np.ndarray:
        """A reserved parcel just beyond a town's edge, with a planned access road."""
        centre, unit = self.net.xy[town.centre], np.array([np.cos(direction), np.sin(direction)])
        edge = self.net.exit(town.ids, centre, centre + unit)
        side = int(self.river.side(self.net.xy[edge]))
        pts = self.river.clamp(self.net.xy[edge] + np.outer([far / 2, far], unit), side, 200.0)
        self.net.way([edge, *self.net.nodes(pts)], highway="residential", name="规划路")
        return pts[-1]

    def _candidates(self) -> pd.DataFrame:
        """One site at every township seat, a few hundred metres from its schools, and reserved
        parcels: three on the county seat's growing edge, two outside the largest townships."""
        rows, xy = [], self.net.xy
        for t, town in enumerate(self.towns):
            own = self.schools.loc[self.schools["township"] == _TOWNSHIPS[t], ["x", "y"]].to_numpy()
            ids = self.net.junctions(town.ids[np.hypot(*(xy[town.ids] - xy[town.centre]).T) < 1200])
            gap = np.hypot(*(xy[ids][:, None] - own[None]).T).min(axis=0)
            site = _jitter(self.rng, xy[ids[np.argmax(gap)]][None], 20, 40)[0]
            rows.append((f"{_TOWNSHIPS[t]}集镇预留地", t, "township_seat", site))
        angles = np.array([0.0, np.pi, np.pi / 2]) + self.rng.uniform(-0.3, 0.3, 3)
        for k, angle in enumerate(angles):  # east, west and north of the county seat
            site = self._parcel(self.towns[0], angle, self.rng.uniform(300, 500))
            rows.append((f"城区新增地块{'一二三'[k]}", 0, "parcel", site))
        township = self.schools[self.schools["kind"] == "township"]
        for name in township.groupby("township")["students_primary"].sum().nlargest(2).index:
            t = _TOWNSHIPS.index(name)
            site = self._parcel(
                self.towns[t], self.rng.uniform(0, 2 * np.pi), self.rng.uniform(500, 800)
            )
            rows.append((f"{name}扩建地块", t, "parcel", site))
        df = pd.DataFrame(rows, columns=["name", "township", "kind", "xy"])
        df[["x", "y"]] = np.stack(df.pop("xy").to_numpy())
        df["site_id"] = [f"C{k + 1:02d}" for k in range(len(df))]
        df["township"] = [_TOWNSHIPS[t] for t in df["township"]]
        return df


# --------------------------------------------------------------------------- enrolment, resources


def _balanced(villages: pd.DataFrame, among: np.ndarray, n: int, others: np.ndarray) -> np.ndarray:
    """The ``n`` sites (indices into ``villages``, chosen from ``among``) whose straight-line
    catchments, next to the schools at ``others``, have the most even population; the
    largest catchment first."""
    xy, pop = villages[["x", "y"]].to_numpy(), villages["population"].to_numpy()

    def loads(sites: tuple[int, ...]) -> np.ndarray:
        pts = np.vstack([xy[list(sites)], others])
        return np.bincount(cKDTree(pts).query(xy)[1], pop, len(pts))[:n]

    best = min(itertools.combinations(among, n), key=lambda c: loads(c).max())
    return np.array(best)[np.argsort(-loads(best), kind="stable")]


def _rank_county(df: pd.DataFrame) -> pd.DataFrame:
    """Number the county-seat schools by size (第一小学 is the biggest) and list them first."""
    order = []
    for level, word in (("primary", "小学"), ("junior", "中学")):
        rows = df[(df["kind"] == "county") & (df["level"] == level)]
        ranked = rows[f"students_{level}"].sort_values(ascending=False, kind="stable").index
        df.loc[ranked, "name"] = [
            f"{COUNTY_NAME}第{'一二三四'[k]}{word}" for k in range(len(ranked))
        ]
        order += list(ranked)
    return df.loc[order + [k for k in df.index if k not in order]].reset_index(drop=True)


def _enrol(villages: pd.DataFrame, schools: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Enrolment per school: each village's children go to the nearest school of their level;
    teaching points keep their first grades only, older pupils go on to the nearest primary."""
    vxy, sxy = villages[["x", "y"]].to_numpy(), schools[["x", "y"]].to_numpy()
    level, n = schools["level"].to_numpy(), len(schools)

    def nearest(levels: tuple[str, ...]) -> np.ndarray:
        idx = np.flatnonzero(np.isin(level, levels))
        return idx[cKDTree(sxy[idx]).query(vxy)[1]]

    near, full = nearest(_PRIMARY_LEVELS), nearest(("primary", "nine_year"))
    child = villages["children_primary"].to_numpy()
    lower = np.floor(child * schools["grades"].to_numpy()[near] / 6).astype(int)
    lower[level[near] != "teaching_point"] = 0
    primary = np.bincount(near, lower, n) + np.bincount(full, child - lower, n)
    junior = np.bincount(nearest(_JUNIOR_LEVELS), villages["children_junior"].to_numpy(), n)
    return primary.astype(int), junior.astype(int)


def _teaching_points(villages: pd.DataFrame, schools: pd.DataFrame) -> pd.DataFrame:
    """Turn the village primaries with the fewest pupils into teaching points that keep only
    their first one to three grades (as many as stay under 30 pupils)."""
    schools["grades"] = 6
    primary, _ = _enrol(villages, schools)
    small = (schools["kind"] == "village") & (schools["level"] == "primary") & (primary < 180)
    tp = schools.index[small][np.argsort(primary[small], kind="stable")][:_N_TEACHING_POINTS]
    schools.loc[tp, "grades"] = np.clip(29 * 6 // np.maximum(primary[tp], 1), 1, 3)
    schools.loc[tp, "name"] = schools.loc[tp, "name"].str[:-3] + "教学点"
    schools.loc[tp, ["level", "kind"]] = "teaching_point"
    return schools


def _draw(rng: np.random.Generator, kind: pd.Series, item: str) -> np.ndarray:
    """One uniform draw per school from the ``_RESOURCES`` range of its kind."""
    head, *rows = (line.split() for line in _RESOURCES.strip().splitlines())
    ranges = dict(zip(head[1:], next(r[1:] for r in rows if r[0] == item), strict=True))
    lo, hi = np.array([[float(x) for x in ranges[k].split("-")] for k in kind]).T
    return lo + (hi - lo) * rng.random(len(kind))


def _classes(rng: np.random.Generator, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Classes now: over-full in the county seat, one per grade (or fewer) in villages."""
    sp, sj, kind = df["students_primary"], df["students_junior"], df["kind"]
    cp = np.where(sp > 0, np.maximum(6, np.ceil(sp / rng.uniform(38, 46, len(df)))), 0)
    cp = np.where(kind == "village", np.where(sp < 180, np.clip(np.ceil(sp / 12), 3, 6), cp), cp)
    cp = np.where(kind == "teaching_point", df["grades"], cp)
    cj = np.where(sj > 0, np.maximum(3, np.ceil(sj / rng.uniform(42, 50, len(df)))), 0)
    for level, sizes in _CLASS_SIZE.items():  # county seat: 48-58 pupils a class
        rows = np.flatnonzero((kind == "county") & (df["level"] == level))
        pupils = df[f"students_{level}"].to_numpy()[rows]
        size = np.array(sizes)[np.argsort(np.argsort(-pupils, kind="stable"))]
        (cp if level == "primary" else cj)[rows] = np.maximum(1, np.round(pupils / size))
    return cp.astype(int), cj.astype(int)


def _resources(rng: np.random.Generator, df: pd.DataFrame) -> pd.DataFrame:
    """Classes, rooms, teachers, areas and equipment, varied by kind of school."""
    kind, n = df["kind"], len(df)
    cp, cj = _classes(rng, df)
    pupils, classes = (df["students_primary"] + df["students_junior"]).to_numpy(), cp + cj
    tp = (kind == "teaching_point").to_numpy()
    spare = np.where(kind == "county", 0, rng.integers(0, 4, n))
    per_class = np.ceil(cp * np.where(kind == "county", 1.15, 1.4) + cj * 2.4)
    teachers = np.maximum(np.round(pupils / _draw(rng, kind, "pupils_per_teacher")), per_class)
    teachers = np.where(tp, cp + rng.integers(0, 2, n), teachers).astype(int)
    shares = {
        f"teachers_{c}": np.round(teachers * _draw(rng, kind, f"{c}_share")).astype(int)
        for c in ("qualified", "backbone", "pe_art")
    }
    floor = np.maximum(pupils * _draw(rng, kind, "floor_m2"), classes * rng.uniform(55, 75, n))
    sports = np.maximum(pupils * _draw(rng, kind, "sports_m2"), _draw(rng, kind, "sports_min_m2"))
    equipment = np.maximum(pupils * _draw(rng, kind, "equipment_wan"), rng.uniform(0.5, 3.0, n))
    multimedia = np.where(tp, rng.integers(0, 2, n), np.round(classes * rng.uniform(0.6, 1.0, n)))
    df = df.assign(
        classes_primary=cp,
        classes_junior=cj,
        classrooms=classes + np.where(tp, np.minimum(spare, 1), spare),
        teachers=teachers,
        **shares,
        floor_area_m2=np.round(floor, 1),
        sports_area_m2=np.round(sports, 1),
        equipment_value_wan=np.round(equipment, 2),
        multimedia_rooms=multimedia.astype(int),
    )
    return df.assign(boarding_places=_boarding(rng, df))


def _boarding(rng: np.random.Generator, df: pd.DataFrame) -> np.ndarray:
    """Beds: rural junior and nine-year schools board 40-60 % of their juniors; a few central
    primaries and one county-seat junior school some too."""
    n, level, kind = len(df), df["level"], df["kind"]
    conditions = [
        level.isin(_JUNIOR_LEVELS) & (kind != "county"),
        (level == "junior") & (kind == "county"),
        (level == "primary") & (kind == "township") & (rng.random(n) < 0.35),
    ]
    beds = [
        df["students_junior"] * rng.uniform(0.4, 0.6, n),
        df["students_junior"] * rng.choice([0.0, 0.15], n),
        df["students_primary"] * rng.uniform(0.05, 0.15, n),
    ]
    return (2 * np.round(np.select(conditions, beds, 0.0) / 2)).astype(int)


# --------------------------------------------------------------------------- writing


def _atomic(path: Path, write: Callable[[Path], object]) -> Path:
    """Write through a temporary file in the same folder, then rename it into place."""
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _geojson(path: Path, df: pd.DataFrame, geometry: gpd.array.GeometryArray | list) -> Path:
    """Write a WGS-84 GeoJSON layer (coordinates to 6 decimals, about 0.1 m)."""
    gdf = gpd.GeoDataFrame(df.reset_index(drop=True), geometry=geometry, crs="EPSG:4326")
    return _atomic(
        path,
        lambda tmp: gdf.to_file(tmp, driver="GeoJSON", layer=path.stem, COORDINATE_PRECISION=6),
    )


def _write(county: _County, out: Path) -> dict[str, Path]:
    """Write the layers of ``county`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)

    def points(df: pd.DataFrame) -> gpd.array.GeometryArray:
        lonlat = _to_lonlat(df[["x", "y"]].to_numpy())
        return gpd.points_from_xy(lonlat[:, 0], lonlat[:, 1])

    boundary = shapely.transform(county.boundary, _to_lonlat)
    river = shapely.transform(county.river_line(), _to_lonlat)
    name = f"{COUNTY_NAME} Sample County (synthetic)"
    xml, schools = county.net.osm_xml(), county.schools[list(_SCHOOL_COLUMNS)]
    candidates = county.candidates[["site_id", "name", "township", "kind"]]
    villages = county.villages.assign(township=[_TOWNSHIPS[t] for t in county.villages["township"]])
    return {
        "boundary": _geojson(out / "boundary.geojson", pd.DataFrame({"name": [name]}), [boundary]),
        "villages": _geojson(
            out / "villages.geojson",
            villages[list(_VILLAGE_COLUMNS)],
            points(villages),
        ),
        "schools": _atomic(out / "schools.csv", lambda tmp: schools.to_csv(tmp, index=False)),
        "candidates": _geojson(out / "candidates.geojson", candidates, points(county.candidates)),
        "roads": _atomic(out / "roads.osm", lambda tmp: tmp.write_text(xml, encoding="utf-8")),
        "river": _geojson(
            out / "river.geojson", pd.DataFrame({"name": [_RIVER], "waterway": ["river"]}), [river]
        ),
    }


def generate_sample_county(out_dir: str | Path, *, seed: int = 2020) -> dict[str, Path]:
    """Generate the synthetic sample county (示范县) and write its input layers.

    The county is modelled on a Guizhou mountain county of 1,474 km² and 168,441 residents
    (74,366 of them in the county seat), with 12 townships and about 250 villages strung along
    valleys, a river that only four bridges cross, and 60-70 schools and teaching points whose
    enrolment matches the villages' children. It is built from a seeded random generator only:
    the same seed always gives the same files, and no network access is needed.

    Parameters
    ----------
    out_dir
        Folder to write into (created if missing). Files of the same names are replaced, each
        atomically.
    seed
        Seed of :func:`numpy.random.default_rng`; 2020 gives the shipped sample county.

    Returns
    -------
    dict[str, pathlib.Path]
        Layer name to file: ``boundary``, ``villages``, ``candidates`` (GeoJSON, WGS-84),
        ``schools`` (CSV with ``lon``/``lat``), ``roads`` (OSM XML) and ``river`` (GeoJSON, for
        maps only; it is not in the OSM file because osmnx would turn it into walkable edges).
        Columns are those of ``docs/data.md``.

    Examples
    --------
    >>> paths = generate_sample_county("/tmp/sample_county")  # doctest: +SKIP
    >>> sorted(paths)  # doctest: +SKIP
    ['boundary', 'candidates', 'river', 'roads', 'schools', 'villages']
    """
    return _write(_County(seed), Path(out_dir))


# --- toy instance: small enough to solve by hand ------------------------------------------

TOY_ORIGIN = (500_000.0, 3_010_000.0)  # UTM zone 49N (EPSG:32649), metres
TOY_SCENARIO = """\
# Toy county: 10 villages on one 9 km road, 4 primary-level schools, 1 junior school.
# The optimal plan is worked out by hand in tests/test_toy.py.
name: Toy county
data:
  schools: schools.csv
  villages: villages.geojson
  boundary: boundary.geojson
  candidates: candidates.geojson
  roads: roads.osm
travel:
  primary: {mode: walk, max_distance_m: 3000}
  junior: {mode: drive, max_distance_m: 20000}
new_school_types:
  - {id: P12, level: primary, classes: 12, build_cost_wan: 5000}
costs:
  student_km_wan: 1.0
  keep_school_wan: 1000
  close_school_wan: 0
solver: {name: highs, time_limit_s: 60}
"""


def _toy_lonlat(x_km: np.ndarray, y_km: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from pyproj import Transformer

    to_ll = Transformer.from_crs(32649, 4326, always_xy=True)
    return to_ll.transform(TOY_ORIGIN[0] + 1000.0 * x_km, TOY_ORIGIN[1] + 1000.0 * y_km)


def toy_instance(out_dir: str | Path) -> Path:
    """Write the toy county (10 villages, 5 schools, one road) and return its scenario file.

    Villages V0..V9 sit on the road at x = 0..9 km with 40 primary and 20 junior children each.
    Primary schools A (x=1 km, 4 classrooms), B (x=4, 3 classrooms), C (x=8, 4 classrooms),
    teaching point T (x=6, 1 classroom); junior school J (x=5, 10 classrooms); candidate site X
    (x=6.5). Primary children walk at most 3 km.
    """
    import geopandas as gpd
    from shapely.geometry import Point, box

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    vx = np.arange(10, dtype=float)
    lon, lat = _toy_lonlat(vx, np.zeros(10))
    gpd.GeoDataFrame(
        {
            "village_id": [f"V{i}" for i in range(10)],
            "name": [f"村{i}" for i in range(10)],
            "township": "甲乡",
            "population": 400,
            "children_primary": 40,
            "children_junior": 20,
        },
        geometry=[Point(a, b) for a, b in zip(lon, lat, strict=True)],
        crs=4326,
    ).to_file(out / "villages.geojson", driver="GeoJSON")
    schools = pd.DataFrame(
        {
            "school_id": ["A", "B", "C", "T", "J"],
            "name": ["甲小学", "乙小学", "丙小学", "丁教学点", "甲乡中学"],
            "level": ["primary", "primary", "primary", "teaching_point", "junior"],
            "township": "甲乡",
            "students_primary": [120, 120, 120, 40, 0],
            "students_junior": [0, 0, 0, 0, 200],
            "classes_primary": [3, 3, 3, 1, 0],
            "classes_junior": [0, 0, 0, 0, 4],
            "classrooms": [4, 3, 4, 1, 10],
        }
    )
    slon, slat = _toy_lonlat(np.array([1.0, 4.0, 8.0, 6.0, 5.0]), np.zeros(5))
    schools.assign(lon=slon, lat=slat).to_csv(out / "schools.csv", index=False)
    clon, clat = _toy_lonlat(np.array([6.5]), np.zeros(1))
    gpd.GeoDataFrame(
        {"site_id": ["X"], "name": ["新校址"], "township": ["甲乡"], "kind": ["parcel"]},
        geometry=[Point(clon[0], clat[0])],
        crs=4326,
    ).to_file(out / "candidates.geojson", driver="GeoJSON")
    bx, by = _toy_lonlat(np.array([-1.0, 10.0]), np.array([-2.0, 2.0]))
    gpd.GeoDataFrame(
        {"name": ["甲乡"]}, geometry=[box(bx[0], by[0], bx[1], by[1])], crs=4326
    ).to_file(out / "boundary.geojson", driver="GeoJSON")
    _write_toy_road(out / "roads.osm")
    (out / "toy.yaml").write_text(TOY_SCENARIO, encoding="utf-8")
    return out / "toy.yaml"


def _write_toy_road(path: Path) -> None:
    xs = np.arange(0.0, 9.01, 0.5)
    lon, lat = _toy_lonlat(xs, np.zeros(len(xs)))
    nodes = "".join(
        f'  <node id="{i + 1}" lat="{b:.8f}" lon="{a:.8f}"/>\n'
        for i, (a, b) in enumerate(zip(lon, lat, strict=True))
    )
    refs = "".join(f'    <nd ref="{i + 1}"/>\n' for i in range(len(xs)))
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="planning">\n'
        f'{nodes}  <way id="1">\n{refs}    <tag k="highway" v="tertiary"/>\n  </way>\n</osm>\n',
        encoding="utf-8",
    )


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else SAMPLE_COUNTY_DIR
    for layer, path in generate_sample_county(target).items():
        print(f"{layer:<11} {path} ({path.stat().st_size / 1024:,.0f} KiB)")
