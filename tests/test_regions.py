"""The matheuristic's regions: each region's plan lands in its own rows, and a sweep solved
in worker processes gives the same plan as one solved region after region."""

from __future__ import annotations

import dataclasses
import logging
import math
import multiprocessing
import os
import sys
import time
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd
import pytest

from planning import optimize as opt
from planning._heuristic import greedy_open_set, plan_cost, plan_fits, regions, row_view
from planning._lagrangian import Arrays, lagrangian_bound, to_arrays
from planning.model import ModelInput

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
SMALL = 3  # options per region: each region's MIP is proven optimal within a second


@pytest.fixture(scope="module")
def data() -> ModelInput:
    sys.path.insert(0, str(BENCHMARKS))
    from scale import make_instance

    return make_instance(400, 40, seed=3)


def start(data: ModelInput) -> tuple[opt._Run, Arrays, opt._Incumbent]:
    """A run with the greedy plan as its incumbent."""
    run = opt._Run(data, "highs", 120.0, 0.0, 1)
    arr = to_arrays(data)
    best = opt._Incumbent(arr, row_view(arr))
    first = greedy_open_set(arr)
    assert first is not None
    best.from_open_set(first, None)
    assert best.plan is not None
    return run, arr, best


def job(seconds: float = 60.0, gap: float = 0.0) -> opt._RegionJob:
    return opt._RegionJob("highs", 1, time.time() + 600, seconds, gap)


@pytest.mark.parametrize("ring", [0, opt.RING_OPTIONS])
def test_region_plan_lands_in_its_rows(data: ModelInput, ring: int) -> None:
    run, arr, best = start(data)
    assert best.plan is not None
    before = best.cost
    for region in regions(arr, SMALL):
        sub, rows, held = opt._region_model(arr, best.plan, region, ring)
        if sub is None:
            continue
        warm = pd.concat([best.table().iloc[rows], held], ignore_index=True)
        result = job()((sub, warm))
        assert result is not None
        # the solver's rows come in its own order, not the order of ``rows``
        shuffled = result.assignment.sample(frac=1.0, random_state=0).reset_index(drop=True)
        replaced = dataclasses.replace(result, assignment=shuffled)
        run.take_region(arr, best, rows, replaced, check=ring > 0)
        np.testing.assert_array_equal(arr.pk[best.plan], np.arange(arr.n_rows))
        assert best.cost == pytest.approx(plan_cost(arr, best.plan))
        assert plan_fits(arr, best.plan)
    assert best.cost < before  # the greedy plan leaves something to gain


def test_ring_offers_only_the_spare_room_of_open_options(data: ModelInput) -> None:
    """A ring option is forced open and holds its own rows as one fixed row per level, so
    the region's model sees exactly its spare room."""
    _, arr, best = start(data)
    assert best.plan is not None
    region = regions(arr, SMALL)[0]
    sub, rows, held = opt._region_model(arr, best.plan, region, 3)
    assert sub is not None and len(held) > 0
    ring = sorted(set(held["option_id"]))
    assert 0 < len(ring) <= 3
    assert not set(ring) & set(arr.option_ids[region])
    assert (sub.options.loc[ring, "forced"] == "open").all()
    fixed = sub.demand[sub.demand["village_id"].str.startswith(opt.RING_PREFIX)]
    plan_j = arr.option_ids[arr.pj[best.plan]]
    for (j, lvl), students in fixed.merge(held).groupby(["option_id", "level"])["students"]:
        mine = (plan_j == j) & (arr.rows.get_level_values("level") == lvl)
        assert students.sum() == pytest.approx(arr.students[mine].sum())
    # the region's own rows, each with its pairs to the region and the ring only
    free = sub.demand[~sub.demand["village_id"].str.startswith(opt.RING_PREFIX)]
    assert len(free) == len(rows)
    assert set(sub.pairs["option_id"]) <= set(arr.option_ids[region]) | set(ring)


