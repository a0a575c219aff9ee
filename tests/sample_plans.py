"""Small plans for the map and report tests: hand-made tables, and plans read back from disk."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from planning.plan import Plan

CRS = "EPSG:32649"  # UTM 49N, metres
X0, Y0 = 500_000.0, 2_800_000.0
XSS = "<img src=x onerror=alert(1)>"


def _square(x: float, y: float, half: float) -> shapely.Polygon:
    return shapely.box(x - half, y - half, x + half, y + half)


def _schools() -> gpd.GeoDataFrame:
    rows = [
        # id, name, level, decision, before (p, j), after (p, j), classes (p, j), x, y
        ("S1", "城关小学", "primary", "keep", (300, 0), (350, 0), (8, 0), 0, 0),
        ("S2", XSS, "teaching_point", "close", (40, 0), (0, 0), (0, 0), 3000, 1000),
        ("S3", "城关中学", "junior", "keep", (0, 420), (0, 480), (0, 10), 1000, -1000),
        ("N1", "新区九年一贯制学校", "nine_year", "new", (0, 0), (200, 90), (5, 2), 2000, 2000),
    ]
    return gpd.GeoDataFrame(
        {
            "school_id": [r[0] for r in rows],
            "name": [r[1] for r in rows],
            "level": [r[2] for r in rows],
            "township": "城关镇",
            "decision": [r[3] for r in rows],
            "students_primary_before": [r[4][0] for r in rows],
            "students_junior_before": [r[4][1] for r in rows],
            "students_primary": [r[5][0] for r in rows],
            "students_junior": [r[5][1] for r in rows],
            "classes_primary": [r[6][0] for r in rows],
            "classes_junior": [r[6][1] for r in rows],
            "classes_primary_before": [7, 3, 0, 0],
            "classes_junior_before": [0, 0, 9, 0],
            "classrooms": [12, 2, 15, 12],
            "max_students": [2000, 2000, 2000, 2500],
            "utilisation": [8 / 12, 0.0, 10 / 15, 7 / 12],
        },
        geometry=gpd.points_from_xy([X0 + r[7] for r in rows], [Y0 + r[8] for r in rows]),
        crs=CRS,
    )


def _villages() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "village_id": ["V1", "V2", "V3"],
            "name": ["东村", "西村", "<b>北村</b>"],
            "township": "城关镇",
            "children_primary": [120, 80, 30],
            "children_junior": [60, 40, 10],
            "school_primary": ["S1", "N1", "S1"],
            "school_junior": ["S3", "N1", None],
            "distance_m_primary": [800.0, 1500.0, 2300.0],
            "minutes_primary": [10.0, 19.0, 29.0],
            "distance_m_junior": [1200.0, 1500.0, np.nan],
            "minutes_junior": [15.0, 19.0, np.nan],
        },
        geometry=gpd.points_from_xy([X0 + 500, X0 + 2500, X0 - 500], [Y0, Y0 + 1500, Y0 + 800]),
        crs=CRS,
    )


def _catchments() -> gpd.GeoDataFrame:
    rows = [
        ("S1", "primary", 350, 2, _square(X0, Y0, 1000)),
        ("N1", "primary", 200, 1, _square(X0 + 2000, Y0 + 2000, 1000)),
        ("S3", "junior", 480, 1, _square(X0 + 1000, Y0 - 1000, 1500)),
        ("N1", "junior", 90, 1, _square(X0 + 2000, Y0 + 2000, 1000)),
    ]
    return gpd.GeoDataFrame(
        [r[:4] for r in rows],
        columns=["school_id", "level", "students", "villages"],
        geometry=[r[4] for r in rows],
        crs=CRS,
    )


def toy_plan() -> Plan:
    """Four schools (kept, closed, kept, new), three villages, four catchment squares."""
    return Plan(
        name="撤并方案A",
        schools=_schools(),
        villages=_villages(),
        catchments=_catchments(),
        summary={"status": "optimal", "objective": 1234.5},
    )


def toy_boundary() -> gpd.GeoDataFrame:
    """A square county whose name is markup."""
    return gpd.GeoDataFrame(
        {"name": ["<script>县</script>"]}, geometry=[_square(X0 + 1000, Y0, 5000)], crs=CRS
    )


def other_plan(plan: Plan) -> Plan:
    """Plan B for comparisons: S3 closes, and village V2's primary school becomes S1."""
    schools = plan.schools.assign(
        decision=np.where(plan.schools["school_id"] == "S3", "close", plan.schools["decision"])
    )
    villages = plan.villages.copy()
    villages.loc[villages["village_id"] == "V2", "school_primary"] = "S1"
    return dataclasses.replace(plan, name="方案B", schools=schools, villages=villages)


def read_plan(folder: Path) -> Plan:
    """A plan read back from a run's ``plan.gpkg`` and ``summary.json``."""
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    layers = {
        name: gpd.read_file(folder / "plan.gpkg", layer=name)
        for name in ("schools", "villages", "catchments")
    }
    return Plan(name=summary["scenario"], summary=summary, **layers)
