"""Hand-off to land-use planning (用地移交): school sites to reserve, sites freed, a workbook.

The land-use planners (自然资源和规划局) put new schools into the detailed plan as reserved
education land (教育用地红线) and look for new uses of closed schools. This module gives them:

- :func:`new_sites`: one reserve polygon per new school, of the land the school needs;
- :func:`closed_sites`: the closed schools with their buildings and grounds;
- :func:`write_report_xlsx`: any of these tables (and the balance or catchment tables) as an
  Excel workbook with Chinese headings, readable in Excel and WPS.

**Land need.** A standard design's ``land_m2`` (scenario ``new_school_types``) is used when
given. Otherwise the land is the design's places times a land norm per student
(:data:`LAND_M2_PER_STUDENT`: 20 m² primary, 25 m² junior). Those defaults are the common
provincial minimums for new schools outside city centres (e.g. the basic-balance standards:
小学生均占地不低于 20 m², 初中不低于 25 m²); the national rural standard (农村普通中小学校建设
标准, 建标109-2008) sets land by school size, and its table could not be checked here, so treat
the norm as a setting to replace with the province's figure. The places of a design are its
classes times the class size; a nine-year design's classes are split 6:3 between primary and
junior (grades 1-6 and 7-9).
"""

from __future__ import annotations

import math
import os
import re
import tempfile
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from planning.i18n import STRINGS, t

if TYPE_CHECKING:
    from planning.plan import Plan
    from planning.scenario import Scenario

__all__ = [
    "LAND_M2_PER_STUDENT",
    "closed_sites",
    "design_places",
    "new_sites",
    "write_report_xlsx",
]

LAND_M2_PER_STUDENT: Final[dict[str, float]] = {"primary": 20.0, "junior": 25.0}
"""Default land norm, m² per place (student), per level (see the module docstring)."""

_GRADES: Final[dict[str, int]] = {"primary": 6, "junior": 3}
_LEVELS_OF: Final[dict[str, tuple[str, ...]]] = {
    "primary": ("primary",),
    "teaching_point": ("primary",),
    "junior": ("junior",),
    "nine_year": ("primary", "junior"),
}
_VALUE_KEYS: Final[dict[str, str]] = {
    "level": "level_",
    "decision": "decision_",
    "indicator": "balance_",
    "unit": "unit_",
    "status": "exclave_",
    "land_basis": "land_basis_",
}
_SHEET_NAME_BAD: Final = re.compile(r"[\[\]:*?/\\]")
_MAX_WIDTH: Final = 60
_DECIMALS: Final = 4  # decimals kept in the workbook (coefficients, means, metres)


def design_places(level: str, classes: int, class_size: Mapping[str, int]) -> dict[str, int]:
    """Places (students) per level of a design with ``classes`` classes.

    A nine-year design's classes are split between primary and junior as 6:3 (grades),
    primary rounded to the nearest class.

    Parameters
    ----------
    level : str
        ``primary``, ``teaching_point``, ``junior`` or ``nine_year``.
    classes : int
        Classes (classrooms) of the design.
    class_size : Mapping[str, int]
        Students per class per level.

    Returns
    -------
    dict[str, int]
        Places per level (students), both levels present.
    """
    served = _LEVELS_OF[level]
    grades = sum(_GRADES[lvl] for lvl in served)
    per_level = {"primary": 0, "junior": 0}
    primary = round(classes * _GRADES["primary"] / grades) if "primary" in served else 0
    per_level["primary"] = primary * class_size["primary"]
    if "junior" in served:
        per_level["junior"] = (classes - primary) * class_size["junior"]
    return per_level


