"""Demand and candidate sites made from the scenario's settings, between reading the layers
and measuring travel: children derived from census age bands, projected to a target year, and
candidate sites generated where the children are."""

from __future__ import annotations

from dataclasses import replace

import geopandas as gpd
import pandas as pd

from planning import candidates as sites
from planning import demand, projection
from planning._errors import InputError, Problem
from planning.layers import Layers, read_layer
from planning.scenario import LEVELS, Scenario


def census_bands(scenario: Scenario) -> dict[str, pd.DataFrame]:
    """Age bands per census area (one area, ``"county"``, when ``census_area`` is not set)."""
    d = scenario.demand
    table = pd.read_csv(d.census, encoding="utf-8-sig")  # type: ignore[arg-type]
    if d.census_area is None:
        if len(table) != 1:
            raise InputError(
                [
                    Problem(
                        str(d.census),
                        f"{len(table)} rows but no census_area "
                        "column named to tell the areas apart",
                        field="demand.census_area",
                    )
                ]
            )
        return {"county": demand.census_bands(table.iloc[0], file=str(d.census))}
    return {
        str(r[d.census_area]): demand.census_bands(r, file=str(d.census))
        for _, r in table.iterrows()
    }


def derived_villages(scenario: Scenario) -> gpd.GeoDataFrame:
    """The villages layer with children per level from population x census school-age share."""
    d = scenario.demand
    table = pd.read_csv(d.census, encoding="utf-8-sig")  # type: ignore[arg-type]
    bands = census_bands(scenario)
    totals = (
        table[d.census_population].tolist()
        if d.census_population in table
        else [b["persons"].sum() for b in bands.values()]
    )
    shares = demand.school_age_shares(
        bands, dict(zip(bands, totals, strict=True)), file=str(d.census)
    )
    raw = read_layer(scenario.data.villages)
    by = d.shares_by if d.census_area is not None else None
    source = d.source or f"census file {d.census.name}"  # type: ignore[union-attr]
    return demand.build_demand(raw, shares, by=by, population=d.population, source=source)


def project(layers: Layers, scenario: Scenario) -> tuple[Layers, pd.DataFrame | None]:
    """Children of the target year in place of today's, and the projection table."""
    pr = scenario.projection
    if pr.base_year is None or pr.target_year is None:
        return layers, None
    profile = demand.single_year_ages(next(iter(census_bands(scenario).values())))
    v = layers.villages
    urban = pr.urban_column if pr.urban_column in v.columns else None
    last = max([pr.target_year, *scenario.phasing.years])
    years = list(range(pr.base_year + 1, last + 1))
    table = projection.project_villages(
        v,
        profile,
        base_year=pr.base_year,
        years=years,
        urban=urban,
        births=pr.births,
        birth_change=pr.birth_change,
        urban_transfer=pr.urban_transfer,
    )
    target = projection.children_in_year(table, pr.target_year)
    v = v.copy()
    for lvl in LEVELS:
        v[f"children_{lvl}"] = target[f"children_{lvl}"].reindex(v.index).fillna(0).astype(int)
    return replace(layers, villages=v), table


def with_generated_sites(layers: Layers, scenario: Scenario) -> Layers:
    """``layers`` with generated candidate sites added (kinds kmeans_primary/kmeans_junior)."""
    c = scenario.candidates
    if c.generate_primary == 0 and c.generate_junior == 0:
        return layers
    rules = scenario.rules
    capacity = {}
    for lvl in LEVELS:
        teaching = [
            t for t in scenario.new_school_types if t.level == lvl or t.level == "nine_year"
        ]
        capacity[lvl] = (
            max(
                (
                    min(t.classes, rules.max_classes(t.level) or t.classes) * rules.class_size(lvl)
                    for t in teaching
                ),
                default=0,
            )
            or None
        )
    existing = pd.concat([layers.schools.geometry, layers.candidates.geometry])
    made = sites.generate_candidates(
        layers.villages,
        layers.boundary,
        n={"primary": c.generate_primary, "junior": c.generate_junior},
        min_spacing_m=c.min_spacing_m,
        existing=existing,
        reach_m=c.reach_m,
        seed=c.seed,
        site_capacity={k: v for k, v in capacity.items() if v},
    )
    both = sites.combine_sites(layers.candidates, made)
    return replace(layers, candidates=both.set_index("site_id", drop=False).rename_axis(None))
