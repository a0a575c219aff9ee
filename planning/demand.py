"""Demand: children of primary and junior age per village, given or derived, with provenance.

Planners hold one of three things: children per village and level (use them as they are);
village populations and census age bands (derive children); or a gridded population raster
(aggregate it to villages, or use its cells as demand points). Every derived count says how it
was made in two columns written into every output: ``demand_rule`` and ``demand_source``.

Rules
-----
Single years from census bands
    Census tables give ages in bands (0, 1-4, 5-9, 10-14, ...). The cumulative count at the
    band edges is interpolated by a monotone cubic (PCHIP, Fritsch & Carlson 1980) and differenced
    at whole years: every band keeps its exact total and no year is negative. This is the
    monotone-spline graduation of demographers (e.g. ``graduate_mono`` in the DemoTools package,
    after Hyman 1983) with scipy's monotone cubic.
School-age share
    Primary-age (6-11) and junior-age (12-14) persons of an area divided by the area's total
    population (:data:`SCHOOL_AGES`; DOMAIN.md).
Children of a village
    ``population x share`` of its area, rounded to whole children by largest remainders within
    the area, so the area's total equals its (rounded) census cohort exactly.
Resident vs registered, migrant children (随迁子女)
    :func:`adjust_demand`: a ``resident_factor`` (resident / household-registered population)
    multiplies the children; ``migrant_primary`` / ``migrant_junior`` add children who live there
    without being registered there. Children count where they live (DOMAIN.md).
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.interpolate import PchipInterpolator

from planning._errors import InputError, Problem

logger = logging.getLogger(__name__)

LEVELS: tuple[str, ...] = ("primary", "junior")
SCHOOL_AGES: dict[str, tuple[int, int]] = {"primary": (6, 11), "junior": (12, 14)}
"""Ages (inclusive, in completed years) of each school level: grades 1-6 and 7-9."""

OPEN_END_AGE = 100
_SHARE_WORDS = ("比重", "比例", "占", "%", "share")
_BAND = re.compile(r"(\d+)\s*(?:岁)?\s*(?:(?:到|至|-|–|~|～)\s*(\d+)|(及以上|以上|\+))?\s*岁?\s*$")


# --- census bands -> single years -> shares (no geometry) --------------------------------------


def parse_age_band(label: str) -> tuple[int, int]:
    """Ages of a census band label: ``"0岁"``, ``"1到4岁"``, ``"5-9"``, ``"85岁及以上"``.

    Returns
    -------
    (first, last) ages in completed years, inclusive; an open band ends at ``OPEN_END_AGE``.

    Raises
    ------
    ValueError
        If the label is not an age band.
    """
    m = _BAND.search(str(label).strip())
    if m is None:
        raise ValueError(f"not an age band: {label!r}")
    lo = int(m.group(1))
    if m.group(3):
        return lo, OPEN_END_AGE
    return lo, int(m.group(2)) if m.group(2) else lo


def census_bands(row: pd.Series, *, file: str = "census") -> pd.DataFrame:
    """Age bands from one wide census row (columns such as ``男_5到9岁``, ``女_5到9岁``).

    Every column whose label ends in an age band is read, except shares (labels with 比重,
    比例, 占 or %); columns of the same band (male, female) are added.

    Returns
    -------
    DataFrame with columns ``age_from, age_to, persons`` (persons), sorted by age.
    """
    found: dict[tuple[int, int], float] = {}
    for col, value in row.items():
        label = str(col).rsplit("_", 1)[-1]
        if any(word in str(col) for word in _SHARE_WORDS):
            continue
        if "岁" not in label and not re.fullmatch(r"\d+\s*[-~]\s*\d+", label):
            continue
        try:
            band = parse_age_band(label)
        except ValueError:
            continue
        number = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
        if pd.isna(number) or number < 0:
            raise InputError([Problem(file, f"expected persons >= 0, found {value!r}", field=col)])
        found[band] = found.get(band, 0.0) + float(number)
    if not found:
        raise InputError([Problem(file, "no age-band columns (e.g. '5到9岁') found")])
    bands = pd.DataFrame(
        [(lo, hi, n) for (lo, hi), n in sorted(found.items())],
        columns=["age_from", "age_to", "persons"],
    )
    return bands


def single_year_ages(bands: pd.DataFrame, *, file: str = "census") -> pd.Series:
    """Split contiguous age bands into single years (monotone cubic of the cumulative count).

    Parameters
    ----------
    bands
        Columns ``age_from, age_to, persons``: contiguous bands, inclusive ages.

    Returns
    -------
    Persons per single year of age (float), indexed by age; each band's total is kept exactly.

    Raises
    ------
    InputError
        If bands overlap or leave a gap, or a count is negative.
    """
    b = bands.sort_values("age_from", ignore_index=True)
    lo, hi = b["age_from"].to_numpy(int), b["age_to"].to_numpy(int)
    gaps = np.flatnonzero(lo[1:] != hi[:-1] + 1)
    problems = [
        Problem(file, f"age bands not contiguous: {hi[i]} then {lo[i + 1]}", field="age_from")
        for i in gaps
    ]
    problems += [
        Problem(file, f"expected persons >= 0, found {n:g}", row=f"{a}-{z}", field="persons")
        for a, z, n in zip(lo, hi, b["persons"], strict=True)
        if n < 0
    ]
    if problems:
        raise InputError(problems)
    edges = np.append(lo, hi[-1] + 1).astype(float)
    cumulative = np.append(0.0, np.cumsum(b["persons"].to_numpy(float)))
    if len(edges) == 2:  # one band: spread evenly
        ages = np.arange(lo[0], hi[0] + 1)
        return pd.Series(cumulative[-1] / len(ages), index=pd.Index(ages, name="age"))
    spline = PchipInterpolator(edges, cumulative)
    years = np.arange(lo[0], hi[-1] + 2, dtype=float)
    counts = np.diff(spline(years)).clip(min=0.0)
    return pd.Series(counts, index=pd.Index(years[:-1].astype(int), name="age"), name="persons")


def cohorts(
    ages: pd.Series, *, school_ages: Mapping[str, tuple[int, int]] = SCHOOL_AGES
) -> dict[str, float]:
    """Persons of each school level's ages in a single-year series (persons)."""
    return {lvl: float(ages.loc[a:z].sum()) for lvl, (a, z) in school_ages.items()}


