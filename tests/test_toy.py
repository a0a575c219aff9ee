"""The toy county, whose optimal plan is worked out by hand.

Villages V0..V9 lie on one road at x = 0..9 km, 40 primary and 20 junior children each.
Primary schools: A at 1 km (4 classrooms = 4 villages), B at 4 km (3 classrooms), C at 8 km
(4 classrooms), teaching point T at 6 km (1 classroom = 1 village); junior school J at 5 km.
Keeping a school costs 1000, a student-km costs 1; children walk at most 3 km.

Fewest primary schools: the 10 villages need 3 schools, and any three that include T hold at most
4 + 4 + 1 = 9 villages (reach also forbids A+C+T covering V5..V9 with one classroom), so A, B, C
stay and T closes. Reach: A serves V0-V4, B V1-V7, C V5-V9. V0 must go to A, V9 to C. The cheapest
split is A{V0,V1,V2}, B{V3,V4,V5}, C{V6,V7,V8,V9}: 1+0+1 + 1+0+1 + 2+1+0+1 = 8 km per child,
320 student-km; the only other split with B full, A{V0..V3}, B{V4,V5,V6}, costs 9 km per child.
Juniors all go to J: 20 x (5+4+3+2+1+0+1+2+3+4) = 500 student-km. The new school at X (5000)
never pays. Objective: 4 x 1000 + 320 + 500 = 4820.
"""

from __future__ import annotations

import pandas as pd
import pytest

from planning.pipeline import plan_scenario
from planning.scenario import load_scenario
from tests.invariants import check_plan_object

EXPECTED_PRIMARY = {
    "V0": "A",
    "V1": "A",
    "V2": "A",
    "V3": "B",
    "V4": "B",
    "V5": "B",
    "V6": "C",
    "V7": "C",
    "V8": "C",
    "V9": "C",
}


@pytest.fixture(scope="module")
def toy_plan(toy_scenario):
    scenario = load_scenario(toy_scenario)
    plan, _ = plan_scenario(scenario)
    check_plan_object(plan, scenario)
    return plan


def test_toy_decisions_match_hand_solution(toy_plan):
    decision = toy_plan.schools["decision"].to_dict()
    assert decision == {"A": "keep", "B": "keep", "C": "keep", "T": "close", "J": "keep"}


def test_toy_catchments_match_hand_solution(toy_plan):
    v = toy_plan.villages
    assert v["school_primary"].to_dict() == EXPECTED_PRIMARY
    assert set(v["school_junior"]) == {"J"}


def test_toy_classes_and_objective(toy_plan):
    s = toy_plan.schools
    assert s.loc[["A", "B", "C", "J"], "classes_primary"].tolist() == [3, 3, 4, 0]
    assert s.at["J", "classes_junior"] == 4  # 200 juniors at 50 per class
    summary = toy_plan.summary
    assert summary["status"] == "optimal"
    assert summary["gap"] == pytest.approx(0.0, abs=1e-6)
    # osmnx measures edges on the sphere: 1 km of the toy road is 998.6 m
    assert summary["objective"] == pytest.approx(4820, rel=2e-3)
    assert summary["travel"]["primary"]["max_m"] == pytest.approx(2000, rel=2e-3)


def test_toy_model_without_network_is_exact():
    """The same instance straight into the model core, with exact kilometres."""
    from planning.model import ModelInput, build_model, solve

    villages = [f"V{i}" for i in range(10)]
    schools = {"A": (1, 4), "B": (4, 3), "C": (8, 4), "T": (6, 1)}
    demand = pd.DataFrame({"village_id": villages, "level": "primary", "students": 40})
    options = pd.DataFrame(
        {
            "site_id": list(schools),
            "fixed_cost": 1000.0,
            "closed_cost": 0.0,
            "max_students": 2000,
            "forced": "",
            "max_classes": [float(c) for _, c in schools.values()],
        },
        index=list(schools),
    )
    pairs = pd.DataFrame(
        [
            (v, "primary", j, 40.0 * abs(i - x))
            for i, v in enumerate(villages)
            for j, (x, _) in schools.items()
            if abs(i - x) <= 3
        ],
        columns=["village_id", "level", "option_id", "cost"],
    )
    result = solve(build_model(ModelInput(demand, options, pairs, class_size={"primary": 45})))
    assert result.status == "optimal"
    assert result.objective == pytest.approx(3320.0)
    assert sorted(result.open_options) == ["A", "B", "C"]
    got = dict(zip(result.assignment["village_id"], result.assignment["option_id"], strict=True))
    assert got == EXPECTED_PRIMARY


def test_toy_places_per_township(toy_plan):
    """A, B, C stay open with 4 + 3 + 4 classrooms: 495 primary places for 400 children; J
    has 10 classrooms: 500 junior places for 200."""
    town = toy_plan.summary["townships"]["甲乡"]
    assert town["primary"] == {"children": 400, "places": 495, "needed": 0}
    assert town["junior"] == {"children": 200, "places": 500, "needed": 0}
