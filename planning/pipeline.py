"""One scenario, start to finish: layers -> costs -> model -> plan -> outputs."""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from planning import actions, balance, diagnose, handoff, phasing, prepare
from planning import catchments as catch
from planning import costs as cost_tables
from planning._atomic import swap_into_place, temp_folder
from planning._errors import InfeasiblePlanError, InputError, Problem
from planning.instance import (
    all_sites,
    bus_travel,
    grade_rows,
    mark_boarders,
    model_input,
    model_options,
    protected_ids,
    reach_scenario,
    with_bus,
)
from planning.layers import Layers, load_layers
from planning.metrics import summarise
from planning.model import ModelInput, SolveResult, build_model, solve
from planning.optimize import optimize
from planning.plan import SERVES, UPPER, Plan, fold_grades, school_table, village_table
from planning.projection import children_in_year as projection_children
from planning.provenance import provenance
from planning.scenario import LEVELS, Scenario, load_scenario

if TYPE_CHECKING:
    from planning.maps import BaseTiles

logger = logging.getLogger(__name__)


def travel_costs(
    layers: Layers,
    scenario: Scenario,
    *,
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
    dem: str | Path | None = None,
    bike_kmh: float = 12.0,
    long_leg_m: float = 1000.0,
    roads_class_column: str | None = None,
) -> tuple[dict[str, pd.DataFrame], str]:
    """Village -> site travel tables per level (the trips the model may use), and how they
    were measured.

    Each level's trips are on its own mode within its daily limit, widened to the boarding
    limit (:func:`planning.instance.reach_scenario`); with a school bus, pairs beyond the daily
    limit but within the bus limit are bus rides (column ``bus``, see
    :func:`planning.instance.with_bus`). With a road file (OSM XML or PBF, or a road layer),
    costs follow the roads with each level's mode; the parsed graph and the tables are cached
    on disk (``cache_dir``, default ``$SCHOOLPLAN_CACHE`` or ``~/.cache/schoolplan``).
    Villages far from any road or whose roads reach no school, and village or school layers
    sitting off the roads the way a GCJ-02 / BD-09 shift explains, are added to
    ``layers.warnings``. ``dem`` (a raster, metres) adds a slope penalty to walking and
    cycling; ``bike_kmh`` is the cycling speed (km/h); ``roads_class_column`` names the
    road-class column of a GIS road layer. Without roads: great-circle distance x
    ``travel.detour_factor``, labelled ``straight_line x F``.
    """
    from planning.network import add_dem, load_roads

    roads = None
    if scenario.data.roads is not None:
        roads = load_roads(
            scenario.data.roads,
            crs=layers.crs,
            class_column=roads_class_column,
            cache_dir=cache_dir,
            use_cache=use_cache,
        )
        roads = add_dem(roads, dem) if dem is not None else roads
    tables_of = partial(
        cost_tables.level_tables,
        roads,
        layers.villages.geometry,
        all_sites(layers),
        bike_kmh=bike_kmh,
        long_leg_m=long_leg_m,
        cache_dir=cache_dir,
        use_cache=use_cache,
    )
    tables, method, report = tables_of(reach_scenario(scenario).travel, levels=LEVELS)
    bus = bus_travel(scenario)
    if bus is not None:
        rides, _, bus_report = tables_of(bus, levels=scenario.school_bus.levels())
        tables = with_bus(tables, rides, scenario)
        report = pd.concat([report, bus_report], ignore_index=True)
    layers.warnings.extend(
        Problem(
            str(scenario.data.roads),
            f"village {r.village_id}: {r.message}",
            row=str(r.village_id),
            field="geometry",
            severity="warning",
        )
        for r in report.drop_duplicates(["village_id", "problem"]).itertuples()
    )
    if roads is not None:  # points a few hundred metres off the roads: GCJ-02 / BD-09?
        from planning.coords import offset_warnings

        declared = scenario.data.coords
        layers.warnings.extend(
            offset_warnings(
                roads,
                ("villages", layers.villages, declared.get("villages", "wgs84")),
                ("schools", layers.schools, declared.get("schools", "wgs84")),
            )
        )
    return tables, method


def load_inputs(scenario: Scenario) -> Layers:
    """Read and check every layer and every action of a scenario.

    Raises
    ------
    InputError
        Listing every problem in the layers, or every action naming an unknown id.
    """
    d = scenario.data
    villages = prepare.derived_villages(scenario) if scenario.demand.census else d.villages
    layers = load_layers(
        schools=d.schools,
        villages=villages,
        boundary=d.boundary,
        candidates=d.candidates,
        coords={str(k): str(v) for k, v in d.coords.items()},
    )
    layers, table = prepare.project(layers, scenario)
    layers = replace(prepare.with_generated_sites(layers, scenario), projection=table)
    layers = actions.with_action_sites(layers, scenario)
    problems = actions.check_actions(scenario, layers)
    if problems:
        raise InputError(problems)
    logger.info(
        "layers: %d schools, %d villages, %d candidate sites",
        len(layers.schools),
        len(layers.villages),
        len(layers.candidates),
    )
    return layers


