"""The model instance of a scenario: options (existing schools and candidate designs), demand
rows and allowed (village, level, option) pairs with their costs, including school-bus riders
and boarders."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from planning._errors import InputError, Problem
from planning.layers import Layers
from planning.model import ModelInput
from planning.plan import LOWER, SERVES, UPPER
from planning.scenario import LEVELS, Scenario, Travel


def all_sites(layers: Layers) -> gpd.GeoSeries:
    """Existing schools and candidate sites as one point series indexed by id."""
    return pd.concat([layers.schools.geometry, layers.candidates.geometry])


def protected_ids(layers: Layers, scenario: Scenario) -> set[str]:
    """Schools that must stay open whatever their size: the layer's column plus the scenario.

    Raises
    ------
    InputError
        If the scenario names a school id that is not in the schools layer.
    """
    unknown = sorted(set(scenario.rules.protected_schools) - set(layers.schools.index))
    if unknown:
        raise InputError(
            [
                Problem("scenario", f"unknown school id {u!r}", field="rules.protected_schools")
                for u in unknown
            ]
        )
    flagged = (
        layers.schools.index[layers.schools["protected"]] if ("protected" in layers.schools) else []
    )
    return set(flagged) | set(scenario.rules.protected_schools)


def model_options(layers: Layers, scenario: Scenario) -> pd.DataFrame:
    """One option per existing school and per (candidate site, standard school type).

    Columns follow :class:`planning.model.ModelInput`, plus ``kind`` (existing/new),
    ``type_id`` and ``school_level``.
    """
    s = layers.schools
    rules, costs, grow = scenario.rules, scenario.costs, scenario.expansion
    protected = protected_ids(layers, scenario)
    in_objective = 1.0 if costs.capital_in_objective else 0.0
    existing = pd.DataFrame(
        {
            "site_id": s.index,
            "kind": "existing",
            "type_id": "",
            "school_level": s["level"],
            "fixed_cost": costs.keep_school_wan,
            "closed_cost": costs.close_school_wan,
            "max_students": [rules.max_students_of(k) for k in s["level"]],
            "max_classes": s["classrooms"].astype(float),
            "class_limit": [_limit(rules.max_classes(k)) for k in s["level"]],
            "min_students": np.where(s.index.isin(protected), 0.0, float(rules.min_students)),
            "max_expand": np.where(
                (s["level"] == "teaching_point") & (not grow.teaching_points),
                0,
                grow.max_classrooms,
            ),
            "expand_cost": grow.cost_per_classroom_wan * in_objective,
            "expand_capex": grow.cost_per_classroom_wan,
            "capex": 0.0,
            "boarding_places": s.get("boarding_places", 0.0),
            "forced": np.where(s.index.isin(protected), "open", ""),
        },
        index=s.index,
    )
    new = [
        {
            "option_id": f"{site}:{t.id}",
            "site_id": site,
            "kind": "new",
            "type_id": t.id,
            "school_level": t.level,
            "fixed_cost": t.build_cost_wan * in_objective,
            "closed_cost": 0.0,
            "max_students": rules.max_students_of(t.level),
            "max_classes": float(t.classes),
            "class_limit": _limit(rules.max_classes(t.level)),
            "min_students": float(rules.min_students),
            "max_expand": 0,
            "expand_cost": 0.0,
            "expand_capex": 0.0,
            "capex": t.build_cost_wan,
            "boarding_places": scenario.boarding.new_school_share
            * min(
                t.classes * rules.class_size("junior" if t.level == "junior" else "primary"),
                rules.max_students_of(t.level),
            ),
            "forced": "",
        }
        for site in layers.candidates.index
        for t in scenario.new_school_types
    ]
    if not new:
        return existing
    return pd.concat([existing, pd.DataFrame(new).set_index("option_id")])


def _limit(value: int | None) -> float:
    return float("nan") if value is None else float(value)


def model_input(
    layers: Layers, scenario: Scenario, costs: dict[str, pd.DataFrame], options: pd.DataFrame
) -> tuple[ModelInput, pd.DataFrame]:
    """The model's tables, plus the demand rows that no school can reach (left out)."""
    v = layers.villages
    demand = pd.concat(
        [
            pd.DataFrame({"village_id": v.index, "level": lvl, "students": v[f"children_{lvl}"]})
            for lvl in LEVELS
        ],
        ignore_index=True,
    )
    demand = demand[demand["students"] > 0]
    pair_frames = []
    for lvl in LEVELS:
        serving = options[options["school_level"].map(lambda k, lvl=lvl: lvl in SERVES[k])]
        p = costs[lvl].merge(serving[["site_id"]].reset_index(names="option_id"), on="site_id")
        bus = p["bus"].eq(True) if "bus" in p else False
        p["boarding"] = ~within_daily_limit(p, scenario, lvl) & ~bus
        # boarding only at a school with boarding places (existing or planned)
        p = p[~p["boarding"] | (options["boarding_places"].reindex(p["option_id"]) > 0).to_numpy()]
        pair_frames.append(p.assign(level=lvl))
    pairs = pd.concat(pair_frames, ignore_index=True)
    grade_links = None
    top = scenario.rules.teaching_point_top_grade
    if top is not None:
        demand, pairs, grade_links = split_grades(demand, pairs, options, top)
    pairs = pairs.merge(demand, on=["village_id", "level"])
    pairs["bus"] = pairs["bus"].eq(True) if "bus" in pairs else False
    pairs["cost"] = _pair_cost(pairs, scenario)
    pairs["capex"] = (
        _transport_cost(pairs, scenario) if scenario.costs.budget_includes_transport else 0.0
    )
    reach = pairs[["village_id", "level"]].drop_duplicates()
    flag = demand.merge(reach, how="left", indicator=True)["_merge"].to_numpy() == "both"
    levels = LEVELS if grade_links is None else (*LEVELS, LOWER, UPPER)
    class_size = {lvl: scenario.rules.class_size(lvl) for lvl in levels}
    data = ModelInput(
        demand=demand[flag].reset_index(drop=True),
        options=options,
        pairs=pairs[["village_id", "level", "option_id", "cost", "boarding", "capex"]],
        class_size=class_size,
        budget=scenario.costs.budget_wan,
        grade_links=grade_links,
        # lower and upper grades at a full school sit in its primary classes, as unsplit villages
        class_levels=None if grade_links is None else {LOWER: "primary", UPPER: "primary"},
    )
    return data, demand[~flag].reset_index(drop=True)


