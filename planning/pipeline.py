"""One scenario, start to finish: layers -> costs -> model -> plan -> outputs."""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from planning import catchments as catch
from planning import costs as cost_tables
from planning.layers import Layers, load_layers
from planning.metrics import summarise
from planning.model import ModelInput, SolveResult, build_model, solve
from planning.network import load_osm_xml, mode_graph
from planning.plan import SERVES, Plan, school_table, village_table
from planning.scenario import LEVELS, Scenario, load_scenario

logger = logging.getLogger(__name__)


def travel_costs(layers: Layers, scenario: Scenario) -> tuple[dict[str, pd.DataFrame], str]:
    """Village -> site travel tables per level, and how they were measured."""
    sites = all_sites(layers)
    travel = scenario.travel
    if scenario.data.roads is None:
        out = {}
        for lvl in LEVELS:
            lt = travel.of(lvl)
            kmh = travel.walk_kmh if lt.mode == "walk" else travel.drive_default_kmh
            out[lvl] = cost_tables.straight_line_costs(
                layers.villages.geometry,
                sites,
                detour_factor=travel.detour_factor,
                kmh=kmh,
                max_distance_m=lt.max_distance_m,
                max_minutes=lt.max_minutes,
            )
        return out, f"straight_line x {travel.detour_factor:g}"
    roads = load_osm_xml(scenario.data.roads, crs=layers.crs)
    out = {}
    for lvl in LEVELS:
        lt = travel.of(lvl)
        graph = mode_graph(roads, lt.mode, travel)
        out[lvl] = cost_tables.network_costs(
            roads,
            graph,
            layers.villages.geometry,
            sites,
            walk_kmh=travel.walk_kmh,
            max_distance_m=lt.max_distance_m,
            max_minutes=lt.max_minutes,
            by="metres" if lt.mode == "walk" else "minutes",
        )
    return out, "network"


def all_sites(layers: Layers) -> gpd.GeoSeries:
    """Existing schools and candidate sites as one point series indexed by id."""
    return pd.concat([layers.schools.geometry, layers.candidates.geometry])


def model_options(layers: Layers, scenario: Scenario) -> pd.DataFrame:
    """One option per existing school and per (candidate site, standard school type)."""
    s = layers.schools
    rules = scenario.rules
    existing = pd.DataFrame(
        {
            "site_id": s.index,
            "kind": "existing",
            "type_id": "",
            "school_level": s["level"],
            "fixed_cost": scenario.costs.keep_school_wan,
            "closed_cost": scenario.costs.close_school_wan,
            "max_students": np.where(
                s["level"] == "nine_year", rules.max_students_nine_year, rules.max_students
            ),
            "max_classes": s["classrooms"].astype(float),
            "forced": "",
        },
        index=s.index,
    )
    new = [
        {
            "option_id": f"{site}:{t.id}",
            "site_id": site,
            "kind": "new",
            "type_id": t.id,
            "school_level": t.level,
            "fixed_cost": t.build_cost_wan,
            "closed_cost": 0.0,
            "max_students": rules.max_students_nine_year
            if t.level == "nine_year"
            else rules.max_students,
            "max_classes": float(t.classes),
            "forced": "",
        }
        for site in layers.candidates.index
        for t in scenario.new_school_types
    ]
    if not new:
        return existing
    return pd.concat([existing, pd.DataFrame(new).set_index("option_id")])


def model_input(
    layers: Layers, scenario: Scenario, costs: dict[str, pd.DataFrame], options: pd.DataFrame
) -> tuple[ModelInput, pd.DataFrame]:
    """The model's tables, plus the demand rows that no school can reach (left out)."""
    v = layers.villages
    demand = pd.concat(
        [
            pd.DataFrame({"village_id": v.index, "level": lvl, "students": v[f"children_{lvl}"]})
            for lvl in LEVELS
        ],
        ignore_index=True,
    )
    demand = demand[demand["students"] > 0]
    pair_frames = []
    for lvl in LEVELS:
        serving = options[options["school_level"].map(lambda k, lvl=lvl: lvl in SERVES[k])]
        p = costs[lvl].merge(serving[["site_id"]].reset_index(names="option_id"), on="site_id")
        pair_frames.append(p.assign(level=lvl))
    pairs = pd.concat(pair_frames, ignore_index=True).merge(demand, on=["village_id", "level"])
    pairs["cost"] = pairs["students"] * pairs["distance_m"] / 1000.0 * scenario.costs.student_km_wan
    reach = pairs[["village_id", "level"]].drop_duplicates()
    flag = demand.merge(reach, how="left", indicator=True)["_merge"].to_numpy() == "both"
    class_size = {lvl: scenario.rules.class_size(lvl) for lvl in LEVELS}
    data = ModelInput(
        demand=demand[flag].reset_index(drop=True),
        options=options,
        pairs=pairs[["village_id", "level", "option_id", "cost"]],
        class_size=class_size,
    )
    return data, demand[~flag].reset_index(drop=True)


