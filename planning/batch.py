"""Many scenarios, many counties: one Dask task per scenario variant and county.

``schoolplan batch`` turns scenario files into tasks, runs them on a Dask cluster and gathers
their figures into one table:

1. **Tasks.** Each scenario file (or every named scenario in a folder) is expanded over its
   ``sweep:`` (the cartesian product of the values of each setting path) and, with
   ``counties=``, over every county folder. Everything is checked before anything runs; every
   problem is reported at once.
2. **Travel costs once per county.** Variants of a county that share their cost inputs (layers,
   travel modes and speeds, candidate sites) get one warm-up task that computes the travel
   tables with the widest limits among them into the on-disk cache (:mod:`planning.cache`,
   ``$SCHOOLPLAN_CACHE``); their plan tasks wait for it and read the tables from the cache.
3. **Plan tasks.** Each plans its scenario (:func:`planning.pipeline.plan_scenario`), writes
   the plan's files into ``OUT/<county>/<slug>/`` (:func:`planning.pipeline.write_outputs`)
   with a ``task.json`` record, and returns the summary's figures (those of
   :data:`planning.compare.METRICS`). A task that fails returns its error; the others go on.
4. **Results.** ``results.csv`` / ``.parquet`` / ``.xlsx`` (one row per variant x county) and
   ``index.html`` (links to every map and report, errors in full).

A task is identified by its **scenario hash**: SHA-256 of the canonical JSON of the fully
merged scenario (every setting, sweep values applied) with each input file replaced by the
SHA-256 of its bytes. Re-running skips tasks whose folder holds a successful record with the
same hash and language; failed tasks are tried again.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import logging
import os
import re
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from pydantic import ValidationError

from planning._errors import InputError, PlanningError, Problem
from planning.cache import file_digest
from planning.compare import METRICS, _get
from planning.scenario import DATA_FILES, LEVELS, Build, Scenario, load_scenario

if TYPE_CHECKING:
    from distributed import Client, Future

__all__ = [
    "BatchResult",
    "Task",
    "TaskResult",
    "connect",
    "cost_groups",
    "earlier_result",
    "expand_sweep",
    "make_tasks",
    "results_table",
    "run_batch",
    "run_task",
    "run_tasks",
    "scenario_digest",
    "warm_costs",
    "widest",
    "write_results",
]

logger = logging.getLogger(__name__)

#: Bumped when the meaning of a task's outputs changes: older records are then not reused.
FORMAT_VERSION = "1"
#: Input files of a scenario (setting paths); rebound per county and hashed by content.
FILE_FIELDS: tuple[str, ...] = (*(f"data.{k}" for k in DATA_FILES), "demand.census")
#: Settings that decide the travel-cost tables (besides coordinate ``build`` actions).
COST_INPUTS: tuple[str, ...] = ("data", "travel", "candidates", "demand", "projection")
RECORD = "task.json"


@dataclass(frozen=True)
class Task:
    """One scenario variant on one county.

    Attributes
    ----------
    county
        The county's name: its folder's name (``counties=``), else the name of the folder
        holding the scenario's villages layer.
    name
        ``<scenario name> [path=value, ...]`` (just the scenario name without a sweep).
    source
        The scenario file.
    slug
        Folder name of the outputs: the file's stem and the sweep values.
    sweep
        ``(path, value)`` of this variant, in the order of the scenario's ``sweep``.
    scenario_json
        The fully merged, validated scenario as JSON (absolute paths).
    digest
        The scenario hash (see the module docstring).
    out
        Folder of this task's outputs (``OUT/<county>/<slug>``).
    lang
        Language of maps and reports.
    """

    county: str
    name: str
    source: str
    slug: str
    sweep: tuple[tuple[str, Any], ...]
    scenario_json: str
    digest: str
    out: str
    lang: str = "zh"

    def scenario(self) -> Scenario:
        """The task's scenario, validated."""
        return Scenario.model_validate_json(self.scenario_json)


@dataclass(frozen=True)
class TaskResult:
    """What a task gives back.

    ``outcome`` is ``"ok"`` or ``"failed"``; ``reused`` marks results of an earlier run
    (skipped). ``started`` is the wall-clock start (seconds since the epoch), ``seconds`` the
    task's duration. ``metrics`` maps :data:`planning.compare.METRICS` paths to values.
    ``error_type`` and ``error`` name a failure (a :class:`~planning.PlanningError` message is
    meant for the planner); ``detail`` holds the traceback of an unexpected error (a bug).
    """

    task: Task
    outcome: Literal["ok", "failed"]
    seconds: float = 0.0
    started: float = 0.0
    worker: str = ""
    reused: bool = False
    metrics: Mapping[str, Any] = field(default_factory=dict)
    error_type: str = ""
    error: str = ""
    detail: str = ""


