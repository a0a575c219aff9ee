"""The planner's actions (close, merge, build, expand, keep, assign, forbid) as model decisions,
and the ``evaluate`` mode: a written plan applied as is, every village to its nearest open school.
"""

from __future__ import annotations

from dataclasses import replace

import geopandas as gpd
import numpy as np
import pandas as pd

from planning._errors import InfeasiblePlanError, Problem
from planning.layers import Layers
from planning.model import ModelInput, SolveResult
from planning.scenario import Assign, Build, Close, Expand, Forbid, Keep, Merge, Scenario


def action_sites(scenario: Scenario, crs: object) -> gpd.GeoDataFrame:
    """Candidate sites created by ``build`` actions given as coordinates (ids A1, A2, ...)."""
    rows = [
        (f"A{n + 1}", a.name or f"{a.build} @ {a.lon:.5f},{a.lat:.5f}", a.lon, a.lat)
        for n, a in enumerate(x for x in scenario.actions if isinstance(x, Build) and x.at is None)
    ]
    gdf = gpd.GeoDataFrame(
        {
            "site_id": [r[0] for r in rows],
            "name": [r[1] for r in rows],
            "township": "",
            "kind": "action",
        },
        geometry=gpd.points_from_xy([r[2] for r in rows], [r[3] for r in rows]),
        crs=4326,
    )
    return gdf.set_index("site_id", drop=False).rename_axis(None).to_crs(crs)


def with_action_sites(layers: Layers, scenario: Scenario) -> Layers:
    """``layers`` with the coordinate ``build`` actions added to the candidate sites."""
    extra = action_sites(scenario, layers.crs)
    if extra.empty:
        return layers
    cands = pd.concat([layers.candidates, extra])
    return Layers(
        schools=layers.schools,
        villages=layers.villages,
        candidates=cands,
        boundary=layers.boundary,
        warnings=layers.warnings,
    )


def built_sites(scenario: Scenario) -> dict[str, str]:
    """Site id -> school type id of every ``build`` action (coordinate sites as A1, A2...)."""
    out, n = {}, 0
    for a in scenario.actions:
        if isinstance(a, Build):
            if a.at is None:
                n += 1
            out[a.at if a.at is not None else f"A{n}"] = a.build
    return out


def build_years(scenario: Scenario) -> dict[str, int]:
    """Option id (``site:type``) -> first year open, for ``build`` actions that give a year."""
    out, n = {}, 0
    for a in scenario.actions:
        if isinstance(a, Build):
            if a.at is None:
                n += 1
            if a.year is not None:
                out[f"{a.at if a.at is not None else f'A{n}'}:{a.build}"] = a.year
    return out


def check_actions(scenario: Scenario, layers: Layers) -> list[Problem]:
    """Every action that names an unknown school, village or site, and contradicting pairs."""
    schools, villages = set(layers.schools.index), set(layers.villages.index)
    sites = set(layers.candidates.index)
    built = built_sites(scenario)
    out = []
    for n, act in enumerate(scenario.actions):
        field = f"actions[{n}]"
        refs = _refs(act)
        for kind, ref in refs:
            known = {
                "school": schools,
                "village": villages,
                "site": sites,
                "school or built site": schools | set(built),
            }[kind]
            if ref not in known:
                out.append(Problem("scenario", f"unknown {kind} id {ref!r}", field=field))
    closed = {a.close for a in scenario.actions if isinstance(a, Close)} | {
        a.merge for a in scenario.actions if isinstance(a, Merge)
    }
    kept = (
        {a.keep for a in scenario.actions if isinstance(a, Keep)}
        | {a.expand for a in scenario.actions if isinstance(a, Expand)}
        | {a.into for a in scenario.actions if isinstance(a, Merge)}
    )
    out += [
        Problem("scenario", f"school {s!r} is both closed and kept by the actions", field="actions")
        for s in sorted(closed & kept)
    ]
    forbidden = {a.forbid for a in scenario.actions if isinstance(a, Forbid)}
    out += [
        Problem("scenario", f"site {s!r} is both built on and forbidden", field="actions")
        for s in sorted(forbidden & set(built))
    ]
    return out


def _refs(act: object) -> list[tuple[str, str]]:
    if isinstance(act, Close):
        return [("school", act.close)]
    if isinstance(act, Merge):
        return [("school", act.merge), ("school", act.into)]
    if isinstance(act, Build):
        return [("site", act.at)] if act.at is not None else []
    if isinstance(act, Expand):
        return [("school", act.expand)]
    if isinstance(act, Keep):
        return [("school", act.keep)]
    if isinstance(act, Assign):
        return [("village", act.assign), ("school or built site", act.to)]
    if isinstance(act, Forbid):
        return [("site", act.forbid)]
    return []


def nearest_existing(data: ModelInput) -> pd.DataFrame:
    """Today's school of each demand row: the nearest existing school teaching its level
    (免试就近入学). Columns ``village_id, level, option_id``."""
    opts = data.options
    existing = opts.index[opts["kind"] == "existing"] if "kind" in opts else opts.index
    pairs = data.pairs[data.pairs["option_id"].isin(existing)]
    best = pairs.sort_values(["cost", "option_id"]).drop_duplicates(["village_id", "level"])
    return best[["village_id", "level", "option_id"]].reset_index(drop=True)


