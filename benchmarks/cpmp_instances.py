"""Readers for capacitated p-median instances (OR-Library Osman-Christofides, Lorena-Senne).

Both formats become one :class:`Instance`: coordinates, demands, capacities, p, and the distance
convention of the set (OR-Library: Euclidean rounded down; Lorena-Senne: real Euclidean).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from planning.model import ModelInput


@dataclass(frozen=True)
class Instance:
    name: str
    xy: np.ndarray
    demand: np.ndarray
    capacity: np.ndarray
    p: int
    floor_distances: bool
    known: float | None = None

    @property
    def n(self) -> int:
        return len(self.xy)

    def distances(self) -> np.ndarray:
        d = np.hypot(*(self.xy[:, None, :] - self.xy[None, :, :]).transpose(2, 0, 1))
        return np.floor(d + 1e-9) if self.floor_distances else d


def read_instances(path: str | Path) -> list[Instance]:
    """All instances in a file, in order (an OR-Library file holds several)."""
    path = Path(path)
    rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    if len(rows[0]) == 1:
        return _read_orlib(rows, path.stem)
    if len(rows[0]) == 2:
        return [_read_lorena_senne(rows, path.stem)]
    raise ValueError(f"{path}: unknown CPMP format (first line {rows[0]})")


def _read_orlib(rows: list[list[str]], stem: str) -> list[Instance]:
    count, pos, out = int(rows[0][0]), 1, []
    for _ in range(count):
        number, optimum = rows[pos]
        n, p, cap = (int(v) for v in rows[pos + 1])
        body = np.array(rows[pos + 2 : pos + 2 + n], dtype=float)
        out.append(
            Instance(
                name=f"{stem}-{int(number)}",
                xy=body[:, 1:3],
                demand=body[:, 3],
                capacity=np.full(n, float(cap)),
                p=p,
                floor_distances=True,
                known=float(optimum),
            )
        )
        pos += 2 + n
    return out


_LORENA_SENNE_BEST = {
    "SJC1": 17288.99,
    "SJC2": 33270.94,
    "SJC3a": 45335.16,
    "SJC3b": 40635.90,
    "SJC4a": 61925.51,
    "SJC4b": 52469.96,
}


def _read_lorena_senne(rows: list[list[str]], stem: str) -> Instance:
    n, p = (int(v) for v in rows[0])
    body = np.array(rows[1 : 1 + n], dtype=float)
    return Instance(
        name=stem,
        xy=body[:, :2],
        capacity=body[:, 2],
        demand=body[:, 3],
        p=p,
        floor_distances=False,
        known=_LORENA_SENNE_BEST.get(stem),
    )


def model_input(inst: Instance, *, weighted: bool = False) -> ModelInput:
    """The classic CPMP as the planner's model: single level, capacity in demand units, p open.

    The objective is the sum of distances (not weighted by demand), as in both sets; with
    ``weighted`` it is the sum of demand x distance (the p-median spopt states).
    """
    ids = np.array([f"n{i}" for i in range(inst.n)])
    d = inst.distances()
    if weighted:
        d = d * inst.demand[:, None]
    demand = pd.DataFrame({"village_id": ids, "level": "all", "students": inst.demand})
    options = pd.DataFrame(
        {
            "site_id": ids,
            "fixed_cost": 0.0,
            "closed_cost": 0.0,
            "max_students": inst.capacity,
            "max_classes": np.nan,
            "forced": "",
        },
        index=ids,
    )
    i, j = np.meshgrid(np.arange(inst.n), np.arange(inst.n), indexing="ij")
    pairs = pd.DataFrame(
        {
            "village_id": ids[i.ravel()],
            "level": "all",
            "option_id": ids[j.ravel()],
            "cost": d.ravel(),
        }
    )
    return ModelInput(demand=demand, options=options, pairs=pairs, class_size=None, p=inst.p)
