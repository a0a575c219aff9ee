"""Input layers: read, validate (every problem at once) and project to a metric CRS."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from planning._errors import InputError, Problem

if TYPE_CHECKING:
    from pyproj import CRS

logger = logging.getLogger(__name__)

SCHOOL_LEVELS = ("primary", "junior", "nine_year", "teaching_point")
_LEVEL_WORDS = {
    "小学": "primary",
    "中心小学": "primary",
    "初中": "junior",
    "初级中学": "junior",
    "中学": "junior",
    "九年一贯制": "nine_year",
    "九年一贯制学校": "nine_year",
    "nine-year": "nine_year",
    "教学点": "teaching_point",
    "teaching point": "teaching_point",
}
SCHOOL_COUNTS = (
    "students_primary",
    "students_junior",
    "classes_primary",
    "classes_junior",
    "classrooms",
)
SCHOOL_RESOURCES = (
    "teachers",
    "teachers_qualified",
    "teachers_backbone",
    "teachers_pe_art",
    "floor_area_m2",
    "sports_area_m2",
    "equipment_value_wan",
    "multimedia_rooms",
    "boarding_places",
)
VILLAGE_COUNTS = ("population", "children_primary", "children_junior")
_FRACTIONAL = frozenset({"floor_area_m2", "sports_area_m2", "equipment_value_wan"})


@dataclass(frozen=True)
class Layers:
    """All input layers, validated, in one metric CRS (metres).

    Attributes
    ----------
    schools, villages, candidates
        Point layers indexed by ``school_id``, ``village_id``, ``site_id``.
    boundary
        The planning-area polygon(s).
    warnings
        Suspicious but usable data found while reading.
    """

    schools: gpd.GeoDataFrame
    villages: gpd.GeoDataFrame
    candidates: gpd.GeoDataFrame
    boundary: gpd.GeoDataFrame
    warnings: list[Problem] = field(default_factory=list)
    projection: pd.DataFrame | None = None  # children per village, level and year, if projected

    @property
    def crs(self) -> object:
        return self.villages.crs


def read_layer(path: str | Path) -> gpd.GeoDataFrame:
    """Read a GeoPackage, GeoJSON, Shapefile or CSV (``lon``/``lat`` in WGS-84) as a GeoDataFrame.

    Raises
    ------
    InputError
        If the file cannot be read, or a CSV lacks ``lon``/``lat``.
    """
    path = Path(path)
    if path.suffix.lower() == ".csv":
        df = _read_csv(path)
        missing = [c for c in ("lon", "lat") if c not in df.columns]
        if missing:
            raise InputError(
                [Problem(str(path), "CSV needs lon and lat columns", field=missing[0])]
            )
        lon = pd.to_numeric(df["lon"], errors="coerce")
        lat = pd.to_numeric(df["lat"], errors="coerce")
        bad = df.index[lon.isna() | lat.isna()]
        if len(bad):
            raise InputError(
                [
                    Problem(
                        str(path),
                        f"lon/lat not a number: {df.loc[i, 'lon']!r}, {df.loc[i, 'lat']!r}",
                        row=str(i + 2),
                        field="lon/lat",
                    )
                    for i in bad
                ]
            )
        geometry = gpd.points_from_xy(lon, lat)
        return gpd.GeoDataFrame(df.drop(columns=["lon", "lat"]), geometry=geometry, crs=4326)
    try:
        return gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several types for unreadable files
        raise InputError([Problem(str(path), f"cannot read as a GIS layer: {exc}")]) from None


def _read_csv(path: Path) -> pd.DataFrame:
    """A UTF-8 CSV as text columns; a GBK (ANSI) export or a malformed file is an InputError."""
    try:
        return pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    except UnicodeDecodeError as exc:
        try:
            path.read_bytes().decode("gb18030")
            guess = "it reads as GBK (Excel's default for Chinese); "
        except UnicodeDecodeError:
            guess = ""
        msg = f"not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start}): "
        raise InputError(
            [Problem(str(path), msg + guess + "save it again as 'CSV UTF-8'")]
        ) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError([Problem(str(path), f"cannot read as CSV: {exc}")]) from None


def load_layers(
    *,
    schools: str | Path | None,
    villages: str | Path | gpd.GeoDataFrame,
    boundary: str | Path,
    candidates: str | Path | None = None,
    coords: Mapping[str, str] | None = None,
) -> Layers:
    """Read and validate every layer, then project all to the UTM zone of the villages.

    Raises
    ------
    InputError
        Listing every problem in every layer.
    """
    problems: list[Problem] = []
    raw = {"villages": villages, "boundary": boundary}
    if schools is not None:
        raw["schools"] = schools
    if candidates is not None:
        raw["candidates"] = candidates
    labels = {
        k: f"{k} (derived)" if isinstance(v, gpd.GeoDataFrame) else str(v) for k, v in raw.items()
    }
    frames: dict[str, gpd.GeoDataFrame] = {}
    for name, path in raw.items():
        if isinstance(path, gpd.GeoDataFrame):  # made in memory (e.g. derived demand)
            frames[name] = path
            continue
        try:
            frames[name] = read_layer(path)
        except InputError as exc:
            problems += exc.problems
    if problems:
        raise InputError(problems)
    problems += _check_crs(frames, labels)
    if problems:
        raise InputError(problems)
    for name, system in (coords or {}).items():
        if name in frames and system not in ("wgs84", "cgcs2000"):
            from planning.coords import layer_to_wgs84

            frames[name] = layer_to_wgs84(frames[name], system)
    problems += _check_coordinates(frames, labels)
    if problems:
        raise InputError(problems)
    if "schools" in frames:
        schools_df, p1 = _clean_schools(frames["schools"], str(schools))
    else:
        schools_df, p1 = _empty_schools(frames["villages"].crs), []
    villages_df, p2 = _clean_points(
        frames["villages"], labels["villages"], "village_id", ("name",), VILLAGE_COUNTS
    )
    if "candidates" in frames:
        cands_df, p3 = _clean_points(frames["candidates"], str(candidates), "site_id", (), ())
    else:
        cands_df, p3 = _empty_candidates(frames["villages"].crs), []
    p4 = _check_polygons(frames["boundary"], str(boundary))
    p5 = _check_id_overlap(schools_df, cands_df, str(candidates))
    problems = p1 + p2 + p3 + p4 + p5
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise InputError(errors)
    return _project(
        schools_df,
        villages_df,
        cands_df,
        frames["boundary"],
        files=labels,
        warnings=[p for p in problems if p.severity == "warning"],
    )


def _check_crs(frames: dict[str, gpd.GeoDataFrame], paths: Mapping[str, object]) -> list[Problem]:
    return [
        Problem(
            str(paths[name]),
            "layer has no coordinate reference system (CRS); save it with one (e.g. EPSG:4326)",
            field="crs",
        )
        for name, gdf in frames.items()
        if gdf.crs is None
    ]


_ID_COLUMNS = {"schools": "school_id", "villages": "village_id", "candidates": "site_id"}


def _check_coordinates(
    frames: dict[str, gpd.GeoDataFrame], paths: Mapping[str, object]
) -> list[Problem]:
    """Coordinates that cannot be in the declared CRS (metres declared as degrees, degrees
    declared as metres, swapped or out-of-range longitudes/latitudes)."""
    out = []
    for name, gdf in frames.items():
        geom = gdf.geometry
        ok = ~(geom.isna() | geom.is_empty)
        if not ok.any():
            continue
        bounds = geom[ok].bounds
        id_col = _ID_COLUMNS.get(name)
        rows = gdf[id_col].astype(str) if id_col in gdf.columns else None
        if gdf.crs.is_geographic:
            out += _degree_problems(bounds, str(paths[name]), gdf.crs, rows)
        elif _inside_degrees(bounds).all():
            b = bounds
            out.append(
                Problem(
                    str(paths[name]),
                    f"the layer declares metres ({gdf.crs.to_string()}) but its coordinates "
                    f"(x {b.minx.min():.4f} to {b.maxx.max():.4f}, y {b.miny.min():.4f} to "
                    f"{b.maxy.max():.4f}) look like degrees: declare EPSG:4326 (WGS-84) or "
                    "EPSG:4490 (CGCS2000)",
                    field="crs",
                )
            )
    return out


def _inside_degrees(bounds: pd.DataFrame) -> pd.Series:
    x = (bounds["minx"] >= -180) & (bounds["maxx"] <= 180)
    return x & (bounds["miny"] >= -90) & (bounds["maxy"] <= 90)


def _degree_problems(
    bounds: pd.DataFrame, file: str, crs: CRS, rows: pd.Series | None
) -> list[Problem]:
    """Rows of a layer in degrees whose coordinates are no longitude/latitude."""
    bad = ~_inside_degrees(bounds)
    if not bad.any():
        return []
    swapped = _inside_degrees(bounds.set_axis(["miny", "minx", "maxy", "maxx"], axis=1))
    if bad.all() and swapped.all():
        msg = "longitude and latitude look swapped (latitudes over 90); swap the two columns"
        return [Problem(file, msg, field="crs")]
    if bad.all():
        return [
            Problem(
                file,
                f"the layer declares degrees ({crs.to_string()}) but its coordinates (x up to "
                f"{bounds['maxx'].abs().max():,.0f}) look like metres: declare the projected "
                "CRS they are in (e.g. the UTM or CGCS2000 Gauss-Krüger zone)",
                field="crs",
            )
        ]
    return [
        Problem(
            file,
            f"latitude {b.miny:g}, longitude {b.minx:g}: out of range "
            "(latitude within ±90, longitude within ±180)",
            row=str(rows.loc[i]) if rows is not None else str(n + 1),
            field="geometry",
        )
        for n, (i, b) in enumerate(bounds.iterrows())
        if bad.loc[i]
    ]


def _clean_schools(gdf: gpd.GeoDataFrame, file: str) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    gdf, problems = _clean_points(
        gdf, file, "school_id", ("name", "level"), SCHOOL_COUNTS, optional_counts=SCHOOL_RESOURCES
    )
    if "level" not in gdf.columns:
        return gdf, problems
    level = gdf["level"].astype(str).str.strip()
    level = level.map(lambda s: _LEVEL_WORDS.get(s, _LEVEL_WORDS.get(s.lower(), s.lower())))
    for sid in gdf.index[~level.isin(SCHOOL_LEVELS)]:
        problems.append(
            Problem(
                file,
                f"unknown level {gdf.at[sid, 'level']!r}; expected one "
                f"of {', '.join(SCHOOL_LEVELS)}",
                row=str(sid),
                field="level",
            )
        )
    gdf["level"] = level
    if "protected" in gdf.columns:
        gdf["protected"], bad = _flags(gdf["protected"])
        problems += [
            Problem(
                file,
                f"expected yes/no (1/0, true/false, 是/否), found {v!r}",
                row=str(sid),
                field="protected",
            )
            for sid, v in bad.items()
        ]
    if not problems:
        problems += _school_warnings(gdf, file)
    return gdf, problems


_YES = {"1", "true", "yes", "y", "是", "t"}
_NO = {"0", "false", "no", "n", "否", "f", "", "nan", "none"}


def _flags(col: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse a yes/no column; return the booleans and the unparseable raw values."""
    text = col.astype(str).str.strip().str.lower()
    bad = col[~text.isin(_YES | _NO)]
    return text.isin(_YES), bad


