"""Arrays of a model instance and its Lagrangian lower bound (numpy only, no solver).

The Lagrangian relaxation dualises the assignment rows ``sum_j x_kj = 1`` with multipliers
``lambda_k``. What remains splits by option: option j, if open, picks the demand rows with
negative reduced cost ``a_kj - lambda_k`` that fit its capacity (a 0-1 knapsack), and the open
options are then chosen under the site, forced and ``p`` rules. For any ``lambda``

    L(lambda) = sum_k lambda_k + sum_j g_j + min over allowed open sets of sum_j v_j(lambda)

is a lower bound on the optimum. The knapsack of an option is solved exactly by dynamic
programming when demands are integers and the tables are small (the bound is then that of the
Dantzig-Wolfe reformulation); otherwise its linear relaxation is used (the bound is then that of
the linear relaxation). Rules the relaxation drops (budget, minimum sizes, expansion costs) only
weaken the bound: it stays valid for the full model.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from planning._errors import InfeasiblePlanError
from planning.model import ModelInput

DP_CELLS = 200_000_000  # largest knapsack table (items x options x capacity) solved exactly
DP_BLOCK_CELLS = 100_000  # smallest table of a block of options with similar capacities


@dataclass(frozen=True)
class Arrays:
    """A model instance as flat arrays; pairs sorted by option, then demand row.

    Attributes
    ----------
    students, level
        Per demand row k: students d_k and level code.
    class_size
        Students per class per level code, or None (capacity in students only).
    fixed, constant
        Per option j the net cost of being open ``f_j - g_j``; the constant ``sum_j g_j``.
    capacity, class_cap
        Per option: students it may take (``max_students``) and classes it may hold (rooms
        plus largest expansion, at most the class limit; ``inf`` if unlimited).
    site, forced_open, forced_closed, p
        Site group per option, forced decisions, and the number of open options (or None).
    pk, pj, cost, src
        Per pair: demand row, option, assignment cost a_kj, row position in ``data.pairs``.
    integral
        True when every plan's objective is an integer (integer costs): bounds may be rounded up.
    exact
        True when the arrays state the whole model (no budget, minimum sizes or expansions).
    """

    data: ModelInput
    rows: pd.MultiIndex
    option_ids: pd.Index
    students: np.ndarray
    level: np.ndarray
    class_size: np.ndarray | None
    fixed: np.ndarray
    constant: float
    capacity: np.ndarray
    class_cap: np.ndarray
    site: np.ndarray
    forced_open: np.ndarray
    forced_closed: np.ndarray
    p: int | None
    pk: np.ndarray
    pj: np.ndarray
    cost: np.ndarray
    src: np.ndarray
    integral: bool
    exact: bool

    @property
    def n_rows(self) -> int:
        return len(self.students)

    @property
    def n_options(self) -> int:
        return len(self.fixed)

    @cached_property
    def by_row(self) -> _RowCosts:
        """The pairs by row, then cost (built on first use; see ``_cheaper_pairs``)."""
        levels, level = np.unique(self.cost, return_inverse=True)
        key = self.pk * len(levels) + level.reshape(-1)
        narrow = np.int32 if len(key) < 2**31 else np.int64  # 16 million pairs: 0.5 GB in all
        order = np.argsort(key, kind="stable").astype(narrow)
        return _RowCosts(
            order=order,
            key=key[order],
            levels=levels,
            start=np.searchsorted(self.pk[order], np.arange(self.n_rows), side="left"),
            option=self.pj[order].astype(narrow),
            cost=self.cost[order],
        )


@dataclass(frozen=True)
class _RowCosts:
    """Pairs sorted by row, then cost: a row's pairs cheaper than a threshold come first."""

    order: np.ndarray  # pair indices, by row, then cost
    key: np.ndarray  # per sorted pair: row * len(levels) + the rank of its cost in levels
    levels: np.ndarray  # the distinct costs, ascending
    start: np.ndarray  # per row: its first position in order
    option: np.ndarray  # per sorted pair: its option
    cost: np.ndarray  # per sorted pair: its cost