def plan_scenario(scenario: Scenario) -> tuple[Plan, Layers]:
    """Run the whole flow for one scenario and return the plan (nothing written)."""
    layers = load_inputs(scenario)
    costs, method = travel_costs(layers, scenario)
    options = model_options(layers, scenario)
    data, unreachable = model_input(layers, scenario, costs, options)
    data = actions.apply_actions(data, scenario)
    lost = diagnose.unreachable_report(
        unreachable, layers.villages, all_sites(layers), options, scenario
    )
    if lost and not scenario.rules.allow_unassigned and scenario.mode == "optimize":
        raise InfeasiblePlanError(
            f"{len(lost)} village/level demand(s) cannot reach any school within the travel "
            "limits (raise the limit, add a candidate site, or set "
            "rules.allow_unassigned: true):\n  " + "\n  ".join(lost)
        )
    if scenario.phasing.years and scenario.mode == "optimize":
        plan = _plan_years(layers, scenario, options, data, costs, method)
        plan.summary["warnings"] += lost
        return _with_routes(plan, layers, scenario), layers
    if scenario.mode == "evaluate":
        result = actions.evaluate(data)
    else:
        result = _solve(data, scenario, layers, options)
    logger.info("solved: %s, objective %.1f, gap %s", result.status, result.objective, result.gap)
    fixed = data.pairs.groupby(["village_id", "level"]).size().loc[lambda n: n == 1].index
    fixed = pd.MultiIndex.from_frame(
        fixed.to_frame(index=False).replace({"level": {UPPER: "primary"}})
    )
    plan = _make_plan(layers, scenario, options, result, costs, method, fixed)
    plan.summary["warnings"] += lost
    return _with_routes(plan, layers, scenario), layers


def _with_routes(plan: Plan, layers: Layers, scenario: Scenario) -> Plan:
    """Each village's route to its school on the road network (layer ``routes``)."""
    if scenario.data.roads is None:
        return plan
    from planning.costs import level_routes
    from planning.network import load_roads

    roads = load_roads(scenario.data.roads, crs=layers.crs)
    travel, bus = reach_scenario(scenario).travel, bus_travel(scenario)
    points, sites = layers.villages.geometry, all_sites(layers)
    frames = []
    for lvl in LEVELS:
        v = plan.villages[plan.villages[f"school_{lvl}"].notna()]
        pairs = pd.DataFrame({"village_id": v.index, "site_id": v[f"school_{lvl}"].to_numpy()})
        lines = level_routes(roads, travel, lvl, points, sites, pairs)
        rides = v[f"bus_{lvl}"].to_numpy(dtype=bool)
        if bus is not None and rides.any():  # bus riders: the bus's route on the drivable roads
            lines[rides] = level_routes(roads, bus, lvl, points, sites, pairs[rides]).to_numpy()
        frames.append(
            gpd.GeoDataFrame(
                {"village_id": pairs["village_id"], "level": lvl, "school_id": pairs["site_id"]},
                geometry=lines.to_numpy(),
                crs=layers.crs,
            )
        )
    routes = pd.concat(frames, ignore_index=True)
    routes = gpd.GeoDataFrame(routes[routes.geometry.notna()], crs=layers.crs)
    return replace(plan, layers={**plan.layers, "routes": routes})


def _year_layers(layers: Layers, year: int) -> Layers:
    """``layers`` with the children of ``year`` (from the projection, else as today)."""
    if layers.projection is None:
        return layers
    kids = projection_children(layers.projection, year)
    v = layers.villages.copy()
    for lvl in LEVELS:
        v[f"children_{lvl}"] = kids[f"children_{lvl}"].reindex(v.index).fillna(0).astype(int)
    return replace(layers, villages=v)