@dataclass(frozen=True)
class BatchResult:
    """Every task's result, the results table and where everything was written."""

    results: tuple[TaskResult, ...]
    table: pd.DataFrame
    out: Path

    @property
    def failed(self) -> tuple[TaskResult, ...]:
        """The results of the tasks that failed."""
        return tuple(r for r in self.results if r.outcome == "failed")


# --------------------------------------------------------------------------- tasks


def make_tasks(
    sources: Sequence[str | Path],
    out: str | Path,
    *,
    counties: str | Path | None = None,
    lang: str = "zh",
) -> list[Task]:
    """Expand scenario files (or folders of them), their sweeps and the counties into tasks.

    Parameters
    ----------
    sources
        Scenario YAML files, or folders: a folder stands for its ``*.yaml`` / ``*.yml`` files
        that have a ``name`` (with what they extend); files without one, such as
        ``scenarios/base.yaml``, only hold defaults and are left out.
    out
        The batch's output folder.
    counties
        A folder with one sub-folder per county. Each scenario then runs once per county,
        with every input file it names (``data.*``, ``demand.census``) replaced by the file
        of the same name in the county's folder. None: each scenario runs on its own files.
    lang
        ``"zh"`` or ``"en"``, for maps and reports.

    Raises
    ------
    InputError
        Listing every problem of every file: scenario errors, unknown sweep paths, sweep
        values the schema rejects, county folders lacking a file, two tasks with one folder.
    """
    files = _scenario_files([Path(s) for s in sources])
    folders = county_folders(Path(counties)) if counties is not None else None
    digests: dict[str, str] = {}
    tasks, problems = [], []
    for path in files:
        try:
            tasks += _file_tasks(path, Path(out), folders, lang=lang, digests=digests)
        except InputError as exc:
            problems += exc.problems
    problems += _clashes(tasks)
    if problems:
        raise InputError(problems)
    return sorted(tasks, key=lambda t: (t.county, t.source, t.slug))


def county_folders(root: Path) -> dict[str, Path]:
    """County name -> folder: the sub-folders of ``root`` (hidden ones left out), by name."""
    if not root.is_dir():
        raise InputError([Problem(str(root), "counties: expected a folder of county folders")])
    found = {p.name: p.resolve() for p in sorted(root.iterdir()) if _visible_dir(p)}
    if not found:
        raise InputError([Problem(str(root), "counties: no county folder in it")])
    return found


def _visible_dir(p: Path) -> bool:
    return p.is_dir() and not p.name.startswith((".", "_"))


def _scenario_files(sources: list[Path]) -> list[Path]:
    """The scenario files named, folders expanded to their scenarios with a ``name``."""
    out, missing = [], []
    for src in sources:
        if src.is_dir():
            found = sorted([*src.glob("*.yaml"), *src.glob("*.yml")])
            out += [p for p in found if _has_name(p)]
        elif src.exists():
            out.append(src)
        else:
            missing.append(Problem(str(src), "scenario file or folder not found"))
    if missing:
        raise InputError(missing)
    return list(dict.fromkeys(p.resolve() for p in out))


def _has_name(path: Path) -> bool:
    """Whether ``path``, with what it extends, gives a scenario ``name`` (else: defaults)."""
    from planning.scenario import _resolve_extends

    try:
        return "name" in _resolve_extends(path, seen=())
    except InputError:
        return True  # let loading report the problem


def _file_tasks(
    path: Path,
    out: Path,
    folders: dict[str, Path] | None,
    *,
    lang: str,
    digests: dict[str, str],
) -> list[Task]:
    scenario = load_scenario(path)
    raw = scenario.model_dump(mode="json")
    sweep = raw.pop("sweep")
    raw["sweep"] = {}
    tasks, problems = [], []
    for values in expand_sweep(raw, sweep, file=str(path)):
        variant = _with_values(raw, values)
        for county, folder in _counties_of(variant, folders):
            try:
                bound = _rebind(variant, folder, county=county, file=str(path))
                tasks.append(_task(path, out, county, values, bound, lang=lang, digests=digests))
            except InputError as exc:
                problems += exc.problems
    if problems:
        raise InputError(problems)
    return tasks


