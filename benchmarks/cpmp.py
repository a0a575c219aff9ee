"""Solve capacitated p-median instances through the planner's own model and solve code.

    python benchmarks/cpmp.py INSTANCE [--time-limit S] [--solver highs|cbc]
    python benchmarks/cpmp.py --all DIR [--time-limit S] [--solver highs|cbc]

Prints one JSON line per instance: instance, n, p, objective, bound, gap, status, seconds,
solver (and the known value). ``--all`` also writes benchmarks/results/cpmp.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cpmp_instances import Instance, model_input, read_instances

from planning.model import build_model, solve

RESULTS = Path(__file__).resolve().parent / "results" / "cpmp.json"


def run(inst: Instance, *, time_limit: float, solver: str) -> dict[str, object]:
    start = time.perf_counter()
    result = solve(build_model(model_input(inst)), solver=solver, time_limit_s=time_limit)
    return {
        "instance": inst.name,
        "n": inst.n,
        "p": inst.p,
        "objective": round(result.objective, 2),
        "bound": None if result.bound is None else round(result.bound, 2),
        "gap": result.gap,
        "status": result.status,
        "seconds": round(time.perf_counter() - start, 2),
        "solver": solver,
        "known": inst.known,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("instance", nargs="?", type=Path)
    parser.add_argument("--all", type=Path, metavar="DIR")
    parser.add_argument("--time-limit", type=float, default=300.0)
    parser.add_argument("--solver", choices=["highs", "cbc"], default="highs")
    args = parser.parse_args(argv)
    if (args.instance is None) == (args.all is None):
        parser.error("give one INSTANCE or --all DIR")
    files = sorted(p for p in args.all.iterdir() if p.is_file()) if args.all else [args.instance]
    lines = []
    for path in files:
        for inst in read_instances(path):
            line = run(inst, time_limit=args.time_limit, solver=args.solver)
            print(json.dumps(line), flush=True)
            lines.append(line)
    if args.all:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
