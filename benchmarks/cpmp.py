"""Solve capacitated p-median instances through the planner's own optimisation code.

    python benchmarks/cpmp.py INSTANCE [--time-limit S] [--solver highs|cbc]
    python benchmarks/cpmp.py --all DIR [--time-limit S] [--solver highs|cbc]

Each instance becomes a :class:`planning.model.ModelInput` (one level, capacity in demand units,
exactly p open, the set's own distance convention) and is solved by
:func:`planning.optimize.optimize`, the entry point the planner's runs use. Prints one JSON line
per instance: instance, n, p, objective, bound, gap, status, seconds, solver (plus the
published value ``known`` and the strategy used). ``--all`` runs every instance in the folder
(a multi-instance OR-Library file counts as its instances, in order) with the time limit per
instance, and writes the lines to benchmarks/results/cpmp.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cpmp_instances import Instance, model_input, read_instances

from planning.optimize import optimize

RESULTS = Path(__file__).resolve().parent / "results" / "cpmp.json"


def run(inst: Instance, *, time_limit: float, solver: str) -> dict[str, object]:
    """Solve one instance; the JSON line of the benchmark."""
    start = time.perf_counter()
    result = optimize(model_input(inst), solver=solver, time_limit_s=time_limit)
    return {
        "instance": inst.name,
        "n": inst.n,
        "p": inst.p,
        "objective": round(result.objective, 2),
        "bound": None if result.bound is None else round(result.bound, 2),
        "gap": None if result.gap is None else round(result.gap, 6),
        "status": result.status,
        "seconds": round(time.perf_counter() - start, 2),
        "solver": solver,
        "known": inst.known,
        "strategy": result.stats.get("strategy"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("instance", nargs="?", type=Path)
    parser.add_argument("--all", type=Path, metavar="DIR")
    parser.add_argument("--time-limit", type=float, default=300.0, help="seconds per instance")
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
        _write(lines, args.time_limit)
    return 0


def _write(lines: list[dict[str, object]], time_limit: float) -> None:
    """One JSON line per instance, then a summary line (totals, machine, date)."""
    summary = {
        "summary": True,
        "instances": len(lines),
        "proven_optimal": sum(x["status"] == "optimal" for x in lines),
        "at_known_value": sum(
            x["known"] is not None and abs(float(x["objective"]) - float(x["known"])) < 0.01
            for x in lines
        ),
        "total_seconds": round(sum(float(x["seconds"]) for x in lines), 1),
        "time_limit_per_instance": time_limit,
        "machine": f"{platform.machine()}, {_cores()} cores, {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    text = "\n".join(json.dumps(x) for x in [*lines, summary]) + "\n"
    RESULTS.write_text(text, encoding="utf-8")


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


if __name__ == "__main__":
    sys.exit(main())