def to_arrays(data: ModelInput) -> Arrays:
    """Flatten a :class:`ModelInput` (validated as ``build_model`` does).

    Raises
    ------
    InfeasiblePlanError
        If a demand row has no allowed option at all, naming the villages.
    """
    demand = data.demand.reset_index(drop=True)
    rows = pd.MultiIndex.from_frame(demand[["village_id", "level"]])
    opts = data.option_table()
    pairs = data.pairs
    k = rows.get_indexer(pd.MultiIndex.from_frame(pairs[["village_id", "level"]]))
    j = opts.index.get_indexer(pairs["option_id"])
    ok = (k >= 0) & (j >= 0)
    k, j, cost = k[ok], j[ok], pairs["cost"].to_numpy(dtype=float)[ok]
    _check_served(demand, k)
    order = np.lexsort((k, j))
    levels = pd.Index(sorted(demand["level"].unique()))
    sizes = None
    if data.class_size is not None:
        sizes = np.array([float(data.class_size[lvl]) for lvl in levels])
    fixed = (opts["fixed_cost"] - opts["closed_cost"]).to_numpy(dtype=float)
    values = np.concatenate([cost, fixed, opts["closed_cost"].to_numpy(dtype=float)])
    return Arrays(
        data=data,
        rows=rows,
        option_ids=opts.index,
        students=demand["students"].to_numpy(dtype=float),
        level=levels.get_indexer(demand["level"]),
        class_size=sizes,
        fixed=fixed,
        constant=float(opts["closed_cost"].sum()),
        capacity=opts["max_students"].to_numpy(dtype=float),
        class_cap=_class_cap(opts, sizes is not None),
        site=pd.factorize(opts["site_id"])[0],
        forced_open=((opts["forced"] == "open") | (opts["expand_fixed"].fillna(0) > 0)).to_numpy(),
        forced_closed=(opts["forced"] == "closed").to_numpy(),
        p=data.p,
        pk=k[order].astype(np.int64),
        pj=j[order].astype(np.int64),
        cost=cost[order],
        src=np.flatnonzero(ok)[order],
        integral=bool(np.all(values == np.round(values))),
        exact=_is_exact(data, opts),
    )


def _check_served(demand: pd.DataFrame, k: np.ndarray) -> None:
    lost = demand[np.bincount(k, minlength=len(demand)) == 0]
    if len(lost):
        names = ", ".join(
            f"{v} ({lvl}, {s:g} students)"
            for v, lvl, s in lost[["village_id", "level", "students"]].head(20).itertuples(False)
        )
        raise InfeasiblePlanError(
            f"{len(lost)} village/level demand(s) have no school within the travel limits: {names}"
        )


def _class_cap(opts: pd.DataFrame, with_classes: bool) -> np.ndarray:
    if not with_classes:
        return np.full(len(opts), np.inf)
    extra = np.fmax(opts["max_expand"].to_numpy(dtype=float), opts["expand_fixed"].fillna(0))
    rooms = opts["max_classes"].to_numpy(dtype=float) + extra
    limit = opts["class_limit"].to_numpy(dtype=float)
    return np.fmin(
        np.where(np.isnan(rooms), np.inf, rooms), np.where(np.isnan(limit), np.inf, limit)
    )


def _is_exact(data: ModelInput, opts: pd.DataFrame) -> bool:
    """No rule beyond capacity, classes, sites, forced and p (plans can be checked in numpy)."""
    return bool(
        data.budget is None
        and (opts["min_students"].fillna(0) <= 0).all()
        and (opts["max_expand"].fillna(0) <= 0).all()
        and opts["expand_fixed"].isna().all()
    )


def relaxable(data: ModelInput) -> bool:
    """Whether the relaxation's bound is valid: every dropped cost term is non-negative."""
    opts = data.option_table()
    return bool((opts["expand_cost"].fillna(0) >= 0).all()) and (
        data.min_size_penalty is None or data.min_size_penalty >= 0
    )


# ---------------------------------------------------------------- knapsacks per option


