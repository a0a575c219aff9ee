"""Catchments (学区): village areas dissolved per school and level, and their contiguity.

A catchment is the union of its villages' areas (Voronoi cells of the village points). When a
school's catchment falls into several pieces, the villages in the detached pieces are exclaves
(飞地): :func:`find_exclaves` lists them with the school whose catchment surrounds them, and
:func:`repair_contiguity` moves each one to that school when the road network does not make its
own school the shorter trip and the surrounding school has places (:func:`capacity_slack`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from planning.scenario import LEVELS


def village_areas(villages: gpd.GeoDataFrame, boundary: gpd.GeoDataFrame) -> gpd.GeoSeries:
    """Voronoi cells of the village points, clipped to the boundary, indexed like ``villages``."""
    area = boundary.union_all()
    points = shapely.MultiPoint(villages.geometry.to_numpy())
    cells = shapely.get_parts(
        shapely.voronoi_polygons(points, extend_to=area.envelope.buffer(1000.0), ordered=True)
    )
    if len(cells) != len(villages):  # coincident points share one cell
        cells = _cells_by_location(villages, cells)
    clipped = shapely.intersection(cells, area)
    return gpd.GeoSeries(clipped, index=villages.index, crs=villages.crs)


def _cells_by_location(villages: gpd.GeoDataFrame, cells: np.ndarray) -> np.ndarray:
    cell_gdf = gpd.GeoDataFrame(geometry=list(cells), crs=villages.crs)
    hit = gpd.sjoin(villages[["geometry"]], cell_gdf, predicate="within", how="left")
    hit = hit[~hit.index.duplicated()]
    return cell_gdf.geometry.to_numpy()[hit["index_right"].fillna(0).astype(int).to_numpy()]


def catchments(villages: gpd.GeoDataFrame, areas: gpd.GeoSeries) -> gpd.GeoDataFrame:
    """One (multi)polygon per open school and level from ``school_<level>`` columns.

    Columns: ``school_id, level, villages, students, geometry``.
    """
    frames = []
    for lvl in LEVELS:
        col = f"school_{lvl}"
        served = villages[villages[col].notna()]
        if served.empty:
            continue
        g = gpd.GeoDataFrame(
            {
                "school_id": served[col].to_numpy(),
                "students": served[f"children_{lvl}"].to_numpy(),
            },
            geometry=areas.loc[served.index].to_numpy(),
            crs=villages.crs,
        )
        d = g.dissolve(by="school_id", aggfunc={"students": "sum"})
        d["villages"] = g.groupby("school_id").size()
        d["level"] = lvl
        frames.append(d.reset_index())
    if not frames:
        return gpd.GeoDataFrame(
            columns=["school_id", "level", "villages", "students", "geometry"],
            geometry="geometry",
            crs=villages.crs,
        )
    out = pd.concat(frames, ignore_index=True)
    out["students"] = out["students"].astype(int)
    return gpd.GeoDataFrame(
        out[["school_id", "level", "villages", "students", "geometry"]],
        geometry="geometry",
        crs=villages.crs,
    )


# -- contiguity: exclaves of a catchment and their repair ------------------------------------------

EXCLAVE_COLUMNS = (
    "village_id",
    "level",
    "school_id",
    "students",
    "part",
    "owner_id",
    "touches_owner",
)
"""Columns of :func:`find_exclaves` (before :func:`repair_contiguity` adds its judgement)."""

_EPS_M = 1.0  # shorter shared borders (metres) count as touching at a point only


@dataclass(frozen=True)
class ContiguityRepair:
    """What :func:`repair_contiguity` changed and what it left.

    Attributes
    ----------
    assignment
        The assignment after the repair (same columns as the one given).
    changes
        One row per village moved: ``village_id, level, from_school, to_school, students,
        distance_from_m, distance_to_m, round``.
    exclaves
        The exclave villages that remain, with ``status``: ``allowed`` (its own school is no
        farther by road than the surrounding catchment's school, or that school is out of
        reach), ``no_capacity``, ``beyond_limit`` (the surrounding school is beyond the travel
        limit), ``not_adjacent`` (inside a multi-village exclave whose border villages could not
        move), ``min_size`` (its school would fall under the minimum size) or
        ``no_neighbour`` (the exclave borders no other catchment of the level);
        distances in metres.
    """

    assignment: pd.DataFrame
    changes: pd.DataFrame
    exclaves: pd.DataFrame


def assignment_from_villages(villages: pd.DataFrame) -> pd.DataFrame:
    """The long assignment ``village_id, level, school_id, students`` of ``Plan.villages``."""
    ids = villages["village_id"] if "village_id" in villages else villages.index.to_series()
    frames = []
    for lvl in LEVELS:
        served = villages[f"school_{lvl}"].notna().to_numpy()
        frames.append(
            pd.DataFrame(
                {
                    "village_id": ids.to_numpy()[served],
                    "level": lvl,
                    "school_id": villages[f"school_{lvl}"].to_numpy()[served],
                    "students": villages[f"children_{lvl}"].to_numpy()[served].astype(int),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def find_exclaves(
    assignment: pd.DataFrame,
    areas: gpd.GeoSeries,
    *,
    level: str,
    sites: gpd.GeoSeries | None = None,
) -> pd.DataFrame:
    """Villages in a detached part of their school's catchment (one level).

    A school's catchment is the union of its villages' areas. When the union has several
    parts, the main part is the one holding the school's site (``sites``), else the one with
    the most students; villages in any other part are exclaves. The owner of an exclave part is
    the school whose catchment shares the longest border with it (point contacts do not count).

    Parameters
    ----------
    assignment : pandas.DataFrame
        ``village_id, level, school_id, students``, one row per served village and level.
    areas : geopandas.GeoSeries
        Village areas indexed by ``village_id`` (:func:`village_areas`), metric CRS.
    level : {"primary", "junior"}
        The level to look at.
    sites : geopandas.GeoSeries, optional
        School points indexed by ``school_id``, same CRS.

    Returns
    -------
    pandas.DataFrame
        :data:`EXCLAVE_COLUMNS`: ``part`` numbers the school's parts (0: main), ``owner_id``
        is None when the part borders no other catchment, ``touches_owner`` says whether the
        village's own area borders the owner's catchment.
    """
    villages = _level_villages(assignment, areas, level)
    part_of, pieces = _parts(villages, sites)
    ex = villages.assign(part=part_of.reindex(villages.index))
    ex = ex[ex["part"] > 0]
    if ex.empty:
        return pd.DataFrame(columns=list(EXCLAVE_COLUMNS))
    whole = villages[["school_id", "geometry"]].dissolve(by="school_id")
    owners = _owners(pieces[pieces["part"] > 0], whole)
    ex = ex.merge(owners, on=["school_id", "part"], how="left")
    owner = ex["owner_id"].astype(object).where(ex["owner_id"].notna(), None)
    owner_geom = whole.geometry.reindex(owner).to_numpy()
    border = shapely.intersection(shapely.boundary(ex.geometry.to_numpy()), owner_geom)
    ex["touches_owner"] = np.nan_to_num(shapely.length(border)) > _EPS_M
    ex["owner_id"] = owner.to_numpy()
    ex["level"] = level
    ex["part"] = ex["part"].astype(int)
    return pd.DataFrame(ex[list(EXCLAVE_COLUMNS)]).reset_index(drop=True)


def _level_villages(assignment: pd.DataFrame, areas: gpd.GeoSeries, level: str) -> gpd.GeoDataFrame:
    a = assignment[(assignment["level"] == level) & assignment["village_id"].isin(areas.index)]
    g = gpd.GeoDataFrame(
        {
            "village_id": a["village_id"].to_numpy(),
            "school_id": a["school_id"].to_numpy(),
            "students": a["students"].to_numpy(),
        },
        geometry=areas.reindex(a["village_id"]).to_numpy(),
        crs=areas.crs,
    )
    g = g[~(g.geometry.isna() | g.geometry.is_empty)]
    return g.set_index("village_id", drop=False).rename_axis(None)


def _parts(
    villages: gpd.GeoDataFrame, sites: gpd.GeoSeries | None
) -> tuple[pd.Series, gpd.GeoDataFrame]:
    """Part number of each village (0: main part), and the parts ``school_id, part, geometry``."""
    pieces = villages[["school_id", "geometry"]].dissolve(by="school_id")
    pieces = pieces.explode(index_parts=False).reset_index()
    pieces["piece"] = np.arange(len(pieces))
    inner = shapely.point_on_surface(villages.geometry.to_numpy())
    points = gpd.GeoDataFrame(villages[["school_id"]], geometry=inner, crs=villages.crs)
    hit = gpd.sjoin(points, pieces, predicate="within", how="inner")
    hit = hit[hit["school_id_left"] == hit["school_id_right"]]
    hit = hit[~hit.index.duplicated()]
    pieces["students"] = (
        villages["students"].groupby(hit["piece"]).sum().reindex(pieces["piece"]).fillna(0).values
    )
    pieces["has_site"] = _has_site(pieces, sites)
    pieces["area"] = pieces.geometry.area
    pieces = pieces.sort_values(
        ["school_id", "has_site", "students", "area"], ascending=[True, False, False, False]
    )
    pieces["part"] = pieces.groupby("school_id").cumcount()
    part_of = hit["piece"].map(pieces.set_index("piece")["part"])
    return part_of, pieces[["school_id", "part", "geometry"]]


def _has_site(pieces: gpd.GeoDataFrame, sites: gpd.GeoSeries | None) -> np.ndarray:
    out = np.zeros(len(pieces), dtype=bool)
    if sites is None:
        return out
    site = sites.reindex(pieces["school_id"]).to_numpy()
    present = ~pd.isna(site)
    out[present] = shapely.covers(pieces.geometry.to_numpy()[present], site[present])
    return out


def _owners(exclave_parts: gpd.GeoDataFrame, whole: gpd.GeoDataFrame) -> pd.DataFrame:
    """``school_id, part, owner_id``: the catchment sharing the longest border with each part."""
    others = gpd.GeoDataFrame(
        {"owner_id": whole.index.to_numpy()}, geometry=whole.geometry.to_numpy(), crs=whole.crs
    )
    pairs = gpd.sjoin(exclave_parts, others, predicate="intersects")
    pairs = pairs[pairs["school_id"] != pairs["owner_id"]]
    owner_geom = others.geometry.to_numpy()[pairs["index_right"].to_numpy()]
    border = shapely.intersection(shapely.boundary(pairs.geometry.to_numpy()), owner_geom)
    pairs = pairs.assign(shared=shapely.length(border))
    pairs = pairs[pairs["shared"] > _EPS_M].sort_values("shared", ascending=False)
    best = pairs.drop_duplicates(["school_id", "part"])[["school_id", "part", "owner_id"]]
    keys = pd.DataFrame(exclave_parts[["school_id", "part"]])
    return keys.merge(best, on=["school_id", "part"], how="left")


def capacity_slack(
    schools: pd.DataFrame,
    assignment: pd.DataFrame,
    *,
    level: str,
    class_size: Mapping[str, int],
    max_classes: Mapping[str, int | None] | None = None,
) -> pd.Series:
    """Students of ``level`` each open school could still take, given ``assignment``.

    A school may take ``x`` more students of ``level`` while its classes (students per level
    divided by the class size, rounded up) fit its ``classrooms`` and its school type's class
    limit, and its students stay within ``max_students``.

    Parameters
    ----------
    schools : pandas.DataFrame
        ``Plan.schools``: index ``school_id``; ``level``, ``decision``, ``classrooms``,
        ``max_students``.
    assignment : pandas.DataFrame
        ``village_id, level, school_id, students``.
    level : {"primary", "junior"}
        The level of the students to place.
    class_size : Mapping[str, int]
        Students per class per level (the scenario's ``rules``).
    max_classes : Mapping[str, int or None], optional
        Class limit per school level (``primary``, ``teaching_point``, ``junior``,
        ``nine_year``); None or missing: no limit beyond the classrooms.

    Returns
    -------
    pandas.Series
        Spare places (students, >= 0), indexed by the ids of the open schools serving ``level``.
    """
    if "school_id" in schools and not schools.index.equals(pd.Index(schools["school_id"])):
        schools = schools.set_index("school_id", drop=False).rename_axis(None)
    serving = schools[(schools["decision"] != "close") & _serves(schools["level"], level)]
    load = assignment.groupby(["school_id", "level"])["students"].sum().unstack()
    load = load.reindex(index=serving.index, columns=list(LEVELS)).fillna(0)
    other = next(lvl for lvl in LEVELS if lvl != level)
    other_classes = np.ceil(load[other] / class_size[other])
    limits = serving["level"].map(lambda k: (max_classes or {}).get(k) or np.inf)
    rooms = np.minimum(serving["classrooms"].astype(float), limits.astype(float)) - other_classes
    by_rooms = rooms * class_size[level] - load[level]
    by_size = serving["max_students"].astype(float) - load[level] - load[other]
    return np.minimum(by_rooms, by_size).clip(lower=0).rename("slack")


def _serves(kind: pd.Series, level: str) -> pd.Series:
    junior = kind.isin(["junior", "nine_year"])
    primary = kind.isin(["primary", "teaching_point", "nine_year"])
    return junior if level == "junior" else primary


def repair_contiguity(
    assignment: pd.DataFrame,
    areas: gpd.GeoSeries,
    costs: pd.DataFrame,
    *,
    level: str,
    slack: Mapping[str, float] | pd.Series,
    max_distance_m: float,
    max_minutes: float | None = None,
    sites: gpd.GeoSeries | None = None,
    min_students: float = 0.0,
    protected: Collection[str] = (),
    max_rounds: int = 20,
) -> ContiguityRepair:
    """Move exclave villages to the school around them, where the road network allows it.

    An exclave village (:func:`find_exclaves`) is **allowed** when its own school is no farther
    by road than the owner's school (the school whose catchment surrounds the exclave), or the
    owner is not in the cost table. Otherwise it moves to the owner when its area borders the
    owner's catchment, the owner has spare places for its students (``slack``, used up in
    order of the distance saved), the trip is within the limits and its school keeps at least
    ``min_students`` (both levels). Moves repeat in rounds,
    since moving the border villages of a larger exclave brings the inner ones next to the
    owner; each move shortens the village's trip, so the rounds end.

    Parameters
    ----------
    assignment : pandas.DataFrame
        ``village_id, level, school_id, students``; an ``option_id`` column (the pipeline's)
        is set to the new school's option, other columns are kept.
    areas : geopandas.GeoSeries
        Village areas indexed by ``village_id`` (:func:`village_areas`).
    costs : pandas.DataFrame
        Travel of ``level``: ``village_id, site_id, distance_m`` (metres) and, with
        ``max_minutes``, ``minutes``.
    level : {"primary", "junior"}
        The level to repair.
    slack : Mapping[str, float] or pandas.Series
        Spare places per school id, students of ``level`` (:func:`capacity_slack`); schools
        not listed take nobody.
    max_distance_m : float
        Longest allowed trip, metres.
    max_minutes : float, optional
        Longest allowed trip, minutes.
    sites : geopandas.GeoSeries, optional
        School points by ``school_id``, to find each catchment's main part.
    min_students : float
        Students (both levels) a school must keep when villages leave it (the scenario's
        ``rules.min_students``); 0: no minimum.
    protected : Collection[str]
        Schools exempt from ``min_students``.
    max_rounds : int
        Safety bound on the rounds.

    Returns
    -------
    ContiguityRepair
        The new assignment, the moves and the exclaves left with their reasons.
    """
    spare = pd.Series(slack, dtype=float).to_dict()
    losable = _losable(assignment, min_students, protected)
    trip = costs.set_index(["village_id", "site_id"])
    current = assignment.copy()
    changes = []
    judged = pd.DataFrame()
    for step in range(1, max_rounds + 1):
        ex = find_exclaves(current, areas, level=level, sites=sites)
        judged = _judge(ex, trip, (spare, losable), max_distance_m, max_minutes)
        moves = judged[judged["status"] == "repair"]
        if moves.empty:
            break
        current = _apply(current, moves, level)
        for school, change in moves.groupby("school_id")["students"].sum().items():
            spare[str(school)] = spare.get(str(school), 0.0) + float(change)
        for school, change in moves.groupby("owner_id")["students"].sum().items():
            losable[str(school)] = losable.get(str(school), np.inf) + float(change)
        changes.append(_change_rows(moves, step))
    return ContiguityRepair(
        assignment=current,
        changes=pd.concat(changes, ignore_index=True) if changes else _no_changes(),
        exclaves=judged[judged["status"] != "repair"].reset_index(drop=True),
    )


def _losable(
    assignment: pd.DataFrame, min_students: float, protected: Collection[str]
) -> dict[str, float]:
    """Students each school may lose before it falls under ``min_students``."""
    if min_students <= 0:
        return {}
    totals = assignment.groupby("school_id")["students"].sum().astype(float)
    room = (totals - min_students).clip(lower=0)
    room[room.index.isin(list(protected))] = np.inf
    return {str(k): float(v) for k, v in room.items()}


def _judge(
    ex: pd.DataFrame,
    trip: pd.DataFrame,
    room: tuple[dict[str, float], dict[str, float]],
    max_distance_m: float,
    max_minutes: float | None,
) -> pd.DataFrame:
    """Add distances and ``status`` (``repair`` or the reason to stay) to the exclave table.

    ``room`` is (spare places per school, students each school may lose); both are used up
    in this call for the villages marked ``repair``.
    """
    ex = ex.copy()
    own = pd.MultiIndex.from_arrays([ex["village_id"], ex["school_id"]])
    alt = pd.MultiIndex.from_arrays([ex["village_id"], ex["owner_id"]])
    ex["distance_own_m"] = trip["distance_m"].reindex(own).to_numpy()
    ex["distance_owner_m"] = trip["distance_m"].reindex(alt).to_numpy()
    minutes = trip["minutes"].reindex(alt).to_numpy() if max_minutes is not None else None
    ex["status"] = "no_capacity"
    far = ex["distance_owner_m"] > max_distance_m + 1e-6
    if minutes is not None:
        far |= minutes > max_minutes + 1e-6  # type: ignore[operator]
    allowed = ex["distance_owner_m"].isna() | (ex["distance_own_m"] <= ex["distance_owner_m"])
    ex.loc[~ex["touches_owner"].astype(bool), "status"] = "not_adjacent"
    ex.loc[far, "status"] = "beyond_limit"
    ex.loc[ex["owner_id"].isna(), "status"] = "no_neighbour"
    ex.loc[allowed & ex["owner_id"].notna(), "status"] = "allowed"
    takes, keeps = _fits(ex[ex["status"] == "no_capacity"], *room)
    ex.loc[takes.difference(keeps), "status"] = "min_size"
    ex.loc[takes.intersection(keeps), "status"] = "repair"
    return ex


def _fits(
    candidates: pd.DataFrame, spare: dict[str, float], losable: dict[str, float]
) -> tuple[pd.Index, pd.Index]:
    """Candidates the owner can take, and those their school can lose, most distance saved
    first; the moves that pass both use up ``spare`` and ``losable``."""
    if candidates.empty:
        return candidates.index, candidates.index
    gain = candidates["distance_own_m"] - candidates["distance_owner_m"]
    order = candidates.assign(gain=gain).sort_values("gain", ascending=False, kind="stable")
    room = order["owner_id"].map(lambda s: spare.get(str(s), 0.0))
    can_lose = order["school_id"].map(lambda s: losable.get(str(s), np.inf))
    takes = order.index[order.groupby("owner_id")["students"].cumsum() <= room]
    keeps = order.index[order.groupby("school_id")["students"].cumsum() <= can_lose]
    moved = order.loc[takes.intersection(keeps)]
    for owner, used in moved.groupby("owner_id")["students"].sum().items():
        spare[str(owner)] = spare.get(str(owner), 0.0) - float(used)
    for school, lost in moved.groupby("school_id")["students"].sum().items():
        losable[str(school)] = losable.get(str(school), np.inf) - float(lost)
    return takes, keeps


def _apply(assignment: pd.DataFrame, moves: pd.DataFrame, level: str) -> pd.DataFrame:
    """Reassign the moved villages; an ``option_id`` column follows the new school."""
    target = moves.set_index("village_id")["owner_id"]
    rows = (assignment["level"] == level) & assignment["village_id"].isin(target.index)
    out = assignment.copy()
    to_school = assignment.loc[rows, "village_id"].map(target)
    out.loc[rows, "school_id"] = to_school.to_numpy()
    if "option_id" in out:
        same = assignment[assignment["level"] == level].drop_duplicates("school_id")
        out.loc[rows, "option_id"] = to_school.map(same.set_index("school_id")["option_id"])
    return out


def _change_rows(moves: pd.DataFrame, step: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "village_id": moves["village_id"].to_numpy(),
            "level": moves["level"].to_numpy(),
            "from_school": moves["school_id"].to_numpy(),
            "to_school": moves["owner_id"].to_numpy(),
            "students": moves["students"].to_numpy(),
            "distance_from_m": moves["distance_own_m"].to_numpy(),
            "distance_to_m": moves["distance_owner_m"].to_numpy(),
            "round": step,
        }
    )


def _no_changes() -> pd.DataFrame:
    cols = ["village_id", "level", "school_id", "owner_id", "students"]
    return _change_rows(pd.DataFrame(columns=[*cols, "distance_own_m", "distance_owner_m"]), 0)
