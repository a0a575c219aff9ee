"""Scenario files extend others (deep merge); loops and missing parents are named."""

from __future__ import annotations

import pytest

from planning._errors import InputError
from planning.scenario import deep_merge, load_scenario
from tests.conftest import ROOT


def test_deep_merge_keeps_siblings():
    base = {"rules": {"a": 1, "b": 2}, "name": "x"}
    assert deep_merge(base, {"rules": {"b": 3}}) == {"rules": {"a": 1, "b": 3}, "name": "x"}


def test_child_overrides_parent_and_keeps_parent_paths():
    child = load_scenario(ROOT / "scenarios" / "min_size.yaml")
    parent = load_scenario(ROOT / "scenarios" / "demo.yaml")
    assert child.rules.min_students == 100 and parent.rules.min_students == 0
    assert child.data == parent.data
    assert child.travel == parent.travel


def test_extends_loop_is_an_error(tmp_path):
    (tmp_path / "a.yaml").write_text("extends: b.yaml\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\n", encoding="utf-8")
    with pytest.raises(InputError, match="'extends' loops back"):
        load_scenario(tmp_path / "a.yaml")


def test_extends_missing_parent_is_named(tmp_path):
    (tmp_path / "a.yaml").write_text("extends: nowhere.yaml\nname: x\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"field 'extends': file not found.*nowhere\.yaml"):
        load_scenario(tmp_path / "a.yaml")
