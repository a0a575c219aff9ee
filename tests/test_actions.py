"""Actions and modes on the toy county (villages V0..V9 at x = 0..9 km; schools A at 1 km,
B at 4, C at 8, teaching point T at 6, junior school J at 5; candidate site X at 6.5 km;
primary children walk at most 3 km). See tests/test_toy.py for the plan without actions."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from planning._errors import InfeasiblePlanError, InputError
from planning.pipeline import plan_scenario
from planning.scenario import load_scenario
from tests.invariants import check_plan_object


def _plan(toy_scenario: Path, tmp_path: Path, **top: object):
    folder = tmp_path / "toy"
    shutil.copytree(toy_scenario.parent, folder)
    path = folder / toy_scenario.name
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc.update(top)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    scenario = load_scenario(path)
    plan, _ = plan_scenario(scenario)
    check_plan_object(plan, scenario)
    return plan


def test_keep_holds_a_school_open(toy_scenario, tmp_path):
    plan = _plan(toy_scenario, tmp_path, actions=[{"keep": "T"}])
    assert plan.schools.at["T", "decision"] == "keep"
    assert plan.villages.at["V6", "school_primary"] == "T"  # 0 km instead of 2 km to C


def test_close_closes_and_the_optimizer_reassigns(toy_scenario, tmp_path):
    plan = _plan(
        toy_scenario,
        tmp_path,
        actions=[{"close": "C"}, {"keep": "T"}],
        new_school_types=[{"id": "P12", "level": "primary", "classes": 12, "build_cost_wan": 5000}],
    )
    assert plan.schools.at["C", "decision"] == "close"
    # V8, V9 are within 3 km of T (6 km) and X (6.5 km) only; T has one classroom
    assert plan.schools.at["X", "decision"] == "new"


def test_build_at_a_candidate_site(toy_scenario, tmp_path):
    plan = _plan(toy_scenario, tmp_path, actions=[{"build": "P12", "at": "X"}])
    assert plan.schools.at["X", "decision"] == "new"
    assert plan.schools.at["X", "type_id"] == "P12"
    assert plan.summary["costs_wan"]["build"] == 5000


def test_build_at_coordinates_creates_a_site(toy_scenario, tmp_path):
    from planning.examples import _toy_lonlat

    lon, lat = _toy_lonlat(np.array([2.5]), np.array([0.0]))
    plan = _plan(
        toy_scenario,
        tmp_path,
        actions=[{"build": "P12", "lon": float(lon[0]), "lat": float(lat[0]), "name": "新区小学"}],
    )
    assert plan.schools.at["A1", "decision"] == "new"
    assert plan.schools.at["A1", "name"] == "新区小学"


def test_expand_adds_classrooms(toy_scenario, tmp_path):
    plan = _plan(toy_scenario, tmp_path, actions=[{"expand": "A", "classrooms": 2}])
    assert plan.schools.at["A", "decision"] == "expand"
    assert plan.schools.at["A", "classrooms"] == 6
    assert plan.schools.at["A", "classrooms_added"] == 2


def test_assign_fixes_a_village_school(toy_scenario, tmp_path):
    plan = _plan(toy_scenario, tmp_path, actions=[{"assign": "V2", "to": "B", "level": "primary"}])
    assert plan.villages.at["V2", "school_primary"] == "B"


def test_merge_sends_todays_children_to_the_receiving_school(toy_scenario, tmp_path):
    # today T is the nearest school of V6 only; merging T into C sends V6 to C
    plan = _plan(toy_scenario, tmp_path, actions=[{"merge": "T", "into": "C"}])
    assert plan.schools.at["T", "decision"] == "close"
    assert plan.villages.at["V6", "school_primary"] == "C"


def test_merge_beyond_the_travel_limit_is_refused_with_names(toy_scenario, tmp_path):
    # today B serves V3, V4, V5 (V5: B and T tie at 1 km; the lower id wins); V5 is 4 km from A
    with pytest.raises(InfeasiblePlanError, match=r"merge B into A: A is beyond .* V5 \(primary\)"):
        _plan(toy_scenario, tmp_path, actions=[{"merge": "B", "into": "A"}])


def test_forbid_keeps_a_site_empty(toy_scenario, tmp_path):
    plan = _plan(toy_scenario, tmp_path, actions=[{"forbid": "X"}])
    assert "X" not in plan.schools.index


def test_unknown_ids_fail_validation_naming_the_action(toy_scenario, tmp_path):
    with pytest.raises(InputError) as err:
        _plan(
            toy_scenario,
            tmp_path,
            actions=[{"close": "NOPE"}, {"assign": "V99", "to": "A"}, {"forbid": "Y"}],
        )
    text = str(err.value)
    assert "field 'actions[0]': unknown school id 'NOPE'" in text
    assert "field 'actions[1]': unknown village id 'V99'" in text
    assert "field 'actions[2]': unknown site id 'Y'" in text


def test_evaluate_today_sends_everyone_to_the_nearest_school(toy_scenario, tmp_path):
    plan = _plan(toy_scenario, tmp_path, mode="evaluate")
    assert plan.summary["status"] == "evaluated"
    assert set(plan.schools["decision"]) == {"keep"}
    expected = {
        "V0": "A",
        "V1": "A",
        "V2": "A",
        "V3": "B",
        "V4": "B",
        "V5": "B",
        "V6": "T",
        "V7": "C",
        "V8": "C",
        "V9": "C",
    }
    assert plan.villages["school_primary"].to_dict() == expected


def test_evaluate_reports_what_a_written_plan_breaks(toy_scenario, tmp_path):
    # closing C sends V7, V8 and V9 (3 km) to the one-classroom teaching point T, beside V6
    plan = _plan(toy_scenario, tmp_path, mode="evaluate", actions=[{"close": "C"}])
    assert plan.schools.at["T", "students_primary"] == 160
    assert plan.summary["violations"]["class_size"] == 1
