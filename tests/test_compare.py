"""`schoolplan compare` on three sample-county scenarios: a table a planner can read."""

from __future__ import annotations

import pandas as pd
from openpyxl import load_workbook
from typer.testing import CliRunner

from planning.cli import app
from tests.conftest import ROOT

SCENARIOS = [ROOT / "scenarios" / f"{n}.yaml" for n in ("demo", "expand_first", "min_size")]


def test_compare_three_scenarios(tmp_path):
    out = tmp_path / "cmp"
    result = CliRunner().invoke(app, ["compare", *map(str, SCENARIOS), "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "comparison.csv", index_col=0, encoding="utf-8-sig")
    # one column per scenario, today first, named as the planner named them
    assert table.columns[0] == "现状"
    assert len(table.columns) == 4
    assert "示范县布局优化:优先扩建(36班上限)" in table.columns
    # rows are labelled in Chinese, with units
    for row in ("撤并学校数", "新建学校数", "小学平均上学距离(米)", "超班额学校数", "总投资(万元)"):
        assert row in table.index
    # today breaks the class-size rule in the county seat; every plan fixes it
    assert int(table.loc["超班额学校数", "现状"]) >= 1
    assert (table.loc["超班额学校数"].iloc[1:].astype(int) == 0).all()
    sheet = load_workbook(out / "comparison.xlsx").active
    assert sheet.cell(1, 2).value == "现状"
    html = (out / "comparison.html").read_text(encoding="utf-8")
    assert "<table>" in html and "方案比较" in html
    # per scenario: its own plan, a map and a report against today, and the changes
    for name in ("demo", "expand_first", "min_size"):
        for f in (
            "map.html",
            "plan.gpkg",
            "compare_map.html",
            "compare_report.html",
            "changes_schools.csv",
            "changes_villages.csv",
        ):
            assert (out / name / f).is_file(), f
    moved = pd.read_csv(out / "expand_first" / "changes_villages.csv", encoding="utf-8-sig")
    assert (moved["school_before"] != moved["school_after"]).all()
    assert (moved["change_m"] == moved["distance_m_after"] - moved["distance_m_before"]).all()
    assert not list(tmp_path.glob(".cmp*"))
