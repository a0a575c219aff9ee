"""The location-allocation model and its solve: the only module that talks to PuLP.

Formulation (single-assignment capacitated facility location with classes)
--------------------------------------------------------------------------
Sets: demand rows k = (village i, level l) with d_k students; options j (an existing school,
or one school type at one candidate site); pairs (k, j) that are within the travel limits.

Variables: y_j in {0,1} (option open); x_kj in {0,1} (demand k goes to option j);
c_jl in Z+ (classes of level l at option j, only when class sizes are given);
e_j in {0..E_j} (classrooms added to option j, only where E_j > 0).

    minimise   sum_kj a_kj x_kj + sum_j f_j y_j + sum_j g_j (1 - y_j) + sum_j h_j e_j
    subject to sum_j x_kj = 1                           every demand row is served once
               x_kj <= y_j                              only by an open option
               sum_k:l d_k x_kj <= s_l c_jl             integer classes of at most s_l students
               sum_l c_jl <= C_j y_j + e_j              classes fit the classrooms / design
               e_j <= E_j y_j                           expansion only of an open school
               sum_l c_jl <= L_j y_j                    class-count limit of the school type
               sum_k d_k x_kj <= M_j y_j                school size limit
               sum_k d_k x_kj >= m_j y_j                minimum size of a kept school
               sum_k:boarding d_k x_kj <= K_j y_j       boarders within boarding places
               sum_{j at site} y_j <= 1                 one design per candidate site
               sum_j b_j y_j + sum_j h'_j e_j
                 + sum_kj t_kj x_kj <= B                (optional: budget; t_kj: pairs ``capex``)
               sum_j y_j = p                            (optional: exactly p open, the CPMP)
               y_a <= y_b or e_a <= e_b                 (optional links between options)
               x_kj <= x_k'j                            (optional grade links: the lower grades
                                                         k of a village go to j only with its
                                                         upper grades k')

a_kj is the assignment cost (e.g. students x km x value per student-km), f_j the cost of having
j open (running an existing school, building a new one), g_j the cost of closing an existing
school, h_j the objective cost of one added classroom; b_j and h'_j are the capital costs counted
against the budget B. Options can be forced open or closed.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import logging
import math
import os
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pulp

from planning._errors import InfeasiblePlanError, SolverError

logger = logging.getLogger(__name__)

OPTION_COLUMNS = ("site_id", "fixed_cost", "closed_cost", "max_students", "max_classes", "forced")
# optional option columns and their defaults
OPTION_DEFAULTS: dict[str, Any] = {
    "min_students": 0.0,  # m_j
    "class_limit": np.nan,  # L_j
    "max_expand": 0,  # E_j
    "expand_cost": 0.0,  # h_j (objective)
    "capex": 0.0,  # b_j (budget)
    "expand_capex": 0.0,  # h'_j (budget)
    "expand_fixed": np.nan,  # a planner's expansion: e_j fixed to this many classrooms
    "boarding_places": 0.0,  # K_j: students on boarding pairs (pairs column ``boarding``)
}


@dataclass(frozen=True)
class ModelInput:
    """Labelled tables that define one model instance.

    Attributes
    ----------
    demand
        Columns ``village_id, level, students`` (students > 0); one row per demand point.
    options
        Indexed by ``option_id``; columns ``site_id, fixed_cost, closed_cost, max_students,
        max_classes`` (NaN: no classroom limit) and ``forced`` (``"open"``, ``"closed"`` or "");
        optionally ``min_students, class_limit, max_expand, expand_cost, capex, expand_capex``
        (see ``OPTION_DEFAULTS`` and the module docstring).
    pairs
        Columns ``village_id, level, option_id, cost``: allowed assignments and their cost;
        optionally ``boarding`` (True: the children would board, counted against
        ``boarding_places``) and ``capex`` (what the pair spends of ``budget``: bus riders' and
        boarders' cost).
    class_size
        Students per class per level; ``None`` for a capacity in students only (no classes).
    p
        If given, exactly ``p`` options are open.
    budget
        If given, capital cost (``capex`` of open options plus ``expand_capex`` per added
        classroom) may not exceed it.
    links
        Columns ``before, after`` (option ids) and ``var`` (``"y"`` or ``"e"``):
        ``y_before <= y_after`` or ``e_before <= e_after`` (the same school in consecutive
        years: once built it stays open, once closed it stays closed, classrooms once added
        stay).
    min_size_penalty
        If given, the minimum-size rows become elastic: each student missing costs this much
        (used to explain infeasible scenarios; see ``SolveResult.shortfall``).
    grade_links
        Columns ``village_id, lower, upper`` (two demand levels of the village, e.g.
        ``primary_lower`` and ``primary_upper``): ``x[v, lower, j] <= x[v, upper, j]`` for every
        option j both rows may use, so the lower grades go to a school that also teaches the
        village's upper grades only together with them (a teaching point, which the upper
        grades cannot use, is free).
    class_levels
        Demand level -> the level whose classes its students sit in (default: its own level),
        e.g. ``{"primary_lower": "primary", "primary_upper": "primary"}``: c_jl and the class
        rows then count the students of all three together.
    """

    demand: pd.DataFrame
    options: pd.DataFrame
    pairs: pd.DataFrame
    class_size: dict[str, int] | None = None
    p: int | None = None
    budget: float | None = None
    min_size_penalty: float | None = None
    links: pd.DataFrame | None = None
    grade_links: pd.DataFrame | None = None
    class_levels: dict[str, str] | None = None

    def option_table(self) -> pd.DataFrame:
        """``options`` with every optional column present (defaults filled in)."""
        opts = self.options.copy()
        for col, default in OPTION_DEFAULTS.items():
            if col not in opts.columns:
                opts[col] = default
        return opts


@dataclass(frozen=True)
class SolveResult:
    """What the solver found.

    ``status`` is ``"optimal"`` only when optimality is proven (relative gap <= 1e-6);
    a run stopped by the time limit or a gap setting with a plan is ``"feasible"``.
    """

    status: str
    objective: float
    bound: float | None
    gap: float | None
    seconds: float
    build_seconds: float
    solver: str
    open_options: list[str]
    assignment: pd.DataFrame  # village_id, level, option_id
    classes: pd.DataFrame  # option_id, level, classes
    stats: dict[str, Any] = field(default_factory=dict)
    expansions: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["option_id", "classrooms_added"])
    )
    shortfall: dict[str, float] = field(default_factory=dict)  # elastic minimum-size rows


@dataclass
class BuiltModel:
    """A PuLP problem plus the variables needed to read a solution back."""

    problem: pulp.LpProblem
    data: ModelInput
    pair_rows: pd.DataFrame
    x: list[pulp.LpVariable]
    y: dict[str, pulp.LpVariable]
    c: dict[tuple[str, str], pulp.LpVariable]
    e: dict[str, pulp.LpVariable]
    seconds: float
    short: dict[str, pulp.LpVariable] = field(default_factory=dict)
    assign: dict[tuple[str, str], pulp.LpConstraint] = field(default_factory=dict)


def build_model(data: ModelInput) -> BuiltModel:
    """Build the MIP from labelled tables (see the module docstring for the formulation).

    Raises
    ------
    InfeasiblePlanError
        If a demand row has no allowed option at all, naming the villages.
    """
    start = time.perf_counter()
    pairs = _check_pairs(data)
    opts = data.option_table()
    prob = pulp.LpProblem("school_layout", pulp.LpMinimize)
    y = {j: prob.add_variable(f"y_{n}", cat=pulp.LpBinary) for n, j in enumerate(opts.index)}
    x = [prob.add_variable(f"x_{n}", cat=pulp.LpBinary) for n in range(len(pairs))]
    pairs = pairs.assign(
        var=np.arange(len(pairs)), class_level=pairs["level"].replace(data.class_levels or {})
    )
    c = _class_vars(prob, data, pairs)
    e = _expansion_vars(prob, opts)
    prob.setObjective(_objective(opts, pairs, x, y, e))
    assign = _add_assignment_rows(prob, pairs, x, y)
    short = _add_capacity_rows(prob, data, opts, pairs, x, y, c, e)
    _add_option_rows(prob, data, opts, y, e)
    _add_budget_row(prob, data, opts, pairs, x, y, e)
    _add_unreached_rows(prob, opts, pairs, y)
    _add_grade_rows(prob, data, pairs, x)
    seconds = time.perf_counter() - start
    logger.info(
        "model: %d assignment, %d open, %d class variables, built in %.1f s",
        len(x),
        len(y),
        len(c),
        seconds,
    )
    return BuiltModel(
        problem=prob,
        data=data,
        pair_rows=pairs,
        x=x,
        y=y,
        c=c,
        e=e,
        seconds=seconds,
        short=short,
        assign=assign,
    )


def _expansion_vars(prob: pulp.LpProblem, opts: pd.DataFrame) -> dict[str, pulp.LpVariable]:
    """e_j for options that may (max_expand > 0) or must (expand_fixed) add classrooms."""
    out = {}
    for n, (j, row) in enumerate(opts.iterrows()):
        if pd.notna(row["expand_fixed"]):
            lo = hi = int(row["expand_fixed"])
        elif row["max_expand"] > 0:
            lo, hi = 0, int(row["max_expand"])
        else:
            continue
        out[j] = prob.add_variable(f"e_{n}", lowBound=lo, upBound=hi, cat=pulp.LpInteger)
    return out


def _check_pairs(data: ModelInput) -> pd.DataFrame:
    pairs = data.pairs.merge(data.demand, on=["village_id", "level"], how="inner")
    pairs = pairs[pairs["option_id"].isin(data.options.index)]
    served = pairs[["village_id", "level"]].drop_duplicates()
    lost = data.demand.merge(served, how="left", indicator=True)
    lost = lost[lost["_merge"] == "left_only"]
    if len(lost):
        names = ", ".join(
            f"{v} ({lvl}, {s:g} students)"
            for v, lvl, s in lost[["village_id", "level", "students"]]
            .head(20)
            .itertuples(index=False)
        )
        raise InfeasiblePlanError(
            f"{len(lost)} village/level demand(s) have no school within the travel limits: {names}"
        )
    return pairs.sort_values(["village_id", "level", "option_id"], ignore_index=True)


def _class_vars(
    prob: pulp.LpProblem, data: ModelInput, pairs: pd.DataFrame
) -> dict[tuple[str, str], pulp.LpVariable]:
    if data.class_size is None:
        return {}
    used = pairs[["option_id", "class_level"]].drop_duplicates().itertuples(index=False)
    return {
        (j, lvl): prob.add_variable(f"c_{n}", lowBound=0, cat=pulp.LpInteger)
        for n, (j, lvl) in enumerate(used)
    }


def _objective(
    opts: pd.DataFrame,
    pairs: pd.DataFrame,
    x: list[pulp.LpVariable],
    y: dict[str, pulp.LpVariable],
    e: dict[str, pulp.LpVariable],
) -> pulp.LpAffineExpression:
    terms = list(zip(x, pairs["cost"].to_numpy(dtype=float), strict=True))
    net = (opts["fixed_cost"] - opts["closed_cost"]).to_numpy(dtype=float)
    terms += [(y[j], f) for j, f in zip(opts.index, net, strict=True) if f != 0]
    terms += [(v, float(opts.at[j, "expand_cost"])) for j, v in e.items()]
    return pulp.LpAffineExpression(terms, constant=float(opts["closed_cost"].sum()))


def _add_assignment_rows(
    prob: pulp.LpProblem,
    pairs: pd.DataFrame,
    x: list[pulp.LpVariable],
    y: dict[str, pulp.LpVariable],
) -> dict[tuple[str, str], pulp.LpConstraint]:
    """Each demand row served exactly once, and only by an open option; returns the
    "served once" rows by (village, level), whose duals the relaxation reports."""
    rows_of: dict[tuple[str, str], pulp.LpConstraint] = {}
    for key, rows in pairs.groupby(["village_id", "level"], sort=False)["var"]:
        row = pulp.LpAffineExpression([(x[i], 1.0) for i in rows]) == 1
        prob += row
        rows_of[key] = row
    for i, j in zip(pairs["var"], pairs["option_id"], strict=True):
        prob += pulp.LpAffineExpression([(x[i], 1.0), (y[j], -1.0)]) <= 0
    return rows_of


def _add_capacity_rows(
    prob: pulp.LpProblem,
    data: ModelInput,
    opts: pd.DataFrame,
    pairs: pd.DataFrame,
    x: list[pulp.LpVariable],
    y: dict[str, pulp.LpVariable],
    c: dict[tuple[str, str], pulp.LpVariable],
    e: dict[str, pulp.LpVariable],
) -> dict[str, pulp.LpVariable]:
    """Size and class rows per option; returns the shortfall variables of elastic minimums."""
    short: dict[str, pulp.LpVariable] = {}
    for j, rows in pairs.groupby("option_id", sort=False):
        load = list(zip((x[i] for i in rows["var"]), rows["students"].astype(float), strict=True))
        prob += pulp.LpAffineExpression([*load, (y[j], -float(opts.at[j, "max_students"]))]) <= 0
        if opts.at[j, "min_students"] > 0:
            slack = []
            if data.min_size_penalty is not None:
                short[j] = prob.add_variable(f"s_{len(short)}", lowBound=0)
                prob.objective.addterm(short[j], float(data.min_size_penalty))
                slack = [(short[j], 1.0)]
            minimum = (y[j], -float(opts.at[j, "min_students"]))
            prob += pulp.LpAffineExpression([*load, *slack, minimum]) >= 0
        if "boarding" in rows and rows["boarding"].any():
            b = rows[rows["boarding"]]
            board = zip((x[i] for i in b["var"]), b["students"].astype(float), strict=True)
            places = (y[j], -float(opts.at[j, "boarding_places"]))
            prob += pulp.LpAffineExpression([*board, places]) <= 0
        if c:
            _add_class_rows(prob, data, opts.loc[j], rows, x, y[j], c, e.get(j))
    return short


def _add_class_rows(
    prob: pulp.LpProblem,
    data: ModelInput,
    opt: pd.Series,
    rows: pd.DataFrame,
    x: list[pulp.LpVariable],
    yj: pulp.LpVariable,
    c: dict[tuple[str, str], pulp.LpVariable],
    ej: pulp.LpVariable | None,
) -> None:
    """Integer classes per level hold the students; classes fit the rooms and the type's limit."""
    j = opt.name
    for lvl, lrows in rows.groupby("class_level", sort=False):
        size = float(data.class_size[lvl])  # type: ignore[index]
        terms = [(x[i], float(s)) for i, s in zip(lrows["var"], lrows["students"], strict=True)]
        prob += pulp.LpAffineExpression([*terms, (c[(j, lvl)], -size)]) <= 0
    classes = [(c[(j, lvl)], 1.0) for lvl in rows["class_level"].unique()]
    if pd.notna(opt["max_classes"]):
        extra = [(ej, -1.0)] if ej is not None else []
        prob += pulp.LpAffineExpression([*classes, (yj, -float(opt["max_classes"])), *extra]) <= 0
    if pd.notna(opt["class_limit"]):
        prob += pulp.LpAffineExpression([*classes, (yj, -float(opt["class_limit"]))]) <= 0


