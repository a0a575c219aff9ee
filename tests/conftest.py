"""Shared fixtures: the toy county, the sample county's demo run, and ../shared/data."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def toy_variant(toy_scenario: Path, tmp_path: Path, **changes: dict[str, Any]) -> Path:
    """A copy of the toy county whose scenario has each section in ``changes`` updated
    (e.g. ``rules={"min_students": 100}``); returns the copied scenario's path."""
    folder = tmp_path / "toy"
    shutil.copytree(toy_scenario.parent, folder)
    path = folder / toy_scenario.name
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    for key, value in changes.items():
        doc.setdefault(key, {}).update(value)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


SHARED_DATA = ROOT.parent / "shared" / "data"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-network", action="store_true", help="run tests that download data")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-network"):
        return
    skip = pytest.mark.skip(reason="needs internet; run with --run-network")
    for item in items:
        if "network" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def _cache_in_tmp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Travel-cost caches go to a temporary folder, never to the user's ~/.cache."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SCHOOLPLAN_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Real data in ../shared/data; skipped with a reason when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real test data not found at {SHARED_DATA} (clone the project beside shared/)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def toy_scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The toy county's scenario file, written fresh into a temp folder."""
    from planning.examples import toy_instance

    return toy_instance(tmp_path_factory.mktemp("toy"))


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run scenarios/demo.yaml once for the whole session; return its output folder."""
    from planning.pipeline import run_scenario

    out = tmp_path_factory.mktemp("demo") / "demo"
    run_scenario(ROOT / "scenarios" / "demo.yaml", out=out, lang="zh")
    return out