def _counties_of(
    raw: dict[str, Any], folders: dict[str, Path] | None
) -> list[tuple[str, Path | None]]:
    if folders is not None:
        return list(folders.items())
    return [(Path(raw["data"]["villages"]).parent.name, None)]


def _task(
    path: Path,
    out: Path,
    county: str,
    values: dict[str, Any],
    raw: dict[str, Any],
    *,
    lang: str,
    digests: dict[str, str],
) -> Task:
    scenario = _validate(raw, file=str(path), values=values)
    canonical = scenario.model_dump(mode="json")
    slug = _slug(path.stem, values)
    return Task(
        county=county,
        name=scenario.name,
        source=str(path),
        slug=slug,
        sweep=tuple(values.items()),
        scenario_json=json.dumps(canonical, ensure_ascii=False, sort_keys=True),
        digest=scenario_digest(canonical, digests=digests),
        out=str((out / county / slug).resolve()),
        lang=lang,
    )


def _clashes(tasks: list[Task]) -> list[Problem]:
    seen: dict[str, Task] = {}
    problems = []
    for task in tasks:
        other = seen.setdefault(task.out, task)
        if other is not task:
            problems.append(
                Problem(
                    task.source,
                    f"its outputs would go to {task.out}, as those of {other.source}: "
                    "rename one of the files",
                )
            )
    return problems


# --------------------------------------------------------------------------- sweeps


def expand_sweep(
    raw: dict[str, Any], sweep: Mapping[str, Sequence[Any]], *, file: str = "scenario"
) -> list[dict[str, Any]]:
    """Every combination of the sweep's values, as ``{path: value}`` (one empty dict if none).

    Parameters
    ----------
    raw
        The fully merged scenario as a dict (every setting present, as from
        ``Scenario.model_dump(mode="json")``).
    sweep
        Dotted setting path (e.g. ``rules.class_size_primary``; list items by number, e.g.
        ``new_school_types.0.build_cost_wan``) -> values to try.
    file
        Named in problems.

    Raises
    ------
    InputError
        For every unknown path (with a suggestion), every empty list of values, and every
        path that cannot be swept (input files, ``sweep`` itself).
    """
    problems = [p for path, values in sweep.items() for p in _check_sweep(raw, path, values, file)]
    if problems:
        raise InputError(problems)
    paths = list(sweep)
    return [dict(zip(paths, combo, strict=True)) for combo in itertools.product(*sweep.values())]


def _check_sweep(raw: dict[str, Any], path: str, values: Any, file: str) -> list[Problem]:
    where = f"sweep.{path}"
    if path in FILE_FIELDS or path in ("data", "demand", "sweep") or path.startswith("sweep."):
        msg = "input files cannot be swept: give each set of layers as a county (--counties)"
        return [Problem(file, msg if path != "sweep" else "cannot sweep the sweep", field=where)]
    if not isinstance(values, list) or not values:
        return [
            Problem(file, f"expected a non-empty list of values, found {values!r}", field=where)
        ]
    node: Any = raw
    for depth, part in enumerate(path.split(".")):
        here = ".".join(path.split(".")[:depth]) or "the scenario"
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return [
                Problem(file, f"unknown setting '{path}'" + _suggest(node, part, here), field=where)
            ]
    return []


def _suggest(node: Any, part: str, here: str) -> str:
    import difflib

    if isinstance(node, list):
        return f" ({here} is a list of {len(node)} item(s), numbered from 0)"
    if not isinstance(node, dict):
        return f" ({here} is a value, not a group of settings)"
    close = difflib.get_close_matches(part, list(node), n=1)
    return f"; did you mean '{close[0]}'?" if close else f" ({here} has no '{part}')"