def _add_grade_rows(
    prob: pulp.LpProblem, data: ModelInput, pairs: pd.DataFrame, x: list[pulp.LpVariable]
) -> None:
    """x[v, lower, j] <= x[v, upper, j] for the options j both demand rows may use."""
    if data.grade_links is None or data.grade_links.empty:
        return
    key = pairs[["village_id", "level", "option_id", "var"]]
    links = data.grade_links[["village_id", "lower", "upper"]]
    lower = links.merge(key, left_on=["village_id", "lower"], right_on=["village_id", "level"])
    both = lower.merge(
        key,
        left_on=["village_id", "upper", "option_id"],
        right_on=["village_id", "level", "option_id"],
        suffixes=("_lower", "_upper"),
    )
    for a, b in zip(both["var_lower"], both["var_upper"], strict=True):
        prob += pulp.LpAffineExpression([(x[a], 1.0), (x[b], -1.0)]) <= 0


def _add_budget_row(
    prob: pulp.LpProblem,
    data: ModelInput,
    opts: pd.DataFrame,
    pairs: pd.DataFrame,
    x: list[pulp.LpVariable],
    y: dict[str, pulp.LpVariable],
    e: dict[str, pulp.LpVariable],
) -> None:
    """Building + expansion (+ the pairs' own ``capex``, e.g. bus and boarding) <= budget."""
    if data.budget is None:
        return
    spend = [(y[j], float(b)) for j, b in opts["capex"].items() if b > 0]
    spend += [(v, float(opts.at[j, "expand_capex"])) for j, v in e.items()]
    if "capex" in pairs:
        spend += [
            (x[i], float(b)) for i, b in zip(pairs["var"], pairs["capex"], strict=True) if b > 0
        ]
    prob += pulp.LpAffineExpression(spend) <= float(data.budget)