@dataclass
class Knapsack:
    """Solution of every option's knapsack for one set of reduced costs.

    ``value[j]`` is the best (most negative) sum of reduced costs option j can collect,
    ``x[pair]`` the (possibly fractional) choice, and ``rest(pairs)`` a lower bound on what
    option ``pj[pair]`` can add to the pair once the pair is forced in (its capacity reduced
    by the pair's weight; ``inf`` if the pair alone does not fit).
    """

    value: np.ndarray
    x: np.ndarray
    rest: Callable[[np.ndarray], np.ndarray]


def knapsacks(arr: Arrays, cbar: np.ndarray, *, exact: bool) -> Knapsack:
    """Every option's best set of demand rows for the reduced costs ``cbar`` (per pair)."""
    if exact and arr.class_size is None:
        return _dp_knapsacks(arr, cbar)
    weight = arr.students[arr.pk]
    ks = _lp_knapsacks(arr, cbar, weight, arr.capacity)
    if arr.class_size is None:
        return ks
    # a second valid relaxation in classes (d_k / s_l per row): keep the stronger per option
    cls = _lp_knapsacks(arr, cbar, weight / arr.class_size[arr.level[arr.pk]], arr.class_cap)
    better = cls.value > ks.value
    pick = better[arr.pj]

    def rest(pairs: np.ndarray) -> np.ndarray:
        return np.maximum(ks.rest(pairs), cls.rest(pairs))

    lp = Knapsack(
        value=np.where(better, cls.value, ks.value), x=np.where(pick, cls.x, ks.x), rest=rest
    )
    return _dp_class_knapsacks(arr, cbar, lp) if exact else lp


def dp_is_small(arr: Arrays) -> bool:
    """Whether exact knapsacks are affordable: integer demands and a small table."""
    d = arr.students
    if arr.class_size is not None or not np.all(d == np.round(d)):
        return False
    cap = np.minimum(arr.capacity, np.bincount(arr.pj, arr.students[arr.pk], arr.n_options))
    per_option = np.bincount(arr.pj, minlength=arr.n_options)
    cells = float(per_option.max(initial=0)) * arr.n_options * (cap.max(initial=0) + 1)
    return cells <= DP_CELLS


def class_dp_possible(arr: Arrays) -> bool:
    """Whether exact knapsacks with classes apply (classes given, integer students)."""
    d = arr.students
    return arr.class_size is not None and bool(np.all(d == np.round(d)))


def _neg_items(arr: Arrays, cbar: np.ndarray, weight: np.ndarray, cap: np.ndarray) -> np.ndarray:
    return np.flatnonzero((cbar < 0) & (weight <= _limit(cap)[arr.pj]))


def _limit(cap: np.ndarray) -> np.ndarray:
    """Capacities with a missing one (NaN) as no limit."""
    return np.where(np.isfinite(cap), cap, np.inf)


def _lp_knapsacks(arr: Arrays, cbar: np.ndarray, weight: np.ndarray, cap: np.ndarray) -> Knapsack:
    """Linear knapsacks: items by reduced cost per unit of weight, the last one fractional."""
    idx = _neg_items(arr, cbar, weight, cap)
    f = _fill(arr, idx, arr.pj[idx], cbar[idx], weight[idx], cap)
    x = np.zeros(len(cbar))
    x[f.idx] = f.frac
    span = float(f.before_w.max(initial=0.0)) + 1.0
    key = f.jj * (4 * span) + f.before_w  # increasing: by option, then by weight before the item

    def rest(pairs: np.ndarray) -> np.ndarray:
        room = cap[arr.pj[pairs]] - weight[pairs]
        if len(idx) == 0:
            return np.where(room < 0, np.inf, 0.0)
        q = arr.pj[pairs] * (4 * span) + np.clip(room, 0.0, 2 * span)
        t = np.clip(np.searchsorted(key, q, side="right") - 1, 0, len(idx) - 1)
        part = np.clip((room - f.before_w[t]) / f.w[t], 0.0, 1.0)
        out = np.where(f.jj[t] == arr.pj[pairs], f.before_v[t] + f.c[t] * part, 0.0)
        return np.where(room < 0, np.inf, out)

    return Knapsack(value=f.value, x=x, rest=rest)


