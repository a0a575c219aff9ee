"""The school bus (校车), hand-checked on the toy county (see tests/test_toy.py).

Juniors: villages V0..V9 at x = 0..9 km on one road, 20 juniors each, junior school J at x = 5.
In these tests juniors walk at most 2 km, so V3..V7 walk and V0, V1, V2, V8, V9 (3-5 km from J)
need the bus. Primary as in the toy: objective 4 x 1000 + 320 = 4320; juniors' trips cost
20 x (5+4+3+2+1+0+1+2+3+4) = 500 student-km at 1 per km, walked or ridden alike (one road).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from planning._errors import InfeasiblePlanError, InputError
from planning._popups import village_popup
from planning.compare import metrics_table
from planning.instance import with_bus
from planning.pipeline import plan_scenario, run_scenario
from planning.report import plan_report
from planning.scenario import Scenario, load_scenario
from tests.conftest import ROOT
from tests.invariants import check_plan, check_plan_object

TOY_OBJECTIVE = 4320 + 500  # tests/test_toy.py
RIDERS = ["V0", "V1", "V2", "V8", "V9"]


def _toy(toy_scenario: Path, tmp_path: Path, boarding_places: int = 0, **doc: Any) -> Path:
    """A copy of the toy county with ``doc`` merged into its scenario (juniors walking 2 km
    unless ``travel`` is given)."""
    folder = tmp_path / "toy"
    shutil.copytree(toy_scenario.parent, folder)
    if boarding_places:
        schools = pd.read_csv(folder / "schools.csv")
        schools["boarding_places"] = [0, 0, 0, 0, boarding_places]
        schools.to_csv(folder / "schools.csv", index=False)
    path = folder / toy_scenario.name
    base = yaml.safe_load(path.read_text(encoding="utf-8"))
    base["travel"]["junior"] = {"mode": "walk", "max_distance_m": 2000}
    base.update(doc)
    path.write_text(yaml.safe_dump(base, allow_unicode=True), encoding="utf-8")
    return path


def _plan(path: Path) -> tuple[Any, Scenario]:
    scenario = load_scenario(path)
    plan, _ = plan_scenario(scenario)
    check_plan_object(plan, scenario)
    return plan, scenario


@pytest.mark.parametrize("cost", [1.0, 3.0])
def test_villages_beyond_the_walking_limit_ride_the_bus(toy_scenario, tmp_path, cost):
    """V0, V1, V2, V8, V9 (100 juniors) ride to J; the objective is the toy's plus 100 riders
    x the cost per rider, and the summary counts them and their cost."""
    bus = {"junior_max_distance_m": 10000, "cost_per_rider_wan": cost}
    plan, _ = _plan(_toy(toy_scenario, tmp_path, school_bus=bus))
    v = plan.villages
    assert set(v["school_junior"]) == {"J"}
    assert sorted(v.index[v["bus_junior"]]) == RIDERS
    assert not v["boarding_junior"].any() and not v["bus_primary"].any()
    s = plan.summary
    assert s["students"]["bus_riders"] == {"primary": 0, "junior": 100}
    assert s["costs_wan"]["bus"] == pytest.approx(100 * cost)
    assert s["violations"]["travel_limit"] == 0
    # osmnx measures edges on the sphere: 1 km of the toy road is 998.6 m
    assert s["objective"] == pytest.approx(TOY_OBJECTIVE + 100 * cost, rel=2e-3)


def test_without_the_bus_the_far_villages_cannot_reach_a_school(toy_scenario, tmp_path):
    with pytest.raises(InfeasiblePlanError, match="20 junior children, no school within 2 km"):
        plan_scenario(load_scenario(_toy(toy_scenario, tmp_path)))


def test_bus_within_its_limit_boarding_beyond(toy_scenario, tmp_path):
    """Bus up to 4.5 km, boarding up to 10 km (J has 20 places): V0 (5 km) boards, the others
    beyond 2 km ride. Objective: V0's trips cost a fifth (20 x 5 x 0.2 = 20 instead of 100)
    plus 20 boarders x 1; 80 riders x 1: 4820 - 80 + 20 + 80 = 4840."""
    path = _toy(
        toy_scenario,
        tmp_path,
        boarding_places=20,
        school_bus={"junior_max_distance_m": 4500, "cost_per_rider_wan": 1.0},
        boarding={"junior_max_distance_m": 10000, "cost_per_boarder_wan": 1.0},
    )
    plan, _ = _plan(path)
    v = plan.villages
    assert list(v.index[v["boarding_junior"]]) == ["V0"]
    assert sorted(v.index[v["bus_junior"]]) == ["V1", "V2", "V8", "V9"]
    s = plan.summary
    assert s["students"]["boarders"]["junior"] == 20
    assert s["students"]["bus_riders"]["junior"] == 80
    assert (s["costs_wan"]["boarding"], s["costs_wan"]["bus"]) == (20.0, 80.0)
    assert s["objective"] == pytest.approx(4840, rel=2e-3)


def test_bus_settings_without_a_limit_change_nothing(toy_scenario, tmp_path):
    """The bus is off unless a level has a bus limit: cost and speed alone change nothing."""
    default, _ = _plan(toy_scenario)
    path = _toy(toy_scenario, tmp_path, school_bus={"cost_per_rider_wan": 9, "speed_factor": 0.5})
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["travel"]["junior"] = {"mode": "drive", "max_distance_m": 20000}  # as the toy
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    plan, _ = _plan(path)
    cols = ["school_primary", "school_junior", "distance_m_primary", "distance_m_junior"]
    pd.testing.assert_frame_equal(plan.villages[cols], default.villages[cols])
    assert plan.summary["objective"] == default.summary["objective"]
    assert plan.summary["students"]["bus_riders"] == {"primary": 0, "junior": 0}
    assert plan.summary["costs_wan"]["bus"] == 0
    assert "bus_junior" in plan.villages and not plan.villages["bus_junior"].any()


def test_each_pair_walks_rides_or_boards():
    """Within the daily limit a pair is walked; beyond it, a bus ride where the bus reaches
    (the bus's distance and minutes); beyond the bus, the own-mode trip stays (a boarder's)."""
    own = pd.DataFrame(
        {
            "village_id": ["a", "a", "a", "b"],
            "site_id": ["S1", "S2", "S3", "S1"],
            "distance_m": [2000.0, 6000.0, 12000.0, 2600.0],
            "minutes": [30.0, 90.0, 180.0, 39.0],
        }
    )
    rides = pd.DataFrame(
        {
            "village_id": ["a", "a", "b"],
            "site_id": ["S1", "S2", "S1"],
            "distance_m": [2100.0, 6500.0, 2800.0],
            "minutes": [5.0, 12.0, 6.0],
        }
    )
    scenario = Scenario.model_validate(
        {
            "name": "x",
            "data": {"villages": "v", "boundary": "b"},
            "school_bus": {"primary_max_distance_m": 10000},
        }
    )
    out = with_bus({"primary": own, "junior": own}, {"primary": rides}, scenario)["primary"]
    got = out.set_index(["village_id", "site_id"])
    assert got["bus"].to_dict() == {
        ("a", "S1"): False,  # walked: 2,000 m within 2,500 m
        ("a", "S2"): True,
        ("a", "S3"): False,  # beyond the bus: a boarder's trip if boarding allows
        ("b", "S1"): True,
    }
    assert got.loc[("a", "S2"), "minutes"] == 12.0  # the bus's trip
    assert got.loc[("a", "S1"), "distance_m"] == 2000.0  # the walk
    assert "bus" not in with_bus({"junior": own}, {}, scenario)["junior"]


@pytest.mark.parametrize(
    ("settings", "match"),
    [
        (
            {"travel": {"junior": {"mode": "drive", "max_distance_m": 20000}},
             "school_bus": {"junior_max_distance_m": 30000}},
            "travel.junior.mode is drive",
        ),
        ({"school_bus": {"primary_max_distance_m": 2000}}, "must exceed the daily limit"),
        (
            {"school_bus": {"primary_max_distance_m": 10000},
             "boarding": {"primary_max_distance_m": 8000}},
            "board only beyond the bus limit",
        ),
        ({"school_bus": {"junior_max_minutes": 30}}, "give the bus a distance limit"),
        ({"school_bus": {"cost_per_rider_wan": -1}}, r"school_bus\.cost_per_rider_wan"),
        ({"school_bus": {"speed_factor": 1.5}}, r"school_bus\.speed_factor"),
        ({"school_bus": {"primary_max_km": 5}}, "unknown key 'primary_max_km'"),
    ],
)  # fmt: skip
def test_bus_settings_are_checked(tmp_path, settings, match):
    path = tmp_path / "s.yaml"
    doc = {"name": "x", "data": {"villages": "v.geojson", "boundary": "b.geojson"}, **settings}
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    for name in ("v.geojson", "b.geojson"):
        (tmp_path / name).write_text("", encoding="utf-8")
    with pytest.raises(InputError, match=match):
        load_scenario(path)


def test_bus_riders_are_shown_in_popups_report_and_comparison(toy_scenario, tmp_path):
    bus = {"junior_max_distance_m": 10000, "cost_per_rider_wan": 1.0}
    plan, _ = _plan(_toy(toy_scenario, tmp_path, school_bus=bus))
    row = plan.villages.loc["V0"].to_dict()
    names = dict(zip(plan.schools.index, plan.schools["name"], strict=True))
    assert "乘校车" in village_popup(row, names=names, lang="zh")
    assert "school bus" in village_popup(row, names=names, lang="en")
    walker = plan.villages.loc["V5"].to_dict()
    assert "school bus" not in village_popup(walker, names=names, lang="en")
    report = plan_report(plan, lang="en")
    assert "junior students on the school bus" in report and "School-bus cost" in report
    table = metrics_table({"a": plan}, lang="en")
    assert table.loc["junior bus riders", "a"] == 100
    assert table.loc["school-bus cost (10k yuan)", "a"] == 100.0


def test_shipped_school_bus_scenario(tmp_path):
    """scenarios/school_bus.yaml: primary pupils beyond 2.5 km on foot ride the bus."""
    path = ROOT / "scenarios" / "school_bus.yaml"
    scenario = load_scenario(path)
    _, out = run_scenario(path, out=tmp_path / "bus")
    check_plan(out, scenario)
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    riders = s["students"]["bus_riders"]
    assert riders["primary"] > 0 and riders["junior"] == 0
    assert s["costs_wan"]["bus"] == pytest.approx(riders["primary"] * 1.0)
    assert s["violations"]["travel_limit"] == 0
    assert s["travel"]["primary"]["share_within_limit"] < 1  # the riders are beyond 2.5 km


def test_bus_cost_counts_against_the_budget(toy_scenario, tmp_path):
    """The 100 riders at 1 万元 each spend 100 of the budget: a budget of 99 leaves no plan
    (no school can be built nearer), and the report counts bus and boarding; with transport
    left out of the budget the same budget is enough."""
    bus = {"junior_max_distance_m": 10000, "cost_per_rider_wan": 1.0}
    path = _toy(toy_scenario, tmp_path, school_bus=bus, costs={"budget_wan": 100.0})
    plan, _ = _plan(path)
    assert plan.summary["costs_wan"]["against_budget"] == pytest.approx(100.0)
    assert "Spent of the budget / budget (10,000 yuan)" in plan_report(plan, lang="en")
    table = metrics_table({"a": plan}, lang="en")
    assert table.loc["spent of the budget (10k yuan)", "a"] == pytest.approx(100.0)
    assert table.loc["budget (10k yuan)", "a"] == pytest.approx(100.0)
    path = _toy(toy_scenario, tmp_path / "b", school_bus=bus, costs={"budget_wan": 99.0})
    with pytest.raises(InfeasiblePlanError, match=r"\(building and expansion, bus and boarding\)"):
        plan_scenario(load_scenario(path))
    costs = {"budget_wan": 99.0, "budget_includes_transport": False}
    plan, _ = _plan(_toy(toy_scenario, tmp_path / "c", school_bus=bus, costs=costs))
    assert plan.summary["costs_wan"]["against_budget"] == pytest.approx(0.0)
    assert plan.summary["costs_wan"]["bus"] == pytest.approx(100.0)