def _add_unreached_rows(
    prob: pulp.LpProblem, opts: pd.DataFrame, pairs: pd.DataFrame, y: dict[str, pulp.LpVariable]
) -> None:
    """Options no demand can reach: give their y a row (PuLP drops variables in no row), and
    forbid keeping one open empty when it has a minimum size."""
    for j in opts.index.difference(pd.Index(pairs["option_id"].unique())):
        most = 0.0 if opts.at[j, "min_students"] > 0 and opts.at[j, "forced"] != "open" else 1.0
        prob += pulp.LpAffineExpression([(y[j], 1.0)]) <= most


def _add_option_rows(
    prob: pulp.LpProblem,
    data: ModelInput,
    opts: pd.DataFrame,
    y: dict[str, pulp.LpVariable],
    e: dict[str, pulp.LpVariable],
) -> None:
    for _site, ids in opts.groupby("site_id", sort=False).groups.items():
        if len(ids) > 1:
            prob += pulp.LpAffineExpression([(y[j], 1.0) for j in ids]) <= 1
    for j, forced in opts["forced"].items():
        if forced == "open":
            y[j].lowBound = 1
        elif forced == "closed":
            y[j].upBound = 0
    for j, v in e.items():
        most = float(v.upBound)
        prob += pulp.LpAffineExpression([(v, 1.0), (y[j], -most)]) <= 0
    if data.p is not None:
        prob += pulp.LpAffineExpression([(v, 1.0) for v in y.values()]) == data.p
    if data.links is not None:
        for a, b, var in data.links[["before", "after", "var"]].itertuples(index=False):
            pick = y if var == "y" else e
            if a in pick and b in pick:
                prob += pulp.LpAffineExpression([(pick[a], 1.0), (pick[b], -1.0)]) <= 0


