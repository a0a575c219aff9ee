"""School rules, one small hand-checked example each (see issue: the school rules, fully)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from planning._errors import InfeasiblePlanError
from planning.diagnose import budget_report
from planning.model import ModelInput, build_model, solve
from planning.pipeline import plan_scenario
from planning.scenario import Rules, load_scenario
from tests.conftest import toy_variant
from tests.invariants import check_plan_object


def _options(**cols: list) -> pd.DataFrame:
    ids = cols.pop("id")
    n = len(ids)
    base = {
        "site_id": ids,
        "fixed_cost": [0.0] * n,
        "closed_cost": [0.0] * n,
        "max_students": [2000.0] * n,
        "max_classes": [float("nan")] * n,
        "forced": [""] * n,
    }
    base.update(cols)
    return pd.DataFrame(base, index=ids)


def _pairs(rows: list[tuple[str, str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["village_id", "level", "option_id", "cost"])


def test_91_primary_students_need_3_classes():
    """A (2 classrooms, near) cannot hold 91 at 45 per class; B (3 classrooms) can."""
    demand = pd.DataFrame({"village_id": ["V"], "level": ["primary"], "students": [91]})
    options = _options(id=["A", "B"], max_classes=[2.0, 3.0])
    pairs = _pairs([("V", "primary", "A", 1.0), ("V", "primary", "B", 5.0)])
    r = solve(build_model(ModelInput(demand, options, pairs, class_size={"primary": 45})))
    assert r.assignment["option_id"].tolist() == ["B"]
    assert r.classes.set_index("option_id").at["B", "classes"] == 3


def test_nine_year_school_takes_2500_but_not_2501():
    rules = Rules()
    demand = pd.DataFrame(
        {"village_id": ["V", "V"], "level": ["primary", "junior"], "students": [1600, 900]}
    )
    options = _options(id=["N", "FAR"], max_students=[rules.max_students_of("nine_year"), 2000.0])
    pairs = _pairs(
        [
            ("V", "primary", "N", 1.0),
            ("V", "junior", "N", 1.0),
            ("V", "primary", "FAR", 50.0),
            ("V", "junior", "FAR", 50.0),
        ]
    )
    sizes = {"primary": 45, "junior": 50}
    r = solve(build_model(ModelInput(demand, options, pairs, class_size=sizes)))
    assert set(r.assignment["option_id"]) == {"N"}  # exactly 2,500: fits
    demand.loc[1, "students"] = 901
    r = solve(build_model(ModelInput(demand, options, pairs, class_size=sizes)))
    assert sorted(r.assignment["option_id"]) == ["FAR", "N"]  # 2,501 does not
    assert rules.max_students_of("primary") == 2000


def test_class_count_limit_caps_a_school_with_many_rooms():
    """30 classrooms but a 24-class limit: 25 classes' worth of children cannot all stay."""
    demand = pd.DataFrame(
        {"village_id": ["V1", "V2"], "level": "primary", "students": [24 * 45, 45]}
    )
    options = _options(id=["A", "B"], max_classes=[30.0, 30.0], class_limit=[24.0, 24.0])
    pairs = _pairs(
        [("V1", "primary", "A", 1.0), ("V2", "primary", "A", 1.0), ("V2", "primary", "B", 9.0)]
    )
    r = solve(build_model(ModelInput(demand, options, pairs, class_size={"primary": 45})))
    got = dict(zip(r.assignment["village_id"], r.assignment["option_id"], strict=True))
    assert got == {"V1": "A", "V2": "B"}


def _budget_case(budget: float | None) -> ModelInput:
    """100 children; A (existing, runs at 1, 1 classroom, far) may add up to 2 classrooms at 40
    each; a new school N next to them costs 100. Cheapest overall: build N and close A (100)
    instead of expanding A (1 + 80 + 100 travel). With a budget of 90 only expanding is
    affordable."""
    demand = pd.DataFrame({"village_id": ["V"], "level": ["primary"], "students": [100]})
    options = _options(
        id=["A", "N"],
        fixed_cost=[1.0, 100.0],
        max_classes=[1.0, 24.0],
        max_expand=[2, 0],
        expand_cost=[40.0, 0.0],
        expand_capex=[40.0, 0.0],
        capex=[0.0, 100.0],
    )
    pairs = _pairs([("V", "primary", "A", 100.0), ("V", "primary", "N", 0.0)])
    return ModelInput(demand, options, pairs, class_size={"primary": 45}, budget=budget)


def test_budget_forces_the_cheaper_plan():
    free = solve(build_model(_budget_case(None)))
    assert free.open_options == ["N"] and free.objective == pytest.approx(100.0)
    tight = solve(build_model(_budget_case(90.0)))
    assert tight.assignment["option_id"].tolist() == ["A"]
    assert tight.expansions.set_index("option_id").at["A", "classrooms_added"] == 2
    assert tight.objective == pytest.approx(181.0)


