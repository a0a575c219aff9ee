"""Scenario files: a strict, typed schema with documented defaults and units.

A scenario is a YAML file. Every setting has a default here; a file only states what it changes.
Unknown keys are errors (with a suggestion), so a typo never silently falls back to a default.
Relative paths in ``data`` are read relative to the scenario file.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    model_validator,
)

from planning._errors import InputError, Problem

Level = Literal["primary", "junior"]
LEVELS: tuple[str, ...] = ("primary", "junior")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataPaths(_Strict):
    """Input layers (see docs/data.md for their columns)."""

    schools: Path | None = Field(
        None,
        description="Existing schools: GeoPackage, GeoJSON, Shapefile or CSV; leave out for a "
        "plan from scratch (every school is a new one at a candidate site).",
    )
    villages: Path = Field(description="Villages / communities with children per level.")
    boundary: Path = Field(description="Planning-area polygon.")
    candidates: Path | None = Field(None, description="Candidate sites for new schools.")
    roads: Path | None = Field(
        None,
        description="OpenStreetMap XML road file. Without it, travel is straight-line distance "
        "times `travel.detour_factor`, and every output says so.",
    )
    coords: dict[Literal["schools", "villages", "boundary", "candidates"], Coords] = Field(
        default_factory=dict,
        description="Coordinate system of layers copied from Chinese web maps: gcj02 (AMap, "
        "Tencent) or bd09 (Baidu) are converted to WGS-84 on reading; wgs84/cgcs2000 (the "
        "default) are used as they are.",
    )


Coords = Literal["wgs84", "cgcs2000", "gcj02", "bd09"]


class LevelTravel(_Strict):
    """How children of one level travel, and how far they may."""

    mode: Literal["walk", "bike", "drive"] = Field(
        description="walk: on foot on every way but motorways; bike; drive: school bus/car."
    )
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


class Boarding(_Strict):
    """Boarding (寄宿): children beyond the daily travel limit may board at a school with
    boarding places, up to a longer limit, at a cost per boarder."""

    junior_max_distance_m: float | None = Field(
        None,
        gt=0,
        description="Junior students may board up to this far, metres on the level's own "
        "network; null: no. Only trips beyond the daily limit board, and beyond the school-bus "
        "limit when a bus runs for the level (`school_bus`).",
    )
    primary_max_distance_m: float | None = Field(
        None,
        gt=0,
        description="Primary pupils may board up to this far, metres; null: no. As "
        "`junior_max_distance_m`.",
    )
    cost_per_boarder_wan: float = Field(
        0.5, ge=0, description="Cost of one boarder over the plan horizon (subsidy, care), 万元."
    )
    new_school_share: float = Field(
        0.5, ge=0, le=1, description="Boarding places of a new school, as a share of its places."
    )

    def max_distance(self, level: str) -> float | None:
        return self.primary_max_distance_m if level == "primary" else self.junior_max_distance_m


class SchoolBus(_Strict):
    """School bus (校车): children whose trip on their level's own mode is beyond the daily
    limit may ride a bus to a school within the bus limit, on the drivable network, at a cost
    per rider.

    Each (village, school) trip has one way of travel, fixed by its length: within the daily
    limit (``travel.<level>``) the children walk (or cycle); beyond it, within the bus limit,
    they ride the bus (and go home every day); beyond the bus limit, within the boarding limit
    and at a school with boarding places, they board. The optimizer then picks each village's
    school by total cost, so a village may ride the bus to a near school rather than board at a
    far one, or the reverse, whichever costs less.
    """

    primary_max_distance_m: float | None = Field(
        None,
        gt=0,
        description="Primary pupils beyond the daily limit may ride a school bus up to this "
        "far, metres on the drivable network; null (default): no bus for primary.",
    )
    primary_max_minutes: float | None = Field(
        None, gt=0, description="Longest primary bus ride, minutes; null: no time limit."
    )
    junior_max_distance_m: float | None = Field(
        None,
        gt=0,
        description="Junior students beyond the daily limit may ride a school bus up to this "
        "far, metres on the drivable network; null (default): no bus for junior.",
    )
    junior_max_minutes: float | None = Field(
        None, gt=0, description="Longest junior bus ride, minutes; null: no time limit."
    )
    cost_per_rider_wan: float = Field(
        1.0,
        ge=0,
        description="Cost of one bus rider over the plan horizon (vehicle, driver, escort: "
        "about 2,000 yuan a year for five years), 万元; the trip itself also costs "
        "`costs.student_km_wan` per km, as any trip.",
    )
    speed_factor: float = Field(
        1.0,
        gt=0,
        le=1,
        description="Bus speed as a share of `travel.drive_kmh` (stops on the way, e.g. 0.8).",
    )

    def max_distance(self, level: str) -> float | None:
        return self.primary_max_distance_m if level == "primary" else self.junior_max_distance_m

    def max_minutes(self, level: str) -> float | None:
        return self.primary_max_minutes if level == "primary" else self.junior_max_minutes

    def levels(self) -> tuple[str, ...]:
        """The levels a bus runs for."""
        return tuple(lvl for lvl in LEVELS if self.max_distance(lvl) is not None)


class Rules(_Strict):
    """National limits (DOMAIN.md); change only for local standards."""

    class_size_primary: int = Field(45, gt=0, description="Students per primary class, at most.")
    class_size_junior: int = Field(50, gt=0, description="Students per junior class, at most.")
    max_students: int = Field(2000, gt=0, description="Students per primary or junior school.")
    max_students_nine_year: int = Field(2500, gt=0, description="Students per nine-year school.")
    max_classes_primary: int | None = Field(
        24, gt=0, description="Classes per primary school (Jilin standard); null: no limit."
    )
    max_classes_junior: int | None = Field(
        30, gt=0, description="Classes per independent junior school; null: no limit."
    )
    max_classes_nine_year: int | None = Field(
        36, gt=0, description="Classes per nine-year school; null: no limit."
    )
    min_students: int = Field(
        0,
        ge=0,
        description="A school kept open must have at least this many students (e.g. 100); "
        "0: no minimum. Protected schools are exempt.",
    )
    protected_schools: list[str] = Field(
        default_factory=list,
        description="School ids that must stay open whatever their size (remote teaching "
        "points); adds to the schools layer's optional `protected` column.",
    )
    allow_unassigned: bool = Field(
        False,
        description="If true, villages that no school can reach within the limits are left "
        "unassigned and reported; if false (default) the run stops and lists them.",
    )
    teaching_point_top_grade: int | None = Field(
        None,
        ge=1,
        le=5,
        description="Highest grade teaching points (教学点) teach: a village that can reach one "
        "sends grades 1..N there or to a full primary / nine-year school, and grades N+1..6 to "
        "a full school within reach (grades split by the share N/6 of its primary children); "
        "null: a teaching point teaches all six grades like a small primary school.",
    )

    def class_size(self, level: str) -> int:
        """Students per class of a demand level (``primary_lower`` / ``primary_upper``, the
        grades of a teaching point's villages, count as primary)."""
        primary = level.split("_")[0] == "primary"
        return self.class_size_primary if primary else self.class_size_junior

    def max_classes(self, school_level: str) -> int | None:
        """Class-count limit of a school of ``school_level`` (teaching points as primary)."""
        if school_level == "nine_year":
            return self.max_classes_nine_year
        return self.max_classes_junior if school_level == "junior" else self.max_classes_primary

    def max_students_of(self, school_level: str) -> int:
        return self.max_students_nine_year if school_level == "nine_year" else self.max_students


class Expansion(_Strict):
    """Adding classrooms to existing schools (扩建)."""

    max_classrooms: int = Field(
        0, ge=0, description="Classrooms that may be added to one school; 0: no expansion."
    )
    cost_per_classroom_wan: float = Field(
        120.0, ge=0, description="Cost of one added classroom with its share of space, 万元."
    )
    teaching_points: bool = Field(
        False,
        description="Whether the optimizer may also expand teaching points (教学点); by default "
        "they keep their rooms (they are not meant to grow into full schools). A planner's own "
        "`expand` action applies either way.",
    )


class SchoolType(_Strict):
    """A standard new-school design that can be built at a candidate site."""

    id: str = Field(description="Short code, e.g. P24.")
    level: Literal["primary", "junior", "nine_year"]
    classes: int = Field(gt=0, description="Classrooms (= classes) the design provides.")
    build_cost_wan: float = Field(ge=0, description="Build cost, 10,000 yuan (万元).")
    land_m2: float | None = Field(None, gt=0, description="Land the design needs, m².")


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
    budget_wan: float | None = Field(
        None,
        ge=0,
        description="Budget: building plus expansion cost (plus bus riders' and boarders' cost "
        "when `budget_includes_transport`) may not exceed it; null: no budget.",
    )
    budget_includes_transport: bool = Field(
        True,
        description="Count the school-bus and boarding costs of the plan against `budget_wan` "
        "as well as building and expansion.",
    )
    capital_in_objective: bool = Field(
        True,
        description="Weigh building and expansion costs in the objective (true), or only "
        "limit them by `budget_wan` (false: then set a budget).",
    )


class DemandSettings(_Strict):
    """Children per village derived from census age bands (when the villages layer has no
    children columns, or to replace them)."""

    census: Path | None = Field(
        None,
        description="CSV with one wide age-band row per area (columns such as 男_5到9岁, "
        "女_5到9岁); null: children are read from the villages layer.",
    )
    census_area: str | None = Field(
        None, description="Column of the census CSV naming each row's area; null: one row."
    )
    census_population: str = Field(
        "人口数_合计", description="Census column with each area's total population, persons."
    )
    shares_by: str | None = Field(
        None, description="Villages column naming each village's census area (e.g. township)."
    )
    population: str = Field("population", description="Villages column with resident persons.")
    source: str = Field("", description="Where the census row comes from (written to outputs).")


class ProjectionSettings(_Strict):
    """Children projected to a target year (needs `demand.census` for the age profile)."""

    base_year: int | None = Field(None, description="Year of the demand data; null: no projection.")
    target_year: int | None = Field(None, description="Year whose children the plan uses.")
    births: dict[int, float] | None = Field(
        None, description="County births per year (persons) after the base year."
    )
    birth_change: float = Field(
        0.0, ge=-1, description="Yearly relative change of births when not given, e.g. -0.03."
    )
    urban_transfer: float = Field(
        0.0, ge=0, le=1, description="Share of rural children moving to towns each year."
    )
    urban_column: str = Field("urban", description="Yes/no villages column marking towns.")

    @model_validator(mode="after")
    def _years(self) -> ProjectionSettings:
        if (self.base_year is None) != (self.target_year is None):
            raise ValueError("give both base_year and target_year, or neither")
        if self.base_year is not None and self.target_year < self.base_year:  # type: ignore[operator]
            raise ValueError(f"target_year {self.target_year} is before base_year {self.base_year}")
        return self


class CandidateSettings(_Strict):
    """Candidate sites generated where the children are (weighted k-means)."""

    generate_primary: int = Field(0, ge=0, description="Sites from primary children; 0: none.")
    generate_junior: int = Field(0, ge=0, description="Sites from junior children; 0: none.")
    min_spacing_m: float = Field(1000.0, gt=0, description="Metres between any two sites.")
    reach_m: float | None = Field(
        None, gt=0, description="Metres a big cluster's extra sites may lie from its centre."
    )
    seed: int = Field(0, description="Seed of the k-means starts.")


class Phasing(_Strict):
    """Plans over several target years (先建后撤: build before closing)."""

    years: list[int] = Field(
        default_factory=list,
        description="Target years, e.g. [2026, 2028, 2030]; empty: one plan for today's (or "
        "the projection's target year's) children. Children per year come from `projection` "
        "when set, else stay as today.",
    )

    @model_validator(mode="after")
    def _sorted(self) -> Phasing:
        if self.years != sorted(set(self.years)):
            raise ValueError(f"phasing.years must increase without repeats, found {self.years}")
        return self


class Balance(_Strict):
    """Balance between schools (校际均衡): coefficient of variation of the seven resource
    indicators across schools (教督〔2017〕6号)."""

    max_cv_primary: float = Field(0.50, gt=0, description="National limit for primary schools.")
    max_cv_junior: float = Field(0.45, gt=0, description="National limit for junior schools.")
    target_cv: float | None = Field(
        None, gt=0, description="A stricter local target, e.g. 0.30 (Wenzhou); null: none."
    )
    nine_year_junior_weight: float = Field(
        1.1,
        gt=0,
        description="Weight of a junior student when a nine-year school's resources are split "
        "between levels; 1.0: plain student share.",
    )
    min_teaching_point_students: int = Field(
        0, ge=0, description="Leave teaching points with fewer students out (Hebei uses 50)."
    )


class CatchmentSettings(_Strict):
    """Catchment polygons (学区)."""

    repair_contiguity: bool = Field(
        True,
        description="Move exclave villages to the surrounding catchment's school when that is "
        "no farther by road and the school has room; exclaves are reported either way.",
    )


class Handoff(_Strict):
    """The land-use hand-off (new and closed sites)."""

    land_m2_per_student_primary: float = Field(
        20.0, gt=0, description="Land per primary place when a design has no land_m2, m²."
    )
    land_m2_per_student_junior: float = Field(
        25.0, gt=0, description="Land per junior place when a design has no land_m2, m²."
    )


class SolverSettings(_Strict):
    """MIP solver settings."""

    name: Literal["highs", "cbc"] = "highs"
    time_limit_s: float = Field(300.0, gt=0, description="Wall-clock limit, seconds.")
    mip_gap: float = Field(
        0.0, ge=0, lt=1, description="Relative gap at which to stop; 0 asks for a proven optimum."
    )
    threads: int | None = Field(None, gt=0, description="Solver threads; default: solver's own.")
    strategy: Literal["auto", "mip"] = Field(
        "auto",
        description="auto: bounds, heuristics and proven reductions around the MIP "
        "(planning.optimize), the MIP alone where they do not apply; mip: the full MIP only.",
    )


class Close(_Strict):
    """Close school ``close``; its children go wherever the plan sends them."""

    close: str = Field(description="School id.")


class Merge(_Strict):
    """Close school ``merge`` and send the children it serves today to school ``into``."""

    merge: str = Field(description="School id to close.")
    into: str = Field(description="School id that receives its children (kept open).")


class Build(_Strict):
    """Build a school of type ``build`` at candidate site ``at``, or at ``lon``/``lat``."""

    build: str = Field(description="Id of one of `new_school_types`.")
    at: str | None = Field(None, description="Candidate site id.")
    lon: float | None = Field(None, ge=-180, le=180, description="Longitude (WGS-84).")
    lat: float | None = Field(None, ge=-90, le=90, description="Latitude (WGS-84).")
    name: str | None = Field(None, description="Name of the new school (at coordinates).")
    year: int | None = Field(
        None, description="First target year the school is open (with `phasing.years`)."
    )

    @model_validator(mode="after")
    def _one_place(self) -> Build:
        if (self.at is None) == (self.lon is None or self.lat is None):
            raise ValueError("give either `at` (a candidate site id) or both `lon` and `lat`")
        return self


class Expand(_Strict):
    """Add ``classrooms`` classrooms to school ``expand`` (kept open)."""

    expand: str = Field(description="School id.")
    classrooms: int = Field(gt=0, description="Classrooms to add.")


class Keep(_Strict):
    """Keep school ``keep`` open whatever the optimizer would prefer."""

    keep: str = Field(description="School id.")


class Assign(_Strict):
    """Send village ``assign``'s children to school ``to`` (for ``level``, or every level the
    school teaches)."""

    assign: str = Field(description="Village id.")
    to: str = Field(description="School id (existing, or a candidate site built by an action).")
    level: Literal["primary", "junior"] | None = None


class Forbid(_Strict):
    """Never build at candidate site ``forbid``."""

    forbid: str = Field(description="Candidate site id.")


_VERBS = ("close", "merge", "build", "expand", "keep", "assign", "forbid")


def _verb(value: Any) -> str | None:
    if isinstance(value, dict):
        return next((k for k in _VERBS if k in value), None)
    return next((k for k in _VERBS if hasattr(value, k)), None)


Action = Annotated[
    Annotated[Close, Tag("close")]
    | Annotated[Merge, Tag("merge")]
    | Annotated[Build, Tag("build")]
    | Annotated[Expand, Tag("expand")]
    | Annotated[Keep, Tag("keep")]
    | Annotated[Assign, Tag("assign")]
    | Annotated[Forbid, Tag("forbid")],
    Discriminator(
        _verb,
        custom_error_type="unknown_action",
        custom_error_message=f"an action starts with one of: {', '.join(_VERBS)}",
    ),
]


class Scenario(_Strict):
    """One planning scenario."""

    name: str = Field(description="Shown in map titles and reports.")
    description: str = ""
    data: DataPaths
    mode: Literal["optimize", "evaluate"] = Field(
        "optimize",
        description="optimize: the optimizer decides, with `actions` as fixed decisions; "
        "evaluate: apply `actions` only, every village to its nearest open school, and report.",
    )
    actions: list[Action] = Field(default_factory=list, description="The planner's decisions.")
    sweep: dict[str, list[Any]] = Field(
        default_factory=dict,
        description="For `schoolplan batch`: setting path -> values to try, e.g. "
        "{rules.class_size_primary: [40, 45], travel.primary.max_distance_m: [2500, 3000]}; "
        "the batch runs every combination. Ignored by `run`.",
    )
    travel: Travel = Travel()
    rules: Rules = Rules()
    new_school_types: list[SchoolType] = Field(default_factory=list)
    expansion: Expansion = Expansion()
    boarding: Boarding = Boarding()
    school_bus: SchoolBus = Field(
        default_factory=SchoolBus,
        description="School bus (校车), off by default. A trip within the daily limit is "
        "walked (or cycled), one beyond it but within the bus limit is a bus ride, one beyond "
        "the bus limit a boarder's (see `boarding`); the optimizer weighs rider and boarder "
        "costs when it picks each village's school.",
    )
    costs: Costs = Costs()
    demand: DemandSettings = DemandSettings()
    projection: ProjectionSettings = ProjectionSettings()
    candidates: CandidateSettings = CandidateSettings()
    phasing: Phasing = Phasing()
    balance: Balance = Balance()
    catchments: CatchmentSettings = CatchmentSettings()
    handoff: Handoff = Handoff()
    solver: SolverSettings = SolverSettings()

    @model_validator(mode="after")
    def _unique_type_ids(self) -> Scenario:
        ids = [t.id for t in self.new_school_types]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"new_school_types: duplicate id(s) {dupes}")
        types = {t.id for t in self.new_school_types}
        for n, act in enumerate(self.actions):
            if isinstance(act, Build) and act.build not in types:
                raise ValueError(
                    f"actions[{n}]: unknown school type {act.build!r}; "
                    f"new_school_types has {sorted(types)}"
                )
        if self.rules.teaching_point_top_grade is not None and self.phasing.years:
            raise ValueError(
                "rules.teaching_point_top_grade is not supported with phasing.years yet: "
                "plan the target years one scenario each"
            )
        if self.projection.base_year is not None and self.demand.census is None:
            raise ValueError("projection needs demand.census (the age profile comes from it)")
        _check_bus(self)
        if not self.costs.capital_in_objective and self.costs.budget_wan is None:
            raise ValueError(
                "costs.capital_in_objective is false but costs.budget_wan is not set: "
                "nothing would limit building"
            )
        return self