def solve(
    model: BuiltModel,
    *,
    solver: str = "highs",
    time_limit_s: float = 300.0,
    mip_gap: float = 0.0,
    threads: int | None = None,
    relax: bool = False,
    warm_start: pd.DataFrame | None = None,
    options: dict[str, Any] | None = None,
) -> SolveResult:
    """Solve a built model and read back the plan, the bound and the gap.

    Parameters
    ----------
    relax
        Solve the linear relaxation instead (status ``"relaxed"``); ``open_values`` and
        ``pair_values`` then hold the fractional values (HiGHS only).
    warm_start
        A known plan handed to the solver as its first incumbent: columns ``village_id, level,
        option_id`` (one row per demand row). HiGHS only; ignored by CBC.
    options
        Extra solver options by name (e.g. HiGHS ``{"presolve": "off"}``).

    Raises
    ------
    InfeasiblePlanError
        If the solver proves that no plan meets the constraints.
    SolverError
        If the solver stops (time limit) without any plan.
    """
    start = time.perf_counter()
    if warm_start is not None:
        _set_start_values(model, warm_start)
    backend = _make_solver(
        solver,
        time_limit_s=time_limit_s,
        mip_gap=mip_gap,
        threads=threads,
        relax=relax,
        warm=warm_start is not None,
        options=options or {},
    )
    model.problem.solve(backend)
    seconds = time.perf_counter() - start
    if model.problem.status == pulp.LpStatusInfeasible:
        raise InfeasiblePlanError(
            "the solver proved that no plan meets every rule of this "
            "scenario (capacity, class sizes or forced decisions)"
        )
    if model.problem.sol_status not in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
        raise SolverError(
            f"{solver} stopped after {seconds:.0f} s without any plan "
            f"(PuLP status {pulp.LpStatus[model.problem.status]}); "
            "raise solver.time_limit_s"
        )
    if relax:
        if model.problem.sol_status != pulp.LpSolutionOptimal:
            # a relaxation stopped early has no bound to give (its value may be above)
            raise SolverError(f"the linear relaxation was not solved within {seconds:.0f} s")
        return _read_relaxation(model, solver, seconds)
    result = _read_solution(model, solver, seconds)
    if getattr(backend, "overtime", False):
        # routine for the matheuristic's short region MIPs, and the result says what it is
        # (a plan with its gap): a note for the log, not a warning on the planner's screen
        logger.info(
            "%s ran past its time limit of %.0f s and was stopped after %.0f s",
            solver,
            time_limit_s,
            seconds,
        )
    if getattr(backend, "interrupted", False) and result.status != "optimal":
        logger.warning("interrupted after %.0f s: keeping the best plan found so far", seconds)
        result = dataclasses.replace(result, status="interrupted")
    return result


