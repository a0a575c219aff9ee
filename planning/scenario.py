"""Scenario files: a strict, typed schema with documented defaults and units.

A scenario is a YAML file. Every setting has a default here; a file only states what it changes.
Unknown keys are errors (with a suggestion), so a typo never silently falls back to a default.
Relative paths in ``data`` are read relative to the scenario file.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from planning._errors import InputError, Problem

Level = Literal["primary", "junior"]
LEVELS: tuple[str, ...] = ("primary", "junior")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataPaths(_Strict):
    """Input layers (see docs/data.md for their columns)."""

    schools: Path = Field(description="Existing schools: GeoPackage, GeoJSON, Shapefile or CSV.")
    villages: Path = Field(description="Villages / communities with children per level.")
    boundary: Path = Field(description="Planning-area polygon.")
    candidates: Path | None = Field(None, description="Candidate sites for new schools.")
    roads: Path | None = Field(
        None,
        description="OpenStreetMap XML road file. Without it, travel is straight-line distance "
        "times `travel.detour_factor`, and every output says so.",
    )


class LevelTravel(_Strict):
    """How children of one level travel, and how far they may."""

    mode: Literal["walk", "drive"] = Field(description="walk: on every way; drive: school bus/car.")
    max_distance_m: float = Field(gt=0, description="Longest allowed trip, metres on the network.")
    max_minutes: float | None = Field(None, gt=0, description="Longest allowed trip, minutes.")


_DRIVE_KMH = {
    "motorway": 80.0,
    "trunk": 60.0,
    "primary": 50.0,
    "secondary": 40.0,
    "tertiary": 30.0,
    "unclassified": 25.0,
    "residential": 20.0,
    "service": 15.0,
    "track": 15.0,
}


class Travel(_Strict):
    """Travel settings; distances in metres, speeds in km/h."""

    primary: LevelTravel = LevelTravel(mode="walk", max_distance_m=2500.0)
    junior: LevelTravel = LevelTravel(mode="drive", max_distance_m=20000.0)
    walk_kmh: float = Field(4.0, gt=0, description="Walking speed of a child, km/h.")
    drive_kmh: dict[str, float] = Field(
        default_factory=lambda: dict(_DRIVE_KMH),
        description="School-bus speed per OSM highway class, km/h; other drivable classes use "
        "`drive_default_kmh`.",
    )
    drive_default_kmh: float = Field(20.0, gt=0, description="Speed on unlisted road classes.")
    walk_only: list[str] = Field(
        default_factory=lambda: ["footway", "path", "steps", "pedestrian", "bridleway", "cycleway"],
        description="OSM highway classes a school bus cannot use.",
    )
    detour_factor: float = Field(
        1.4, ge=1.0, description="Network/straight-line ratio used only when no roads are given."
    )

    def of(self, level: str) -> LevelTravel:
        return self.primary if level == "primary" else self.junior


class Rules(_Strict):
    """National limits (DOMAIN.md); change only for local standards."""

    class_size_primary: int = Field(45, gt=0, description="Students per primary class, at most.")
    class_size_junior: int = Field(50, gt=0, description="Students per junior class, at most.")
    max_students: int = Field(2000, gt=0, description="Students per primary or junior school.")
    max_students_nine_year: int = Field(2500, gt=0, description="Students per nine-year school.")

    def class_size(self, level: str) -> int:
        return self.class_size_primary if level == "primary" else self.class_size_junior


class SchoolType(_Strict):
    """A standard new-school design that can be built at a candidate site."""

    id: str = Field(description="Short code, e.g. P24.")
    level: Literal["primary", "junior", "nine_year"]
    classes: int = Field(gt=0, description="Classrooms (= classes) the design provides.")
    build_cost_wan: float = Field(ge=0, description="Build cost, 10,000 yuan (万元).")


class Costs(_Strict):
    """Objective weights, all in 10,000 yuan (万元) over the plan horizon."""

    student_km_wan: float = Field(
        0.2,
        ge=0,
        description="Cost of one student living 1 km (one way, on the network) from school, "
        "over the plan horizon.",
    )
    keep_school_wan: float = Field(
        0.0, ge=0, description="Running cost of keeping one existing school open."
    )
    close_school_wan: float = Field(0.0, ge=0, description="One-off cost of closing a school.")


class SolverSettings(_Strict):
    """MIP solver settings."""

    name: Literal["highs", "cbc"] = "highs"
    time_limit_s: float = Field(300.0, gt=0, description="Wall-clock limit, seconds.")
    mip_gap: float = Field(
        0.0, ge=0, lt=1, description="Relative gap at which to stop; 0 asks for a proven optimum."
    )
    threads: int | None = Field(None, gt=0, description="Solver threads; default: solver's own.")


class Scenario(_Strict):
    """One planning scenario."""

    name: str = Field(description="Shown in map titles and reports.")
    description: str = ""
    data: DataPaths
    travel: Travel = Travel()
    rules: Rules = Rules()
    new_school_types: list[SchoolType] = Field(default_factory=list)
    costs: Costs = Costs()
    solver: SolverSettings = SolverSettings()

    @model_validator(mode="after")
    def _unique_type_ids(self) -> Scenario:
        ids = [t.id for t in self.new_school_types]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"new_school_types: duplicate id(s) {dupes}")
        return self


def load_scenario(path: str | Path) -> Scenario:
    """Read, check and resolve a scenario file.

    Raises
    ------
    InputError
        Listing every problem: YAML syntax (with line), unknown keys (with a suggestion),
        wrong types or values, missing data files.
    """
    path = Path(path)
    raw = _read_yaml(path)
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as exc:
        raise InputError(_problems(exc, str(path))) from None
    data = scenario.data.model_copy(
        update={
            k: (path.parent / v).resolve()
            for k, v in scenario.data.model_dump().items()
            if v is not None
        }
    )
    missing = [
        Problem(str(path), f"file not found: {v}", field=f"data.{k}")
        for k, v in data.model_dump().items()
        if v is not None and not Path(v).exists()
    ]
    if missing:
        raise InputError(missing)
    return scenario.model_copy(update={"data": data})


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise InputError([Problem(str(path), "scenario file not found")])
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        row = str(mark.line + 1) if mark is not None else None
        raise InputError(
            [Problem(str(path), f"YAML syntax error: {getattr(exc, 'problem', exc)}", row=row)]
        ) from None
    if not isinstance(raw, dict):
        raise InputError([Problem(str(path), "expected a mapping of settings at the top level")])
    return raw


def _problems(exc: ValidationError, file: str) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = f"unknown key '{err['loc'][-1]}'" + _suggest(err["loc"])
        elif "input" in err and err["type"] != "missing":
            msg += f" (found {err['input']!r})"
        problems.append(Problem(file, msg, field=loc))
    return problems


def _suggest(loc: tuple[Any, ...]) -> str:
    model: type[BaseModel] = Scenario
    for part in loc[:-1]:
        field = model.model_fields.get(str(part))
        ann = getattr(field, "annotation", None)
        if not (isinstance(ann, type) and issubclass(ann, BaseModel)):
            return ""
        model = ann
    close = difflib.get_close_matches(str(loc[-1]), list(model.model_fields), n=1)
    return f"; did you mean '{close[0]}'?" if close else ""
