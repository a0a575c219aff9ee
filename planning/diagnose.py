"""Why a scenario has no plan, in the planner's terms: who cannot be reached, where places lack.

Checks run before solving (unreachable villages) and after the solver proves infeasibility
(places per township and level against children; a budget below the cheapest feasible plan).
"""

from __future__ import annotations

from dataclasses import replace

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from planning._errors import InfeasiblePlanError, SolverError
from planning.model import ModelInput, SolveResult, build_model, solve
from planning.plan import SERVES
from planning.scenario import Scenario


def unreachable_report(
    unreachable: pd.DataFrame,
    villages: gpd.GeoDataFrame,
    sites: gpd.GeoSeries,
    options: pd.DataFrame,
    scenario: Scenario,
) -> list[str]:
    """One line per village/level that no school of that level can reach within the limits.

    Each line gives the children affected, the limit, and the straight-line distance to the
    nearest school (existing or candidate) that teaches that level.
    """
    lines = []
    for lvl, rows in unreachable.groupby("level", sort=True):
        base = str(lvl).split("_")[0]  # primary_upper: the grades a teaching point does not teach
        serving = options[options["school_level"].map(lambda k, b=base: b in SERVES[k])]
        if lvl == "primary_upper":
            serving = serving[serving["school_level"] != "teaching_point"]
        pts = sites.loc[serving["site_id"].unique()]
        tree = cKDTree(np.column_stack([pts.x, pts.y])) if len(pts) else None
        limit = f"{scenario.travel.of(base).max_distance_m / 1000:g} km on the network"
        bus = scenario.school_bus.max_distance(base)
        if bus is not None:
            limit += f" nor {bus / 1000:g} km by school bus"
        for r in rows.itertuples():
            v = villages.loc[r.village_id]
            where = f"{v['name']} ({r.village_id}, {v.get('township', '')})"
            if tree is None:
                near = "no school of this level anywhere"
            else:
                dist, pos = tree.query([v.geometry.x, v.geometry.y])
                near = f"nearest {pts.index[pos]} is {dist / 1000:.1f} km away in a straight line"
            what = "upper-grade primary" if lvl == "primary_upper" else lvl
            lines.append(
                f"{where}: {r.students:g} {what} children, no school within {limit}; {near}"
            )
    return lines


def option_places(options: pd.DataFrame, scenario: Scenario, level: str) -> pd.Series:
    """Most students of ``level`` each option could take: rooms (plus expansion), type limit,
    and school size, whichever is smallest."""
    size = scenario.rules.class_size(level)
    rooms = options["max_classes"].fillna(np.inf) + options.get("max_expand", 0)
    limit = options.get("class_limit", pd.Series(np.inf, index=options.index)).fillna(np.inf)
    by_class = np.minimum(rooms, limit) * size
    return np.minimum(by_class, options["max_students"]).astype(float)


def capacity_report(
    demand: pd.DataFrame,
    villages: gpd.GeoDataFrame,
    pairs: pd.DataFrame,
    options: pd.DataFrame,
    scenario: Scenario,
) -> list[str]:
    """Townships whose children of a level exceed the places every school they can reach
    could offer, even if all were open and fully expanded."""
    lines = []
    options = options[options["forced"] != "closed"]  # what the actions leave possible
    pairs = pairs[pairs["option_id"].isin(options.index)]
    township = villages.get("township", pd.Series("", index=villages.index))
    for lvl, dem in demand.groupby("level", sort=True):
        places = option_places(options, scenario, str(lvl))
        dem = dem.assign(township=township.reindex(dem["village_id"]).to_numpy())
        reach = pairs[pairs["level"] == lvl].merge(dem[["village_id", "township"]])
        for town, rows in dem.groupby("township", sort=True):
            opts = reach.loc[reach["township"] == town, "option_id"].unique()
            cap = places.reindex(opts).groupby(options["site_id"].reindex(opts)).max().sum()
            kids = rows["students"].sum()
            if kids > cap:
                lines.append(
                    f"township {town}: {kids:,.0f} {lvl} children, but the schools "
                    f"they can reach offer at most {cap:,.0f} places"
                )
    total_kids = demand.groupby("level")["students"].sum()
    for lvl, kids in total_kids.items():
        serving = options[options["school_level"].map(lambda k, lvl=lvl: lvl in SERVES[k])]
        cap = option_places(serving, scenario, str(lvl)).groupby(serving["site_id"]).max().sum()
        if kids > cap:
            lines.append(f"whole area: {kids:,.0f} {lvl} children, at most {cap:,.0f} places")
    return lines


