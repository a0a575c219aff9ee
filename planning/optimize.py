"""Solve a model instance well: bounds, heuristics and safe reductions around the MIP.

``optimize(data)`` is the one entry point the pipeline calls instead of
``solve(build_model(data))``. Every MIP it solves is built and solved by :mod:`planning.model`
(restricted copies of ``data``); this module holds no solver code.

Strategies
----------
1. **Bound and incumbent.** Up to ``LP_PAIRS`` pairs, the linear relaxation is solved first
   (by :mod:`planning.model`): its value is a bound, its open values are rounded into a plan,
   and its duals on the assignment rows start the multipliers. Larger models in classes get
   the relaxation of each row's cheapest pairs instead (no bound; duals and a plan); larger
   models in students only start from the incumbent's costs, after relocation (see 4) has
   made it good. A
   Lagrangian relaxation of the assignment rows (numpy, see :mod:`planning._lagrangian`)
   then gives a lower bound on the optimum of the *full* model; while its multipliers
   improve, the open sets it suggests are turned into plans by a greedy assignment with
   shift and swap moves (:mod:`planning._heuristic`). The best plan is the incumbent and
   its cost the upper bound. For a model the exact MIP takes (see 3), the rounds end as
   soon as the bound leaves at most ``REDUCED_ENOUGH`` pairs per row that can beat the
   incumbent: the MIP on those is quick, and on small models more rounds cost more time
   than they save (SJC1, demand-weighted: 2.9 s -> 0.7 s). Above ``LP_PAIRS`` pairs in
   classes (prefecture scale, where the matheuristic is certain and each round takes about
   a second), the rounds run in a worker process beside the matheuristic's first phase,
   until ``BOUND_BESIDE_SHARE`` of the time, instead of holding the second core idle.
2. **Safe reduction.** A pair (demand row, option) whose Lagrangian bound when forced in
   exceeds the incumbent (or, with integer costs, cannot beat it by a whole unit), and an
   option whose bound when forced open does, is in no better plan: it is left out. This is
   proven by the bound, so an optimum of the reduced model is an optimum of the full model.
3. **Exact MIP** (``strategy == "exact"``): the reduced model, warm-started from the
   incumbent, is solved by the MIP solver within the remaining time. Before it, a quick MIP
   over the relaxation's options polishes the incumbent, and in models in students only
   relocation (see 4) improves it further (a lower incumbent keeps fewer pairs: OC #20
   1,018 -> 1,005, the optimum, 3,618 pairs kept instead of 6,497). The bound reported is
   ``max(Lagrangian bound, min(MIP bound of the reduced model, incumbent))``.
4. **Matheuristic** (``strategy == "matheuristic"``), when the reduced model is still too
   large: fix-and-optimise from the incumbent. Models without ``p`` with at least
   ``WINDOW_MIN_OPTIONS`` options first get a window sweep: windows of ``WINDOW_OPTIONS``
   neighbouring options and the rows they serve, each planned afresh by its own
   optimisation (this strategy list on the small model, ``WINDOW_SECONDS`` each, one
   thread, in the worker processes), taken where cheaper than the incumbent's plan there.
   Then the options are cut into regions of
   ``REGION_OPTIONS`` neighbouring options (neighbours: among the same rows' cheapest
   pairs; more options per region when few are open, so that a region holds about
   ``REGION_OPEN`` open ones, as in a p-median where most candidates stay closed); one
   region's MIP re-plans its options and the
   rows they serve, everything else fixed (at most ``REGION_SECONDS`` each). In the plain
   model (capacity, classes, sites, ``p``) those rows may also move into the spare room of
   up to ``RING_OPTIONS`` open options around the region (each holds its own rows as a
   fixed load). The regions of a sweep share no row, so they are solved side by side in
   worker processes (spawned; one per core, at most ``REGION_WORKERS``) from the sweep's
   starting plan and applied in region order; a region's plan that no longer fits a ring
   option after the regions applied before it is left out. Sweeps with shifted borders
   repeat until ``STALE_SWEEPS`` in a row gain nothing or the time is spent. Then more
   bound rounds (or the bound computed beside), and the reduced full model as in 3 if it
   has become small enough; else sweeps again, and when they stop gaining with time left
   (models in students only), relocation (each open option's rows moved as one group to
   the option that serves them most cheaply, then every row assigned anew by MIP: where
   few options are open among many, their rows reach beyond any region) and the MIP over
   every row's ``WIDEN_PAIRS`` cheapest pairs to any option, the whole plan at once (twice
   the pairs each time it proves it holds nothing cheaper), then sweeps from its plan.
   Relocation also runs once before the first region sweep. Time the search leaves unused
   goes to more bound rounds from two starts, the greedy first plan's costs and the bound's
   own multipliers (the order depends on how far the bound is below the plan; the higher
   bound counts, see ``_Run.sharpen``); if the reduction by that bound is then small
   enough, the reduced model as in 3 gets the rest of the time. The bound reported is the
   Lagrangian bound of the full model (or 3's bound when 3 ran).

A plan is called ``"optimal"`` only when the reported bound and objective agree to a relative
1e-6 (with integer costs, a bound is first rounded up to an integer). Everything else is
``"feasible"`` with that honest bound and gap. The path is deterministic: iteration counts,
not the clock, end the numpy phases (the clock only caps them on very slow machines), and
the MIP solver runs with a fixed seed. A run that the time limit cuts short is the
exception: the matheuristic's regions stop on the clock, so at prefecture scale two runs
of the same input can end with slightly different plans (each with its own honest gap).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from typing import Any, cast

import numpy as np
import pandas as pd

from planning._errors import InfeasiblePlanError, SolverError
from planning._heuristic import (
    RowView,
    fill_to_p,
    greedy_open_set,
    greedy_plan,
    improve,
    open_close_search,
    pair_index,
    plan_cost,
    plan_fits,
    regions,
    relocated_open_set,
    row_view,
)
from planning._lagrangian import (
    Arrays,
    Bound,
    class_dp_possible,
    dp_is_small,
    lagrangian_bound,
    relaxable,
    to_arrays,
)
from planning.model import ModelInput, SolveResult, build_model, solve

logger = logging.getLogger(__name__)

BOUND_ITERATIONS = 400  # subgradient rounds with exact knapsacks in the bound phase
LP_PAIRS = 200_000  # up to this many pairs the linear relaxation starts the bound phase
BOUND_SHARE = 0.25  # of the time limit for the bound phase's subgradient rounds
REDUCED_ENOUGH = 15.0  # pairs per row: a reduction this small ends the bound phase's rounds
RELOCATE_FIRST_SHARE = 0.15  # no relaxation: relocation first, for this share of the time
RELOCATE_EXACT_SHARE = 0.3  # before the exact MIP, relocation until this share of the time
LP_NEAREST_MIN = 5  # above LP_PAIRS, each row's cheapest pairs (at least this many) stand in
EXACT_PAIRS = 60_000  # a reduced model up to this many pairs goes straight to the exact MIP
EXACT_PAIRS_CLASSES = 20_000  # the same with integer classes (much harder MIPs)
POLISH_PAIRS = 30_000  # after the matheuristic, the reduced model up to this size is solved
POLISH_SECONDS = 30.0  # time limit of the restricted MIP that improves the incumbent
BUILD_SECONDS_PER_PAIR = 5e-5  # about what building a model takes, to plan the time
REGION_OPTIONS = 10  # options re-optimised together (few, so that most region MIPs finish)
REGION_OPEN = 5  # ... but at least about this many open options (few open: more options)
REGION_OPTIONS_MAX = 60  # ... and at most this many
WIDEN_PAIRS = 10  # pairs per row of the whole-plan MIP once the regions stop gaining
SHARPEN_MIN_SECONDS = 10.0  # time left after the search that is worth more bound rounds
SHARPEN_MIN_GAIN = 1e-4  # ... which go on while a round raises the bound by this share of the plan
SHARPEN_FAR = 0.05  # a bound this far (share of the plan) below the plan steps towards the plan
RELOCATE_SECONDS = 30.0  # time limit of the MIP that assigns every row to a relocated open set
STALE_SWEEPS = 2  # sweeps in a row (each with other borders) that gain nothing end the search
REGION_SECONDS = 2.0  # time limit of one region's MIP (most of the gain comes early)
REGION_GAP = 0.002  # relative gap at which a region's MIP stops
RING_OPTIONS = 8  # open options around a region whose spare room its rows may also use
WINDOW_OPTIONS = 60  # options of one window (a large region planned afresh, see matheuristic)
WINDOW_SECONDS = 15.0  # time limit of one window's own optimisation
WINDOW_MIN_OPTIONS = 4 * WINDOW_OPTIONS  # models with fewer options get no window sweep
BOUND_BESIDE_SHARE = 0.45  # bound rounds beside the first phase end at this share of the time
BOUND_BESIDE_MIN_SECONDS = 20.0  # ... if that leaves them at least this long, else here
RING_PREFIX = "\x1fring:"  # village_id of the rows that stand for a ring option's own load
KNOWN_FIELDS = {"demand", "options", "pairs", "class_size", "p", "budget", "min_size_penalty"}


def optimize(
    data: ModelInput,
    *,
    solver: str = "highs",
    time_limit_s: float = 300.0,
    mip_gap: float = 0.0,
    threads: int | None = None,
) -> SolveResult:
    """Find the best plan for ``data`` within ``time_limit_s`` seconds (see the module doc).

    Parameters
    ----------
    data
        The model instance (as for :func:`planning.model.build_model`).
    solver
        ``"highs"`` (default) or ``"cbc"`` for the MIPs.
    time_limit_s
        Wall-clock limit for the whole optimisation, seconds.
    mip_gap
        Relative gap at which the MIP may stop (0: prove optimality).
    threads
        Solver threads (None: the solver's default).

    Returns
    -------
    SolveResult
        ``stats`` adds ``strategy`` (``"exact"``, ``"matheuristic"`` or ``"mip"``),
        ``lagrangian_bound``, ``heuristic_objective``, ``pairs`` and ``pairs_kept``.

    Raises
    ------
    InfeasiblePlanError
        If no plan meets the rules (a demand row with no option at all, or proven by the solver).
    SolverError
        If the time ran out before any plan was found.
    """
    return _Run(data, solver, time_limit_s, mip_gap, threads).run()


def _supported(data: ModelInput) -> bool:
    """Whether the relaxation understands every field of ``data`` (else: the plain MIP)."""
    if data.demand.empty or data.pairs.empty:
        return False
    if data.budget is not None and "capex" in data.pairs and (data.pairs["capex"] > 0).any():
        return False  # the relaxation counts only building and expansion against the budget
    for f in dataclasses.fields(data):
        if f.name not in KNOWN_FIELDS and getattr(data, f.name) is not f.default:
            return False  # every other field defaults to None
    return relaxable(data)


class _Run:
    """One optimisation: the clock, the incumbent and the phases."""

    def __init__(
        self,
        data: ModelInput,
        solver: str,
        time_limit_s: float,
        mip_gap: float,
        threads: int | None,
        *,
        log_level: int = logging.INFO,
    ) -> None:
        self.data, self.solver, self.mip_gap, self.threads = data, solver, mip_gap, threads
        self.log_level = log_level  # of the progress lines (a window's run: debug only)
        self.start = time.perf_counter()
        self.limit = time_limit_s
        self.build_seconds = 0.0
        self.stats: dict[str, Any] = {}
        self.interrupted = False  # Ctrl-C stopped a MIP: no further search, best plan kept
        self.lp_bound = -math.inf  # bound of the linear relaxation, when it was solved
        self.pool: _RegionSolver | None = None  # worker processes, started when first needed
        self.stale = (0, math.nan)  # region sweeps in a row that gained nothing, at this cost
        self.first_plan: np.ndarray | None = None  # the greedy plan (restarts sharpen's rounds)
        self.exits = contextlib.ExitStack()  # ... and stopped when the run ends

    def left(self) -> float:
        return self.limit - (time.perf_counter() - self.start)

    def run(self) -> SolveResult:
        with self.exits:
            return self.optimize() if _supported(self.data) else self.plain()

    def region_pool(self, workers: int) -> _RegionSolver:
        """The run's worker processes (``workers`` of them if this call starts them)."""
        if self.pool is None:
            self.pool = self.exits.enter_context(_RegionSolver(workers))
        return self.pool

    def plain(self) -> SolveResult:
        """The full MIP as it is (fields the relaxation does not know)."""
        result = self.mip(self.data, None, self.left())
        self.stats["strategy"] = "mip"
        return self.finish(result, result.bound)

    def optimize(self) -> SolveResult:
        arr = to_arrays(self.data)
        view = row_view(arr)
        best = _Incumbent(arr, view)
        bound = self.bound_phase(arr, best)
        if isinstance(bound, _PendingBound):  # computed beside the matheuristic's first phase
            self.stats.update(heuristic_objective=best.cost, pairs=len(arr.pk))
            self.stats["strategy"] = "matheuristic"
            return self.matheuristic(arr, bound, best, best.cost, -math.inf)
        ub = self.trusted_upper(arr, best)
        lower = _round_up(arr, max(bound.value, self.lp_bound))
        self.note_bound(bound, ub)
        self.stats.update(heuristic_objective=None if ub is None else ub, pairs=len(arr.pk))
        if ub is not None and _meets(lower, ub):
            self.stats["strategy"] = "bound"
            return self.finish(self.certify(arr, best.plan), lower)
        keep, closed = _reduction(arr, bound, ub)
        small = _exact_size(arr)
        if keep.sum() <= small and arr.exact and not _meets(lower, best.cost):
            ub = self.polish(arr, bound, best, ub)
            if self.relocate(arr, best, self.start + RELOCATE_EXACT_SHARE * self.limit):
                ub = best.cost
            if ub is not None and _meets(lower, ub):
                self.stats["strategy"] = "bound"
                return self.finish(self.certify(arr, best.plan), lower)
            keep, closed = _reduction(arr, bound, ub)
        self.note_reduction(keep, closed)
        if keep.sum() > small:
            self.stats["strategy"] = "matheuristic"
            return self.matheuristic(arr, bound, best, ub, lower)
        self.stats["strategy"] = "exact"
        return self.exact(arr, best, ub, lower, keep, closed)

    # ---------------------------------------------------------------- phases

    def bound_phase(self, arr: Arrays, best: _Incumbent) -> Bound | _PendingBound:
        """Incumbent from the greedy open set, then the Lagrangian bound with its heuristic.

        When the model is small enough, its linear relaxation is solved first: its bound
        counts, its open values seed a plan, and its duals on the assignment rows start the
        subgradient close to the optimum, so short steps suffice. Linear knapsacks first
        (cheap; the bound of the linear relaxation); exact knapsacks then, when affordable
        (CPMP-like models from the start, models with classes for a few rounds from the
        linear multipliers: integer classes and indivisible villages). Models in classes too
        large for the exact MIP take exact knapsacks from the relaxation's duals at once;
        above ``LP_PAIRS`` pairs, those rounds run in a worker process beside the
        matheuristic's first phase (a pending bound, see ``bound_beside``).
        """
        first = greedy_open_set(arr)
        if first is not None:
            best.from_open_set(first, None)
            self.first_plan = None if best.plan is None else best.plan.copy()
        exact = dp_is_small(arr)
        start = self.relaxation(arr, best)
        bound_until = self.start + BOUND_SHARE * self.limit
        # no relaxation to start from: the incumbent's costs start the multipliers and its
        # cost is the steps' target, so first make it good (doni4: greedy 16,837, relocated
        # 10,452); the bound rounds keep their share of the time after it
        if start is None and self.relocate(
            arr, best, self.start + RELOCATE_FIRST_SHARE * self.limit
        ):
            bound_until = time.perf_counter() + BOUND_SHARE * self.limit
        # large models in classes: exact class knapsacks straight from the relaxation's
        # duals, where linear rounds add little (10,000 x 1,000: 0.03% in 75 s)
        classes = start is not None and class_dp_possible(arr) and len(arr.pk) > EXACT_PAIRS_CLASSES
        if classes and start is not None and self.bound_aside(arr, best):
            return self.bound_beside(arr, best, start)
        lam, (theta, reach) = (
            (_initial_multipliers(arr, best.plan), (1.0, 0.0))
            if start is None
            else (start, (0.2, 0.005 if classes else 0.002))
        )
        bound = lagrangian_bound(
            arr,
            lam,
            upper=best.cost if best.plan is not None else None,
            iterations=BOUND_ITERATIONS if exact or classes else 300,
            exact=exact or classes,
            find_plan=best.from_open_set if arr.exact else None,
            plan_every=25,
            deadline=bound_until,
            theta=theta,
            reach=reach,
            enough=self.small_reduction(arr, best),
        )
        if not exact and class_dp_possible(arr) and len(arr.pk) <= EXACT_PAIRS_CLASSES:
            bound = self.class_bound(arr, best, bound, self.start + 0.4 * self.limit)
        return bound

    def small_reduction(self, arr: Arrays, best: _Incumbent) -> Callable[[Bound], bool] | None:
        """For models the exact MIP takes, the test that ends the bound phase's rounds: the
        bound leaves at most ``REDUCED_ENOUGH`` pairs per row that can beat the incumbent,
        so the MIP on them is quick and more rounds would only cost time (on small models,
        most of it). None for other models, which take the phase's full bound."""
        if not arr.exact or len(arr.pk) > _exact_size(arr):
            return None

        def enough(bound: Bound) -> bool:
            keep, _ = _reduction(arr, bound, best.cost)
            return bool(keep.sum() <= REDUCED_ENOUGH * arr.n_rows)

        return enough

    def note_bound(self, bound: Bound, ub: float | None) -> None:
        """Log the Lagrangian bound with the plan so far, and keep it in the stats."""
        logger.log(
            self.log_level,
            "bound %.6g after %d iterations, plan %.6g, %.1f s",
            bound.value,
            bound.iterations,
            math.inf if ub is None else ub,
            time.perf_counter() - self.start,
        )
        self.stats.update(lagrangian_bound=bound.value, lagrangian_iterations=bound.iterations)

    def bound_aside(self, arr: Arrays, best: _Incumbent) -> bool:
        """Whether the bound rounds go to a worker process: a model so large that the
        matheuristic is certain (the relaxation was the nearest pairs' stand-in), a plan to
        start it from (checked by the solver when the arrays do not hold every rule), and a
        second core. Each round takes about a second at 10,000 x 1,000, and the bound keeps
        rising for hundreds of rounds (700,560 after 100, 700,926 after 250), while the
        sweeps would run on one core only until the rounds end.
        """
        return (
            len(arr.pk) > LP_PAIRS
            and best.plan is not None
            and self.data.budget is None
            and _region_workers(self.threads) > 1
            and BOUND_BESIDE_SHARE * self.limit - (time.perf_counter() - self.start)
            > BOUND_BESIDE_MIN_SECONDS
            and self.trusted_upper(arr, best) is not None  # last: it may call the solver
        )

    def bound_beside(self, arr: Arrays, best: _Incumbent, lam: np.ndarray) -> _PendingBound:
        """Start the exact class rounds from ``lam`` in a worker process."""
        until = self.start + BOUND_BESIDE_SHARE * self.limit
        job = _BoundJob(
            _without_tables(arr),
            lam,
            best.cost,
            BOUND_ITERATIONS,
            time.time() + (until - time.perf_counter()),
        )
        pool = self.region_pool(_region_workers(self.threads))
        logger.log(
            self.log_level,
            "first plan %.6g after %.1f s; the lower bound is computed alongside until %.0f s",
            best.cost,
            time.perf_counter() - self.start,
            until - self.start,
        )
        return _PendingBound(pool.submit(job), job)

    def collect(self, pending: _PendingBound, best: _Incumbent) -> Bound:
        """The bound computed beside the first phase (waits for it; at once on Ctrl-C). If
        its process failed, its rounds here instead (5% of the time; one after Ctrl-C), and
        the regions go on in this process."""
        assert self.pool is not None
        try:
            bound = self.wait_for(pending.future)
        except Exception as exc:  # the worker died (or its job failed)
            logger.warning(
                "the process computing the lower bound stopped (%r); it is computed here "
                "instead, for a shorter time",
                exc,
            )
            self.pool.discard()
            bound = dataclasses.replace(
                pending.job,
                iterations=1 if self.interrupted else pending.job.iterations,
                deadline=time.time() + 0.05 * self.limit,
            )()
        self.note_bound(bound, best.cost)
        return bound

    def wait_for(self, future: Future[Bound]) -> Bound:
        """``future``'s result; Ctrl-C (before or while waiting) asks the job to end now."""
        assert self.pool is not None
        while True:
            if self.interrupted:
                self.pool.stop_jobs()
            try:
                return future.result()
            except KeyboardInterrupt:  # the plan so far is kept, with the rounds so far
                self.interrupted = True

    def relaxation(self, arr: Arrays, best: _Incumbent) -> np.ndarray | None:
        """Solve the linear relaxation: its bound (``self.lp_bound``), a plan from its open
        options, and its duals of the assignment rows (returned; None if it failed).

        Above ``LP_PAIRS`` pairs in classes, the relaxation of each row's cheapest pairs (about
        ``LP_PAIRS`` in all, plus the incumbent's, so that it has a solution) stands in:
        no bound, but its duals and open values are close to the full relaxation's at a
        fraction of the time (10,000 x 1,000 prefecture: 699,085 against 698,984 in 62 s
        instead of 276 s).
        """
        keep = _nearest_pairs(arr, best, LP_PAIRS // max(arr.n_rows, 1))
        if keep is None:
            return None
        full = bool(keep.all())
        data = self.data if full else _restricted(arr, keep, np.zeros(arr.n_options, dtype=bool))
        try:
            model = build_model(data)
            self.build_seconds += model.seconds
            result = solve(model, time_limit_s=max(1.0, 0.2 * self.left()), relax=True)
        except (InfeasiblePlanError, SolverError):
            return None
        if full:
            self.lp_bound = result.objective
            self.stats["lp_bound"] = result.objective
        else:
            self.stats["lp_nearest_pairs"] = int(keep.sum())
        duals = result.stats["row_duals"]
        lam = np.array([duals.get(key, 0.0) for key in arr.rows])
        y = np.array([result.stats["open_values"].get(j, 0.0) for j in arr.option_ids])
        if arr.exact:
            a = result.assignment
            seed = np.zeros(len(arr.pk), dtype=bool)
            seed[best.pairs_of(a[a["value"] >= 0.5])] = True
            for opened, with_seed in _relaxation_open_sets(arr, y):
                best.from_open_set(opened, -y, seed if with_seed else None)
        return lam

    def class_bound(self, arr: Arrays, best: _Incumbent, bound: Bound, until: float) -> Bound:
        """More subgradient rounds with exact knapsacks in classes, from ``bound``'s multipliers."""
        sharper = lagrangian_bound(
            arr,
            bound.lam,
            upper=best.cost if best.plan is not None else None,
            iterations=40,
            exact=True,
            find_plan=best.from_open_set if arr.exact else None,
            plan_every=10,
            deadline=until,
            theta=0.2,
            reach=0.005,
        )
        return sharper if sharper.value > bound.value else bound

    def polish(self, arr: Arrays, bound: Bound, best: _Incumbent, ub: float | None) -> float | None:
        """A quick MIP over the options the relaxation kept opening and each row's cheapest
        pairs by reduced cost: a better incumbent, hence a stronger reduction."""
        result = self.neighbourhood_mip(
            arr, bound, best, 8, min(0.15 * self.left(), POLISH_SECONDS), math.inf
        )
        if result is None:
            return ub
        self.stats["polish_objective"] = result.objective
        if ub is None or result.objective < ub - 1e-9 * max(1.0, abs(ub)):
            best.adopt(result)
            return result.objective
        return ub

    def neighbourhood_mip(
        self,
        arr: Arrays,
        bound: Bound,
        best: _Incumbent,
        per_row: int,
        seconds: float,
        max_pairs: float,
        *,
        every_option: bool = False,
    ) -> SolveResult | None:
        """The MIP over each row's ``per_row`` cheapest pairs by reduced cost to the options
        the relaxation kept opening and the incumbent's (``every_option``: to any option),
        warm-started; None if there is no such model (too few options, more than
        ``max_pairs`` pairs) or no plan in time."""
        if every_option:
            keep = _neighbourhood(arr, bound, best, per_row, np.ones(arr.n_options, dtype=bool))
            closed = (np.bincount(arr.pj[keep], minlength=arr.n_options) == 0) & ~arr.forced_open
        else:
            keep = _neighbourhood(arr, bound, best, per_row=per_row)
            closed = ~_candidate_options(arr, bound, best)
        if arr.p is not None and (~closed).sum() < arr.p:
            return None
        keep &= ~closed[arr.pj]
        if keep.sum() > max_pairs:
            return None
        try:
            return self.mip(
                _restricted(arr, keep, closed),
                best.table_or_none(),
                seconds,
                options={"mip_rel_gap": 1e-6},
            )
        except (InfeasiblePlanError, SolverError):
            return None

    def trusted_upper(self, arr: Arrays, best: _Incumbent) -> float | None:
        """The incumbent's cost if it is a plan of the full model (checked by the solver)."""
        if best.plan is None:
            return None
        if arr.exact:
            return best.cost
        try:
            result = self.certify(arr, best.plan)
        except (InfeasiblePlanError, SolverError):
            best.plan = None
            return None
        best.cost = result.objective
        return result.objective

    def exact(
        self,
        arr: Arrays,
        best: _Incumbent,
        ub: float | None,
        lower: float,
        keep: np.ndarray,
        closed: np.ndarray,
    ) -> SolveResult:
        """The reduced model by MIP, warm-started; combine its bound with the Lagrangian one."""
        reduced = _restricted(arr, keep, closed)
        warm = best.table() if best.plan is not None and keep[best.plan].all() else None
        try:
            result = self.mip(reduced, warm, self.left())
        except InfeasiblePlanError:
            if ub is None:
                raise
            return self.finish(self.certify(arr, best.plan), ub)  # nothing better exists
        except SolverError:
            if ub is None:
                raise
            return self.finish(self.certify(arr, best.plan), lower)
        bound = _combined_bound(arr, lower, result, ub)
        if ub is not None and result.objective > ub + 1e-9:
            result = self.certify(arr, best.plan)  # the incumbent stays the best plan
        return self.finish(result, bound)

    def matheuristic(
        self,
        arr: Arrays,
        bound: Bound | _PendingBound,
        best: _Incumbent,
        ub: float | None,
        lower: float,
    ) -> SolveResult:
        """Fix-and-optimise over regions from the incumbent, more bound rounds (or the
        bound computed beside this first phase), then the reduced model if it has shrunk
        enough, else regions again until the time is spent."""
        if best.plan is None or self.data.budget is not None:
            assert isinstance(bound, Bound)  # a pending bound needs a plan and no budget
            return self.restricted_then_full(arr, bound, best, lower)
        first = self.start + 0.65 * self.limit
        workers = _region_workers(self.threads) if first - time.perf_counter() > 20 else 1
        pool = self.region_pool(workers)
        self.stats.update(region_sweeps=0, region_workers=pool.workers)
        if arr.n_options >= WINDOW_MIN_OPTIONS and arr.p is None:
            self.window_sweep(arr, best, first, pool)
        self.relocate(arr, best, first)
        self.improve_by_regions(arr, best, first, pool)
        if isinstance(bound, _PendingBound):
            bound = self.collect(bound, best)
            lower = _round_up(arr, bound.value)
        elif class_dp_possible(arr) and not self.interrupted:
            bound = self.class_bound(arr, best, bound, self.start + 0.85 * self.limit)
            lower = max(lower, _round_up(arr, bound.value))
            self.stats["lagrangian_bound"] = bound.value
        if self.interrupted:
            return self.finish(self.certify(arr, best.plan), lower)
        ub = best.cost
        keep, closed = _reduction(arr, bound, ub)
        self.note_reduction(keep, closed)
        if self.exact_fits(keep):
            self.stats["strategy"] = "matheuristic+exact"
            return self.exact(arr, best, ub, lower, keep, closed)
        # to read the plan back (certify: a model of one pair per row) in time
        reserve = 5.0 + 0.01 * self.limit + 2 * BUILD_SECONDS_PER_PAIR * arr.n_rows
        end = self.start + self.limit - reserve
        self.improve_by_regions(arr, best, end, pool)
        while self.relocate(arr, best, end) or self.widen(arr, bound, best, end):
            self.improve_by_regions(arr, best, end, pool)
        sharper = self.sharper(arr, bound, best, end)
        if sharper is None:
            return self.finish(self.certify(arr, best.plan), lower)
        lower = max(lower, _round_up(arr, sharper.value))
        # the search and the rounds have stopped with time left: the reduced model by the
        # sharper bound, if small, gets the rest (a MIP over every pair that may still gain)
        keep, closed = _reduction(arr, sharper, best.cost)
        self.note_reduction(keep, closed)
        if self.exact_fits(keep) and not _meets(lower, best.cost) and not self.interrupted:
            self.stats["strategy"] = "matheuristic+exact"
            return self.exact(arr, best, best.cost, lower, keep, closed)
        return self.finish(self.certify(arr, best.plan), lower)

    def note_reduction(self, keep: np.ndarray, closed: np.ndarray) -> None:
        """Log the reduction's size and keep it in the stats (the last reduction counts)."""
        self.stats.update(pairs_kept=int(keep.sum()), options_closed=int(closed.sum()))
        logger.log(self.log_level, "reduction keeps %d of %d pairs", keep.sum(), len(keep))

    def exact_fits(self, keep: np.ndarray) -> bool:
        """Whether the matheuristic's reduced model is small enough for the exact MIP in the
        time left."""
        room = max(0.1 * self.limit, 4 * BUILD_SECONDS_PER_PAIR * keep.sum())
        return bool(keep.sum() <= POLISH_PAIRS) and self.left() > room

    def sharpen(self, arr: Arrays, bound: Bound, best: _Incumbent, until: float) -> float:
        """More bound rounds in the time that the search left unused when it stopped
        gaining: the plan stays, its bound and gap improve. The new bound rounded up (-inf if
        none was found; ``sharper`` returns it whole, for a reduction).

        Two starts, each followed by rounds of ``BOUND_ITERATIONS`` while a round raises the
        bound by more than ``SHARPEN_MIN_GAIN`` of the plan's cost and there is time: the greedy
        first plan's costs, aimed at its cost (``theta`` 1, long steps), and ``bound``'s own
        multipliers, each step aimed a little above the best bound so far (or at the plan's
        cost in a round that starts more than ``SHARPEN_FAR`` below the plan). Near the plan
        the first plan's start goes first, and the other follows only if it did not get above
        ``bound``: the bound phase's multipliers tend to sit on a plateau of the subgradient
        (measured, ``benchmarks/README.md``, sessions 18 and 19, 300 s: doni1's and doni2's
        bounds in 56 s and 207 s instead of 89 s and 296 s, doni3 7,929 where the other order
        was at 7,901 when the time ran out). Far below it, the bound phase had few rounds and
        its own start, stepping towards the plan, goes first (doni4: 8,615 -> 9,471 in the
        last 35 s, where the first plan's start reached 7,252); the higher bound counts.
        """
        sharper = self.sharper(arr, bound, best, until)
        return -math.inf if sharper is None else _round_up(arr, sharper.value)

    def sharper(self, arr: Arrays, bound: Bound, best: _Incumbent, until: float) -> Bound | None:
        """Sharpen's rounds: the best bound they found above ``bound`` (with its multipliers
        and pair bounds, for a reduction), or None."""
        exact = dp_is_small(arr) or class_dp_possible(arr)
        first = self.first_plan
        own = (bound.lam, bound.value, None)
        restart = (
            None
            if first is None
            else (_initial_multipliers(arr, first), -math.inf, plan_cost(arr, first))
        )
        # far below the plan, the bound phase had few rounds: its own multipliers, with steps
        # towards the plan, go first; near it, they sit on a plateau: the first plan's go first
        far = best.cost - bound.value > SHARPEN_FAR * abs(best.cost)
        found, rounds = None, 0
        for lam, value, aim in [s for s in ((own, restart) if far else (restart, own)) if s]:
            if self.interrupted or (not far and found is not None and found.value > bound.value):
                break
            more_found, more = self.more_rounds(arr, lam, value, aim, best, until, exact)
            rounds += more
            if more_found is not None and (found is None or more_found.value > found.value):
                found = more_found
        if found is None or found.value <= bound.value:
            return None
        self.stats.update(lagrangian_bound=found.value, sharpen_iterations=rounds)
        return found

    def more_rounds(
        self,
        arr: Arrays,
        lam: np.ndarray,
        value: float,
        aim: float | None,
        best: _Incumbent,
        until: float,
        exact: bool,
    ) -> tuple[Bound | None, int]:
        """Sharpen's rounds from ``lam`` (whose bound is ``value``) while they gain and there
        is time: the best bound above ``value`` (None if none) and the iterations run. With
        ``aim``, the first round's steps go towards it at full length (``theta`` 1)."""
        rounds, found = 0, None
        while not self.interrupted and until - time.perf_counter() >= SHARPEN_MIN_SECONDS:
            far = best.cost - value > SHARPEN_FAR * abs(best.cost)
            try:
                more = lagrangian_bound(
                    arr,
                    lam,
                    upper=best.cost if aim is None else aim,
                    iterations=BOUND_ITERATIONS,
                    exact=exact,
                    deadline=until,
                    theta=0.2 if aim is None else 1.0,
                    reach=0.0 if far or aim is not None else 0.002,
                )
            except KeyboardInterrupt:
                self.interrupted = True
                break
            rounds += more.iterations
            logger.log(
                self.log_level,
                "time left after the search: lower bound %.6g after %d more iterations%s; "
                "plan cost %.6g",
                more.value,
                rounds,
                f" (was {value:.6g})" if aim is None else " from the first plan's costs",
                best.cost,
            )
            gain, aim = more.value - value, None
            if gain > 0:
                value, lam, found = more.value, more.lam, more
            if gain <= SHARPEN_MIN_GAIN * max(1.0, abs(best.cost)):
                break
        return found, rounds

    def relocate(self, arr: Arrays, best: _Incumbent, until: float) -> bool:
        """Location-allocation from the incumbent: move each open option's rows as one group
        to the option that serves them most cheaply (``relocated_open_set``), assign every
        row anew to the moved open set by MIP, and repeat while that is cheaper. Whether
        the plan got cheaper.

        Models in students only that the arrays state whole. Where few options are open
        among many (Lorena-Senne's doni1: 1,000 nodes, p = 6) each open option's rows reach
        far beyond a region, so the region MIPs cannot move it; there this took the plan from
        3,168.4 to 2,979.2 in 1.5 s (bound 2,962.7), where region sweeps had found nothing.
        """
        if arr.class_size is not None or not arr.exact or best.plan is None:
            return False
        before = best.cost
        while not self.interrupted and until - time.perf_counter() > 5.0:
            found = relocated_open_set(arr, best.plan)
            if found is None:
                break
            moved, plan = found
            if arr.p is not None:
                filled = fill_to_p(arr, moved)  # p open, though a plan may use fewer
                if filled is None:
                    break
                moved = filled
            keep = np.zeros(len(arr.pk), dtype=bool)
            per_row = max(WIDEN_PAIRS, POLISH_PAIRS // arr.n_rows)
            keep[best.view.cheapest(per_row, among=moved[arr.pj])] = True
            keep[plan] = True  # the moved plan, the MIP's warm start
            try:
                result = self.mip(
                    _restricted(arr, keep, ~moved),
                    _plan_table(arr, plan),
                    min(RELOCATE_SECONDS, until - time.perf_counter()),
                    options={"mip_rel_gap": 1e-6},
                )
            except (InfeasiblePlanError, SolverError):
                break
            logger.log(
                self.log_level,
                "%d open schools or sites moved to where their villages are served more "
                "cheaply, villages re-assigned (%s): plan cost %.6g (was %.6g)",
                len(np.setdiff1d(np.flatnonzero(moved), arr.pj[best.plan])),
                result.status,
                result.objective,
                best.cost,
            )
            if result.objective >= best.cost - 1e-6 * max(1.0, abs(best.cost)):
                break
            best.adopt(result)
        if best.cost < before:
            self.stats["relocate_objective"] = best.cost
            return True
        return False

    def widen(self, arr: Arrays, bound: Bound, best: _Incumbent, until: float) -> bool:
        """When the regions have stopped gaining with time left: the MIP over every row's
        cheapest pairs to any option (the whole plan at once, across region borders) with
        half the time left; twice as many pairs per row each time it proves that its
        neighbourhood holds nothing cheaper. Whether it found a cheaper plan.

        Models in students only: with integer classes such MIPs find nothing in minutes.
        """
        if arr.class_size is not None or best.plan is None:
            return False
        per_row = WIDEN_PAIRS
        while not self.interrupted and until - time.perf_counter() > 10.0:
            before = best.cost
            seconds = 0.5 * (until - time.perf_counter())
            result = self.neighbourhood_mip(
                arr, bound, best, per_row, seconds, POLISH_PAIRS, every_option=True
            )
            if result is None:
                return False
            logger.log(
                self.log_level,
                "MIP over each row's %d cheapest pairs: %s, plan %.6g",
                per_row,
                result.status,
                result.objective,
            )
            if result.objective < before - 1e-6 * max(1.0, abs(before)):
                best.adopt(result)
                self.stats["widen_objective"] = best.cost
                return True
            if result.status != "optimal":
                return False
            per_row *= 2
        return False

    def restricted_then_full(
        self, arr: Arrays, bound: Bound, best: _Incumbent, lower: float
    ) -> SolveResult:
        """Without a heuristic plan: a MIP over the relaxation's options and each row's
        cheapest pairs; if that has no plan, the full model with the time left."""
        keep = _neighbourhood(arr, bound, best)
        closed = ~_candidate_options(arr, bound, best)
        try:
            result = self.mip(_restricted(arr, keep, closed), best.table_or_none(), self.left() / 2)
        except (InfeasiblePlanError, SolverError):
            if self.interrupted:
                raise KeyboardInterrupt from None  # stopped before any plan
            result = self.mip(self.data, None, self.left())
            return self.finish(result, max(lower, result.bound or -math.inf))
        return self.finish(result, lower)

    def improve_by_regions(
        self, arr: Arrays, best: _Incumbent, until: float, pool: _RegionSolver
    ) -> None:
        """Re-solve the options of one region and the rows they serve by MIP, the rest fixed;
        sweep over regions (borders moving between sweeps) until ``STALE_SWEEPS`` in a row
        gain nothing (counted across calls while the plan stays the same).

        The regions of one sweep share no option and no row, so each is solved from the
        sweep's starting plan, in worker processes when there are spare cores, and their
        results are applied in region order: the same plan as one region after the other.
        """
        assert best.plan is not None
        size = _region_size(arr.n_options, len(np.unique(arr.pj[best.plan])))
        stale = self.stale[0] if self.stale[1] == best.cost else 0
        while stale < STALE_SWEEPS and until - time.perf_counter() > 1.0 and not self.interrupted:
            sweeps = self.stats["region_sweeps"]
            gained = self.region_sweep(
                arr, best, regions(arr, size, offset=sweeps * 7, view=best.view), until, pool
            )
            self.stats["region_sweeps"] = sweeps + 1
            logger.log(
                self.log_level,
                "region sweep %d (%d options): plan %.6g",
                sweeps + 1,
                size,
                best.cost,
            )
            stale = stale + 1 if gained <= 1e-6 * abs(best.cost) else 0
            self.stale = (stale, best.cost)

    def window_sweep(
        self, arr: Arrays, best: _Incumbent, until: float, pool: _RegionSolver
    ) -> None:
        """Plan each window of ``WINDOW_OPTIONS`` neighbouring options and the rows they serve
        afresh (relaxation, bound and regions of its own, everything else fixed), once.

        Region sweeps only improve the plan they start from, and at prefecture scale the
        first plan is poor (10,000 x 1,000: 3.1% above the bound); a window planned from
        its own relaxation lands in a better place (722,683 -> 715,023-715,284 after 22
        windows of 15 s; final gap 1.44-1.64% against 1.88-1.96%). Not for models with ``p``:
        on CPMP instances of 300 and 402 nodes the windows (about five medians each) cost the
        region sweeps' time for mixed results (gap 2.54% -> 2.20% and 1.18% -> 1.98%).
        """
        groups = regions(arr, WINDOW_OPTIONS, view=best.view)
        before = best.cost
        self.region_sweep(arr, best, groups, until, pool, windows=True)
        self.stats["window_objective"] = best.cost
        logger.log(
            self.log_level,
            "window sweep (%d windows): plan %.6g -> %.6g",
            len(groups),
            before,
            best.cost,
        )

    def region_sweep(
        self,
        arr: Arrays,
        best: _Incumbent,
        groups: list[np.ndarray],
        until: float,
        pool: _RegionSolver,
        *,
        windows: bool = False,
    ) -> float:
        """One sweep over ``groups`` from the current incumbent; returns the cost saved.
        ``windows``: each group is planned by its own optimisation (no ring) instead of
        one MIP."""
        assert best.plan is not None
        table = best.table()
        ring = RING_OPTIONS if _ring_allowed(arr) and not windows else 0
        rows_of, work = [], []
        for region in groups:
            sub, rows, held = _region_model(arr, best.plan, region, ring)
            if sub is not None:
                rows_of.append(rows)
                work.append((sub, pd.concat([table.iloc[rows], held], ignore_index=True)))
        deadline = time.time() + (until - time.perf_counter())  # wall clock: shared by processes
        job: _RegionJob | _WindowJob = (
            _WindowJob(self.solver, deadline, WINDOW_SECONDS)
            if windows
            else _RegionJob(self.solver, self.threads, deadline, REGION_SECONDS, REGION_GAP)
        )
        saved = 0.0
        try:
            for rows, result in zip(rows_of, pool.run(job, work), strict=False):
                if result is None:
                    continue
                if result.status == "interrupted":
                    self.interrupted = True
                self.build_seconds += result.build_seconds
                saved += self.take_region(arr, best, rows, result, check=ring > 0)
                if self.interrupted:
                    break
        except KeyboardInterrupt:
            self.interrupted = True  # the best plan so far is kept
        return saved

    def take_region(
        self,
        arr: Arrays,
        best: _Incumbent,
        rows: np.ndarray,
        result: SolveResult,
        *,
        check: bool = False,
    ) -> float:
        """Put one region's plan into the incumbent if it is cheaper; returns the cost saved.

        With ``check`` (regions with rings, which may share ring options with the regions
        applied before), the plan must also still fit every option's room.
        """
        assert best.plan is not None
        plan = best.plan.copy()
        a = result.assignment
        a = a[~a["village_id"].astype(str).str.startswith(RING_PREFIX)]
        pairs = best.pairs_of(a)
        plan[arr.pk[pairs]] = pairs  # each pair in its own row (the solver's order may differ)
        cost = plan_cost(arr, plan) if not check or plan_fits(arr, plan) else math.inf
        logger.debug(
            "region of %d rows: %s in %.1f s, gap %s, plan %.6g -> %.6g",
            len(rows),
            result.status,
            result.seconds,
            result.gap,
            best.cost,
            cost,
        )
        if cost < best.cost - 1e-9 * max(1.0, abs(best.cost)):
            saved = best.cost - cost
            best.plan, best.cost = plan, cost
            return saved
        return 0.0

    # ---------------------------------------------------------------- solver calls

    def mip(
        self,
        data: ModelInput,
        warm: pd.DataFrame | None,
        seconds: float,
        options: dict[str, Any] | None = None,
        *,
        certify: bool = False,
    ) -> SolveResult:
        if self.interrupted and not certify:
            raise SolverError("interrupted (Ctrl-C): no further search")
        result = _build_and_solve(
            data, self.solver, seconds, self.threads, self.mip_gap, warm, options
        )
        self.build_seconds += result.build_seconds
        if result.status == "interrupted":
            self.interrupted = True
        return result

    def certify(self, arr: Arrays, plan: np.ndarray | None) -> SolveResult:
        """Let the solver read back a plan (classes, expansions, exact objective)."""
        assert plan is not None
        only = np.zeros(len(arr.pk), dtype=bool)
        only[plan] = True
        data = _restricted(arr, only, np.zeros(arr.n_options, dtype=bool))
        return self.mip(data, None, max(self.left(), 10.0), certify=True)

    def finish(self, result: SolveResult, bound: float | None) -> SolveResult:
        """Final status, bound and gap of the full model."""
        seconds = time.perf_counter() - self.start
        if bound is None:
            status = result.status
            gap = result.gap
        else:
            if bound > result.objective + 1e-6 * max(1.0, abs(result.objective)):
                logger.warning("bound %.9g above the plan's cost %.9g", bound, result.objective)
            bound = min(bound, result.objective)
            gap = max(0.0, result.objective - bound) / max(abs(result.objective), 1e-9)
            status = "optimal" if gap <= 1e-6 else "feasible"
        if self.interrupted and status != "optimal":
            status = "interrupted"
        stats = {**result.stats, **self.stats}
        return dataclasses.replace(
            result,
            status=status,
            bound=bound,
            gap=gap,
            seconds=seconds,
            build_seconds=self.build_seconds,
            stats=stats,
        )


class _Incumbent:
    """The best plan found by the heuristics (pair index per demand row) and its cost."""

    def __init__(self, arr: Arrays, view: RowView) -> None:
        self.arr, self.view = arr, view
        self.plan: np.ndarray | None = None
        self.cost = math.inf

    def from_open_set(
        self, is_open: np.ndarray, v: np.ndarray | None, seed: np.ndarray | None = None
    ) -> float | None:
        """Greedy plan on an open set (grown by value ``v`` if it lacks room), improved."""
        arr = self.arr
        plan = greedy_plan(arr, self.view, is_open, seed)
        if plan is None and arr.p is None and v is not None:
            plan = self._grow(is_open, v)
        if plan is None:
            return None
        plan = improve(arr, self.view, plan)
        if arr.p is None:
            plan = improve(arr, self.view, open_close_search(arr, self.view, plan))
        cost = plan_cost(arr, plan)
        if cost < self.cost - 1e-9:
            self.plan, self.cost = plan, cost
        return cost if math.isfinite(cost) else None

    def _grow(self, is_open: np.ndarray, v: np.ndarray) -> np.ndarray | None:
        arr = self.arr
        ranked = [
            int(j) for j in np.argsort(v, kind="stable") if not is_open[j] and np.isfinite(v[j])
        ]
        step = max(1, len(ranked) // 20)
        grown = is_open.copy()
        for t in range(0, len(ranked), step):
            for j in ranked[t : t + step]:
                if not grown[arr.site == arr.site[j]].any():
                    grown[j] = True
            plan = greedy_plan(arr, self.view, grown)
            if plan is not None:
                return plan
        return None

    def pairs_of(self, assignment: pd.DataFrame) -> np.ndarray:
        """Pair indices of an assignment table's rows (in its order)."""
        arr = self.arr
        k = arr.rows.get_indexer(pd.MultiIndex.from_frame(assignment[["village_id", "level"]]))
        j = arr.option_ids.get_indexer(assignment["option_id"])
        return pair_index(arr, k, j)

    def adopt(self, result: SolveResult) -> None:
        """Take a solver's plan as the incumbent."""
        arr = self.arr
        k = arr.rows.get_indexer(
            pd.MultiIndex.from_frame(result.assignment[["village_id", "level"]])
        )
        plan = np.full(arr.n_rows, -1)
        plan[k] = self.pairs_of(result.assignment)
        self.plan, self.cost = plan, result.objective

    def table(self) -> pd.DataFrame:
        """The plan as an assignment table (``village_id, level, option_id``)."""
        assert self.plan is not None
        return _plan_table(self.arr, self.plan)

    def table_or_none(self) -> pd.DataFrame | None:
        return None if self.plan is None else self.table()


# -------------------------------------------------------------------- helpers


def _build_and_solve(
    data: ModelInput,
    solver: str,
    seconds: float,
    threads: int | None,
    mip_gap: float,
    warm: pd.DataFrame | None,
    options: dict[str, Any] | None = None,
) -> SolveResult:
    """Build ``data``'s model and solve it, all within about ``seconds``."""
    model = build_model(data)
    return solve(
        model,
        solver=solver,
        time_limit_s=max(0.5, seconds - model.seconds),
        mip_gap=mip_gap,
        threads=threads,
        warm_start=warm,
        options=options if solver == "highs" else None,
    )


def _exact_size(arr: Arrays) -> int:
    """Largest reduced model (pairs) the exact MIP is given directly."""
    return EXACT_PAIRS if arr.class_size is None else EXACT_PAIRS_CLASSES


def _initial_multipliers(arr: Arrays, plan: np.ndarray | None) -> np.ndarray:
    """Each row's cost in ``plan`` plus its share of the option's fixed cost (no plan: its
    cheapest such cost)."""
    share = (
        np.maximum(arr.fixed, 0.0)[arr.pj]
        * arr.students[arr.pk]
        / np.maximum(arr.capacity[arr.pj], 1e-9)
    )
    if plan is None:
        lam = np.full(arr.n_rows, np.inf)
        np.minimum.at(lam, arr.pk, arr.cost + share)
        return lam
    load = np.bincount(arr.pj[plan], arr.students, minlength=arr.n_options)
    fixed = np.maximum(arr.fixed, 0.0)[arr.pj[plan]]
    return arr.cost[plan] + fixed * arr.students / np.maximum(load[arr.pj[plan]], 1e-9)


def _nearest_pairs(arr: Arrays, best: _Incumbent, per_row: int) -> np.ndarray | None:
    """Pairs of the relaxation that starts the bound phase: all of them up to ``LP_PAIRS``,
    else each row's ``per_row`` cheapest pairs and the incumbent's (None: too few per row,
    or no incumbent to keep the restricted relaxation feasible, or a model in students only:
    there the restricted relaxation of Lorena-Senne's doni1-doni3, 1,000-3,000 nodes,
    p = 6-8, ran into its time limit of a fifth of the run without a solution and left the
    bound phase 10-29 subgradient rounds)."""
    if len(arr.pk) <= LP_PAIRS:
        return np.ones(len(arr.pk), dtype=bool)
    if per_row < LP_NEAREST_MIN or best.plan is None or arr.class_size is None:
        return None
    keep = np.zeros(len(arr.pk), dtype=bool)
    keep[best.view.cheapest(per_row)] = True
    keep[best.plan] = True
    return keep


def _relaxation_open_sets(arr: Arrays, y: np.ndarray) -> Iterator[tuple[np.ndarray, bool]]:
    """Open sets to build plans from, given the relaxation's open values ``y``, each with
    whether the relaxation's assignment should seed the plan.

    The rounded set, seeded and not; without ``p`` also every option the relaxation uses at
    all, or at 0.3, seeded: with little spare room a greedy assignment on the rounded set
    packs rows badly, and surplus options are closed again by the search (measured on the
    10,000 x 1,000 prefecture: 754,660 from the rounded set, 722,638 from the wider one;
    2,000 x 200: 178,335 unseeded, 174,522 seeded).
    """
    rounded = _rounded_open_set(arr, y)
    if rounded is not None:
        yield rounded, True
        yield rounded, False
    if arr.p is None:
        for at in (1e-6, 0.3):
            yield _one_per_site(arr, (y >= at) & ~arr.forced_closed | arr.forced_open, y), True


def _one_per_site(arr: Arrays, chosen: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``chosen`` with at most one option per site: a forced one, else the most open."""
    idx = np.flatnonzero(chosen)
    rank = np.where(arr.forced_open[idx], np.inf, y[idx])
    idx = idx[np.lexsort((idx, -rank, arr.site[idx]))]
    first = np.r_[True, arr.site[idx][1:] != arr.site[idx][:-1]]
    out = np.zeros_like(chosen)
    out[idx[first]] = True
    return out


def _rounded_open_set(arr: Arrays, y: np.ndarray) -> np.ndarray | None:
    """Open options from the relaxation's open values: those at least half open (and every
    forced one), or with ``p`` set the forced ones and then the most open."""
    if arr.p is None:
        return arr.forced_open | ((y >= 0.5) & ~arr.forced_closed)
    return fill_to_p(arr, arr.forced_open, rank=-y)


def _round_up(arr: Arrays, value: float) -> float:
    """A lower bound; with integer costs every plan costs an integer: round it up."""
    return math.ceil(value - 1e-6) if arr.integral else value


def _meets(bound: float, objective: float) -> bool:
    return objective - bound <= 1e-6 * max(abs(objective), 1e-9)


def _threshold(arr: Arrays, ub: float | None) -> float:
    """Plans whose bound exceeds this cannot beat the incumbent (cost ``ub``)."""
    if ub is None:
        return math.inf
    if arr.integral:
        return ub - 1 + 1e-6
    return ub + 1e-9 * max(1.0, abs(ub))


def _reduction(arr: Arrays, bound: Bound, ub: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Pairs to keep and options to close, proven by the bound not to improve on ``ub``."""
    limit = _threshold(arr, ub)
    closed = (bound.option_bound > limit) & ~arr.forced_open
    keep = (bound.pair_bound <= limit) & ~closed[arr.pj]
    return keep, closed


def _combined_bound(
    arr: Arrays, lower: float, result: SolveResult, ub: float | None
) -> float | None:
    """Bound of the full model from the reduced model's bound and the Lagrangian one."""
    reduced = result.objective if result.status == "optimal" else result.bound
    if reduced is None:
        return lower
    if ub is not None:
        reduced = min(reduced, ub)  # what was left out cannot beat the incumbent
    return max(lower, _round_up(arr, reduced))


def _plan_table(arr: Arrays, plan: np.ndarray) -> pd.DataFrame:
    """A plan (pair per row) as an assignment table (``village_id, level, option_id``)."""
    keys = arr.rows[arr.pk[plan]].to_frame(index=False)
    return keys.assign(option_id=arr.option_ids[arr.pj[plan]].to_numpy())


def _restricted(arr: Arrays, keep: np.ndarray, closed: np.ndarray) -> ModelInput:
    """``data`` with only the kept pairs and with the closed options forced closed."""
    data = arr.data
    options = data.options.copy()
    options.loc[closed, "forced"] = "closed"
    pairs = data.pairs.iloc[np.sort(arr.src[keep])]
    return dataclasses.replace(data, options=options, pairs=pairs)


def _candidate_options(arr: Arrays, bound: Bound, best: _Incumbent) -> np.ndarray:
    """Options the relaxation opened in its last rounds, the incumbent's and forced ones."""
    out = arr.forced_open.copy()
    for chosen in bound.open_sets[len(bound.open_sets) // 2 :]:
        out |= chosen
    if best.plan is not None:
        out[arr.pj[best.plan]] = True
    return out


def _neighbourhood(
    arr: Arrays,
    bound: Bound,
    best: _Incumbent,
    per_row: int = 6,
    allowed: np.ndarray | None = None,
) -> np.ndarray:
    """Each row's ``per_row`` cheapest pairs to ``allowed`` options (default: the candidate
    options), and its incumbent pair."""
    ok = (_candidate_options(arr, bound, best) if allowed is None else allowed)[arr.pj]
    cbar = np.where(ok, arr.cost - bound.lam[arr.pk], np.inf)
    order = np.lexsort((cbar, arr.pk))
    rank = np.arange(len(order)) - np.searchsorted(arr.pk[order], arr.pk[order], side="left")
    keep = np.zeros(len(arr.pk), dtype=bool)
    keep[order[(rank < per_row) & np.isfinite(cbar[order])]] = True
    if best.plan is not None:
        keep[best.plan] = True
    return keep


def _region_size(n_options: int, n_open: int) -> int:
    """Options per region: ``REGION_OPTIONS``, more when few options are open (a region then
    holds about ``REGION_OPEN`` open ones: medians can move), at most ``REGION_OPTIONS_MAX``."""
    share = math.ceil(REGION_OPEN * n_options / max(n_open, 1))
    return min(max(REGION_OPTIONS, share), REGION_OPTIONS_MAX)


def _region_model(
    arr: Arrays, plan: np.ndarray, region: np.ndarray, ring: int = 0
) -> tuple[ModelInput | None, np.ndarray, pd.DataFrame]:
    """The model of one region: its options and the rows they serve, everything else fixed.

    With ``ring > 0``, the region's rows may also move to up to ``ring`` open options next to
    it (forced open, each holding its own rows as one fixed row per level: only its spare
    room is offered). Returns the model, the region's rows and the plan of the fixed rows
    (for the warm start).
    """
    held = pd.DataFrame(columns=["village_id", "level", "option_id"])
    inside = np.zeros(arr.n_options, dtype=bool)
    inside[region] = True
    rows = np.flatnonzero(inside[arr.pj[plan]])
    if len(rows) == 0:
        return None, rows, held
    free = np.zeros(arr.n_rows, dtype=bool)
    free[rows] = True
    around = _ring(arr, plan, inside, free, ring)
    allowed = inside.copy()
    allowed[around] = True
    keep = free[arr.pk] & allowed[arr.pj]
    data = arr.data
    p = None if arr.p is None else len(np.unique(arr.pj[plan[rows]])) + len(around)
    demand = data.demand.iloc[rows]
    pairs = data.pairs.iloc[np.sort(arr.src[keep])]
    options = data.options.iloc[np.flatnonzero(allowed)]
    if len(around):
        fixed = _held_rows(arr, plan, around, free)
        held = fixed[["village_id", "level", "option_id"]]
        demand = pd.concat([demand, fixed[["village_id", "level", "students"]]])
        pairs = pd.concat([pairs, held.assign(cost=0.0)], ignore_index=True)
        options = options.assign(
            forced=np.where(options.index.isin(arr.option_ids[around]), "open", options["forced"])
        )
    sub = dataclasses.replace(
        data, demand=demand.reset_index(drop=True), options=options, pairs=pairs, p=p
    )
    return sub, rows, held


def _ring_allowed(arr: Arrays) -> bool:
    """Rings only where a fixed load is all an option's rules need: the plain model."""
    data = arr.data
    boarding = "boarding" in data.pairs and bool(data.pairs["boarding"].any())
    return bool(
        arr.exact
        and not boarding
        and data.links is None
        and (data.grade_links is None or data.grade_links.empty)
        and not data.class_levels
    )


def _ring(
    arr: Arrays, plan: np.ndarray, inside: np.ndarray, free: np.ndarray, size: int
) -> np.ndarray:
    """The ``size`` open options outside the region that most of its rows could use."""
    if size <= 0:
        return np.zeros(0, dtype=np.int64)
    used = np.zeros(arr.n_options, dtype=bool)
    used[arr.pj[plan]] = True
    near = free[arr.pk] & used[arr.pj] & ~inside[arr.pj]
    counts = np.bincount(arr.pj[near], minlength=arr.n_options)
    order = np.lexsort((np.arange(arr.n_options), -counts))[:size]
    return np.sort(order[counts[order] > 0])


def _held_rows(arr: Arrays, plan: np.ndarray, around: np.ndarray, free: np.ndarray) -> pd.DataFrame:
    """One row per ring option and level: the students it already holds (fixed there)."""
    others = np.flatnonzero(~free)
    j = arr.pj[plan[others]]
    mine = np.isin(j, around)
    load = pd.DataFrame(
        {
            "option_id": arr.option_ids[j[mine]],
            "level": arr.rows.get_level_values("level")[others[mine]],
            "students": arr.students[others[mine]],
        }
    )
    load = load.groupby(["option_id", "level"], as_index=False, sort=True)["students"].sum()
    return load.assign(village_id=RING_PREFIX + load["option_id"].astype(str))


# -------------------------------------------------------------------- regions in parallel

REGION_WORKERS = 4  # at most this many worker processes solve regions at once
_STOP: Any = None  # in a worker process: the pool's event that asks long jobs to end


ORPHAN_CHECK_S = 1.0  # a worker process looks this often whether its parent is still alive
HUNG_S = 30.0  # workers are ended when no region of a sweep ends for 2 x its limit + this


def _worker_start(stop: Any, parent: int) -> None:
    global _STOP
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _STOP = stop
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    """End this worker process when the process that started it is gone.

    A parent that ends normally or by Ctrl-C shuts its pool down, but one killed hard
    (``kill -9``, the out-of-memory killer) cannot, and its workers would sit idle forever:
    they notice here (the parent's pid changes when it dies) and exit within seconds.
    """
    while os.getppid() == parent:
        time.sleep(ORPHAN_CHECK_S)
    os._exit(1)


def _stop_requested() -> bool:
    return _STOP is not None and bool(_STOP.is_set())


def _without_tables(arr: Arrays) -> Arrays:
    """``arr`` without its input tables (the bound needs only the arrays; the tables would
    be sent to a worker process for nothing)."""
    return dataclasses.replace(arr, data=cast(ModelInput, None))


def _region_workers(threads: int | None) -> int:
    """Worker processes for the regions: the cores this process may use (capped by the
    solver's ``threads`` setting); 1 inside a daemonic process, which cannot have children."""
    if multiprocessing.current_process().daemon:
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, threads or REGION_WORKERS, REGION_WORKERS))


@dataclasses.dataclass(frozen=True)
class _RegionJob:
    """Solve one region's model (picklable: runs in a worker process or in this one)."""

    solver: str
    threads: int | None
    deadline: float  # time.time() after which no region is started
    seconds: float  # time limit of one region
    gap: float  # relative gap at which a region stops

    def __call__(self, task: tuple[ModelInput, pd.DataFrame]) -> SolveResult | None:
        sub, warm = task
        seconds = min(self.seconds, self.deadline - time.time())
        if seconds < 1.0:
            return None
        try:
            return _build_and_solve(sub, self.solver, seconds, self.threads, self.gap, warm)
        except (InfeasiblePlanError, SolverError):
            return None


@dataclasses.dataclass(frozen=True)
class _BoundJob:
    """Subgradient rounds with exact knapsacks (picklable: runs in a worker process)."""

    arr: Arrays
    lam: np.ndarray
    upper: float
    iterations: int
    deadline: float  # time.time() at which the rounds end

    def __call__(self) -> Bound:
        return lagrangian_bound(
            self.arr,
            self.lam,
            upper=self.upper,
            iterations=self.iterations,
            exact=True,
            deadline=time.perf_counter() + (self.deadline - time.time()),
            theta=0.2,
            reach=0.005,
            stop=_stop_requested,
        )


@dataclasses.dataclass(frozen=True)
class _PendingBound:
    """A bound being computed in a worker process, and its job (to run here if that fails)."""

    future: Future[Bound]
    job: _BoundJob


@dataclasses.dataclass(frozen=True)
class _WindowJob:
    """Plan one window by its own optimisation, one thread (picklable, like ``_RegionJob``)."""

    solver: str
    deadline: float  # time.time() after which no window is started
    seconds: float  # time limit of one window

    def __call__(self, task: tuple[ModelInput, pd.DataFrame]) -> SolveResult | None:
        sub, _ = task
        seconds = min(self.seconds, self.deadline - time.time())
        if seconds < 0.5 * self.seconds:
            return None
        try:
            # its progress lines at debug level: they would read as the whole model's
            return _Run(sub, self.solver, seconds, 0.0, 1, log_level=logging.DEBUG).run()
        except (InfeasiblePlanError, SolverError):
            return None


class _RegionSolver:
    """Runs region jobs in ``workers`` spawned processes, or one after the other in this one
    (one worker, or when the processes cannot be started or die). Workers ended because a
    solver in one of them does not stop are replaced by new ones."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.pool: ProcessPoolExecutor | None = None
        self.stop: Any = None  # event: long jobs (the bound's rounds) end when it is set

    def __enter__(self) -> _RegionSolver:
        if self.workers > 1:
            self.stop = multiprocessing.get_context("spawn").Event()
            self.start_workers()
        return self

    def start_workers(self) -> None:
        self.pool = ProcessPoolExecutor(
            self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_worker_start,
            initargs=(self.stop, os.getpid()),
        )

    def __exit__(self, *exc: object) -> None:
        self.stop_jobs()
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)  # running regions end within s

    def discard(self) -> None:
        """Give up the worker processes (one died): the jobs run in this process from now."""
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = None

    def restart(self) -> None:
        """End the worker processes now (a solver in one of them does not stop) and start new
        ones; a job of the old ones still running (the bound's) fails, as if its process died."""
        if self.pool is not None:
            # ProcessPoolExecutor has no public way to end its processes before Python 3.14
            for process in list(getattr(self.pool, "_processes", {}).values()):
                process.kill()
            self.discard()
            self.start_workers()

    def stop_jobs(self) -> None:
        """Ask running long jobs to end now (regions and windows end on their own clock)."""
        if self.stop is not None:
            self.stop.set()

    def submit(self, job: _BoundJob) -> Future[Bound]:
        """Run one job beside the others (in this process at once without workers)."""
        if self.pool is not None:
            with _main_module_hidden():
                return self.pool.submit(job)
        future: Future[Bound] = Future()
        future.set_result(job())
        return future

    def run(
        self, job: _RegionJob | _WindowJob, work: list[tuple[ModelInput, pd.DataFrame]]
    ) -> Iterator[SolveResult | None]:
        """Each region's result (model and warm start in ``work``), in the order of ``work``."""
        if self.pool is None:
            yield from map(job, work)
            return
        try:
            with _main_module_hidden():
                futures = [self.pool.submit(job, w) for w in work]
        except BrokenProcessPool:  # a worker died between sweeps (the bound's, say)
            logger.warning(
                "the worker processes stopped unexpectedly; the regions are solved one after "
                "the other"
            )
            self.discard()
            yield from map(job, work)
            return
        try:
            for i, future in enumerate(futures):
                try:
                    result = self.result_unless_hung(future, futures, job.seconds)
                    if result is _HUNG:
                        # the regions the other workers finished meanwhile are kept
                        later = futures[i:]
                        kept = [_finished(f) for f in later]  # one look: the log agrees
                        ready = [later[n].result() if k else None for n, k in enumerate(kept)]
                        logger.warning(
                            "the solver (HiGHS) re-planning one region has not stopped for "
                            "%.0f s (time limit %g s); it is ended, the helper processes are "
                            "started anew, and %d of the %d regions of this round keep their "
                            "current plan",
                            2.0 * job.seconds + HUNG_S,
                            job.seconds,
                            kept.count(False),
                            len(work),
                        )
                        self.restart()
                        yield from ready
                        return
                    yield cast(SolveResult | None, result)
                except BrokenProcessPool:
                    logger.warning(
                        "the worker processes stopped unexpectedly; the remaining regions "
                        "are solved one after the other"
                    )
                    self.discard()
                    yield from map(job, work[i:])
                    return
        finally:
            for future in futures:
                future.cancel()

    @staticmethod
    def result_unless_hung(future: Future[Any], futures: list[Future[Any]], seconds: float) -> Any:
        """``future``'s result, or ``_HUNG`` when none of ``futures`` has finished for
        ``2 * seconds + HUNG_S`` (each job's solver stops by 1.1 x ``seconds`` + 1 s, so a
        worker that long without an answer is stuck in a solver that ignores its limit)."""
        quiet = 2.0 * seconds + HUNG_S
        finished, last = sum(f.done() for f in futures), time.monotonic()
        while True:
            try:
                return future.result(timeout=1.0)
            except FutureTimeout:
                now = sum(f.done() for f in futures)
                if now > finished:
                    finished, last = now, time.monotonic()
                elif time.monotonic() - last > quiet:
                    return _HUNG


_HUNG = object()  # a job whose worker is stuck (see _RegionSolver.result_unless_hung)


def _finished(future: Future[Any]) -> bool:
    """Done with a result (not failed, not cancelled)."""
    return future.done() and not future.cancelled() and future.exception() is None


@contextlib.contextmanager
def _main_module_hidden() -> Iterator[None]:
    """Start worker processes without re-running the caller's script in them.

    A spawned process first imports the parent's ``__main__`` (a script without an
    ``if __name__ == "__main__"`` guard would run again there); the region workers need
    only this package, so the script is hidden while they start.
    """
    with _MAIN_LOCK:  # optimisations in several threads of one process take turns here
        main = sys.modules["__main__"]
        saved: dict[str, Any] = {
            k: main.__dict__.pop(k) for k in ("__file__", "__spec__") if k in main.__dict__
        }
        main.__dict__["__spec__"] = None
        try:
            yield
        finally:
            main.__dict__.pop("__spec__", None)
            main.__dict__.update(saved)


_MAIN_LOCK = threading.Lock()
