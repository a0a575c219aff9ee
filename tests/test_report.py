"""The report page (planning.report): numbers, tables, charts, escaping, balance hook, writing."""

from __future__ import annotations

import base64
import dataclasses
import re

import pytest

from planning.i18n import t
from planning.plan import Plan
from planning.report import comparison_report, plan_report, write_report
from tests.sample_plans import other_plan, toy_boundary, toy_plan

SUMMARY = {
    "scenario": "撤并方案A",
    "status": "optimal",
    "objective": 1234.5,
    "gap": 0.0,
    "solver": "highs",
    "travel_costs": "network",
    "students": {"primary": 230, "junior": 100, "unassigned": 10},
    "travel": {
        "primary": {"students": 230, "mean_m": 1200.0, "p90_m": 2300.0, "max_m": 2300.0},
        "junior": {"students": 100, "mean_m": 1320.0, "share_within_limit": 0.95},
    },
    "violations": {"school_size": 0, "class_size": 0, "travel_limit": 1},
    "baseline": {"school_size": 1, "class_size": 2, "big_classes_56": 1},
    "warnings": ["village V3: 10 junior children have <no> school"],
}


@pytest.fixture
def plan() -> Plan:
    return dataclasses.replace(toy_plan(), summary=dict(SUMMARY))


def _charts(page: str) -> list[str]:
    """The SVG documents of the report's charts."""
    uris = re.findall(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', page)
    return [base64.b64decode(uri).decode("utf-8") for uri in uris]


def _cells(page: str, heading: str) -> list[str]:
    """The cells of the table row whose heading is `heading`."""
    row = re.search(rf"<tr><th>{re.escape(heading)}</th>(.*?)</tr>", page)
    assert row, f"no row {heading!r}"
    return re.findall(r"<td[^>]*>(.*?)</td>", row.group(1))


def test_headline_numbers_and_solve_line(plan):
    page = plan_report(plan)
    assert t("report_title", "zh", name="撤并方案A") in page
    assert t("status_optimal", "zh") in page and "1,234.5" in page
    cards = dict(re.findall(r'<div class="v">(.*?)</div><div class="k">(.*?)</div>', page))
    assert cards["3"] == t("report_open_schools", "zh")  # kept S1, S3 and new N1
    assert cards["230"] == t("report_students", "zh", level="小学")
    assert cards["1.2"] == t("report_mean_travel", "zh", level="小学")


def test_compliance_table_today_and_after(plan):
    page = plan_report(plan, lang="en")
    assert _cells(page, t("rule_school_size", "en")) == ["1", "0"]
    assert _cells(page, t("rule_big_classes_56", "en")) == ["1", "–"]
    assert _cells(page, t("rule_travel_limit", "en")) == ["–", "1"]


def test_travel_table_in_km(plan):
    page = plan_report(plan, lang="en")
    assert _cells(page, t("report_travel_mean_m", "en")) == ["1.20", "1.32"]
    assert _cells(page, t("report_travel_share_within_limit", "en")) == ["–", "95.0%"]


def test_changed_schools_listed_and_escaped(plan):
    page = plan_report(plan)
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page  # the closed school S2
    assert "新区九年一贯制学校" in page  # the new school N1
    assert "城关小学" not in page.split(t("report_changes", "zh"))[1]  # kept: not listed
    assert "&lt;no&gt; school" in page  # warnings escaped too


def test_two_charts_with_translated_labels(plan):
    charts = _charts(plan_report(plan, lang="en"))
    assert len(charts) == 2
    assert all(chart.lstrip().startswith("<?xml") and "<svg" in chart for chart in charts)
    assert "<text" not in charts[0]  # text drawn as outlines: no font needed to view


def test_map_link(plan):
    assert 'href="map.html"' in plan_report(plan)
    assert "href=" not in plan_report(plan, map_href=None)


def test_english_report_has_no_chinese_labels(plan):
    page = plan_report(dataclasses.replace(plan, name="Plan A"), lang="en")
    for key in ("report_headline", "report_compliance", "report_travel", "report_charts"):
        assert t(key, "en") in page and t(key, "zh") not in page


def test_balance_table_only_when_the_summary_has_it(plan):
    assert t("report_balance", "zh") not in plan_report(plan)
    balance = {
        "primary": {"floor_area_per_student": 0.4123},
        "junior": {"floor_area_per_student": 0.3},
    }
    page = plan_report(dataclasses.replace(plan, summary={**SUMMARY, "balance": balance}))
    assert t("report_balance", "zh") in page
    assert _cells(page, "floor_area_per_student") == ["0.412", "0.300"]


def test_comparison_report_sets_plans_side_by_side(plan):
    after = dataclasses.replace(other_plan(plan), summary=dict(SUMMARY))
    page = comparison_report(plan, after, lang="en", map_href="compare.html")
    assert t("compare_subtitle", "en", a=plan.name, b="方案B") in page
    assert _cells(page, t("report_open_schools", "en")) == ["3", "2", "-1"]  # S3 closes in B
    assert _cells(page, "城关中学") == ["城关镇", t("report_only_a", "en")]
    assert _cells(page, t("level_primary", "en")) == ["1"]  # V2 changes primary school
    assert len(_charts(page)) == 2
    assert 'href="compare.html"' in page


def test_write_report_is_atomic(plan, tmp_path):
    path = write_report(plan_report(plan), tmp_path / "report.html")
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_write_outputs_adds_the_report(plan, tmp_path):
    from planning.pipeline import write_outputs

    out = tmp_path / "out"
    write_outputs(plan, toy_boundary(), out, lang="en")
    assert {p.name for p in out.iterdir()} == {
        "plan.gpkg",
        "summary.json",
        "map.html",
        "report.html",
    }
    assert 'href="map.html"' in (out / "report.html").read_text(encoding="utf-8")
