"""The broken-input corpus (tests/bad_inputs/cases.yaml) through the command line.

Each case breaks one thing in a fresh copy of the toy county and asserts the exit code, that
the message names the file, row or field (a regex), that no traceback is printed, and that an
output folder holding earlier results is left byte for byte as it was, with no temporary
folder beside it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pytest
import shapely
import yaml
from pyproj import Transformer
from typer.testing import CliRunner

from planning.cli import app

CORPUS = Path(__file__).parent / "bad_inputs" / "cases.yaml"
CASES: list[dict[str, Any]] = yaml.safe_load(CORPUS.read_text(encoding="utf-8"))["cases"]
ID_COLUMNS = ("school_id", "village_id", "site_id")
METRIC = 32649  # the toy county's UTM zone
EARLIER = {"summary.json": b'{"earlier": true}\n', "map.html": "<p>地图</p>\n".encode()}

runner = CliRunner()


# ------------------------------------------------------------------------- reading/writing


def _read(path: Path) -> pd.DataFrame:
    if path.suffix == ".csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    return gpd.read_file(path)


def _write(df: pd.DataFrame, path: Path) -> None:
    if path.suffix == ".csv":
        df.to_csv(path, index=False)
        return
    driver = {".gpkg": "GPKG", ".geojson": "GeoJSON"}[path.suffix]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyogrio warns when asked to write no CRS
        df.to_file(path, driver=driver)


def _row(df: pd.DataFrame, row: str | int) -> Any:
    """Index label of ``row``: a position (boundary) or a value of the layer's id column."""
    if isinstance(row, int):
        return df.index[row]
    col = next(c for c in ID_COLUMNS if c in df.columns)
    return df.index[df[col] == row][0]


# ---------------------------------------------------------------------------------- edits


def _set(df: pd.DataFrame, arg: dict[str, Any]) -> pd.DataFrame:
    col, value = arg["column"], arg["value"]
    if col not in df.columns:
        df[col] = ""
    if not isinstance(df, gpd.GeoDataFrame):
        value = "" if value is None else str(value)
    elif isinstance(value, str):
        df[col] = df[col].astype(object)
    elif value is None or isinstance(value, float):
        df[col] = df[col].astype(float)
    df.loc[_row(df, arg["row"]), col] = value
    return df


def _geometry(df: gpd.GeoDataFrame, arg: dict[str, Any]) -> gpd.GeoDataFrame:
    geom = None if arg["wkt"] is None else shapely.from_wkt(arg["wkt"])
    geoms = df.geometry.copy()
    geoms[_row(df, arg["row"])] = geom
    return df.set_geometry(geoms)


def _move(df: gpd.GeoDataFrame, arg: dict[str, Any]) -> gpd.GeoDataFrame:
    i = _row(df, arg["row"])
    fwd = Transformer.from_crs(df.crs, METRIC, always_xy=True)
    back = Transformer.from_crs(METRIC, df.crs, always_xy=True)
    x, y = fwd.transform(df.geometry[i].x, df.geometry[i].y)
    geoms = df.geometry.copy()
    geoms[i] = shapely.Point(
        back.transform(x + arg.get("east_m", 0.0), y + arg.get("north_m", 0.0))
    )
    return df.set_geometry(geoms)


def _shift(df: gpd.GeoDataFrame, system: str) -> gpd.GeoDataFrame:
    from planning.coords import wgs84_to_bd09, wgs84_to_gcj02

    forward = {"gcj02": wgs84_to_gcj02, "bd09": wgs84_to_bd09}[system]
    x, y = forward(df.geometry.x.to_numpy(), df.geometry.y.to_numpy())
    return df.set_geometry(gpd.points_from_xy(x, y), crs=df.crs)


TABLE_EDITS: dict[str, Callable[[Any, Any], Any]] = {
    "set": _set,
    "drop_column": lambda df, col: df.drop(columns=[col]),
    "rename": lambda df, names: df.rename(columns=names),
    "keep_rows": lambda df, n: df.iloc[:n],
    "geometry": _geometry,
    "move": _move,
    "scale": lambda df, a: df.assign(**{a["column"]: df[a["column"]] * a["by"]}),
    "shift": _shift,
}


def _save_as(path: Path, edit: dict[str, Any], scenario: Path) -> Path:
    """Write the layer in another file (optionally moved to / labelled with another CRS) and
    point the scenario at it."""
    gdf = _read(path)
    if edit.get("coordinates"):
        gdf = gdf.to_crs(edit["coordinates"])
    if "crs" in edit:
        gdf = gdf.set_crs(edit["crs"], allow_override=True)
    new = path.with_name(edit["save_as"])
    _write(gdf, new)
    text = scenario.read_text(encoding="utf-8").replace(f": {path.name}", f": {new.name}")
    scenario.write_text(text, encoding="utf-8")
    return new


def _text_edit(path: Path, name: str, arg: Any) -> None:
    text = path.read_text(encoding="utf-8")
    if name == "text":
        text = arg
    elif name == "replace":
        assert arg["old"] in text, f"{arg['old']!r} not in {path.name}"
        text = text.replace(arg["old"], arg["new"])
    elif name == "append":
        text += arg
    elif name == "encode":
        path.write_bytes(text.encode(arg))
        return
    path.write_text(text, encoding="utf-8")


