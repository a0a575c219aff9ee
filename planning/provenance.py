"""Provenance of a run: what went in, with which software and settings.

:func:`provenance` returns a JSON-ready mapping written into ``summary.json``: the SHA-256 of
the scenario file (and every file it ``extends``) and of every input file, the resolved scenario
with every default filled in, the package and solver versions, the solver settings and seeds,
and the time of the run. It is host-independent: paths are relative to the scenario's folder
and no user or machine name is recorded, so two runs of the same files on two computers differ
only in ``created_utc`` (and ``software`` / ``platform`` if those differ).
"""

from __future__ import annotations

import os
import platform
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from planning.cache import file_digest
from planning.scenario import Scenario

#: Distributions whose versions are recorded (``schoolplan`` is this package).
PACKAGES = (
    "schoolplan",
    "pulp",
    "highspy",
    "osmnx",
    "geopandas",
    "shapely",
    "pyproj",
    "pandas",
    "numpy",
    "scipy",
    "pydantic",
)
#: Seed that :mod:`planning.model` gives HiGHS (``random_seed``) and CBC (``randomSeed``).
SOLVER_SEED = 0
#: Files that belong to a Shapefile and are read with it.
_SHAPEFILE_PARTS = (".shx", ".dbf", ".prj", ".cpg")


def provenance(
    scenario: Scenario, scenario_path: str | Path, *, now: datetime | None = None
) -> dict[str, Any]:
    """What a run of ``scenario`` (read from ``scenario_path``) used, for ``summary.json``.

    Parameters
    ----------
    scenario
        The loaded scenario (:func:`planning.scenario.load_scenario`), data paths resolved.
    scenario_path
        The scenario file; paths are recorded relative to its folder.
    now
        Time of the run (default: now), recorded in UTC.

    Returns
    -------
    dict
        ``created_utc`` (ISO 8601), ``scenario_files`` and ``inputs`` (lists of ``role``,
        ``path``, ``sha256``, ``bytes``), ``scenario`` (the resolved settings), ``solver``
        (name, time limit in seconds, relative gap, threads, seed), ``seeds``, ``software``
        (versions; ``None`` if not installed) and ``platform``.
    """
    path = Path(scenario_path)
    base = path.resolve().parent
    when = (now or datetime.now(UTC)).astimezone(UTC)
    s = scenario.solver
    return {
        "created_utc": when.isoformat(timespec="seconds"),
        "scenario_files": scenario_files(path, base),
        "inputs": input_files(scenario, base),
        "scenario": resolved_settings(scenario, base),
        "solver": {
            "name": s.name,
            "time_limit_s": s.time_limit_s,
            "mip_gap": s.mip_gap,
            "threads": s.threads,
            "seed": SOLVER_SEED,
        },
        "seeds": {"solver": SOLVER_SEED, "candidates": scenario.candidates.seed},
        "software": versions(),
        "platform": f"{platform.system()} {platform.machine()}",
    }


def versions() -> dict[str, str | None]:
    """Versions of Python and of :data:`PACKAGES` (``None`` for one that is not installed)."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def scenario_files(path: Path, base: Path) -> list[dict[str, Any]]:
    """The scenario file and every file it ``extends``, nearest first, each hashed."""
    out: list[dict[str, Any]] = []
    seen: set[Path] = set()
    current: Path | None = path.resolve()
    while current is not None and current.is_file() and current not in seen:
        seen.add(current)
        role = "scenario" if not out else "extends"
        out.append(_entry(role, current, base))
        current = _parent(current)
    return out


def _parent(path: Path) -> Path | None:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    parent = raw.get("extends") if isinstance(raw, dict) else None
    return None if parent is None else (path.parent / str(parent)).resolve()


def input_files(scenario: Scenario, base: Path) -> list[dict[str, Any]]:
    """Every input file the scenario names (with a Shapefile's side files), each hashed."""
    out = []
    for role, file in _paths(scenario):
        parts = [file]
        if file.suffix.lower() == ".shp":
            parts += [p for p in map(file.with_suffix, _SHAPEFILE_PARTS) if p.is_file()]
        out += [_entry(role, p, base) for p in parts if p.is_file()]
    return out


def _paths(model: BaseModel, prefix: str = "") -> Iterator[tuple[str, Path]]:
    """(dotted setting, path) of every file setting, e.g. ``("data.villages", ...)``."""
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, Path):
            yield f"{prefix}{name}", value
        elif isinstance(value, BaseModel):
            yield from _paths(value, f"{prefix}{name}.")


def resolved_settings(scenario: Scenario, base: Path) -> dict[str, Any]:
    """Every setting (defaults filled in) as JSON values, file paths relative to ``base``."""
    return _relative_paths(scenario.model_dump(mode="json"), base)


def _relative_paths(value: Any, base: Path) -> Any:
    if isinstance(value, dict):
        return {k: _relative_paths(v, base) for k, v in value.items()}
    if isinstance(value, list):
        return [_relative_paths(v, base) for v in value]
    if isinstance(value, str) and os.path.isabs(value):
        return _relative(Path(value), base)
    return value


def _entry(role: str, path: Path, base: Path) -> dict[str, Any]:
    return {
        "role": role,
        "path": _relative(path, base),
        "sha256": file_digest(path),
        "bytes": path.stat().st_size,
    }


def _relative(path: Path, base: Path) -> str:
    """``path`` relative to ``base`` with ``/`` separators (its name alone across drives)."""
    try:
        return Path(os.path.relpath(path.resolve(), base)).as_posix()
    except ValueError:  # another drive on Windows
        return path.name
