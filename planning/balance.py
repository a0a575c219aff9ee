"""Balance between schools (校际均衡): coefficients of variation of the resource indicators.

The national quality-balance evaluation (县域义务教育优质均衡发展督导评估办法, 教督〔2017〕6号)
inspects seven resource indicators per school and their coefficient of variation (差异系数)
across the county's schools of each level: at most 0.50 for primary schools and 0.45 for
junior schools. This module computes those coefficients before and after a plan.

**The coefficient.** The measurement notes that go with the county evaluations
("县域义务教育校际均衡指标计算方法(以生均图书册数为例)"; "义务教育均衡发展差异系数计算方法及数据
来源", written for the basic-balance evaluation and kept by the quality-balance one) weigh each
school by its students::

    X̄  = sum_i P_i X_i / P                      (student-weighted county mean)
    CV = sqrt( sum_i P_i (X_i - X̄)^2 / P ) / X̄

with ``X_i`` the indicator of school ``i``, ``P_i`` its students and ``P`` all students of the
level. It is a population (not a sample) standard deviation, weighted by students. The note's
worked example (5 primary schools, books per student) gives CV = 0.52; see
``tests/test_balance.py``.

**Schools counted.** Primary: primary schools, teaching points (unless smaller than
``min_teaching_point_students``; some provinces, e.g. Hebei's rules, leave out teaching points
under 50 students) and the primary part of nine-year schools. Junior: junior schools and the
junior part of nine-year schools. Schools without students of the level are left out.

**Nine-year schools (a documented convention).** The statistics give a nine-year school's
resources as one total. They are split between its parts by weighted student share, as the
measurement notes of the basic-balance evaluation do (测算均衡系数拆分: "一个小学生:一个初中生
= 1:1.1"): the primary part gets ``P / (P + w J)`` and the junior part ``w J / (P + w J)`` of
every resource, ``P``, ``J`` its primary and junior students and ``w = junior_weight`` (1.1;
set 1.0 for a plain student share). The quality-balance rules themselves do not fix a split.

**After the plan.**

- A closed school's movable resources (the three teacher counts, equipment value, multimedia
  rooms) go to its receiving school (:func:`receiving_schools`, or a mapping the caller gives);
  its floor area and sports ground stay behind and leave the count.
- A new school is built and staffed to a standard: each indicator of each level equals
  ``standard[level][indicator]`` for its planned students (default :data:`NATIONAL_STANDARD`,
  the evaluation's minimum per school).
- Classrooms added to an expanded school bring the standard floor area for one class each
  (class size x standard floor area per student, primary values for nine-year schools).
- Teachers are not redeployed between open schools: an open school that loses students to a
  new school keeps its staff, so its per-student figures rise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from planning._errors import InputError, Problem

__all__ = [
    "INDICATORS",
    "JUNIOR_WEIGHT",
    "NATIONAL_STANDARD",
    "RESOURCE_COLUMNS",
    "THRESHOLDS",
    "Indicator",
    "balance_summary",
    "balance_table",
    "receiving_schools",
    "weighted_cv",
]

LEVELS: Final = ("primary", "junior")
_SERVES: Final[dict[str, tuple[str, ...]]] = {
    "primary": ("primary",),
    "teaching_point": ("primary",),
    "junior": ("junior",),
    "nine_year": ("primary", "junior"),
}


@dataclass(frozen=True)
class Indicator:
    """One resource indicator: a school column divided by students, times ``scale``.

    Attributes
    ----------
    column
        The schools-table column holding the resource (docs/data.md).
    scale
        Factor from (resource / students) to the indicator's unit: 100 for "per 100 students",
        10,000 for 万元 to yuan.
    unit
        The indicator's unit.
    movable
        Whether the resource moves to the receiving school when a school closes.
    """

    column: str
    scale: float
    unit: str
    movable: bool


INDICATORS: Final[dict[str, Indicator]] = {
    "teachers_qualified": Indicator("teachers_qualified", 100.0, "per_100_students", True),
    "teachers_backbone": Indicator("teachers_backbone", 100.0, "per_100_students", True),
    "teachers_pe_art": Indicator("teachers_pe_art", 100.0, "per_100_students", True),
    "floor_area": Indicator("floor_area_m2", 1.0, "m2_per_student", False),
    "sports_area": Indicator("sports_area_m2", 1.0, "m2_per_student", False),
    "equipment_value": Indicator("equipment_value_wan", 10_000.0, "yuan_per_student", True),
    "multimedia_rooms": Indicator("multimedia_rooms", 100.0, "per_100_students", True),
}
"""The seven indicators of the quality-balance evaluation, keyed by a short name."""

RESOURCE_COLUMNS: Final = tuple(ind.column for ind in INDICATORS.values())

NATIONAL_STANDARD: Final[dict[str, dict[str, float]]] = {
    "primary": {
        "teachers_qualified": 4.2,
        "teachers_backbone": 1.0,
        "teachers_pe_art": 0.9,
        "floor_area": 4.5,
        "sports_area": 7.5,
        "equipment_value": 2000.0,
        "multimedia_rooms": 2.3,
    },
    "junior": {
        "teachers_qualified": 5.3,
        "teachers_backbone": 1.0,
        "teachers_pe_art": 0.9,
        "floor_area": 5.8,
        "sports_area": 10.2,
        "equipment_value": 2500.0,
        "multimedia_rooms": 2.4,
    },
}
"""Minimum per school of each indicator, in the indicator's unit (教督〔2017〕6号, 资源配置 1-7).