def school_age_shares(
    bands: Mapping[str, pd.DataFrame],
    population: Mapping[str, float],
    *,
    school_ages: Mapping[str, tuple[int, int]] = SCHOOL_AGES,
    file: str = "census",
) -> pd.DataFrame:
    """School-age share of the population per area (township or county).

    Parameters
    ----------
    bands
        Per area, census age bands (columns ``age_from, age_to, persons``).
    population
        Per area, the total population the shares divide by (persons).

    Returns
    -------
    DataFrame indexed by area with, per level, ``<level>`` (children per resident) and
    ``cohort_<level>`` (persons of that age), and ``population``.
    """
    rows = {}
    for area, b in bands.items():
        total = float(population[area])
        if total <= 0:
            raise InputError([Problem(file, f"population must be > 0, found {total:g}", row=area)])
        counts = cohorts(single_year_ages(b, file=file), school_ages=school_ages)
        rows[area] = {
            **{lvl: n / total for lvl, n in counts.items()},
            **{f"cohort_{lvl}": n for lvl, n in counts.items()},
            "population": total,
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def apportion(values: pd.Series, groups: pd.Series | None = None) -> pd.Series:
    """Round to whole numbers keeping each group's rounded total (largest remainders).

    Ties go to the earlier row. ``values`` must be >= 0.
    """
    groups = pd.Series(0, index=values.index) if groups is None else groups
    v = values.astype(float)
    floor = np.floor(v + 1e-9)
    target = v.groupby(groups, sort=False).transform("sum").round()
    missing = target - floor.groupby(groups, sort=False).transform("sum")
    frac = (v - floor).rename("frac")
    order = pd.DataFrame({"frac": frac, "g": groups, "pos": np.arange(len(v))})
    rank = order.sort_values(["frac", "pos"], ascending=[False, True]).groupby("g").cumcount()
    return (floor + (rank.reindex(v.index) < missing)).astype(int)


# --- villages: children given or derived ------------------------------------------------------


def build_demand(
    villages: pd.DataFrame,
    shares: pd.DataFrame | None = None,
    *,
    by: str | None = None,
    population: str = "population",
    source: str = "",
    school_ages: Mapping[str, tuple[int, int]] = SCHOOL_AGES,
) -> pd.DataFrame:
    """Children per village and level: kept where given, else population x school-age share.

    Parameters
    ----------
    villages
        One row per village (any frame; geometry is kept). Rows whose ``children_primary`` and
        ``children_junior`` are both given keep them (rule ``given``); the other rows get both
        derived.
    shares
        From :func:`school_age_shares`: indexed by area, a column per level (children per person).
    by
        Column of ``villages`` naming each village's area in ``shares`` (e.g. ``township``);
        ``None``: ``shares`` has one row, used for every village (county-wide shares).
    population
        Column of persons (resident population, 常住人口).
    source
        Where the shares come from (e.g. ``"2020 census, county row"``); written to outputs.

    Returns
    -------
    A copy with integer ``children_primary``, ``children_junior`` and text ``demand_rule``,
    ``demand_source``.

    Raises
    ------
    InputError
        If a village needs deriving but has no population, or its area has no share row.
    """
    out = villages.copy()
    given = _given_rows(out)
    out["demand_rule"] = np.where(given, "given", "")
    out["demand_source"] = np.where(given, "input", "")
    need = ~given
    if not need.any():
        return _as_counts(out)
    area = _areas(out.loc[need], shares, by=by, population=population)
    assert shares is not None  # _areas raised otherwise
    for lvl in LEVELS:
        share = shares[lvl].reindex(area).to_numpy(float)
        raw = pd.Series(out.loc[need, population].to_numpy(float) * share, index=area.index)
        out.loc[need, f"children_{lvl}"] = apportion(raw, area)
    ages = ", ".join(f"{lvl} {a}-{z}" for lvl, (a, z) in school_ages.items())
    out.loc[need, "demand_rule"] = [
        f"{population} x census school-age share of {a!r} ({ages}: "
        + ", ".join(f"{shares.at[a, lvl]:.5f}" for lvl in LEVELS)
        + "), rounded by largest remainders within the area"
        for a in area
    ]
    out.loc[need, "demand_source"] = source or "census age bands"
    return _as_counts(out)


def _given_rows(villages: pd.DataFrame) -> pd.Series:
    """Rows with children of every level given (adds missing columns as empty, in place)."""
    cols = [f"children_{lvl}" for lvl in LEVELS]
    for c in cols:
        if c not in villages.columns:
            villages[c] = np.nan
    values = villages[cols].apply(pd.to_numeric, errors="coerce")
    villages[cols] = values
    return values.notna().all(axis=1)


def _areas(
    need: pd.DataFrame, shares: pd.DataFrame | None, *, by: str | None, population: str
) -> pd.Series:
    problems = []
    if shares is None:
        raise InputError([Problem("villages", "children not given and no census shares to derive")])
    if population not in need.columns:
        raise InputError([Problem("villages", "needed to derive children", field=population)])
    if by is None:
        if len(shares) != 1:
            raise InputError(
                [Problem("shares", f"{len(shares)} share rows; say which column names the area")]
            )
        area = pd.Series(shares.index[0], index=need.index)
    else:
        area = need[by].astype(str)
        problems += [
            Problem("villages", f"no census share for area {a!r}", row=str(i), field=by)
            for i, a in area[~area.isin(shares.index.astype(str))].items()
        ]
    pop = pd.to_numeric(need[population], errors="coerce")
    problems += [
        Problem(
            "villages", f"expected persons >= 0, found {_shown(need.at[i, population])}", str(i)
        )
        for i in pop.index[pop.isna() | (pop < 0)]
    ]
    if problems:
        raise InputError(problems)
    return area


def _shown(value: object) -> str:
    number = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
    return repr(value) if pd.isna(number) else f"{number:g}"


def _as_counts(out: pd.DataFrame) -> pd.DataFrame:
    for lvl in LEVELS:
        out[f"children_{lvl}"] = out[f"children_{lvl}"].round().astype(int)
    return out


def adjust_demand(
    villages: pd.DataFrame,
    adjustments: pd.DataFrame,
    *,
    key: str = "village_id",
    source: str = "",
) -> pd.DataFrame:
    """Resident vs registered population and migrant children (随迁子女), per village or town.

    Parameters
    ----------
    villages
        Output of :func:`build_demand` (with ``children_<level>``; ``key`` as a column).
    adjustments
        One row per ``key`` value (a village id or a township name) with any of:
        ``resident_factor`` (resident / household-registered persons; multiplies the children),
        ``migrant_primary``, ``migrant_junior`` (children living there without being
        registered there; negative for registered children known to live elsewhere).
        Township-level migrants are spread over its villages in proportion to their children
        of that level (equally where none). Counts are rounded by largest remainders per key.
    key
        ``village_id`` or ``township``.
    source
        Where the adjustment comes from; appended to ``demand_source``.

    Raises
    ------
    InputError
        For unknown keys, a negative factor, or children falling below zero.
    """
    out = villages.copy()
    ids = out[key] if key in out.columns else pd.Series(out.index, index=out.index)
    group = ids.astype(str)
    table = adjustments.set_index(adjustments[key].astype(str))
    _check_adjustments(table, set(group), key)
    note = f"adjusted per {key}" + (f" ({source})" if source else "")
    touched = group.isin(table.index)
    for lvl in LEVELS:
        col = f"children_{lvl}"
        value = out[col].astype(float)
        if "resident_factor" in table:
            factor = group.map(table["resident_factor"]).fillna(1.0)
            value = apportion(value * factor, group).astype(float)
        if f"migrant_{lvl}" in table:
            value = value + _spread(table[f"migrant_{lvl}"], group, value)
        neg = value.index[value < 0]
        if len(neg):
            raise InputError(
                [Problem("adjustments", f"{col} would be {value[i]:g} < 0", str(i)) for i in neg]
            )
        out[col] = value.round().astype(int)
    out.loc[touched, "demand_rule"] = out.loc[touched, "demand_rule"].astype(str) + f"; {note}"
    if source:
        out.loc[touched, "demand_source"] = out.loc[touched, "demand_source"] + f"; {source}"
    return out


def _check_adjustments(table: pd.DataFrame, known: set[str], key: str) -> None:
    problems = [
        Problem("adjustments", f"unknown {key} {k!r}", row=k, field=key)
        for k in table.index
        if k not in known
    ]
    if "resident_factor" in table:
        problems += [
            Problem("adjustments", f"expected a factor >= 0, found {f:g}", k, "resident_factor")
            for k, f in table["resident_factor"].items()
            if not f >= 0
        ]
    if problems:
        raise InputError(problems)


def _spread(total: pd.Series, group: pd.Series, weight: pd.Series) -> pd.Series:
    """Whole children of each group's ``total`` spread over its rows in proportion to ``weight``."""
    want = group.map(total).fillna(0.0)
    w_sum = weight.groupby(group).transform("sum")
    size = group.groupby(group).transform("size")
    share = np.where(w_sum > 0, weight / w_sum.where(w_sum > 0, 1), 1.0 / size)
    raw = want * share
    sign = np.sign(want).where(want != 0, 1.0)
    return (apportion(raw.abs(), group) * sign).astype(float)


# --- where populations come from -----------------------------------------------------------


def spread_equally(totals: pd.Series, groups: pd.Series) -> pd.Series:
    """Whole persons of each group's total split equally over the group's rows.

    Parameters
    ----------
    totals
        Persons per group (indexed by group).
    groups
        Group of each row (a demand point).
    """
    size = groups.map(groups.value_counts())
    return apportion(groups.map(totals).astype(float) / size, groups)


def nearest_area(points: gpd.GeoSeries, seats: gpd.GeoDataFrame, *, column: str) -> pd.Series:
    """Area of each point, taken from its nearest seat (metres in the points' UTM zone).

    An estimate for when area polygons are missing: the area boundaries become the Voronoi
    cells of the seats.
    """
    crs = points.to_crs(4326).estimate_utm_crs()
    left = gpd.GeoDataFrame(geometry=points.to_crs(crs))
    right = seats[[column, "geometry"]].to_crs(crs)
    joined = gpd.sjoin_nearest(left, right, how="left")
    return joined[~joined.index.duplicated()][column].reindex(points.index)


# --- population rasters --------------------------------------------------------------------


def read_population_raster(path: str | Path, *, block: int = 1, band: int = 1) -> gpd.GeoDataFrame:
    """Cells of a population-count raster (GeoTIFF, e.g. WorldPop) as points with persons.

    Parameters
    ----------
    path
        A single-band raster of persons per cell with a CRS.
    block
        Sum ``block x block`` cells into one (e.g. 10 turns 100 m cells into 1 km cells).

    Returns
    -------
    GeoDataFrame (the raster's CRS) with ``cell_id`` (``r<row>c<col>`` of the block),
    ``population`` (persons, float) and the block centre; cells with no persons are left out.

    Raises
    ------
    InputError
        If the file cannot be read or has no CRS.
    """
    import rasterio

    try:
        with warnings.catch_warnings():  # a missing CRS is reported below, as an error
            warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
            src = rasterio.open(path)
        with src:
            data = src.read(band, masked=True).astype(float).filled(0.0)
            transform, crs = src.transform, src.crs
    except rasterio.errors.RasterioIOError as exc:
        raise InputError([Problem(str(path), f"cannot read as a raster: {exc}")]) from None
    if crs is None:
        raise InputError([Problem(str(path), "raster has no CRS; save it with one", field="crs")])
    data = np.where(np.isfinite(data) & (data > 0), data, 0.0)
    counts, rows, cols = _blocks(data, block)
    keep = counts > 0
    xs, ys = transform @ (cols[keep] * block + block / 2.0, rows[keep] * block + block / 2.0)
    ids = [f"r{r}c{c}" for r, c in zip(rows[keep], cols[keep], strict=True)]
    return gpd.GeoDataFrame(
        {"cell_id": ids, "population": counts[keep]},
        geometry=gpd.points_from_xy(xs, ys),
        crs=crs.to_wkt(),
    )


def _blocks(data: np.ndarray, block: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sums of ``block x block`` cells (edges padded with zeros) with their block row/col."""
    h, w = data.shape
    nh, nw = -(-h // block), -(-w // block)
    padded = np.zeros((nh * block, nw * block))
    padded[:h, :w] = data
    sums = padded.reshape(nh, block, nw, block).sum(axis=(1, 3))
    rows, cols = np.indices(sums.shape)
    return sums.ravel(), rows.ravel(), cols.ravel()


def raster_to_villages(
    cells: gpd.GeoDataFrame,
    villages: gpd.GeoDataFrame,
    *,
    max_distance_m: float = 2000.0,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Add raster persons to villages: by polygon, or to the nearest village point in reach.

    Parameters
    ----------
    cells
        From :func:`read_population_raster`.
    villages
        Village points (each cell goes to the nearest within ``max_distance_m``, metres) or
        village polygons (each cell goes to the polygon holding its centre).

    Returns
    -------
    (villages with ``population`` = persons of their cells, the cells no village took); the
    cells left over can become grid demand points (:func:`grid_demand_points`).
    """
    crs = villages.to_crs(4326).estimate_utm_crs()
    v = villages.to_crs(crs)
    c = cells.to_crs(crs)
    right = gpd.GeoDataFrame(
        {"_village": np.arange(len(v))}, geometry=v.geometry.to_numpy(), crs=crs
    )
    if v.geom_type.isin(["Polygon", "MultiPolygon"]).all():
        joined = gpd.sjoin(c, right, how="left", predicate="within")
    else:
        joined = gpd.sjoin_nearest(c, right, how="left", max_distance=max_distance_m)
    joined = joined[~joined.index.duplicated()]
    took = joined["_village"].notna()
    persons = joined.loc[took].groupby("_village")["population"].sum()
    out = villages.copy()
    out["population"] = persons.reindex(np.arange(len(v)), fill_value=0.0).to_numpy()
    logger.info(
        "raster: %.0f persons to villages, %.0f left", persons.sum(), c[~took].population.sum()
    )
    return out, cells.loc[~took.to_numpy()]


def grid_demand_points(
    cells: gpd.GeoDataFrame, *, min_population: float = 1.0, township: str = ""
) -> gpd.GeoDataFrame:
    """Raster cells as demand points for areas without village data.

    Returns
    -------
    Village-like GeoDataFrame: ``village_id`` (``grid_<cell_id>``), ``name``, ``township``,
    ``population`` (persons, float), for cells with at least ``min_population`` persons.
    """
    keep = cells[cells["population"] >= min_population]
    ids = "grid_" + keep["cell_id"].astype(str)
    return gpd.GeoDataFrame(
        {
            "village_id": ids.to_numpy(),
            "name": ids.to_numpy(),
            "township": township,
            "population": keep["population"].to_numpy(),
        },
        geometry=keep.geometry.to_numpy(),
        crs=cells.crs,
    )
