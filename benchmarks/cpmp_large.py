"""Capacitated p-median at the size of Lorena-Senne's larger sets (SJC3: n = 300, SJC4: n = 402).

    python benchmarks/cpmp_large.py [--shared DIR] [--time-limit S] [--only NAME ...]
    python benchmarks/cpmp_large.py --doni-size [--time-limit S] [--only NAME ...]

The published SJC3/SJC4 files are not in ../shared, so this script makes instances of their
size and kind: nodes drawn from SJC2's real São José dos Campos nodes (coordinates jittered by
80 m, demands resampled; fixed seed), capacity set so that p medians hold 1.2-1.5 times the
demand, real Euclidean distances, every node a client and a candidate. They have no published
values: what counts is the gap to our own bound. Each is solved through
:func:`planning.optimize.optimize` (the planner's entry point) and its JSON line printed; the
lines go to benchmarks/results/cpmp_large.json.

``--doni-size`` instead makes instances of the size and kind of Lorena-Senne's doni2 and doni3
(2,000 nodes with p = 6, 3,000 with p = 8: unit demands, clustered nodes, capacity 1.2 times
n / p, every node a client and a candidate, so n x n pairs), which are not in ../shared either;
their lines go to benchmarks/results/cpmp_doni_size.json. Not part of ``make bench``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cpmp import RESULTS as CPMP_RESULTS
from cpmp import _cores, run
from cpmp_instances import Instance, read_instances

RESULTS = CPMP_RESULTS.parent / "cpmp_large.json"
DEFAULT_SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
# name, nodes, medians, capacity of the p medians over the total demand
SIZES = [("LS300-25", 300, 25, 1.2), ("LS300-30", 300, 30, 1.4), ("LS402-30", 402, 30, 1.2),
         ("LS402-40", 402, 40, 1.5)]  # fmt: skip
DONI_SIZES = [("LD2000-6", 2000, 6), ("LD3000-8", 3000, 8)]  # name, nodes, medians


def make_instances(sjc2: Path, seed: int = 7) -> list[Instance]:
    """The instances of ``SIZES`` from SJC2's nodes (deterministic)."""
    base = read_instances(sjc2)[0]
    rng = np.random.default_rng(seed)
    out = []
    for name, n, p, ratio in SIZES:
        at = rng.integers(0, base.n, n)
        xy = np.round(base.xy[at] + rng.normal(0.0, 80.0, (n, 2)))
        demand = base.demand[rng.integers(0, base.n, n)]
        cap = float(np.ceil(ratio * demand.sum() / p))
        out.append(Instance(name, xy, demand, np.full(n, cap), p, floor_distances=False))
    return out


def make_doni_size(seed: int = 1) -> list[Instance]:
    """The instances of ``DONI_SIZES`` (deterministic): nodes around 40 centres in a box of
    doni2's extent, unit demands."""
    rng = np.random.default_rng(seed)
    out = []
    for name, n, p in DONI_SIZES:
        centres = rng.uniform([535.0, 9550.0], [572.0, 9592.0], size=(40, 2))
        xy = centres[rng.integers(0, 40, n)] + rng.normal(0.0, 1.5, (n, 2))
        cap = float(np.ceil(1.2 * n / p))
        out.append(Instance(name, xy, np.ones(n), np.full(n, cap), p, floor_distances=False))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="../shared/data")
    parser.add_argument("--time-limit", type=float, default=300.0, help="seconds per instance")
    parser.add_argument("--only", nargs="*", help="instance names")
    parser.add_argument("--doni-size", action="store_true", help="doni2/doni3-size instances")
    args = parser.parse_args(argv)
    sjc2 = args.shared / "cpmp" / "SJC2.dat"
    if args.doni_size:
        instances, results = make_doni_size(), RESULTS.parent / "cpmp_doni_size.json"
    elif sjc2.exists():
        instances, results = make_instances(sjc2), RESULTS
    else:
        raise SystemExit(f"{sjc2} not found: this benchmark draws its nodes from SJC2")
    lines = []
    for inst in instances:
        if args.only and inst.name not in args.only:
            continue
        line = run(inst, time_limit=args.time_limit, solver="highs")
        print(json.dumps(line), flush=True)
        lines.append(line)
    summary = {
        "summary": True,
        "instances": len(lines),
        "median_gap": float(np.median([float(x["gap"]) for x in lines])) if lines else None,
        "time_limit_per_instance": args.time_limit,
        "machine": f"{_cores()} cores",
        "date": time.strftime("%Y-%m-%d"),
    }
    text = "\n".join(json.dumps(x) for x in [*lines, summary]) + "\n"
    results.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
