"""The command line: end to end on the toy county, and exit 2 with a clear message on bad input."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from planning.cli import app
from planning.scenario import load_scenario
from tests.invariants import check_plan

runner = CliRunner()


def test_run_toy_end_to_end(toy_scenario, tmp_path):
    out = tmp_path / "toy_out"
    result = runner.invoke(app, ["run", str(toy_scenario), "--out", str(out), "--lang", "en"])
    assert result.exit_code == 0, result.output
    for name in ("map.html", "plan.gpkg", "summary.json"):
        assert (out / name).is_file()
        assert str(out / name) in result.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["schools"] == {"open": 4, "kept": 4, "expanded": 0, "closed": 1, "new": 0}
    check_plan(out, load_scenario(toy_scenario))
    assert not list(tmp_path.glob(".toy_out*")), "temporary output folders left behind"


def test_run_as_installed_console_script(toy_scenario, tmp_path):
    exe = Path(sys.executable).parent / "schoolplan"
    proc = subprocess.run(
        [str(exe), "run", str(toy_scenario), "--out", str(tmp_path / "o"), "--quiet"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "summary.json" in proc.stdout


def _broken_copy(toy_scenario: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "broken"
    shutil.copytree(toy_scenario.parent, folder)
    schools = pd.read_csv(folder / "schools.csv", dtype=str)
    schools.loc[schools["school_id"] == "B", "students_primary"] = "about 120"
    schools.loc[schools["school_id"] == "C", "school_id"] = "A"
    schools.to_csv(folder / "schools.csv", index=False)
    return folder / toy_scenario.name


def test_validate_broken_layer_exits_2_naming_file_row_field(toy_scenario, tmp_path):
    scenario = _broken_copy(toy_scenario, tmp_path)
    result = runner.invoke(app, ["validate", str(scenario)])
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "schools.csv" in text
    assert "row B" in text and "students_primary" in text and "'about 120'" in text
    assert "duplicate id 'A'" in text
    assert "Traceback" not in result.output


def test_run_broken_layer_exits_2_and_writes_nothing(toy_scenario, tmp_path):
    scenario = _broken_copy(toy_scenario, tmp_path)
    out = tmp_path / "never"
    result = runner.invoke(app, ["run", str(scenario), "--out", str(out)])
    assert result.exit_code == 2
    assert not out.exists()
    assert not list(tmp_path.glob(".never*"))


def test_validate_good_scenario_exits_0(toy_scenario):
    result = runner.invoke(app, ["validate", str(toy_scenario)])
    assert result.exit_code == 0, result.output
    assert "OK" in result.output


def test_bad_tiles_option_is_a_user_error(toy_scenario, tmp_path):
    result = runner.invoke(
        app, ["run", str(toy_scenario), "--out", str(tmp_path / "o"), "--tiles", "not a url"]
    )
    assert result.exit_code == 2
    assert "tiles" in result.output
    assert not (tmp_path / "o").exists()
