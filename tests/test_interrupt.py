"""Killed and interrupted runs: earlier results stay byte for byte, no half-written folder.

``schoolplan run`` on the toy county writes into an output folder that already holds earlier
results; the run is stopped while it writes (SIGKILL, SIGINT) or early (SIGKILL). A SIGKILLed
process cannot tidy up, so its hidden temporary folder (``.out.*`` beside ``out``) may remain:
the next run into the same folder must remove it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals (SIGKILL)")

EARLIER = {"summary.json": b'{"earlier": true}\n', "map.html": "<p>地图</p>\n".encode()}


@dataclass(frozen=True)
class Stopped:
    """A run stopped by a signal: its output folder, the earlier files, what it printed."""

    out: Path
    before: dict[str, bytes]
    returncode: int
    stderr: str


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


def _writing(out: Path) -> bool:
    """True once a temporary output folder beside ``out`` holds a file."""
    return any(
        any(tmp.iterdir())
        for tmp in out.parent.glob(f".{out.name}.*")
        if tmp.is_dir() and ".old-" not in tmp.name
    )


def _ctrl_c_heard() -> None:
    """In the child: SIGINT as a terminal sends it. A test suite started in the background
    (``make test &``) inherits SIGINT ignored, and Python then installs no Ctrl-C handler."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _stop_run(
    scenario: Path, folder: Path, sig: signal.Signals, *, when: str, cache: Path
) -> Stopped:
    """Run the CLI into ``folder/out`` (holding earlier results) and send ``sig`` either
    ``"writing"`` (a temporary folder has its first file) or ``"early"`` (after 1.5 s)."""
    out = folder / "out"
    out.mkdir(parents=True)
    for name, data in EARLIER.items():
        (out / name).write_bytes(data)
    before = _snapshot(out)
    env = {**os.environ, "SCHOOLPLAN_CACHE": str(cache)}
    cmd = [sys.executable, "-m", "planning.cli", "run", str(scenario), "--out", str(out), "-q"]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, preexec_fn=_ctrl_c_heard
    )
    deadline = time.monotonic() + 120
    if when == "early":
        time.sleep(1.5)
    else:
        while not _writing(out) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
    assert proc.poll() is None, "the run ended before it could be stopped"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    return Stopped(out, before, proc.returncode, err.decode("utf-8", "replace"))


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def killed_while_writing(
    toy_scenario: Path, tmp_path_factory: pytest.TempPathFactory, cache: Path
) -> Stopped:
    folder = tmp_path_factory.mktemp("killed")
    return _stop_run(toy_scenario, folder, signal.SIGKILL, when="writing", cache=cache)


def test_sigkill_while_writing_keeps_earlier_results(killed_while_writing: Stopped) -> None:
    run = killed_while_writing
    assert run.returncode == -signal.SIGKILL
    assert _snapshot(run.out) == run.before
    assert all(".old-" not in name for name in _leftovers(run.out))


def test_sigkill_early_keeps_earlier_results(
    toy_scenario: Path, tmp_path: Path, cache: Path
) -> None:
    run = _stop_run(toy_scenario, tmp_path, signal.SIGKILL, when="early", cache=cache)
    assert run.returncode == -signal.SIGKILL
    assert _snapshot(run.out) == run.before
    assert _leftovers(run.out) == []


def test_sigint_while_writing_exits_130_and_tidies_up(
    toy_scenario: Path, tmp_path: Path, cache: Path
) -> None:
    run = _stop_run(toy_scenario, tmp_path, signal.SIGINT, when="writing", cache=cache)
    assert run.returncode == 130, run.stderr
    assert "interrupted" in run.stderr and "Traceback" not in run.stderr
    assert _snapshot(run.out) == run.before
    assert _leftovers(run.out) == []


def test_next_run_removes_what_a_killed_run_left(
    killed_while_writing: Stopped, toy_scenario: Path, monkeypatch: pytest.MonkeyPatch, cache: Path
) -> None:
    from planning.pipeline import run_scenario

    assert _leftovers(killed_while_writing.out), "the killed run left nothing to tidy"
    monkeypatch.setenv("SCHOOLPLAN_CACHE", str(cache))
    run_scenario(toy_scenario, out=killed_while_writing.out, lang="en")
    assert _leftovers(killed_while_writing.out) == []
    summary = json.loads((killed_while_writing.out / "summary.json").read_text(encoding="utf-8"))
    assert "earlier" not in summary


# ------------------------------------------------------------------- Ctrl-C in the solve

_HARD_SOLVE = """
import json, sys
import numpy as np, pandas as pd
from planning.model import ModelInput, build_model, solve

rng = np.random.default_rng(1)
n, m = 400, 60
v, s = rng.uniform(0, 30000, (n, 2)), rng.uniform(0, 30000, (m, 2))
ids, sites = [f"V{i}" for i in range(n)], [f"S{j}" for j in range(m)]
students = rng.integers(5, 80, n).astype(float)
demand = pd.DataFrame({"village_id": ids, "level": "primary", "students": students})
d = np.hypot(v[:, None, 0] - s[None, :, 0], v[:, None, 1] - s[None, :, 1])
vi, sj = np.nonzero(d < 8000)
pairs = pd.DataFrame({"village_id": np.array(ids)[vi], "level": "primary",
                      "option_id": np.array(sites)[sj], "cost": d[vi, sj] / 1000 * students[vi]})
options = pd.DataFrame({"site_id": sites, "fixed_cost": rng.uniform(500, 1500, m),
                        "closed_cost": 0.0, "max_students": 2000.0,
                        "max_classes": rng.integers(6, 24, m).astype(float), "forced": ""},
                       index=sites)
model = build_model(ModelInput(demand, options, pairs, class_size={"primary": 45}))
print("solving", flush=True)
r = solve(model, time_limit_s=8.0)
print(json.dumps({"status": r.status, "gap": r.gap, "assigned": len(r.assignment), "n": n}))
"""


@pytest.fixture
def solving() -> Iterator[subprocess.Popen[str]]:
    """A MIP that HiGHS cannot prove optimal within its 8 s limit, being solved."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _HARD_SOLVE],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_ctrl_c_heard,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "solving"
    yield proc
    if proc.poll() is None:
        proc.kill()
        proc.communicate()


def test_ctrl_c_in_the_solve_returns_the_best_plan_marked_interrupted(
    solving: subprocess.Popen[str],
) -> None:
    time.sleep(3.0)  # HiGHS has a first plan by then (well before its 8 s limit)
    solving.send_signal(signal.SIGINT)
    try:
        out, err = solving.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        pytest.fail("the solve did not stop within 5 s of Ctrl-C")
    assert solving.returncode == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["status"] == "interrupted"
    assert result["gap"] is not None and result["assigned"] == result["n"]
