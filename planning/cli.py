"""The ``schoolplan`` command line: exit 0 on success, 2 on a user error, 1 on a bug."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.status import Status

from planning._errors import InfeasiblePlanError, InputError, PlanningError, Problem

if TYPE_CHECKING:
    import pandas as pd

    from planning.layers import Layers
    from planning.plan import Plan
    from planning.scenario import Scenario

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="School-layout planning (学校布局规划)."
)
console = Console(stderr=True)

LangOpt = Annotated[str, typer.Option("--lang", help="zh (中文, default) or en.")]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show Python tracebacks.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Only errors.")]


def _setup_logging(quiet: bool) -> None:
    from rich.logging import RichHandler

    logging.basicConfig(
        level=logging.WARNING if quiet else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=console, show_path=False)],
        force=True,
    )
    for noisy in ("pyogrio", "fiona", "osmnx", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _fail(exc: PlanningError, debug: bool) -> NoReturn:
    """A user error: every problem on its own unwrapped line (greppable), exit 2."""
    if debug:
        console.print_exception()
    if isinstance(exc, InputError):
        console.print(f"[bold red]{len(exc.problems)} problem(s):[/]")
        for p in exc.problems:
            console.print(f"  - {p}", markup=False, highlight=False, soft_wrap=True)
    else:
        console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def _bug(exc: Exception, debug: bool) -> NoReturn:
    """Anything but a user error is a bug: a short message, the traceback only with --debug."""
    if debug:
        console.print_exception()
    console.print(
        f"[bold red]internal error:[/] {escape(f'{type(exc).__name__}: {exc}')}\n"
        "this is a bug in schoolplan, not a problem with your data: please report it with "
        "the output of the same command run with --debug",
        highlight=False,
        soft_wrap=True,
    )
    raise typer.Exit(1)


@contextmanager
def _exit_codes(debug: bool) -> Iterator[None]:
    """The exit-code contract: 2 for a user error, 130 for Ctrl-C, 1 for a bug."""
    try:
        yield
    except typer.Exit:
        raise
    except PlanningError as exc:
        _fail(exc, debug)
    except KeyboardInterrupt:
        console.print(
            "[bold red]interrupted:[/] earlier results in the output folder are untouched"
        )
        raise typer.Exit(130) from None
    except Exception as exc:
        _bug(exc, debug)


def _check_out(out: Path | None) -> None:
    if out is not None and out.exists() and not out.is_dir():
        msg = "is a file, not a folder: give a folder for the results"
        raise InputError([Problem(str(out), msg, field="--out")])


def _check_lang(lang: str) -> None:
    if lang not in ("zh", "en"):
        console.print(f"[bold red]error:[/] --lang must be zh or en, found {lang!r}")
        raise typer.Exit(2)


@app.command()
def run(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Output folder (default out/<scenario file stem>).")
    ] = None,
    lang: LangOpt = "zh",
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
    open_map: Annotated[
        bool, typer.Option("--open", help="Open map.html in the default browser when done.")
    ] = False,
    tiles: Annotated[
        str | None,
        typer.Option(
            "--tiles",
            help="Base map: none (default), osm, or a tile URL template such as Tianditu's "
            "with your key ({z}/{x}/{y}); AMap/Tencent tiles are noted as GCJ-02.",
        ),
    ] = None,
) -> None:
    """Plan one scenario: write plan.gpkg, summary.json, map.html and report.html."""
    from planning.pipeline import run_scenario

    _check_lang(lang)
    _setup_logging(quiet)
    with _exit_codes(debug):
        _check_out(out)
        _check_tiles(tiles)
        with _progress(scenario, lang=lang, quiet=quiet):
            plan, folder = run_scenario(scenario, out=out, lang=lang, tiles=tiles)
        _print_run(plan, folder, lang=lang)
    if open_map:
        import webbrowser

        from planning.i18n import t

        if not quiet:
            console.print(t("cli_opening", lang), highlight=False)
        webbrowser.open((folder / "map.html").resolve().as_uri())


def _print_run(plan: Plan, folder: Path, *, lang: str) -> None:
    from planning.i18n import t

    s = plan.summary
    status = t(f"status_{s['status']}", lang)
    print(
        f"{plan.name}: {status}; gap {_pct(s['gap'])}; "
        f"schools open {s['schools']['open']}, closed {s['schools']['closed']}, "
        f"new {s['schools']['new']}"
    )
    print(f"{t('run_done', lang)}: {folder}")
    for name in ("map.html", "report.html", "plan.gpkg", "report.xlsx", "summary.json"):
        print(f"  {folder / name}")


# the step that starts after a log record from each module (one module per step of the flow)
_NEXT_STEP = {
    "planning.layers": "cli_step_layers",
    "planning.network": "cli_step_costs",
    "planning.costs": "cli_step_solve",
    "planning.model": "cli_step_solve",
}


class _StepStatus(logging.Handler):
    """Show the running step on a rich status line, from the log records of each module.

    ``planning.pipeline`` logs when the layers are loaded (roads and travel come next) and when
    the solve ends (outputs come next).
    """

    def __init__(self, status: Status, head: str, lang: str) -> None:
        super().__init__(level=logging.INFO)
        self.status, self.head, self.lang = status, head, lang

    def emit(self, record: logging.LogRecord) -> None:
        from planning.i18n import t

        key = _NEXT_STEP.get(record.name)
        if record.name == "planning.pipeline":
            solved = str(record.msg).startswith("solved")
            key = "cli_step_write" if solved else "cli_step_network"
        if key is not None:
            self.status.update(f"{self.head} · {t(key, self.lang)}")


@contextmanager
def _progress(scenario: Path, *, lang: str, quiet: bool) -> Iterator[None]:
    """A status line with a spinner naming the running step (nothing when quiet)."""
    from planning.i18n import t

    if quiet:
        yield
        return
    head = t("cli_running", lang, name=scenario.name)
    with console.status(f"{head} · {t('cli_step_layers', lang)}") as status:
        handler = _StepStatus(status, head, lang)
        logging.getLogger("planning").addHandler(handler)
        try:
            yield
        finally:
            logging.getLogger("planning").removeHandler(handler)


def _check_tiles(tiles: str | None) -> None:
    from planning.maps import BaseTiles

    try:
        BaseTiles.parse(tiles)
    except ValueError as exc:
        raise InputError([Problem("--tiles", str(exc), field="tiles")]) from None


def _pct(gap: float | None) -> str:
    return "n/a" if gap is None else f"{100 * gap:.3f}%"


@app.command()
def compare(
    scenarios: Annotated[list[Path], typer.Argument(help="Two or more scenario YAML files.")],
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("out/compare"),
    lang: LangOpt = "zh",
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Run scenarios and today's situation; write a comparison table and what each changes."""
    from planning.compare import compare as run_compare
    from planning.i18n import t

    _check_lang(lang)
    _setup_logging(quiet)
    with _exit_codes(debug):
        _check_out(out)
        folder = run_compare(list(scenarios), out, lang=lang)
    print(f"{t('run_done', lang)}: {folder}")
    for name in ("comparison.html", "comparison.xlsx", "comparison.csv"):
        print(f"  {folder / name}")


