"""Every shipped scenario runs on the sample county and its plan keeps every rule."""

from __future__ import annotations

import pytest

from planning.pipeline import run_scenario
from planning.scenario import load_scenario
from tests.conftest import ROOT
from tests.invariants import check_plan

SHIPPED = sorted(p for p in (ROOT / "scenarios").glob("*.yaml") if p.stem not in ("demo", "base"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_scenario_plan_keeps_every_rule(path, tmp_path):
    _, out = run_scenario(path, out=tmp_path / path.stem)
    check_plan(out, load_scenario(path))


def test_expand_first_expands_and_builds_less(tmp_path, demo_run):
    import json

    plan, out = run_scenario(ROOT / "scenarios" / "expand_first.yaml", out=tmp_path / "e")
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    grown = plan.schools[plan.schools["classrooms_added"].fillna(0) > 0]
    assert len(grown) >= 1 and not (grown["level"] == "teaching_point").any()
    demo = json.loads((demo_run / "summary.json").read_text(encoding="utf-8"))
    assert s["schools"]["expanded"] >= 1
    assert s["costs_wan"]["capital"] < demo["costs_wan"]["capital"]