@dataclass(frozen=True)
class _Fill:
    """Linear knapsacks over given items: the items by option, then reduced cost per unit of
    weight; the share of each taken, and the weight and value taken before it."""

    idx: np.ndarray
    jj: np.ndarray
    w: np.ndarray
    c: np.ndarray
    frac: np.ndarray
    before_w: np.ndarray
    before_v: np.ndarray
    value: np.ndarray  # per option: sum of reduced costs taken


def _fill(
    arr: Arrays, idx: np.ndarray, jj: np.ndarray, c: np.ndarray, w: np.ndarray, cap: np.ndarray
) -> _Fill:
    """Fill each option's capacity ``cap`` with the pairs ``idx`` (options ``jj``, reduced
    costs ``c`` < 0, weights ``w``, each fitting alone), best ratio first, the last one
    fractional."""
    order = np.argsort(c / w, kind="stable")  # ties keep the given order
    small = np.int16 if arr.n_options < 2**15 else np.int64  # int16: numpy's radix sort
    order = order[np.argsort(jj[order].astype(small), kind="stable")]
    idx, jj, c, w = idx[order], jj[order], c[order], w[order]
    start = np.searchsorted(jj, jj, side="left")
    cw, cv = np.cumsum(w), np.cumsum(c)
    before_w = cw - w - (cw[start] - w[start])  # weight of earlier items of the same option
    before_v = cv - c - (cv[start] - c[start])
    frac = np.clip((cap[jj] - before_w) / w, 0.0, 1.0)
    value = np.bincount(jj, weights=c * frac, minlength=arr.n_options)
    return _Fill(idx, jj, w, c, frac, before_w, before_v, value)