def test_budget_below_cheapest_plan_is_explained():
    data = _budget_case(50.0)
    with pytest.raises(InfeasiblePlanError):
        solve(build_model(data))
    scenario = load_scenario(Path(__file__).parent.parent / "scenarios" / "demo.yaml")
    lines = budget_report(data, scenario)
    assert lines == [
        "budget 50 万元 is below the cost of the cheapest plan that meets every other rule "
        "(building and expansion, bus and boarding), which is 80 万元"
    ]


def test_transport_counts_against_the_budget():
    """V (100 children) can ride a bus to the existing school A (0.5 per rider: 50 in all,
    counted against the budget) or get a new school N next to it (capex 40). With N's cost
    at 60 in the objective the bus is cheaper (50 < 60); a budget of 45 leaves only N (the
    bus would spend 50); a budget of 30 leaves nothing."""
    demand = pd.DataFrame({"village_id": ["V"], "level": ["primary"], "students": [100]})
    options = _options(id=["A", "N"], fixed_cost=[0.0, 60.0], capex=[0.0, 40.0])
    pairs = _pairs([("V", "primary", "A", 50.0), ("V", "primary", "N", 0.0)]).assign(
        capex=[50.0, 0.0]
    )

    def school(budget: float | None) -> str:
        r = solve(build_model(ModelInput(demand, options, pairs, budget=budget)))
        return str(r.assignment["option_id"].iloc[0])

    assert school(None) == "A"
    assert school(1000.0) == "A"
    assert school(45.0) == "N"
    with pytest.raises(InfeasiblePlanError):
        school(30.0)


def test_minimum_size_closes_a_small_school_unless_protected():
    demand = pd.DataFrame({"village_id": ["V1", "V2"], "level": "primary", "students": [30, 200]})
    opts = dict(id=["T", "C"], min_students=[100.0, 100.0])
    pairs = _pairs(
        [("V1", "primary", "T", 0.0), ("V1", "primary", "C", 30.0), ("V2", "primary", "C", 0.0)]
    )
    r = solve(build_model(ModelInput(demand, _options(**opts), pairs, class_size={"primary": 45})))
    assert r.open_options == ["C"]  # T would have 30 < 100 students
    protected = _options(**{**opts, "min_students": [0.0, 100.0], "forced": ["open", ""]})
    r = solve(build_model(ModelInput(demand, protected, pairs, class_size={"primary": 45})))
    assert sorted(r.open_options) == ["C", "T"]
    assert r.assignment.set_index("village_id").at["V1", "option_id"] == "T"


# --- the same rules through the whole flow, on the toy county ---------------------------


def test_protected_teaching_point_is_kept_though_tiny(toy_scenario, tmp_path):
    path = toy_variant(
        toy_scenario, tmp_path, rules={"min_students": 100, "protected_schools": ["T"]}
    )
    scenario = load_scenario(path)
    plan, _ = plan_scenario(scenario)
    check_plan_object(plan, scenario)
    d = plan.schools["decision"]
    assert d["T"] == "keep"
    assert plan.schools.at["T", "students_primary"] < 100
    assert plan.summary["violations"]["small_schools"] == 0


def test_unreachable_villages_are_named_with_their_distance(toy_scenario, tmp_path):
    path = toy_variant(
        toy_scenario, tmp_path, travel={"primary": {"mode": "walk", "max_distance_m": 500}}
    )
    with pytest.raises(InfeasiblePlanError) as err:
        plan_scenario(load_scenario(path))
    text = str(err.value)
    assert text.startswith("5 village/level demand(s) cannot reach any school")
    for v in ("V0", "V2", "V3", "V5", "V9"):
        assert f"({v}, 甲乡)" in text
    assert "(V7," not in text  # 0.5 km from candidate site X
    assert "村0 (V0, 甲乡): 40 primary children, no school within 0.5 km" in text
    assert "nearest A is 1.0 km away" in text
    assert "V1" not in text  # V1 sits at school A


def test_missing_places_are_explained_per_township(toy_scenario, tmp_path):
    folder = tmp_path / "small"
    shutil.copytree(toy_scenario.parent, folder)
    schools = pd.read_csv(folder / "schools.csv")
    schools["classrooms"] = [1, 1, 1, 1, 10]  # 4 primary classrooms for 400 children
    schools.to_csv(folder / "schools.csv", index=False)
    path = folder / toy_scenario.name
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    del doc["data"]["candidates"]  # no site for a new school either
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(InfeasiblePlanError) as err:
        plan_scenario(load_scenario(path))
    assert (
        "township 甲乡: 400 primary children, but the schools they can reach offer at most "
        "180 places" in str(err.value)
    )