def budget_report(data: ModelInput, scenario: Scenario) -> list[str]:
    """If a budget is set, compare it with the capital cost of the cheapest plan that meets
    every other rule (found by minimising capital cost alone)."""
    if data.budget is None:
        return []
    opts = data.option_table()
    cheapest = replace(
        data,
        options=opts.assign(
            fixed_cost=opts["capex"], closed_cost=0.0, expand_cost=opts["expand_capex"]
        ),
        pairs=data.pairs.assign(cost=data.pairs.get("capex", 0.0)),
        budget=None,
        min_size_penalty=None,
    )
    try:
        result = solve(build_model(cheapest), time_limit_s=scenario.solver.time_limit_s)
    except (InfeasiblePlanError, SolverError):
        return []  # no plan even with unlimited money: the other lines explain it
    word = "is" if result.status == "optimal" else "is at most"
    transport = ", bus and boarding" if scenario.costs.budget_includes_transport else ""
    return [
        f"budget {data.budget:,.0f} 万元 is below the cost of the cheapest plan that meets "
        f"every other rule (building and expansion{transport}), which {word} "
        f"{result.objective:,.0f} 万元"
    ]


def min_size_report(
    data: ModelInput, villages: gpd.GeoDataFrame, names: pd.Series | None = None
) -> list[str]:
    """Villages stranded by the minimum-size rule.

    A school whose every reachable child together is fewer than its minimum size can never
    stay open; a village whose every option is such a school has nowhere to go.
    """
    opts = data.option_table()
    pairs = data.pairs.merge(data.demand, on=["village_id", "level"])
    potential = (
        pairs.drop_duplicates(["village_id", "level", "option_id"])
        .groupby("option_id")["students"]
        .sum()
    )
    doomed = opts.index[
        (opts["min_students"] > 0)
        & (opts["forced"] != "open")
        & (potential.reindex(opts.index).fillna(0) < opts["min_students"])
    ]
    ok = pairs[~pairs["option_id"].isin(doomed)][["village_id", "level"]].drop_duplicates()
    stranded = pairs.merge(ok, how="left", indicator=True)
    stranded = stranded[stranded["_merge"] == "left_only"]
    lines = []
    for (vid, lvl), rows in stranded.groupby(["village_id", "level"], sort=True):
        name = villages.at[vid, "name"] if vid in villages.index else vid
        schools = ", ".join(
            f"{_named(j, names)} (at most {potential.get(j, 0):,.0f} children within reach, "
            f"minimum {opts.at[j, 'min_students']:,.0f})"
            for j in rows["option_id"].unique()
        )
        lines.append(
            f"{name} ({vid}): its {lvl} children can reach only {schools}; protect "
            "that school or lower rules.min_students"
        )
    return lines


def _named(school_id: str, names: pd.Series | None) -> str:
    if names is not None and school_id in names.index:
        return f"{names[school_id]} ({school_id})"
    site, _, design = school_id.partition(":")  # new options are "<site>:<type>"
    return f"new school at candidate site {site} (type {design})" if design else school_id


