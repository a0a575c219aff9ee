"""Catchment contiguity (planning.catchments): exclaves found, judged and repaired."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from planning import catchments as catch

ROOT = Path(__file__).resolve().parent.parent
CRS = "EPSG:32649"
STATUSES = {"allowed", "no_capacity", "beyond_limit", "not_adjacent", "no_neighbour"}

# -- a tiny county: 7 x 5 villages 1 km apart, school A on the left, B on the right ------------


def _grid() -> tuple[gpd.GeoDataFrame, gpd.GeoSeries, gpd.GeoSeries]:
    xs, ys = np.meshgrid(np.arange(7) * 1000.0, np.arange(5) * 1000.0)
    ids = [
        f"v{int(x) // 1000}{int(y) // 1000}" for x, y in zip(xs.ravel(), ys.ravel(), strict=True)
    ]
    villages = gpd.GeoDataFrame(
        {"village_id": ids}, geometry=gpd.points_from_xy(xs.ravel(), ys.ravel()), crs=CRS
    ).set_index("village_id", drop=False)
    boundary = gpd.GeoDataFrame(geometry=[villages.union_all().envelope.buffer(500, join_style=2)])
    areas = catch.village_areas(villages, boundary.set_crs(CRS))
    sites = gpd.GeoSeries(gpd.points_from_xy([0.0, 6000.0], [2000.0, 0.0]), ["A", "B"], crs=CRS)
    return villages, areas, sites


VILLAGES, AREAS, SITES = _grid()


def _assignment(to_a: set[str]) -> pd.DataFrame:
    """Columns x <= 2 go to A, the rest to B, except ``to_a`` (to A); 10 children each."""
    x = VILLAGES.geometry.x
    school = np.where((x <= 2000) | VILLAGES.index.isin(to_a), "A", "B")
    return pd.DataFrame(
        {"village_id": VILLAGES.index, "level": "primary", "school_id": school, "students": 10}
    )


def _costs(**override: float) -> pd.DataFrame:
    """Road distance = 1.2 x straight line to each school; ``v52_A=1500`` overrides one."""
    rows = []
    for vid, point in VILLAGES.geometry.items():
        for sid, site in SITES.items():
            d = override.get(f"{vid}_{sid}", 1.2 * point.distance(site))
            rows.append((vid, sid, d, d / 1000 * 15))
    return pd.DataFrame(rows, columns=["village_id", "site_id", "distance_m", "minutes"])


def _repair(to_a: set[str], *, slack_b: float = 1000, limit: float = 9000, **costs: float):
    return catch.repair_contiguity(
        _assignment(to_a),
        AREAS,
        _costs(**costs),
        level="primary",
        slack={"A": 1000, "B": slack_b},
        max_distance_m=limit,
        sites=SITES,
    )


def test_contiguous_catchments_have_no_exclaves():
    assert catch.find_exclaves(_assignment(set()), AREAS, level="primary", sites=SITES).empty


def test_one_village_exclave_is_found_with_its_owner():
    ex = catch.find_exclaves(_assignment({"v52"}), AREAS, level="primary", sites=SITES)
    assert ex[["village_id", "school_id", "part", "owner_id"]].values.tolist() == [
        ["v52", "A", 1, "B"]
    ]
    assert bool(ex["touches_owner"].iloc[0])


def test_exclave_nearer_the_surrounding_school_moves_there():
    """v52 -> A: 1.2 x 5,000 = 6,000 m; -> B (6000, 0): 1.2 x 2,236 = 2,683 m: moves to B."""
    fix = _repair({"v52"})
    assert fix.changes[["village_id", "from_school", "to_school", "round"]].values.tolist() == [
        ["v52", "A", "B", 1]
    ]
    assert fix.changes["distance_to_m"].iloc[0] == pytest.approx(1.2 * np.hypot(1000, 2000))
    assert fix.exclaves.empty
    after = fix.assignment.set_index("village_id")["school_id"]
    assert (
        after["v52"] == "B"
        and (
            after.drop("v52") == _assignment(set()).set_index("village_id")["school_id"].drop("v52")
        ).all()
    )


def test_exclave_that_is_shorter_by_road_is_allowed():
    """A mountain road makes A 1,500 m from v52, shorter than B's 2,683 m: it stays."""
    fix = _repair({"v52"}, v52_A=1500.0)
    assert fix.changes.empty
    assert fix.exclaves[["village_id", "status"]].values.tolist() == [["v52", "allowed"]]
    assert fix.exclaves["distance_own_m"].iloc[0] == 1500.0


