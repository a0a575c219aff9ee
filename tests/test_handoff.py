"""Hand-off to land-use planning (planning.handoff): reserve sites, closed sites, the workbook."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from planning.handoff import closed_sites, design_places, new_sites, write_report_xlsx
from planning.i18n import t
from planning.plan import Plan
from planning.scenario import Scenario, SchoolType

CRS = "EPSG:32649"
X0, Y0 = 500_000.0, 2_800_000.0


def _plan(crs: str = CRS) -> Plan:
    rows = [
        # id, name, level, decision, type, classrooms, before (p, j), after (p, j), x, y
        ("S1", "城关小学", "primary", "keep", "", 20, (600, 0), (700, 0), 0, 0),
        ("S2", '=HYPERLINK("x")', "teaching_point", "close", "", 3, (40, 0), (0, 0), 3000, 0),
        ("N1", "新区九年一贯制学校", "nine_year", "new", "N36", 36, (0, 0), (900, 400), 2000, 2000),
        ("N2", "河西小学", "primary", "new", "P24", 24, (0, 0), (800, 0), -2000, 1000),
    ]
    schools = gpd.GeoDataFrame(
        {
            "school_id": [r[0] for r in rows],
            "name": [r[1] for r in rows],
            "level": [r[2] for r in rows],
            "township": "城关镇",
            "decision": [r[3] for r in rows],
            "type_id": [r[4] for r in rows],
            "classrooms": [r[5] for r in rows],
            "students_primary_before": [r[6][0] for r in rows],
            "students_junior_before": [r[6][1] for r in rows],
            "students_primary": [r[7][0] for r in rows],
            "students_junior": [r[7][1] for r in rows],
            "floor_area_m2": [3000.0, 180.5, np.nan, np.nan],
            "sports_area_m2": [4000.0, 260.0, np.nan, np.nan],
            "land_m2": [None, None, None, 20000.0],
        },
        index=[r[0] for r in rows],
        geometry=gpd.points_from_xy([X0 + r[8] for r in rows], [Y0 + r[9] for r in rows]),
        crs=CRS,
    ).to_crs(crs)
    empty = gpd.GeoDataFrame(geometry=[], crs=crs)
    return Plan(name="方案", schools=schools, villages=empty, catchments=empty)


SCENARIO = Scenario.model_validate(
    {
        "name": "测试",
        "data": {"schools": "s.csv", "villages": "v.geojson", "boundary": "b.geojson"},
        "new_school_types": [
            {"id": "N36", "level": "nine_year", "classes": 36, "build_cost_wan": 8000},
            {"id": "P24", "level": "primary", "classes": 24, "build_cost_wan": 5000},
        ],
    }
)


def test_design_places_split_a_nine_year_design_six_to_three():
    sizes = {"primary": 45, "junior": 50}
    assert design_places("nine_year", 36, sizes) == {"primary": 24 * 45, "junior": 12 * 50}
    assert design_places("junior", 30, sizes) == {"primary": 0, "junior": 1500}
    assert design_places("teaching_point", 3, sizes) == {"primary": 135, "junior": 0}


def test_new_sites_land_from_the_design_or_the_norm():
    """N1 (N36, no land given): 24 x 45 = 1,080 primary places x 20 m² + 12 x 50 = 600 junior
    places x 25 m² = 21,600 + 15,000 = 36,600 m². N2 has the plan's land_m2: 20,000 m²."""
    sites = new_sites(_plan(), SCENARIO)
    assert sites["school_id"].tolist() == ["N1", "N2"]
    assert sites["land_m2"].tolist() == [36_600.0, 20_000.0]
    assert sites["land_basis"].tolist() == ["norm", "type"]
    assert sites["places"].tolist() == [1680, 1080]
    assert sites["students"].tolist() == [1300, 800]


def test_a_type_land_area_wins_and_norms_can_be_changed():
    types = [
        {"id": "N36", "level": "nine_year", "classes": 36, "build_cost_wan": 1, "land_m2": 30000},
        {"id": "P24", "level": "primary", "classes": 24, "build_cost_wan": 1},
    ]
    scenario = SCENARIO.model_copy(
        update={"new_school_types": [SchoolType.model_validate(x) for x in types]}
    )
    plan = _plan()
    plan.schools["land_m2"] = None
    sites = new_sites(plan, scenario, land_m2_per_student={"primary": 10.0, "junior": 10.0})
    assert sites["land_m2"].tolist() == [30_000.0, 10_800.0]