def elastic_min_size_report(
    data: ModelInput, scenario: Scenario, names: pd.Series | None = None
) -> list[str]:
    """Which schools would have to stay open below the minimum size for every other rule to
    hold: the minimum-size rows are made elastic (each missing student heavily penalised)."""
    opts = data.option_table()
    if not (opts["min_students"] > 0).any():
        return []
    elastic = replace(data, min_size_penalty=1e5)
    try:
        result = solve(build_model(elastic), time_limit_s=scenario.solver.time_limit_s)
    except (InfeasiblePlanError, SolverError):
        return []
    return [
        f"{_named(j, names)} must stay open for its villages but would have only "
        f"{opts.at[j, 'min_students'] - short:,.0f} students, under the minimum of "
        f"{opts.at[j, 'min_students']:,.0f}; protect it or lower rules.min_students"
        for j, short in sorted(result.shortfall.items())
    ]


def forced_closed_report(data: ModelInput, villages: gpd.GeoDataFrame) -> list[str]:
    """Villages whose every school within reach is closed by the actions (or not built yet)."""
    opts = data.option_table()
    shut = set(opts.index[opts["forced"] == "closed"])
    open_pairs = data.pairs[~data.pairs["option_id"].isin(shut)]
    served = open_pairs[["village_id", "level"]].drop_duplicates()
    lost = data.demand.merge(served, how="left", indicator=True)
    lost = lost[lost["_merge"] == "left_only"]
    lines = []
    for r in lost.itertuples():
        reach = sorted(
            data.pairs.loc[
                (data.pairs["village_id"] == r.village_id) & (data.pairs["level"] == r.level),
                "option_id",
            ]
        )
        name = villages.at[r.village_id, "name"] if r.village_id in villages.index else ""
        lines.append(
            f"{name} ({r.village_id}): its {r.students:g} {r.level} children can reach "
            f"only {', '.join(reach)}, all closed or not yet built by the actions"
        )
    return lines


UNPLACED = "__unplaced__"


def unplaced_report(
    data: ModelInput,
    scenario: Scenario,
    villages: gpd.GeoDataFrame,
    names: pd.Series | None = None,
) -> list[str]:
    """Which children cannot be placed when every rule holds together, and what is full.

    The model is solved again with one extra place, "unplaced", open to every demand row at
    a cost far above any trip (and minimum sizes made elastic the same way): the plan then
    leaves out as few children as the rules force. Each line names a village left out, the
    schools within its reach and what stops each of them taking it (closed by the actions,
    students at the school's limit, classes at the rooms or the class-count limit).
    """
    opts = data.option_table()
    students = data.demand["students"].astype(float)
    total = float(students.sum())
    scale = max(1.0, float(data.pairs["cost"].abs().max()), float(opts["fixed_cost"].abs().max()))
    per_student = 1e3 * scale
    extra = pd.DataFrame(
        {
            "site_id": [UNPLACED],
            "fixed_cost": [0.0],
            "closed_cost": [0.0],
            "max_students": [total + 1.0],
            "max_classes": [np.nan],
            "forced": ["open"],
        },
        index=pd.Index([UNPLACED], name=opts.index.name),
    )
    anywhere = data.demand[["village_id", "level"]].assign(
        option_id=UNPLACED, cost=per_student * students, boarding=False, capex=0.0
    )
    elastic = replace(
        data,
        options=pd.concat([data.options, extra]),
        pairs=pd.concat(
            [data.pairs, anywhere[[*data.pairs.columns.intersection(anywhere.columns)]]]
        ),
        p=None if data.p is None else data.p + 1,
        min_size_penalty=per_student if (opts["min_students"] > 0).any() else None,
    )
    try:
        result = solve(
            build_model(elastic),
            time_limit_s=min(120.0, scenario.solver.time_limit_s),
            mip_gap=1e-4,
        )
    except (InfeasiblePlanError, SolverError):
        return []
    assigned = result.assignment.merge(data.demand, on=["village_id", "level"])
    left = assigned[assigned["option_id"] == UNPLACED]
    if left.empty:
        return []
    state = _option_state(elastic.option_table(), assigned, result, data)
    lines = [
        f"{len(left)} village/level demand(s), {left['students'].sum():,.0f} children, cannot "
        "be placed while every rule holds together"
        + (f" (with the budget of {data.budget:,.0f} 万元)" if data.budget is not None else "")
        + "; the schools within their reach and what stops each:"
    ]
    for r in left.sort_values("students", ascending=False).head(15).itertuples():
        reach = data.pairs.loc[
            (data.pairs["village_id"] == r.village_id) & (data.pairs["level"] == r.level),
            "option_id",
        ]
        why = "; ".join(
            f"{_named(str(j), names)}: {_why(state.get(str(j)), r.level)}"
            for j in _one_per_site(reach, opts, set(result.open_options))
        )
        name = villages.at[r.village_id, "name"] if r.village_id in villages.index else ""
        lines.append(
            f"{name} ({r.village_id}), {r.students:g} {r.level} children (a village goes to "
            f"one school as a whole) — {why or 'no school within reach'}"
        )
    if len(left) > 15:
        lines.append(f"... and {len(left) - 15} more")
    for j, short in sorted(result.shortfall.items()):
        lines.append(
            f"{_named(j, names)} would also stay open below its minimum size "
            f"({opts.at[j, 'min_students'] - short:,.0f} < {opts.at[j, 'min_students']:,.0f})"
        )
    return lines