def new_sites(
    plan: Plan,
    scenario: Scenario,
    *,
    land_m2_per_student: Mapping[str, float] = LAND_M2_PER_STUDENT,
) -> gpd.GeoDataFrame:
    """The new schools' sites to reserve, for the ``new_sites`` layer of ``plan.gpkg``.

    Parameters
    ----------
    plan : Plan
        The plan; its ``schools`` rows with ``decision == "new"`` are used.
    scenario : Scenario
        For the standard designs (``new_school_types``, their ``land_m2``) and class sizes.
    land_m2_per_student : Mapping[str, float]
        Land norm per level, m² per place, for designs without ``land_m2``.

    Returns
    -------
    geopandas.GeoDataFrame
        ``school_id, name, township, type_id, level, classes, places, students_primary,
        students_junior, students, land_m2, land_basis`` (``type`` or ``norm``) and the reserve
        polygon: a square of ``land_m2`` centred on the site, in the plan's CRS.
    """
    schools = _by_id(plan.schools)
    new = schools[schools["decision"] == "new"]
    types = {st.id: st for st in scenario.new_school_types}
    sizes = {lvl: scenario.rules.class_size(lvl) for lvl in ("primary", "junior")}
    places = [
        design_places(str(k), int(c), sizes)
        for k, c in zip(new["level"], new["classrooms"], strict=True)
    ]
    norm = np.array([sum(p[lvl] * land_m2_per_student[lvl] for lvl in p) for p in places])
    given = np.array(
        [
            _type_land(types, tid, row)
            for tid, row in zip(new["type_id"], new["land_m2"], strict=True)
        ]
        if "land_m2" in new
        else [_type_land(types, tid, None) for tid in new["type_id"]],
        dtype=float,
    )
    land = np.where(np.isnan(given), norm, given)
    table = pd.DataFrame(
        {
            "school_id": new.index.astype(str),
            "name": new["name"].astype(str).to_numpy(),
            "township": new.get("township", pd.Series("", index=new.index)).to_numpy(),
            "type_id": new["type_id"].to_numpy(),
            "level": new["level"].to_numpy(),
            "classes": new["classrooms"].astype(int).to_numpy(),
            "places": [sum(p.values()) for p in places],
            "students_primary": new["students_primary"].astype(int).to_numpy(),
            "students_junior": new["students_junior"].astype(int).to_numpy(),
            "students": (new["students_primary"] + new["students_junior"]).astype(int).to_numpy(),
            "land_m2": np.round(land, 1),
            "land_basis": np.where(np.isnan(given), "norm", "type"),
        }
    )
    return (
        gpd.GeoDataFrame(
            table, geometry=_squares(new.geometry, land).to_numpy(), crs=plan.schools.crs
        )
        .set_index("school_id", drop=False)
        .rename_axis(None)
    )


