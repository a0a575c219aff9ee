"""Batch runs on Dask: sweeps, counties, scenario hashes, a LocalCluster of two workers, a
broken scenario among good ones, re-runs that skip finished tasks, and the region generator."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from planning._errors import InputError
from planning.batch import (
    BatchResult,
    TaskResult,
    earlier_result,
    expand_sweep,
    make_tasks,
    run_batch,
    scenario_digest,
    widest,
)
from planning.cache import ENV_VAR, read_table
from planning.region import generate_region, split_villages

COMMON = """\
# defaults of this test's scenarios (no name: a folder of scenarios leaves it out)
data:
  schools: {county}/schools.csv
  villages: {county}/villages.geojson
  boundary: {county}/boundary.geojson
  candidates: {county}/candidates.geojson
  roads: {county}/roads.osm
travel:
  primary: {{mode: walk, max_distance_m: 5000}}
  junior: {{mode: drive, max_distance_m: 25000, max_minutes: 60}}
new_school_types:
  - {{id: P24, level: primary, classes: 24, build_cost_wan: 5000}}
  - {{id: J30, level: junior, classes: 30, build_cost_wan: 6500}}
  - {{id: N36, level: nine_year, classes: 36, build_cost_wan: 8000}}
costs: {{student_km_wan: 0.2, keep_school_wan: 150, close_school_wan: 10}}
solver: {{name: highs, time_limit_s: 60}}
"""
SCENARIOS = {
    "plan.yaml": "extends: common.yaml\nname: 优化\n"
    "sweep:\n  travel.primary.max_distance_m: [5000, 6000]\n",
    "today.yaml": "extends: common.yaml\nname: 现状\nmode: evaluate\n",
    "broken.yaml": "extends: common.yaml\nname: 坏方案\nactions:\n  - {close: NOPE}\n",
}


@pytest.fixture(scope="module", autouse=True)
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh travel-cost cache for this module; Dask workers inherit the variable."""
    folder = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(ENV_VAR, str(folder))
        yield folder


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two small synthetic counties of 40 villages each."""
    root = tmp_path_factory.mktemp("region")
    generate_region(root, counties=2, villages=40, seed=0)
    return root


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory: pytest.TempPathFactory, region: Path) -> Path:
    """A folder: common.yaml (defaults) and three scenarios, one of them broken."""
    folder = tmp_path_factory.mktemp("scenarios")
    (folder / "common.yaml").write_text(
        COMMON.format(county=region / "county_01"), encoding="utf-8"
    )
    for name, text in SCENARIOS.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def first_run(
    scenarios: Path, region: Path, tmp_path_factory: pytest.TempPathFactory
) -> BatchResult:
    """The batch on a new LocalCluster of two worker processes."""
    out = tmp_path_factory.mktemp("batch") / "out"
    return run_batch([scenarios], out, counties=region, workers=2, lang="zh")


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A running Dask scheduler (TCP) with two worker processes, as a remote one would be
    given (threads of this process would share matplotlib's global state while drawing)."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, protocol="tcp", dashboard_address=None
    ) as lc:
        yield lc.scheduler_address


# --------------------------------------------------------------------------- the batch


def test_every_task_reported(first_run: BatchResult) -> None:
    table = first_run.table
    assert len(table) == 2 * 4  # two counties x (two sweep variants + today + broken)
    assert sorted(table["county"].unique()) == ["county_01", "county_02"]
    names = sorted(table["scenario"].unique())
    assert names == [
        "优化 [travel.primary.max_distance_m=5000]",
        "优化 [travel.primary.max_distance_m=6000]",
        "坏方案",
        "现状",
    ]
    assert not table["reused"].any()
    assert set(table["worker"]) == {"0", "1"}  # both workers planned


def test_broken_scenario_reported_others_finish(first_run: BatchResult) -> None:
    failed = first_run.failed
    assert {r.task.county for r in failed} == {"county_01", "county_02"}
    for r in failed:
        assert r.task.name == "坏方案"
        assert r.error_type == "InputError"
        assert "unknown school id 'NOPE'" in r.error
        assert r.detail == ""  # a user error, not a bug: no traceback
    assert (first_run.table["outcome"] == "ok").sum() == 6


def test_every_result_checked(first_run: BatchResult, region: Path) -> None:
    for r in first_run.results:
        if r.outcome == "failed":
            continue
        folder = Path(r.task.out)
        for name in ("summary.json", "map.html", "report.html", "plan.gpkg", "task.json"):
            assert (folder / name).is_file(), (folder, name)
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        assert r.metrics["status"] == summary["status"]
        villages = gpd.read_file(region / r.task.county / "villages.geojson")
        assert r.metrics["students.primary"] == villages["children_primary"].sum()
        assert r.metrics["students.junior"] == villages["children_junior"].sum()
        assert r.metrics["students.unassigned"] == 0
        if r.task.name == "现状":
            assert r.metrics["status"] == "evaluated"
            assert r.metrics["schools.closed"] == 0
        else:
            assert r.metrics["status"] in ("optimal", "feasible")
            for rule in ("school_size", "class_size", "travel_limit"):
                assert r.metrics[f"violations.{rule}"] == 0, (r.task.name, rule)


def test_longer_walk_never_costs_more(first_run: BatchResult) -> None:
    t = first_run.table
    optimal = t[(t["outcome"] == "ok") & (t["status"] == "optimal")]
    by = optimal.pivot(
        index="county", columns="sweep.travel.primary.max_distance_m", values="objective"
    )
    assert (by[6000] <= by[5000] + 1e-6).all()


def test_costs_computed_once_per_county(first_run: BatchResult, cache_dir: Path) -> None:
    """The warm-up task wrote each county's tables (widest limit) before any plan started."""
    entries = sorted((cache_dir / "costs").glob("*.parquet"))
    assert len(entries) == 2 * 2  # per county: the walking and the school-bus table
    ran = [r for r in first_run.results if not r.reused]
    for entry in entries:
        table, meta = read_table(entry)
        county = _owner(set(table["village_id"]), first_run)
        starts = [r.started for r in ran if r.task.county == county]
        assert entry.stat().st_mtime <= min(starts)
        if meta["max_minutes"] is None:  # the walking table: the longest swept limit
            assert meta["max_distance_m"] == 6000


