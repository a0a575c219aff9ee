"""Location-allocation moves: each open option's rows moved as one group to the option that
serves them most cheaply, then every row assigned anew (what region MIPs miss when few
options are open among many)."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest

from planning import optimize as opt
from planning._heuristic import (
    greedy_open_set,
    pair_index,
    plan_cost,
    plan_fits,
    relocated_open_set,
    row_view,
)
from planning._lagrangian import Arrays, Bound, lagrangian_bound, to_arrays
from planning.model import ModelInput


def line_instance(
    xs: Sequence[float], p: int, *, cap: float | list[float] = 100.0, sites: list[str] | None = None
) -> ModelInput:
    """Nodes on a line, each a client (1 student) and a candidate; cost = distance."""
    n = len(xs)
    ids = np.array([f"n{i}" for i in range(n)])
    x = np.array(xs, dtype=float)
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    options = pd.DataFrame(
        {
            "site_id": sites if sites is not None else list(ids),
            "fixed_cost": 0.0,
            "closed_cost": 0.0,
            "max_students": cap,
            "max_classes": np.nan,
            "forced": "",
        },
        index=pd.Index(ids, name="option_id"),
    )
    pairs = pd.DataFrame(
        {"village_id": ids[i.ravel()], "level": "all", "option_id": ids[j.ravel()]}
    ).assign(cost=np.abs(x[i.ravel()] - x[j.ravel()]))
    demand = pd.DataFrame({"village_id": ids, "level": "all", "students": 1.0})
    return ModelInput(demand=demand, options=options, pairs=pairs, class_size=None, p=p)


def plan_to(arr: Arrays, option_of_row: list[int]) -> np.ndarray:
    """Pair index per row for the given option of each row."""
    keys = arr.pk * arr.n_options + arr.pj
    return np.array(
        [int(np.flatnonzero(keys == k * arr.n_options + j)[0]) for k, j in enumerate(option_of_row)]
    )


# two clusters: 0..4 around 2, 100..104 around 102
XS = [0.0, 1.0, 2.0, 3.0, 4.0, 100.0, 101.0, 102.0, 103.0, 104.0]


def test_each_group_moves_to_its_cheapest_option() -> None:
    arr = to_arrays(line_instance(XS, p=2))
    plan = plan_to(arr, [0] * 5 + [9] * 5)  # open at the clusters' outer ends
    found = relocated_open_set(arr, plan)
    assert found is not None
    moved, moved_plan = found
    assert np.flatnonzero(moved).tolist() == [2, 7]  # the clusters' medians
    # the moved plan: each row goes with its group
    assert arr.pj[moved_plan].tolist() == [2] * 5 + [7] * 5
    assert arr.pk[moved_plan].tolist() == list(range(10))
    assert plan_cost(arr, moved_plan) == 12.0 < plan_cost(arr, plan)


def test_no_move_at_a_local_optimum() -> None:
    arr = to_arrays(line_instance(XS, p=2))
    assert relocated_open_set(arr, plan_to(arr, [2] * 5 + [7] * 5)) is None


def test_moves_keep_capacity_sites_and_forced_options() -> None:
    # a group of 5 students: option 2 holds them, but shares its site with option 7
    data = line_instance(XS, p=2, sites=["a", "b", "s", "c", "d", "e", "f", "s", "g", "h"])
    arr = to_arrays(data)
    found = relocated_open_set(arr, plan_to(arr, [0] * 5 + [9] * 5))
    assert found is not None
    moved = found[0]
    # the first group takes site s (option 2); the second may not open 7 on the same site
    assert moved[2] and not moved[7]
    assert moved.sum() == 2

    forced = data.options.copy()
    forced.loc["n9", "forced"] = "open"
    forced.loc["n2", "forced"] = "closed"
    arr = to_arrays(ModelInput(**{**data.__dict__, "options": forced}))
    found = relocated_open_set(arr, plan_to(arr, [0] * 5 + [9] * 5))
    assert found is not None
    moved = found[0]
    assert moved[9] and not moved[2]  # forced open stays, forced closed is not used

    # the first cluster's median (option 2) cannot hold its 5 students: the next best does
    caps = [5.0, 5.0, 4.0] + [5.0] * 7
    small = to_arrays(line_instance(XS, p=2, cap=caps))
    found = relocated_open_set(small, plan_to(small, [0] * 5 + [7] * 5))
    assert found is not None
    moved, moved_plan = found
    assert plan_fits(small, moved_plan)
    assert np.flatnonzero(moved).tolist() == [1, 7]  # 1 and 3 tie at 7; the lower number


def test_relocation_in_the_run_gains_and_keeps_a_valid_plan() -> None:
    rng = np.random.default_rng(5)
    xs = np.r_[rng.uniform(0, 30, 40), rng.uniform(200, 230, 40), rng.uniform(400, 430, 40)]
    data = line_instance(xs.round(1).tolist(), p=3, cap=45.0)
    arr = to_arrays(data)
    run = opt._Run(data, "highs", 60.0, 0.0, 1)
    best = opt._Incumbent(arr, row_view(arr))
    ends = np.r_[np.zeros(40, int), np.full(40, 40), np.full(40, 80)]  # each cluster's first node
    best.plan = plan_to(arr, ends.tolist())
    best.cost = plan_cost(arr, best.plan)
    assert run.relocate(arr, best, run.start + 60.0)
    # each cluster (40 students, room for 45) served from its own 1-median: the optimum
    optimum = sum(
        min(np.abs(xs_c - x).sum() for x in xs_c) for xs_c in np.split(xs.round(1), [40, 80])
    )
    assert best.cost == pytest.approx(optimum)
    assert plan_fits(arr, best.plan)
    assert best.cost == pytest.approx(plan_cost(arr, best.plan))
    assert run.stats["relocate_objective"] == best.cost


def test_no_relocation_for_models_in_classes() -> None:
    data = line_instance(XS, p=2)
    arr = to_arrays(data)
    classes = to_arrays(ModelInput(**{**data.__dict__, "class_size": {"all": 45}}))
    run = opt._Run(data, "highs", 60.0, 0.0, 1)
    best = opt._Incumbent(classes, row_view(classes))
    best.plan = plan_to(classes, [0] * 5 + [9] * 5)
    best.cost = plan_cost(classes, best.plan)
    assert not run.relocate(classes, best, run.start + 60.0)
    assert arr.class_size is None


def greedy_start_and_weak_bound(
    data: ModelInput,
) -> tuple[opt._Run, Arrays, opt._Incumbent, Bound]:
    """A run with the greedy plan as its incumbent and the bound of 3 rounds from zero."""
    arr = to_arrays(data)
    run = opt._Run(data, "highs", 60.0, 0.0, 1)
    best = opt._Incumbent(arr, row_view(arr))
    first = greedy_open_set(arr)
    assert first is not None
    best.from_open_set(first, None)
    weak = lagrangian_bound(arr, np.zeros(arr.n_rows), upper=best.cost, iterations=3, exact=True)
    return run, arr, best, weak


@pytest.mark.parametrize("seed", [1, 2])
def test_sharpen_raises_the_bound_and_stays_below_the_optimum(seed: int) -> None:
    """The rounds after a search that stopped early: a higher bound, still a valid one."""
    from tests.test_optimize import cpmp_instance, exact

    data = cpmp_instance(seed, n=30, p=4)
    optimum = exact(data).objective
    run, arr, best, weak = greedy_start_and_weak_bound(data)
    sharper = run.sharpen(arr, weak, best, time.perf_counter() + 30.0)
    assert sharper > weak.value
    assert sharper <= optimum + 1e-6
    assert run.stats["lagrangian_bound"] > weak.value
    assert run.stats["sharpen_iterations"] > 0


@pytest.mark.parametrize("seed", [1, 2])
def test_sharpen_takes_large_steps_from_a_bound_far_below_the_plan(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From a bound 30% below the plan, one round of 30 steps towards the plan gets within 3%
    of the optimum; small steps (each a little above the best bound) stay near the start."""
    from tests.test_optimize import cpmp_instance, exact

    data = cpmp_instance(seed, n=30, p=4)
    optimum = exact(data).objective
    monkeypatch.setattr(opt, "BOUND_ITERATIONS", 30)
    monkeypatch.setattr(opt, "SHARPEN_MIN_GAIN", math.inf)  # one round
    bounds, far = {}, opt.SHARPEN_FAR
    for aim_at_plan_below in (far, math.inf):
        monkeypatch.setattr(opt, "SHARPEN_FAR", aim_at_plan_below)
        run, arr, best, weak = greedy_start_and_weak_bound(data)
        assert best.cost - weak.value > max(0.3, far) * best.cost
        bounds[aim_at_plan_below] = run.sharpen(arr, weak, best, time.perf_counter() + 30.0)
    large, small = bounds.values()
    assert optimum * 0.97 <= large <= optimum + 1e-6
    assert small < optimum * 0.8


