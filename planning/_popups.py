"""What a click on the map shows: the HTML of school and village popups.

Every visible word comes from :mod:`planning.i18n`; every value from the data is escaped (by
:func:`planning._html.table` or :func:`planning._html.esc`) before it becomes HTML.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import numpy as np
import pandas as pd

from planning._html import esc, table
from planning.i18n import STRINGS, t

__all__ = ["MISSING", "label", "school_popup", "school_travel", "village_popup"]

LEVELS: Final = ("primary", "junior")
MISSING: Final = "–"
LEVELS_TAUGHT: Final[dict[str, tuple[str, ...]]] = {
    "primary": ("primary",),
    "teaching_point": ("primary",),
    "junior": ("junior",),
    "nine_year": ("primary", "junior"),
}


def label(prefix: str, value: object, lang: str) -> str:
    """Translate a coded value (``level_nine_year``...); show unknown codes as they are."""
    key = f"{prefix}_{value}"
    return t(key, lang) if key in STRINGS else str(value)


def text(value: object) -> str:
    """Text of a data value, or a dash when missing."""
    return MISSING if value is None or pd.isna(value) else str(value)  # type: ignore[arg-type]


def count(value: object) -> int:
    """A whole count; a missing value counts as 0."""
    return 0 if value is None or pd.isna(value) else int(value)  # type: ignore[arg-type, call-overload]


def number(value: object, digits: int) -> str:
    """A number with `digits` decimals and thousands separators, or a dash when missing."""
    if value is None or pd.isna(value):  # type: ignore[arg-type]
        return MISSING
    return f"{float(value):,.{digits}f}"  # type: ignore[arg-type]


def school_travel(villages: pd.DataFrame) -> dict[tuple[str, str], dict[str, float]]:
    """Travel of each school's students, per level, weighted by children.

    Parameters
    ----------
    villages : pandas.DataFrame
        The plan's villages: ``school_<level>``, ``children_<level>``, ``distance_m_<level>``
        and ``minutes_<level>`` per level.

    Returns
    -------
    dict
        ``(school_id, level)`` -> ``students``, ``mean_km``, ``max_km``, ``mean_min`` and
        ``max_min`` (kilometres and minutes), ``bus_riders`` and ``boarders`` (students; 0
        when the table has no ``bus_<level>`` / ``boarding_<level>`` column).
    """
    out: dict[tuple[str, str], dict[str, float]] = {}
    for level in LEVELS:
        served = villages[villages[f"school_{level}"].notna()]
        w = served[f"children_{level}"].fillna(0).clip(lower=0).to_numpy(dtype=float)
        km = served[f"distance_m_{level}"].to_numpy(dtype=float) / 1000
        mins = served[f"minutes_{level}"].to_numpy(dtype=float)
        parts = pd.DataFrame(
            {
                "sid": served[f"school_{level}"].astype(str).to_numpy(),
                "w": w,
                "wkm": w * km,
                "wmin": w * mins,
                "km": np.where(w > 0, km, np.nan),
                "min": np.where(w > 0, mins, np.nan),
                "bus": w * _flag(served, f"bus_{level}"),
                "board": w * _flag(served, f"boarding_{level}"),
            }
        )
        grouped = parts.groupby("sid").agg(
            w=("w", "sum"), wkm=("wkm", "sum"), wmin=("wmin", "sum"), km=("km", "max"),
            mins=("min", "max"), bus=("bus", "sum"), board=("board", "sum"),
        )  # fmt: skip
        for sid, row in grouped[grouped["w"] > 0].iterrows():
            out[(str(sid), level)] = {
                "students": float(row["w"]),
                "mean_km": float(row["wkm"] / row["w"]),
                "max_km": float(row["km"]),
                "mean_min": float(row["wmin"] / row["w"]),
                "max_min": float(row["mins"]),
                "bus_riders": float(row["bus"]),
                "boarders": float(row["board"]),
            }
    return out


def _flag(table: pd.DataFrame, column: str) -> np.ndarray:
    """A yes/no column as 0/1 floats; all 0 when the table has no such column."""
    if column not in table:
        return np.zeros(len(table))
    return table[column].eq(True).to_numpy(dtype=float)


def _levels_shown(row: Mapping[str, Any]) -> list[str]:
    """The levels a school teaches, or has students or classes of."""
    shown = []
    for level in LEVELS:
        numbers = [row.get(f"students_{level}{s}") for s in ("", "_before")]
        numbers += [row.get(f"classes_{level}{s}") for s in ("", "_before")]
        if level in LEVELS_TAUGHT.get(str(row.get("level")), ()) or any(count(n) for n in numbers):
            shown.append(level)
    return shown


def _before_after(row: Mapping[str, Any], level: str, lang: str) -> list[tuple[str, str, str]]:
    """Students, classes and average class size of one level, before and after the plan."""
    exists = {"before": row["decision"] != "new", "after": row["decision"] != "close"}
    cells: dict[str, list[str]] = {}
    for when, suffix in (("before", "_before"), ("after", "")):
        students = row.get(f"students_{level}{suffix}")
        classes = row.get(f"classes_{level}{suffix}")
        if not exists[when]:
            cells[when] = [MISSING] * 3
            continue
        size = count(students) / count(classes) if count(classes) else None
        cells[when] = [number(students, 0), number(classes, 0), number(size, 1)]
    name = t(f"level_{level}", lang)
    keys = ("popup_students", "popup_classes", "popup_class_size")
    return [
        (t(key, lang, level=name), cells["before"][i], cells["after"][i])
        for i, key in enumerate(keys)
    ]


def _utilisation(row: Mapping[str, Any], lang: str) -> list[tuple[str, str, str]]:
    """Classrooms and the share of them in use, before and after.

    ``classrooms`` counts the rooms after the plan; ``classrooms_added`` (optional) those the
    plan adds to an expanded school.
    """
    exists_before, exists_after = row["decision"] != "new", row["decision"] != "close"
    rooms, added = count(row.get("classrooms")), count(row.get("classrooms_added"))
    used = sum(count(row.get(f"classes_{level}_before")) for level in LEVELS)
    use = row.get("utilisation")
    before = f"{used / (rooms - added):.0%}" if exists_before and rooms > added else MISSING
    after = MISSING if not exists_after or use is None or pd.isna(use) else f"{float(use):.0%}"
    rows = [
        (
            t("popup_classrooms", lang),
            number(rooms - added, 0) if exists_before else MISSING,
            number(rooms, 0) if exists_after else MISSING,
        ),
        (t("popup_utilisation", lang), before, after),
    ]
    if added:
        rows.insert(1, (t("popup_classrooms_added", lang), "", f"+{added:,}"))
    return rows


def _travel_table(
    sid: str, levels: list[str], travel: Mapping[tuple[str, str], Mapping[str, float]], lang: str
) -> str:
    """Students' travel to this school after the plan, per level: mean and longest."""
    rows = []
    for level in levels:
        stats = travel.get((sid, level))
        if stats is None:
            continue
        mean = t(
            "popup_km_min",
            lang,
            km=number(stats["mean_km"], 1),
            minutes=number(stats["mean_min"], 0),
        )
        longest = t(
            "popup_km_min", lang, km=number(stats["max_km"], 1), minutes=number(stats["max_min"], 0)
        )
        rows.append((t(f"level_{level}", lang), mean, longest))
    if not rows:
        return ""
    header = (t("popup_travel", lang), t("popup_mean", lang), t("popup_longest", lang))
    return table(rows, header=header, css_class="before-after") + _transport_table(
        sid, levels, travel, lang
    )


