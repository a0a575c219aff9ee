"""The ``schoolplan`` command line: exit 0 on success, 2 on a user error, 1 on a bug."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from planning._errors import InputError, PlanningError

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


def _fail(exc: PlanningError, debug: bool) -> None:
    if debug:
        console.print_exception()
    if isinstance(exc, InputError):
        console.print(f"[bold red]{len(exc.problems)} problem(s):[/]")
        for p in exc.problems:
            console.print(f"  - {p}", markup=False, highlight=False)
    else:
        console.print(f"[bold red]error:[/] {exc}", highlight=False)
    raise typer.Exit(2)


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
) -> None:
    """Plan one scenario: write plan.gpkg, summary.json and map.html."""
    from planning.i18n import t
    from planning.pipeline import run_scenario

    _check_lang(lang)
    _setup_logging(quiet)
    try:
        plan, folder = run_scenario(scenario, out=out, lang=lang)
    except PlanningError as exc:
        _fail(exc, debug)
        return
    s = plan.summary
    status = t(f"status_{s['status']}", lang)
    print(
        f"{plan.name}: {status}; gap {_pct(s['gap'])}; "
        f"schools open {s['schools']['open']}, closed {s['schools']['closed']}, "
        f"new {s['schools']['new']}"
    )
    print(f"{t('run_done', lang)}: {folder}")
    for name in ("map.html", "plan.gpkg", "summary.json"):
        print(f"  {folder / name}")


def _pct(gap: float | None) -> str:
    return "n/a" if gap is None else f"{100 * gap:.3f}%"


@app.command()
def validate(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    debug: DebugOpt = False,
) -> None:
    """Check the scenario and every input layer; print every problem; exit 2 if any."""
    from planning.layers import load_layers
    from planning.scenario import load_scenario

    _setup_logging(quiet=True)
    try:
        sc = load_scenario(scenario)
        d = sc.data
        layers = load_layers(
            schools=d.schools, villages=d.villages, boundary=d.boundary, candidates=d.candidates
        )
        if d.roads is not None:
            from planning.network import load_osm_xml

            load_osm_xml(d.roads, crs=layers.crs)
    except PlanningError as exc:
        _fail(exc, debug)
        return
    for w in layers.warnings:
        console.print(f"  warning: {w}", markup=False, highlight=False)
    print(
        f"{scenario}: OK ({len(layers.schools)} schools, {len(layers.villages)} villages, "
        f"{len(layers.candidates)} candidate sites, {len(layers.warnings)} warning(s))"
    )


if __name__ == "__main__":  # pragma: no cover
    app()
