"""The plan map (planning.maps) and the visible strings it takes from planning.i18n."""

from __future__ import annotations

import dataclasses
import json
import re
import string
from pathlib import Path

import folium
import geopandas as gpd
import pytest
import shapely
from typer.testing import CliRunner

from planning._errors import InputError
from planning.i18n import LANGS, STRINGS, t
from planning.maps import BaseTiles, comparison_map, plan_map, write_map
from planning.plan import Plan
from tests.sample_plans import CRS, X0, Y0, other_plan, toy_boundary, toy_plan

DECODER = json.JSONDecoder()


@pytest.fixture
def plan() -> Plan:
    """Four schools (kept, closed, kept, new), three villages, four catchment squares."""
    return toy_plan()


@pytest.fixture
def boundary() -> gpd.GeoDataFrame:
    return toy_boundary()


def _page(plan: Plan, boundary: gpd.GeoDataFrame, tmp_path: Path, **options: object) -> str:
    path = write_map(plan_map(plan, boundary, **options), tmp_path / "map.html")  # type: ignore[arg-type]
    return path.read_text(encoding="utf-8")


def _json_after(page: str, marker: str) -> list[dict]:
    """Every JSON value written right after `marker` in the page's scripts."""
    found = []
    for match in re.finditer(re.escape(marker), page):
        try:
            value, _ = DECODER.raw_decode(page, match.end())
        except json.JSONDecodeError:  # the same characters inside Leaflet's own code
            continue
        found.append(value)
    return found


def _schools_data(page: str) -> list[dict]:
    """Properties of the school symbols (the MarkerLayer's embedded GeoJSON)."""
    layers = [v for v in _json_after(page, "L.geoJson(") if isinstance(v, dict)]
    return [f["properties"] for layer in layers for f in layer["features"]]


def _geojson_features(page: str) -> list[dict]:
    """Properties of the features of every folium GeoJson layer."""
    layers = _json_after(page, "_add(")
    return [f["properties"] for layer in layers for f in layer.get("features", [])]


def _village_popups(page: str) -> list[str]:
    return [p["popup"] for p in _geojson_features(page) if "popup" in p]


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


def test_page_is_self_contained(plan, boundary, tmp_path):
    page = _page(plan, boundary, tmp_path)
    assert not re.findall(r"<(?:script|link)\b[^>]*\b(?:src|href)=", page)
    assert not re.findall(r"url\((?!data:|#)", page)  # CSS images inlined too
    assert 'version="1.9.3"' in page  # Leaflet itself, inlined
    assert "jquery" not in page.lower() and "bootstrap" not in page.lower()


def test_names_from_data_are_escaped(plan, boundary, tmp_path):
    page = _page(plan, boundary, tmp_path)
    assert "<img src=x" not in page
    assert "<script>县" not in page
    school = next(p for p in _schools_data(page) if "onerror" in p["tip"])
    assert "&lt;img src=x onerror=alert(1)&gt;" in school["tip"]
    assert "&lt;img src=x onerror=alert(1)&gt;" in school["popup"]
    assert "<img" not in school["popup"]
    assert "&lt;b&gt;北村&lt;/b&gt;" in _village_popups(page)[2]
    assert "<b>北村" not in _village_popups(page)[2]


def test_names_cannot_break_out_of_javascript_strings(plan, boundary, tmp_path):
    schools = plan.schools.assign(name=["`${alert(1)}`", "a\\`b", "${x}", "</script><b>"])
    page = _page(dataclasses.replace(plan, schools=schools), boundary, tmp_path)
    assert "${alert(1)}" not in page
    assert "${x}" not in page
    assert "</script><b>" not in page
    popups = [p["popup"] for p in _schools_data(page)]
    assert "&#96;&#36;{alert(1)}&#96;" in popups[0]
    assert "&lt;/script&gt;&lt;b&gt;" in popups[3]