def test_plan_fits_sees_students_and_classes(data: ModelInput) -> None:
    _, arr, best = start(data)
    assert best.plan is not None
    assert plan_fits(arr, best.plan)
    # every row to the option of row 0's plan: more than it holds
    j = arr.pj[best.plan[0]]
    crowded = best.plan.copy()
    for k in range(arr.n_rows):
        mine = np.flatnonzero((arr.pk == k) & (arr.pj == j))
        if len(mine):
            crowded[k] = mine[0]
    assert not plan_fits(arr, crowded)


@pytest.mark.parametrize("workers", [1, 2])
def test_sweep_in_workers_equals_serial_sweep(
    data: ModelInput, workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without rings the regions of a sweep are disjoint: solving them from the sweep's
    starting plan gives the plan of one region after the other."""
    monkeypatch.setattr(opt, "RING_OPTIONS", 0)
    # regions solved to optimality, so the clock does not decide the plan
    monkeypatch.setattr(opt, "REGION_SECONDS", 60.0)
    monkeypatch.setattr(opt, "REGION_GAP", 0.0)
    run, arr, best = start(data)
    assert best.plan is not None
    groups = regions(arr, SMALL)
    # region after region, each from the plan the previous ones left
    serial = opt._Incumbent(arr, best.view)
    serial.plan, serial.cost = best.plan.copy(), best.cost
    for region in groups:
        sub, rows, _ = opt._region_model(arr, serial.plan, region)
        if sub is not None:
            result = job()((sub, serial.table().iloc[rows]))
            if result is not None:
                run.take_region(arr, serial, rows, result)
    with opt._RegionSolver(workers) as pool:
        saved = run.region_sweep(arr, best, groups, time.perf_counter() + 300, pool)
    assert (pool.pool is not None) == (workers > 1)
    np.testing.assert_array_equal(best.plan, serial.plan)
    assert best.cost == pytest.approx(serial.cost)
    assert saved > 0


def test_sweep_with_rings_same_in_workers_and_fits(
    data: ModelInput, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With rings, regions may compete for a ring option's room: a region's plan that no
    longer fits after the ones applied before it is left out, in workers as in one process."""
    monkeypatch.setattr(opt, "REGION_SECONDS", 60.0)
    monkeypatch.setattr(opt, "REGION_GAP", 0.0)
    plans = []
    for workers in (1, 2):
        run, arr, best = start(data)
        before = best.cost
        with opt._RegionSolver(workers) as pool:
            run.region_sweep(arr, best, regions(arr, SMALL), time.perf_counter() + 300, pool)
        assert best.plan is not None and plan_fits(arr, best.plan)
        assert best.cost < before
        plans.append(best.plan)
    np.testing.assert_array_equal(plans[0], plans[1])


@pytest.mark.parametrize("workers", [1, 2])
def test_window_sweep_replans_each_window_within_it(
    data: ModelInput, workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A window is planned afresh by its own optimisation: its rows stay with its options,
    the plan still fits, and the sweep only ever lowers the cost."""
    monkeypatch.setattr(opt, "WINDOW_OPTIONS", 10)
    monkeypatch.setattr(opt, "WINDOW_SECONDS", 4.0)
    run, arr, best = start(data)
    assert best.plan is not None
    old, before = best.plan.copy(), best.cost
    window = np.empty(arr.n_options, dtype=np.int64)
    for w, group in enumerate(regions(arr, 10, view=best.view)):
        window[group] = w
    with opt._RegionSolver(workers) as pool:
        run.window_sweep(arr, best, time.perf_counter() + 300, pool)
    assert best.plan is not None and plan_fits(arr, best.plan)
    assert best.cost < before
    assert best.cost == pytest.approx(plan_cost(arr, best.plan))
    assert run.stats["window_objective"] == best.cost
    np.testing.assert_array_equal(window[arr.pj[best.plan]], window[arr.pj[old]])
    assert (best.plan != old).any()


def test_window_job_gives_up_past_its_deadline(
    data: ModelInput, caplog: pytest.LogCaptureFixture
) -> None:
    _, arr, best = start(data)
    assert best.plan is not None
    sub, rows, _ = opt._region_model(arr, best.plan, regions(arr, 10)[0])
    assert sub is not None
    late = opt._WindowJob("highs", time.time() + 1.0, 4.0)  # less than half its time left
    assert late((sub, best.table().iloc[rows])) is None
    table = best.table().iloc[rows]
    with caplog.at_level(logging.INFO, logger="planning.optimize"):
        ok = opt._WindowJob("highs", time.time() + 600.0, 4.0)((sub, table))
    assert ok is not None and ok.objective <= window_cost(sub, table) + 1e-6
    # a window's progress lines would read as the whole model's: debug level only
    assert not [r for r in caplog.records if r.name == "planning.optimize"]


def window_cost(sub: ModelInput, table: pd.DataFrame) -> float:
    """The cost of the plan ``table`` in the window's own model."""
    arrays = to_arrays(sub)
    inc = opt._Incumbent(arrays, row_view(arrays))
    k = arrays.rows.get_indexer(pd.MultiIndex.from_frame(table[["village_id", "level"]]))
    plan = np.full(arrays.n_rows, -1)
    plan[k] = inc.pairs_of(table)
    return plan_cost(arrays, plan)


def test_bound_rounds_in_a_worker_equal_the_rounds_here(data: ModelInput) -> None:
    """The bound job sent to a worker process (without the input tables) gives the same
    bound, multipliers and reduction bounds as the same rounds run here; with the pool's
    stop event set, it ends after its first round."""
    arr = to_arrays(data)
    lam = np.zeros(arr.n_rows)
    job = opt._BoundJob(opt._without_tables(arr), lam, 1e9, 15, time.time() + 600)
    here = lagrangian_bound(arr, lam, upper=1e9, iterations=15, exact=True, theta=0.2, reach=0.005)
    with opt._RegionSolver(2) as pool:
        far = pool.submit(job).result()
        pool.stop_jobs()
        stopped = pool.submit(dataclasses.replace(job, iterations=400)).result()
    assert far.iterations == here.iterations == 15
    assert far.value == here.value
    np.testing.assert_array_equal(far.lam, here.lam)
    np.testing.assert_array_equal(far.pair_bound, here.pair_bound)
    assert stopped.iterations == 1
    with opt._RegionSolver(1) as serial:  # no workers: the job runs at once, here
        assert serial.submit(job).result().value == here.value


@pytest.mark.parametrize("minimum", [0.0, 60.0])
def test_bound_beside_the_first_phase(
    minimum: float, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Above LP_PAIRS pairs in classes, the bound's rounds run in a worker process while
    the regions improve the plan; the run then goes on as before with that bound. With a
    minimum school size (a rule the arrays do not hold), the solver checks the plan first."""
    sys.path.insert(0, str(BENCHMARKS))
    from scale import make_instance

    small = make_instance(80, 20, seed=5)
    if minimum:
        options = small.options.assign(min_students=0.0)
        options.iloc[::4, options.columns.get_loc("min_students")] = minimum
        small = dataclasses.replace(small, options=options)
        assert not to_arrays(small).exact
    monkeypatch.setattr(opt, "LP_PAIRS", 1_000)  # the stand-in relaxation, no LP bound
    monkeypatch.setattr(opt, "EXACT_PAIRS_CLASSES", 500)  # exact class rounds at once
    monkeypatch.setattr(opt, "BOUND_BESIDE_SHARE", 0.9)  # a short run still qualifies
    monkeypatch.setattr(opt, "BOUND_BESIDE_MIN_SECONDS", 2.0)
    run = opt._Run(small, "highs", 8.0, 0.0, None)
    if opt._region_workers(None) < 2:
        pytest.skip("needs two cores: the bound goes beside the regions only then")
    with caplog.at_level(logging.INFO, logger="planning.optimize"):
        result = run.run()
    assert any("lower bound is computed alongside" in m for m in caplog.messages)
    assert run.pool is not None and run.pool.workers == opt._region_workers(None)
    assert result.stats["lagrangian_iterations"] > 1
    assert result.stats["strategy"].startswith("matheuristic")
    assert "lp_bound" not in result.stats and "lp_nearest_pairs" in result.stats
    assert result.bound is not None and result.objective is not None
    assert result.bound == pytest.approx(result.stats["lagrangian_bound"]) or (
        result.stats["strategy"] == "matheuristic+exact"
    )
    assert result.bound <= result.objective + 1e-6
    # the same model the usual way: its plan is no cheaper than the bound found beside
    monkeypatch.setattr(opt._Run, "bound_aside", lambda *_: False)
    usual = opt.optimize(small, time_limit_s=8.0)
    assert "lagrangian_iterations" in usual.stats
    assert result.bound <= usual.objective + 1e-6
    assert usual.bound is not None and result.objective >= usual.bound - 1e-6


@dataclasses.dataclass(frozen=True)
class _DyingJob:
    """Kills the worker process that runs it."""

    def __call__(self) -> None:
        os._exit(1)


def test_bound_worker_that_dies_leaves_the_run_going(data: ModelInput) -> None:
    """The bound's worker process dies: a few rounds here give the bound, and the region
    sweeps that follow run in this process instead of failing on the broken pool."""
    run, arr, best = start(data)
    assert best.plan is not None
    pool = run.region_pool(2)
    with run.exits:
        dying = pool.submit(cast(opt._BoundJob, _DyingJob()))
        lam = np.zeros(arr.n_rows)
        job = opt._BoundJob(opt._without_tables(arr), lam, best.cost, 400, time.time() + 600)
        pending = opt._PendingBound(dying, job)
        bound = run.collect(pending, best)
        assert bound.iterations > 1 and math.isfinite(bound.value)
        assert pool.pool is None  # given up: the jobs run here from now
        before = best.cost
        run.stats["region_sweeps"] = 0
        run.improve_by_regions(arr, best, time.perf_counter() + 10.0, pool)
        assert best.cost <= before and plan_fits(arr, best.plan)
        assert bound.value <= best.cost


_ORPHAN_PARENT = """
import os, time
from planning import optimize as opt
with opt._RegionSolver(2) as pool:
    pids = {pool.submit(os.getpid).result() for _ in range(20)}
    print(*pids, flush=True)
    time.sleep(600)
"""


def _alive(pid: int) -> bool:
    """The process exists and is not a zombie (an orphan's zombie waits for init to reap it)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux's /proc")
def test_workers_exit_when_their_parent_is_killed() -> None:
    """A parent killed hard (kill -9) cannot shut its pool down: its worker processes see it
    is gone and exit within seconds instead of sitting idle forever."""
    import subprocess

    parent = subprocess.Popen(
        [sys.executable, "-c", _ORPHAN_PARENT], stdout=subprocess.PIPE, text=True
    )
    try:
        assert parent.stdout is not None
        workers = [int(p) for p in parent.stdout.readline().split()]
        assert workers and parent.pid not in workers and all(map(_alive, workers))
        time.sleep(2 * opt.ORPHAN_CHECK_S)
        assert all(map(_alive, workers))  # a living parent keeps its workers
    finally:
        parent.kill()
        parent.wait()
    end = time.monotonic() + 10 * opt.ORPHAN_CHECK_S + 5
    while any(map(_alive, workers)) and time.monotonic() < end:
        time.sleep(0.2)
    left = [pid for pid in workers if _alive(pid)]
    for pid in left:
        os.kill(pid, 9)
    assert not left, f"worker processes {left} outlived their killed parent"


def test_no_workers_inside_a_daemonic_process(monkeypatch: pytest.MonkeyPatch) -> None:
    class Daemon:
        daemon = True

    assert opt._region_workers(None) >= 1
    assert opt._region_workers(1) == 1
    monkeypatch.setattr(multiprocessing, "current_process", lambda: Daemon())
    assert opt._region_workers(None) == 1


def test_main_module_hidden_and_restored() -> None:
    main = sys.modules["__main__"]
    had = {k: main.__dict__[k] for k in ("__file__", "__spec__") if k in main.__dict__}
    with opt._main_module_hidden():
        assert "__file__" not in main.__dict__
        assert main.__dict__["__spec__"] is None
    assert {k: main.__dict__[k] for k in had} == had
    assert ("__file__" in main.__dict__) == ("__file__" in had)


def test_highs_stopped_when_far_past_its_time_limit(
    data: ModelInput, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HiGHS checks its time limit only here and there; past OVERTIME x the limit (+1 s) it
    is cancelled, and what it has is a plan, not an optimum."""
    from planning import model as mdl

    monkeypatch.setattr(mdl, "OVERTIME", 0.0)  # cancel after 1 s whatever the limit
    built = mdl.build_model(data)  # the full 400 x 40 model: far more than 1 s to prove
    start = time.perf_counter()
    try:
        result = mdl.solve(built, time_limit_s=120.0, threads=1)
    except opt.SolverError as err:  # cancelled before HiGHS had any plan
        assert "without any plan" in str(err)
    else:
        assert result.status == "feasible"
        assert result.gap is not None and result.gap > 0
    assert time.perf_counter() - start < 30.0  # not the 120 s HiGHS was given


def test_highs_that_ignores_the_stop_is_waited_for_with_a_warning(
    data: ModelInput, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """HiGHS can miss a cancel for minutes (a heuristic's sub-MIP presolve): the planner is
    told why the run does not end, and its plan is still read back when HiGHS stops."""
    import highspy

    from planning import model as mdl

    monkeypatch.setattr(mdl, "OVERTIME", 0.0)  # cancel after 1 s ...
    monkeypatch.setattr(mdl, "UNHEARD_S", 0.5)  # ... and warn 0.5 s later
    monkeypatch.setattr(highspy.Highs, "cancelSolve", lambda self: None)  # not heard
    built = mdl.build_model(data)
    with caplog.at_level(logging.WARNING, logger="planning.model"):
        result = mdl.solve(built, time_limit_s=4.0, threads=1)  # stops on its own clock
    said = [r.getMessage() for r in caplog.records if "has not answered" in r.getMessage()]
    assert len(said) == 1 and "time limit of 4 s" in said[0]
    assert result.status == "feasible" and result.objective > 0


@dataclasses.dataclass(frozen=True)
class _StuckJob:
    """Returns its task; the task "stuck" never ends (a solver deaf to its time limit)."""

    seconds: float = 0.5

    def __call__(self, task: str) -> str:
        if task == "stuck":
            time.sleep(3600)
        return task


def test_worker_stuck_in_a_solver_is_stopped(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A region whose solver ignores its limit no longer holds the run: once no region has
    finished for 2 x its limit + HUNG_S, the workers are replaced by new ones, that region is
    left out (the regions the other worker finished are kept), and later sweeps run in the new
    workers."""
    monkeypatch.setattr(opt, "HUNG_S", 1.0)
    job = cast(opt._RegionJob, _StuckJob())
    start = time.perf_counter()
    with (
        caplog.at_level(logging.WARNING, logger="planning.optimize"),
        opt._RegionSolver(2) as pool,
    ):
        assert pool.pool is not None
        processes = list(pool.pool._processes.values())  # type: ignore[attr-defined]
        got = list(pool.run(job, cast(list, ["a", "stuck", "b", "c"])))
        assert pool.pool is not None
        after = list(pool.run(job, cast(list, ["d", "e"])))
        new = list(pool.pool._processes.values())  # type: ignore[attr-defined]
    assert got == ["a", None, "b", "c"] and after == ["d", "e"]  # the others' regions kept
    assert new and not {p.pid for p in new} & {p.pid for p in processes}
    assert time.perf_counter() - start < 60.0
    for process in processes:
        process.join(timeout=10)
        assert not process.is_alive()
    said = [r.getMessage() for r in caplog.records if "has not stopped" in r.getMessage()]
    assert len(said) == 1 and "1 of the 4 regions of this round keep their current" in said[0]


def test_options_of_one_site_share_a_region(data: ModelInput) -> None:
    # a second school type at every site, reachable from the same villages
    twin = data.options.rename(index=lambda j: f"{j}-b")
    twin["fixed_cost"] *= 1.5
    pairs = data.pairs.assign(option_id=data.pairs["option_id"] + "-b")
    both = dataclasses.replace(
        data,
        options=pd.concat([data.options, twin]),
        pairs=pd.concat([data.pairs, pairs], ignore_index=True),
    )
    arr = to_arrays(both)
    for offset in (0, 7):
        groups = regions(arr, SMALL, offset=offset)
        seen = np.concatenate(groups)
        assert sorted(seen.tolist()) == list(range(arr.n_options))  # each option once
        for region in groups:
            sites = set(arr.site[region].tolist())
            assert set(np.flatnonzero(np.isin(arr.site, list(sites))).tolist()) == set(
                region.tolist()
            )


def two_towns(n: int = 30) -> tuple[ModelInput, np.ndarray]:
    """A capacitated p-median where every row may reach every option (no travel cut-off):
    two towns of ``n`` nodes 10 km apart, each a client and a candidate; and each node's town."""
    rng = np.random.default_rng(5)
    town = rng.permutation(np.repeat([0, 1], n))  # node numbers say nothing about the town
    xy = rng.uniform(0, 1000, (2 * n, 2)) + 10_000 * town[:, None]
    ids = np.array([f"n{i}" for i in range(2 * n)])
    demand = rng.integers(1, 20, 2 * n).astype(float)
    d = np.floor(np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)))
    i, j = np.meshgrid(np.arange(2 * n), np.arange(2 * n), indexing="ij")
    options = pd.DataFrame(
        {
            "site_id": ids,
            "fixed_cost": 0.0,
            "closed_cost": 0.0,
            "max_students": float(np.ceil(demand.sum() / 6 * 1.2)),
            "max_classes": np.nan,
            "forced": "",
        },
        index=ids,
    )
    data = ModelInput(
        demand=pd.DataFrame({"village_id": ids, "level": "all", "students": demand}),
        options=options,
        pairs=pd.DataFrame(
            {"village_id": ids[i.ravel()], "level": "all", "option_id": ids[j.ravel()]}
        ).assign(cost=d.ravel()),
        p=6,
    )
    return data, town


def test_regions_are_local_when_every_row_reaches_every_option() -> None:
    # every option shares every row with every other: only the cheapest pairs say who is near
    data, town = two_towns()
    arr = to_arrays(data)
    for offset in (0, 7):
        for region in regions(arr, 10, offset=offset):
            towns = set(town[region].tolist())
            assert len(towns) == 1, f"region {region.tolist()} spans both towns"


def test_region_size_grows_when_few_options_are_open() -> None:
    assert opt._region_size(1000, 714) == opt.REGION_OPTIONS  # the prefecture model
    assert opt._region_size(300, 25) == opt.REGION_OPTIONS_MAX  # 12 options per open one
    assert opt._region_size(400, 40) == 50  # about REGION_OPEN open options per region
    assert opt._region_size(100, 100) == opt.REGION_OPTIONS  # every option open


def test_whole_plan_mip_takes_a_poor_plan_near_the_optimum(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data, town = two_towns()
    exact = opt.optimize(data, time_limit_s=120)
    assert exact.status == "optimal"
    run = opt._Run(data, "highs", 120.0, 0.0, 1)
    arr = to_arrays(data)
    best = opt._Incumbent(arr, row_view(arr))
    bound = run.bound_phase(arr, best)
    # a poor plan: five medians in the first town, one in the second
    first = np.flatnonzero(town == 0)[:5].tolist() + np.flatnonzero(town == 1)[:1].tolist()
    is_open = np.zeros(arr.n_options, dtype=bool)
    is_open[first] = True
    best.plan, best.cost = None, np.inf
    assert best.from_open_set(is_open, None) is not None
    poor = best.cost
    assert poor > exact.objective * 1.05
    monkeypatch.setattr(opt, "POLISH_PAIRS", 20 * arr.n_rows)  # up to 20 pairs a row: quick
    steps = 0
    while run.widen(arr, bound, best, time.perf_counter() + 60):
        steps += 1
    assert steps >= 1
    assert best.cost <= exact.objective * 1.01  # from more than 5% above (measured: 0.7%)
    assert plan_fits(arr, best.plan)
