"""The plan map (planning.maps) and the visible strings it takes from planning.i18n."""

from __future__ import annotations

import dataclasses
import json
import re
import string
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pytest
import shapely

from planning._errors import InputError
from planning.i18n import LANGS, STRINGS, t
from planning.maps import plan_map, write_map
from planning.plan import Plan

CRS = "EPSG:32649"  # UTM 49N, metres
X0, Y0 = 500_000.0, 2_800_000.0
XSS = "<img src=x onerror=alert(1)>"
SCHOOL_MARKER = re.compile(r'"className":\s*"school-marker school-(keep|close|new)"')


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


@pytest.fixture
def plan() -> Plan:
    """Four schools (kept, closed, kept, new), three villages, four catchment squares."""
    return Plan(
        name="撤并方案A",
        schools=_schools(),
        villages=_villages(),
        catchments=_catchments(),
        summary={"status": "optimal", "objective": 1234.5},
    )


@pytest.fixture
def boundary() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": ["<script>县</script>"]}, geometry=[_square(X0 + 1000, Y0, 5000)], crs=CRS
    )


def _page(plan: Plan, boundary: gpd.GeoDataFrame, tmp_path: Path, *, lang: str = "zh") -> str:
    path = write_map(plan_map(plan, boundary, lang=lang), tmp_path / f"map_{lang}.html")
    return path.read_text(encoding="utf-8")


def _village_popups(page: str) -> list[str]:
    """The village popups: HTML held as JSON strings in the embedded GeoJSON."""
    return [json.loads(text) for text in re.findall(r'"popup":\s*("(?:[^"\\]|\\.)*")', page)]


def _legend(lang: str) -> list[str]:
    keys = ("legend_title", "legend_keep", "legend_close", "legend_new", "legend_village")
    return [t(key, lang) for key in keys]


def test_title_and_chinese_legend_by_default(plan, boundary, tmp_path):
    page = _page(plan, boundary, tmp_path)
    assert t("map_title", "zh", name="撤并方案A") in page
    assert t("status_optimal", "zh") in page
    assert all(text in page for text in _legend("zh"))
    assert not any(text in page for text in _legend("en"))


def test_english_legend(plan, boundary, tmp_path):
    page = _page(plan, boundary, tmp_path, lang="en")
    assert t("map_title", "en", name="撤并方案A") in page
    assert all(text in page for text in _legend("en"))
    assert not any(text in page for text in _legend("zh"))


def test_names_from_data_are_escaped(plan, boundary, tmp_path):
    page = _page(plan, boundary, tmp_path)
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<img src=x" not in page
    assert "&lt;b&gt;北村&lt;/b&gt;" in _village_popups(page)[2]
    assert "<b>北村" not in _village_popups(page)[2]
    assert "<script>县" not in page


def test_names_cannot_break_out_of_javascript_strings(plan, boundary, tmp_path):
    schools = plan.schools.assign(name=["`${alert(1)}`", "a\\`b", "${x}", "c"])
    page = _page(dataclasses.replace(plan, schools=schools), boundary, tmp_path)
    assert "${alert(1)}" not in page
    assert "${x}" not in page
    assert "\\`b" not in page
    assert "&#96;&#36;{alert(1)}&#96;" in page


def test_one_marker_per_school_coloured_by_decision(plan, boundary, tmp_path):
    page = _page(plan, boundary, tmp_path)
    decisions = SCHOOL_MARKER.findall(page)
    assert len(decisions) == len(plan.schools)
    assert sorted(decisions) == sorted(plan.schools["decision"])


def test_popups_show_students_before_and_after(plan, boundary, tmp_path):
    page = _page(plan, boundary, tmp_path)
    assert "300 → 350" in page  # S1 primary
    assert "40 → 0" in page  # S2, closed
    assert "67%" in page  # S1 utilisation, 8 of 12 rooms
    assert "43.8" in page  # S1 average class size after, 350 / 8
    popups = _village_popups(page)
    assert len(popups) == len(plan.villages)
    assert t("popup_assignment", "zh", school="城关中学", km="1.2", minutes="15") in popups[0]
    assert t("popup_unassigned", "zh") in popups[2]  # V3 has no junior school


