"""Shared fixtures: the toy county, the sample county's demo run, and ../shared/data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
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
