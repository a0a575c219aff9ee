"""Projection: children per village, level and year, 3-10 years ahead.

A small cohort model on single years of age 0..14 per village (counts may be fractional):

1. **Ageing.** Every year each cohort moves up one year of age (this year's 6-year-olds are next
   year's 7-year-olds); the oldest school age leaves. No mortality: below 15 it is well under
   1 % a year in China and smaller than the uncertainty of the village counts.
2. **Births.** The new 0-year-olds of year *y* are the county's births of *y*: either given per
   year, or last year's times ``1 + birth_change``. They are spread over villages like the
   0-year-olds of the year before (so migration of young families carries births with it).
3. **Urbanisation.** Then a share ``urban_transfer`` of every rural village's children (every
   age) moves to the towns (villages flagged ``urban``), spread over them in proportion to
   their base-year population (or equally).

The start is the base year's children per village by single year, from the children per level
and the county's single-year age profile (:func:`base_ages`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from planning._errors import InputError, Problem
from planning.demand import LEVELS, SCHOOL_AGES, apportion

logger = logging.getLogger(__name__)

COLUMNS = ["village_id", "year", "level", "children"]


def base_ages(
    villages: pd.DataFrame,
    profile: pd.Series,
    *,
    school_ages: Mapping[str, tuple[int, int]] = SCHOOL_AGES,
) -> pd.DataFrame:
    """Children per village and single year of age in the base year.

    Each level's children are split over its ages like the county profile; the ages below the
    youngest level (0-5) are the youngest level's children times the profile's ratio of that
    age to the level's ages.

    Parameters
    ----------
    villages
        Indexed by village id, with ``children_<level>`` (children).
    profile
        Persons per single year of age (e.g. :func:`planning.demand.single_year_ages`).

    Returns
    -------
    DataFrame indexed by village id, one column per age 0..oldest school age (children).
    """
    first = min(a for a, _ in school_ages.values())
    last = max(z for _, z in school_ages.values())
    ages = np.arange(0, last + 1)
    p = profile.reindex(ages)
    if p.isna().any():
        missing = [int(a) for a in ages[p.isna().to_numpy()]]
        raise InputError([Problem("age profile", f"no persons given for ages {missing}")])
    out = pd.DataFrame(0.0, index=villages.index, columns=ages)
    youngest = min(school_ages, key=lambda lvl: school_ages[lvl][0])
    for lvl, (a, z) in school_ages.items():
        weights = p.loc[a:z] / p.loc[a:z].sum()
        kids = villages[f"children_{lvl}"].to_numpy(float)
        out.loc[:, a:z] = np.outer(kids, weights.to_numpy())
    y0, y1 = school_ages[youngest]
    below = p.loc[: first - 1] / p.loc[y0:y1].sum()
    out.loc[:, : first - 1] = np.outer(
        villages[f"children_{youngest}"].to_numpy(float), below.to_numpy()
    )
    return out


def project(
    ages: pd.DataFrame,
    *,
    base_year: int,
    years: Sequence[int],
    urban: pd.Series | None = None,
    births: Mapping[int, float] | None = None,
    birth_change: float = 0.0,
    urban_transfer: float = 0.0,
    town_weight: pd.Series | None = None,
    school_ages: Mapping[str, tuple[int, int]] = SCHOOL_AGES,
) -> pd.DataFrame:
    """Project children per village by single year of age, and report them per level.

    Parameters
    ----------
    ages
        Base-year children per village (rows) and age 0..14 (columns), e.g. :func:`base_ages`.
    base_year
        Calendar year of ``ages``.
    years
        Target years to report (each >= ``base_year``).
    urban
        Per village, True for towns (receivers of the urbanisation transfer).
    births
        County births per calendar year (0-year-olds entering), for every year after the base
        year up to the last target. Without it, births change by ``birth_change`` a year.
    birth_change
        Yearly relative change of county births (e.g. -0.03 for 3 % fewer a year).
    urban_transfer
        Share of each rural village's children moving to the towns each year (0.02 = 2 %).
    town_weight
        Per town, its share of the transfer (normalised); default equal.

    Returns
    -------
    Long table ``village_id, year, level, children`` (children: float, expected values).
    """
    targets = sorted(set(int(y) for y in years))
    _check_settings(targets, base_year, births, urban_transfer, urban, ages.index)
    rural, into = _transfer_shares(ages.index, urban, town_weight)
    state = ages.to_numpy(float).copy()
    county_births = float(state[:, 0].sum())
    frames = [_levels(state, ages, base_year, school_ages)] if base_year in targets else []
    for year in range(base_year + 1, targets[-1] + 1):
        county_births = births[year] if births is not None else county_births * (1 + birth_change)
        state = _step(state, county_births, rural * urban_transfer, into)
        if year in targets:
            frames.append(_levels(state, ages, year, school_ages))
    return pd.concat(frames, ignore_index=True)


def _check_settings(
    targets: list[int],
    base_year: int,
    births: Mapping[int, float] | None,
    transfer: float,
    urban: pd.Series | None,
    index: pd.Index,
) -> None:
    problems = []
    if not targets or targets[0] < base_year:
        problems.append(Problem("projection", f"target years {targets} before {base_year}"))
    if births is not None and targets:
        gap = [y for y in range(base_year + 1, targets[-1] + 1) if y not in births]
        if gap:
            problems.append(Problem("projection", f"no county births given for years {gap}"))
    if not 0.0 <= transfer <= 1.0:
        problems.append(Problem("projection", f"urban_transfer {transfer:g} not in [0, 1]"))
    if transfer > 0 and (urban is None or not urban.reindex(index).fillna(False).any()):
        problems.append(Problem("projection", "urban_transfer > 0 but no village is a town"))
    if problems:
        raise InputError(problems)


def _transfer_shares(
    index: pd.Index, urban: pd.Series | None, weight: pd.Series | None
) -> tuple[np.ndarray, np.ndarray]:
    """Rural flag (1/0) and each village's share of what moves to towns."""
    is_town = np.zeros(len(index), bool) if urban is None else urban.reindex(index).fillna(False)
    is_town = np.asarray(is_town, dtype=bool)
    w = np.ones(len(index)) if weight is None else weight.reindex(index).fillna(0.0).to_numpy()
    w = np.where(is_town, w, 0.0)
    into = w / w.sum() if w.sum() > 0 else is_town / max(is_town.sum(), 1)
    return (~is_town).astype(float), into