def _set_start_values(model: BuiltModel, plan: pd.DataFrame) -> None:
    """Give every variable the value it has in ``plan`` (an assignment table)."""
    chosen = (
        model.pair_rows.merge(
            plan[["village_id", "level", "option_id"]], how="left", indicator=True
        )["_merge"].to_numpy()
        == "both"
    )
    for var, on in zip(model.x, chosen, strict=True):
        var.setInitialValue(1.0 if on else 0.0)
    open_ids = set(plan["option_id"])
    for j, var in model.y.items():
        _start(var, 1.0 if j in open_ids else 0.0)
    if not model.c:
        return
    rows = model.pair_rows[chosen]
    load = rows.groupby(["option_id", "class_level"])["students"].sum()
    needed: dict[str, float] = {}
    for (j, lvl), var in model.c.items():
        size = model.data.class_size[lvl]  # type: ignore[index]
        classes = float(np.ceil(load.get((j, lvl), 0.0) / size - 1e-9))
        _start(var, classes)
        needed[j] = needed.get(j, 0.0) + classes
    rooms = model.data.options["max_classes"]
    for j, var in model.e.items():
        _start(var, max(0.0, needed.get(j, 0.0) - float(rooms.get(j, 0.0))))


def _start(var: pulp.LpVariable, value: float) -> None:
    """A start value within the variable's bounds (forced decisions fix some of them); the
    solver checks the whole start and drops it if it breaks a constraint."""
    if var.lowBound is not None:
        value = max(value, float(var.lowBound))
    if var.upBound is not None:
        value = min(value, float(var.upBound))
    var.setInitialValue(value)


