"""Batch throughput on Dask: a 16-county x 4-scenario batch with 1 and with 2 local workers.

    python benchmarks/batch.py [--counties 16] [--villages 100] [--workers 1 2] [--repeat 1]
                               [--time-limit 30] [--gap 0.01] [--work DIR] [--seed K]

Generates a synthetic region (:func:`planning.region.generate_region`; ``--villages`` per
county, default 100; ``--villages 0``: the generator's own ~280), writes one scenario whose
sweep gives four variants (primary walking limit 5 / 6 km x capital budget none / 4 亿元)
and runs
:func:`planning.batch.run_batch` on a new ``LocalCluster`` once per worker count and repeat,
each time into a fresh output folder with an empty travel-cost cache, so that every run
computes its own costs. Reported per run: wall time (cluster start-up and shut-down included),
peak memory (resident memory of this process and every worker process together, sampled every
0.2 s, and the largest single process), the sum of the tasks' own times and the solve
statuses and the load average (1 min) before and after. Runs alternate between the worker
counts (1, 2, 1, 2, ...) so that other load on a shared machine falls on both.
``speedup`` = median 1-worker wall time / median 2-worker wall time. Writes
benchmarks/results/batch.json.

The issue's large end, ~2,000 villages per county, is out of reach on a 2-core machine:
already with the generator's ~280 villages every task of one county ran into a 30 s solver
time limit short of a 2% gap (a trial on county_01: 2.4-9.1%), so the benchmark would measure
time limits, not throughput. 100 villages per county (each task a few seconds) keeps a 1- and
2-worker pair of runs near ten minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from _memory import MemoryPeak

RESULTS = Path(__file__).resolve().parent / "results" / "batch.json"

SCENARIO = """\
name: 基准
data:
  schools: {county}/schools.csv
  villages: {county}/villages.geojson
  boundary: {county}/boundary.geojson
  candidates: {county}/candidates.geojson
  roads: {county}/roads.osm
travel:
  primary: {{mode: walk, max_distance_m: 5000}}
  junior: {{mode: drive, max_distance_m: 25000, max_minutes: 60}}
new_school_types:
  - {{id: P24, level: primary, classes: 24, build_cost_wan: 5000}}
  - {{id: J30, level: junior, classes: 30, build_cost_wan: 6500}}
  - {{id: N36, level: nine_year, classes: 36, build_cost_wan: 8000}}
costs: {{student_km_wan: 0.2, keep_school_wan: 150, close_school_wan: 10}}
solver: {{name: highs, time_limit_s: {time_limit}, mip_gap: {gap}}}
sweep:
  travel.primary.max_distance_m: [5000, 6000]
  costs.budget_wan: [null, 40000]
"""


def prepare(work: Path, *, counties: int, villages: int | None, seed: int, **solver: Any) -> Path:
    """Write the region and the scenario folder under ``work``; return the region folder."""
    from planning.region import generate_region

    region = work / "region"
    t0 = time.perf_counter()
    folders = generate_region(region, counties=counties, villages=villages, seed=seed)
    print(f"region: {counties} counties in {time.perf_counter() - t0:.1f} s", flush=True)
    (work / "scenarios").mkdir(exist_ok=True)
    text = SCENARIO.format(county=next(iter(folders.values())), **solver)
    (work / "scenarios" / "bench.yaml").write_text(text, encoding="utf-8")
    return region


def one_run(work: Path, region: Path, *, workers: int, k: int) -> dict[str, Any]:
    """One batch on a new local cluster of ``workers`` processes, with an empty cost cache."""
    from planning.batch import run_batch
    from planning.cache import ENV_VAR

    out, cache = work / f"out_{workers}w_{k}", work / f"cache_{workers}w_{k}"
    for folder in (out, cache):
        shutil.rmtree(folder, ignore_errors=True)
    os.environ[ENV_VAR] = str(cache)  # the worker processes inherit it
    load_before = os.getloadavg()[0]
    with MemoryPeak() as mem:
        t0 = time.perf_counter()
        result = run_batch([work / "scenarios"], out, counties=region, workers=workers)
        wall = time.perf_counter() - t0
    statuses = Counter(
        str(r.metrics.get("status")) if r.outcome == "ok" else r.error_type for r in result.results
    )
    line = {
        "workers": workers,
        "wall_s": round(wall, 1),
        "task_s_sum": round(sum(r.seconds for r in result.results), 1),
        "task_s_median": round(statistics.median(r.seconds for r in result.results), 2),
        "peak_memory_gb": round(mem.total_peak / 1024**3, 2),
        "peak_process_gb": round(mem.process_peak / 1024**3, 2),
        "tasks": len(result.results),
        "failed": len(result.failed),
        "statuses": dict(statuses),
        "load_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }
    print(json.dumps(line, ensure_ascii=False), flush=True)
    return line


def summary(runs: list[dict[str, Any]], args: argparse.Namespace, villages: int) -> dict[str, Any]:
    """The results file: every run, medians per worker count and the speed-up."""
    import dask
    import distributed

    by: dict[int, list[dict[str, Any]]] = {}
    for run in runs:
        by.setdefault(run["workers"], []).append(run)
    med = {w: statistics.median(r["wall_s"] for r in rs) for w, rs in by.items()}
    return {
        "counties": args.counties,
        "villages_per_county": villages,
        "scenarios_per_county": 4,
        "tasks": args.counties * 4,
        "solver": {"time_limit_s": args.time_limit, "mip_gap": args.gap},
        "repeat": args.repeat,
        "wall_s": {str(w): [r["wall_s"] for r in rs] for w, rs in sorted(by.items())},
        "median_wall_s": {str(w): round(v, 1) for w, v in sorted(med.items())},
        "peak_memory_gb": {
            str(w): max(r["peak_memory_gb"] for r in rs) for w, rs in sorted(by.items())
        },
        "speedup": round(med[1] / med[2], 2) if {1, 2} <= set(med) else None,
        "runs": runs,
        "note": args.note,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "dask": dask.__version__,
            "distributed": distributed.__version__,
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        },
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--counties", type=int, default=16)
    ap.add_argument(
        "--villages", type=int, default=100, help="per county; 0: the generator's own ~280"
    )
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--time-limit", type=float, default=30.0, help="per solve, seconds")
    ap.add_argument("--gap", type=float, default=0.01, help="relative MIP gap")
    ap.add_argument("--work", type=Path, default=None, help="scratch folder (default: temp)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--results", type=Path, default=RESULTS)
    ap.add_argument("--note", default="", help="stored in the results (e.g. other load)")
    args = ap.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="schoolplan-batch-"))
    work.mkdir(parents=True, exist_ok=True)
    region = prepare(
        work,
        counties=args.counties,
        villages=args.villages or None,
        seed=args.seed,
        time_limit=args.time_limit,
        gap=args.gap,
    )
    villages = _villages(region)
    runs = [one_run(work, region, workers=w, k=k) for k in range(args.repeat) for w in args.workers]
    result = summary(runs, args, villages)
    print(json.dumps({k: result[k] for k in ("median_wall_s", "peak_memory_gb", "speedup")}))
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", "utf-8")
    return 0


def _villages(region: Path) -> int:
    """Median villages per county."""
    import geopandas as gpd

    counts = [len(gpd.read_file(d / "villages.geojson")) for d in sorted(region.iterdir())]
    return int(statistics.median(counts))


if __name__ == "__main__":
    sys.exit(main())