def _one_per_site(reach: pd.Series, opts: pd.DataFrame, open_ids: set[str]) -> list[str]:
    """The options of ``reach``, one per site: the one open in the plan, else the first."""
    sites = opts["site_id"].reindex(reach).to_numpy()
    table = pd.DataFrame({"option_id": reach.to_numpy(), "site_id": sites})
    table["open"] = table["option_id"].isin(open_ids)
    table = table.sort_values("open", ascending=False, kind="stable")
    return list(table.drop_duplicates("site_id").sort_index()["option_id"].astype(str))


def _why(state: dict[str, object] | None, level: str) -> str:
    if state is None:
        return "?"
    if "text" in state:
        return str(state["text"])
    room = state["room"]
    assert isinstance(room, dict)
    return f"room for {room.get(level, 0.0):,.0f} more ({state['load']})"


def _option_state(
    opts: pd.DataFrame, assigned: pd.DataFrame, result: SolveResult, data: ModelInput
) -> dict[str, dict[str, object]]:
    """What stops each option taking more children in the elastic plan: closed, or its room
    per level (students left under the school's limit, and places in the classes it may
    still add, whichever is smaller)."""
    load = assigned.groupby("option_id")["students"].sum()
    by_level = assigned.groupby(["option_id", "level"])["students"].sum()
    classes = result.classes.set_index(["option_id", "level"])["classes"]
    added = result.expansions.set_index("option_id")["classrooms_added"]
    open_ids = set(result.open_options)
    out: dict[str, dict[str, object]] = {}
    for j, o in opts.iterrows():
        if j == UNPLACED:
            continue
        if o["forced"] == "closed":
            out[str(j)] = {"text": "closed or forbidden by the actions (or not yet built)"}
            continue
        if j not in open_ids:
            verb = "built" if o.get("kind") == "new" else "kept"
            out[str(j)] = {"text": f"not {verb} in the best partial plan"}
            continue
        left = float(o["max_students"] - load.get(j, 0.0))
        parts = [f"{load.get(j, 0.0):,.0f}/{o['max_students']:,.0f} students"]
        room = {lvl: left for lvl in by_level.index.get_level_values(1).unique()}
        if data.class_size is not None:
            rooms = o["max_classes"] + added.get(j, 0)
            limit = min(rooms, o["class_limit"]) if pd.notna(o["class_limit"]) else rooms
            if pd.notna(limit):
                used = float(classes[j].sum()) if j in classes.index.get_level_values(0) else 0.0
                parts.append(f"{used:,.0f}/{limit:,.0f} classes")
                for lvl, size in data.class_size.items():
                    held = by_level.get((j, lvl), 0.0)
                    seats = classes.get((j, lvl), 0.0) * size - held  # free seats in its classes
                    room[lvl] = min(left, seats + max(0.0, limit - used) * size)
        out[str(j)] = {"room": room, "load": ", ".join(parts)}
    return out