def _with_values(raw: dict[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``raw`` with each ``path`` set to its value and the name extended."""
    out = copy.deepcopy(raw)
    for path, value in values.items():
        *head, last = path.split(".")
        node: Any = out
        for part in head:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[int(last) if isinstance(node, list) else last] = copy.deepcopy(value)
    if values:
        out["name"] = f"{raw['name']} [{', '.join(f'{p}={_text(v)}' for p, v in values.items())}]"
    return out


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _slug(stem: str, values: Mapping[str, Any]) -> str:
    text = stem + "".join(f"__{p}={_text(v)}" for p, v in values.items())
    return re.sub(r"[^\w.=+-]+", "_", text)


def _validate(raw: dict[str, Any], *, file: str, values: Mapping[str, Any]) -> Scenario:
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        label = ", ".join(f"{p}={_text(v)}" for p, v in values.items()) or "scenario"
        raise InputError(
            [
                Problem(file, f"{label}: {e['msg']}", field=".".join(map(str, e["loc"])))
                for e in exc.errors()
            ]
        ) from None


# --------------------------------------------------------------------------- counties, hashes


def _rebind(raw: dict[str, Any], folder: Path | None, *, county: str, file: str) -> dict[str, Any]:
    """``raw`` with each input file replaced by the file of the same name in ``folder``."""
    if folder is None:
        return raw
    out = copy.deepcopy(raw)
    problems = []
    for path in FILE_FIELDS:
        group, key = path.split(".")
        value = out[group].get(key)
        if value is None:
            continue
        target = folder / Path(value).name
        out[group][key] = str(target)
        if not target.exists():
            msg = f"county {county}: {target} not found (the scenario reads {value})"
            problems.append(Problem(file, msg, field=path))
    if problems:
        raise InputError(problems)
    return out


def scenario_digest(raw: Mapping[str, Any], *, digests: dict[str, str] | None = None) -> str:
    """The scenario hash: SHA-256 of the canonical JSON of ``raw`` (a fully merged scenario
    as from ``Scenario.model_dump(mode="json")``) with each input file replaced by the
    SHA-256 of its bytes; ``digests`` memoises file hashes (path -> hex)."""
    memo = digests if digests is not None else {}
    body = copy.deepcopy(dict(raw))
    for path in FILE_FIELDS:
        group, key = path.split(".")
        value = body[group].get(key)
        if value is not None:
            if value not in memo:
                memo[value] = file_digest(value)
            body[group][key] = memo[value]
    text = json.dumps(
        {"format": FORMAT_VERSION, "scenario": body},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(text.encode()).hexdigest()


def cost_groups(tasks: Sequence[Task]) -> dict[tuple[str, str], list[Task]]:
    """Tasks that share their travel tables: by county and cost inputs (limits aside)."""
    groups: dict[tuple[str, str], list[Task]] = {}
    for task in tasks:
        raw = json.loads(task.scenario_json)
        inputs = {k: raw[k] for k in COST_INPUTS}
        for level in LEVELS:
            inputs["travel"][level].pop("max_distance_m")
            inputs["travel"][level].pop("max_minutes")
        inputs["sites"] = [a for a in raw["actions"] if "build" in a and a.get("at") is None]
        key = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()
        groups.setdefault((task.county, key), []).append(task)
    return groups


def widest(tasks: Sequence[Task]) -> Scenario:
    """The scenario that prepares the travel tables of ``tasks`` (one cost group): the first
    task's, with the widest travel limits of all (per level: the longest distance; no time
    limit if any task has none, else the longest) and only the actions that add sites
    (``build`` at coordinates), so that another action's mistake is left to its own task."""
    scenarios = [t.scenario() for t in tasks]
    first = scenarios[0]
    update = {}
    for level in LEVELS:
        limits = [s.travel.of(level) for s in scenarios]
        minutes = [lt.max_minutes for lt in limits]
        update[level] = first.travel.of(level).model_copy(
            update={
                "max_distance_m": max(lt.max_distance_m for lt in limits),
                "max_minutes": None if None in minutes else max(m for m in minutes if m),
            }
        )
    sites = [a for a in first.actions if isinstance(a, Build) and a.at is None]
    travel = first.travel.model_copy(update=update)
    return first.model_copy(update={"travel": travel, "actions": sites})


# --------------------------------------------------------------------------- on the workers


def warm_costs(scenario_json: str) -> str:
    """Compute a county's travel tables into the on-disk cache (a Dask task).

    Never raises: a failure is left for the plan tasks to report with their own scenario.
    Returns ``"ok"`` or the error's text.
    """
    from planning.pipeline import load_inputs, travel_costs

    try:
        scenario = Scenario.model_validate_json(scenario_json)
        travel_costs(load_inputs(scenario), scenario)
    except Exception as exc:  # reported by the plan tasks that depend on it
        logger.warning("travel costs not prepared: %s", exc)
        return f"{type(exc).__name__}: {exc}"
    return "ok"


def run_task(task: Task, _costs: str | None = None) -> TaskResult:
    """Plan one task, write its outputs and record; never raises (a Dask task).

    ``_costs`` is the result of the county's :func:`warm_costs` task (passed so that Dask
    runs this task after it).
    """
    from planning.pipeline import plan_scenario, write_outputs

    started, clock = time.time(), time.perf_counter()
    try:
        plan, layers = plan_scenario(task.scenario())
        write_outputs(plan, layers.boundary, Path(task.out), lang=task.lang)
        metrics = {path: _plain(_get(plan.summary, path)) for path, _ in METRICS}
    except Exception as exc:  # one failed task must not stop the batch: report it
        bug = not isinstance(exc, PlanningError)
        return TaskResult(
            task,
            "failed",
            seconds=time.perf_counter() - clock,
            started=started,
            worker=_worker_name(),
            error_type=type(exc).__name__,
            error=str(exc),
            detail=traceback.format_exc() if bug else "",
        )
    result = TaskResult(
        task,
        "ok",
        seconds=time.perf_counter() - clock,
        started=started,
        worker=_worker_name(),
        metrics=metrics,
    )
    _write_record(result)
    return result


def _plain(value: Any) -> Any:
    """NumPy scalars as Python numbers (for JSON and the table)."""
    return value.item() if isinstance(value, np.generic) else value


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().name)
    except (ImportError, ValueError):  # not on a Dask worker
        return ""


