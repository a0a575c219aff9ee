"""The model instance of a scenario: options (existing schools and candidate designs), demand
rows and allowed (village, level, option) pairs with their costs, including boarding."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from planning._errors import InputError, Problem
from planning.layers import Layers
from planning.model import ModelInput
from planning.plan import SERVES
from planning.scenario import LEVELS, Scenario


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
            "max_expand": grow.max_classrooms,
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
        p["boarding"] = ~within_daily_limit(p, scenario, lvl)
        # boarding only at a school with boarding places (existing or planned)
        p = p[~p["boarding"] | (options["boarding_places"].reindex(p["option_id"]) > 0).to_numpy()]
        pair_frames.append(p.assign(level=lvl))
    pairs = pd.concat(pair_frames, ignore_index=True).merge(demand, on=["village_id", "level"])
    pairs["cost"] = _pair_cost(pairs, scenario)
    reach = pairs[["village_id", "level"]].drop_duplicates()
    flag = demand.merge(reach, how="left", indicator=True)["_merge"].to_numpy() == "both"
    class_size = {lvl: scenario.rules.class_size(lvl) for lvl in LEVELS}
    data = ModelInput(
        demand=demand[flag].reset_index(drop=True),
        options=options,
        pairs=pairs[["village_id", "level", "option_id", "cost", "boarding"]],
        class_size=class_size,
        budget=scenario.costs.budget_wan,
    )
    return data, demand[~flag].reset_index(drop=True)


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
    """Students x km x value per student-km; boarders travel a fifth as often and cost a
    boarding subsidy each."""
    km_cost = pairs["students"] * pairs["distance_m"] / 1000.0 * scenario.costs.student_km_wan
    board = pairs["students"] * scenario.boarding.cost_per_boarder_wan
    return km_cost.where(~pairs["boarding"], km_cost * BOARDER_TRIP_SHARE + board)


def mark_boarders(villages: gpd.GeoDataFrame, scenario: Scenario) -> gpd.GeoDataFrame:
    """Add ``boarding_<level>``: the village's children of that level board at their school
    (their trip is beyond the daily limit)."""
    out = villages.copy()
    for lvl in LEVELS:
        trips = pd.DataFrame(
            {"distance_m": out[f"distance_m_{lvl}"], "minutes": out[f"minutes_{lvl}"]}
        )
        out[f"boarding_{lvl}"] = out[f"school_{lvl}"].notna() & ~within_daily_limit(
            trips, scenario, lvl
        )
    return out


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
