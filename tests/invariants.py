"""A shared checker of plan invariants, rebuilt from the plan's own tables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from planning.plan import SERVES, Plan
from planning.scenario import LEVELS, Expand, Scenario


def check_plan(out: Path, scenario: Scenario) -> None:
    """Assert every rule of the plan written in ``out`` (plan.gpkg and summary.json)."""
    schools = gpd.read_file(out / "plan.gpkg", layer="schools").set_index("school_id")
    villages = gpd.read_file(out / "plan.gpkg", layer="villages").set_index("village_id")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    check_tables(schools, villages, summary, scenario)


def check_plan_object(plan: Plan, scenario: Scenario) -> None:
    """Assert every rule of an in-memory plan."""
    check_tables(plan.schools, plan.villages, plan.summary, scenario)


def check_tables(
    schools: pd.DataFrame, villages: pd.DataFrame, summary: dict[str, Any], scenario: Scenario
) -> None:
    """The invariants: assignment, levels, travel, enrolment, classes, sizes, closures."""
    assert schools.index.is_unique and villages.index.is_unique
    open_ids = set(schools.index[schools["decision"] != "close"])
    for lvl in LEVELS:
        _check_level(schools, villages, summary, scenario, lvl, open_ids)
    closed = schools[schools["decision"] == "close"]
    assert (closed[["students_primary", "students_junior"]].to_numpy() == 0).all(), (
        "closed schools receive students"
    )
    if scenario.mode == "optimize":  # an evaluated plan may break rules: metrics report it
        _check_sizes(schools[schools["decision"] != "close"], scenario)
        _check_budget(summary, scenario)


def _check_budget(summary: dict[str, Any], scenario: Scenario) -> None:
    """What counts against the budget (recomputed from the plan's costs) stays within it."""
    budget = scenario.costs.budget_wan
    costs = summary["costs_wan"]
    counted = costs["capital"] + (
        costs["bus"] + costs["boarding"] if scenario.costs.budget_includes_transport else 0.0
    )
    assert costs["against_budget"] == pytest.approx(counted, abs=0.2)
    if budget is not None:
        assert counted <= budget + 0.5, f"spends {counted:,.1f} of a budget of {budget:,.1f}"


def _check_level(
    schools: pd.DataFrame,
    villages: pd.DataFrame,
    summary: dict[str, Any],
    scenario: Scenario,
    lvl: str,
    open_ids: set[str],
) -> None:
    col = f"school_{lvl}"
    served = villages[villages[col].notna()]
    bad = served[~served[col].isin(open_ids)]
    assert bad.empty, f"{lvl}: villages assigned to closed/unknown schools: {list(bad.index)}"
    levels = schools.loc[served[col], "level"].to_numpy()
    wrong = [v for v, k in zip(served.index, levels, strict=True) if lvl not in SERVES[k]]
    assert not wrong, f"{lvl}: villages assigned to a school without that level: {wrong}"
    lost = villages.loc[villages[col].isna(), f"children_{lvl}"].sum()
    assert lost == summary["students"]["unassigned_by_level"][lvl]
    if lost and scenario.mode == "optimize":
        assert scenario.rules.allow_unassigned, f"{lvl}: {lost} children unassigned"
    limit = scenario.travel.of(lvl).max_distance_m
    board = scenario.boarding.max_distance(lvl)
    rides = _check_bus(served, scenario, lvl)
    beyond = (served[f"distance_m_{lvl}"] > limit + 1e-6) & ~rides
    if board is not None:  # boarders: beyond the daily limit, within the boarding limit
        beyond &= ~(served[f"distance_m_{lvl}"] <= board + 1e-6)
    far = served[beyond]
    assert far.empty, f"{lvl}: villages beyond {limit} m: {list(far.index)}"
    if f"boarding_{lvl}" in served and "boarding_places" in schools:
        boarders = served[served[f"boarding_{lvl}"].astype(bool)]
        per_school = boarders.groupby(col)[f"children_{lvl}"].sum()
        room = schools["boarding_places"].reindex(per_school.index).fillna(0)
        assert (per_school <= room + 1e-6).all(), f"{lvl}: boarders over places: {per_school}"
    load = served.groupby(col)[f"children_{lvl}"].sum()
    if lvl == "primary" and scenario.rules.teaching_point_top_grade is not None:
        load = _check_teaching_points(schools, villages, scenario, load)
    enrol = schools[f"students_{lvl}"]
    assert (enrol.reindex(load.index) == load).all(), f"{lvl}: enrolment != children assigned"
    assert (enrol.drop(load.index, errors="ignore") == 0).all(), f"{lvl}: phantom students"
    size = scenario.rules.class_size(lvl)  # classes are the fewest that hold the students
    over = schools[schools[f"students_{lvl}"] > schools[f"classes_{lvl}"] * size]
    assert over.empty, f"{lvl}: classes over {size} students at {list(over.index)}"


def _check_teaching_points(
    schools: pd.DataFrame, villages: pd.DataFrame, scenario: Scenario, load: pd.Series
) -> pd.Series:
    """Teaching points teach grades 1..N only: a village's school_primary is a teaching point
    only when it has no upper-grade children; lower grades taught apart from the upper ones
    are at a teaching point. Returns the primary load per school with those lower grades."""
    top = scenario.rules.teaching_point_top_grade
    points = set(schools.index[schools["level"] == "teaching_point"])
    kids = villages["children_primary"]
    upper = kids - np.floor(kids * top / 6 + 0.5)
    at_point = villages["school_primary"].isin(points)
    bad = villages[at_point & (upper > 0)]
    assert bad.empty, f"teaching points teach upper grades of {list(bad.index)}"
    apart = villages[villages["school_primary_lower"].notna()]
    wrong = apart[apart["school_primary"].notna() & ~apart["school_primary_lower"].isin(points)]
    assert wrong.empty, f"lower grades apart from the upper ones, not at a teaching point: {wrong}"
    assert (apart["school_primary_lower"] != apart["school_primary"]).all()
    assert (
        apart["children_primary_lower"] == np.floor(apart["children_primary"] * top / 6 + 0.5)
    ).all()
    moved = apart[apart["school_primary"].notna()]
    load = load.sub(moved.groupby("school_primary")["children_primary_lower"].sum(), fill_value=0)
    lower = apart.groupby("school_primary_lower")["children_primary_lower"].sum()
    load = load.add(lower, fill_value=0)
    return load[load > 0]


def _check_bus(served: pd.DataFrame, scenario: Scenario, lvl: str) -> pd.Series:
    """Bus riders of ``lvl``: only where a bus runs, within its limits, never boarders."""
    col = f"bus_{lvl}"
    rides = served[col].eq(True) if col in served else pd.Series(False, index=served.index)
    far = scenario.school_bus.max_distance(lvl)
    if far is None:
        assert not rides.any(), f"{lvl}: bus riders without a bus: {list(served.index[rides])}"
        return rides
    trips = served[rides]
    over = trips[f"distance_m_{lvl}"] > far + 1e-6
    most = scenario.school_bus.max_minutes(lvl)
    if most is not None:
        over |= trips[f"minutes_{lvl}"] > most + 1e-6
    assert not over.any(), f"{lvl}: bus rides beyond the bus limit: {list(trips.index[over])}"
    if f"boarding_{lvl}" in served:
        both = rides & served[f"boarding_{lvl}"].eq(True)
        assert not both.any(), f"{lvl}: riding and boarding: {list(served.index[both])}"
    return rides


def _check_sizes(live: pd.DataFrame, scenario: Scenario) -> None:
    rules = scenario.rules
    total = live["students_primary"] + live["students_junior"]
    cap = np.array([rules.max_students_of(k) for k in live["level"]])
    assert (total <= cap).all(), f"school size over limit at {list(live.index[total > cap])}"
    classes = live["classes_primary"] + live["classes_junior"]
    assert (classes <= live["classrooms"]).all(), (
        f"more classes than classrooms at {list(live.index[classes > live['classrooms']])}"
    )
    limit = np.array([rules.max_classes(k) or np.inf for k in live["level"]])
    assert (classes <= limit).all(), (
        f"class-count limit broken at {list(live.index[classes > limit])}"
    )
    added = live.get("classrooms_added", pd.Series(0, index=live.index))
    fixed = {a.expand: a.classrooms for a in scenario.actions if isinstance(a, Expand)}
    most = pd.Series(fixed).reindex(live.index).fillna(scenario.expansion.max_classrooms)
    assert (added <= most).all(), f"expansions over the limit at {list(live.index[added > most])}"
    assert ((added > 0) == (live["decision"] == "expand")).all()
    protected = set(rules.protected_schools)
    if "protected" in live:
        protected |= set(live.index[live["protected"].fillna(False).astype(bool)])
    small = live[(total < rules.min_students) & ~live.index.isin(protected)]
    assert small.empty, f"open schools under {rules.min_students} students: {list(small.index)}"