def apply_edits(folder: Path, case: dict[str, Any]) -> None:
    """Apply the case's edits to ``folder`` (a copy of the toy county)."""
    path, scenario = folder / case["file"], folder / "toy.yaml"
    edits = case["edit"] if isinstance(case["edit"], list) else [case["edit"]]
    for edit in edits:
        name = next(iter(edit))
        target = folder / edit["file"] if "file" in edit else path
        if name == "save_as":
            path = _save_as(target, edit, scenario)
        elif name in TABLE_EDITS:
            _write(TABLE_EDITS[name](_read(target), edit[name]), target)
        else:
            _text_edit(target, name, edit[name])


# ---------------------------------------------------------------------------------- tests


@pytest.fixture(autouse=True)
def _own_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the road/cost cache of the broken copies out of the user's cache folder."""
    monkeypatch.setenv("SCHOOLPLAN_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _earlier_results(out: Path) -> dict[str, bytes]:
    out.mkdir()
    for name, data in EARLIER.items():
        (out / name).write_bytes(data)
    return _snapshot(out)


def _param(case: dict[str, Any]) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=case["xfail"])] if "xfail" in case else []
    return pytest.param(case, id=case["name"], marks=marks)


def test_corpus_is_well_formed() -> None:
    names = [c["name"] for c in CASES]
    assert len(names) >= 30 and len(set(names)) == len(names)
    for case in CASES:
        assert {"name", "problem", "file", "edit", "match"} <= set(case), case["name"]
        assert case.get("command", "run") in ("run", "validate"), case["name"]


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_broken_input(case: dict[str, Any], toy_scenario: Path, tmp_path: Path) -> None:
    folder = tmp_path / "county"
    shutil.copytree(toy_scenario.parent, folder)
    apply_edits(folder, case)
    out = tmp_path / "out"
    before = _earlier_results(out)
    command = case.get("command", "run")
    args = [command, str(folder / "toy.yaml")]
    if command == "run":
        args += ["--out", str(out), "--quiet"]
    result = runner.invoke(app, args)
    text = " ".join(result.output.split())
    assert result.exit_code == case.get("exit", 2), text
    assert re.search(case["match"], text), f"no match for {case['match']!r} in: {text}"
    assert "Traceback" not in result.output
    assert _snapshot(out) == before, "the earlier results were changed"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["county", "out"], "output left behind"


# ------------------------------------------------------------------- beyond single files


def test_out_is_an_existing_file(toy_scenario: Path, tmp_path: Path) -> None:
    """--out naming a file (not a folder) is a user error, and the file is left alone."""
    target = tmp_path / "plan.txt"
    target.write_text("a planner's notes\n", encoding="utf-8")
    result = runner.invoke(app, ["run", str(toy_scenario), "--out", str(target), "--quiet"])
    assert result.exit_code == 2, result.output
    assert re.search(
        r"plan\.txt, field '--out': is a file, not a folder", " ".join(result.output.split())
    )
    assert target.read_text(encoding="utf-8") == "a planner's notes\n"


def test_all_problems_reported_at_once(toy_scenario: Path, tmp_path: Path) -> None:
    """Five cases in one county: every one is reported, none hides another."""
    folder = tmp_path / "county"
    shutil.copytree(toy_scenario.parent, folder)
    picked = (
        "text_in_students",
        "unknown_level",
        "negative_children",
        "fractional_children",
        "duplicate_village_id",
    )
    for case in CASES:
        if case["name"] in picked:
            apply_edits(folder, case)
    result = runner.invoke(app, ["validate", str(folder / "toy.yaml")])
    text = " ".join(result.output.split())
    assert result.exit_code == 2
    for case in CASES:
        if case["name"] in picked:
            assert re.search(case["match"], text), case["name"]
    assert "5 problem(s)" in text


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    code = "from planning.cli import app; app()"
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120, env=env
    )


def test_user_error_has_no_traceback_in_a_real_process(toy_scenario: Path, tmp_path: Path) -> None:
    folder = tmp_path / "county"
    shutil.copytree(toy_scenario.parent, folder)
    apply_edits(folder, next(c for c in CASES if c["name"] == "unknown_scenario_key"))
    proc = _cli("run", str(folder / "toy.yaml"), "--out", str(tmp_path / "o"), "--quiet")
    assert proc.returncode == 2
    assert "did you mean 'time_limit_s'" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    debug = _cli("validate", str(folder / "toy.yaml"), "--debug")
    assert debug.returncode == 2
    assert "Traceback" in debug.stderr and "did you mean" in debug.stderr


def test_a_bug_exits_1_with_a_short_message(
    toy_scenario: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unexpected exception is a bug: exit 1, one line asking for a report, and the
    traceback only with --debug."""
    import planning.pipeline

    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("float division by zero")

    monkeypatch.setattr(planning.pipeline, "run_scenario", broken)
    out = tmp_path / "o"
    result = runner.invoke(app, ["run", str(toy_scenario), "--out", str(out), "--quiet"])
    text = " ".join(result.output.split())
    assert result.exit_code == 1
    assert "this is a bug" in text and "ZeroDivisionError: float division by zero" in text
    assert "Traceback" not in result.output
    result = runner.invoke(app, ["run", str(toy_scenario), "--out", str(out), "--debug"])
    assert result.exit_code == 1
    assert "Traceback" in result.output