def plan_scenario(scenario: Scenario) -> tuple[Plan, Layers]:
    """Run the whole flow for one scenario and return the plan (nothing written)."""
    d = scenario.data
    layers = load_layers(
        schools=d.schools, villages=d.villages, boundary=d.boundary, candidates=d.candidates
    )
    logger.info(
        "layers: %d schools, %d villages, %d candidate sites",
        len(layers.schools),
        len(layers.villages),
        len(layers.candidates),
    )
    costs, method = travel_costs(layers, scenario)
    options = model_options(layers, scenario)
    data, unreachable = model_input(layers, scenario, costs, options)
    s = scenario.solver
    result = solve(
        build_model(data),
        solver=s.name,
        time_limit_s=s.time_limit_s,
        mip_gap=s.mip_gap,
        threads=s.threads,
    )
    logger.info("solved: %s, objective %.1f, gap %s", result.status, result.objective, result.gap)
    return _make_plan(layers, scenario, options, result, costs, method, unreachable), layers


def _make_plan(
    layers: Layers,
    scenario: Scenario,
    options: pd.DataFrame,
    result: SolveResult,
    costs: dict[str, pd.DataFrame],
    method: str,
    unreachable: pd.DataFrame,
) -> Plan:
    site_of = options["site_id"]
    assigned = result.assignment.assign(school_id=lambda a: site_of.loc[a["option_id"]].to_numpy())
    assigned = assigned.merge(result_demand(layers), on=["village_id", "level"])
    schools = school_table(layers.schools, layers.candidates, options, result, assigned, scenario)
    villages = village_table(layers.villages, assigned, costs)
    areas = catch.village_areas(villages, layers.boundary)
    solve_info = {
        "status": result.status,
        "objective": round(result.objective, 3),
        "bound": None if result.bound is None else round(result.bound, 3),
        "gap": result.gap,
        "solver": result.solver,
        "solve_seconds": round(result.seconds, 2),
        "build_seconds": round(result.build_seconds, 2),
    }
    summary = summarise(schools, villages, scenario, solve=solve_info, travel_method=method)
    summary["warnings"] = [str(w) for w in layers.warnings] + [
        f"village {r.village_id}: {r.students:g} {r.level} children have no school within the "
        f"travel limit; left unassigned"
        for r in unreachable.itertuples()
    ]
    return Plan(
        name=scenario.name,
        schools=schools,
        villages=villages,
        catchments=catch.catchments(villages, areas),
        summary=summary,
    )


def result_demand(layers: Layers) -> pd.DataFrame:
    v = layers.villages
    return pd.concat(
        [
            pd.DataFrame(
                {"village_id": v.index, "level": lvl, "students": v[f"children_{lvl}"].astype(int)}
            )
            for lvl in LEVELS
        ],
        ignore_index=True,
    )


def run_scenario(
    path: str | Path, *, out: str | Path | None = None, lang: str = "zh"
) -> tuple[Plan, Path]:
    """Load a scenario file, plan it, and write ``plan.gpkg``, ``summary.json`` and ``map.html``.

    Outputs are written to a temporary folder beside ``out`` and moved into place only when
    complete, so a failed run leaves earlier results untouched.
    """
    path = Path(path)
    scenario = load_scenario(path)
    out = Path(out) if out is not None else Path("out") / path.stem
    plan, layers = plan_scenario(scenario)
    write_outputs(plan, layers.boundary, out, lang=lang)
    return plan, out


def write_outputs(plan: Plan, boundary: gpd.GeoDataFrame, out: Path, *, lang: str) -> None:
    """Write the plan's files into ``out`` atomically (temp folder, then rename)."""
    from planning.maps import plan_map, write_map

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        gpkg = tmp / "plan.gpkg"
        for layer in ("schools", "villages", "catchments"):
            gdf = getattr(plan, layer).to_crs(4326)
            gdf.to_file(gpkg, layer=layer, driver="GPKG")
        (tmp / "summary.json").write_text(
            json.dumps(plan.summary, ensure_ascii=False, indent=2, default=_json_default),
            encoding="utf-8",
        )
        write_map(plan_map(plan, boundary, lang=lang), tmp / "map.html")
        _swap_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _swap_into_place(tmp: Path, out: Path) -> None:
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        out.rename(old)
    tmp.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _json_default(obj: object) -> object:
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
