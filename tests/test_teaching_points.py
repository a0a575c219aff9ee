"""Teaching points (教学点) teaching only the lower primary grades, hand-checked on the toy county
(see tests/test_toy.py): villages V0..V9 at x = 0..9 km, 40 primary children each; primary
schools A (x=1, 4 classrooms), B (x=4, 3), C (x=8, 4), teaching point T (x=6, 1 classroom);
keeping a school costs 1000, a student-km 1; primary children walk at most 3 km.

With ``teaching_point_top_grade: 4`` a village reaching T (V3..V9) has 27 children in grades 1-4
(40 x 4/6 = 26.7, rounded) and 13 in grades 5-6. T's one class (45) holds one village's lower
grades, never two (54). Only V6 gains from T (2 km to C, 0 to T): with T kept (protected), V6's
grades 1-4 go to T, its grades 5-6 to C; the other villages keep the toy's schools. Objective:
5 x 1000 + 320 - 27 x 2 + 500 = 5766 (without the rule V6 goes wholly to T: 5740).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from planning._errors import InputError
from planning.instance import grade_rows
from planning.pipeline import plan_scenario
from planning.scenario import Scenario, load_scenario
from tests.conftest import toy_variant
from tests.invariants import check_plan_object


def _toy(toy_scenario: Path, tmp_path: Path, **rules: Any) -> Path:
    """A copy of the toy county with ``rules`` merged into its scenario's rules."""
    return toy_variant(toy_scenario, tmp_path, rules=rules)


def _plan(path: Path) -> tuple[Any, Scenario]:
    scenario = load_scenario(path)
    plan, _ = plan_scenario(scenario)
    check_plan_object(plan, scenario)
    return plan, scenario


def test_teaching_point_takes_only_the_lower_grades(toy_scenario, tmp_path):
    plan, _ = _plan(
        _toy(toy_scenario, tmp_path, protected_schools=["T"], teaching_point_top_grade=4)
    )
    v, s = plan.villages, plan.schools
    assert v.loc["V6", "school_primary"] == "C"
    assert v.loc["V6", "school_primary_lower"] == "T"
    assert v.loc["V6", "children_primary_lower"] == 27
    assert v.loc["V6", "distance_m_primary_lower"] == pytest.approx(0, abs=1)
    assert v["school_primary_lower"].notna().sum() == 1
    assert (v["children_primary_lower"].drop("V6") == 0).all()
    expected = {"V0": "A", "V1": "A", "V2": "A", "V3": "B", "V4": "B", "V5": "B"}
    expected |= {"V6": "C", "V7": "C", "V8": "C", "V9": "C"}
    assert v["school_primary"].to_dict() == expected
    # T: V6's grades 1-4; C: V6's grades 5-6 plus V7..V9, in 3 classes of 45
    assert s.loc["T", "students_primary"] == 27 and s.loc["T", "classes_primary"] == 1
    assert s.loc["C", "students_primary"] == 13 + 120 and s.loc["C", "classes_primary"] == 3
    assert s["students_primary"].sum() == 400
    # osmnx measures edges on the sphere: 1 km of the toy road is 998.6 m
    assert plan.summary["objective"] == pytest.approx(5766, rel=2e-3)


def test_without_the_rule_the_teaching_point_takes_whole_villages(toy_scenario, tmp_path):
    plan, _ = _plan(_toy(toy_scenario, tmp_path, protected_schools=["T"]))
    assert plan.villages.loc["V6", "school_primary"] == "T"
    assert plan.schools.loc["T", "students_primary"] == 40
    assert "school_primary_lower" not in plan.villages
    assert plan.summary["objective"] == pytest.approx(5740, rel=2e-3)


def test_rule_changes_nothing_when_the_teaching_point_does_not_pay(toy_scenario, tmp_path):
    """T closes in the toy anyway (it saves less than its 1000): the plan is the toy's, every
    village's grades together."""
    default, _ = _plan(toy_scenario)
    plan, _ = _plan(_toy(toy_scenario, tmp_path, teaching_point_top_grade=3))
    cols = ["school_primary", "school_junior", "distance_m_primary"]
    pd.testing.assert_frame_equal(plan.villages[cols], default.villages[cols])
    assert plan.summary["objective"] == pytest.approx(default.summary["objective"])
    assert plan.villages["school_primary_lower"].isna().all()
    assert plan.schools.loc["T", "decision"] == "close"


def test_grade_rows_split_half_up():
    demand = pd.DataFrame(
        {
            "village_id": ["a", "b", "c"],
            "level": ["primary", "primary", "junior"],
            "students": [40, 1, 9],
        }
    )
    rows = grade_rows(demand, 3).set_index(["village_id", "level"])["students"]
    assert rows.to_dict() == {
        ("a", "primary_lower"): 20,
        ("b", "primary_lower"): 1,
        ("a", "primary_upper"): 20,
        ("b", "primary_upper"): 0,
    }


@pytest.mark.parametrize("grade", [0, 6, 2.5])
def test_top_grade_must_be_a_grade_below_six(toy_scenario, tmp_path, grade):
    with pytest.raises(InputError, match=r"rules\.teaching_point_top_grade"):
        load_scenario(_toy(toy_scenario, tmp_path, teaching_point_top_grade=grade))


def test_not_with_phasing_yet(toy_scenario, tmp_path):
    path = _toy(toy_scenario, tmp_path, teaching_point_top_grade=3)
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["phasing"] = {"years": [2026, 2028]}
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(InputError, match=r"not supported with phasing\.years"):
        load_scenario(path)