def _check_bus(scenario: Scenario) -> None:
    """The school bus must extend the daily trip of a walking (or cycling) level and stop
    short of the boarding limit."""
    bus, travel, board = scenario.school_bus, scenario.travel, scenario.boarding
    for lvl in LEVELS:
        far = bus.max_distance(lvl)
        if far is None:
            if bus.max_minutes(lvl) is not None:
                raise ValueError(
                    f"school_bus.{lvl}_max_minutes is set but {lvl}_max_distance_m is not: "
                    "give the bus a distance limit too"
                )
            continue
        daily = travel.of(lvl)
        if daily.mode == "drive":
            raise ValueError(
                f"school_bus.{lvl}_max_distance_m is set but travel.{lvl}.mode is drive: that "
                f"level already rides every day; set travel.{lvl}.mode to walk for walkers "
                "plus bus riders"
            )
        if far <= daily.max_distance_m:
            raise ValueError(
                f"school_bus.{lvl}_max_distance_m ({far:g} m) must exceed the daily limit "
                f"travel.{lvl}.max_distance_m ({daily.max_distance_m:g} m)"
            )
        stay = board.max_distance(lvl)
        if stay is not None and stay <= far:
            raise ValueError(
                f"boarding.{lvl}_max_distance_m ({stay:g} m) must exceed "
                f"school_bus.{lvl}_max_distance_m ({far:g} m): children board only beyond "
                "the bus limit"
            )


