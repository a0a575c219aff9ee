"""The plan: the solver's decisions turned into school and village tables keyed by real ids."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from planning.model import SolveResult
from planning.scenario import LEVELS, Scenario

SERVES = {
    "primary": ("primary",),
    "teaching_point": ("primary",),
    "junior": ("junior",),
    "nine_year": ("primary", "junior"),
}
# demand levels of the villages that can reach a teaching point, when teaching points teach only
# the lower grades (``rules.teaching_point_top_grade``): grades 1..N and N+1..6
LOWER, UPPER = "primary_lower", "primary_upper"


@dataclass(frozen=True)
class Plan:
    """One scenario's result.

    Attributes
    ----------
    name
        Scenario name.
    schools
        One row per existing school and per new school (``decision``: keep, close, new), with
        enrolment and classes per level before and after.
    villages
        One row per village: school and travel (metres, minutes) per level.
    catchments
        One polygon per open school and level.
    layers
        Further layers of ``plan.gpkg`` (``new_sites``, ``closed_sites``).
    tables
        Tables of ``report.xlsx`` (balance, catchment repairs and exclaves...).
    summary
        Headline figures (see :func:`planning.metrics.summarise`).
    """

    name: str
    schools: gpd.GeoDataFrame
    villages: gpd.GeoDataFrame
    catchments: gpd.GeoDataFrame
    summary: dict[str, Any] = field(default_factory=dict)
    layers: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)  # more plan.gpkg layers
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)  # sheets of report.xlsx


def school_table(
    schools: gpd.GeoDataFrame,
    candidates: gpd.GeoDataFrame,
    options: pd.DataFrame,
    result: SolveResult,
    assigned: pd.DataFrame,
    scenario: Scenario,
) -> gpd.GeoDataFrame:
    """Existing and new schools with their decision and enrolment/classes after the plan.

    ``assigned`` has ``village_id, level, school_id, students`` (one row per served demand).
    """
    open_ids = set(result.open_options)
    old = schools.copy()
    old["decision"] = np.where(old.index.isin(open_ids), "keep", "close")
    old["type_id"] = ""
    old["students_primary_before"] = old["students_primary"].astype(int)
    old["students_junior_before"] = old["students_junior"].astype(int)
    old["classes_primary_before"] = old["classes_primary"].astype(int)
    old["classes_junior_before"] = old["classes_junior"].astype(int)
    old["max_students"] = np.where(
        old["level"] == "nine_year",
        scenario.rules.max_students_nine_year,
        scenario.rules.max_students,
    )
    added = result.expansions.set_index("option_id")["classrooms_added"]
    old["classrooms_added"] = added.reindex(old.index).fillna(0).astype(int)
    old["classrooms_before"] = old["classrooms"].astype(int)
    old["classrooms"] = old["classrooms_before"] + old["classrooms_added"]
    old.loc[(old["decision"] == "keep") & (old["classrooms_added"] > 0), "decision"] = "expand"
    new = _new_schools(candidates, options, open_ids, scenario)
    table = pd.concat([old, new])
    load = (
        assigned.pivot_table(index="school_id", columns="level", values="students", aggfunc="sum")
        .reindex(columns=list(LEVELS))
        .fillna(0)
    )
    for lvl in LEVELS:
        students = load[lvl].reindex(table.index).fillna(0).astype(int)
        table[f"students_{lvl}"] = students
        size = scenario.rules.class_size(lvl)
        table[f"classes_{lvl}"] = np.ceil(students / size).astype(int)
    used = table["classes_primary"] + table["classes_junior"]
    table["utilisation"] = np.where(table["classrooms"] > 0, used / table["classrooms"].clip(1), 0)
    return gpd.GeoDataFrame(table, geometry="geometry", crs=schools.crs)


def _new_schools(
    candidates: gpd.GeoDataFrame, options: pd.DataFrame, open_ids: set[str], scenario: Scenario
) -> gpd.GeoDataFrame:
    built = options[options.index.isin(open_ids) & (options["kind"] == "new")]
    site = candidates.loc[built["site_id"]]
    types = {t.id: t for t in scenario.new_school_types}
    return gpd.GeoDataFrame(
        {
            "school_id": built["site_id"].to_numpy(),
            "name": site["name"].astype(str).to_numpy() if "name" in site else built["site_id"],
            "level": built["school_level"].to_numpy(),
            "township": site["township"].to_numpy() if "township" in site else "",
            "decision": "new",
            "type_id": built["type_id"].to_numpy(),
            "students_primary_before": 0,
            "students_junior_before": 0,
            "classes_primary_before": 0,
            "classes_junior_before": 0,
            "classrooms": built["max_classes"].astype(int).to_numpy(),
            "classrooms_before": 0,
            "classrooms_added": 0,
            "max_students": built["max_students"].astype(int).to_numpy(),
            "build_cost_wan": [types[t].build_cost_wan for t in built["type_id"]],
            "boarding_places": built["boarding_places"].to_numpy()
            if "boarding_places" in built
            else 0.0,
            "land_m2": [types[t].land_m2 for t in built["type_id"]],
        },
        geometry=site.geometry.to_numpy(),
        index=built["site_id"].to_numpy(),
        crs=candidates.crs,
    )


def fold_grades(assigned: pd.DataFrame, demand: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fold the ``primary_lower`` / ``primary_upper`` rows of an assignment back into
    ``primary``.

    Parameters
    ----------
    assigned : pandas.DataFrame
        ``village_id, level, school_id, students`` (students of the row's grades).
    demand : pandas.DataFrame
        ``village_id, level, students``, with the grade rows.

    Returns
    -------
    main : pandas.DataFrame
        One row per assigned village and level. A village's primary row is the school of its
        upper grades, holding its lower grades too when they go there; the school of its lower
        grades when it has no upper-grade children.
    lower : pandas.DataFrame
        Lower grades (level ``primary``) taught elsewhere than the village's upper grades: at a
        teaching point, or unassigned upper grades.
    """
    grades = assigned["level"].isin([LOWER, UPPER])
    low = assigned[assigned["level"] == LOWER].set_index("village_id")
    up = assigned[assigned["level"] == UPPER].set_index("village_id")
    wants_up = demand.loc[(demand["level"] == UPPER) & (demand["students"] > 0), "village_id"]
    up_school = up["school_id"].reindex(low.index)
    together = up_school.eq(low["school_id"]).to_numpy()
    alone = (up_school.isna() & ~low.index.isin(wants_up)).to_numpy()
    added = low.loc[together, "students"].reindex(up.index).fillna(0)
    up["students"] = (up["students"] + added).astype(up["students"].dtype)
    main = pd.concat(
        [assigned[~grades], up.reset_index(), low[alone].reset_index()], ignore_index=True
    )
    main.loc[main["level"].isin([LOWER, UPPER]), "level"] = "primary"
    lower = low[~together & ~alone].reset_index().assign(level="primary")
    return main, lower