def test_one_symbol_per_school_by_decision(plan, boundary, tmp_path):
    schools = _schools_data(_page(plan, boundary, tmp_path))
    decisions = [p["css"].removeprefix("school-marker school-") for p in schools]
    assert decisions == list(plan.schools["decision"])
    shapes = {d: p["icon"] for d, p in zip(decisions, schools, strict=True)}
    assert "<polygon" in shapes["new"]  # a star
    assert "stroke-dasharray" in shapes["close"]  # a dashed circle with a cross
    sizes = {p["tip"]: p["size"] for p in schools}
    assert (
        sizes[t("tooltip_school", "zh", name="城关中学", decision="保留")]
        > sizes[t("tooltip_school", "zh", name="城关小学", decision="保留")]
    )  # 480 students after > 350


def test_expanded_school_has_its_own_symbol_and_rooms_added(plan, boundary, tmp_path):
    schools = plan.schools.assign(
        decision=["expand", "close", "keep", "new"], classrooms_added=[4, 0, 0, 0]
    )
    page = _page(dataclasses.replace(plan, schools=schools), boundary, tmp_path, lang="en")
    first = _schools_data(page)[0]
    assert first["css"] == "school-marker school-expand"
    assert first["icon"] != _schools_data(page)[2]["icon"]
    assert t("popup_classrooms_added", "en") in first["popup"]
    assert '<td class="n">8</td><td class="n">12</td>' in first["popup"]  # rooms 8 -> 12
    assert t("legend_expand", "en") in page


def test_popups_show_numbers_before_and_after_and_travel(plan, boundary, tmp_path):
    popups = [p["popup"] for p in _schools_data(_page(plan, boundary, tmp_path))]
    s1, s2 = popups[0], popups[1]
    assert '<td class="n">300</td><td class="n">350</td>' in s1  # students before, after
    assert '<td class="n">7</td><td class="n">8</td>' in s1  # classes
    assert '<td class="n">42.9</td><td class="n">43.8</td>' in s1  # class size 300/7, 350/8
    assert '<td class="n">58%</td><td class="n">67%</td>' in s1  # rooms in use, 7 then 8 of 12
    # S1 serves V1 (120 children, 0.8 km) and V3 (30, 2.3 km): weighted mean 1.1 km
    mean, longest = (
        t("popup_km_min", "zh", km=km, minutes=minutes)
        for km, minutes in (("1.1", "14"), ("2.3", "29"))
    )
    assert f"<td>{mean}</td><td>{longest}</td>" in s1
    assert '<td class="n">40</td><td class="n">–</td>' in s2  # closed: nothing after
    popups = _village_popups(_page(plan, boundary, tmp_path))
    assert len(popups) == len(plan.villages)
    assert t("popup_assignment", "zh", school="城关中学", km="1.2", minutes="15") in popups[0]
    assert t("popup_unassigned", "zh") in popups[2]  # V3 has no junior school


def _groups(m: folium.Map) -> dict[str, bool]:
    return {
        child.layer_name: child.show
        for child in m._children.values()
        if isinstance(child, folium.FeatureGroup)
    }


def test_primary_catchments_shown_junior_and_links_hidden(plan, boundary):
    m = plan_map(plan, boundary, lang="en")
    groups = _groups(m)
    assert list(groups) == [
        t(f"layer_{key}", "en")
        for key in (
            "boundary",
            "catchments_primary",
            "catchments_junior",
            "links_primary",
            "links_junior",
            "villages",
            "schools",
        )
    ]
    hidden = {name for name, show in groups.items() if not show}
    assert hidden == {
        t(f"layer_{key}", "en") for key in ("catchments_junior", "links_primary", "links_junior")
    }
    assert any(isinstance(child, folium.LayerControl) for child in m._children.values())


def test_tiles_none_by_default_osm_or_a_template(plan, boundary, tmp_path):
    assert "{z}" not in _page(plan, boundary, tmp_path)
    assert "tile.openstreetmap.org/{z}/{x}/{y}.png" in _page(plan, boundary, tmp_path, tiles="osm")
    tianditu = "https://t{s}.tianditu.gov.cn/vec_w/wmts?TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=K"
    page = _page(plan, boundary, tmp_path, tiles=BaseTiles(tianditu, subdomains="01234567"))
    assert "tianditu.gov.cn" in page
    assert t("map_note_gcj02", "zh") not in page