def _plan_years(
    layers: Layers,
    scenario: Scenario,
    options: pd.DataFrame,
    data: ModelInput,
    costs: dict[str, pd.DataFrame],
    method: str,
) -> Plan:
    """One plan over ``phasing.years``; the last year's plan with the phasing tables."""
    years = scenario.phasing.years
    by_year = {t: _year_layers(layers, t) for t in years}
    demand = {t: result_demand(by_year[t]) for t in years}
    ready = actions.build_years(scenario)
    multi = phasing.multi_year(data, demand, ready=ready)
    try:
        result = _solve(multi, scenario, layers, options)
    except InfeasiblePlanError:
        _explain_years(data, demand, ready, scenario, by_year, options)
        raise
    plans = {}
    for t in years:
        fixed = pd.MultiIndex.from_tuples([], names=["village_id", "level"])
        plans[t] = _make_plan(
            by_year[t], scenario, options, phasing.year_result(result, t), costs, method, fixed
        )
    final = plans[years[-1]]
    final.summary["phasing"] = {str(t): p.summary["schools"] for t, p in plans.items()}
    tables = {
        **final.tables,
        "phasing_schools": _phasing_schools(plans),
        "phasing_villages": _phasing_villages(plans),
    }
    return replace(final, tables=tables)


def _explain_years(
    data: ModelInput,
    demand: dict[int, pd.DataFrame],
    ready: dict[str, int],
    scenario: Scenario,
    by_year: dict[int, Layers],
    options: pd.DataFrame,
) -> None:
    """Raise the explanation of the first year that has no plan on its own."""
    for t, dem in demand.items():
        opts = data.option_table()
        late = [j for j, year in ready.items() if year > t and j in opts.index]
        opts.loc[late, "forced"] = "closed"
        one = phasing.one_year(replace(data, options=opts), dem)
        _solve(one, scenario, by_year[t], options, years_note=f"in {t}")


def _phasing_schools(plans: dict[int, Plan]) -> pd.DataFrame:
    """School x year: the decision in force that year (keep, expand, close, new)."""
    first = next(iter(plans.values())).schools
    out = pd.DataFrame({"name": first["name"], "level": first["level"]})
    for t, p in plans.items():
        out = out.reindex(out.index.union(p.schools.index))
        out.loc[p.schools.index, ["name", "level"]] = p.schools[["name", "level"]].to_numpy()
        out[str(t)] = p.schools["decision"].reindex(out.index).fillna("")
    years = [str(t) for t in plans]
    out[years] = out[years].fillna("")  # not built yet that year
    return out.rename_axis("school_id").reset_index()


def _phasing_villages(plans: dict[int, Plan]) -> pd.DataFrame:
    """Village x level x year: the school that year."""
    rows = []
    for t, p in plans.items():
        for lvl in LEVELS:
            v = p.villages
            rows.append(
                pd.DataFrame(
                    {
                        "village_id": v.index,
                        "level": lvl,
                        "year": t,
                        "children": v[f"children_{lvl}"].to_numpy(),
                        "school_id": v[f"school_{lvl}"].to_numpy(),
                    }
                )
            )
    long = pd.concat(rows, ignore_index=True)
    return long.pivot_table(
        index=["village_id", "level"], columns="year", values="school_id", aggfunc="first"
    ).reset_index()


def _solve(
    data: ModelInput,
    scenario: Scenario,
    layers: Layers,
    options: pd.DataFrame,
    *,
    years_note: str = "",
) -> SolveResult:
    """Solve; if the solver proves there is no plan, explain why in the planner's terms."""
    s = scenario.solver
    try:
        if s.strategy == "mip":
            return solve(
                build_model(data),
                solver=s.name,
                time_limit_s=s.time_limit_s,
                mip_gap=s.mip_gap,
                threads=s.threads,
            )
        return optimize(
            data, solver=s.name, time_limit_s=s.time_limit_s, mip_gap=s.mip_gap, threads=s.threads
        )
    except InfeasiblePlanError:
        lines = diagnose.forced_closed_report(data, layers.villages)
        lines += diagnose.capacity_report(
            data.demand, layers.villages, data.pairs, data.option_table(), scenario
        )
        names = layers.schools["name"]
        lines += diagnose.min_size_report(data, layers.villages, names)
        if not lines:
            lines += diagnose.elastic_min_size_report(data, scenario, names)
        lines += diagnose.budget_report(data, scenario)
        if not lines:
            lines = diagnose.unplaced_report(data, scenario, layers.villages, names)
        if not lines:
            lines = [
                "the rules conflict in combination (class sizes, class-count limits, "
                "minimum school size and forced decisions); relax one and run again"
            ]
        when = f" {years_note}" if years_note else ""
        raise InfeasiblePlanError(
            f"no plan meets every rule of this scenario{when}:\n  " + "\n  ".join(lines)
        ) from None


