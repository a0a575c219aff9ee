"""Plans over several target years (先建后撤: build before closing).

The one-year model's tables are repeated per year (ids ``<id>@<year>``) with each year's
children, and linked: an existing school once closed stays closed (y_t+1 <= y_t), a new school
once built stays open (y_t <= y_t+1), classrooms once added stay (e_t <= e_t+1). Every year's
children must sit in a school open that year, so a school can close only once the schools that
take its children are open: build before close. Build, expansion and closing costs sit on the
last year (the links make each count once); running costs are shared out over the years.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pandas as pd

from planning.model import ModelInput, SolveResult


def tag(ids: pd.Series | pd.Index, year: int) -> np.ndarray:
    return np.asarray([f"{i}@{year}" for i in ids], dtype=object)


def untag(ids: pd.Series) -> tuple[pd.Series, pd.Series]:
    parts = ids.astype(str).str.rsplit("@", n=1)
    return parts.str[0], parts.str[1].astype(int)


def multi_year(
    data: ModelInput, demand: dict[int, pd.DataFrame], *, ready: dict[str, int] | None = None
) -> ModelInput:
    """One model over the years of ``demand`` (year -> ``village_id, level, students``).

    ``ready`` maps option ids to the first year they may be open (a planner's build year).
    """
    years = sorted(demand)
    opts = data.option_table()
    per_student = _per_student_cost(data)
    frames = [
        _year_tables(
            opts,
            per_student,
            demand[t],
            t,
            last=t == years[-1],
            n_years=len(years),
            ready=ready or {},
        )
        for t in years
    ]
    return ModelInput(
        demand=pd.concat([f[0] for f in frames], ignore_index=True),
        options=pd.concat([f[1] for f in frames]),
        pairs=pd.concat([f[2] for f in frames], ignore_index=True),
        class_size=data.class_size,
        budget=data.budget,
        min_size_penalty=data.min_size_penalty,
        links=_links(opts, years),
    )


def one_year(data: ModelInput, demand: pd.DataFrame) -> ModelInput:
    """``data`` with another year's children (assignment costs scaled per student)."""
    dem = demand[demand["students"] > 0]
    pairs = _per_student_cost(data).merge(dem, on=["village_id", "level"])
    pairs["cost"] = pairs.pop("per_student") * pairs.pop("students")
    return replace(data, demand=dem.reset_index(drop=True), pairs=pairs)


def _per_student_cost(data: ModelInput) -> pd.DataFrame:
    pairs = data.pairs.merge(data.demand, on=["village_id", "level"])
    pairs["per_student"] = pairs["cost"] / pairs["students"]
    return pairs.drop(columns=["cost", "students"])


def _year_tables(
    opts: pd.DataFrame,
    per_student: pd.DataFrame,
    demand: pd.DataFrame,
    t: int,
    *,
    last: bool,
    n_years: int,
    ready: dict[str, int],
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    dem = demand[demand["students"] > 0]
    pairs = per_student.merge(dem, on=["village_id", "level"])
    pairs["cost"] = pairs.pop("per_student") * pairs["students"]
    pairs = pairs.drop(columns=["students"])
    pairs["village_id"] = tag(pairs["village_id"], t)
    pairs["option_id"] = tag(pairs["option_id"], t)
    o = opts.copy()
    existing = o["kind"] == "existing" if "kind" in o else pd.Series(True, index=o.index)
    o["fixed_cost"] = np.where(existing, o["fixed_cost"] / n_years, o["fixed_cost"] * last)
    for col in ("closed_cost", "capex", "expand_cost", "expand_capex"):
        o[col] = o[col] * last
    for j, year in ready.items():
        if j in o.index:
            o.loc[j, "forced"] = "closed" if t < year else "open"
    o["site_id"] = tag(o["site_id"], t)
    o.index = pd.Index(tag(o.index, t))
    return dem.assign(village_id=tag(dem["village_id"], t)), o, pairs


def _links(opts: pd.DataFrame, years: list[int]) -> pd.DataFrame:
    existing = opts["kind"] == "existing" if "kind" in opts else pd.Series(True, index=opts.index)
    rows = []
    for a, b in itertools.pairwise(years):
        for j, old in existing.items():
            ja, jb = f"{j}@{a}", f"{j}@{b}"
            rows.append((jb, ja, "y") if old else (ja, jb, "y"))
            rows.append((ja, jb, "e"))
    return pd.DataFrame(rows, columns=["before", "after", "var"])


def year_result(result: SolveResult, year: int) -> SolveResult:
    """The part of a multi-year solution that belongs to ``year``, with plain ids."""
    a = result.assignment
    vid, vyear = untag(a["village_id"])
    mine = (vyear == year).to_numpy()
    assignment = a[mine].assign(
        village_id=vid[mine].to_numpy(), option_id=untag(a.loc[mine, "option_id"])[0].to_numpy()
    )
    open_ids = pd.Series(result.open_options, dtype=object)
    oid, oyear = untag(open_ids) if len(open_ids) else (open_ids, open_ids)
    ex = result.expansions
    eid, eyear = untag(ex["option_id"]) if len(ex) else (ex["option_id"], ex["option_id"])
    return SolveResult(
        status=result.status,
        objective=result.objective,
        bound=result.bound,
        gap=result.gap,
        seconds=result.seconds,
        build_seconds=result.build_seconds,
        solver=result.solver,
        open_options=list(oid[(oyear == year).to_numpy()]),
        assignment=assignment.reset_index(drop=True),
        classes=pd.DataFrame(columns=["option_id", "level", "classes"]),
        stats=result.stats,
        expansions=ex[(eyear == year).to_numpy()]
        .assign(option_id=eid[(eyear == year).to_numpy()].to_numpy())
        .reset_index(drop=True),
    )
