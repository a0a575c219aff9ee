"""Exact knapsacks of the Lagrangian bound against enumeration of every subset."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from planning import _lagrangian
from planning._lagrangian import Arrays, knapsacks, to_arrays
from planning.model import ModelInput


def instance(seed: int, *, classes: bool) -> tuple[Arrays, np.ndarray]:
    """Options of very different capacities, each with 0-9 rows; random reduced costs."""
    rng = np.random.default_rng(seed)
    n_options, n_villages = 9, 14
    vid = np.array([f"V{i}" for i in range(n_villages)])
    levels = ["primary", "junior"] if classes else ["all"]
    demand = pd.concat(
        [
            pd.DataFrame({"village_id": vid, "level": lvl, "students": rng.integers(1, 60, 14)})
            for lvl in levels
        ],
        ignore_index=True,
    ).astype({"students": float})
    oid = [f"O{j}" for j in range(n_options)]
    options = pd.DataFrame(
        {
            "site_id": oid,
            "fixed_cost": 0.0,
            "closed_cost": 0.0,
            "max_students": rng.choice([8.0, 40.0, 90.0, 200.0, 400.0], n_options),
            "max_classes": rng.choice([1.0, 2.0, 4.0, 8.0], n_options) if classes else np.nan,
            "forced": "",
        },
        index=pd.Index(oid, name="option_id"),
    )
    rows = []
    for j in range(n_options):
        near = rng.choice(len(demand), size=rng.integers(0, 10), replace=False)
        rows.append(demand.iloc[near][["village_id", "level"]].assign(option_id=oid[j]))
    rows.append(demand[["village_id", "level"]].assign(option_id=oid[0]))  # every row served
    pairs = pd.concat(rows, ignore_index=True).drop_duplicates(["village_id", "level", "option_id"])
    pairs["cost"] = rng.uniform(0, 10, len(pairs)).round(2)
    data = ModelInput(
        demand=demand,
        options=options,
        pairs=pairs,
        class_size={"primary": 45, "junior": 50} if classes else None,
    )
    arr = to_arrays(data)
    lam = rng.uniform(0, 10, arr.n_rows)
    return arr, arr.cost - lam[arr.pk]


def best_subset(arr: Arrays, cbar: np.ndarray, j: int, fits: Callable[[np.ndarray], bool]) -> float:
    """Least sum of reduced costs over every subset of option j's pairs that ``fits``."""
    mine = np.flatnonzero(arr.pj == j)
    if len(mine) > 10:  # option 0 serves every row: its only negative pairs matter
        mine = mine[np.argsort(cbar[mine])[:10]]
    best = 0.0
    for r in range(1, len(mine) + 1):
        for combo in itertools.combinations(mine, r):
            pick = np.array(combo)
            if fits(pick):
                best = min(best, float(cbar[pick].sum()))
    return best


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("block_cells", [1, 100_000])
def test_student_knapsacks_are_exact(
    seed: int, block_cells: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Value, choice and the value after forcing a pair in, with one block of options or
    one per capacity (``block_cells`` 1)."""
    monkeypatch.setattr(_lagrangian, "DP_BLOCK_CELLS", block_cells)
    arr, cbar = instance(seed, classes=False)
    cbar = _only_ten_negative(arr, cbar)
    ks = knapsacks(arr, cbar, exact=True)
    w = arr.students[arr.pk]
    for j in range(arr.n_options):

        def fits(pick: np.ndarray, room: float = arr.capacity[j]) -> bool:
            return bool(w[pick].sum() <= room)

        assert ks.value[j] == pytest.approx(best_subset(arr, cbar, j, fits))
        chosen = (arr.pj == j) & (ks.x > 0.5)
        assert w[chosen].sum() <= arr.capacity[j]
        assert cbar[chosen].sum() == pytest.approx(ks.value[j])
    for pair in range(len(cbar)):
        j = arr.pj[pair]
        room = arr.capacity[j] - w[pair]
        rest = ks.rest(np.array([pair]))[0]
        if room < 0:
            assert rest == np.inf
        else:  # the best set within the room left (it may hold the pair again: a bound)

            def within(pick: np.ndarray, room: float = room) -> bool:
                return bool(w[pick].sum() <= room)

            assert rest == pytest.approx(best_subset(arr, cbar, j, within))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("block_cells", [1, 100_000])
def test_class_knapsacks_are_exact_per_level(
    seed: int, block_cells: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In classes: the best sets whose classes fit the rooms (each level within the student
    limit), or the linear knapsack's value where that is stronger."""
    monkeypatch.setattr(_lagrangian, "DP_BLOCK_CELLS", block_cells)
    arr, cbar = instance(seed, classes=True)
    cbar = _only_ten_negative(arr, cbar)
    assert arr.class_size is not None
    ks = knapsacks(arr, cbar, exact=True)
    lp = knapsacks(arr, cbar, exact=False)
    w = arr.students[arr.pk]
    lvl = arr.level[arr.pk]
    size = arr.class_size
    for j in range(arr.n_options):

        def fits(pick: np.ndarray, j: int = j) -> bool:
            per_level = np.bincount(lvl[pick], w[pick], minlength=len(size))
            return bool(
                (per_level <= arr.capacity[j]).all()
                and np.ceil(per_level / size).sum() <= arr.class_cap[j]
            )

        assert ks.value[j] == pytest.approx(max(best_subset(arr, cbar, j, fits), lp.value[j]))


def _only_ten_negative(arr: Arrays, cbar: np.ndarray) -> np.ndarray:
    """Enumeration stays small: option 0 (which serves every row) keeps 10 negative pairs."""
    mine = np.flatnonzero((arr.pj == 0) & (cbar < 0))
    out = cbar.copy()
    out[mine[np.argsort(cbar[mine])[10:]]] = 1.0
    return out


@pytest.mark.parametrize("seed", range(6))
def test_linear_rounds_read_only_the_cheaper_pairs_and_get_the_same(seed: int) -> None:
    """The subgradient rounds in students take only each row's pairs cheaper than its
    multiplier (``_cheaper_pairs``): bound, subgradient and chosen pairs as from every
    pair's reduced cost, also where a multiplier equals a cost exactly."""
    arr, cbar = instance(seed, classes=False)
    lam = arr.cost[arr.pk] - cbar  # instance's multipliers, per pair -> per row below
    lam = np.bincount(arr.pk, lam, arr.n_rows) / np.bincount(arr.pk, minlength=arr.n_rows)
    tied = np.random.default_rng(seed).choice(len(arr.pk), 5, replace=False)
    lam[arr.pk[tied]] = arr.cost[tied]  # a pair exactly at its row's multiplier: not taken
    full = arr.cost - lam[arr.pk]
    ks = knapsacks(arr, full, exact=False)
    sel = _lagrangian.select(arr, arr.fixed + ks.value)
    served = np.bincount(arr.pk, ks.x * sel.open[arr.pj], arr.n_rows)

    value, g, got, v, chosen = _lagrangian._evaluate(arr, lam, exact=False)

    assert value == pytest.approx(float(lam.sum()) + sel.value + arr.constant)
    np.testing.assert_allclose(v, arr.fixed + ks.value)
    np.testing.assert_allclose(g, 1.0 - served)
    assert (got.open == sel.open).all()
    assert sorted(chosen) == sorted(np.flatnonzero(ks.x > 0.5))
    idx = _lagrangian._cheaper_pairs(arr, lam)[0]
    assert sorted(idx) == sorted(np.flatnonzero(full < 0))
