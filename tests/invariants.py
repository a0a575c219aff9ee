"""A shared checker of plan invariants, rebuilt from the written plan.gpkg."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np

from planning.plan import SERVES
from planning.scenario import LEVELS, Scenario


def check_plan(out: Path, scenario: Scenario) -> None:
    """Assert every rule of the plan in ``out/plan.gpkg`` (raises AssertionError naming rows)."""
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    schools = gpd.read_file(out / "plan.gpkg", layer="schools").set_index("school_id")
    villages = gpd.read_file(out / "plan.gpkg", layer="villages").set_index("village_id")
    open_ids = set(schools.index[schools["decision"] != "close"])
    rules = scenario.rules
    for lvl in LEVELS:
        col = f"school_{lvl}"
        served = villages[villages[col].notna()]
        # every village with children of this level is assigned once (or reported unassigned)
        assert villages.index.is_unique
        # to an open school that teaches this level
        bad = served[~served[col].isin(open_ids)]
        assert bad.empty, f"{lvl}: villages assigned to closed/unknown schools: {list(bad.index)}"
        levels = schools.loc[served[col], "level"].to_numpy()
        wrong = [v for v, k in zip(served.index, levels, strict=True) if lvl not in SERVES[k]]
        assert not wrong, f"{lvl}: villages assigned to a school without that level: {wrong}"
        # children left unassigned are exactly those the summary reports
        lost = villages.loc[villages[col].isna(), f"children_{lvl}"].sum()
        assert lost == summary["students"]["unassigned_by_level"][lvl]
        # within the travel limit
        limit = scenario.travel.of(lvl).max_distance_m
        far = served[served[f"distance_m_{lvl}"] > limit + 1e-6]
        assert far.empty, f"{lvl}: villages beyond {limit} m: {list(far.index)}"
        # enrolment equals the children assigned; classes hold them at the legal size
        load = served.groupby(col)[f"children_{lvl}"].sum()
        enrol = schools[f"students_{lvl}"]
        assert (enrol.reindex(load.index) == load).all(), f"{lvl}: enrolment != children assigned"
        assert (enrol.drop(load.index, errors="ignore") == 0).all(), f"{lvl}: phantom students"
        size = rules.class_size(lvl)
        over = schools[schools[f"students_{lvl}"] > schools[f"classes_{lvl}"] * size]
        assert over.empty, f"{lvl}: classes over {size} students at {list(over.index)}"
    closed = schools[schools["decision"] == "close"]
    assert (closed[["students_primary", "students_junior"]].to_numpy() == 0).all()
    live = schools[schools["decision"] != "close"]
    total = live["students_primary"] + live["students_junior"]
    cap = np.where(live["level"] == "nine_year", rules.max_students_nine_year, rules.max_students)
    assert (total <= cap).all(), f"school size over limit at {list(live.index[total > cap])}"
    classes = live["classes_primary"] + live["classes_junior"]
    assert (classes <= live["classrooms"]).all(), (
        f"more classes than classrooms at {list(live.index[classes > live['classrooms']])}"
    )
