"""Balance between schools (planning.balance): the weighted CV, by hand, before and after a plan."""

from __future__ import annotations

import json
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from planning._errors import InputError
from planning.balance import (
    INDICATORS,
    NATIONAL_STANDARD,
    RESOURCE_COLUMNS,
    balance_summary,
    balance_table,
    receiving_schools,
    weighted_cv,
)
from planning.i18n import STRINGS

ROOT = Path(__file__).resolve().parent.parent
CRS = "EPSG:32649"


def test_weighted_cv_reproduces_the_measurement_note_example():
    """The measurement note's example: 5 primary schools, books per student, CV 0.52.

    Students 45, 37, 89, 76, 55 (302); books 279, 137, 935, 160, 402 (1,913): county mean
    6.33 books per student; sum of P_i/P (X_i - 6.33)^2 = 10.65; sqrt = 3.26; 3.26 / 6.33 = 0.52.
    """
    students = np.array([45, 37, 89, 76, 55])
    books = np.array([279, 137, 935, 160, 402])
    assert round(weighted_cv(books / students, students), 2) == 0.52


def test_weighted_cv_is_nan_without_students():
    assert math.isnan(weighted_cv(np.array([1.0]), np.array([0.0])))


def _schools() -> pd.DataFrame:
    """Six schools of a hand-computed county (index: school id).

    ==  ==============  ======  ==========  =========  =========  ========  ========
    id  level           action  before P/J  after P/J  qualified  backbone  floor m²
    ==  ==============  ======  ==========  =========  =========  ========  ========
    A   primary         keep    100/0       100/0      6          1         500
    B   primary         keep    100/0       150/0      2          1         300
    C   teaching_point  close   50/0        0/0        2          0.5       200
    D   nine_year       keep    100/100     100/100    8          2         1000
    E   junior          keep    0/100       0/100      8          1         500
    N   primary         new     0/0         50/0       (standard)
    ==  ==============  ======  ==========  =========  =========  ========  ========

    C closes into B (its teachers go to B, its floor area stays behind).
    """
    rows = [
        ("A", "primary", "keep", 100, 0, 100, 0, 6, 1, 500),
        ("B", "primary", "keep", 100, 0, 150, 0, 2, 1, 300),
        ("C", "teaching_point", "close", 50, 0, 0, 0, 2, 0.5, 200),
        ("D", "nine_year", "keep", 100, 100, 100, 100, 8, 2, 1000),
        ("E", "junior", "keep", 0, 100, 0, 100, 8, 1, 500),
        ("N", "primary", "new", 0, 0, 50, 0, np.nan, np.nan, np.nan),
    ]
    cols = ["level", "decision", "students_primary_before", "students_junior_before"]
    cols += ["students_primary", "students_junior", "teachers_qualified", "teachers_backbone"]
    cols += ["floor_area_m2"]
    df = pd.DataFrame([r[1:] for r in rows], index=[r[0] for r in rows], columns=cols)
    total = df["students_primary_before"] + df["students_junior_before"]
    for col in ("teachers_pe_art", "sports_area_m2", "equipment_value_wan", "multimedia_rooms"):
        df[col] = (total * 0.01).where(df["decision"] != "new")
    return df


STANDARD = {
    lvl: {**NATIONAL_STANDARD[lvl], "teachers_qualified": 4.0, "floor_area": 4.0}
    for lvl in ("primary", "junior")
}


@pytest.fixture(scope="module")
def hand() -> pd.DataFrame:
    table = balance_table(_schools(), {"C": "B"}, standard=STANDARD, junior_weight=1.0)
    return table.set_index(["level", "indicator"])


