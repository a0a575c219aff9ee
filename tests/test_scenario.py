"""Scenario files: strict keys with suggestions, YAML errors with lines, all shipped files load."""

from __future__ import annotations

from pathlib import Path

import pytest

from planning._errors import InputError
from planning.scenario import load_scenario
from planning.scenario_files import SCHEMA_LINE, base_yaml, json_schema

ROOT = Path(__file__).resolve().parent.parent


SHIPPED = sorted(p for p in (ROOT / "scenarios").glob("*.yaml") if p.name != "base.yaml")


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_scenario_loads(path):
    scenario = load_scenario(path)
    assert scenario.data.schools.is_file()
    assert path.read_text(encoding="utf-8").startswith(SCHEMA_LINE)


def test_base_yaml_and_json_schema_are_in_sync():
    """Regenerate with: python -m planning.scenario_files scenarios"""
    assert (ROOT / "scenarios" / "base.yaml").read_text(encoding="utf-8") == base_yaml()
    assert (ROOT / "scenarios" / "schema.json").read_text(encoding="utf-8") == json_schema()


def test_base_yaml_holds_exactly_the_defaults(tmp_path):
    path = _write(tmp_path, "extends: " + str(ROOT / "scenarios" / "base.yaml") + "\n" + BASE)
    minimal = _write(tmp_path / "m", BASE)
    assert load_scenario(path).model_dump(exclude={"data"}) == load_scenario(minimal).model_dump(
        exclude={"data"}
    )


def _write(tmp_path: Path, text: str) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
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