def _owner(village_ids: set[str], run: BatchResult) -> str:
    owners = []
    for county in {r.task.county for r in run.results}:
        task = next(r.task for r in run.results if r.task.county == county)
        ids = set(gpd.read_file(task.scenario().data.villages)["village_id"])
        owners += [county] if village_ids <= ids else []
    assert len(owners) == 1
    return owners[0]


def test_results_files(first_run: BatchResult) -> None:
    out = first_run.out
    csv = pd.read_csv(out / "results.csv", encoding="utf-8-sig")
    parquet = pd.read_parquet(out / "results.parquet")
    xlsx = pd.read_excel(out / "results.xlsx")
    for table in (csv, parquet, xlsx):
        assert len(table) == 8
        assert {"county", "scenario", "outcome", "error", "schools.open", "objective"} <= set(
            table.columns
        )
    html = (out / "index.html").read_text(encoding="utf-8")
    for r in first_run.results:
        rel = Path(r.task.out).relative_to(out.resolve()).as_posix()
        assert (f'href="{rel}/map.html"' in html) == (r.outcome == "ok")
    assert "unknown school id &#x27;NOPE&#x27;" in html


def test_rerun_on_existing_scheduler(
    first_run: BatchResult, scenarios: Path, region: Path, cluster: str
) -> None:
    """The same command pointed at a running scheduler, on the same output folder: finished
    tasks are skipped, the failed ones run (and fail) again; exit code 2."""
    from planning.cli import app

    args = ["batch", str(scenarios), "--counties", str(region), "--out", str(first_run.out)]
    result = CliRunner().invoke(app, [*args, "--scheduler", cluster, "-q"])
    assert result.exit_code == 2, result.output
    assert "8 task(s): 6 done (6 from an earlier run), 2 failed" in result.output
    assert "failed: county_01 / 坏方案: InputError" in result.output
    again = pd.read_parquet(first_run.out / "results.parquet")
    before = first_run.table
    assert again["reused"].tolist() == (before["outcome"] == "ok").tolist()
    pd.testing.assert_series_equal(again["objective"], before["objective"])