def village_table(
    villages: gpd.GeoDataFrame,
    assigned: pd.DataFrame,
    costs: dict[str, pd.DataFrame],
    *,
    lower: pd.DataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Villages with their school and travel per level (NaN where unassigned), and
    ``bus_<level>`` where the travel tables have a ``bus`` column (the trip is a bus ride).

    With ``lower`` (see :func:`fold_grades`): ``school_primary_lower``, ``children_primary_lower``
    and ``distance_m_primary_lower`` / ``minutes_primary_lower``, the school and trip of the
    village's lower primary grades where they are not taught at ``school_primary`` (NaN and 0
    elsewhere).
    """
    out = villages.copy()
    for lvl in LEVELS:
        a = _with_trips(assigned[assigned["level"] == lvl], costs[lvl])
        out[f"school_{lvl}"] = a["school_id"].reindex(out.index)
        out[f"distance_m_{lvl}"] = a["distance_m"].reindex(out.index)
        out[f"minutes_{lvl}"] = a["minutes"].reindex(out.index)
        if "bus" in a:
            out[f"bus_{lvl}"] = a["bus"].reindex(out.index).eq(True)
    if lower is not None:
        a = _with_trips(lower, costs["primary"])
        out["school_primary_lower"] = a["school_id"].reindex(out.index)
        out["children_primary_lower"] = a["students"].reindex(out.index).fillna(0).astype(int)
        out["distance_m_primary_lower"] = a["distance_m"].reindex(out.index)
        out["minutes_primary_lower"] = a["minutes"].reindex(out.index)
    return out


def _with_trips(assigned: pd.DataFrame, costs: pd.DataFrame) -> pd.DataFrame:
    """Rows ``village_id, school_id[, students]`` with their trip, indexed by village."""
    cols = [c for c in ("village_id", "school_id", "students") if c in assigned]
    return (
        assigned[cols]
        .merge(
            costs,
            left_on=["village_id", "school_id"],
            right_on=["village_id", "site_id"],
            how="left",
        )
        .set_index("village_id")
    )