def _transport_table(
    sid: str, levels: list[str], travel: Mapping[tuple[str, str], Mapping[str, float]], lang: str
) -> str:
    """Students of this school who ride the school bus or board, per level, where any do."""
    rows = [
        (t(key, lang, level=t(f"level_{level}", lang)), number(n, 0))
        for level in levels
        for key, n in (
            ("popup_bus_riders", travel.get((sid, level), {}).get("bus_riders", 0)),
            ("popup_boarders", travel.get((sid, level), {}).get("boarders", 0)),
        )
        if n
    ]
    return table(rows) if rows else ""


def school_popup(
    row: Mapping[str, Any],
    *,
    travel: Mapping[tuple[str, str], Mapping[str, float]],
    lang: str,
) -> str:
    """Popup of one school: its identity, numbers before and after the plan, and travel.

    Parameters
    ----------
    row : mapping
        One row of the plan's school table.
    travel : mapping
        Per ``(school_id, level)`` travel, from :func:`school_travel`.
    lang : {"zh", "en"}
        Language.

    Returns
    -------
    str
        Escaped HTML.
    """
    identity = [
        (t("popup_level", lang), label("level", row["level"], lang)),
        (t("popup_township", lang), text(row.get("township"))),
        (t("popup_decision", lang), label("decision", row["decision"], lang)),
    ]
    levels = _levels_shown(row)
    numbers = [line for level in levels for line in _before_after(row, level, lang)]
    numbers += _utilisation(row, lang)
    header = ("", t("popup_before", lang), t("popup_after", lang))
    moves = _travel_table(str(row["school_id"]), levels, travel, lang)
    return (
        f'<div class="plan-popup"><b>{esc(row["name"])}</b>'
        + table(identity)
        + table(numbers, header=header, css_class="before-after")
        + moves
        + "</div>"
    )