def test_changed_scenario_not_reused(
    first_run: BatchResult, scenarios: Path, region: Path, cluster: str, tmp_path: Path
) -> None:
    """A scenario whose merged settings changed gets a new hash: its earlier result is not
    reused; the others' are, wherever their files now lie. The changed one is planned again
    on the running scheduler."""
    changed = tmp_path / "changed"
    shutil.copytree(scenarios, changed)
    (changed / "today.yaml").write_text(
        SCENARIOS["today.yaml"] + "description: changed\n", encoding="utf-8"
    )
    out = tmp_path / "moved"
    shutil.copytree(first_run.out, out)
    tasks = make_tasks([changed], out, counties=region)
    reused = {(t.county, t.name): earlier_result(t) is not None for t in tasks}
    assert reused == {
        (county, name): name.startswith("优化")
        for county in ("county_01", "county_02")
        for name in (
            *(f"优化 [travel.primary.max_distance_m={m}]" for m in (5000, 6000)),
            "现状",
            "坏方案",
        )
    }
    again = run_batch([changed], out, counties=region, scheduler=cluster)
    for r in again.results:
        assert r.reused == reused[(r.task.county, r.task.name)]
        assert r.outcome == ("failed" if r.task.name == "坏方案" else "ok"), r.error
        if r.task.name == "现状":  # planned anew, on the scheduler's workers
            assert r.worker != "" and r.metrics["status"] == "evaluated"
            record = json.loads((Path(r.task.out) / "task.json").read_text(encoding="utf-8"))
            assert record["digest"] == r.task.digest != _first(first_run, r).task.digest


def _first(run: BatchResult, r: TaskResult) -> TaskResult:
    return next(
        x for x in run.results if (x.task.county, x.task.name) == (r.task.county, r.task.name)
    )


def test_scheduler_not_answering(scenarios: Path, tmp_path: Path) -> None:
    """A wrong scheduler address is the user's to fix (exit 2), named as such; nothing is
    written."""
    import dask

    from planning.cli import app

    out = tmp_path / "out"
    args = ["batch", str(scenarios / "today.yaml"), "--out", str(out), "-q"]
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        result = CliRunner().invoke(app, [*args, "--scheduler", "tcp://127.0.0.1:1"])
    assert result.exit_code == 2, result.output
    assert "--scheduler" in result.output and "no Dask scheduler answered" in result.output
    assert not out.exists()
    result = CliRunner().invoke(app, [*args, "--scheduler", "tcp://127.0.0.1:1", "--workers", "2"])
    assert result.exit_code == 2 and "not with --scheduler" in result.output


# --------------------------------------------------------------------------- tasks, sweeps, hashes


def test_sweep_cartesian_product() -> None:
    raw = {"rules": {"class_size_primary": 45}, "costs": {"budget_wan": None}}
    combos = expand_sweep(
        raw, {"rules.class_size_primary": [40, 45], "costs.budget_wan": [None, 30000, 40000]}
    )
    assert len(combos) == 6
    assert combos[0] == {"rules.class_size_primary": 40, "costs.budget_wan": None}


@pytest.mark.parametrize(
    ("path", "values", "match"),
    [
        ("rules.class_size_primry", [40], "did you mean 'class_size_primary'"),
        ("rules.class_size_primary.x", [40], "is a value, not a group of settings"),
        ("data.villages", ["other.geojson"], "input files cannot be swept"),
        ("rules.class_size_primary", [], "non-empty list"),
    ],
)
def test_sweep_problems_name_the_path(path: str, values: list[object], match: str) -> None:
    raw = {"rules": {"class_size_primary": 45}, "data": {"villages": "v.geojson"}}
    with pytest.raises(InputError, match=match) as info:
        expand_sweep(raw, {path: values}, file="a.yaml")
    assert info.value.problems[0].field == f"sweep.{path}"


