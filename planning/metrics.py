"""Figures of a plan, recomputed from the plan tables (never copied from the model)."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

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
    """Schools breaking the size and class-size rules, before (as reported) or after the plan."""
    suffix = "" if after else "_before"
    live = (
        schools[schools["decision"] != "close"] if after else schools[schools["decision"] != "new"]
    )
    total = live[f"students_primary{suffix}"] + live[f"students_junior{suffix}"]
    over_size = total > live["max_students"]
    if after:
        # classes are the fewest legal ones; the rule breaks when they do not fit the classrooms
        over_class = live["classes_primary"] + live["classes_junior"] > live["classrooms"]
        big = pd.Series(False, index=live.index)
    else:
        avg_p = live["students_primary_before"] / live["classes_primary_before"].replace(0, np.nan)
        avg_j = live["students_junior_before"] / live["classes_junior_before"].replace(0, np.nan)
        over_class = (avg_p > scenario.rules.class_size_primary) | (
            avg_j > scenario.rules.class_size_junior
        )
        big = (avg_p >= 56) | (avg_j >= 56)
    return {
        "school_size": int(over_size.sum()),
        "class_size": int(over_class.sum()),
        "big_classes_56": int(big.sum()),
    }


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
    over_limit = sum(
        int((villages[f"distance_m_{lvl}"] > scenario.travel.of(lvl).max_distance_m + 1e-6).sum())
        for lvl in LEVELS
    )
    after = compliance(schools, scenario, after=True)
    return {
        "scenario": scenario.name,
        **solve,
        "travel_costs": travel_method,
        "schools": {
            "open": int(decisions.get("keep", 0) + decisions.get("new", 0)),
            "kept": int(decisions.get("keep", 0)),
            "closed": int(decisions.get("close", 0)),
            "new": int(decisions.get("new", 0)),
        },
        "students": {
            "primary": travel["primary"].get("students", 0),
            "junior": travel["junior"].get("students", 0),
            "unassigned": sum(unassigned.values()),
            "unassigned_by_level": unassigned,
        },
        "travel": travel,
        "violations": {
            "school_size": after["school_size"],
            "class_size": after["class_size"],
            "travel_limit": over_limit,
        },
        "baseline": compliance(schools, scenario, after=False),
    }