# HiGHS's root reduced-cost heuristic starts sub-MIPs whose presolve can run for many minutes
# without looking at the time limit or a cancel (HiGHS 1.16, seen on a 40,000-pair model);
# without it the OC instances are also proven faster (182 s against 207 s, one run each)
HIGHS_MIP_OPTIONS: dict[str, Any] = {"mip_heuristic_run_root_reduced_cost": False}


def _make_solver(
    name: str,
    *,
    time_limit_s: float,
    mip_gap: float,
    threads: int | None,
    relax: bool = False,
    warm: bool = False,
    options: dict[str, Any] | None = None,
) -> pulp.LpSolver:
    if name == "highs":
        options = {**({} if relax else HIGHS_MIP_OPTIONS), **(options or {})}
        return _QuietHiGHS(
            msg=False,
            mip=not relax,
            timeLimit=time_limit_s,
            gapRel=mip_gap,
            threads=threads,
            warm=warm,
            random_seed=0,
            **options,
        )
    if relax:
        raise ValueError("relax=True needs the HiGHS solver")
    options = dict(options or {})
    if name == "cbc":
        return pulp.PULP_CBC_CMD(
            msg=False,
            timeLimit=time_limit_s,
            gapRel=mip_gap,
            threads=threads,
            options=["randomSeed 0", "randomCbcSeed 0", *(f"{k} {v}" for k, v in options.items())],
        )
    raise ValueError(f"unknown solver {name!r}; expected highs or cbc")