def test_hand_example_qualified_teachers_primary(hand):
    """Teachers above the qualification per 100 primary students.

    D's primary part: share 100 / (100 + 1.0 x 100) = 0.5 of 8 teachers = 4.

    Before: A 6, B 2, C 4, D 4 per 100, students 100, 100, 50, 100 (P = 350). Mean 14 / 350
    x 100 = 4.0; sum P_i (X_i - 4)^2 = 100 x 4 + 100 x 4 + 0 + 0 = 800; sd = sqrt(800 / 350)
    = 1.5119; CV = 1.5119 / 4 = 0.37796 (= 1 / sqrt 7).

    After: C's 2 teachers go to B: B 4 teachers / 150 = 2.667; N at the standard 4.0 with 50
    students. A 6, B 2.667, D 4, N 4 (P = 400): mean 16 / 400 x 100 = 4.0; sum = 100 x 4
    + 150 x 16/9 = 666.67; sd = sqrt(666.67 / 400) = 1.2910; CV = 0.32275.
    """
    row = hand.loc[("primary", "teachers_qualified")]
    assert row["cv_before"] == pytest.approx(1 / math.sqrt(7), abs=1e-9)
    assert row["cv_after"] == pytest.approx(math.sqrt(5 / 3) / 4, abs=1e-9)
    assert row["mean_before"] == pytest.approx(4.0)
    assert (row["schools_before"], row["schools_after"]) == (4, 4)
    assert row["threshold"] == 0.5 and bool(row["ok"])


def test_hand_example_floor_area_stays_behind(hand):
    """Floor area per primary student (not movable).

    Before: A 5, B 3, C 4, D 5 (500 of D's 1,000 m²) m² per student; P = 350; mean 1500 / 350
    = 4.2857; sum = 100 x 0.5102 + 100 x 1.6531 + 50 x 0.0816 + 100 x 0.5102 = 271.43;
    sd = sqrt(271.43 / 350) = 0.8806; CV = 0.20548.

    After: B keeps its 300 m² for 150 students (2.0), N gets 4.0 x 50 = 200 m²; A 5, B 2, D 5,
    N 4; P = 400; mean 1500 / 400 = 3.75; sum = 156.25 + 459.375 + 156.25 + 3.125 = 775;
    sd = sqrt(775 / 400) = 1.3919; CV = 0.37118.
    """
    row = hand.loc[("primary", "floor_area")]
    assert row["cv_before"] == pytest.approx(0.205480, abs=1e-6)
    assert row["cv_after"] == pytest.approx(0.371184, abs=1e-6)
    assert row["mean_after"] == pytest.approx(3.75)


def test_hand_example_backbone_teachers_move_with_the_merge(hand):
    """Backbone teachers: 1 per 100 everywhere before; B gets C's 0.5 (1.5 for 150), N gets
    the standard 1.0 per 100: still 1 per 100 everywhere, CV 0."""
    row = hand.loc[("primary", "teachers_backbone")]
    assert row["cv_before"] == pytest.approx(0.0, abs=1e-12)
    assert row["cv_after"] == pytest.approx(0.0, abs=1e-12)


def test_hand_example_junior(hand):
    """Junior: D's junior part 4 per 100 (half of 8), E 8 per 100, 100 students each: mean 6,
    sd 2, CV 1/3 before and after; floor area 5 m² in both, CV 0."""
    row = hand.loc[("junior", "teachers_qualified")]
    assert row["cv_before"] == pytest.approx(1 / 3) and row["cv_after"] == pytest.approx(1 / 3)
    assert row["threshold"] == 0.45
    assert hand.loc[("junior", "floor_area"), "cv_after"] == pytest.approx(0.0, abs=1e-12)


def test_nine_year_school_split_by_weighted_students():
    """P = 90, J = 100, weight 1.1: primary share 90 / 200 = 0.45 of 20 teachers = 9
    (10 per 100), junior 11 (11 per 100)."""
    one = (
        _schools()
        .loc[["D"]]
        .assign(students_primary_before=90, students_primary=90, teachers_qualified=20)
    )
    table = balance_table(one, {}).set_index(["level", "indicator"])
    assert table.loc[("primary", "teachers_qualified"), "mean_before"] == pytest.approx(10.0)
    assert table.loc[("junior", "teachers_qualified"), "mean_before"] == pytest.approx(11.0)