@pytest.mark.parametrize("crs", [CRS, "EPSG:4326"])
def test_reserve_polygons_have_the_needed_area_around_the_site(crs):
    plan = _plan(crs)
    sites = new_sites(plan, SCENARIO)
    metric = sites.to_crs(CRS)
    assert np.allclose(metric.area, sites["land_m2"], rtol=0.01)
    points = plan.schools.loc[["N1", "N2"]].to_crs(CRS).geometry
    assert metric.contains(points).all()
    assert np.allclose(metric.centroid.distance(points), 0, atol=1.0)


def test_closed_sites_list_buildings_for_reuse():
    sites = closed_sites(_plan(), receiving={"S2": "S1"})
    row = sites.iloc[0]
    assert sites["school_id"].tolist() == ["S2"]
    assert (row["students_before"], row["floor_area_m2"], row["sports_area_m2"]) == (40, 180.5, 260)
    assert row["receiving"] == "S1" and row.geometry.geom_type == "Point"


def test_layers_write_to_a_geopackage(tmp_path):
    gpkg = tmp_path / "plan.gpkg"
    new_sites(_plan(), SCENARIO).to_crs(4326).to_file(gpkg, layer="new_sites", driver="GPKG")
    closed_sites(_plan()).to_crs(4326).to_file(gpkg, layer="closed_sites", driver="GPKG")
    back = gpd.read_file(gpkg, layer="new_sites")
    assert back["land_m2"].tolist() == [36_600.0, 20_000.0]
    assert set(back.geom_type) == {"Polygon"}


def _workbook(tmp_path: Path, lang: str) -> Path:
    plan = _plan()
    tables = {
        "new_sites": new_sites(plan, SCENARIO),
        "closed_sites": closed_sites(plan, receiving={"S2": "S1"}),
        "balance": pd.DataFrame(
            {
                "level": ["primary"],
                "indicator": ["floor_area"],
                "unit": ["m2_per_student"],
                "cv_before": [0.412345678],
                "cv_after": [np.nan],
                "ok": [True],
            }
        ),
    }
    return write_report_xlsx(tables, tmp_path / "handoff.xlsx", lang=lang)


def test_workbook_has_a_sheet_per_table_with_chinese_headings(tmp_path):
    path = _workbook(tmp_path, "zh")
    book = load_workbook(path)
    assert book.sheetnames == ["新建学校用地", "撤并学校校舍", "校际均衡"]
    new = book["新建学校用地"]
    headers = [c.value for c in new[1]]
    assert headers[:2] == ["学校代码", "学校名称"] and "用地需求（平方米）" in headers
    assert headers[-2:] == ["经度", "纬度"]
    first = dict(zip(headers, [c.value for c in new[2]], strict=True))
    assert first["学段类型"] == "九年一贯制" and first["用地依据"] == t("land_basis_norm")
    assert first["用地需求（平方米）"] == 36600
    assert 108 < first["经度"] < 112 and new.freeze_panes == "A2"
    assert new.column_dimensions["B"].width >= 2 * len("新区九年一贯制学校")
    balance = [c.value for c in book["校际均衡"][2]]
    assert balance == ["小学", t("balance_floor_area"), "平方米/生", 0.4123, None, "是"]
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left


def test_workbook_cells_hold_values_never_formulas(tmp_path):
    sheet = load_workbook(_workbook(tmp_path, "zh"))["撤并学校校舍"]
    name = sheet["B2"]
    assert name.value == '=HYPERLINK("x")' and name.data_type == "s"
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)


def test_workbook_in_english(tmp_path):
    book = load_workbook(_workbook(tmp_path, "en"))
    assert book.sheetnames == ["New school sites", "Closed school sites", "Balance"]
    assert [c.value for c in book["Balance"][1]][:2] == ["Level", "Indicator"]
    assert book["Balance"]["A2"].value == "primary"


def test_workbook_replaces_an_old_file_and_keeps_unknown_names(tmp_path):
    path = tmp_path / "out.xlsx"
    path.write_bytes(b"old")
    write_report_xlsx({"my/table": pd.DataFrame({"x_col": [1]})}, path)
    sheet = load_workbook(path)["my_table"]
    assert [c.value for c in sheet[1]] == ["x_col"] and sheet["A2"].value == 1


def test_workbook_translates_catchment_statuses(tmp_path):
    exclaves = pd.DataFrame(
        {"village_id": ["V1"], "status": ["no_capacity"], "touches_owner": [False]}
    )
    path = write_report_xlsx({"exclaves": exclaves}, tmp_path / "x.xlsx")
    sheet = load_workbook(path)[t("xlsx_sheet_exclaves")]
    assert [c.value for c in sheet[2]] == ["V1", t("exclave_no_capacity"), "否"]
