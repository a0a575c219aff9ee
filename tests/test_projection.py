"""Projection of children per village, level and year, checked against a hand computation.

The three-year example (levels shortened so that births reach school within the three years:
"primary" = ages 1-2, "junior" = age 3). Base year 2020:

    village  age 0  age 1  age 2  age 3      R is rural, T a town
    R          40     30     20     10
    T          10     10     10     10

County births 50 in 2020, falling 20 % a year: 40 (2021), 32 (2022), 25.6 (2023). Each year 25 %
of R's children move to T. One step = ageing, births spread like last year's 0-year-olds, then
the transfer.

2021: ageing gives R (-, 40, 30, 20), T (-, 10, 10, 10); births 40 split 40:10 -> R 32, T 8;
      transfer 25 % of R: R (24, 30, 22.5, 15), T (16, 20, 17.5, 15).
      primary R 52.5, T 37.5; junior R 15, T 15.
2022: ageing R (-, 24, 30, 22.5), T (-, 16, 20, 17.5); births 32 split 24:16 -> 19.2, 12.8;
      transfer: R (14.4, 18, 22.5, 16.875), T (17.6, 22, 27.5, 23.125).
      primary R 40.5, T 49.5; junior R 16.875, T 23.125.
2023: ageing R (-, 14.4, 18, 22.5), T (-, 17.6, 22, 27.5); births 25.6 split 14.4:17.6 ->
      11.52, 14.08; transfer: R (8.64, 10.8, 13.5, 16.875), T (16.96, 21.2, 26.5, 33.125).
      primary R 24.3, T 47.7; junior R 16.875, T 33.125.

Checks: primary totals 90, 90, 72 = last year's ages 0 + 1; junior 30, 40, 50 = last year's age 2.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from planning._errors import InputError
from planning.projection import base_ages, children_in_year, project, project_villages

TOY_AGES = {"primary": (1, 2), "junior": (3, 3)}
EXPECTED = {
    (2021, "primary"): {"R": 52.5, "T": 37.5},
    (2021, "junior"): {"R": 15.0, "T": 15.0},
    (2022, "primary"): {"R": 40.5, "T": 49.5},
    (2022, "junior"): {"R": 16.875, "T": 23.125},
    (2023, "primary"): {"R": 24.3, "T": 47.7},
    (2023, "junior"): {"R": 16.875, "T": 33.125},
}


def toy_ages() -> pd.DataFrame:
    return pd.DataFrame(
        [[40, 30, 20, 10], [10, 10, 10, 10]], index=pd.Index(["R", "T"]), columns=[0, 1, 2, 3]
    )


def toy_projection(
    births: dict[int, float] | None = None, birth_change: float = -0.2
) -> pd.DataFrame:
    return project(
        toy_ages(),
        base_year=2020,
        years=[2021, 2022, 2023],
        urban=pd.Series({"R": False, "T": True}),
        births=births,
        birth_change=birth_change,
        urban_transfer=0.25,
        school_ages=TOY_AGES,
    )


def as_dict(table: pd.DataFrame) -> dict:
    return {
        (y, lvl): dict(zip(g["village_id"], g["children"], strict=True))
        for (y, lvl), g in table.groupby(["year", "level"])
    }


def test_three_years_by_hand():
    got = as_dict(toy_projection())
    assert got.keys() == EXPECTED.keys()
    for key, want in EXPECTED.items():
        assert got[key] == pytest.approx(want), key


def test_given_county_births_equal_the_rate():
    got = as_dict(toy_projection(births={2021: 40, 2022: 32, 2023: 25.6}, birth_change=0.0))
    for key, want in EXPECTED.items():
        assert got[key] == pytest.approx(want), key


def test_long_table_and_one_year_as_pipeline_columns():
    table = toy_projection()
    assert list(table.columns) == ["village_id", "year", "level", "children"]
    year = children_in_year(table, 2023)
    # 24.3 + 47.7 = 72 and 16.875 + 33.125 = 50 stay whole after rounding
    assert year.to_dict("index") == {
        "R": {"children_primary": 24, "children_junior": 17},
        "T": {"children_primary": 48, "children_junior": 33},
    }
    with pytest.raises(InputError, match=r"year 2030 not projected; have \[2021, 2022, 2023\]"):
        children_in_year(table, 2030)


def test_missing_births_and_no_town_are_errors():
    with pytest.raises(InputError, match=r"no county births given for years \[2023\]"):
        toy_projection(births={2021: 40, 2022: 32})
    with pytest.raises(InputError, match="no village is a town"):
        project(toy_ages(), base_year=2020, years=[2021], urban_transfer=0.1, school_ages=TOY_AGES)


def test_real_levels_cohorts_move_up_without_transfer():
    """Ages 6-11 and 12-14; even profile: this year's 5-year-olds are next year's 6-year-olds."""
    villages = pd.DataFrame(
        {"children_primary": [60.0, 120.0], "children_junior": [30.0, 60.0]},
        index=pd.Index(["A", "B"]),
    )
    profile = pd.Series(100.0, index=range(20))
    ages = base_ages(villages, profile)
    assert ages.loc["A"].tolist() == pytest.approx([10.0] * 15)  # 0-5 from the primary ratio
    table = project(ages, base_year=2020, years=[2020, 2026, 2027], birth_change=-0.5)
    got = as_dict(table)
    assert got[(2020, "primary")] == pytest.approx({"A": 60, "B": 120})
    # in 2026 the 6-11-year-olds are the 0-5-year-olds of 2020: unchanged
    assert got[(2026, "primary")] == pytest.approx({"A": 60, "B": 120})
    # 2027: the 6-year-olds were born in 2021, when births halved (10 -> 5 per year in A)
    assert got[(2027, "primary")] == pytest.approx({"A": 55, "B": 110})


def test_project_villages_sends_the_transfer_to_towns_by_population():
    villages = pd.DataFrame(
        {
            "children_primary": [60.0, 0.0, 0.0],
            "children_junior": [30.0, 0.0, 0.0],
            "urban": [False, True, True],
            "population": [500, 3000, 1000],
        },
        index=pd.Index(["R", "T1", "T2"]),
    )
    profile = pd.Series(100.0, index=range(20))
    table = project_villages(villages, profile, base_year=2020, years=[2021], urban_transfer=0.1)
    prim = table[table["level"] == "primary"].set_index("village_id")["children"]
    assert prim.to_dict() == pytest.approx({"R": 54.0, "T1": 4.5, "T2": 1.5})
    assert np.isclose(prim.sum(), 60.0)
