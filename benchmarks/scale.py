"""Prefecture scale: about 10,000 villages and 1,000 candidate sites, planned at once.

    python benchmarks/scale.py [--villages N] [--sites M] [--time-limit S] [--seed K]

Generates a clustered instance (deterministic seed) whose travel cut-off leaves about 20-50
sites per village, two school levels with integer classes, and plans it with
:func:`planning.optimize.optimize` (the planner's entry point; at this size its matheuristic).
Prints generation time, model-building time, solve time, objective, bound (of the full model),
gap, status and peak memory (this process and its worker processes), and writes
benchmarks/results/scale.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _memory import MemoryPeak
from scipy.spatial import cKDTree

from planning.model import ModelInput
from planning.optimize import optimize

RESULTS = Path(__file__).resolve().parent / "results" / "scale.json"


def make_instance(
    n_villages: int, n_sites: int, *, seed: int = 7, target_neighbours: int = 35
) -> ModelInput:
    """A clustered prefecture: towns of villages, sites placed among them, two levels."""
    rng = np.random.default_rng(seed)
    side = 150_000.0  # metres
    towns = rng.uniform(0, side, size=(max(10, n_villages // 60), 2))
    pick = rng.integers(0, len(towns), n_villages)
    vxy = towns[pick] + rng.normal(0, 4_000, size=(n_villages, 2))
    sxy = vxy[rng.choice(n_villages, n_sites, replace=False)] + rng.normal(0, 500, (n_sites, 2))
    # radius giving about target_neighbours sites per village on average
    dist, _ = cKDTree(sxy).query(vxy, k=target_neighbours)
    radius = float(np.median(dist[:, -1]))
    hits = cKDTree(sxy).query_ball_point(vxy, radius)
    v = np.repeat(np.arange(n_villages), [len(h) for h in hits])
    s = np.fromiter((j for h in hits for j in h), dtype=np.int64, count=len(v))
    km = np.hypot(*(vxy[v] - sxy[s]).T) * 1.3 / 1000.0
    vid = np.array([f"V{i:05d}" for i in range(n_villages)])
    sid = np.array([f"S{j:04d}" for j in range(n_sites)])
    children = rng.lognormal(np.log(35), 0.7, n_villages).round().clip(3, 1500)
    demand = pd.concat(
        [
            pd.DataFrame({"village_id": vid, "level": "primary", "students": children}),
            pd.DataFrame(
                {"village_id": vid, "level": "junior", "students": (children / 2).round()}
            ),
        ],
        ignore_index=True,
    )
    demand = demand[demand["students"] > 0]
    # about 1.5x the places the children need, in the usual school sizes
    need = demand["students"].sum() / 45.0 * 1.5 / n_sites
    rooms = rng.choice([6, 12, 18, 24, 36], n_sites, p=[0.2, 0.3, 0.25, 0.15, 0.1])
    rooms = (rooms * need / 17.1).round().clip(3, 44).astype(float)
    options = pd.DataFrame(
        {
            "site_id": sid,
            "fixed_cost": 150.0 + 10 * rooms,
            "closed_cost": 10.0,
            "max_students": 2000.0,
            "max_classes": rooms,
            "forced": "",
        },
        index=sid,
    )
    pairs = pd.concat(
        [
            pd.DataFrame({"village_id": vid[v], "level": lvl, "option_id": sid[s], "km": km})
            for lvl in ("primary", "junior")
        ],
        ignore_index=True,
    ).merge(demand, on=["village_id", "level"])
    pairs["cost"] = pairs["students"] * pairs["km"] * 0.2
    return ModelInput(
        demand=demand,
        options=options,
        pairs=pairs[["village_id", "level", "option_id", "cost"]],
        class_size={"primary": 45, "junior": 50},
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--villages", type=int, default=10_000)
    ap.add_argument("--sites", type=int, default=1_000)
    ap.add_argument("--time-limit", type=float, default=600.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    data = make_instance(args.villages, args.sites, seed=args.seed)
    gen = time.perf_counter() - t0
    per_village = len(data.pairs) / data.demand["village_id"].nunique() / 2
    with MemoryPeak() as memory:
        result = optimize(data, time_limit_s=args.time_limit)
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # exact
    workers_gb = memory.children_peak / 1024**3  # sampled; RUSAGE_CHILDREN would count the
    # parent's memory at the fork that starts a spawned worker
    workers = result.stats.get("region_workers", 1)
    line = {
        "villages": args.villages,
        "sites": args.sites,
        "pairs": len(data.pairs),
        "sites_per_village": round(per_village, 1),
        "time_limit_s": args.time_limit,
        "generate_s": round(gen, 1),
        "build_s": round(result.build_seconds, 1),
        "solve_s": round(result.seconds - result.build_seconds, 1),
        "total_s": round(result.seconds, 1),
        "objective": round(result.objective, 1),
        "bound": None if result.bound is None else round(result.bound, 1),
        "gap": None if result.gap is None else round(result.gap, 5),
        "status": result.status,
        "strategy": result.stats.get("strategy"),
        "peak_memory_gb": round(peak_gb + workers_gb, 2),  # an upper bound
        "peak_memory_main_gb": round(peak_gb, 2),
        "peak_memory_workers_gb": round(workers_gb, 2),
        "region_workers": workers,
        "region_sweeps": result.stats.get("region_sweeps"),
        "window_objective": result.stats.get("window_objective"),  # plan after the windows
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "date": time.strftime("%Y-%m-%d"),
    }
    print(json.dumps(line))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(line, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