def apply_actions(data: ModelInput, scenario: Scenario) -> ModelInput:
    """The model's tables with the actions as fixed decisions (and, in ``evaluate`` mode,
    every other decision fixed to today's situation).

    Raises
    ------
    InfeasiblePlanError
        If a merge or an assignment sends children beyond their travel limit.
    """
    opts = data.option_table()
    today = nearest_existing(data)
    if scenario.mode == "evaluate":
        existing = opts["kind"] == "existing"
        opts.loc[existing, "forced"] = "open"
        opts.loc[~existing, "forced"] = "closed"
        opts["expand_fixed"] = np.where(existing, 0.0, np.nan)
    opts = _fix_options(opts, scenario)
    pairs = _restrict_pairs(data.pairs, today, opts, scenario)
    return replace(data, options=opts, pairs=pairs)


def _fix_options(opts: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    for act in scenario.actions:
        if isinstance(act, Close):
            opts.loc[act.close, "forced"] = "closed"
        elif isinstance(act, Merge):
            opts.loc[act.merge, "forced"] = "closed"
            opts.loc[act.into, "forced"] = "open"
        elif isinstance(act, Keep):
            opts.loc[act.keep, "forced"] = "open"
        elif isinstance(act, Expand):
            opts.loc[act.expand, ["forced", "expand_fixed"]] = ["open", float(act.classrooms)]
        elif isinstance(act, Forbid):
            opts.loc[opts["site_id"] == act.forbid, "forced"] = "closed"
    for site, type_id in built_sites(scenario).items():
        at_site = opts["site_id"] == site
        opts.loc[at_site, "forced"] = "closed"
        opts.loc[at_site & (opts["type_id"] == type_id), "forced"] = "open"
    return opts


def _restrict_pairs(
    pairs: pd.DataFrame, today: pd.DataFrame, opts: pd.DataFrame, scenario: Scenario
) -> pd.DataFrame:
    """Merged schools' children go to the receiving school; assigned villages to theirs."""
    keep = pd.Series(True, index=pairs.index)
    for act in scenario.actions:
        if isinstance(act, Merge):
            moved = today[today["option_id"] == act.merge][["village_id", "level"]]
            keep &= _only(pairs, moved, opts, act.into, f"merge {act.merge} into {act.into}")
        elif isinstance(act, Assign):
            levels = sorted(pairs["level"].unique())  # primary_lower/_upper are primary
            if act.level:
                levels = [lvl for lvl in levels if lvl.split("_")[0] == act.level]
            rows = pd.DataFrame({"village_id": act.assign, "level": levels})
            rows = rows.merge(pairs[["village_id", "level"]].drop_duplicates())
            keep &= _only(pairs, rows, opts, act.to, f"assign {act.assign} to {act.to}")
    return pairs[keep].reset_index(drop=True)


def _only(
    pairs: pd.DataFrame, rows: pd.DataFrame, opts: pd.DataFrame, site: str, what: str
) -> pd.Series:
    """Mask keeping, for the demand ``rows``, only pairs to options at ``site``."""
    key = pairs.merge(rows.assign(_hit=True), on=["village_id", "level"], how="left")["_hit"]
    hit = key.fillna(False).astype(bool).to_numpy()
    at_site = pairs["option_id"].map(opts["site_id"]).to_numpy() == site
    lost = rows.merge(
        pairs[at_site][["village_id", "level"]].drop_duplicates(), how="left", indicator=True
    )
    lost = lost[lost["_merge"] == "left_only"]
    if len(lost):
        names = ", ".join(
            f"{v} ({lvl})" for v, lvl in lost[["village_id", "level"]].itertuples(index=False)
        )
        raise InfeasiblePlanError(
            f"{what}: {site} is beyond the travel limit (or does not teach the level) for {names}"
        )
    return pd.Series(~hit | at_site, index=pairs.index)


def evaluate(data: ModelInput) -> SolveResult:
    """Apply the fixed decisions and send every demand row to its nearest open option.

    No optimisation and no capacity rule: the plan is taken as written, and the metrics
    report what it breaks. Demand rows with no open option in reach stay unassigned.
    """
    opts = data.option_table()
    open_ids = opts.index[opts["forced"] == "open"]
    pairs = data.pairs[data.pairs["option_id"].isin(open_ids)]
    chosen = pairs.sort_values(["cost", "option_id"]).drop_duplicates(["village_id", "level"])
    added = opts["expand_fixed"].fillna(0)
    objective = (
        chosen["cost"].sum()
        + opts.loc[open_ids, "fixed_cost"].sum()
        + opts.loc[opts.index.difference(open_ids), "closed_cost"].sum()
        + (added * opts["expand_cost"]).sum()
    )
    return SolveResult(
        status="evaluated",
        objective=float(objective),
        bound=None,
        gap=None,
        seconds=0.0,
        build_seconds=0.0,
        solver="none",
        open_options=list(open_ids),
        assignment=chosen[["village_id", "level", "option_id"]].reset_index(drop=True),
        classes=pd.DataFrame(columns=["option_id", "level", "classes"]),
        expansions=pd.DataFrame(
            {
                "option_id": added.index[added > 0],
                "classrooms_added": added[added > 0].astype(int).to_numpy(),
            }
        ),
    )