def test_layers_links_hidden_at_first(plan, boundary):
    m = plan_map(plan, boundary, lang="en")
    groups = {
        child.layer_name: child.show
        for child in m._children.values()
        if isinstance(child, folium.FeatureGroup)
    }
    keys = ("catchments_primary", "catchments_junior", "links_primary", "links_junior")
    assert {t(f"layer_{key}", "en") for key in keys} <= set(groups)
    assert groups[t("layer_links_primary", "en")] is False
    assert groups[t("layer_links_junior", "en")] is False
    assert groups[t("layer_catchments_primary", "en")] is True
    assert any(isinstance(child, folium.LayerControl) for child in m._children.values())


def test_write_map_replaces_file_and_leaves_no_temp(plan, boundary, tmp_path):
    target = tmp_path / "map.html"
    target.write_text("old", encoding="utf-8")
    out = write_map(plan_map(plan, boundary), str(target))
    assert out == target
    assert [p.name for p in tmp_path.iterdir()] == ["map.html"]
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_failed_write_keeps_old_file_and_leaves_no_temp(plan, boundary, tmp_path, monkeypatch):
    target = tmp_path / "map.html"
    target.write_text("old", encoding="utf-8")

    def fail(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("planning.maps.os.replace", fail)
    with pytest.raises(OSError, match="disk full"):
        write_map(plan_map(plan, boundary), target)
    assert [p.name for p in tmp_path.iterdir()] == ["map.html"]
    assert target.read_text(encoding="utf-8") == "old"


def test_layer_without_crs_is_an_input_error(plan, boundary):
    with pytest.raises(InputError, match=r"plan\.villages: layer has no CRS"):
        plan_map(
            dataclasses.replace(plan, villages=plan.villages.set_crs(None, allow_override=True)),
            boundary,
        )


def test_unknown_decision_is_an_input_error(plan, boundary):
    schools = plan.schools.assign(decision=["keep", "expand", "keep", "new"])
    with pytest.raises(InputError, match=r"row S2, field 'decision'.*'expand'"):
        plan_map(dataclasses.replace(plan, schools=schools), boundary)


def test_unknown_language_is_refused(plan, boundary):
    with pytest.raises(ValueError, match="fr"):
        plan_map(plan, boundary, lang="fr")


def test_empty_plan_layers_still_draw(plan, boundary, tmp_path):
    empty = dataclasses.replace(
        plan, villages=plan.villages.iloc[:0], catchments=plan.catchments.iloc[:0]
    )
    page = _page(empty, boundary, tmp_path)
    assert len(SCHOOL_MARKER.findall(page)) == len(plan.schools)


# -- planning.i18n -------------------------------------------------------------------------------


def test_t_looks_up_both_languages():
    assert t("decision_close") == "撤并"
    assert t("decision_close", "en") == "closed"
    assert t("map_title", "en", name="A") == "School layout plan: A"
    assert LANGS == ("zh", "en")


def test_t_names_a_missing_key():
    with pytest.raises(KeyError, match="no_such_key"):
        t("no_such_key")


def test_t_refuses_other_languages():
    with pytest.raises(ValueError, match="'de'"):
        t("map", "de")


@pytest.mark.parametrize("key", sorted(STRINGS))
def test_every_string_has_both_languages_with_the_same_fields(key):
    zh, en = STRINGS[key]
    assert zh.strip() and en.strip()
    fields = [{f for _, f, _, _ in string.Formatter().parse(text) if f} for text in (zh, en)]
    assert fields[0] == fields[1]


def test_cli_and_report_strings():
    expected = {
        "run_done": ("结果已写入", "Results written to"),
        "level_nine_year": ("九年一贯制", "nine-year"),
        "level_teaching_point": ("教学点", "teaching point"),
        "status_optimal": ("最优(已证明)", "optimal (proven)"),
        "status_feasible": ("可行(未证明最优)", "feasible (not proven optimal)"),
    }
    assert {key: STRINGS[key] for key in expected} == expected
