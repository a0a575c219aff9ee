"""Ours against spopt (PySAL) on the capacitated p-median spopt can state.

    python benchmarks/vs_spopt.py [DIR] [--repeat R] [--time-limit S] [--only NAME ...]

For every instance in DIR (default ../shared/data/cpmp; an OR-Library file counts as its
instances), the demand-weighted CPMP (objective sum of demand x distance, capacity on demand,
exactly p open, single assignment) is solved R times by each side, alternating which goes
first: spopt's ``PMedian.from_cost_matrix(..., facility_capacities=...)`` solved by HiGHS
through PuLP (what a Python user would write), and :func:`planning.optimize.optimize` on the
same data. The time of each side is its median; the ratio is spopt seconds / ours. Writes
benchmarks/results/vs_spopt.json with the ratio per instance and their median as
``median_speedup``; instances where the objectives differ are flagged and left out of it.

Needs the ``bench`` extra (``pip install -e .[bench]``) for spopt.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cpmp_instances import Instance, model_input, read_instances

from planning.optimize import optimize

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results" / "vs_spopt.json"
DEFAULT_DIR = ROOT.parent.parent / "shared" / "data" / "cpmp"


def solve_spopt(inst: Instance, time_limit: float) -> tuple[float, float, str]:
    """spopt's capacitated p-median with HiGHS: (objective, seconds, PuLP status)."""
    try:
        import pulp
        from spopt.locate import PMedian
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise SystemExit("vs_spopt needs spopt: pip install -e .[bench]") from err
    start = time.perf_counter()
    model = PMedian.from_cost_matrix(
        inst.distances(),
        inst.demand,
        p_facilities=inst.p,
        facility_capacities=inst.capacity,
    )
    with _quiet():
        model.solve(pulp.HiGHS(msg=False, timeLimit=time_limit), results=False)
    seconds = time.perf_counter() - start
    return float(pulp.value(model.problem.objective)), seconds, pulp.LpStatus[model.problem.status]


def solve_ours(inst: Instance, time_limit: float) -> tuple[float, float, str]:
    start = time.perf_counter()
    result = optimize(model_input(inst, weighted=True), time_limit_s=time_limit)
    return result.objective, time.perf_counter() - start, result.status


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the HiGHS banner, printed by C++ code on file descriptor 1."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def compare(inst: Instance, *, repeat: int, time_limit: float) -> dict[str, object]:
    """Alternate the two sides ``repeat`` times each; medians and their ratio."""
    runs: dict[str, list[tuple[float, float, str]]] = {"spopt": [], "ours": []}
    sides = {"spopt": solve_spopt, "ours": solve_ours}
    for r in range(repeat):
        order = ["spopt", "ours"] if r % 2 == 0 else ["ours", "spopt"]
        for side in order:
            runs[side].append(sides[side](inst, time_limit))
    spopt_s = statistics.median(x[1] for x in runs["spopt"])
    ours_s = statistics.median(x[1] for x in runs["ours"])
    obj_spopt, obj_ours = runs["spopt"][0][0], runs["ours"][0][0]
    same = abs(obj_spopt - obj_ours) <= 1e-6 * max(1.0, abs(obj_ours))
    return {
        "instance": inst.name,
        "n": inst.n,
        "p": inst.p,
        "objective_spopt": round(obj_spopt, 2),
        "objective_ours": round(obj_ours, 2),
        "equal_objective": same,
        "status_spopt": runs["spopt"][0][2],
        "status_ours": runs["ours"][0][2],
        "seconds_spopt": [round(x[1], 2) for x in runs["spopt"]],
        "seconds_ours": [round(x[1], 2) for x in runs["ours"]],
        "median_spopt": round(spopt_s, 3),
        "median_ours": round(ours_s, 3),
        "speedup": round(spopt_s / max(ours_s, 1e-9), 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", nargs="?", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--repeat", type=int, default=3, help="runs per side and instance")
    parser.add_argument("--time-limit", type=float, default=300.0, help="seconds per solve")
    parser.add_argument("--only", nargs="*", help="instance names to run (default: all)")
    args = parser.parse_args(argv)
    lines = []
    for path in sorted(p for p in args.dir.iterdir() if p.is_file()):
        for inst in read_instances(path):
            if args.only and inst.name not in args.only:
                continue
            line = compare(inst, repeat=args.repeat, time_limit=args.time_limit)
            print(json.dumps(line), flush=True)
            lines.append(line)
    speedups = [float(x["speedup"]) for x in lines if x["equal_objective"]]
    summary = {
        "median_speedup": round(statistics.median(speedups), 2) if speedups else None,
        "instances": len(lines),
        "equal_objective": len(speedups),
        "repeat": args.repeat,
        "time_limit_s": args.time_limit,
        "solver": "HiGHS (both sides, through PuLP)",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"),
    }
    print(json.dumps(summary), flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({**summary, "instances_detail": lines}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
