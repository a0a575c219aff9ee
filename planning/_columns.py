"""Column enumeration: the set-partitioning form of models whose options are knapsacks.

A *column* is one option together with the set of demand rows it serves. Given Lagrangian
multipliers ``lambda`` with bound ``LB``, every plan ``P`` satisfies

    cost(P) >= LB + extra_j + rc(j, S)   for each of its columns (j, S),

where ``rc(j, S) = sum_{k in S} (a_kj - lambda_k) - v_j >= 0`` is the column's reduced cost and
``extra_j`` the bound increase for opening j (see :mod:`planning._lagrangian`). So the columns
with ``LB + extra_j + rc(j, S) <= T`` contain every plan that costs at most ``T``. When there
are few of them, the set-partitioning model over them (choose columns, one per site, ``p`` of
them, covering every row) is small and its linear relaxation is as strong as the Lagrangian
bound; it is stated as an ordinary :class:`~planning.model.ModelInput` (options = columns)
and solved by the project's MIP code.

Only models with capacity in students (no classes), integer demands, no forced options and no
rule beyond those are enumerated; the caller checks this with :func:`applies`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from planning._lagrangian import Arrays, knapsacks, select
from planning.model import ModelInput


@dataclass(frozen=True)
class Columns:
    """Enumerated columns: option index and the pair indices of its rows, per column."""

    option: np.ndarray
    members: list[np.ndarray]
    threshold: float

    def __len__(self) -> int:
        return len(self.option)


def applies(arr: Arrays) -> bool:
    """Whether the model is a knapsack-per-option model the enumeration handles exactly."""
    return (
        arr.exact
        and arr.class_size is None
        and not arr.forced_open.any()
        and bool(np.all(arr.students == np.round(arr.students)))
    )


def enumerate_columns(
    arr: Arrays, lam: np.ndarray, threshold: float, *, max_columns: int, max_nodes: int
) -> Columns | None:
    """Every column that can be part of a plan costing at most ``threshold``.

    Returns None if there are more than ``max_columns`` columns or the search visits more
    than ``max_nodes`` nodes (the caller then falls back to the compact model).
    """
    cbar = arr.cost - lam[arr.pk]
    ks = knapsacks(arr, cbar, exact=True)
    v = arr.fixed + ks.value
    sel = select(arr, v)
    lower = float(lam.sum()) + sel.value + arr.constant
    option: list[int] = []
    members: list[np.ndarray] = []
    budget = [max_nodes]
    for j in np.flatnonzero(np.isfinite(sel.extra)).tolist():
        slack = threshold - lower - float(sel.extra[j])
        if slack < -1e-9:
            continue
        found = _option_columns(arr, cbar, j, float(ks.value[j]), slack, budget)
        if found is None or len(option) + len(found) > max_columns:
            return None
        option += [j] * len(found)
        members += found
    return Columns(option=np.array(option, dtype=np.int64), members=members, threshold=threshold)


def _option_columns(
    arr: Arrays, cbar: np.ndarray, j: int, value: float, slack: float, budget: list[int]
) -> list[np.ndarray] | None:
    """Subsets of option j's pairs within its capacity whose reduced costs sum to at most
    ``value + slack`` (``value``: the best such sum). An item above ``slack`` never fits."""
    lo, hi = np.searchsorted(arr.pj, [j, j + 1])
    pairs = np.arange(lo, hi)
    w = arr.students[arr.pk[pairs]].astype(np.int64)
    cap = int(arr.capacity[j])
    limit = value + slack
    ok = (cbar[pairs] <= slack + 1e-9) & (w <= cap)
    pairs, w = pairs[ok], w[ok]
    order = np.lexsort((pairs, cbar[pairs]))
    pairs, w = pairs[order], w[order]
    c = cbar[pairs]
    best = _suffix_table(c, w, cap)
    return _search(pairs, c.tolist(), w.tolist(), best, cap, limit + 1e-9, budget)


def _suffix_table(c: np.ndarray, w: np.ndarray, cap: int) -> np.ndarray:
    """best[i, r]: least sum of reduced costs of a subset of items i.. with weight <= r."""
    best = np.zeros((len(c) + 1, cap + 1))
    cols = np.arange(cap + 1)
    for i in range(len(c) - 1, -1, -1):
        take = np.where(cols >= w[i], best[i + 1, np.maximum(cols - w[i], 0)] + c[i], np.inf)
        best[i] = np.minimum(best[i + 1], take)
    return best


def _search(
    pairs: np.ndarray,
    c: list[float],
    w: list[int],
    best: np.ndarray,
    cap: int,
    limit: float,
    budget: list[int],
) -> list[np.ndarray] | None:
    """Depth-first enumeration, pruned by the suffix table; None when over budget."""
    table = best.tolist()
    n = len(c)
    out: list[np.ndarray] = []
    stack: list[tuple[int, int, float, tuple[int, ...]]] = [(0, 0, 0.0, ())]
    while stack:
        budget[0] -= 1
        if budget[0] < 0:
            return None
        i, used, cost, chosen = stack.pop()
        if i == n:
            out.append(pairs[list(chosen)])
            continue
        room = cap - used
        if cost + table[i + 1][room] <= limit:
            stack.append((i + 1, used, cost, chosen))
        if w[i] <= room and cost + c[i] + table[i + 1][room - w[i]] <= limit:
            stack.append((i + 1, used + w[i], cost + c[i], (*chosen, i)))
    return out


def partition_model(arr: Arrays, cols: Columns) -> ModelInput:
    """The set-partitioning model over the columns, as a ModelInput (options = columns).

    A column's fixed cost is its option's net fixed cost plus its rows' assignment costs;
    the rows' pairs cost nothing; a site holds at most one column; ``p`` is kept. The
    objective is the plan's cost less the constant ``sum_j g_j``.
    """
    names = np.array([f"col{n}" for n in range(len(cols))])
    col_cost = np.array([arr.cost[m].sum() for m in cols.members]) + arr.fixed[cols.option]
    load = np.array([arr.students[arr.pk[m]].sum() for m in cols.members])
    sites = arr.data.options["site_id"].to_numpy()[cols.option]
    options = pd.DataFrame(
        {
            "site_id": sites,
            "fixed_cost": col_cost,
            "closed_cost": 0.0,
            "max_students": np.maximum(load, 1.0),
            "max_classes": np.nan,
            "forced": "",
        },
        index=pd.Index(names, name="option_id"),
    )
    sizes = np.array([len(m) for m in cols.members])
    flat = np.concatenate(cols.members) if len(cols) else np.zeros(0, np.int64)
    keys = arr.rows[arr.pk[flat]].to_frame(index=False)
    pairs = keys.assign(option_id=np.repeat(names, sizes), cost=0.0)
    return ModelInput(
        demand=arr.data.demand, options=options, pairs=pairs, class_size=None, p=arr.p
    )


def plan_from_partition(arr: Arrays, cols: Columns, assignment: pd.DataFrame) -> np.ndarray:
    """Pair index per demand row of the original model, from the partition model's plan."""
    col = assignment["option_id"].str.slice(3).astype(int).to_numpy()
    k = arr.rows.get_indexer(pd.MultiIndex.from_frame(assignment[["village_id", "level"]]))
    keys = pd.Series(np.arange(len(arr.pk)), index=arr.pk * arr.n_options + arr.pj)
    plan = np.full(arr.n_rows, -1)
    plan[k] = keys.loc[k * arr.n_options + cols.option[col]].to_numpy()
    return plan