def _way(row: Mapping[str, Any], level: str) -> str | None:
    """Key of the way the village's children of ``level`` go to school when it is not their
    level's own mode: ``way_bus`` or ``way_boarding``; None otherwise."""
    for key, column in (("way_bus", f"bus_{level}"), ("way_boarding", f"boarding_{level}")):
        value = row.get(column)
        if value is not None and not pd.isna(value) and bool(value):
            return key
    return None


def village_popup(row: Mapping[str, Any], *, names: Mapping[str, str], lang: str) -> str:
    """Popup of one village: children per level, the school each level goes to, and travel.

    Parameters
    ----------
    row : mapping
        One row of the plan's village table.
    names : mapping
        School id -> school name.
    lang : {"zh", "en"}
        Language.

    Returns
    -------
    str
        Escaped HTML.
    """
    rows = [(t("popup_township", lang), text(row.get("township")))]
    for level in LEVELS:
        name = t(f"level_{level}", lang)
        sid = row[f"school_{level}"]
        school = (
            t("popup_unassigned", lang)
            if sid is None or pd.isna(sid)
            else t(
                "popup_assignment",
                lang,
                school=names.get(str(sid), str(sid)),
                km=number(row[f"distance_m_{level}"] / 1000, 1),
                minutes=number(row[f"minutes_{level}"], 0),
            )
        )
        rows += [
            (t("popup_children", lang, level=name), f"{count(row[f'children_{level}']):,}"),
            (t("popup_school", lang, level=name), school),
        ]
        if level == "primary":
            rows += _lower_grades(row, names=names, lang=lang)
        way = _way(row, level)
        if way:
            rows.append((t("popup_way", lang, level=name), t(way, lang)))
    return f'<div class="plan-popup"><b>{esc(row["name"])}</b>{table(rows)}</div>'


def _lower_grades(
    row: Mapping[str, Any], *, names: Mapping[str, str], lang: str
) -> list[tuple[str, str]]:
    """The teaching point of the village's lower primary grades, where they are taught apart
    from its upper grades (``rules.teaching_point_top_grade``); none otherwise."""
    sid = row.get("school_primary_lower")
    if sid is None or pd.isna(sid):
        return []
    school = t(
        "popup_assignment",
        lang,
        school=names.get(str(sid), str(sid)),
        km=number(row["distance_m_primary_lower"] / 1000, 1),
        minutes=number(row["minutes_primary_lower"], 0),
    )
    label = t("popup_school_lower", lang, students=f"{count(row['children_primary_lower']):,}")
    return [(label, school)]