def test_added_classrooms_bring_standard_floor_area():
    """One classroom added to A: 45 students x 4.5 m² = 202.5 m² more (national standard)."""
    schools = _schools().loc[["A"]].assign(classrooms_added=1)
    row = balance_table(schools, {}).set_index(["level", "indicator"])
    assert row.loc[("primary", "floor_area"), "mean_after"] == pytest.approx(702.5 / 100)


def test_small_teaching_points_can_be_left_out():
    table = balance_table(_schools(), {"C": "B"}, min_teaching_point_students=60)
    assert (
        table.set_index(["level", "indicator"]).loc[("primary", "floor_area"), "schools_before"]
        == 3
    )


def test_target_adds_a_column_and_summary_has_the_report_shape():
    table = balance_table(_schools(), {"C": "B"}, standard=STANDARD, target=0.30, junior_weight=1.0)
    assert table["meets_target"].dtype == bool
    summary = balance_summary(table)
    assert summary["primary"]["teachers_qualified"] == 0.323
    assert summary["primary"]["limit"] == 0.5
    assert summary["before"]["primary"]["teachers_qualified"] == 0.378
    assert summary["target"] == 0.3 and summary["meets_target"] is False
    assert set(summary["junior"]) == {*INDICATORS, "limit"}
    json.dumps(summary)  # plain data for summary.json


def test_every_indicator_and_unit_has_a_visible_name():
    for key, ind in INDICATORS.items():
        assert f"balance_{key}" in STRINGS and f"unit_{ind.unit}" in STRINGS


def test_missing_resource_columns_and_bad_receiving_are_reported():
    with pytest.raises(InputError, match="floor_area_m2"):
        balance_table(_schools().drop(columns=["floor_area_m2"]), {"C": "B"})
    with pytest.raises(InputError, match="'C' goes to 'C'"):
        balance_table(_schools(), {"C": "C"})


def test_receiving_school_takes_most_former_students():
    """C's former villages (nearest to C before the plan) are v1 (30 children, now at B) and
    v2 (10, now at A): C -> B. T has no village nearer to it than to others: nearest open, B."""
    schools = gpd.GeoDataFrame(
        {
            "level": ["primary", "teaching_point", "primary", "teaching_point"],
            "decision": ["keep", "close", "keep", "close"],
        },
        index=["A", "C", "B", "T"],
        geometry=gpd.points_from_xy([0, 1000, 3000, 5000], [0, 0, 0, 200]),
        crs=CRS,
    )
    villages = gpd.GeoDataFrame(
        {
            "children_primary": [30, 10, 50],
            "children_junior": [0, 0, 0],
            "school_primary": ["B", "A", "A"],
            "school_junior": [None, None, None],
        },
        index=["v1", "v2", "v3"],
        geometry=gpd.points_from_xy([900, 1100, 100], [0, 0, 0]),
        crs=CRS,
    )
    assert receiving_schools(schools, villages).to_dict() == {"C": "B", "T": "B"}


def test_sample_county_before_matches_a_direct_computation():
    """Before the plan, on the sample county's schools: primary floor area per student,
    computed directly (teaching points and the nine-year schools' primary share included)."""
    raw = pd.read_csv(ROOT / "data" / "sample_county" / "schools.csv", index_col="school_id")
    schools = raw.assign(
        decision="keep",
        students_primary_before=raw["students_primary"],
        students_junior_before=raw["students_junior"],
    )
    table = balance_table(schools, {}).set_index(["level", "indicator"])
    p, j = raw["students_primary"], raw["students_junior"]
    share = np.where(raw["level"] == "nine_year", p / (p + 1.1 * j), 1.0)
    keep = raw["level"].isin(["primary", "teaching_point", "nine_year"]) & (p > 0)
    x = (raw["floor_area_m2"] * share / p)[keep]
    mean = np.average(x, weights=p[keep])
    cv = math.sqrt(np.average((x - mean) ** 2, weights=p[keep])) / mean
    assert table.loc[("primary", "floor_area"), "cv_before"] == pytest.approx(cv)
    assert set(RESOURCE_COLUMNS) <= set(raw.columns)
