"""optimize(): the same optimum as the plain MIP, honest bounds, determinism."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planning._errors import InfeasiblePlanError
from planning.model import ModelInput, SolveResult, build_model, solve
from planning.optimize import optimize

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def cpmp_instance(seed: int, n: int = 18, p: int = 3) -> ModelInput:
    """A random capacitated p-median: every node a client and a candidate, integer costs."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 100, (n, 2))
    demand = rng.integers(1, 20, n).astype(float)
    cap = float(np.ceil(demand.sum() / p * 1.25))
    ids = np.array([f"n{i}" for i in range(n)])
    d = np.floor(np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)))
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    return ModelInput(
        demand=pd.DataFrame({"village_id": ids, "level": "all", "students": demand}),
        options=_options(ids, ids, fixed=0.0, closed=0.0, max_students=cap, rooms=np.nan),
        pairs=pd.DataFrame(
            {"village_id": ids[i.ravel()], "level": "all", "option_id": ids[j.ravel()]}
        ).assign(cost=d.ravel()),
        p=p,
    )


def planner_instance(seed: int, villages: int = 30, sites: int = 7) -> ModelInput:
    """Two levels with integer classes, two designs per candidate site, existing schools with
    closing costs, a forced school, a travel cut-off."""
    rng = np.random.default_rng(seed)
    vxy = rng.uniform(0, 20_000, (villages, 2))
    sxy = rng.uniform(0, 20_000, (sites, 2))
    vid = np.array([f"V{i}" for i in range(villages)])
    children = rng.integers(5, 60, villages).astype(float)
    demand = pd.concat(
        [
            pd.DataFrame({"village_id": vid, "level": "primary", "students": children}),
            pd.DataFrame({"village_id": vid, "level": "junior", "students": children // 2 + 1}),
        ],
        ignore_index=True,
    )
    existing = [f"S{j}" for j in range(3)]
    options = pd.concat(
        [
            _options(existing, existing, fixed=300.0, closed=80.0, max_students=700.0, rooms=12),
            _options(
                [f"N{j}-small" for j in range(3, sites)],
                [f"N{j}" for j in range(3, sites)],
                fixed=400.0,
                closed=0.0,
                max_students=600.0,
                rooms=9,
            ),
            _options(
                [f"N{j}-large" for j in range(3, sites)],
                [f"N{j}" for j in range(3, sites)],
                fixed=650.0,
                closed=0.0,
                max_students=1200.0,
                rooms=24,
            ),
        ]
    )
    options.loc["S0", "forced"] = "open"
    site_xy = dict(zip([*existing, *(f"N{j}" for j in range(3, sites))], sxy, strict=True))
    rows = []
    for opt, site in options["site_id"].items():
        km = np.hypot(*(vxy - site_xy[site]).T) / 1000
        near = km <= 12
        for lvl, factor in (("primary", 1.0), ("junior", 0.5)):
            kids = children[near] if lvl == "primary" else children[near] // 2 + 1
            rows.append(
                pd.DataFrame(
                    {
                        "village_id": vid[near],
                        "level": lvl,
                        "option_id": opt,
                        "cost": np.round(kids * km[near] * factor * 2.0, 3),
                    }
                )
            )
    pairs = pd.concat(rows, ignore_index=True)
    served = demand.merge(pairs[["village_id", "level"]].drop_duplicates())
    return ModelInput(
        demand=served, options=options, pairs=pairs, class_size={"primary": 45, "junior": 50}
    )


def _options(
    ids: object, sites: object, *, fixed: float, closed: float, max_students: float, rooms: float
) -> pd.DataFrame:
    ids = list(ids)  # type: ignore[call-overload]
    return pd.DataFrame(
        {
            "site_id": list(sites),  # type: ignore[call-overload]
            "fixed_cost": fixed,
            "closed_cost": closed,
            "max_students": max_students,
            "max_classes": rooms,
            "forced": "",
        },
        index=pd.Index(ids, name="option_id"),
    )


def check_plan(data: ModelInput, result: SolveResult) -> None:
    """Every demand row served once by an open option of its pairs, within capacity."""
    a = result.assignment.merge(data.demand, on=["village_id", "level"])
    assert len(a) == len(data.demand)
    assert not a.duplicated(["village_id", "level"]).any()
    assert set(a["option_id"]) <= set(result.open_options)
    allowed = a.merge(data.pairs, on=["village_id", "level", "option_id"])
    assert len(allowed) == len(a)
    load = a.groupby("option_id")["students"].sum()
    assert (load <= data.options.loc[load.index, "max_students"] + 1e-6).all()
    objective = allowed["cost"].sum()
    opts = data.options
    is_open = opts.index.isin(result.open_options)
    objective += opts.loc[is_open, "fixed_cost"].sum() + opts.loc[~is_open, "closed_cost"].sum()
    assert objective == pytest.approx(result.objective, rel=1e-9, abs=1e-6)


def exact(data: ModelInput) -> SolveResult:
    return solve(build_model(data), time_limit_s=120)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_cpmp_matches_exact_mip(seed: int) -> None:
    data = cpmp_instance(seed)
    result = optimize(data, time_limit_s=60)
    assert result.status == "optimal"
    assert result.objective == pytest.approx(exact(data).objective, abs=1e-6)
    assert result.bound == pytest.approx(result.objective)
    assert result.stats["lagrangian_bound"] <= result.objective + 1e-6
    assert len(result.open_options) == data.p
    check_plan(data, result)


@pytest.mark.parametrize("seed", [1, 2])
def test_planner_model_matches_exact_mip(seed: int) -> None:
    data = planner_instance(seed)
    result = optimize(data, time_limit_s=60)
    reference = exact(data)
    assert reference.status == "optimal"
    assert result.status == "optimal"
    assert result.objective == pytest.approx(reference.objective, rel=1e-7)
    assert result.stats["lagrangian_bound"] <= result.objective + 1e-6
    assert "S0" in result.open_options  # forced open
    sites = data.options.loc[result.open_options, "site_id"]
    assert not sites.duplicated().any()  # one design per site
    check_plan(data, result)
    classes = result.classes.set_index(["option_id", "level"])["classes"]
    load = result.assignment.merge(data.demand).groupby(["option_id", "level"])["students"].sum()
    size = load.index.get_level_values("level").map(data.class_size)
    assert (load <= classes.reindex(load.index).fillna(0) * size).all()


def test_planner_model_with_budget_matches_exact_mip() -> None:
    data = planner_instance(4)
    options = data.options.assign(capex=np.where(data.options.index.str.startswith("N"), 5, 0))
    data = dataclasses.replace(data, options=options, budget=5.0)
    result = optimize(data, time_limit_s=60)
    assert result.status == "optimal"
    assert result.objective == pytest.approx(exact(data).objective, rel=1e-7)
    built = options.loc[result.open_options, "capex"].sum()
    assert built <= 5.0


def test_time_limit_gives_feasible_with_honest_bound() -> None:
    sys.path.insert(0, str(BENCHMARKS))
    from scale import make_instance

    data = make_instance(300, 30, seed=3)
    result = optimize(data, time_limit_s=3)
    assert result.status == "feasible"
    assert result.bound is not None and result.bound <= result.objective
    assert result.gap == pytest.approx((result.objective - result.bound) / result.objective)
    assert result.gap > 1e-6
    check_plan(data, result)


def test_same_input_same_plan() -> None:
    data = planner_instance(5)
    first = optimize(data, time_limit_s=60)
    second = optimize(data, time_limit_s=60)
    key = ["village_id", "level"]
    a = first.assignment.sort_values(key, ignore_index=True)
    b = second.assignment.sort_values(key, ignore_index=True)
    pd.testing.assert_frame_equal(a, b)
    assert first.objective == second.objective


def test_unreachable_demand_is_a_clear_error() -> None:
    data = cpmp_instance(1, n=8, p=2)
    pairs = data.pairs[data.pairs["village_id"] != "n3"]
    with pytest.raises(InfeasiblePlanError, match="n3"):
        optimize(dataclasses.replace(data, pairs=pairs))


def test_osman_christofides_1(shared_data: Path) -> None:
    sys.path.insert(0, str(BENCHMARKS))
    from cpmp_instances import model_input, read_instances

    inst = read_instances(shared_data / "cpmp" / "pmedcap1.txt")[0]
    result = optimize(model_input(inst), time_limit_s=60)
    assert result.status == "optimal"
    assert result.objective == pytest.approx(713.0)
    assert result.bound == pytest.approx(713.0)


def test_large_lorena_senne_like_instances(shared_data: Path) -> None:
    sys.path.insert(0, str(BENCHMARKS))
    from cpmp_large import SIZES, make_instances

    sjc2 = shared_data / "cpmp" / "SJC2.dat"
    first, again = make_instances(sjc2), make_instances(sjc2)
    assert [(i.name, i.n, i.p) for i in first] == [(s[0], s[1], s[2]) for s in SIZES]
    for inst, same, (_, _, p, ratio) in zip(first, again, SIZES, strict=True):
        assert np.array_equal(inst.xy, same.xy) and np.array_equal(inst.demand, same.demand)
        assert p * inst.capacity[0] == pytest.approx(ratio * inst.demand.sum(), rel=0.01)
        assert not inst.floor_distances and inst.known is None


def test_doni_size_instances_are_deterministic_and_of_their_size() -> None:
    sys.path.insert(0, str(BENCHMARKS))
    from cpmp_large import DONI_SIZES, make_doni_size

    first, again = make_doni_size(), make_doni_size()
    assert [(i.name, i.n, i.p) for i in first] == DONI_SIZES
    for inst, same in zip(first, again, strict=True):
        assert np.array_equal(inst.xy, same.xy)
        assert (inst.demand == 1).all() and inst.p * inst.capacity[0] >= 1.2 * inst.n
        assert not inst.floor_distances and inst.known is None


@pytest.mark.parametrize("seed", [3, 4])
def test_relaxation_duals_give_the_linear_bound(seed: int) -> None:
    """The duals of the assignment rows, fed to the Lagrangian with linear knapsacks, give
    back the linear relaxation's bound (strong duality): they are keyed and signed right."""
    from planning._lagrangian import lagrangian_bound, to_arrays

    data = cpmp_instance(seed)
    lp = solve(build_model(data), relax=True)
    arr = to_arrays(data)
    lam = np.array([lp.stats["row_duals"][key] for key in arr.rows])
    value = lagrangian_bound(arr, lam, upper=None, iterations=1, exact=False).value
    assert value == pytest.approx(lp.objective, rel=1e-6)
    exact = solve(build_model(data))
    assert lp.objective <= exact.objective + 1e-6


@pytest.mark.parametrize("seed", [1, 2])
def test_bound_rounds_stop_once_the_reduction_is_small(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the bound leaves few pairs per row that can beat the plan, the bound phase ends
    and the exact MIP on those pairs proves the optimum; the rule is what ends it early."""
    import planning.optimize as po

    data = cpmp_instance(seed, n=40, p=4)
    reference = exact(data)
    result = optimize(data, time_limit_s=60)
    assert result.stats["lagrangian_iterations"] < po.BOUND_ITERATIONS
    assert result.stats["pairs_kept"] <= po.REDUCED_ENOUGH * len(data.demand)
    assert result.status == "optimal"
    assert result.objective == pytest.approx(reference.objective, abs=1e-6)
    check_plan(data, result)
    monkeypatch.setattr(po, "REDUCED_ENOUGH", -1.0)  # never small enough
    full = optimize(data, time_limit_s=60)
    assert full.stats["lagrangian_iterations"] == po.BOUND_ITERATIONS
    assert full.objective == pytest.approx(reference.objective, abs=1e-6)


def test_enough_ends_the_subgradient_with_the_best_bound_so_far() -> None:
    from planning._lagrangian import Bound, lagrangian_bound, to_arrays

    data = cpmp_instance(4, n=40, p=4)
    optimum = exact(data).objective
    arr = to_arrays(data)
    lam = np.zeros(arr.n_rows)
    seen: list[float] = []

    def after(count: int) -> Callable[[Bound], bool]:
        def enough(bound: Bound) -> bool:
            seen.append(bound.value)
            return len(seen) >= count

        return enough

    stopped = lagrangian_bound(
        arr, lam, upper=optimum, iterations=400, exact=True, plan_every=10, enough=after(3)
    )
    assert stopped.iterations == 30
    assert stopped.value == seen[-1] <= optimum + 1e-6
    assert seen == sorted(seen)  # the best bound so far: never lower than before
    seen.clear()
    longer = lagrangian_bound(
        arr, lam, upper=optimum, iterations=60, exact=True, plan_every=10, enough=after(99)
    )
    assert longer.iterations == 60 and len(seen) == 6
    assert stopped.value <= longer.value <= optimum + 1e-6


def test_linear_bound_reported_and_below_the_optimum() -> None:
    data = planner_instance(5)
    result = optimize(data, time_limit_s=60)
    plain = solve(build_model(data))
    assert result.stats["lp_bound"] <= plain.objective + 1e-6
    assert result.bound >= result.stats["lp_bound"] - 1e-6
    assert result.objective == pytest.approx(plain.objective, rel=1e-6)


def test_relaxation_stopped_by_the_clock_is_no_bound() -> None:
    """An unfinished linear relaxation has no valid bound: an error, never a value."""
    from planning._errors import SolverError

    data = cpmp_instance(6, n=60, p=6)
    with pytest.raises(SolverError, match="linear relaxation"):
        solve(build_model(data), relax=True, time_limit_s=1e-6)


@pytest.mark.parametrize("seed", [1, 2])
def test_nearest_pairs_relaxation_is_no_bound_but_keeps_the_optimum(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above LP_PAIRS the relaxation of each row's cheapest pairs starts the bound phase: it
    is a restricted model, so its value is never reported as a bound; the result still
    matches the exact MIP."""
    import planning.optimize as opt

    data = planner_instance(seed)
    monkeypatch.setattr(opt, "LP_PAIRS", len(data.pairs) // 2)
    monkeypatch.setattr(opt, "LP_NEAREST_MIN", 1)
    result = optimize(data, time_limit_s=60)
    check_plan(data, result)
    assert "lp_bound" not in result.stats
    n_rows = len(data.demand)
    assert 0 < result.stats["lp_nearest_pairs"] < len(data.pairs)
    assert result.stats["lp_nearest_pairs"] <= (len(data.pairs) // 2 // n_rows + 1) * n_rows
    assert result.objective == pytest.approx(exact(data).objective, rel=1e-6)


def test_nearest_pairs_are_each_rows_cheapest_and_the_incumbents(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import planning.optimize as opt
    from planning._heuristic import row_view
    from planning._lagrangian import to_arrays

    data = planner_instance(3)
    arr = to_arrays(data)
    best = opt._Incumbent(arr, row_view(arr))
    assert opt._nearest_pairs(arr, best, 1).all()  # up to LP_PAIRS: the whole model
    monkeypatch.setattr(opt, "LP_PAIRS", 0)
    assert opt._nearest_pairs(arr, best, 2) is None  # no incumbent to keep it feasible
    plan = np.array([np.flatnonzero(arr.pk == k)[-1] for k in range(arr.n_rows)])
    best.plan = plan
    assert opt._nearest_pairs(arr, best, opt.LP_NEAREST_MIN - 1) is None  # too few per row
    n = opt.LP_NEAREST_MIN
    keep = opt._nearest_pairs(arr, best, n)
    assert keep is not None and not keep.all()
    for k in range(arr.n_rows):
        mine = np.flatnonzero(arr.pk == k)
        cheapest = mine[np.lexsort((arr.pj[mine], arr.cost[mine]))][:n]
        assert set(mine[keep[mine]]) == set(cheapest) | {plan[k]}


def test_models_in_students_only_start_from_the_incumbent_above_lp_pairs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Above LP_PAIRS a model without classes (a CPMP) starts its bound rounds from the
    incumbent's costs: no relaxation of the cheapest pairs (it ran out of time without a
    solution on doni1-doni3), and the result still matches the exact MIP."""
    import planning.optimize as opt
    from planning._heuristic import row_view
    from planning._lagrangian import to_arrays

    data = cpmp_instance(4, n=40, p=4)
    arr = to_arrays(data)
    best = opt._Incumbent(arr, row_view(arr))
    best.plan = np.array([np.flatnonzero(arr.pk == k)[0] for k in range(arr.n_rows)])
    monkeypatch.setattr(opt, "LP_PAIRS", len(data.pairs) // 2)
    assert opt._nearest_pairs(arr, best, opt.LP_NEAREST_MIN) is None
    result = optimize(data, time_limit_s=60)
    check_plan(data, result)
    assert "lp_nearest_pairs" not in result.stats and "lp_bound" not in result.stats
    assert result.objective == pytest.approx(exact(data).objective, rel=1e-6)


def test_without_a_relaxation_the_bound_starts_from_the_relocated_plan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With no relaxation to start from, relocation first improves the greedy plan: the bound
    rounds start from the better plan's costs and aim at its cost (the greedy plan's were
    far off on doni4); the result still matches the exact MIP."""
    import planning.optimize as opt
    from planning._heuristic import greedy_open_set, row_view
    from planning._lagrangian import to_arrays

    data = cpmp_instance(1, n=40, p=4)
    arr = to_arrays(data)
    greedy = opt._Incumbent(arr, row_view(arr))
    greedy.from_open_set(greedy_open_set(arr), None)
    targets: list[float] = []
    original = opt.lagrangian_bound

    def recording(*args: object, **kwargs: object) -> object:
        targets.append(kwargs["upper"])  # type: ignore[arg-type]
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(opt, "lagrangian_bound", recording)
    monkeypatch.setattr(opt, "LP_PAIRS", len(data.pairs) // 2)
    result = optimize(data, time_limit_s=60)
    check_plan(data, result)
    assert targets[0] < greedy.cost - 1  # greedy 734, relocated 633
    assert result.objective == pytest.approx(exact(data).objective, rel=1e-6)


def test_region_sweeps_that_gained_nothing_count_across_calls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The search ends after ``STALE_SWEEPS`` sweeps in a row without gain, also when they
    fall in two calls (the first phase's and the second's: doni4 spent 37 s on a third
    one); a cheaper plan in between starts the count afresh."""
    import time

    import planning.optimize as opt
    from planning._heuristic import greedy_open_set, row_view
    from planning._lagrangian import to_arrays

    data = cpmp_instance(1, n=40, p=4)
    arr = to_arrays(data)
    best = opt._Incumbent(arr, row_view(arr))
    best.from_open_set(greedy_open_set(arr), None)
    run = opt._Run(data, "highs", 60.0, 0.0, None)
    run.stats["region_sweeps"] = 0
    sweeps: list[float] = []

    def no_gain(self: object, *args: object, **kwargs: object) -> float:
        sweeps.append(best.cost)
        return 0.0

    monkeypatch.setattr(opt._Run, "region_sweep", no_gain)
    until = time.perf_counter() + 60.0
    run.improve_by_regions(arr, best, until, None)  # type: ignore[arg-type]
    assert len(sweeps) == opt.STALE_SWEEPS
    run.improve_by_regions(arr, best, until, None)  # type: ignore[arg-type]
    assert len(sweeps) == opt.STALE_SWEEPS
    best.cost -= 1.0  # a cheaper plan found elsewhere (relocation, the widened MIP)
    run.improve_by_regions(arr, best, until, None)  # type: ignore[arg-type]
    assert len(sweeps) == 2 * opt.STALE_SWEEPS


def test_one_open_option_per_site_forced_first() -> None:
    import planning.optimize as opt
    from planning._lagrangian import to_arrays

    data = planner_instance(4)
    arr = to_arrays(data)
    y = np.linspace(0.9, 0.1, arr.n_options)
    out = opt._one_per_site(arr, np.ones(arr.n_options, dtype=bool), y)
    assert np.bincount(arr.site[out]).max() == 1
    assert len(np.unique(arr.site[out])) == len(np.unique(arr.site))
    for s in np.unique(arr.site):
        mine = np.flatnonzero(arr.site == s)
        forced = mine[arr.forced_open[mine]]
        want = forced[0] if len(forced) else mine[np.argmax(y[mine])]
        assert out[want]