def _make_plan(
    layers: Layers,
    scenario: Scenario,
    options: pd.DataFrame,
    result: SolveResult,
    costs: dict[str, pd.DataFrame],
    method: str,
    fixed: pd.Index,
) -> Plan:
    """The plan's tables from the solution; ``fixed`` (village_id, level) rows have one
    allowed school (a planner's merge or assignment) and are never moved by repairs."""
    site_of = options["site_id"]
    assigned = result.assignment.assign(school_id=lambda a: site_of.loc[a["option_id"]].to_numpy())
    demand = result_demand(layers)
    top = scenario.rules.teaching_point_top_grade
    if top is not None:  # teaching points teach grades 1..top: fold the grades into primary
        demand = pd.concat([demand, grade_rows(demand, top)], ignore_index=True)
    assigned = assigned.merge(demand, on=["village_id", "level"])
    assigned, lower = fold_grades(assigned, demand)
    result_rows = assigned
    schools = school_table(
        layers.schools, layers.candidates, options, result, pd.concat([assigned, lower]), scenario
    )
    areas = catch.village_areas(layers.villages, layers.boundary)
    assigned, changes, exclaves = _contiguity(assigned, areas, schools, costs, layers, scenario)
    assigned, changes = _keep_fixed(assigned, result_rows, changes, fixed)
    if len(changes):
        schools = school_table(
            layers.schools,
            layers.candidates,
            options,
            result,
            pd.concat([assigned, lower]),
            scenario,
        )
    lower_grades = lower if top is not None else None
    villages = village_table(layers.villages, assigned, costs, lower=lower_grades)
    villages = mark_boarders(villages, scenario)
    summary = summarise(
        schools, villages, scenario, solve=_solve_info(result), travel_method=method
    )
    summary["warnings"] = [str(w) for w in layers.warnings]
    summary["contiguity"] = {"moved": len(changes), "exclaves": _count(exclaves, "status")}
    if len(changes) and summary["status"] == "optimal":
        summary["status"] = "feasible"  # the solver's objective describes the plan before
        summary["warnings"].append(
            f"{len(changes)} village/level(s) moved after the solve to make catchments "
            "contiguous (each to a nearer school with room); the objective and bound describe "
            "the plan before these moves"
        )
    plan = Plan(
        name=scenario.name,
        schools=schools,
        villages=villages,
        catchments=catch.catchments(villages, areas),
        summary=summary,
    )
    return _with_handoff(plan, scenario, changes, exclaves, layers.projection)


def _solve_info(result: SolveResult) -> dict[str, object]:
    return {
        "status": result.status,
        "objective": round(result.objective, 3),
        "bound": None if result.bound is None else round(result.bound, 3),
        "gap": result.gap,
        "solver": result.solver,
        "strategy": result.stats.get("strategy", "mip"),
        "solve_seconds": round(result.seconds, 2),
        "build_seconds": round(result.build_seconds, 2),
    }


def _count(table: pd.DataFrame, column: str) -> dict[str, int]:
    if column not in table or table.empty:
        return {}
    return {str(k): int(v) for k, v in table[column].value_counts().items()}


