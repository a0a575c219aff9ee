"""User-facing text: the one place for every string a planner sees.

Maps, reports and the command line take their visible words from :data:`STRINGS` through
:func:`t`, in Chinese (``"zh"``, the default) or English (``"en"``). Code never writes a
visible label inline: add a key here, with both languages, and look it up.

Strings may hold ``str.format`` fields (``{name}``); both languages of a key use the same
fields. The strings are plain text: callers that put them into HTML escape them there.
"""

from __future__ import annotations

from typing import Final

__all__ = ["LANGS", "STRINGS", "t"]

LANGS: Final[tuple[str, str]] = ("zh", "en")

STRINGS: Final[dict[str, tuple[str, str]]] = {
    # command line and report
    "run_done": ("结果已写入", "Results written to"),
    "map": ("地图", "Map"),
    "plan": ("方案", "Plan"),
    "summary": ("摘要", "Summary"),
    # school levels, decisions, solve status
    "level_primary": ("小学", "primary"),
    "level_junior": ("初中", "junior"),
    "level_nine_year": ("九年一贯制", "nine-year"),
    "level_teaching_point": ("教学点", "teaching point"),
    "decision_keep": ("保留", "kept"),
    "decision_close": ("撤并", "closed"),
    "decision_new": ("新建", "new"),
    "status_optimal": ("最优(已证明)", "optimal (proven)"),
    "status_feasible": ("可行(未证明最优)", "feasible (not proven optimal)"),
    # map: title and layers
    "map_title": ("学校布局规划方案：{name}", "School layout plan: {name}"),
    "map_status": ("求解状态：{status}", "Solve status: {status}"),
    "layer_osm": ("OpenStreetMap 底图", "OpenStreetMap base map"),
    "layer_boundary": ("县域边界", "County boundary"),
    "layer_schools": ("学校", "Schools"),
    "layer_villages": ("村庄", "Villages"),
    "layer_catchments_primary": ("小学学区", "Primary catchments"),
    "layer_catchments_junior": ("初中学区", "Junior catchments"),
    "layer_links_primary": ("村—校连线（小学）", "Village–school links (primary)"),
    "layer_links_junior": ("村—校连线（初中）", "Village–school links (junior)"),
    # map: legend
    "legend_title": ("图例", "Legend"),
    "legend_keep": ("保留学校", "School kept"),
    "legend_close": ("撤并学校", "School closed"),
    "legend_new": ("新建学校", "New school"),
    "legend_school_size": (
        "圆的大小按规划后学生数（撤并学校按撤并前）",
        "Circle size: students after the plan (closed schools: before)",
    ),
    "legend_village": ("村庄（大小按学龄儿童数）", "Village (size: school-age children)"),
    "legend_unassigned": ("有未分配学校的儿童的村庄", "Village with children not assigned"),
    "legend_catchment": ("学区（每校一色）", "Catchment (one colour per school)"),
    # map: popups and tooltips
    "popup_level": ("学段类型", "Level"),
    "popup_township": ("乡镇", "Township"),
    "popup_decision": ("规划决策", "Decision"),
    "popup_students": ("{level}学生数（规划前 → 后）", "Students, {level} (before → after)"),
    "popup_classes": ("{level}班级数（规划后）", "Classes, {level} (after)"),
    "popup_class_size": ("{level}平均班额（规划后）", "Average class size, {level} (after)"),
    "popup_utilisation": ("利用率", "Utilisation"),
    "popup_children": ("{level}学龄儿童", "Children, {level}"),
    "popup_school": ("{level}就读学校", "School, {level}"),
    "popup_assignment": (
        "{school}（{km} 公里，{minutes} 分钟）",
        "{school} ({km} km, {minutes} min)",
    ),
    "popup_unassigned": ("未分配", "not assigned"),
    "tooltip_school": ("{name}（{decision}）", "{name} ({decision})"),
    "tooltip_catchment": (
        "{school}：{level}学区，{students} 名学生，{villages} 个村",
        "{school}: {level} catchment, {students} students, {villages} villages",
    ),
    "tooltip_link": (
        "{village} → {school}（{km} 公里，{minutes} 分钟）",
        "{village} → {school} ({km} km, {minutes} min)",
    ),
}
"""Every visible string: key -> (Chinese, English). Treat as read-only."""


def t(key: str, lang: str = "zh", **fmt: object) -> str:
    """Return the visible text for `key` in `lang`, with `fmt` filled in.

    Parameters
    ----------
    key : str
        Key into :data:`STRINGS`, e.g. ``"decision_close"``.
    lang : {"zh", "en"}, default "zh"
        Language: Chinese or English.
    **fmt
        Values for the ``{field}`` placeholders of the string, if it has any.

    Returns
    -------
    str
        The text, plain (not HTML-escaped).

    Raises
    ------
    KeyError
        If `key` is not in :data:`STRINGS`; the message names the key.
    ValueError
        If `lang` is not one of :data:`LANGS`.
    """
    if lang not in LANGS:
        raise ValueError(f"language must be one of {LANGS}, got {lang!r}")
    try:
        text = STRINGS[key][LANGS.index(lang)]
    except KeyError:
        raise KeyError(f"no visible string with key {key!r} in planning.i18n.STRINGS") from None
    return text.format(**fmt) if fmt else text