def _write_record(result: TaskResult) -> None:
    task = result.task
    record = {
        "format": FORMAT_VERSION,
        "digest": task.digest,
        "lang": task.lang,
        "name": task.name,
        "county": task.county,
        "source": task.source,
        "seconds": round(result.seconds, 2),
        "started": result.started,
        "worker": result.worker,
        "metrics": dict(result.metrics),
    }
    text = json.dumps(record, ensure_ascii=False, indent=2, default=str)
    _atomic(Path(task.out) / RECORD, lambda p: p.write_text(text, encoding="utf-8"))


def earlier_result(task: Task) -> TaskResult | None:
    """The successful result of an earlier run of exactly this task, or None."""
    path = Path(task.out) / RECORD
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (record.get("digest"), record.get("lang")) != (task.digest, task.lang):
        return None
    return TaskResult(
        task,
        "ok",
        seconds=float(record.get("seconds", 0.0)),
        started=float(record.get("started", 0.0)),
        worker=str(record.get("worker", "")),
        reused=True,
        metrics=record.get("metrics", {}),
    )


# --------------------------------------------------------------------------- running


@contextmanager
def connect(scheduler: str | None = None, *, workers: int | None = None) -> Iterator[Client]:
    """A Dask client: to the scheduler at ``scheduler`` (e.g. ``tcp://10.0.0.5:8786``), or to
    a new local cluster of ``workers`` processes with one thread each (default: one per CPU
    core). The local cluster is shut down on exit.

    Raises
    ------
    InputError
        When no scheduler answers at ``scheduler`` (within Dask's connect timeout,
        ``distributed.comm.timeouts.connect``).
    """
    from distributed import Client, LocalCluster

    if scheduler is not None:
        if workers is not None:
            raise ValueError("workers sets the size of a local cluster; not with a scheduler")
        try:
            remote = Client(scheduler)
        except (OSError, ValueError) as exc:  # refused, timed out, or not an address
            msg = (
                f"no Dask scheduler answered ({type(exc).__name__}: {exc}); start one with "
                "`dask scheduler` and give the address it prints (tcp://HOST:8786)"
            )
            raise InputError([Problem(scheduler, msg, field="--scheduler")]) from None
        with remote as client:
            yield client
        return
    n = workers if workers is not None else (os.cpu_count() or 1)
    with (
        LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def run_batch(
    sources: Sequence[str | Path],
    out: str | Path,
    *,
    counties: str | Path | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    client: Client | None = None,
    lang: str = "zh",
) -> BatchResult:
    """Run every task of :func:`make_tasks` on Dask and write the results table and index.

    Parameters
    ----------
    sources, counties, lang
        As :func:`make_tasks`.
    out
        Output folder: ``<county>/<slug>/`` per task, ``results.csv`` / ``.parquet`` /
        ``.xlsx`` and ``index.html``.
    scheduler, workers
        As :func:`connect`; ignored when ``client`` is given.
    client
        An existing Dask client to use (left open).

    Returns
    -------
    BatchResult
        Every task's result (failed ones included), in table order.

    Raises
    ------
    InputError
        Before anything runs, when a scenario, a sweep or a county folder has problems.
    """
    out = Path(out)
    tasks = make_tasks(sources, out, counties=counties, lang=lang)
    done = {t.out: r for t in tasks if (r := earlier_result(t)) is not None}
    todo = [t for t in tasks if t.out not in done]
    logger.info("%d task(s): %d done earlier, %d to run", len(tasks), len(done), len(todo))
    if todo:
        with _client(client, scheduler, workers) as dask:
            done |= run_tasks(todo, dask)
    results = tuple(done[t.out] for t in tasks)
    table = write_results(results, out, lang=lang)
    return BatchResult(results, table, out)


@contextmanager
def _client(client: Client | None, scheduler: str | None, workers: int | None) -> Iterator[Client]:
    if client is not None:
        yield client
        return
    with connect(scheduler, workers=workers) as own:
        yield own


def run_tasks(tasks: Sequence[Task], client: Client) -> dict[str, TaskResult]:
    """Submit the warm-up and plan tasks; gather the results (by ``Task.out``) as they
    finish, logging each."""
    from distributed import as_completed

    futures: dict[Future, Task] = {}
    for (county, _), group in cost_groups(tasks).items():
        warm = None
        if len(group) > 1:  # keys name the task on the dashboard; unique for every run
            key = f"costs-{county}-{uuid.uuid4().hex[:8]}"
            warm = client.submit(warm_costs, widest(group).model_dump_json(), key=key)
        for task in group:
            key = f"plan-{task.county}-{task.slug}-{uuid.uuid4().hex[:8]}"
            futures[client.submit(run_task, task, warm, key=key)] = task
    results = {}
    for k, future in enumerate(as_completed(futures), start=1):
        task = futures.pop(future)
        results[task.out] = _gathered(future, task)
        _log_result(results[task.out], k, len(tasks))
    return results


def _gathered(future: Future, task: Task) -> TaskResult:
    try:
        result: TaskResult = future.result()
    except Exception as exc:  # a worker died (KilledWorker) or the task was cancelled
        return TaskResult(task, "failed", error_type=type(exc).__name__, error=str(exc))
    return result


def _log_result(result: TaskResult, k: int, n: int) -> None:
    where = f"[{k}/{n}] {result.task.county} / {result.task.name}"
    if result.outcome == "ok":
        logger.info("%s: %s, %.1f s", where, result.metrics.get("status"), result.seconds)
    else:
        logger.warning("%s: failed: %s: %s", where, result.error_type, result.error)


# --------------------------------------------------------------------------- results


def results_table(results: Sequence[TaskResult], *, out: Path | None = None) -> pd.DataFrame:
    """One row per task: county, scenario, outcome, timing, error, sweep values (columns
    ``sweep.<path>``) and the figures of :data:`planning.compare.METRICS` (columns named by
    their path in ``summary.json``)."""
    rows = []
    for r in results:
        t = r.task
        folder = Path(t.out).relative_to(out.resolve()) if out is not None else Path(t.out)
        row = {
            "county": t.county,
            "scenario": t.name,
            "source": t.source,
            "outcome": r.outcome,
            "reused": r.reused,
            "seconds": round(r.seconds, 2),
            "worker": r.worker,
            "error_type": r.error_type,
            "error": r.error,
            "folder": folder.as_posix(),
            "digest": t.digest,
        }
        row |= {f"sweep.{p}": v for p, v in t.sweep}
        rows.append(row | {path: r.metrics.get(path) for path, _ in METRICS})
    return _tidy(pd.DataFrame(rows))


def _tidy(table: pd.DataFrame) -> pd.DataFrame:
    """Columns holding anything but numbers only or text only become text (JSON for lists
    and mappings): Parquet wants one type a column."""
    for col in table.columns:
        values = [v for v in table[col] if v is not None]
        numbers = all(isinstance(v, int | float | np.number) for v in values)
        if not numbers and not all(isinstance(v, str) for v in values):
            table[col] = [None if v is None else _text(v) for v in table[col]]
    return table


def write_results(results: Sequence[TaskResult], out: Path, *, lang: str = "zh") -> pd.DataFrame:
    """Write ``results.csv`` (UTF-8 with BOM, for Excel/WPS), ``results.parquet``,
    ``results.xlsx`` and ``index.html`` into ``out``; return the table."""
    out.mkdir(parents=True, exist_ok=True)
    table = results_table(results, out=out)
    _atomic(out / "results.csv", lambda p: table.to_csv(p, index=False, encoding="utf-8-sig"))
    _atomic(out / "results.parquet", lambda p: table.to_parquet(p, index=False))
    _atomic(out / "results.xlsx", lambda p: table.to_excel(p, index=False, engine="openpyxl"))
    html = index_html(results, out=out, lang=lang)
    _atomic(out / "index.html", lambda p: p.write_text(html, encoding="utf-8"))
    return table


def _atomic(path: Path, write: Callable[[Path], object]) -> None:
    """Write through a temporary file beside ``path``, then move it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


# words of the index page that planning.i18n does not have yet
_WORDS: dict[str, tuple[str, str]] = {
    "title": ("批量方案结果", "Batch results"),
    "county": ("县", "County"),
    "scenario": ("方案", "Scenario"),
    "result": ("结果", "Result"),
    "failed": ("失败", "failed"),
    "reused": ("沿用上次结果", "from an earlier run"),
    "files": ("文件", "Files"),
    "report": ("报告", "Report"),
    "table": ("结果表", "Results table"),
}
_INDEX_METRICS = (
    "schools.open",
    "schools.closed",
    "schools.new",
    "travel.primary.mean_m",
    "travel.junior.mean_m",
    "costs_wan.capital",
)


def _word(key: str, lang: str) -> str:
    return _WORDS[key][0 if lang == "zh" else 1]


def index_html(results: Sequence[TaskResult], *, out: Path, lang: str = "zh") -> str:
    """A short HTML page: one row per task with its key figures and links to its map and
    report, or its error in full."""
    from html import escape

    from planning.i18n import t

    labels = dict(METRICS)
    head = [_word(k, lang) for k in ("county", "scenario", "result")]
    head += [t(labels[m], lang) for m in _INDEX_METRICS] + [_word("files", lang)]
    rows = "".join(_index_row(r, out=out, lang=lang) for r in results)
    title = escape(_word("title", lang))
    n_failed = sum(r.outcome == "failed" for r in results)
    return (
        f'<!doctype html><html lang="{lang}"><meta charset="utf-8"><title>{title}</title>'
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top}"
        "th{background:#f3f4f6}td.n{text-align:right}.failed{color:#b91c1c}"
        "pre{white-space:pre-wrap;max-width:60em;margin:0}</style>"
        f"<h1>{title}</h1><p>{len(results)} · {escape(_word('failed', lang))}: {n_failed} · "
        f'<a href="results.xlsx">{escape(_word("table", lang))}</a> '
        '(<a href="results.csv">CSV</a>, <a href="results.parquet">Parquet</a>)</p>'
        f"<table><tr>{''.join(f'<th>{escape(h)}</th>' for h in head)}</tr>{rows}</table>"
        "</html>\n"
    )


def _index_row(r: TaskResult, *, out: Path, lang: str) -> str:
    from html import escape

    from planning.i18n import STRINGS, t

    task = r.task
    cells = f"<td>{escape(task.county)}</td><td>{escape(task.name)}</td>"
    if r.outcome == "failed":
        error = f"{r.error_type}: {r.error}\n{r.detail}".strip()
        span = len(_INDEX_METRICS) + 2
        return (
            f'<tr>{cells}<td colspan="{span}" class="failed"><b>{escape(_word("failed", lang))}'
            f"</b><pre>{escape(error)}</pre></td></tr>"
        )
    status = r.metrics.get("status")
    shown = t(f"status_{status}", lang) if f"status_{status}" in STRINGS else str(status)
    if r.reused:
        shown += f" ({_word('reused', lang)})"
    figures = "".join(f'<td class="n">{_figure(r.metrics.get(m))}</td>' for m in _INDEX_METRICS)
    href = Path(task.out).relative_to(out.resolve()).as_posix()
    links = (
        f'<a href="{escape(href)}/map.html">{escape(t("map", lang))}</a> · '
        f'<a href="{escape(href)}/report.html">{escape(_word("report", lang))}</a>'
    )
    return f"<tr>{cells}<td>{escape(shown)}</td>{figures}<td>{links}</td></tr>"


def _figure(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return f"{value:,}" if isinstance(value, int) else str(value)