@app.command()
def batch(
    scenarios: Annotated[
        list[Path],
        typer.Argument(
            help="Scenario YAML files, or folders: every *.yaml in a folder that has a `name` "
            "(files of defaults such as base.yaml are left out)."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Output folder.")],
    counties: Annotated[
        Path | None,
        typer.Option(
            "--counties",
            help="Folder with one sub-folder per county. Every scenario then runs on every "
            "county, with each input file it names (data.*, demand.census) replaced by the file "
            "of the same name in the county's folder. Default: each scenario on its own files.",
        ),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            help="Address of a running Dask scheduler (e.g. tcp://10.0.0.5:8786). Default: a "
            "local cluster on this machine.",
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers", min=1, help="Worker processes of the local cluster (default: CPU cores)."
        ),
    ] = None,
    lang: LangOpt = "zh",
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Plan every scenario (x sweep x county) as a Dask task; gather one results table.

    A scenario's `sweep:` (setting path -> values, e.g. rules.class_size_primary: [40, 45])
    runs every combination. Writes OUT/<county>/<scenario>/ per task (plan files, map,
    report), results.csv / .parquet / .xlsx (one row per task) and index.html. A failed task
    is reported and the others go on; run again to retry failures: finished tasks (same
    scenario hash) are skipped. Exit 0 when every task succeeded, 2 when a task failed on its
    input, 1 on a bug.
    """
    from planning.batch import run_batch

    _check_lang(lang)
    _setup_logging(quiet)
    if scheduler is not None and workers is not None:
        console.print("[bold red]error:[/] --workers sizes the local cluster; not with --scheduler")
        raise typer.Exit(2)
    with _exit_codes(debug):
        _check_out(out)
        result = run_batch(
            scenarios, out, counties=counties, scheduler=scheduler, workers=workers, lang=lang
        )
    n, failed = len(result.results), result.failed
    reused = sum(r.reused for r in result.results)
    print(
        f"{n} task(s): {n - len(failed)} done ({reused} from an earlier run), {len(failed)} failed"
    )
    for r in failed:
        console.print(
            f"  failed: {r.task.county} / {r.task.name}: {r.error_type}: {r.error}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    print(f"  {out / 'index.html'}\n  {out / 'results.xlsx'}")
    if failed:
        raise typer.Exit(1 if any(r.detail for r in failed) else 2)


@app.command()
def validate(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    debug: DebugOpt = False,
) -> None:
    """Check the scenario, every input layer and the roads; print every problem; exit 2 if any.

    Warnings (suspicious but usable data: empty schools, points outside the boundary or far
    from the roads, GCJ-02-looking offsets) are printed too; they do not change the exit code.
    """
    from planning.pipeline import load_inputs, travel_costs
    from planning.scenario import load_scenario

    _setup_logging(quiet=True)
    with _exit_codes(debug):
        sc = load_scenario(scenario)
        layers = load_inputs(sc)
        costs, _ = travel_costs(layers, sc)  # reads the roads; warns of points off the roads
        _check_reach(layers, sc, costs)
    for w in layers.warnings:
        console.print(f"  warning: {w}", markup=False, highlight=False, soft_wrap=True)
    print(
        f"{scenario}: OK ({len(layers.schools)} schools, {len(layers.villages)} villages, "
        f"{len(layers.candidates)} candidate sites, {len(layers.warnings)} warning(s))"
    )


def _check_reach(layers: Layers, sc: Scenario, costs: dict[str, pd.DataFrame]) -> None:
    """Stop, as ``run`` would before solving, on villages that no school can reach."""
    from planning import diagnose
    from planning.instance import all_sites, model_input, model_options

    options = model_options(layers, sc)
    _, unreachable = model_input(layers, sc, costs, options)
    sites = all_sites(layers)
    lost = diagnose.unreachable_report(unreachable, layers.villages, sites, options, sc)
    if lost and (sc.rules.allow_unassigned or sc.mode == "evaluate"):
        file = str(sc.data.villages)
        layers.warnings.extend(Problem(file, line, severity="warning") for line in lost)
    elif lost:
        raise InfeasiblePlanError(
            f"{len(lost)} village/level demand(s) cannot reach any school within the travel "
            "limits (raise the limit, add a candidate site, or set "
            "rules.allow_unassigned: true):\n  " + "\n  ".join(lost)
        )


@app.command()
def costs(
    roads: Annotated[
        Path,
        typer.Option(
            "--roads", help="Road file: .osm, .osm.bz2, .osm.pbf, or GIS lines with a class column."
        ),
    ],
    origins: Annotated[
        Path, typer.Option("--from", help="Origin points (GeoPackage, GeoJSON, Shapefile, CSV).")
    ],
    destinations: Annotated[Path, typer.Option("--to", help="Destination points.")],
    out: Annotated[Path, typer.Option("--out", help="Output table: .parquet or .csv.")],
    mode: Annotated[str, typer.Option("--mode", help="walk, bike or drive.")] = "walk",
    max_minutes: Annotated[
        float | None, typer.Option("--max-minutes", help="Leave out slower pairs (minutes).")
    ] = None,
    max_distance_m: Annotated[
        float | None, typer.Option("--max-distance-m", help="Leave out longer pairs (metres).")
    ] = None,
    from_id: Annotated[str | None, typer.Option("--from-id", help="Origin id column.")] = None,
    to_id: Annotated[str | None, typer.Option("--to-id", help="Destination id column.")] = None,
    from_coords: Annotated[
        str, typer.Option("--from-coords", help="wgs84 (also CGCS2000), gcj02 or bd09.")
    ] = "wgs84",
    to_coords: Annotated[str, typer.Option("--to-coords", help="As --from-coords.")] = "wgs84",
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Neither read nor write.")] = False,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Travel-cost table between two point layers on a road network (fastest routes).

    Columns: origin id, destination id (the layers' own id values), distance_m, minutes.
    """
    from planning.cache import write_table
    from planning.costs import od_costs

    _setup_logging(quiet)
    if mode not in ("walk", "bike", "drive") or out.suffix.lower() not in (".parquet", ".csv"):
        console.print("[bold red]error:[/] --mode walk|bike|drive, --out *.parquet or *.csv")
        raise typer.Exit(2)
    with _exit_codes(debug):
        result = od_costs(
            roads,
            origins,
            destinations,
            mode=mode,
            max_minutes=max_minutes,
            max_distance_m=max_distance_m,
            origin_id=from_id,
            destination_id=to_id,
            origin_coords=from_coords,
            destination_coords=to_coords,
            use_cache=not no_cache,
        )
        write_table(result.table, out, meta={"mode": mode, "roads": str(roads)})
    for w in result.warnings:
        console.print(f"  warning: {w}", markup=False, highlight=False, soft_wrap=True)
    print(f"{len(result.table):,} pairs ({mode}, on the roads of {roads.name}) -> {out}")


if __name__ == "__main__":  # pragma: no cover
    app()