def test_gcj02_tiles_carry_a_note(plan, boundary, tmp_path):
    amap = "https://webrd0{s}.is.autonavi.com/appmaptile?style=8&x={x}&y={y}&z={z}"
    assert BaseTiles.parse(amap).coordinates == "gcj02"
    page = _page(plan, boundary, tmp_path, tiles=amap, lang="en")
    assert t("map_note_gcj02", "en") in page


def test_bad_tiles_spec_is_refused(plan, boundary):
    with pytest.raises(ValueError, match="tiles must be"):
        plan_map(plan, boundary, tiles="satellite")


def test_route_lines_replace_straight_links(plan, boundary, tmp_path):
    bent = shapely.LineString([(X0 + 500, Y0), (X0 + 400, Y0 + 300), (X0, Y0)])
    routes = gpd.GeoDataFrame(
        {"village_id": ["V1"], "level": ["primary"]}, geometry=[bent], crs=CRS
    )
    m = plan_map(plan, boundary, routes=routes)
    links = [
        child
        for group in m._children.values()
        if isinstance(group, folium.FeatureGroup) and group.layer_name == t("layer_links_primary")
        for child in group._children.values()
    ]
    lines = [f["geometry"]["coordinates"] for f in links[0].data["features"]]
    assert sorted(len(line) for line in lines) == [2, 2, 3]  # V1 routed, V2 and V3 straight


def test_comparison_marks_closed_schools_and_moved_villages(plan, boundary, tmp_path):
    after = other_plan(plan)
    page = write_map(comparison_map(plan, after, boundary, lang="en"), tmp_path / "c.html")
    text = page.read_text(encoding="utf-8")
    features = _geojson_features(text)
    assert [f["change"] for f in features if "change" in f] == ["closed"]  # S3
    moved = [f for f in features if f.get("kind") == "village"]
    assert len(moved) == 1 and "西村" in moved[0]["tip"]  # V2: N1 -> S1
    assert {f["kind"] for f in features if "kind" in f} == {"village", "old", "new"}
    assert t("compare_subtitle", "en", a=plan.name, b="方案B") in text
    assert t("compare_show_a", "en") in text  # the A/B switch
    assert len(_schools_data(text)) == 2 * len(plan.schools)  # A's and B's symbols


def test_comparison_groups_show_b_and_hide_a(plan, boundary):
    groups = _groups(comparison_map(plan, other_plan(plan), boundary, lang="en"))
    a, b = t("compare_a", "en"), t("compare_b", "en")
    assert groups[t("layer_catchments_primary_of", "en", plan=b)] is True
    assert groups[t("layer_catchments_primary_of", "en", plan=a)] is False
    assert groups[t("layer_schools_of", "en", plan=a)] is False
    assert groups[t("layer_changed_schools", "en")] is True


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

    monkeypatch.setattr("planning._html.os.replace", fail)
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
    schools = plan.schools.assign(decision=["keep", "merge", "keep", "new"])
    with pytest.raises(InputError, match=r"row S2, field 'decision'.*'merge'"):
        plan_map(dataclasses.replace(plan, schools=schools), boundary)


def test_unknown_language_is_refused(plan, boundary):
    with pytest.raises(ValueError, match="fr"):
        plan_map(plan, boundary, lang="fr")


def test_empty_plan_layers_still_draw(plan, boundary, tmp_path):
    empty = dataclasses.replace(
        plan, villages=plan.villages.iloc[:0], catchments=plan.catchments.iloc[:0]
    )
    assert len(_schools_data(_page(empty, boundary, tmp_path))) == len(plan.schools)


def test_run_open_opens_the_map_in_a_browser(toy_scenario, tmp_path, monkeypatch):
    from planning.cli import app

    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", lambda url, *a, **k: opened.append(url) or True)
    out = tmp_path / "o"
    result = CliRunner().invoke(app, ["run", str(toy_scenario), "--out", str(out), "--open", "-q"])
    assert result.exit_code == 0, result.output
    assert opened == [(out / "map.html").resolve().as_uri()]
    assert (out / "report.html").is_file()


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