@pytest.mark.parametrize("seed", [1, 2])
def test_sharpen_starts_from_the_first_plan_where_small_steps_would_stall(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rounds with small steps from a weak bound stall far below the optimum (as above);
    with a first plan, sharpen's rounds start from its costs with long steps instead, and
    the bound's own multipliers are not needed after them."""
    from tests.test_optimize import cpmp_instance, exact

    data = cpmp_instance(seed, n=30, p=4)
    optimum = exact(data).objective
    monkeypatch.setattr(opt, "BOUND_ITERATIONS", 100)
    monkeypatch.setattr(opt, "SHARPEN_MIN_GAIN", math.inf)  # one round from each start
    monkeypatch.setattr(opt, "SHARPEN_FAR", math.inf)  # small steps from the weak bound
    bounds, iterations = [], []
    for first_plan in (False, True):
        run, arr, best, weak = greedy_start_and_weak_bound(data)
        run.first_plan = best.plan.copy() if first_plan else None
        bounds.append(run.sharpen(arr, weak, best, time.perf_counter() + 30.0))
        iterations.append(run.stats["sharpen_iterations"])
    stalled, restarted = bounds
    assert stalled < optimum * 0.8
    assert optimum * 0.97 <= restarted <= optimum + 1e-6
    assert iterations == [100, 100]  # the first plan's round only


def test_sharpen_goes_on_from_the_bound_when_the_first_plan_does_not_beat_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A bound near the plan that the rounds from the first plan's costs stay below: the
    rounds from its own multipliers follow, and sharpen never reports less than it had."""
    from tests.test_optimize import cpmp_instance, exact

    data = cpmp_instance(1, n=30, p=4)
    optimum = exact(data).objective
    run, arr, best, _ = greedy_start_and_weak_bound(data)
    strong = lagrangian_bound(arr, np.zeros(arr.n_rows), upper=optimum, iterations=1000, exact=True)
    assert strong.value > optimum * 0.97
    monkeypatch.setattr(opt, "BOUND_ITERATIONS", 5)
    monkeypatch.setattr(opt, "SHARPEN_MIN_GAIN", math.inf)  # one round from each start
    monkeypatch.setattr(opt, "SHARPEN_FAR", math.inf)  # the bound counts as near the plan
    real = opt.lagrangian_bound
    rounds: list[tuple[np.ndarray, float]] = []

    def spy(arr: Arrays, lam: np.ndarray, **kwargs: object) -> Bound:
        found = real(arr, lam, **kwargs)  # type: ignore[arg-type]
        rounds.append((lam, found.value))
        return found

    monkeypatch.setattr(opt, "lagrangian_bound", spy)
    run.first_plan = best.plan.copy()
    sharper = run.sharpen(arr, strong, best, time.perf_counter() + 30.0)
    assert len(rounds) == 2
    (first_lam, first_value), (second_lam, _) = rounds
    assert first_value < strong.value  # the first plan's costs: 5 iterations, not enough
    assert np.array_equal(first_lam, opt._initial_multipliers(arr, best.plan))
    assert np.array_equal(second_lam, strong.lam)
    assert sharper == -math.inf or strong.value < sharper <= optimum + 1e-6


def test_sharpen_needs_time_left() -> None:
    data = line_instance(XS, p=2)
    arr = to_arrays(data)
    run = opt._Run(data, "highs", 60.0, 0.0, 1)
    best = opt._Incumbent(arr, row_view(arr))
    best.plan = plan_to(arr, [2] * 5 + [7] * 5)
    best.cost = plan_cost(arr, best.plan)
    weak = lagrangian_bound(arr, np.zeros(arr.n_rows), upper=best.cost, iterations=1, exact=True)
    until = time.perf_counter() + opt.SHARPEN_MIN_SECONDS - 1.0
    assert run.sharpen(arr, weak, best, until) == -math.inf
    assert "sharpen_iterations" not in run.stats


def test_ctrl_c_in_sharpen_keeps_the_rounds_before_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_optimize import cpmp_instance

    data = cpmp_instance(1, n=30, p=4)
    run, arr, best, weak = greedy_start_and_weak_bound(data)
    real = opt.lagrangian_bound
    calls: list[float] = []

    def first_round_then_ctrl_c(*args: object, **kwargs: object) -> object:
        if calls:
            raise KeyboardInterrupt
        bound = real(*args, **{**kwargs, "iterations": 40})  # type: ignore[arg-type]
        calls.append(bound.value)
        return bound

    monkeypatch.setattr(opt, "SHARPEN_MIN_GAIN", 0.0)  # a second round whatever the first gains
    monkeypatch.setattr(opt, "lagrangian_bound", first_round_then_ctrl_c)
    sharper = run.sharpen(arr, weak, best, time.perf_counter() + 30.0)
    assert run.interrupted
    assert len(calls) == 1 and calls[0] > weak.value
    assert sharper == opt._round_up(arr, calls[0])


@pytest.mark.parametrize("seed", [1, 2, 4])
def test_the_exact_path_relocates_the_polished_plan(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before the reduction and the exact MIP, relocation improves the polished plan (OC #20:
    1,018 -> 1,005, the optimum); here polish leaves a plan whose groups are each served from
    their farthest member, and relocation moves them back."""
    from tests.test_optimize import cpmp_instance, exact

    data = cpmp_instance(seed, n=40, p=4)  # seeds whose bound alone proves nothing
    optimum = exact(data).objective
    real_polish = opt._Run.polish
    planted: list[float] = []

    def polish_then_worsen(
        self: opt._Run, arr: Arrays, bound: Bound, best: opt._Incumbent, ub: float | None
    ) -> float | None:
        real_polish(self, arr, bound, best, ub)
        assert best.plan is not None
        assert (arr.rows.get_level_values(0) == arr.option_ids).all()  # row k is option k
        rows, options = arr.pk[best.plan], arr.pj[best.plan]
        moved = options.copy()
        for j in np.unique(options):
            group = rows[options == j]
            moved[options == j] = group[np.argmax(arr.cost[best.plan][options == j])]
        best.plan = pair_index(arr, rows, moved)
        best.cost = plan_cost(arr, best.plan)
        planted.append(best.cost)
        return best.cost

    monkeypatch.setattr(opt._Run, "polish", polish_then_worsen)
    result = opt.optimize(data, time_limit_s=60.0)
    assert planted, "the exact path did not reach polish"
    assert result.stats["relocate_objective"] < planted[0]
    assert result.status == "optimal"
    assert result.objective == pytest.approx(optimum)


@pytest.mark.parametrize("seed", [2, 4, 5])
def test_the_matheuristic_ends_with_the_exact_mip_when_its_bound_rounds_shrink_the_model(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A search that stops early, then bound rounds that leave a gap: the pairs that can
    still beat the plan form a small model, which the time left proves optimal."""
    from tests.test_optimize import cpmp_instance, exact

    data = cpmp_instance(seed, n=30, p=4)
    optimum = exact(data).objective
    monkeypatch.setattr(opt, "POLISH_PAIRS", 450)  # of 900 pairs: the weak bound keeps all
    monkeypatch.setattr(opt, "BOUND_ITERATIONS", 20)
    monkeypatch.setattr(opt, "SHARPEN_MIN_GAIN", math.inf)  # one round from each start
    run, arr, best, weak = greedy_start_and_weak_bound(data)
    run.first_plan = best.plan.copy()
    result = run.matheuristic(arr, weak, best, best.cost, -math.inf)
    assert result.stats["strategy"] == "matheuristic+exact"
    assert weak.value < result.stats["lagrangian_bound"] < optimum - 1  # the rounds left a gap
    assert result.stats["pairs_kept"] <= 450
    assert result.status == "optimal"
    assert result.objective == pytest.approx(optimum)
    # without the end's exact MIP, the same rounds leave the run unproven
    monkeypatch.setattr(opt._Run, "exact_fits", lambda self, keep: False)
    run, arr, best, weak = greedy_start_and_weak_bound(data)
    run.first_plan = best.plan.copy()
    result = run.matheuristic(arr, weak, best, best.cost, -math.inf)
    assert result.status == "feasible" and result.bound is not None
    assert result.bound < optimum - 1


def test_sharpen_keeps_a_far_bounds_own_multipliers_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bound more than ``SHARPEN_FAR`` below the plan (the bound phase had few rounds):
    its own multipliers go first, with steps towards the plan, then the first plan's."""
    from tests.test_optimize import cpmp_instance

    data = cpmp_instance(1, n=30, p=4)
    run, arr, best, weak = greedy_start_and_weak_bound(data)
    assert best.cost - weak.value > opt.SHARPEN_FAR * best.cost
    monkeypatch.setattr(opt, "BOUND_ITERATIONS", 5)
    monkeypatch.setattr(opt, "SHARPEN_MIN_GAIN", math.inf)  # one round from each start
    real = opt.lagrangian_bound
    starts: list[np.ndarray] = []

    def spy(arr: Arrays, lam: np.ndarray, **kwargs: object) -> Bound:
        starts.append(lam)
        return real(arr, lam, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(opt, "lagrangian_bound", spy)
    run.first_plan = best.plan.copy()
    run.sharpen(arr, weak, best, time.perf_counter() + 30.0)
    assert len(starts) == 2
    assert np.array_equal(starts[0], weak.lam)
    assert np.array_equal(starts[1], opt._initial_multipliers(arr, best.plan))


def test_ctrl_c_in_the_end_rounds_skips_the_exact_mip(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stopped during the matheuristic's last bound rounds: the plan comes back with the
    bound so far, and no MIP starts after the stop request."""
    from tests.test_optimize import cpmp_instance

    data = cpmp_instance(2, n=30, p=4)
    monkeypatch.setattr(opt, "POLISH_PAIRS", 450)  # as above: the end's MIP would run
    monkeypatch.setattr(opt, "BOUND_ITERATIONS", 20)
    monkeypatch.setattr(opt, "SHARPEN_MIN_GAIN", math.inf)
    real = opt._Run.more_rounds

    def rounds_then_ctrl_c(self: opt._Run, *args: object) -> object:
        found = real(self, *args)  # type: ignore[arg-type]
        self.interrupted = True
        return found

    monkeypatch.setattr(opt._Run, "more_rounds", rounds_then_ctrl_c)
    run, arr, best, weak = greedy_start_and_weak_bound(data)
    run.first_plan = best.plan.copy()
    result = run.matheuristic(arr, weak, best, best.cost, -math.inf)
    assert result.stats.get("strategy") != "matheuristic+exact"
    assert result.status == "interrupted"
    assert result.bound is not None and weak.value < result.bound < result.objective