def _step(state: np.ndarray, births: float, leave: np.ndarray, into: np.ndarray) -> np.ndarray:
    """One year: ageing, births spread like last year's 0-year-olds, then the transfer."""
    nxt = np.zeros_like(state)
    nxt[:, 1:] = state[:, :-1]
    newborn = state[:, 0]
    share = newborn / newborn.sum() if newborn.sum() > 0 else np.full(len(state), 1 / len(state))
    nxt[:, 0] = births * share
    moving = nxt * leave[:, None]
    return nxt - moving + np.outer(into, moving.sum(axis=0))


def _levels(
    state: np.ndarray, ages: pd.DataFrame, year: int, school_ages: Mapping[str, tuple[int, int]]
) -> pd.DataFrame:
    cols = ages.columns.to_numpy(int)
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "village_id": ages.index.to_numpy(),
                    "year": year,
                    "level": lvl,
                    "children": state[:, (cols >= a) & (cols <= z)].sum(axis=1),
                }
            )
            for lvl, (a, z) in school_ages.items()
        ],
        ignore_index=True,
    )


def children_in_year(projection: pd.DataFrame, year: int) -> pd.DataFrame:
    """Whole children per village for one year, as the pipeline's village columns.

    Rounded by largest remainders so each level's county total is the rounded projected total.

    Returns
    -------
    DataFrame indexed by ``village_id`` with integer ``children_primary``, ``children_junior``.
    """
    rows = projection[projection["year"] == year]
    if rows.empty:
        years = sorted(projection["year"].unique().tolist())
        raise InputError([Problem("projection", f"year {year} not projected; have {years}")])
    wide = rows.pivot_table(index="village_id", columns="level", values="children", sort=False)
    out = pd.DataFrame(index=wide.index)
    for lvl in LEVELS:
        out[f"children_{lvl}"] = apportion(wide[lvl].clip(lower=0.0))
    return out.rename_axis("village_id")


def project_villages(
    villages: pd.DataFrame,
    profile: pd.Series,
    *,
    base_year: int,
    years: Sequence[int],
    urban: str | None = "urban",
    births: Mapping[int, float] | None = None,
    birth_change: float = 0.0,
    urban_transfer: float = 0.0,
) -> pd.DataFrame:
    """:func:`base_ages` then :func:`project` on a villages table (ids as index).

    ``urban`` names a boolean column of towns; the transfer goes to them in proportion to
    their ``population`` column when there is one.
    """
    ages = base_ages(villages, profile)
    flag = villages[urban].astype(bool) if urban and urban in villages.columns else None
    weight = villages["population"].astype(float) if "population" in villages.columns else None
    if weight is not None and flag is not None and not (weight[flag] > 0).any():
        weight = None
    logger.info("projecting %d villages from %d to %s", len(villages), base_year, list(years))
    return project(
        ages,
        base_year=base_year,
        years=years,
        urban=flag,
        births=births,
        birth_change=birth_change,
        urban_transfer=urban_transfer,
        town_weight=weight,
    )
