"""Fast primal heuristics on the flat arrays: build a plan for an open set, then improve it.

A plan is one pair index per demand row. These heuristics respect capacity in students,
integer classes per level within the class capacity, sites and ``p``; rules they do not see
(budget, minimum sizes, expansions) are checked when the plan is handed to the solver.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from planning._lagrangian import Arrays


@dataclass(frozen=True)
class RowView:
    """Pairs sorted by demand row, then cost (cheapest first), with row offsets."""

    order: np.ndarray
    start: np.ndarray

    def cheapest(self, per_row: int, among: np.ndarray | None = None) -> np.ndarray:
        """Pair indices of each row's ``per_row`` cheapest pairs (to the options where the
        mask ``among`` over pairs is true, if given)."""
        if among is None:
            rank = np.arange(len(self.order)) - np.repeat(self.start[:-1], np.diff(self.start))
            return self.order[rank < per_row]
        ordered = among[self.order]
        seen = np.cumsum(ordered)
        before_row = np.r_[0, seen][self.start[:-1]]
        rank = seen - np.repeat(before_row, np.diff(self.start))  # 1 for a row's first
        return self.order[ordered & (rank <= per_row)]


def row_view(arr: Arrays) -> RowView:
    order = np.lexsort((arr.pj, arr.cost, arr.pk))
    counts = np.bincount(arr.pk, minlength=arr.n_rows)
    return RowView(order=order, start=np.r_[0, np.cumsum(counts)])


class Loads:
    """Students and classes per option while a plan is built (plain Python for speed)."""

    def __init__(self, arr: Arrays) -> None:
        self.arr = arr
        self.d = arr.students.tolist()
        self.lvl = arr.level.tolist()
        self.size = None if arr.class_size is None else arr.class_size.tolist()
        self.cap = arr.capacity.tolist()
        self.ccap = arr.class_cap.tolist()
        n_levels = 1 if arr.class_size is None else len(arr.class_size)
        self.total = [0.0] * arr.n_options
        self.level_load = [[0.0] * n_levels for _ in range(arr.n_options)]
        self.classes = [0] * arr.n_options

    def _classes_after(self, j: int, k: int, sign: int) -> int:
        assert self.size is not None
        lvl, s = self.lvl[k], self.size[self.lvl[k]]
        old = self.level_load[j][lvl]
        new = old + sign * self.d[k]
        return self.classes[j] - math.ceil(old / s - 1e-9) + math.ceil(new / s - 1e-9)

    def fits(self, j: int, k: int, minus: int = -1) -> bool:
        """Whether row k fits at option j (after row ``minus`` leaves j, if given)."""
        out = self.d[minus] if minus >= 0 else 0.0
        if self.total[j] + self.d[k] - out > self.cap[j] + 1e-9:
            return False
        if self.size is None:
            return True
        if minus >= 0:
            self.remove(j, minus)
            ok = self._classes_after(j, k, 1) <= self.ccap[j]
            self.add(j, minus)
            return ok
        return self._classes_after(j, k, 1) <= self.ccap[j]

    def add(self, j: int, k: int) -> None:
        if self.size is not None:
            self.classes[j] = self._classes_after(j, k, 1)
            self.level_load[j][self.lvl[k]] += self.d[k]
        self.total[j] += self.d[k]

    def remove(self, j: int, k: int) -> None:
        if self.size is not None:
            self.classes[j] = self._classes_after(j, k, -1)
            self.level_load[j][self.lvl[k]] -= self.d[k]
        self.total[j] -= self.d[k]


def greedy_plan(
    arr: Arrays, view: RowView, is_open: np.ndarray, seed: np.ndarray | None = None
) -> np.ndarray | None:
    """Assign rows to open options: seeded pairs first, then hardest rows (largest regret)
    to the cheapest option that fits; a row that fits nowhere makes room by moving rows
    out of one of its options.

    ``seed`` marks pairs to try first (e.g. the relaxation's knapsack choices): a row with
    seeded pairs at open options takes the cheapest of them while it fits.
    Returns the pair index per row, or None if some row cannot be placed.
    """
    pos = view.order[is_open[arr.pj[view.order]]]
    counts = np.bincount(arr.pk[pos], minlength=arr.n_rows)
    if (counts == 0).any():
        return None
    start = np.r_[0, np.cumsum(counts)]
    first = arr.cost[pos[start[:-1]]]
    second = np.where(counts > 1, arr.cost[pos[np.minimum(start[:-1] + 1, len(pos) - 1)]], np.inf)
    order = np.lexsort((np.arange(arr.n_rows), -arr.students, -(second - first)))
    state = _Filling(arr, pos, start)
    if seed is not None:
        for p in pos[seed[pos]].tolist():
            k = int(arr.pk[p])
            if state.plan[k] < 0 and state.loads.fits(int(arr.pj[p]), k):
                state.place(k, p)
    for k in order.tolist():
        if state.plan[k] < 0 and not state.place_cheapest(k) and not state.make_room(k):
            return None
    return np.array(state.plan, dtype=np.int64)


class _Filling:
    """A plan being built: loads, the rows at each option, each row's open pairs."""

    def __init__(self, arr: Arrays, pos: np.ndarray, start: np.ndarray) -> None:
        self.loads = Loads(arr)
        self.pj, self.pos, self.start = arr.pj.tolist(), pos.tolist(), start.tolist()
        self.plan = [-1] * arr.n_rows
        self.rows: list[list[int]] = [[] for _ in range(arr.n_options)]

    def place(self, k: int, p: int) -> None:
        self.loads.add(self.pj[p], k)
        self.rows[self.pj[p]].append(k)
        self.plan[k] = p

    def unplace(self, k: int) -> None:
        j = self.pj[self.plan[k]]
        self.loads.remove(j, k)
        self.rows[j].remove(k)
        self.plan[k] = -1

    def place_cheapest(self, k: int, avoid: int = -1) -> bool:
        for q in range(self.start[k], self.start[k + 1]):
            p = self.pos[q]
            if self.pj[p] != avoid and self.loads.fits(self.pj[p], k):
                self.place(k, p)
                return True
        return False

    def make_room(self, k: int) -> bool:
        """Move rows out of one of k's options (smallest first) until k fits there."""
        for q in range(self.start[k], self.start[k + 1]):
            p = self.pos[q]
            j = self.pj[p]
            moved: list[tuple[int, int]] = []
            for r in sorted(self.rows[j], key=lambda r: self.loads.d[r]):
                if self.loads.fits(j, k):
                    break
                old = self.plan[r]
                self.unplace(r)
                if self.place_cheapest(r, avoid=j):
                    moved.append((r, old))
                else:
                    self.place(r, old)
            if self.loads.fits(j, k):
                self.place(k, p)
                return True
            for r, old in reversed(moved):
                self.unplace(r)
                self.place(r, old)
        return False


def improve(arr: Arrays, view: RowView, plan: np.ndarray, *, passes: int = 5) -> np.ndarray:
    """Local search among the plan's open options: shift one row, or swap two rows."""
    plan = plan.copy()
    is_open = np.zeros(arr.n_options, dtype=bool)
    is_open[arr.pj[plan]] = True
    loads = Loads(arr)
    for k, p in enumerate(plan.tolist()):
        loads.add(int(arr.pj[p]), k)
    for _ in range(passes):
        moved = _shift(arr, view, plan, is_open, loads)
        moved += _swap(arr, view, plan, is_open, loads)
        if not moved:
            break
    return plan


def _shift(arr: Arrays, view: RowView, plan: np.ndarray, is_open: np.ndarray, loads: Loads) -> int:
    moved = 0
    pj, cost, order = arr.pj, arr.cost, view.order
    for k in range(arr.n_rows):
        p = int(plan[k])
        j = int(pj[p])
        for q in order[view.start[k] : view.start[k + 1]].tolist():
            if cost[q] >= cost[p] - 1e-12:
                break
            jq = int(pj[q])
            if is_open[jq] and loads.fits(jq, k):
                loads.remove(j, k)
                loads.add(jq, k)
                plan[k] = q
                moved += 1
                break
    return moved


def _swap(arr: Arrays, view: RowView, plan: np.ndarray, is_open: np.ndarray, loads: Loads) -> int:
    """Exchange two rows between their options where that is cheaper and both still fit.

    Candidates are found in one vectorised join (row k1 at j1 with a pair to j2, row k2 at j2
    with a pair to j1) and applied best first; rows already moved in this pass are skipped.
    """
    at = arr.pj[plan]
    gain = arr.cost - arr.cost[plan][arr.pk]  # extra cost of moving row pk to option pj
    move = is_open[arr.pj] & (arr.pj != at[arr.pk])
    q = np.flatnonzero(move)
    if len(q) == 0:
        return 0
    frm, to = at[arr.pk[q]], arr.pj[q]
    n = arr.n_options
    key_out, key_back = frm * n + to, to * n + frm
    if _join_size(key_out, key_back) > 4_000_000:  # keep only moves that gain by themselves
        q = q[gain[q] < 0]
        frm, to = at[arr.pk[q]], arr.pj[q]
        key_out, key_back = frm * n + to, to * n + frm
    cand = _join(q, key_out, q, key_back)
    if len(cand) == 0:
        return 0
    q1, q2 = cand
    delta = gain[q1] + gain[q2]
    better = delta < -1e-9
    q1, q2, delta = q1[better], q2[better], delta[better]
    moved = 0
    done = np.zeros(arr.n_rows, dtype=bool)
    for t in np.lexsort((q2, q1, delta)).tolist():
        k1, k2 = int(arr.pk[q1[t]]), int(arr.pk[q2[t]])
        if done[k1] or done[k2]:
            continue
        j1, j2 = int(at[k1]), int(at[k2])
        if loads.fits(j2, k1, minus=k2) and loads.fits(j1, k2, minus=k1):
            _exchange(loads, plan, at, k1, k2, j1, j2, int(q1[t]), int(q2[t]))
            done[k1] = done[k2] = True
            moved += 1
    return moved


def _join_size(left: np.ndarray, right: np.ndarray) -> int:
    keys, counts = np.unique(left, return_counts=True)
    rk, rc = np.unique(right, return_counts=True)
    _, i, j = np.intersect1d(keys, rk, assume_unique=True, return_indices=True)
    return int((counts[i] * rc[j]).sum())


def _join(
    left: np.ndarray, left_key: np.ndarray, right: np.ndarray, right_key: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """All (left item, right item) with equal keys."""
    lo = np.argsort(left_key, kind="stable")
    ro = np.argsort(right_key, kind="stable")
    lk, rk = left_key[lo], right_key[ro]
    start = np.searchsorted(rk, lk, side="left")
    stop = np.searchsorted(rk, lk, side="right")
    count = stop - start
    li = np.repeat(np.arange(len(lk)), count)
    offset = np.arange(len(li)) - np.repeat(np.cumsum(count) - count, count)
    ri = np.repeat(start, count) + offset
    return left[lo][li], right[ro][ri]


def _exchange(
    loads: Loads,
    plan: np.ndarray,
    at: np.ndarray,
    k1: int,
    k2: int,
    j1: int,
    j2: int,
    q1: int,
    q2: int,
) -> None:
    loads.remove(j1, k1)
    loads.remove(j2, k2)
    loads.add(j2, k1)
    loads.add(j1, k2)
    plan[k1], plan[k2] = q1, q2
    at[k1], at[k2] = j2, j1


def plan_cost(arr: Arrays, plan: np.ndarray) -> float:
    """Objective of a plan under the arrays' rules (``inf`` if sites or ``p`` are broken).

    With ``p``, options are added to the used ones, cheapest net cost first, to reach p.
    """
    used = np.zeros(arr.n_options, dtype=bool)
    used[arr.pj[plan]] = True
    if (used & arr.forced_closed).any():
        return np.inf
    is_open = used | arr.forced_open
    if arr.p is not None:
        is_open = fill_to_p(arr, is_open)
        if is_open is None:
            return np.inf
    sites = arr.site[is_open]
    if len(np.unique(sites)) < len(sites):
        return np.inf
    return float(arr.cost[plan].sum() + arr.fixed[is_open].sum() + arr.constant)


def plan_fits(arr: Arrays, plan: np.ndarray) -> bool:
    """Whether every option holds its rows: students within capacity, classes per level
    (rounded up) within its classes."""
    j = arr.pj[plan]
    load = np.bincount(j, arr.students, minlength=arr.n_options)
    if (load > arr.capacity + 1e-9).any():
        return False
    if arr.class_size is None:
        return True
    n = len(arr.class_size)
    by_level = np.bincount(j * n + arr.level, arr.students, minlength=arr.n_options * n)
    classes = np.ceil(by_level.reshape(arr.n_options, n) / arr.class_size - 1e-9).sum(axis=1)
    return bool((classes <= arr.class_cap + 1e-9).all())


def fill_to_p(
    arr: Arrays, is_open: np.ndarray, rank: np.ndarray | None = None
) -> np.ndarray | None:
    """``is_open`` plus allowed options, lowest ``rank`` first (default: the net fixed cost;
    ties by position), one per site, until ``p`` are open; None if that cannot be done."""
    assert arr.p is not None
    missing = arr.p - int(is_open.sum())
    if missing < 0:
        return None
    taken = np.zeros(int(arr.site.max(initial=-1)) + 1, dtype=bool)
    taken[arr.site[is_open]] = True
    out = is_open.copy()
    for j in np.argsort(arr.fixed if rank is None else rank, kind="stable").tolist():
        if missing == 0:
            break
        if not out[j] and not arr.forced_closed[j] and not taken[arr.site[j]]:
            out[j] = True
            taken[arr.site[j]] = True
            missing -= 1
    return out if missing == 0 else None


def relocated_open_set(arr: Arrays, plan: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The open set after moving each open option's rows, as one group, to the option that
    serves them all most cheaply (the location step of location-allocation), and the moved
    plan (pair per row); None if no group has a cheaper option.

    An option qualifies for a group when every row of the group may use it, it holds the
    group's students, it is not forced closed and its site has no other open option. Groups
    are taken in option order, each seeing the moves before it; forced-open options stay.
    Models in students only (no classes). Moving a whole group keeps every plan feasible, so
    the moved set always has a plan at most as costly as ``plan``; a new assignment of all
    rows to it (by MIP, in :mod:`planning.optimize`) is then usually cheaper still. This is
    what region MIPs miss where few options are open among many (a p-median with ``p``
    small against ``n``: each open option's rows reach far beyond any region).
    """
    from scipy import sparse

    assert arr.class_size is None
    shape = (arr.n_rows, arr.n_options)
    cost = sparse.csr_matrix((arr.cost, (arr.pk, arr.pj)), shape=shape)
    reach = sparse.csr_matrix((np.ones(len(arr.pk)), (arr.pk, arr.pj)), shape=shape)
    used = arr.pj[plan]
    is_open = np.zeros(arr.n_options, dtype=bool)
    is_open[used] = True
    is_open |= arr.forced_open
    n_sites = int(arr.site.max(initial=-1)) + 1
    dest = np.arange(arr.n_options)
    moved = False
    for j in np.flatnonzero(is_open & ~arr.forced_open).tolist():
        rows = arr.pk[plan[used == j]]
        if len(rows) == 0:
            continue
        total = np.asarray(cost[rows].sum(axis=0)).ravel() + arr.fixed
        reached = np.asarray(reach[rows].sum(axis=0)).ravel() == len(rows)
        taken = np.zeros(n_sites, dtype=bool)
        taken[arr.site[is_open]] = True
        taken[arr.site[j]] = False
        ok = (
            reached
            & (arr.capacity >= arr.students[rows].sum() - 1e-9)
            & ~arr.forced_closed
            & ~is_open
            & ~taken[arr.site]
        )
        if not ok.any():
            continue
        i = int(np.argmin(np.where(ok, total, np.inf)))
        if total[i] < total[j] - 1e-9 * max(1.0, abs(total[j])):
            is_open[j], is_open[i], moved = False, True, True
            dest[j] = i
    if not moved:
        return None
    return is_open, pair_index(arr, arr.pk[plan], dest[used])


def pair_index(arr: Arrays, k: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Index of the pair (row ``k[i]``, option ``j[i]``) for each i; every pair must exist."""
    keys = arr.pk * arr.n_options + arr.pj
    order = np.argsort(keys, kind="stable")
    return order[np.searchsorted(keys[order], k * arr.n_options + j)]


def greedy_open_set(arr: Arrays, *, max_cells: int = 20_000_000) -> np.ndarray | None:
    """An open set to start from: p options by greedy addition (p-median), else all sites.

    Greedy addition opens, one at a time, the option that most lowers the sum over rows of
    the cheapest open cost (capacity ignored). Without ``p`` one option per site is opened
    (the one with the most room).
    """
    allowed = ~arr.forced_closed
    if arr.p is None:
        key = np.where(allowed, -arr.capacity, np.inf)
        order = np.lexsort((np.arange(arr.n_options), key, arr.site))
        first = order[np.r_[True, arr.site[order][1:] != arr.site[order][:-1]]]
        out = np.zeros(arr.n_options, dtype=bool)
        out[first[allowed[first]]] = True
        return out
    if arr.n_rows * arr.n_options > max_cells:
        return None
    big = float(arr.cost.max(initial=0.0)) * 2 + 1.0
    dense = np.full((arr.n_rows, arr.n_options), big)
    dense[arr.pk, arr.pj] = arr.cost
    best = np.full(arr.n_rows, big * 2)
    out = arr.forced_open.copy()
    if out.any():
        best = np.minimum(best, dense[:, out].min(axis=1))
    while out.sum() < arr.p:
        gain = np.minimum(dense, best[:, None]).sum(axis=0) + arr.fixed
        gain[out | ~allowed] = np.inf
        gain[np.isin(arr.site, arr.site[out])] = np.inf
        j = int(np.argmin(gain))
        if not np.isfinite(gain[j]):
            return None
        out[j] = True
        best = np.minimum(best, dense[:, j])
    return out


NEIGHBOUR_PAIRS = 10  # a row links the options of its this many cheapest pairs (regions)


def regions(
    arr: Arrays, size: int, *, offset: int = 0, view: RowView | None = None
) -> list[np.ndarray]:
    """Groups of about ``size`` neighbouring options (options among the same rows' cheapest
    ``NEIGHBOUR_PAIRS`` pairs: near each other even when every row may reach every option).

    Each region grows from the lowest-numbered free option (after rotating the order by
    ``offset``, so that successive calls draw different borders) by adding the free option
    that shares the most rows with it, until it has ``size`` options or no free neighbour.
    The options of one site go into one region together (a region's MIP can then swap them
    without clashing with another region's choice at the same site).
    """
    from scipy import sparse

    near = (view or row_view(arr)).cheapest(NEIGHBOUR_PAIRS)
    a = sparse.csr_matrix(
        (np.ones(len(near)), (arr.pk[near], arr.pj[near])), shape=(arr.n_rows, arr.n_options)
    )
    adj = (a.T @ a).tocsr()
    by_site: dict[int, list[int]] = {}
    for j, s in enumerate(arr.site.tolist()):
        by_site.setdefault(s, []).append(j)
    together = [by_site[s] if s >= 0 else [j] for j, s in enumerate(arr.site.tolist())]
    free = np.ones(arr.n_options, dtype=bool)
    out = []
    for seed in np.roll(np.arange(arr.n_options), -offset).tolist():
        if free[seed]:
            region = _grow_region(adj, free, seed, size, together)
            out.append(np.array(sorted(region), dtype=np.int64))
    return out


def _grow_region(
    adj: Any, free: np.ndarray, seed: int, size: int, together: list[list[int]]
) -> list[int]:
    weight: dict[int, float] = {}
    region: list[int] = []

    def take(j: int) -> None:
        for k in together[j]:
            if free[k]:
                free[k] = False
                region.append(k)
                row = adj.getrow(k)
                for i, w in zip(row.indices.tolist(), row.data.tolist(), strict=True):
                    if free[i]:
                        weight[i] = weight.get(i, 0.0) + w

    take(seed)
    while len(region) < size:
        weight = {j: w for j, w in weight.items() if free[j]}
        if not weight:
            break
        take(max(weight, key=lambda j: (weight[j], -j)))
    return region


def open_close_search(
    arr: Arrays, view: RowView, plan: np.ndarray, *, passes: int = 4
) -> np.ndarray:
    """Close options whose rows are cheaper elsewhere, open options that save more than they
    cost (facility-location drop and add moves). For models without ``p`` only."""
    state = _OpenState(arr, view, plan)
    for _ in range(passes):
        moved = sum(state.try_drop(j) for j in np.flatnonzero(state.is_open).tolist())
        moved += sum(state.try_add(j) for j in np.flatnonzero(~state.is_open).tolist())
        if not moved:
            break
    return np.array(state.plan, dtype=np.int64)


class _OpenState:
    """A plan with its loads, open options and the rows of each option, for drop/add moves."""

    def __init__(self, arr: Arrays, view: RowView, plan: np.ndarray) -> None:
        self.arr, self.view = arr, view
        self.plan = plan.tolist()
        self.pj, self.pk, self.cost = arr.pj.tolist(), arr.pk.tolist(), arr.cost.tolist()
        self.fixed = arr.fixed.tolist()
        self.loads = Loads(arr)
        self.rows: list[set[int]] = [set() for _ in range(arr.n_options)]
        for k, p in enumerate(self.plan):
            self.loads.add(self.pj[p], k)
            self.rows[self.pj[p]].add(k)
        self.is_open = np.zeros(arr.n_options, dtype=bool)
        self.is_open[arr.pj[plan]] = True
        self.is_open |= arr.forced_open
        self.site_open = np.zeros(int(arr.site.max(initial=-1)) + 1, dtype=np.int64)
        np.add.at(self.site_open, arr.site[self.is_open], 1)
        self.start = arr.pj.searchsorted(np.arange(arr.n_options + 1)).tolist()

    def _move(self, k: int, q: int) -> None:
        old = self.pj[self.plan[k]]
        self.loads.remove(old, k)
        self.rows[old].discard(k)
        self.loads.add(self.pj[q], k)
        self.rows[self.pj[q]].add(k)
        self.plan[k] = q

    def _set_open(self, j: int, value: bool) -> None:
        self.is_open[j] = value
        self.site_open[self.arr.site[j]] += 1 if value else -1

    def try_drop(self, j: int) -> int:
        """Close j if its rows fit elsewhere for less than j's net fixed cost."""
        if self.arr.forced_open[j] or not self.is_open[j]:
            return 0
        self._set_open(j, False)
        undo: list[tuple[int, int]] = []
        delta = -self.fixed[j]
        order = sorted(self.rows[j], key=lambda k: -self.loads.d[k])
        for k in order:
            q = self._cheapest_fit(k)
            if q < 0:
                delta = np.inf
                break
            delta += self.cost[q] - self.cost[self.plan[k]]
            undo.append((k, self.plan[k]))
            self._move(k, q)
        if delta < -1e-9:
            return 1
        for k, q in reversed(undo):
            self._move(k, q)
        self._set_open(j, True)
        return 0

    def _cheapest_fit(self, k: int) -> int:
        view = self.view
        for q in view.order[view.start[k] : view.start[k + 1]].tolist():
            j = self.pj[q]
            if self.is_open[j] and self.loads.fits(j, k):
                return q
        return -1

    def try_add(self, j: int) -> int:
        """Open j if the rows it would take from their options save more than it costs."""
        arr = self.arr
        if arr.forced_closed[j] or self.site_open[arr.site[j]] > 0:
            return 0
        pairs = range(self.start[j], self.start[j + 1])
        gains = sorted(
            (self.cost[self.plan[self.pk[q]]] - self.cost[q], q)
            for q in pairs
            if self.cost[q] < self.cost[self.plan[self.pk[q]]]
        )
        if not gains or sum(g for g, _ in gains) <= self.fixed[j]:
            return 0
        self._set_open(j, True)
        undo: list[tuple[int, int]] = []
        delta = self.fixed[j]
        for gain, q in reversed(gains):
            k = self.pk[q]
            if self.loads.fits(j, k):
                undo.append((k, self.plan[k]))
                self._move(k, q)
                delta -= gain
        if delta < -1e-9:
            for old in {self.pj[q] for _, q in undo}:
                if not self.rows[old] and not arr.forced_open[old]:
                    self._set_open(old, False)
            return 1
        for k, q in reversed(undo):
            self._move(k, q)
        self._set_open(j, False)
        return 0
