"""A synthetic region of several counties, for batch runs, their tests and benchmarks.

Each county is a sample county of :mod:`planning.examples` (its own seed: its own valleys,
river, towns and schools) written into a folder of its own, with its villages resized to the
number asked for:

- **the generator's count** (``villages=None``, about 280): the generator's ~250 villages, each
  of more than 3,000 residents (the urban communities of the county seat, up to 13,000) split
  into one group per started 3,000, as a planner would enter them: each village goes to one
  school, and no school takes the 1,700 pupils of the largest community;
- **more villages**: every village is split into village groups (村民小组), more for bigger
  villages (in proportion to population);
- **fewer villages** (small counties for tests, a benchmark that fits a small machine): the
  big villages are split as for the generator's count, then a random subset is kept and the
  others are left out with their children, so every kept village still reaches the schools it
  reached, none is too big for one school, and no school is asked for more places than the
  county had.

Groups lie 40-200 m around their village, on its side of the river; population and children
are shared out at random in whole persons, so every total is unchanged. Schools, candidate
sites, roads and the boundary are those of the generated county (when villages are split,
school enrolment still matches the villages' children; when thinned, the schools keep their
reported enrolment). Nothing here describes a real place.
"""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from planning.examples import generate_sample_county

__all__ = ["COUNTS", "generate_region", "resize_villages", "split_villages", "thin_villages"]

COUNTS: tuple[str, ...] = ("population", "children_primary", "children_junior")
"""Village columns in persons: shared out in whole persons when villages are split."""

MAX_PEOPLE = 3000
"""With the generator's own count or fewer, a village gets one group per started
``MAX_PEOPLE`` residents."""
_NEAR_M, _FAR_M = 40.0, 200.0  # metres between a village and its groups


def generate_region(
    out_dir: str | Path, *, counties: int = 16, villages: int | None = 2000, seed: int = 0
) -> dict[str, Path]:
    """Write ``counties`` synthetic counties, one folder each, for a batch run.

    Parameters
    ----------
    out_dir
        Folder to write into; county ``k`` (from 1) goes to ``out_dir/county_kk``.
    counties
        Number of counties.
    villages
        Villages per county; ``None``: the generator's ~250, those of more than
        :data:`MAX_PEOPLE` residents split (about 280 in all).
    seed
        County ``k`` uses seed ``seed + k``; the same seed always gives the same files.

    Returns
    -------
    dict[str, pathlib.Path]
        County name (its folder's name) to its folder, which holds ``boundary.geojson``,
        ``villages.geojson``, ``schools.csv``, ``candidates.geojson``, ``roads.osm`` and
        ``river.geojson`` (columns as :func:`planning.examples.generate_sample_county`).

    Examples
    --------
    >>> folders = generate_region("/tmp/region", counties=2, villages=40)  # doctest: +SKIP
    >>> sorted(folders)  # doctest: +SKIP
    ['county_01', 'county_02']
    """
    width = max(2, len(str(counties)))
    out = {}
    for k in range(1, counties + 1):
        folder = Path(out_dir) / f"county_{k:0{width}d}"
        files = generate_sample_county(folder, seed=seed + k)
        resize_villages(files["villages"], files["river"], villages, seed=seed + k)
        out[folder.name] = folder
    return out


def resize_villages(
    villages_file: Path, river_file: Path, n: int | None, *, seed: int = 0
) -> gpd.GeoDataFrame:
    """Rewrite a villages layer with ``n`` villages (None: big ones split; see the module
    docstring); return it."""
    if n is not None and n < 1:
        raise ValueError(f"a county needs at least one village, asked for {n}")
    v = gpd.read_file(villages_file)
    rng = np.random.default_rng(seed)
    pop = v["population"].to_numpy(float)
    big = np.ceil(pop / MAX_PEOPLE).astype(int)  # one group per started MAX_PEOPLE residents
    groups = big
    if n is not None and n > big.sum():
        groups = 1 + _largest_remainder(n - len(v), pop)
    river = gpd.read_file(river_file).to_crs(v.estimate_utm_crs()).union_all()
    v = split_villages(v, groups, rng=rng, river=river)
    if n is not None and n < len(v):
        v = thin_villages(v, n, rng=rng)
    tmp = villages_file.with_name(f".{villages_file.stem}.tmp{villages_file.suffix}")
    try:
        v.to_file(tmp, driver="GeoJSON", COORDINATE_PRECISION=6)
        os.replace(tmp, villages_file)
    finally:
        tmp.unlink(missing_ok=True)
    return v


