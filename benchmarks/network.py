"""Travel-cost tables on a real road network: this project against networkx and pandana.

    python benchmarks/network.py [--osm FILE] [--villages 2000] [--sites 300]
                                 [--mode drive] [--max-minutes 60] [--runs 3] [--seed 2020]

Default network: the largest shared one, ../shared/data/osm/yuba_county_ca.osm.pbf (rural
Yuba County, California). Villages are random road nodes moved off the road by N(0, 150 m);
sites likewise (seeded). All three methods get the same graph: the mode's travel edges with
villages and sites already snapped and spliced in (the snapping is timed for this project
only), and must produce the same (village, site) pairs within ``--max-minutes``:

- **schoolplan**: contraction of pass-through nodes and dead ends, then bounded multi-source
  Dijkstra (scipy.sparse.csgraph) from every site, with metres summed along the same trees;
- **networkx**: ``single_source_dijkstra_path_length`` from every site with the same cutoff
  (minutes only; graph construction timed);
- **pandana** (contraction hierarchies): ``Network(...)`` with its CH preprocessing, then
  ``shortest_path_lengths`` for every pair (it has no cutoff), filtered to the limit.

Each method runs in its own fresh process, one after the other, ``--runs`` times; peak memory
is that process's peak resident set (Linux ``ru_maxrss``), also given above its level once the
inputs were loaded. Prints one line per run and method and a summary of medians, and writes
benchmarks/results/network.json. Needs the ``bench`` extra (pandana) for the pandana column.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "network.json"
DEFAULT_OSM = ROOT.parent / "shared" / "data" / "osm" / "yuba_county_ca.osm.pbf"
METHODS = ("schoolplan", "networkx", "pandana")


# ------------------------------------------------------------------------ inputs (workers)


def _inputs(spec: dict[str, Any]) -> tuple[Any, Any, float]:
    """Read the network, place villages and sites, splice them in. Returns the point graph,
    the roads and the seconds spent reading the file."""
    import geopandas as gpd

    from planning.costs import point_graph
    from planning.network import load_roads, mode_for

    start = time.perf_counter()
    roads = load_roads(spec["osm"], crs=spec["crs"], use_cache=False)
    read_s = time.perf_counter() - start
    rng = np.random.default_rng(spec["seed"])
    n = spec["villages"] + spec["sites"]
    xy = roads.xy[rng.choice(roads.n_nodes, n, replace=False)] + rng.normal(0, 150, (n, 2))
    pts = gpd.GeoSeries(gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=roads.crs)
    villages = pts.iloc[: spec["villages"]].set_axis([f"v{i}" for i in range(spec["villages"])])
    sites = pts.iloc[spec["villages"] :].set_axis([f"s{i}" for i in range(spec["sites"])])
    start = time.perf_counter()
    graph = point_graph(roads, mode_for(spec["mode"]), villages, sites)
    spec["snap_s"] = time.perf_counter() - start
    return graph, roads, read_s


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def _edges(graph: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from planning.costs import fastest_edges

    u, v, w, _ = fastest_edges(graph.u, graph.v, graph.minutes, graph.metres)
    return u, v, w


def _offroad_minutes(graph: Any, walk_kmh: float = 4.0) -> tuple[np.ndarray, np.ndarray]:
    per_min = walk_kmh * 1000.0 / 60.0
    return graph.village_snap.offroad_m / per_min, graph.site_snap.offroad_m / per_min


def _run_schoolplan(graph: Any, spec: dict[str, Any]) -> tuple[float, float, pd.DataFrame]:
    from planning.costs import cost_table

    start = time.perf_counter()
    table = cost_table(graph, by="minutes", max_minutes=spec["max_minutes"])
    return spec["snap_s"], time.perf_counter() - start, table


def _run_networkx(graph: Any, spec: dict[str, Any]) -> tuple[float, float, pd.DataFrame]:
    import networkx as nx

    u, v, w = _edges(graph)
    start = time.perf_counter()
    rev = nx.DiGraph()
    rev.add_weighted_edges_from(zip(v.tolist(), u.tolist(), w.tolist(), strict=True))
    build = time.perf_counter() - start
    start = time.perf_counter()
    v_off, s_off = _offroad_minutes(graph)
    node_village = {int(n): i for i, n in enumerate(graph.village_nodes)}
    limit = spec["max_minutes"]
    rows = []
    for j, node in enumerate(graph.site_nodes.tolist()):
        dist = nx.single_source_dijkstra_path_length(rev, node, cutoff=limit, weight="weight")
        for n, d in dist.items():
            i = node_village.get(n)
            if i is not None and d + v_off[i] + s_off[j] <= limit:
                rows.append((graph.villages[i], graph.sites[j], d + v_off[i] + s_off[j]))
    table = pd.DataFrame(rows, columns=["village_id", "site_id", "minutes"])
    return build, time.perf_counter() - start, table


class _Quiet:
    """Silence a C extension's own printing to stdout (pandana reports its progress there)."""

    def __enter__(self) -> None:
        sys.stdout.flush()
        self.saved = os.dup(1)
        self.null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(self.null, 1)

    def __exit__(self, *exc: object) -> None:
        os.dup2(self.saved, 1)
        os.close(self.null)
        os.close(self.saved)