def test_unknown_sweep_path_stops_the_batch(scenarios: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        f"extends: {scenarios / 'common.yaml'}\nname: x\nsweep:\n  rules.class_siz: [40]\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError, match=r"unknown setting 'rules\.class_siz'"):
        make_tasks([bad], tmp_path / "out")


def test_swept_value_checked_by_the_schema(scenarios: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        f"extends: {scenarios / 'common.yaml'}\nname: x\n"
        "sweep:\n  rules.class_size_primary: [45, -1]\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError, match=r"rules\.class_size_primary=-1: Input should be greater"):
        make_tasks([bad], tmp_path / "out")


def test_tasks_names_slugs_and_hashes(scenarios: Path, region: Path, tmp_path: Path) -> None:
    tasks = make_tasks([scenarios / "plan.yaml"], tmp_path / "out", counties=region)
    assert [(t.county, t.slug) for t in tasks] == [
        ("county_01", "plan__travel.primary.max_distance_m=5000"),
        ("county_01", "plan__travel.primary.max_distance_m=6000"),
        ("county_02", "plan__travel.primary.max_distance_m=5000"),
        ("county_02", "plan__travel.primary.max_distance_m=6000"),
    ]
    assert len({t.digest for t in tasks}) == 4
    assert tasks[2].scenario().data.villages == region / "county_02" / "villages.geojson"
    assert tasks[1].scenario().travel.primary.max_distance_m == 6000
    again = make_tasks([scenarios / "plan.yaml"], tmp_path / "elsewhere", counties=region)
    assert [t.digest for t in again] == [t.digest for t in tasks]  # by content, not by path
    scenario = widest(tasks[:2])
    assert scenario.travel.primary.max_distance_m == 6000
    assert scenario.travel.junior.max_minutes == 60


def test_hash_follows_the_data_files(scenarios: Path, region: Path, tmp_path: Path) -> None:
    county = tmp_path / "counties" / "county_01"
    shutil.copytree(region / "county_01", county)
    (task,) = make_tasks([scenarios / "today.yaml"], tmp_path / "o", counties=county.parent)
    raw = json.loads(task.scenario_json)
    assert scenario_digest(raw) == task.digest
    (county / "schools.csv").write_text(
        (county / "schools.csv").read_text(encoding="utf-8").replace("小学", "小學", 1),
        encoding="utf-8",
    )
    assert scenario_digest(raw) != task.digest


def test_folder_of_scenarios_leaves_out_defaults(scenarios: Path, tmp_path: Path) -> None:
    tasks = make_tasks([scenarios], tmp_path / "out")
    assert sorted({Path(t.source).name for t in tasks}) == [
        "broken.yaml",
        "plan.yaml",
        "today.yaml",
    ]
    assert {t.county for t in tasks} == {"county_01"}  # the folder of the villages layer


def test_county_lacking_a_file(scenarios: Path, region: Path, tmp_path: Path) -> None:
    counties = tmp_path / "counties"
    shutil.copytree(region / "county_01", counties / "a")
    shutil.copytree(region / "county_02", counties / "b")
    (counties / "b" / "roads.osm").unlink()
    with pytest.raises(InputError, match=r"county b: .*roads.osm not found") as info:
        make_tasks([scenarios / "today.yaml"], tmp_path / "out", counties=counties)
    assert [p.field for p in info.value.problems] == ["data.roads"]


# --------------------------------------------------------------------------- the region


def test_region_split_keeps_every_total(region: Path) -> None:
    villages = gpd.read_file(region / "county_01" / "villages.geojson")
    assert len(villages) == 40
    counts = np.arange(len(villages)) % 4 + 1  # 1 to 4 groups a village
    groups = split_villages(villages, counts, rng=np.random.default_rng(1))
    assert len(groups) == counts.sum() and groups["village_id"].is_unique
    assert groups["village_id"].iloc[0] == villages["village_id"].iloc[0]  # one group: as is
    for col in ("population", "children_primary", "children_junior"):
        assert groups[col].sum() == villages[col].sum()
        parent = pd.Series(np.repeat(villages["village_id"].to_numpy(), counts))
        assert (groups.groupby(parent)[col].sum() == villages.set_index("village_id")[col]).all()
    moved = groups.to_crs(32649).distance(
        villages.set_index("village_id").loc[parent].to_crs(32649).geometry, align=False
    )
    assert moved.max() <= 200.0 + 1e-6
    assert groups.geometry.to_wkb().is_unique  # no two groups at one point (catchment cells)


def test_fewer_villages_none_too_big(region: Path) -> None:
    """Thinned counties keep no village bigger than one school can take: the big ones were
    split first, into one group per started MAX_PEOPLE residents."""
    for county in ("county_01", "county_02"):
        villages = gpd.read_file(region / county / "villages.geojson")
        assert len(villages) == 40 and villages["village_id"].is_unique
        assert villages["children_primary"].max() <= 24 * 45  # fits one P24 school
