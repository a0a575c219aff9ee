"""Scenario files: strict keys with suggestions, YAML errors with lines, all shipped files load."""

from __future__ import annotations

from pathlib import Path

import pytest

from planning._errors import InputError
from planning.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("path", sorted((ROOT / "scenarios").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_scenario_loads(path):
    scenario = load_scenario(path)
    assert scenario.data.schools.is_file()


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    for name in ("a.csv", "v.geojson", "b.geojson"):
        (tmp_path / name).write_text("", encoding="utf-8")
    return path


BASE = "name: x\ndata: {schools: a.csv, villages: v.geojson, boundary: b.geojson}\n"


def test_unknown_key_is_named_with_a_suggestion(tmp_path):
    path = _write(tmp_path, BASE + "travel:\n  primery: {mode: walk, max_distance_m: 3000}\n")
    with pytest.raises(InputError, match=r"travel\.primery.*unknown key 'primery'.*'primary'"):
        load_scenario(path)


def test_yaml_syntax_error_names_the_line(tmp_path):
    path = _write(tmp_path, BASE + "rules:\n  class_size_primary: [45\n")
    with pytest.raises(InputError, match=r"row \d+.*YAML syntax error"):
        load_scenario(path)


def test_wrong_value_reports_what_was_found(tmp_path):
    path = _write(tmp_path, BASE + "rules: {class_size_primary: -3}\n")
    with pytest.raises(InputError, match=r"rules\.class_size_primary.*found -3"):
        load_scenario(path)


def test_missing_data_file_is_named(tmp_path):
    path = _write(tmp_path, BASE.replace("a.csv", "nowhere.csv"))
    with pytest.raises(InputError, match=r"data\.schools.*file not found.*nowhere\.csv"):
        load_scenario(path)