def _run_pandana(graph: Any, spec: dict[str, Any]) -> tuple[float, float, pd.DataFrame]:
    import pandana

    u, v, w = _edges(graph)
    limit = spec["max_minutes"]
    scale = 2.0e5 / limit  # pandana stores weights as integers of 1/1000 unit: keep precision
    start = time.perf_counter()
    with _Quiet(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = pandana.Network(
            pd.Series(graph.xy[:, 0]),
            pd.Series(graph.xy[:, 1]),
            pd.Series(u),
            pd.Series(v),
            pd.DataFrame({"minutes": w * scale}),
            twoway=False,
        )
    build = time.perf_counter() - start
    start = time.perf_counter()
    nv, ns = len(graph.villages), len(graph.sites)
    a, b = np.repeat(graph.village_nodes, ns), np.tile(graph.site_nodes, nv)
    with _Quiet(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lengths = np.asarray(net.shortest_path_lengths(a, b), dtype=float) / scale
    v_off, s_off = _offroad_minutes(graph)
    minutes = lengths + np.repeat(v_off, ns) + np.tile(s_off, nv)
    keep = minutes <= limit
    table = pd.DataFrame(
        {
            "village_id": np.repeat(graph.villages.to_numpy(), ns)[keep],
            "site_id": np.tile(graph.sites.to_numpy(), nv)[keep],
            "minutes": minutes[keep],
        }
    )
    return build, time.perf_counter() - start, table


def worker(method: str, spec: dict[str, Any], out: Path) -> dict[str, Any]:
    """Time one method in this (fresh) process; write its pairs to ``out``."""
    graph, roads, read_s = _inputs(spec)
    base = _peak_mb()
    run = {"schoolplan": _run_schoolplan, "networkx": _run_networkx, "pandana": _run_pandana}
    build, table_s, table = run[method](graph, spec)
    table[["village_id", "site_id", "minutes"]].to_parquet(out)
    peak = _peak_mb()
    return {
        "method": method,
        "read_s": round(read_s, 3),
        "build_s": round(build, 3),
        "table_s": round(table_s, 3),
        "total_s": round(build + table_s, 3),
        "pairs": len(table),
        "peak_mb": round(peak, 1),
        "extra_mb": round(peak - base, 1),
        "road_nodes": int(roads.n_nodes),
        "graph_nodes": int(graph.n_nodes),
        "graph_edges": len(graph.u),
    }


# ------------------------------------------------------------------------------ driver


def _spawn(method: str, spec: dict[str, Any], out: Path) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--worker", method, "--spec", json.dumps(spec)]
    proc = subprocess.run(
        [*cmd, "--pairs", str(out)], capture_output=True, text=True, check=False, cwd=ROOT
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{method} failed:\n{proc.stderr[-3000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def _agreement(tmp: Path) -> dict[str, dict[str, float]]:
    """Pairs and minutes of networkx and pandana against schoolplan's (same last run)."""
    ours = pd.read_parquet(tmp / "schoolplan.parquet").set_index(["village_id", "site_id"])
    out = {}
    for m in METHODS[1:]:
        if not (tmp / f"{m}.parquet").exists():
            continue
        other = pd.read_parquet(tmp / f"{m}.parquet").set_index(["village_id", "site_id"])
        both = ours.join(other.add_suffix("_other"), how="inner")
        out[m] = {
            "pairs_only_schoolplan": len(ours.index.difference(other.index)),
            "pairs_only_other": len(other.index.difference(ours.index)),
            "max_abs_diff_minutes": float((both["minutes"] - both["minutes_other"]).abs().max()),
        }
    return out


def _summary(runs: list[dict[str, Any]], methods: list[str]) -> dict[str, Any]:
    med = {
        m: {
            k: statistics.median(r[k] for r in runs if r["method"] == m)
            for k in ("read_s", "build_s", "table_s", "total_s", "peak_mb", "extra_mb")
        }
        for m in methods
    }
    out: dict[str, Any] = {"medians": med}
    if "networkx" in med:
        out["networkx_over_schoolplan"] = round(
            med["networkx"]["total_s"] / med["schoolplan"]["total_s"], 1
        )
    if "pandana" in med:
        out["schoolplan_over_pandana"] = round(
            med["schoolplan"]["total_s"] / med["pandana"]["total_s"], 2
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--osm", type=Path, default=DEFAULT_OSM)
    parser.add_argument("--villages", type=int, default=2000)
    parser.add_argument("--sites", type=int, default=300)
    parser.add_argument("--mode", choices=["walk", "bike", "drive"], default="drive")
    parser.add_argument("--max-minutes", type=float, default=60.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--crs", default="EPSG:32610", help="metric CRS of the network")
    parser.add_argument("--worker", choices=METHODS, help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    parser.add_argument("--pairs", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, json.loads(args.spec), args.pairs)))
        return 0
    spec = {
        "osm": str(args.osm),
        "crs": args.crs,
        "villages": args.villages,
        "sites": args.sites,
        "mode": args.mode,
        "max_minutes": args.max_minutes,
        "seed": args.seed,
    }
    methods = list(METHODS)
    try:
        import pandana  # noqa: F401
    except ImportError:
        methods.remove("pandana")
        print("pandana not installed (pip install -e '.[bench]'): left out", file=sys.stderr)
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            for m in methods:
                line = {"run": i + 1, **_spawn(m, spec, Path(tmp) / f"{m}.parquet")}
                print(json.dumps(line), flush=True)
                runs.append(line)
        agreement = _agreement(Path(tmp))
    result = {
        "what": "village x site travel-cost table within a time limit, same graph and pairs",
        "inputs": spec,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "versions": _versions(),
        **_summary(runs, methods),
        "agreement_with_schoolplan": agreement,
        "runs": runs,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: result[k] for k in result if k not in ("runs", "inputs")}, indent=2))
    return 0


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("numpy", "scipy", "networkx", "pandana", "osmium", "shapely"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