def test_exclave_stays_when_the_owner_has_no_places():
    fix = _repair({"v52"}, slack_b=9)
    assert fix.changes.empty
    assert fix.exclaves["status"].tolist() == ["no_capacity"]


def test_exclave_stays_when_the_owner_is_beyond_the_travel_limit():
    fix = _repair({"v52"}, limit=2000)
    assert fix.exclaves["status"].tolist() == ["beyond_limit"]


def test_larger_exclave_is_repaired_from_the_outside_in():
    """A plus-shaped exclave of A around v52: its four arms border B and move in round 1; the
    centre borders B only then, and moves in round 2."""
    plus = {"v52", "v42", "v62", "v51", "v53"}
    ex = catch.find_exclaves(_assignment(plus), AREAS, level="primary", sites=SITES)
    assert set(ex["village_id"]) == plus
    assert ex.set_index("village_id")["touches_owner"].to_dict() == {v: v != "v52" for v in plus}
    fix = _repair(plus)
    rounds = fix.changes.set_index("village_id")["round"].to_dict()
    assert rounds == {"v42": 1, "v62": 1, "v51": 1, "v53": 1, "v52": 2}
    assert fix.exclaves.empty


def test_inner_village_left_when_the_arms_may_stay():
    """With places for nobody, the arms stay (no capacity) and the centre is not adjacent."""
    fix = _repair({"v52", "v42", "v62", "v51", "v53"}, slack_b=0)
    status = fix.exclaves.set_index("village_id")["status"]
    assert status["v52"] == "not_adjacent" and (status.drop("v52") == "no_capacity").all()


def test_places_go_to_the_villages_that_save_most():
    """Room for one of two single exclaves. Both are 1.2 x 6,083 = 7,299 m from A; v61 is
    1,200 m from B, v63 3,600 m: v61 saves more and moves."""
    fix = _repair({"v61", "v63"}, slack_b=10)
    assert fix.changes["village_id"].tolist() == ["v61"]
    assert fix.exclaves[["village_id", "status"]].values.tolist() == [["v63", "no_capacity"]]


def test_capacity_slack_counts_classrooms_class_limits_and_size():
    """B (nine-year, 10 rooms): 200 primary (5 classes of 45), 180 junior (4 of 50).
    Primary: (10 - 4) x 45 - 200 = 70; junior: (10 - 5) x 50 - 180 = 70. With a class limit
    of 8: primary (8 - 4) x 45 - 200 < 0 -> 0. A closed school has no slack."""
    schools = pd.DataFrame(
        {
            "level": ["nine_year", "primary"],
            "decision": ["keep", "close"],
            "classrooms": [10, 6],
            "max_students": [2500, 2000],
        },
        index=["B", "C"],
    )
    assignment = pd.DataFrame(
        {
            "village_id": ["x", "y"],
            "level": ["primary", "junior"],
            "school_id": ["B", "B"],
            "students": [200, 180],
        }
    )
    sizes = {"primary": 45, "junior": 50}
    for level in ("primary", "junior"):
        slack = catch.capacity_slack(schools, assignment, level=level, class_size=sizes)
        assert slack.to_dict() == {"B": 70}
    limited = catch.capacity_slack(
        schools, assignment, level="primary", class_size=sizes, max_classes={"nine_year": 8}
    )
    assert limited.to_dict() == {"B": 0}


# -- the sample county's demo plan -------------------------------------------------------------


@pytest.fixture(scope="module")
def demo():
    """The demo plan (about 8 s), its village areas, travel tables and scenario."""
    from planning.pipeline import plan_scenario, travel_costs
    from planning.scenario import load_scenario

    scenario = load_scenario(ROOT / "scenarios" / "demo.yaml")
    plan, layers = plan_scenario(scenario)
    costs, _ = travel_costs(layers, scenario)
    areas = catch.village_areas(plan.villages, layers.boundary)
    return plan, areas, costs, scenario


def _slack(plan, assignment, level):
    sizes = {"primary": 45, "junior": 50}
    return catch.capacity_slack(plan.schools, assignment, level=level, class_size=sizes)