DATA_FILES = ("schools", "villages", "boundary", "candidates", "roads")


def load_scenario(path: str | Path) -> Scenario:
    """Read, check and resolve a scenario file.

    Raises
    ------
    InputError
        Listing every problem: YAML syntax (with line), unknown keys (with a suggestion),
        wrong types or values, missing data files.
    """
    path = Path(path)
    raw = _resolve_extends(path, seen=())
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as exc:
        raise InputError(_problems(exc, str(path))) from None
    data = scenario.data.model_copy(
        update={
            k: (path.parent / v).resolve()
            for k, v in scenario.data.model_dump().items()
            if v is not None and k in DATA_FILES
        }
    )
    census = scenario.demand.census
    demand = scenario.demand
    if census is not None:
        demand = demand.model_copy(update={"census": (path.parent / census).resolve()})
    files = {f"data.{k}": getattr(data, k) for k in DATA_FILES} | {"demand.census": demand.census}
    missing = [
        Problem(str(path), f"file not found: {v}", field=k)
        for k, v in files.items()
        if v is not None and not Path(v).exists()
    ]
    if missing:
        raise InputError(missing)
    return scenario.model_copy(update={"data": data, "demand": demand})


def _resolve_extends(path: Path, *, seen: tuple[Path, ...]) -> dict[str, Any]:
    """Read ``path``; if it has ``extends: parent.yaml``, deep-merge it over the parent.

    Relative ``data`` paths of the parent are read relative to the parent's folder.
    """
    raw = _read_yaml(path)
    parent_name = raw.pop("extends", None)
    if parent_name is None:
        return raw
    parent = (path.parent / str(parent_name)).resolve()
    if parent in seen or parent == path.resolve():
        raise InputError([Problem(str(path), f"'extends' loops back to {parent}", field="extends")])
    if not parent.exists():
        raise InputError([Problem(str(path), f"file not found: {parent}", field="extends")])
    base = _resolve_extends(parent, seen=(*seen, path.resolve()))
    for key, value in base.get("data", {}).items():
        if value is not None and key in DATA_FILES:  # relative to the parent's folder
            base["data"][key] = str((parent.parent / str(value)).resolve())
    census = base.get("demand", {}).get("census")
    if census is not None:
        base["demand"]["census"] = str((parent.parent / str(census)).resolve())
    return deep_merge(base, raw)


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``override`` over ``base``: mappings merge key by key, anything else replaces."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


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