def _school_warnings(gdf: gpd.GeoDataFrame, file: str) -> list[Problem]:
    total = gdf["students_primary"] + gdf["students_junior"]
    out = [
        Problem(
            file, "school has 0 students", row=str(s), field="students_primary", severity="warning"
        )
        for s in gdf.index[total == 0]
    ]
    wrong = ((gdf["level"] == "junior") & (gdf["students_primary"] > 0)) | (
        gdf["level"].isin(["primary", "teaching_point"]) & (gdf["students_junior"] > 0)
    )
    out += [
        Problem(
            file,
            f"a {gdf.at[s, 'level']} school with students of the other level",
            row=str(s),
            severity="warning",
        )
        for s in gdf.index[wrong]
    ]
    return out


def _clean_points(
    gdf: gpd.GeoDataFrame,
    file: str,
    id_col: str,
    text_cols: tuple[str, ...],
    count_cols: tuple[str, ...],
    *,
    optional_counts: tuple[str, ...] = (),
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Check ids, geometry and counts of a point layer; return it indexed by ``id_col``."""
    if len(gdf) == 0:
        return gdf, [Problem(file, "layer is empty")]
    missing = [c for c in (id_col, *text_cols, *count_cols) if c not in gdf.columns]
    if missing:
        return gdf, [
            Problem(
                file,
                f"required column missing (columns found: {', '.join(map(str, gdf.columns))})",
                field=c,
            )
            for c in missing
        ]
    gdf = gdf.copy()
    gdf[id_col] = gdf[id_col].astype(str).str.strip()
    rows = gdf[id_col].where(gdf[id_col] != "", (gdf.index + 1).astype(str))
    problems = _check_ids(gdf[id_col], rows, file, id_col)
    problems += _check_geometry(gdf, rows, file)
    for col in count_cols + tuple(c for c in optional_counts if c in gdf.columns):
        values, found = _counts(gdf[col], rows, file, col)
        gdf[col] = values
        problems += found
    return gdf.set_index(id_col, drop=False).rename_axis(None), problems


def _check_ids(ids: pd.Series, rows: pd.Series, file: str, col: str) -> list[Problem]:
    out = [Problem(file, "empty id", row=str(r), field=col) for r in rows[ids == ""]]
    dup = ids[ids.duplicated(keep=False) & (ids != "")]
    out += [
        Problem(file, f"duplicate id {v!r} (appears {n} times)", row=str(v), field=col)
        for v, n in dup.value_counts().items()
    ]
    return out


def _check_geometry(gdf: gpd.GeoDataFrame, rows: pd.Series, file: str) -> list[Problem]:
    geom = gdf.geometry
    empty = geom.isna() | geom.is_empty
    out = [
        Problem(file, "missing or empty geometry", row=str(r), field="geometry")
        for r in rows[empty]
    ]
    not_point = ~empty & (geom.geom_type != "Point")
    out += [
        Problem(file, f"expected a Point, found {t}", row=str(r), field="geometry")
        for r, t in zip(rows[not_point], geom.geom_type[not_point], strict=True)
    ]
    return out


def _counts(
    col: pd.Series, rows: pd.Series, file: str, name: str
) -> tuple[pd.Series, list[Problem]]:
    """Parse a column of non-negative counts; report text, missing, infinite, negative and
    (for whole-number columns) fractional values."""
    values = pd.to_numeric(col, errors="coerce")
    blank = col.isna() | (col.astype(str).str.strip() == "")
    finite = np.isfinite(values)
    checks = [
        (values.isna() & blank, lambda raw, v: "expected a number, found nothing"),
        (values.isna() & ~blank, lambda raw, v: f"expected a number, found {raw!r}"),
        (values.notna() & ~finite, lambda raw, v: f"expected a finite number, found {raw!r}"),
        (finite & (values < 0), lambda raw, v: f"expected a count >= 0, found {v:g}"),
    ]
    if name not in _FRACTIONAL:
        fraction = finite & (values >= 0) & (values != values.round())
        checks.append((fraction, lambda raw, v: f"expected a whole number, found {v:g}"))
    problems = [
        Problem(file, message(raw, v), row=str(r), field=name)
        for mask, message in checks
        for r, raw, v in zip(rows[mask], col[mask], values[mask], strict=True)
    ]
    return values.where(finite, 0.0).clip(lower=0), problems


def _check_polygons(gdf: gpd.GeoDataFrame, file: str) -> list[Problem]:
    if len(gdf) == 0:
        return [Problem(file, "boundary layer is empty")]
    bad = ~gdf.geom_type.isin(["Polygon", "MultiPolygon"])
    out = [
        Problem(file, f"expected a Polygon, found {t}", row=str(i + 1), field="geometry")
        for i, t in zip(np.flatnonzero(bad), gdf.geom_type[bad], strict=True)
    ]
    invalid = ~bad & ~gdf.is_valid
    out += [
        Problem(
            file,
            "invalid polygon (self-intersecting?); repair it in a GIS",
            row=str(i + 1),
            field="geometry",
        )
        for i in np.flatnonzero(invalid)
    ]
    return out


def _check_id_overlap(
    schools: gpd.GeoDataFrame, cands: gpd.GeoDataFrame, file: str
) -> list[Problem]:
    if "site_id" not in cands.columns or "school_id" not in schools.columns:
        return []
    both = sorted(set(cands["site_id"]) & set(schools["school_id"]))
    return [
        Problem(file, "candidate site id is also a school id", row=s, field="site_id") for s in both
    ]


def _empty_schools(crs: object) -> gpd.GeoDataFrame:
    """No existing schools (a plan from scratch): the columns, no rows."""
    cols = {c: pd.Series(dtype=object) for c in ("school_id", "name", "level", "township")}
    cols |= {c: pd.Series(dtype=float) for c in SCHOOL_COUNTS}
    return gpd.GeoDataFrame(cols, geometry=[], crs=crs)


def _empty_candidates(crs: object) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"site_id": pd.Series(dtype=str)}, geometry=[], crs=crs)


def _project(
    schools: gpd.GeoDataFrame,
    villages: gpd.GeoDataFrame,
    cands: gpd.GeoDataFrame,
    boundary: gpd.GeoDataFrame,
    *,
    files: Mapping[str, str],
    warnings: list[Problem],
) -> Layers:
    crs = villages.to_crs(4326).estimate_utm_crs()
    logger.info("projecting layers to %s", crs.name)
    out = [g.to_crs(crs) for g in (schools, villages, cands, boundary)]
    area = out[3].union_all()
    problems = [
        p
        for name, gdf in zip(("schools", "villages", "candidates"), out[:3], strict=True)
        for p in _outside(gdf, area, files.get(name, name), name)
    ]
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise InputError(errors)
    return Layers(
        schools=out[0],
        villages=out[1],
        candidates=out[2],
        boundary=out[3],
        warnings=warnings + problems,
    )


_NEAR_M = 100.0  # a point this close outside the boundary is not reported
_FAR_M = 10_000.0  # a whole layer this far outside the boundary is in the wrong place


def _outside(gdf: gpd.GeoDataFrame, area: object, file: str, layer: str) -> list[Problem]:
    """Points outside the boundary (warnings); a whole layer far outside it is an error."""
    if len(gdf) == 0:
        return []
    dist = gdf.distance(area)
    if (dist > _FAR_M).all():
        return [
            Problem(
                file,
                f"every point of the {layer} layer lies outside the boundary, the nearest "
                f"{dist.min() / 1000:,.0f} km from it: is the layer's CRS (or the boundary) right?",
                field="crs",
            )
        ]
    return [
        Problem(
            file,
            f"point lies outside the boundary ({d:,.0f} m)",
            row=str(i),
            field=_ID_COLUMNS[layer],
            severity="warning",
        )
        for i, d in dist[dist > _NEAR_M].items()
    ]
