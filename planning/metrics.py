"""Figures of a plan, recomputed from the plan tables (never copied from the model)."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from planning.plan import SERVES
from planning.scenario import LEVELS, Scenario


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """The smallest value below which at least share ``q`` of the weight lies."""
    keep = weights > 0
    values, weights = values[keep], weights[keep]
    if len(values) == 0:
        return float("nan")
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cum, q * cum[-1] - 1e-9)])


def travel_stats(villages: gpd.GeoDataFrame, level: str, limit_m: float) -> dict[str, float]:
    """Student-weighted travel of one level: mean, median, p90, max (metres and minutes)."""
    served = villages[villages[f"school_{level}"].notna()]
    w = served[f"children_{level}"].to_numpy(dtype=float)
    d = served[f"distance_m_{level}"].to_numpy(dtype=float)
    t = served[f"minutes_{level}"].to_numpy(dtype=float)
    if w.sum() == 0:
        return {"students": 0}
    return {
        "students": int(w.sum()),
        "mean_m": round(float(np.average(d, weights=w)), 1),
        "median_m": round(weighted_quantile(d, w, 0.5), 1),
        "p90_m": round(weighted_quantile(d, w, 0.9), 1),
        "max_m": round(float(d[w > 0].max()), 1),
        "mean_minutes": round(float(np.average(t, weights=w)), 1),
        "max_minutes": round(float(t[w > 0].max()), 1),
        "limit_m": limit_m,
        "share_within_limit": round(float(w[d <= limit_m + 1e-6].sum() / w.sum()), 4),
    }


def compliance(schools: pd.DataFrame, scenario: Scenario, *, after: bool) -> dict[str, int]:
    """Schools breaking the national rules, before (as reported) or after the plan.

    ``school_size``: over 2,000 students (2,500 nine-year); ``class_size``: more students per
    class than allowed (after the plan: the fewest legal classes do not fit the classrooms);
    ``big_classes_56`` / ``super_big_classes_66``: average class of 56+ / 66+ (大班额);
    ``class_count``: more classes than the school type's limit; ``small_schools``: open schools
    under the minimum size that are not protected.
    """
    rules = scenario.rules
    sfx = "" if after else "_before"
    live = (
        schools[schools["decision"] != "close"] if after else schools[schools["decision"] != "new"]
    )
    total = live[f"students_primary{sfx}"] + live[f"students_junior{sfx}"]
    classes = live[f"classes_primary{sfx}"] + live[f"classes_junior{sfx}"]
    avg_p = live[f"students_primary{sfx}"] / live[f"classes_primary{sfx}"].replace(0, np.nan)
    avg_j = live[f"students_junior{sfx}"] / live[f"classes_junior{sfx}"].replace(0, np.nan)
    if after:
        over_class = classes > live["classrooms"]
    else:
        over_class = (avg_p > rules.class_size_primary) | (avg_j > rules.class_size_junior)
    limit = live["level"].map(lambda k: rules.max_classes(k) or np.inf).astype(float)
    protected = live["protected"].astype(bool) if "protected" in live else False
    protected = protected | live.index.isin(rules.protected_schools)
    small = (total < rules.min_students) & ~protected & (total > 0 if not after else True)
    return {
        "school_size": int((total > live["max_students"]).sum()),
        "class_size": int(over_class.sum()),
        "big_classes_56": int(((avg_p >= 56) | (avg_j >= 56)).sum()),
        "super_big_classes_66": int(((avg_p >= 66) | (avg_j >= 66)).sum()),
        "class_count": int((classes > limit).sum()),
        "small_schools": int(small.sum()),
    }


def _beyond_daily(
    villages: pd.DataFrame, scenario: Scenario, level: str
) -> tuple[pd.Series, pd.Series]:
    """Served villages beyond the daily limit that do not ride the school bus, and which of
    them may board there."""
    lt = scenario.travel.of(level)
    d, m = villages[f"distance_m_{level}"], villages[f"minutes_{level}"]
    far = d > lt.max_distance_m + 1e-6
    if lt.max_minutes is not None:
        far |= m > lt.max_minutes + 1e-6
    far &= villages[f"school_{level}"].notna() & ~_bus_riders(villages, scenario, level)
    board = scenario.boarding.max_distance(level)
    allowed = (d <= board + 1e-6) if board is not None else pd.Series(False, index=d.index)
    return far, allowed


def _bus_riders(villages: pd.DataFrame, scenario: Scenario, level: str) -> pd.Series:
    """Served villages whose children of ``level`` ride the school bus, within its limits."""
    bus = scenario.school_bus
    far = bus.max_distance(level)
    if far is None or f"bus_{level}" not in villages:
        return pd.Series(False, index=villages.index)
    ok = villages[f"bus_{level}"].eq(True) & (villages[f"distance_m_{level}"] <= far + 1e-6)
    most = bus.max_minutes(level)
    if most is not None:
        ok &= villages[f"minutes_{level}"] <= most + 1e-6
    return ok & villages[f"school_{level}"].notna()


def township_places(
    schools: pd.DataFrame, villages: pd.DataFrame, scenario: Scenario
) -> dict[str, dict[str, dict[str, int]]]:
    """Per township and level: children living there, places in its open schools after the
    plan (classrooms x class size, within the school size limit; a nine-year school's rooms split
    by its students per level), and the places still needed."""
    live = schools[schools["decision"] != "close"]
    total = (live["students_primary"] + live["students_junior"]).replace(0, np.nan)
    out: dict[str, dict[str, dict[str, int]]] = {}
    for lvl in LEVELS:
        serves = live["level"].map(lambda k, lvl=lvl: lvl in SERVES[k])
        share = np.where(
            live["level"] == "nine_year", (live[f"students_{lvl}"] / total).fillna(0.5), 1.0
        )
        rooms = live["classrooms"] * share * serves
        places = np.minimum(rooms * scenario.rules.class_size(lvl), live["max_students"])
        by_town = places.groupby(live["township"]).sum()
        kids = villages.groupby("township")[f"children_{lvl}"].sum()
        for town in sorted(set(kids.index) | set(by_town.index)):
            k, pl = int(kids.get(town, 0)), int(by_town.get(town, 0))
            out.setdefault(str(town), {})[lvl] = {
                "children": k,
                "places": pl,
                "needed": max(0, k - pl),
            }
    return out


def capital_costs(schools: pd.DataFrame, scenario: Scenario) -> dict[str, float | None]:
    """Building and expansion costs of the plan, 万元."""
    build = schools.get("build_cost_wan", pd.Series(dtype=float)).fillna(0).sum()
    added = schools.get("classrooms_added", pd.Series(dtype=float)).fillna(0).sum()
    expand = added * scenario.expansion.cost_per_classroom_wan
    return {
        "build": round(float(build), 1),
        "expansion": round(float(expand), 1),
        "capital": round(float(build + expand), 1),
        "budget": scenario.costs.budget_wan,
    }


def _costs(
    schools: pd.DataFrame,
    scenario: Scenario,
    boarders: dict[str, int],
    riders: dict[str, int],
) -> dict[str, float | None]:
    """Capital, boarding and bus costs, and what of them counts against the budget, 万元."""
    out = capital_costs(schools, scenario)
    board = round(sum(boarders.values()) * scenario.boarding.cost_per_boarder_wan, 1)
    bus = round(sum(riders.values()) * scenario.school_bus.cost_per_rider_wan, 1)
    counted = float(out["capital"] or 0.0)
    if scenario.costs.budget_includes_transport:
        counted += board + bus
    return {**out, "boarding": board, "bus": bus, "against_budget": round(counted, 1)}


def summarise(
    schools: gpd.GeoDataFrame,
    villages: gpd.GeoDataFrame,
    scenario: Scenario,
    *,
    solve: dict[str, Any],
    travel_method: str,
) -> dict[str, Any]:
    """Headline figures of a plan: decisions, students, travel per level and rule violations."""
    decisions = schools["decision"].value_counts()
    travel = {
        lvl: travel_stats(villages, lvl, scenario.travel.of(lvl).max_distance_m) for lvl in LEVELS
    }
    unassigned = {
        lvl: int(villages.loc[villages[f"school_{lvl}"].isna(), f"children_{lvl}"].sum())
        for lvl in LEVELS
    }
    over_limit, boarders, riders = 0, {}, {}
    for lvl in LEVELS:
        far, allowed = _beyond_daily(villages, scenario, lvl)
        over_limit += int((far & ~allowed).sum())
        boarders[lvl] = int(villages.loc[far & allowed, f"children_{lvl}"].sum())
        bus = _bus_riders(villages, scenario, lvl)
        riders[lvl] = int(villages.loc[bus, f"children_{lvl}"].sum())
    after = compliance(schools, scenario, after=True)
    return {
        "scenario": scenario.name,
        **solve,
        "travel_costs": travel_method,
        "schools": {
            "open": int(len(schools) - decisions.get("close", 0)),
            "kept": int(decisions.get("keep", 0) + decisions.get("expand", 0)),
            "expanded": int(decisions.get("expand", 0)),
            "closed": int(decisions.get("close", 0)),
            "new": int(decisions.get("new", 0)),
        },
        "students": {
            "primary": travel["primary"].get("students", 0),
            "junior": travel["junior"].get("students", 0),
            "unassigned": sum(unassigned.values()),
            "unassigned_by_level": unassigned,
            "boarders": boarders,
            "bus_riders": riders,
        },
        "travel": travel,
        "violations": {
            "school_size": after["school_size"],
            "class_size": after["class_size"],
            "travel_limit": over_limit,
            "class_count": after["class_count"],
            "small_schools": after["small_schools"],
        },
        "baseline": compliance(schools, scenario, after=False),
        "costs_wan": _costs(schools, scenario, boarders, riders),
        "townships": township_places(schools, villages, scenario),
    }