def grade_rows(demand: pd.DataFrame, top_grade: int) -> pd.DataFrame:
    """The ``primary`` rows of ``demand`` (``village_id, level, students``) as a
    ``primary_lower`` row (grades 1..``top_grade``) and a ``primary_upper`` row (the rest)
    each; the six grades are taken as equal cohorts, the lower share rounded half up."""
    d = demand[demand["level"] == "primary"]
    lower = np.floor(d["students"] * top_grade / 6 + 0.5).astype(d["students"].dtype)
    upper = d["students"] - lower
    return pd.concat(
        [d.assign(level=LOWER, students=lower), d.assign(level=UPPER, students=upper)],
        ignore_index=True,
    )


def split_grades(
    demand: pd.DataFrame, pairs: pd.DataFrame, options: pd.DataFrame, top_grade: int
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    """Split the primary demand of villages that can reach a teaching point into
    ``primary_lower`` (grades 1..``top_grade``: a teaching point or a full school) and
    ``primary_upper`` (the rest: full primary or nine-year schools only).

    Returns the demand rows, the pairs (without ``students``) and the grade links
    (``village_id, lower, upper``, see :class:`planning.model.ModelInput`; None when no
    village reaches a teaching point).
    """
    points = options.index[options["school_level"] == "teaching_point"]
    primary = pairs["level"] == "primary"
    split = pairs.loc[primary & pairs["option_id"].isin(points), "village_id"].unique()
    rows = (demand["level"] == "primary") & demand["village_id"].isin(split)
    parts = grade_rows(demand[rows], top_grade)
    demand = pd.concat([demand[~rows], parts[parts["students"] > 0]], ignore_index=True)
    moved = primary & pairs["village_id"].isin(split)
    p = pairs[moved]
    pairs = pd.concat(
        [pairs[~moved], p.assign(level=LOWER), p[~p["option_id"].isin(points)].assign(level=UPPER)],
        ignore_index=True,
    )
    links = pd.DataFrame({"village_id": split, "lower": LOWER, "upper": UPPER})
    return demand, pairs, (links if len(links) else None)


# a boarder goes home once a week: 2 of a day pupil's 10 weekly trips
BOARDER_TRIP_SHARE = 0.2


def within_daily_limit(table: pd.DataFrame, scenario: Scenario, level: str) -> pd.Series:
    """Rows of a travel table (``distance_m``, ``minutes``) within the daily travel limit."""
    lt = scenario.travel.of(level)
    ok = table["distance_m"] <= lt.max_distance_m + 1e-6
    if lt.max_minutes is not None:
        ok &= table["minutes"] <= lt.max_minutes + 1e-6
    return ok


def _pair_cost(pairs: pd.DataFrame, scenario: Scenario) -> pd.Series:
    """Students x km x value per student-km (boarders travel a fifth as often), plus each bus
    rider's or boarder's own cost."""
    km_cost = pairs["students"] * pairs["distance_m"] / 1000.0 * scenario.costs.student_km_wan
    km_cost = km_cost.where(~pairs["boarding"], km_cost * BOARDER_TRIP_SHARE)
    return km_cost + _transport_cost(pairs, scenario)


def _transport_cost(pairs: pd.DataFrame, scenario: Scenario) -> pd.Series:
    """Bus riders' and boarders' cost of each pair, 万元 (what the budget counts)."""
    ride = pairs["students"] * scenario.school_bus.cost_per_rider_wan
    board = pairs["students"] * scenario.boarding.cost_per_boarder_wan
    none = pd.Series(0.0, index=pairs.index)
    return none.where(~pairs["bus"], ride).where(~pairs["boarding"], board)


def mark_boarders(villages: gpd.GeoDataFrame, scenario: Scenario) -> gpd.GeoDataFrame:
    """Add ``bus_<level>`` (the village's children of that level ride the school bus; kept
    when the village table has it, else false) and ``boarding_<level>`` (they board at their
    school: the trip is beyond the daily limit and not a bus ride)."""
    out = villages.copy()
    for lvl in LEVELS:
        served = out[f"school_{lvl}"].notna()
        bus = out[f"bus_{lvl}"].eq(True) if f"bus_{lvl}" in out else False
        out[f"bus_{lvl}"] = served & bus
        trips = pd.DataFrame(
            {"distance_m": out[f"distance_m_{lvl}"], "minutes": out[f"minutes_{lvl}"]}
        )
        daily = within_daily_limit(trips, scenario, lvl)
        out[f"boarding_{lvl}"] = served & ~daily & ~out[f"bus_{lvl}"]
    return out


def bus_travel(scenario: Scenario) -> Travel | None:
    """Travel settings of the school bus: every level drives, within its bus limit, at the
    drive speeds times ``school_bus.speed_factor``; None when no level has a bus. Levels
    without a bus keep their own settings (use :meth:`SchoolBus.levels` to pick the tables)."""
    bus = scenario.school_bus
    if not bus.levels():
        return None
    travel = scenario.travel
    f = bus.speed_factor
    update: dict[str, object] = {
        "drive_kmh": {k: v * f for k, v in travel.drive_kmh.items()},
        "drive_default_kmh": travel.drive_default_kmh * f,
    }
    for lvl in bus.levels():
        update[lvl] = travel.of(lvl).model_copy(
            update={
                "mode": "drive",
                "max_distance_m": bus.max_distance(lvl),
                "max_minutes": bus.max_minutes(lvl),
            }
        )
    return travel.model_copy(update=update)


def with_bus(
    tables: dict[str, pd.DataFrame], rides: dict[str, pd.DataFrame], scenario: Scenario
) -> dict[str, pd.DataFrame]:
    """The trips the model may use, per level, with a ``bus`` column.

    ``tables`` hold each level's trips on its own mode (widened to the boarding limit, see
    :func:`reach_scenario`); ``rides`` the school-bus trips (:func:`bus_travel`) of the levels
    with a bus. A (village, site) pair is walked when its own-mode trip is within the daily
    limit; else it is a bus ride (distance and minutes of the bus) when the bus trip is within
    the bus limit; else it keeps its own-mode trip (a boarder's, checked in
    :func:`model_input`). Levels without a bus are returned as they are.
    """
    out = dict(tables)
    for lvl, ride in rides.items():
        own = tables[lvl]
        daily = within_daily_limit(own, scenario, lvl)
        walked = own[daily]
        bus = _without(ride[_within_bus_limit(ride, scenario, lvl)], walked)
        far = _without(own[~daily], bus)
        trips = pd.concat(
            [walked.assign(bus=False), bus.assign(bus=True), far.assign(bus=False)],
            ignore_index=True,
        )
        out[lvl] = trips.sort_values(["village_id", "site_id"], ignore_index=True)
    return out


def _within_bus_limit(table: pd.DataFrame, scenario: Scenario, level: str) -> pd.Series:
    bus = scenario.school_bus
    ok = table["distance_m"] <= (bus.max_distance(level) or 0.0) + 1e-6
    most = bus.max_minutes(level)
    return ok & (table["minutes"] <= most + 1e-6) if most is not None else ok


def _without(table: pd.DataFrame, other: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``table`` whose (village_id, site_id) is not in ``other``."""
    key = ["village_id", "site_id"]
    taken = pd.MultiIndex.from_frame(other[key])
    return table[~pd.MultiIndex.from_frame(table[key]).isin(taken)]


def reach_scenario(scenario: Scenario) -> Scenario:
    """``scenario`` with each level's travel limit widened to its boarding limit, so that the
    travel tables hold the pairs a boarder could use."""
    travel = scenario.travel
    for lvl in LEVELS:
        far = scenario.boarding.max_distance(lvl)
        if far is not None and far > travel.of(lvl).max_distance_m:
            wide = travel.of(lvl).model_copy(update={"max_distance_m": far, "max_minutes": None})
            travel = travel.model_copy(update={lvl: wide})
    return scenario.model_copy(update={"travel": travel})