def test_boarding_only_beyond_the_daily_limit(toy_scenario, tmp_path):
    """Juniors ride at most 3 km a day; J (at 5 km) has 40 boarding places and juniors may
    board up to 10 km. V2-V8 ride daily; V0, V1 and V9 (4-5 km away, 20 each) are beyond the
    daily limit: only 40 places, and no other junior school, so the toy is infeasible with 60
    boarders; with 60 places all three board."""
    folder = tmp_path / "toy"
    shutil.copytree(toy_scenario.parent, folder)
    schools = pd.read_csv(folder / "schools.csv")
    schools["boarding_places"] = [0, 0, 0, 0, 40]
    schools.to_csv(folder / "schools.csv", index=False)
    path = folder / toy_scenario.name
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["travel"]["junior"] = {"mode": "drive", "max_distance_m": 3000}
    doc["boarding"] = {"junior_max_distance_m": 10000, "cost_per_boarder_wan": 1.0}
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(InfeasiblePlanError):
        plan_scenario(load_scenario(path))
    schools["boarding_places"] = [0, 0, 0, 0, 60]
    schools.to_csv(folder / "schools.csv", index=False)
    scenario = load_scenario(path)
    plan, _ = plan_scenario(scenario)
    check_plan_object(plan, scenario)
    boards = plan.villages["boarding_junior"]
    assert sorted(boards[boards].index) == ["V0", "V1", "V9"]
    assert plan.summary["students"]["boarders"] == {"primary": 0, "junior": 60}
    assert plan.summary["violations"]["travel_limit"] == 0


def _phased_toy(toy_scenario, tmp_path, build_year):
    folder = tmp_path / f"toy{build_year}"
    shutil.copytree(toy_scenario.parent, folder)
    schools = pd.read_csv(folder / "schools.csv")
    schools["classrooms"] = [4, 3, 1, 2, 10]  # C is small, the teaching point T has 2 rooms
    schools.to_csv(folder / "schools.csv", index=False)
    path = folder / toy_scenario.name
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["phasing"] = {"years": [2026, 2028]}
    doc["actions"] = [{"build": "P12", "at": "X", "year": build_year}]
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    scenario = load_scenario(path)
    plan, _ = plan_scenario(scenario)
    check_plan_object(plan, scenario)
    return plan


def test_closure_waits_until_the_receiving_school_is_built(toy_scenario, tmp_path):
    """A takes V0-V3, B V4-V6 (both full); V7-V9 (120 children) fit only in C (1 room) + T
    (2 rooms) until the new school X (12 rooms, within reach of V4-V9) opens. With X ready in
    2028, T stays open in 2026 and closes in 2028; with X ready in 2026, T closes at once."""
    late = _phased_toy(toy_scenario, tmp_path, 2028)
    phases = late.tables["phasing_schools"].set_index("school_id")
    assert phases.at["T", "2026"] == "keep" and phases.at["T", "2028"] == "close"
    assert phases.at["X", "2026"] == "" and phases.at["X", "2028"] == "new"
    early = _phased_toy(toy_scenario, tmp_path, 2026)
    phases = early.tables["phasing_schools"].set_index("school_id")
    assert phases.at["T", "2026"] == "close" and phases.at["X", "2026"] == "new"
    # once closed, closed; once built, open
    assert early.summary["phasing"]["2028"]["closed"] >= early.summary["phasing"]["2026"]["closed"]


def test_combination_conflict_names_the_village_and_what_is_full(toy_scenario):
    """Seats suffice in total (135 + 90 for 150 children), but V1's 100 children go to one
    school as a whole: only A (3 classrooms) holds them, and then V2, which reaches only A,
    finds 35 seats left for its 50."""
    from planning import diagnose

    demand = pd.DataFrame(
        {"village_id": ["V1", "V2"], "level": ["primary", "primary"], "students": [100, 50]}
    )
    options = _options(id=["A", "B"], max_classes=[3.0, 2.0])
    pairs = _pairs(
        [("V1", "primary", "A", 1.0), ("V1", "primary", "B", 1.0), ("V2", "primary", "A", 1.0)]
    )
    data = ModelInput(demand, options, pairs, class_size={"primary": 45})
    with pytest.raises(InfeasiblePlanError):
        solve(build_model(data))
    villages = pd.DataFrame({"name": ["一村", "二村"]}, index=["V1", "V2"])
    lines = diagnose.unplaced_report(data, load_scenario(toy_scenario), villages)
    assert lines[0].startswith("1 village/level demand(s), 50 children, cannot be placed")
    assert lines[1].startswith("二村 (V2), 50 primary children")
    assert "A: room for 35 more (100/2,000 students, 3/3 classes)" in lines[1]
    assert len(lines) == 2