def _contiguity(
    assigned: pd.DataFrame,
    areas: gpd.GeoSeries,
    schools: gpd.GeoDataFrame,
    costs: dict[str, pd.DataFrame],
    layers: Layers,
    scenario: Scenario,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Repair (if the scenario asks) and report non-contiguous catchments, level by level."""
    rules = scenario.rules
    sizes = {lvl: rules.class_size(lvl) for lvl in LEVELS}
    limits = {k: rules.max_classes(k) for k in SERVES}
    changes, exclaves = [], []
    for lvl in LEVELS:
        if not scenario.catchments.repair_contiguity:
            exclaves.append(catch.find_exclaves(assigned, areas, level=lvl, sites=schools.geometry))
            continue
        slack = catch.capacity_slack(
            schools, assigned, level=lvl, class_size=sizes, max_classes=limits
        )
        if lvl == "primary" and rules.teaching_point_top_grade is not None:
            # teaching points take no upper grades, so no village moved by a repair
            slack = slack.drop(schools.index[schools["level"] == "teaching_point"], errors="ignore")
        fix = catch.repair_contiguity(
            assigned,
            areas,
            costs[lvl],
            level=lvl,
            slack=slack,
            max_distance_m=scenario.travel.of(lvl).max_distance_m,
            max_minutes=scenario.travel.of(lvl).max_minutes,
            sites=schools.geometry,
            min_students=rules.min_students,
            protected=protected_ids(layers, scenario),
        )
        assigned = fix.assignment
        changes.append(fix.changes)
        exclaves.append(fix.exclaves)
    return assigned, _stack(changes), _stack(exclaves)


def _keep_fixed(
    assigned: pd.DataFrame, before: pd.DataFrame, changes: pd.DataFrame, fixed: pd.Index
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Undo repair moves of rows the planner fixed (undoing restores a feasible state)."""
    if changes.empty or fixed.empty:
        return assigned, changes
    key = ["village_id", "level"]
    is_fixed = pd.MultiIndex.from_frame(assigned[key]).isin(fixed)
    kept_before = pd.MultiIndex.from_frame(before[key]).isin(fixed)
    out = pd.concat([assigned[~is_fixed], before[kept_before]], ignore_index=True)
    moved_fixed = pd.MultiIndex.from_frame(changes[key]).isin(fixed)
    return out, changes[~moved_fixed].reset_index(drop=True)


def _stack(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _with_handoff(
    plan: Plan,
    scenario: Scenario,
    changes: pd.DataFrame,
    exclaves: pd.DataFrame,
    projection: pd.DataFrame | None = None,
) -> Plan:
    """Balance between schools, the land-use layers and the workbook tables."""
    receiving = balance.receiving_schools(plan.schools, plan.villages).to_dict()
    tables: dict[str, pd.DataFrame] = {}
    if set(balance.RESOURCE_COLUMNS) <= set(plan.schools.columns):
        b = scenario.balance
        table = balance.balance_table(
            plan.schools,
            receiving,
            thresholds={"primary": b.max_cv_primary, "junior": b.max_cv_junior},
            target=b.target_cv,
            junior_weight=b.nine_year_junior_weight,
            class_size={lvl: scenario.rules.class_size(lvl) for lvl in LEVELS},
            min_teaching_point_students=b.min_teaching_point_students,
        )
        plan.summary["balance"] = balance.balance_summary(table)
        tables["balance"] = table
    h = scenario.handoff
    land = {"primary": h.land_m2_per_student_primary, "junior": h.land_m2_per_student_junior}
    layers = {
        "new_sites": handoff.new_sites(plan, scenario, land_m2_per_student=land),
        "closed_sites": handoff.closed_sites(plan, receiving=receiving),
    }
    tables = {**layers, **tables, "contiguity_changes": changes, "exclaves": exclaves}
    if projection is not None:
        tables["projection"] = projection
    return replace(plan, layers=layers, tables=tables)


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
    path: str | Path, *, out: str | Path | None = None, lang: str = "zh", tiles: str | None = None
) -> tuple[Plan, Path]:
    """Load a scenario file, plan it, and write ``plan.gpkg``, ``summary.json`` and ``map.html``.

    Outputs are written to a temporary folder beside ``out`` and moved into place only when
    complete, so a failed run leaves earlier results untouched.
    """
    path = Path(path)
    scenario = load_scenario(path)
    out = Path(out) if out is not None else Path("out") / path.stem
    plan, layers = plan_scenario(scenario)
    plan.summary["provenance"] = provenance(scenario, path)
    write_outputs(plan, layers.boundary, out, lang=lang, tiles=tiles)
    return plan, out


def write_outputs(
    plan: Plan,
    boundary: gpd.GeoDataFrame,
    out: Path,
    *,
    lang: str,
    tiles: str | BaseTiles | None = None,
) -> None:
    """Write the plan's files into ``out`` atomically (temp folder, then rename).

    Files: ``plan.gpkg`` (schools, villages, catchments, new_sites, closed_sites),
    ``summary.json``, ``map.html`` (self-contained; base `tiles` as in
    :func:`planning.maps.plan_map`, none by default), ``report.html`` (links to the map) and
    ``report.xlsx`` (one sheet per table: new and closed sites, balance, catchment repairs).
    """
    from planning.maps import plan_map, write_map
    from planning.report import plan_report, write_report

    tmp = temp_folder(out)
    try:
        gpkg = tmp / "plan.gpkg"
        layers = {k: getattr(plan, k) for k in ("schools", "villages", "catchments")}
        for name, gdf in {**layers, **plan.layers}.items():
            if len(gdf):  # an empty layer has no geometry type for GeoPackage
                gdf.to_crs(4326).to_file(gpkg, layer=name, driver="GPKG")
        (tmp / "summary.json").write_text(
            json.dumps(plan.summary, ensure_ascii=False, indent=2, default=_json_default),
            encoding="utf-8",
        )
        write_map(
            plan_map(plan, boundary, lang=lang, tiles=tiles, routes=plan.layers.get("routes")),
            tmp / "map.html",
        )
        write_report(plan_report(plan, lang=lang, map_href="map.html"), tmp / "report.html")
        if plan.tables:
            handoff.write_report_xlsx(plan.tables, tmp / "report.xlsx", lang=lang)
        swap_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _json_default(obj: object) -> object:
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