def _by_id(schools: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``schools`` indexed by ``school_id`` (a plan read back from a file has a plain index)."""
    if "school_id" not in schools or schools.index.equals(pd.Index(schools["school_id"])):
        return schools
    return schools.set_index("school_id", drop=False).rename_axis(None)


def _type_land(types: Mapping[str, Any], type_id: object, listed: object) -> float:
    st = types.get(str(type_id))
    if st is not None and st.land_m2 is not None:
        return float(st.land_m2)
    if listed is not None and not pd.isna(listed):  # type: ignore[call-overload]
        return float(listed)  # type: ignore[arg-type]
    return float("nan")


def _squares(points: gpd.GeoSeries, area_m2: np.ndarray) -> gpd.GeoSeries:
    """Squares of ``area_m2`` centred on ``points``, measured in metres, in the points' CRS."""
    metric = points if points.crs is None or points.crs.is_projected else None
    if metric is None:
        metric = points.to_crs(points.estimate_utm_crs())
    half = np.sqrt(np.asarray(area_m2, dtype=float)) / 2.0
    x, y = metric.x.to_numpy(), metric.y.to_numpy()
    boxes = gpd.GeoSeries(
        shapely.box(x - half, y - half, x + half, y + half), index=points.index, crs=metric.crs
    )
    return boxes if metric is points else boxes.to_crs(points.crs)


def closed_sites(plan: Plan, *, receiving: Mapping[str, str] | None = None) -> gpd.GeoDataFrame:
    """The closed schools, for reuse (``closed_sites`` layer of ``plan.gpkg``).

    Parameters
    ----------
    plan : Plan
        The plan; its ``schools`` rows with ``decision == "close"`` are used.
    receiving : Mapping[str, str], optional
        Closed school id -> receiving school id (:func:`planning.balance.receiving_schools`);
        adds a ``receiving`` column.

    Returns
    -------
    geopandas.GeoDataFrame
        ``school_id, name, township, level, students_primary_before, students_junior_before,
        students_before, floor_area_m2`` (m²), ``sports_area_m2`` (m²), [``receiving``] and
        the school's point, in the plan's CRS. Missing area columns are left empty.
    """
    schools = _by_id(plan.schools)
    s = schools[schools["decision"] == "close"]
    out = pd.DataFrame(
        {
            "school_id": s.index.astype(str),
            "name": s["name"].astype(str).to_numpy(),
            "township": s.get("township", pd.Series("", index=s.index)).to_numpy(),
            "level": s["level"].to_numpy(),
            "students_primary_before": s["students_primary_before"].astype(int).to_numpy(),
            "students_junior_before": s["students_junior_before"].astype(int).to_numpy(),
        }
    )
    out["students_before"] = out["students_primary_before"] + out["students_junior_before"]
    for col in ("floor_area_m2", "sports_area_m2"):
        out[col] = pd.to_numeric(s[col], errors="coerce").to_numpy() if col in s else np.nan
    if receiving is not None:
        out["receiving"] = [receiving.get(i) for i in out["school_id"]]
    return (
        gpd.GeoDataFrame(out, geometry=s.geometry.to_numpy(), crs=plan.schools.crs)
        .set_index("school_id", drop=False)
        .rename_axis(None)
    )


# -- the workbook ----------------------------------------------------------------------------------


def write_report_xlsx(
    tables: Mapping[str, pd.DataFrame], path: str | Path, *, lang: str = "zh"
) -> Path:
    """Write ``tables`` to an Excel workbook, one sheet each, atomically.

    Headings, sheet names and coded values (level, decision, indicator, status, unit) are taken
    from :mod:`planning.i18n` (keys ``xlsx_sheet_<name>``, ``xlsx_col_<column>``, ...), in
    Chinese by default; unknown names stay as they are. A GeoDataFrame's geometry becomes
    ``lon``/``lat`` (WGS-84) of its representative point. Cells hold values only (no formulas:
    text starting with ``=`` stays text); columns are sized to their content, the heading row is
    bold and frozen. The file is written to a temporary file beside ``path``, then moved.

    Parameters
    ----------
    tables : Mapping[str, pandas.DataFrame]
        Sheet key -> table, in sheet order.
    path : str or pathlib.Path
        The ``.xlsx`` file to write.
    lang : {"zh", "en"}
        Language of headings and values.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    from openpyxl import Workbook

    path = Path(path)
    t("xlsx_yes", lang)  # checks the language before anything is written
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    used: set[str] = set()
    for key, df in tables.items():
        sheet = book.create_sheet(_sheet_name(key, lang, used))
        _fill(sheet, _readable(df, lang), lang)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".xlsx", dir=path.parent)
    os.close(fd)
    try:
        book.save(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _label(key: str, lang: str) -> str | None:
    return t(key, lang) if key in STRINGS else None


def _sheet_name(key: str, lang: str, used: set[str]) -> str:
    base = _SHEET_NAME_BAD.sub("_", _label(f"xlsx_sheet_{key}", lang) or key)[:31] or "sheet"
    name, n = base, 2
    while name.lower() in used:
        suffix = f" ({n})"
        name, n = base[: 31 - len(suffix)] + suffix, n + 1
    used.add(name.lower())
    return name


def _readable(df: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The table with geometry as lon/lat, floats rounded and coded values translated."""
    out = pd.DataFrame(df).copy()
    geo = isinstance(df, gpd.GeoDataFrame) and df.geometry.name in df
    if geo:
        out = out.drop(columns=[df.geometry.name])
    floats = out.select_dtypes("floating").columns
    out[floats] = out[floats].round(_DECIMALS)
    if geo and df.crs is not None and len(df):
        points = df.geometry.representative_point().to_crs(4326)
        out["lon"], out["lat"] = points.x.round(6), points.y.round(6)
    for col, prefix in _VALUE_KEYS.items():
        if col in out:
            out[col] = out[col].map(lambda v, p=prefix: _label(f"{p}{v}", lang) or v)
    return out.reset_index(drop=True)


def _fill(sheet: Any, df: pd.DataFrame, lang: str) -> None:
    from openpyxl.styles import Font

    headers = [_label(f"xlsx_col_{c}", lang) or str(c) for c in df.columns]
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in df.itertuples(index=False):
        sheet.append([_cell_value(v, lang) for v in row])
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"  # text, never a formula
    sheet.freeze_panes = "A2"
    _set_widths(sheet, headers, df)


def _cell_value(value: Any, lang: str) -> Any:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if value is None or (isinstance(value, float | np.floating) and math.isnan(value)):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return t("xlsx_yes" if value else "xlsx_no", lang)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    if isinstance(value, int | float):
        return value
    return str(value)


def _set_widths(sheet: Any, headers: list[str], df: pd.DataFrame) -> None:
    from openpyxl.utils import get_column_letter

    for i, header in enumerate(headers, start=1):
        values = [str(v) for v in df.iloc[:, i - 1].head(500) if v is not None]
        widest = max([_display_width(header), *map(_display_width, values)])
        sheet.column_dimensions[get_column_letter(i)].width = min(widest + 2, _MAX_WIDTH)


def _display_width(text: str) -> int:
    """Width in Excel character units: East Asian wide characters count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