OVERTIME = 1.1  # HiGHS is stopped at this multiple of its time limit (+1 s) if still running
UNHEARD_S = 60.0  # a warning if it has still not stopped this long after that


class _QuietHiGHS(pulp.HiGHS):  # type: ignore[misc,name-defined]
    """PuLP's HiGHS interface: no banner on stdout, and an optional warm start."""

    def __init__(self, *args: Any, warm: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.warm = warm

    interrupted = False
    overtime = False  # stopped by us: HiGHS ran well past its time limit

    def actualSolve(self, lp: pulp.LpProblem) -> int:
        with _c_stdout_silenced():
            return int(super().actualSolve(lp))

    def callSolver(self, lp: pulp.LpProblem) -> None:
        """Solve in HiGHS's own thread; Ctrl-C asks HiGHS to stop and keeps its best plan.

        HiGHS checks the request at its next callback (milliseconds); a second Ctrl-C while it
        stops is absorbed the same way.
        """
        highs = lp.solverModel
        highs.HandleUserInterrupt = True
        start = time.perf_counter()
        hard = None if self.timeLimit is None else OVERTIME * self.timeLimit + 1.0
        told = False
        highs.startSolve()
        while True:
            try:
                if highs.wait(0.1)[0]:
                    return
                late = time.perf_counter() - start - (hard or math.inf)
                if late > 0 and not self.overtime:
                    # HiGHS checks its own time limit only here and there (minutes late on
                    # some models); a cancel is seen at its next callback
                    self.overtime = True
                    highs.cancelSolve()
                elif late > UNHEARD_S and not told:
                    told = True  # the planner should know why the run does not end
                    logger.warning(
                        "the solver (HiGHS) has run %.0f s with a time limit of %.0f s and has "
                        "not answered a request to stop; waiting for it to finish (it cannot "
                        "be stopped from outside)",
                        time.perf_counter() - start,
                        self.timeLimit,
                    )
            except KeyboardInterrupt:
                self.interrupted = True
                highs.cancelSolve()

    def findSolutionValues(self, lp: pulp.LpProblem) -> tuple[int, int]:
        if lp.solverModel.getInfo().primal_solution_status != 2:
            if self.interrupted:
                raise KeyboardInterrupt  # stopped before any plan: stop like Ctrl-C elsewhere
            if self.overtime:
                return pulp.LpStatusNotSolved, pulp.LpSolutionNoSolutionFound
        return tuple(super().findSolutionValues(lp))  # type: ignore[return-value]

    def buildSolverModel(self, lp: pulp.LpProblem) -> None:
        super().buildSolverModel(lp)
        if self.warm:
            import highspy

            start = highspy.HighsSolution()
            start.col_value = [v.varValue or 0.0 for v in lp.variables()]
            start.value_valid = True
            lp.solverModel.setSolution(start)


_SILENCE_LOCK = threading.Lock()
_silence_depth = 0
_saved_stdout = -1


@contextlib.contextmanager
def _c_stdout_silenced() -> Iterator[None]:
    """Send file descriptor 1 to /dev/null (the banner is printed by HiGHS's C++ code).

    Solves may run in several threads of one process (e.g. a Dask worker with threads): the
    first one in redirects, the last one out restores, so stdout is never lost.
    """
    global _silence_depth, _saved_stdout
    with _SILENCE_LOCK:
        if _silence_depth == 0:
            sys.stdout.flush()
            _saved_stdout = os.dup(1)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.close(devnull)
        _silence_depth += 1
    try:
        yield
    finally:
        with _SILENCE_LOCK:
            _silence_depth -= 1
            if _silence_depth == 0:
                with contextlib.suppress(OSError, AttributeError):
                    ctypes.CDLL(None).fflush(None)  # C stdio buffers when piped: into /dev/null
                os.dup2(_saved_stdout, 1)
                os.close(_saved_stdout)


def _read_solution(model: BuiltModel, solver: str, seconds: float) -> SolveResult:
    prob = model.problem
    objective = float(pulp.value(prob.objective))
    bound, gap = _bound_and_gap(prob, solver, objective)
    proven = prob.sol_status == pulp.LpSolutionOptimal and (gap is None or gap <= 1e-6)
    if solver == "cbc" and proven:
        bound, gap = objective, 0.0
    xv = np.array([v.varValue or 0.0 for v in model.x])
    chosen = model.pair_rows[xv > 0.5]
    classes = pd.DataFrame(
        [(j, lvl, round(v.varValue or 0.0)) for (j, lvl), v in model.c.items()],
        columns=["option_id", "level", "classes"],
    )
    return SolveResult(
        status="optimal" if proven else "feasible",
        objective=objective,
        bound=bound,
        gap=gap,
        seconds=seconds,
        build_seconds=model.seconds,
        solver=solver,
        open_options=[j for j, v in model.y.items() if (v.varValue or 0.0) > 0.5],
        assignment=chosen[["village_id", "level", "option_id"]].reset_index(drop=True),
        classes=classes[classes["classes"] > 0].reset_index(drop=True),
        stats={"variables": prob.numVariables(), "constraints": prob.numConstraints()},
        expansions=_expansions(model),
        shortfall={
            j: float(v.varValue or 0.0)
            for j, v in model.short.items()
            if (v.varValue or 0.0) > 1e-6
        },
    )


def _expansions(model: BuiltModel) -> pd.DataFrame:
    added = [(j, round(v.varValue or 0.0)) for j, v in model.e.items()]
    table = pd.DataFrame(added, columns=["option_id", "classrooms_added"])
    return table[table["classrooms_added"] > 0].reset_index(drop=True)


def _read_relaxation(model: BuiltModel, solver: str, seconds: float) -> SolveResult:
    objective = float(pulp.value(model.problem.objective))
    xv = np.array([v.varValue or 0.0 for v in model.x])
    rows = model.pair_rows.assign(value=xv)[xv > 1e-9]
    return SolveResult(
        status="relaxed",
        objective=objective,
        bound=objective,
        gap=None,
        seconds=seconds,
        build_seconds=model.seconds,
        solver=solver,
        open_options=[j for j, v in model.y.items() if (v.varValue or 0.0) > 1e-9],
        assignment=rows[["village_id", "level", "option_id", "value"]].reset_index(drop=True),
        classes=pd.DataFrame(columns=["option_id", "level", "classes"]),
        stats={
            "open_values": {j: float(v.varValue or 0.0) for j, v in model.y.items()},
            "row_duals": {k: float(row.pi or 0.0) for k, row in model.assign.items()},
        },
    )


def _bound_and_gap(
    prob: pulp.LpProblem, solver: str, objective: float
) -> tuple[float | None, float | None]:
    highs = getattr(prob, "solverModel", None)
    if solver != "highs" or highs is None:
        return None, None
    info = highs.getInfo()
    # PuLP hands HiGHS the objective without its constant term: add it back to the bound
    bound = float(info.mip_dual_bound) + float(prob.objective.constant)
    if not np.isfinite(bound):
        return None, None
    gap = max(0.0, objective - bound) / max(abs(objective), 1e-9)
    return bound, gap