def split_villages(
    villages: gpd.GeoDataFrame,
    groups: np.ndarray,
    *,
    rng: np.random.Generator,
    river: shapely.Geometry | None = None,
) -> gpd.GeoDataFrame:
    """Split village ``k`` of ``villages`` into ``groups[k]`` (>= 1) village groups.

    Group ``j`` of a split village ``V012`` is ``V012-j`` (from 1), named ``<village>j组``; a
    village of one group keeps its id and name. Group 1 stays at the village's point, the
    others lie 40-200 m around it, never across ``river`` (a line in the villages' UTM CRS).
    People and children are shared out at random in whole persons; each village's totals are
    kept.
    """
    parent = np.repeat(np.arange(len(villages)), groups)
    rank = pd.Series(parent).groupby(parent).cumcount().to_numpy()
    split = np.asarray(groups)[parent] > 1
    out = villages.iloc[parent].reset_index(drop=True)
    out["village_id"] = np.where(
        split, out["village_id"] + "-" + (rank + 1).astype(str), out["village_id"]
    )
    out["name"] = np.where(split, out["name"] + (rank + 1).astype(str) + "组", out["name"])
    weights = rng.uniform(0.5, 1.5, len(out))
    for col in COUNTS:
        out[col] = _share(villages[col].to_numpy(int), parent, weights)
    utm = villages.estimate_utm_crs()
    xy = shapely.get_coordinates(villages.to_crs(utm).geometry)[parent]
    moved = _offsets(xy, rank > 0, rng=rng, river=river)
    out.geometry = gpd.GeoSeries(gpd.points_from_xy(*moved.T), crs=utm).to_crs(villages.crs)
    return out


def thin_villages(
    villages: gpd.GeoDataFrame, n: int, *, rng: np.random.Generator
) -> gpd.GeoDataFrame:
    """Keep ``n`` of ``villages`` (a random subset, in their order); leave the others out."""
    keep = np.sort(rng.choice(len(villages), size=n, replace=False))
    return villages.iloc[keep].reset_index(drop=True)


def _largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    """Whole numbers proportional to ``weights`` that sum exactly to ``total``."""
    raw = total * weights / weights.sum()
    out = np.floor(raw).astype(int)
    out[np.argsort(out - raw, kind="stable")[: total - out.sum()]] += 1
    return out


def _share(totals: np.ndarray, parent: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Split ``totals[g]`` among the rows of group ``g`` (``parent``) in whole units, in
    proportion to ``weights`` (largest remainder within each group)."""
    raw = totals[parent] * weights / np.bincount(parent, weights)[parent]
    out = np.floor(raw).astype(int)
    left = totals - np.bincount(parent, out, len(totals)).astype(int)
    order = np.lexsort((out - raw, parent))  # by group, largest remainder first
    place = np.empty_like(order)
    place[order] = np.arange(len(order)) - np.repeat(
        np.searchsorted(parent[order], np.arange(len(totals))), np.bincount(parent)
    )
    return out + (place < left[parent])


def _offsets(
    xy: np.ndarray, move: np.ndarray, *, rng: np.random.Generator, river: shapely.Geometry | None
) -> np.ndarray:
    """``xy`` with the ``move`` rows shifted 40-200 m in random directions; a shift that would
    cross ``river`` is turned round, and if that crosses too, shrunk to a twentieth (2-10 m)."""
    angle = rng.uniform(0, 2 * np.pi, len(xy))
    step = rng.uniform(_NEAR_M, _FAR_M, len(xy))[:, None] * np.column_stack(
        [np.cos(angle), np.sin(angle)]
    )
    step[~move] = 0.0
    for turn in (-1.0, 10.0 / _FAR_M):
        bad = _crosses(xy, xy + step, river)
        step[bad] *= turn
    return xy + step


def _crosses(a: np.ndarray, b: np.ndarray, line: shapely.Geometry | None) -> np.ndarray:
    if line is None:
        return np.zeros(len(a), dtype=bool)
    return shapely.intersects(shapely.linestrings(np.stack([a, b], axis=1)), line)