Primary / junior: qualified teachers 4.2 / 5.3 and backbone teachers 1 / 1 per 100 students
(as restated in Hebei's 具体办法), PE and art teachers 0.9 / 0.9 per 100, floor area 4.5 / 5.8 m²
and sports ground 7.5 / 10.2 m² per student, equipment 2,000 / 2,500 yuan per student,
multimedia rooms 2.3 / 2.4 per 100. Used as the standard a new school is built and staffed to.
"""

THRESHOLDS: Final[dict[str, float]] = {"primary": 0.50, "junior": 0.45}
"""Largest coefficient of variation allowed per level (教督〔2017〕6号)."""

JUNIOR_WEIGHT: Final = 1.1
"""Weight of a junior student against a primary one when splitting a nine-year school."""

_CLASS_SIZE: Final[dict[str, int]] = {"primary": 45, "junior": 50}


def weighted_cv(values: np.ndarray, weights: np.ndarray) -> float:
    """Student-weighted coefficient of variation ``sqrt(sum w (x - m)^2 / sum w) / m``.

    Parameters
    ----------
    values : numpy.ndarray
        The indicator of each school (any unit).
    weights : numpy.ndarray
        Students of each school (>= 0).

    Returns
    -------
    float
        The coefficient (dimensionless), NaN without students or with a zero mean.
    """
    values = np.asarray(values, dtype=float)
    weights = np.asarray(weights, dtype=float)
    total = weights.sum()
    if total <= 0:
        return float("nan")
    mean = float((weights * values).sum() / total)
    if mean == 0:
        return float("nan")
    return float(np.sqrt((weights * (values - mean) ** 2).sum() / total) / mean)


def receiving_schools(schools: gpd.GeoDataFrame, villages: gpd.GeoDataFrame) -> pd.Series:
    """The open school that takes most of each closed school's former students.

    The catchments before the plan are not in the data, so a closed school's former villages are
    taken to be those nearer to it (straight line) than to any other school that served their
    level before the plan. Their children of that level are counted at the school they go to
    after the plan; the receiving school is the one with most of them, both levels together.
    A closed school with no such village goes to the nearest open school (straight line).

    Parameters
    ----------
    schools : geopandas.GeoDataFrame
        ``Plan.schools`` (index ``school_id``; ``level``, ``decision``), in a metric CRS.
    villages : geopandas.GeoDataFrame
        ``Plan.villages`` (``children_<level>``, ``school_<level>``), same CRS.

    Returns
    -------
    pandas.Series
        Receiving school id, indexed by closed school id.
    """
    schools, villages = _by_id(schools, "school_id"), _by_id(villages, "village_id")
    closed = schools.index[schools["decision"] == "close"]
    if len(closed) == 0:
        return pd.Series(dtype=object, name="receiving")
    votes = pd.concat([_votes(schools, villages, lvl) for lvl in LEVELS])
    votes = votes[votes["closed"].isin(closed)]
    totals = votes.groupby(["closed", "receiving"])["children"].sum().reset_index()
    best = totals.sort_values(["closed", "children", "receiving"], ascending=[True, False, True])
    out = best.drop_duplicates("closed").set_index("closed")["receiving"]
    rest = closed.difference(out.index)
    if len(rest):
        out = pd.concat([out, _nearest_open(schools, rest)])
    return out.reindex(closed).rename("receiving").rename_axis("school_id")


def _by_id(frame: pd.DataFrame, column: str) -> Any:
    """``frame`` indexed by its id column when it has one (a plan read back from a file)."""
    if column not in frame or frame.index.equals(pd.Index(frame[column])):
        return frame
    return frame.set_index(column, drop=False).rename_axis(None)


def _votes(schools: gpd.GeoDataFrame, villages: gpd.GeoDataFrame, level: str) -> pd.DataFrame:
    """Children of ``level`` per (nearest school before, school after) pair."""
    before = schools[(schools["decision"] != "new") & _serves(schools, level)]
    kids = villages[(villages[f"children_{level}"] > 0) & villages[f"school_{level}"].notna()]
    if before.empty or kids.empty:
        return pd.DataFrame(columns=["closed", "receiving", "children"])
    left = gpd.GeoDataFrame(
        {"receiving": kids[f"school_{level}"].to_numpy(), "children": kids[f"children_{level}"]},
        geometry=kids.geometry.to_numpy(),
        index=kids.index,
        crs=kids.crs,
    )
    right = gpd.GeoDataFrame({"closed": before.index}, geometry=before.geometry.to_numpy())
    near = gpd.sjoin_nearest(left, right.set_crs(kids.crs, allow_override=True))
    near = near[~near.index.duplicated()]
    return near[["closed", "receiving", "children"]]


def _nearest_open(schools: gpd.GeoDataFrame, ids: pd.Index) -> pd.Series:
    open_ = schools[schools["decision"] != "close"]
    left = gpd.GeoDataFrame(geometry=schools.loc[ids].geometry.to_numpy(), index=ids)
    right = gpd.GeoDataFrame({"receiving": open_.index}, geometry=open_.geometry.to_numpy())
    near = gpd.sjoin_nearest(left.set_crs(schools.crs), right.set_crs(schools.crs))
    return near[~near.index.duplicated()]["receiving"]


def _serves(schools: pd.DataFrame, level: str) -> pd.Series:
    return schools["level"].map(lambda k: level in _SERVES.get(str(k), ())).astype(bool)


def balance_table(
    schools: pd.DataFrame,
    receiving: Mapping[str, str],
    *,
    standard: Mapping[str, Mapping[str, float]] = NATIONAL_STANDARD,
    thresholds: Mapping[str, float] = THRESHOLDS,
    target: float | None = None,
    junior_weight: float = JUNIOR_WEIGHT,
    class_size: Mapping[str, int] = _CLASS_SIZE,
    min_teaching_point_students: int = 0,
) -> pd.DataFrame:
    """Coefficient of variation of each indicator and level, before and after the plan.

    Parameters
    ----------
    schools : pandas.DataFrame
        ``Plan.schools``: index ``school_id``; ``level``, ``decision``,
        ``students_<level>_before``, ``students_<level>`` and the resource columns
        :data:`RESOURCE_COLUMNS` (docs/data.md); ``classrooms_added`` if any.
    receiving : Mapping[str, str]
        Closed school id -> open school that takes its movable resources
        (see :func:`receiving_schools`).
    standard : Mapping[str, Mapping[str, float]]
        Per level and indicator, the value a new school is given, in the indicator's unit
        (:data:`INDICATORS`); default :data:`NATIONAL_STANDARD`.
    thresholds : Mapping[str, float]
        Largest coefficient allowed per level; default 0.50 primary, 0.45 junior.
    target : float, optional
        A stricter local target (e.g. 0.30, Wenzhou); adds a ``meets_target`` column.
    junior_weight : float
        Weight of a junior student when splitting a nine-year school's resources (module doc).
    class_size : Mapping[str, int]
        Students per class per level, for the floor area of added classrooms.
    min_teaching_point_students : int
        Teaching points with fewer students than this are left out (0: none left out).

    Returns
    -------
    pandas.DataFrame
        One row per level and indicator: ``level, indicator, unit, schools_before,
        schools_after, mean_before, mean_after, cv_before, cv_after, threshold, ok_before, ok``
        (``ok``: after the plan within the threshold), and ``target, meets_target`` when
        ``target`` is given. Means are student-weighted, in the indicator's unit.

    Raises
    ------
    InputError
        If resource columns are missing or a receiving school is not an open school.
    """
    schools = _by_id(schools, "school_id")
    _check(schools, receiving)
    min_tp = min_teaching_point_students
    before = schools[list(RESOURCE_COLUMNS)].apply(pd.to_numeric, errors="coerce")
    after = _resources_after(before, schools, receiving, standard=standard, class_size=class_size)
    rows = []
    for level in LEVELS:
        parts = {
            "before": _level_parts(schools, before, level, "before", junior_weight, min_tp),
            "after": _level_parts(schools, after, level, "after", junior_weight, min_tp),
        }
        for key, ind in INDICATORS.items():
            row: dict[str, Any] = {"level": level, "indicator": key, "unit": ind.unit}
            for when, part in parts.items():
                row.update(_figures(part, ind, when))
            rows.append(row)
    table = pd.DataFrame(rows)
    table["threshold"] = table["level"].map(thresholds).astype(float)
    table["ok_before"] = table["cv_before"] <= table["threshold"]
    table["ok"] = table["cv_after"] <= table["threshold"]
    if target is not None:
        table["target"] = float(target)
        table["meets_target"] = table["cv_after"] <= target
    return table


def _check(schools: pd.DataFrame, receiving: Mapping[str, str]) -> None:
    problems = [
        Problem("schools", "resource column missing (needed for the balance table)", field=c)
        for c in RESOURCE_COLUMNS
        if c not in schools.columns
    ]
    open_ids = set(schools.index[schools["decision"] != "close"])
    problems += [
        Problem("receiving", f"closed school {c!r} goes to {r!r}, which is not an open school")
        for c, r in receiving.items()
        if r not in open_ids
    ]
    if problems:
        raise InputError(problems)


def _resources_after(
    before: pd.DataFrame,
    schools: pd.DataFrame,
    receiving: Mapping[str, str],
    *,
    standard: Mapping[str, Mapping[str, float]],
    class_size: Mapping[str, int],
) -> pd.DataFrame:
    """Resource columns of every school after the plan (closed schools keep theirs, unused)."""
    res = before.astype(float)
    new = schools["decision"] == "new"
    for key, ind in INDICATORS.items():
        built = sum(schools[f"students_{lvl}"] * standard[lvl][key] / ind.scale for lvl in LEVELS)
        res[ind.column] = res[ind.column].where(~new, built)
    moves = pd.Series(receiving, dtype=object)
    moves = moves[moves.index.isin(schools.index)]
    movable = [ind.column for ind in INDICATORS.values() if ind.movable]
    gained = res.loc[moves.index, movable].fillna(0.0).groupby(moves.to_numpy()).sum()
    res.loc[gained.index, movable] = res.loc[gained.index, movable].fillna(0.0) + gained
    res["floor_area_m2"] += _added_floor(schools, standard, class_size)
    return res


def _added_floor(
    schools: pd.DataFrame,
    standard: Mapping[str, Mapping[str, float]],
    class_size: Mapping[str, int],
) -> pd.Series:
    """Floor area (m²) of classrooms added to expanded schools: one standard class each."""
    if "classrooms_added" not in schools:
        return pd.Series(0.0, index=schools.index)
    lvl = schools["level"].map(lambda k: "junior" if k == "junior" else "primary")
    per_room = lvl.map(lambda v: class_size[v] * standard[v]["floor_area"])
    return schools["classrooms_added"].fillna(0).astype(float) * per_room


def _level_parts(
    schools: pd.DataFrame,
    resources: pd.DataFrame,
    level: str,
    when: Literal["before", "after"],
    junior_weight: float,
    min_teaching_point_students: int,
) -> pd.DataFrame:
    """The ``level`` part of every school counted: its students and its share of resources."""
    sfx = "_before" if when == "before" else ""
    p = schools[f"students_primary{sfx}"].astype(float)
    j = schools[f"students_junior{sfx}"].astype(float)
    students = p if level == "primary" else j
    live = schools["decision"] != ("new" if when == "before" else "close")
    small = (schools["level"] == "teaching_point") & (students < min_teaching_point_students)
    keep = live & _serves(schools, level) & (students > 0) & ~small
    mixed = (p + junior_weight * j).where(lambda s: s > 0, 1.0)
    share = (p if level == "primary" else junior_weight * j) / mixed
    share = share.where(schools["level"] == "nine_year", 1.0)
    out = resources.loc[keep].mul(share[keep], axis=0)
    out["students"] = students[keep]
    return out


def _figures(part: pd.DataFrame, ind: Indicator, when: str) -> dict[str, float | int]:
    valid = part[part[ind.column].notna()]
    weights = valid["students"].to_numpy(dtype=float)
    values = valid[ind.column].to_numpy(dtype=float) / weights * ind.scale
    mean = float(np.average(values, weights=weights)) if weights.sum() > 0 else float("nan")
    return {
        f"schools_{when}": len(valid),
        f"mean_{when}": mean,
        f"cv_{when}": weighted_cv(values, weights),
    }


def balance_summary(table: pd.DataFrame, *, digits: int = 3) -> dict[str, Any]:
    """The balance table as a dict for ``summary.json`` and the report.

    Shape: ``{"primary": {indicator: cv_after, ..., "limit": 0.5}, "junior": {...},
    "before": {"primary": {indicator: cv_before, ...}, "junior": {...}}, "ok": bool}``, with
    ``"target"`` and ``"meets_target"`` when the table has a target. CVs are rounded to
    ``digits``; a CV that cannot be computed (no school of the level) is ``None``.
    """
    out: dict[str, Any] = {}
    before: dict[str, Any] = {}
    for level, rows in table.groupby("level", sort=False):
        out[str(level)] = {
            **_cvs(rows, "cv_after", digits),
            "limit": float(rows["threshold"].iloc[0]),
        }
        before[str(level)] = _cvs(rows, "cv_before", digits)
    out["before"] = before
    out["ok"] = bool(table.loc[table["cv_after"].notna(), "ok"].all())
    if "target" in table:
        out["target"] = float(table["target"].iloc[0])
        out["meets_target"] = bool(table.loc[table["cv_after"].notna(), "meets_target"].all())
    return out


def _cvs(rows: pd.DataFrame, col: str, digits: int) -> dict[str, float | None]:
    return {
        str(k): (None if pd.isna(v) else round(float(v), digits))
        for k, v in zip(rows["indicator"], rows[col], strict=True)
    }