def _cheaper_pairs(
    arr: Arrays, lam: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The pairs with a cost below their row's multiplier (negative reduced cost), found
    without touching the others: with the pairs by row and cost, they are a prefix of each
    row's (at 9 million pairs, about a tenth are below). Returns the pairs, their rows,
    options and reduced costs."""
    rc = arr.by_row
    rows = np.arange(arr.n_rows)
    below = np.searchsorted(rc.levels, lam, side="left")  # distinct costs below lam_k
    end = np.searchsorted(rc.key, rows * len(rc.levels) + below, side="left")
    count = end - rc.start
    pos = np.arange(int(count.sum())) + np.repeat(rc.start - (np.cumsum(count) - count), count)
    k = np.repeat(rows, count)
    return rc.order[pos], k, rc.option[pos], rc.cost[pos] - lam[k]


@dataclass
class _Block:
    """Knapsack tables of a group of options, ordered by item count (most items first)."""

    options: np.ndarray  # the block's options, in table order
    table: np.ndarray  # (options, top + 1): best value with capacity at most c
    take: list[np.ndarray]  # per item step t: (options with a t-th item, top + 1)
    weights: np.ndarray  # (depth, options); item t of option r exists for r < len(take[t])
    item: np.ndarray  # (depth, options): pair index

    def pick(self, room: np.ndarray) -> np.ndarray:
        """Pair indices chosen with capacity ``room`` per option of the block."""
        left = np.clip(room, 0, self.table.shape[1] - 1).astype(np.int64)
        chosen = []
        for t in range(len(self.take) - 1, -1, -1):
            w = self.take[t].shape[0]
            hit = self.take[t][np.arange(w), left[:w]]
            chosen.append(self.item[t, :w][hit])
            left[:w] -= np.where(hit, self.weights[t, :w], 0)
        return np.concatenate(chosen) if chosen else np.zeros(0, np.int64)


@dataclass
class _Table:
    """Knapsack tables of the options that have items, in blocks of similar capacity."""

    blocks: list[_Block]
    block: np.ndarray  # per option: its block, or -1 (no item worth taking)
    row: np.ndarray  # per option: its row in the block

    def at(self, options: np.ndarray, room: np.ndarray) -> np.ndarray:
        """Best value of each option with capacity ``room`` (0 for options without items)."""
        out = np.zeros(len(options))
        b = self.block[options]
        for i, blk in enumerate(self.blocks):
            hit = b == i
            col = np.clip(room[hit], 0, blk.table.shape[1] - 1).astype(np.int64)
            out[hit] = blk.table[self.row[options[hit]], col]
        return out

    def pick(self, room: np.ndarray) -> np.ndarray:
        """Pair indices chosen when each option (all of them) has capacity ``room``."""
        chosen = [blk.pick(room[blk.options]) for blk in self.blocks]
        return np.concatenate([np.zeros(0, np.int64), *chosen])


def _dp_table(arr: Arrays, cbar: np.ndarray, items: np.ndarray, cap: np.ndarray) -> _Table:
    """Exact 0-1 knapsack tables over the pairs ``items`` (sorted by option), vectorised.

    Only items worth taking (negative reduced cost, fitting) enter. Options are grouped in
    blocks of similar capacity (``_blocks``), each with a table as wide as its largest
    capacity; within a block, options are ordered by item count, so step t of the DP
    updates only the options with more than t items.
    """
    w_all = arr.students.astype(np.int64)[arr.pk]
    idx = items[(cbar[items] < 0) & (w_all[items] <= cap[arr.pj[items]])]
    jj = arr.pj[idx]
    count = np.bincount(jj, minlength=arr.n_options)
    active = np.flatnonzero(count)
    block = np.full(arr.n_options, -1)
    row = np.zeros(arr.n_options, np.int64)
    blocks: list[_Block] = []
    rank = np.arange(len(idx)) - np.searchsorted(jj, jj, side="left")
    for members in _blocks(cap[active]):
        opts = active[members]
        opts = opts[np.argsort(-count[opts], kind="stable")]
        block[opts], row[opts] = len(blocks), np.arange(len(opts))
        mine = np.flatnonzero(block[jj] == len(blocks))
        depth = int(count[opts[0]])
        weights = np.zeros((depth, len(opts)), np.int64)
        costs = np.zeros((depth, len(opts)))
        item = np.full((depth, len(opts)), -1)
        at = (rank[mine], row[jj[mine]])
        weights[at], costs[at], item[at] = w_all[idx[mine]], cbar[idx[mine]], idx[mine]
        table, take = _dp_tables(weights, costs, count[opts], int(cap[opts].max()))
        blocks.append(_Block(options=opts, table=table, take=take, weights=weights, item=item))
    return _Table(blocks=blocks, block=block, row=row)


def _blocks(cap: np.ndarray) -> list[np.ndarray]:
    """Options (positions) grouped by capacity, largest first: a new block starts where the
    capacity drops below half the block's largest, once the block's table holds
    ``DP_BLOCK_CELLS`` cells (smaller blocks would cost more in numpy calls than they save)."""
    order = np.argsort(-cap, kind="stable")
    groups, start = [], 0
    for i in range(1, len(order) + 1):
        top = cap[order[start]] + 1
        if i == len(order) or (cap[order[i]] < 0.5 * top and (i - start) * top >= DP_BLOCK_CELLS):
            groups.append(order[start:i])
            start = i
    return groups


def _dp_knapsacks(arr: Arrays, cbar: np.ndarray) -> Knapsack:
    """Exact 0-1 knapsacks in students by dynamic programming, vectorised over the options."""
    cap = arr.capacity.astype(np.int64)
    dp = _dp_table(arr, cbar, np.arange(len(cbar)), cap)
    x = np.zeros(len(cbar))
    x[dp.pick(cap)] = 1.0
    options = np.arange(arr.n_options)
    value = dp.at(options, cap)
    w_all = arr.students.astype(np.int64)[arr.pk]

    def rest(pairs: np.ndarray) -> np.ndarray:
        room = cap[arr.pj[pairs]] - w_all[pairs]
        return np.where(room < 0, np.inf, dp.at(arr.pj[pairs], room))

    return Knapsack(value=value, x=x, rest=rest)


def _dp_class_knapsacks(arr: Arrays, cbar: np.ndarray, lp: Knapsack) -> Knapsack:
    """Exact knapsacks with integer classes: per level a 0-1 knapsack in students for every
    number of classes, then the best split of the option's classes between the levels.

    The joint limit in students is not in the tables; the linear knapsack ``lp`` holds it,
    and the stronger of the two values is kept per option.
    """
    assert arr.class_size is not None
    sizes = arr.class_size.astype(np.int64)
    most = np.ceil(arr.capacity[:, None] / sizes[None, :]).sum(axis=1)
    k = np.minimum(arr.class_cap, most).astype(np.int64)
    kmax = int(k.max(initial=0))
    counts = np.arange(kmax + 1)
    options = np.arange(arr.n_options)
    tables, gains = [], []
    for lvl, size in enumerate(sizes.tolist()):
        cap = np.minimum(arr.capacity, size * k).astype(np.int64)
        items = np.flatnonzero(arr.level[arr.pk] == lvl)
        dp = _dp_table(arr, cbar, items, cap)
        room = np.minimum(size * counts[None, :], cap[:, None])
        gains.append(dp.at(np.repeat(options, kmax + 1), room.ravel()).reshape(-1, kmax + 1))
        tables.append((dp, size, cap))
    total, splits = gains[0], []
    for g in gains[1:]:
        total, arg = _min_plus(total, g)
        splits.append(arg)
    dw = total[options, k]
    classes = _split_classes(k, splits)
    x = np.zeros(len(cbar))
    for (dp, size, cap), c in zip(tables, classes, strict=True):
        x[dp.pick(np.minimum(size * c, cap))] = 1.0
    better = dw >= lp.value
    return Knapsack(
        value=np.maximum(dw, lp.value),
        x=np.where(better[arr.pj], x, lp.x),
        rest=lambda pairs: np.maximum(lp.rest(pairs), dw[arr.pj[pairs]]),
    )


def _min_plus(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """out[:, c] = min over t <= c of a[:, t] + b[:, c - t], and the best t."""
    n = a.shape[1]
    out = np.full(a.shape, np.inf)
    arg = np.zeros(a.shape, dtype=np.int64)
    for t in range(n):
        cand = a[:, t : t + 1] + b[:, : n - t]
        better = cand < out[:, t:]
        out[:, t:] = np.where(better, cand, out[:, t:])
        arg[:, t:] = np.where(better, t, arg[:, t:])
    return out, arg


def _split_classes(k: np.ndarray, splits: list[np.ndarray]) -> list[np.ndarray]:
    """Classes per level of the best split (levels in order), from the min-plus choices."""
    options = np.arange(len(k))
    left, per_level = k.copy(), []
    for arg in reversed(splits):
        before = arg[options, left]
        per_level.append(left - before)
        left = before
    per_level.append(left)
    return per_level[::-1]


def _dp_tables(
    weights: np.ndarray, costs: np.ndarray, count: np.ndarray, top: int
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Best value with capacity at most c, per option, after each item; and the take flags.

    Options are ordered by ``count`` (descending): step t touches the first options only.
    """
    table = np.zeros((weights.shape[1], top + 1))
    take = []
    cols = np.arange(top + 1)
    steps = np.arange(weights.shape[0])
    widths = np.searchsorted(-count, -steps, side="left")  # options with more than t items
    for t, w in zip(steps, widths.tolist(), strict=True):
        src = cols[None, :] - weights[t, :w, None]
        head = table[:w]
        cand = np.where(
            src >= 0, head[np.arange(w)[:, None], np.maximum(src, 0)] + costs[t, :w, None], np.inf
        )
        better = cand < head
        take.append(better)
        table[:w] = np.where(better, cand, head)
    return table, take


# ---------------------------------------------------------------- choosing the open options


@dataclass(frozen=True)
class Selection:
    """The open options of the relaxation and what forcing one more open would cost."""

    open: np.ndarray  # bool per option
    value: float  # sum of v_j over the open options
    extra: np.ndarray  # per option: increase of the bound if it must be open (inf: cannot)


def select(arr: Arrays, v: np.ndarray) -> Selection:
    """Cheapest allowed open set for option values ``v``: sites, forced rules and ``p``.

    Raises
    ------
    InfeasiblePlanError
        If the forced decisions and ``p`` cannot all hold.
    """
    v = np.where(arr.forced_closed, np.inf, v)
    n_sites = int(arr.site.max(initial=-1)) + 1
    must = np.zeros(n_sites, dtype=bool)
    must[arr.site[arr.forced_open]] = True
    key = np.where(arr.forced_open, -np.inf, v)  # a forced option is its site's choice
    order = np.lexsort((np.arange(len(v)), key, arr.site))
    first = order[np.r_[True, arr.site[order][1:] != arr.site[order][:-1]]]
    best = np.full(n_sites, np.inf)
    best[arr.site[first]] = v[first]
    chosen_site = _choose_sites(arr, best, must)
    is_open = np.zeros(len(v), dtype=bool)
    is_open[first[chosen_site[arr.site[first]]]] = True
    value = float(best[chosen_site].sum())
    return Selection(open=is_open, value=value, extra=_extra(arr, v, best, must, chosen_site))


def _choose_sites(arr: Arrays, best: np.ndarray, must: np.ndarray) -> np.ndarray:
    if arr.p is None:
        return must | (best < 0)
    free = np.flatnonzero(~must & np.isfinite(best))
    need = arr.p - int(must.sum())
    if need < 0 or need > len(free):
        raise InfeasiblePlanError(
            f"exactly {arr.p} schools must be open, but {int(must.sum())} are forced open and "
            f"only {int(must.sum()) + len(free)} can be open at all"
        )
    chosen = must.copy()
    chosen[free[np.argsort(best[free], kind="stable")[:need]]] = True
    return chosen


def _extra(
    arr: Arrays, v: np.ndarray, best: np.ndarray, must: np.ndarray, chosen: np.ndarray
) -> np.ndarray:
    """Bound increase if option j must be open, given the site choice."""
    s = arr.site
    if arr.p is None:
        out = v - np.where(chosen[s], best[s], 0.0)
    else:
        swappable = chosen & ~must
        worst = best[swappable].max() if swappable.any() else np.inf
        out = np.where(chosen[s], v - best[s], v - worst)
    blocked = must[s] & ~arr.forced_open  # its site already has a forced option
    return np.where(blocked | arr.forced_closed, np.inf, np.maximum(out, 0.0))


# ---------------------------------------------------------------- subgradient optimisation


@dataclass
class Bound:
    """The best Lagrangian bound found and what it implies.

    ``pair_bound[pair]`` and ``option_bound[j]`` are lower bounds on every plan that uses
    that pair or opens that option: anything above the best known plan can be left out.
    """

    value: float
    lam: np.ndarray
    iterations: int
    pair_bound: np.ndarray
    option_bound: np.ndarray
    open_sets: list[np.ndarray] = field(default_factory=list)


PlanFinder = Callable[[np.ndarray, np.ndarray, np.ndarray], float | None]  # open, v_j, x


def lagrangian_bound(
    arr: Arrays,
    lam: np.ndarray,
    *,
    upper: float | None,
    iterations: int,
    exact: bool,
    find_plan: PlanFinder | None = None,
    plan_every: int = 25,
    deadline: float = math.inf,
    theta: float = 1.0,
    reach: float = 0.0,
    stop: Callable[[], bool] | None = None,
    enough: Callable[[Bound], bool] | None = None,
) -> Bound:
    """Maximise L(lambda) by subgradient steps (Polyak step to the best known plan).

    ``find_plan(open_mask, v, x)`` may return the objective of a plan it built from the
    relaxation's open set; it is called every ``plan_every`` iterations and lowers the target.
    The iteration count ends the search, so the result is reproducible; ``deadline``
    (``time.perf_counter()`` seconds) only caps it on a very slow machine. ``theta`` is the
    first step factor; with ``reach > 0`` each step aims at most ``reach`` (relative) above
    the best bound so far instead of at the plan's cost. ``stop()`` true ends the search
    early (the bound so far is returned). ``enough(bound)``, asked every ``plan_every``
    iterations with the best bound so far, true ends it too (that bound is returned).
    """
    best, best_lam, stall = -np.inf, lam.copy(), 0
    sets: list[np.ndarray] = []
    last_g = np.zeros(arr.n_rows)
    target = upper
    it = 0
    for it in range(iterations):
        value, g, sel, v, chosen = _evaluate(arr, lam, exact)
        if value > best + 1e-9 * max(1.0, abs(value)):
            best, best_lam, stall = value, lam.copy(), 0
        else:
            stall += 1
            if stall >= 20:
                theta, stall = theta / 2, 0
        if it % 5 == 4:
            sets.append(sel.open)
        if find_plan is not None and it % plan_every == plan_every - 1:
            x = np.zeros(len(arr.pk), dtype=bool)
            x[chosen] = True
            found = find_plan(sel.open, v, x)
            if found is not None and (target is None or found < target):
                target = found
        if enough is not None and it % plan_every == plan_every - 1:
            so_far = _finish(arr, best_lam, exact, iterations=it + 1, sets=sets)
            if enough(so_far):
                return so_far
        if target is not None and best >= target - _tolerance(arr, target):
            break
        step_to = _step_target(best, target, reach)
        direction = g + 0.3 * last_g
        norm = float(direction @ direction)
        if norm == 0 or theta < 1e-4 or time.perf_counter() > deadline:
            break
        if stop is not None and stop():
            break
        last_g = direction
        lam = lam + theta * max(step_to - value, 1e-9) / norm * direction
    return _finish(arr, best_lam, exact, iterations=it + 1, sets=sets)


def _step_target(best: float, target: float | None, reach: float) -> float:
    aim = best + (reach if reach > 0 else 0.05) * abs(best) + 1e-9
    if target is None:
        return aim
    return min(target, aim) if reach > 0 else target


def _tolerance(arr: Arrays, target: float) -> float:
    return 1.0 - 1e-6 if arr.integral else 1e-6 * max(1.0, abs(target))


def _evaluate(
    arr: Arrays, lam: np.ndarray, exact: bool
) -> tuple[float, np.ndarray, Selection, np.ndarray, np.ndarray]:
    """L(lam), its subgradient, the open options and their values, and the pairs the
    knapsacks take more than half of."""
    if exact or arr.class_size is not None:
        ks = knapsacks(arr, arr.cost - lam[arr.pk], exact=exact)
        value_j, taken = ks.value, np.flatnonzero(ks.x)
        frac = ks.x[taken]
    else:  # linear knapsacks in students: only the pairs with negative reduced cost
        idx, k, j, c = _cheaper_pairs(arr, lam)
        w = arr.students[k]
        fits = w <= _limit(arr.capacity)[j]
        fill = _fill(arr, idx[fits], j[fits], c[fits], w[fits], arr.capacity)
        value_j, taken, frac = fill.value, fill.idx, fill.frac
    v = arr.fixed + value_j
    sel = select(arr, v)
    value = float(lam.sum()) + sel.value + arr.constant
    served = np.bincount(
        arr.pk[taken], weights=frac * sel.open[arr.pj[taken]], minlength=arr.n_rows
    )
    return value, 1.0 - served, sel, v, taken[frac > 0.5]


def _finish(
    arr: Arrays, lam: np.ndarray, exact: bool, *, iterations: int, sets: list[np.ndarray]
) -> Bound:
    """Bound at ``lam`` and the bounds on plans that use each pair or open each option."""
    cbar = arr.cost - lam[arr.pk]
    ks = knapsacks(arr, cbar, exact=exact)
    v = arr.fixed + ks.value
    sel = select(arr, v)
    base = float(lam.sum()) + sel.value + arr.constant
    with_pair = arr.fixed[arr.pj] + cbar + ks.rest(np.arange(len(cbar)))
    # if pair (k, j) is used, option j is open with at least with_pair as its value
    pair_bound = base + sel.extra[arr.pj] + np.maximum(with_pair - v[arr.pj], 0.0)
    pair_bound = np.where(np.isfinite(v[arr.pj]), pair_bound, np.inf)
    return Bound(
        value=base,
        lam=lam,
        iterations=iterations,
        pair_bound=pair_bound,
        option_bound=base + sel.extra,
        open_sets=sets,
    )