def test_demo_exclaves_are_all_explained(demo):
    plan, areas, costs, scenario = demo
    assignment = catch.assignment_from_villages(plan.villages)
    for level in ("primary", "junior"):
        ex = catch.find_exclaves(assignment, areas, level=level, sites=plan.schools.geometry)
        school = plan.villages[f"school_{level}"]
        assert (school.loc[ex["village_id"]].to_numpy() == ex["school_id"].to_numpy()).all()
        assert (ex["part"] > 0).all()
        fix = catch.repair_contiguity(
            assignment,
            areas,
            costs[level],
            level=level,
            slack=_slack(plan, assignment, level),
            max_distance_m=scenario.travel.of(level).max_distance_m,
            max_minutes=scenario.travel.of(level).max_minutes,
            sites=plan.schools.geometry,
        )
        assert set(fix.exclaves["status"]) <= STATUSES
        assert set(ex["village_id"]) <= set(fix.exclaves["village_id"]) | set(
            fix.changes["village_id"]
        )
        assert (fix.changes["distance_to_m"] < fix.changes["distance_from_m"]).all()


def test_demo_village_moved_by_hand_into_a_far_catchment_comes_back(demo):
    """Give a village whose neighbours all share its school ``s`` to a farther school ``t``:
    it becomes an exclave of ``t`` inside ``s``'s catchment, and the repair returns it."""
    plan, areas, costs, scenario = demo
    assignment = catch.assignment_from_villages(plan.villages)
    village, home, far = _enclosed_village(assignment, areas, costs["primary"])
    rows = (assignment["level"] == "primary") & (assignment["village_id"] == village)
    forced = assignment.assign(school_id=assignment["school_id"].where(~rows, far))
    fix = catch.repair_contiguity(
        forced,
        areas,
        costs["primary"],
        level="primary",
        slack=_slack(plan, forced, "primary"),
        max_distance_m=scenario.travel.primary.max_distance_m,
        sites=plan.schools.geometry,
    )
    assert fix.changes[["village_id", "from_school", "to_school"]].values.tolist() == [
        [village, far, home]
    ]
    assert fix.assignment.equals(assignment)


def _enclosed_village(
    assignment: pd.DataFrame, areas: gpd.GeoSeries, costs: pd.DataFrame
) -> tuple[str, str, str]:
    """A primary village, its school, and a farther reachable school of another catchment."""
    primary = assignment[assignment["level"] == "primary"].set_index("village_id")["school_id"]
    cells = gpd.GeoDataFrame({"school": primary}, geometry=areas.loc[primary.index]).rename_axis(
        None
    )
    pairs = gpd.sjoin(cells, cells, predicate="touches")
    pairs = pairs[pairs.index != pairs["index_right"]]
    mixed = pairs.groupby(level=0).apply(lambda g: (g["school_right"] != g["school_left"]).any())
    trips = costs.set_index(["village_id", "site_id"])["distance_m"]
    for village in mixed.index[~mixed]:
        home = primary[village]
        here = trips.loc[village]
        farther = here[(here > here.get(home, np.inf)) & (here.index != home)]
        farther = farther[farther.index.isin(primary.to_numpy())]
        if len(farther):
            return str(village), str(home), str(farther.index[0])
    raise AssertionError("no enclosed village with a farther school in the demo")


def test_an_option_column_follows_the_new_school():
    assignment = _assignment({"v52"}).assign(option_id=lambda a: a["school_id"] + ":T")
    fix = catch.repair_contiguity(
        assignment, AREAS, _costs(), level="primary", slack={"B": 100}, max_distance_m=9000
    )
    moved = fix.assignment.set_index("village_id").loc["v52"]
    assert (moved["school_id"], moved["option_id"]) == ("B", "B:T")


def test_a_school_is_not_emptied_below_the_minimum_size():
    """A has 16 villages of 10 (160 students); with a minimum of 155 it may lose 5, not v52's
    10, unless A is protected."""
    kwargs = {"level": "primary", "slack": {"B": 100}, "max_distance_m": 9000.0}
    args = (_assignment({"v52"}), AREAS, _costs())
    kept = catch.repair_contiguity(*args, **kwargs, min_students=155)
    assert kept.changes.empty and kept.exclaves["status"].tolist() == ["min_size"]
    moved = catch.repair_contiguity(*args, **kwargs, min_students=155, protected={"A"})
    assert moved.changes["village_id"].tolist() == ["v52"]


def test_every_status_has_a_visible_label():
    from planning.i18n import STRINGS

    assert all(f"exclave_{s}" in STRINGS for s in STATUSES | {"min_size"})
