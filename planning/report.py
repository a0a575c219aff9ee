"""The report of a plan: one printable HTML page to hand out with the map.

:func:`plan_report` shows one plan: headline numbers, the rule-compliance table before and after,
travel statistics, the schools that close, open or grow, charts of travel distances and school
sizes, and a link to the map. :func:`comparison_report` sets two plans of the same county side by
side. :func:`write_report` writes the page atomically.

The page needs nothing but itself: charts are inline SVG, styles are inline, and it prints to A4
(File > Print > Save as PDF) with tables and charts kept whole. Every visible word comes from
:mod:`planning.i18n`; every text from the data is escaped.

The balance table (coefficient of variation of the seven resource indicators per level,
DOMAIN.md) is drawn when ``plan.summary["balance"]`` exists: see :func:`_balance_section`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import pandas as pd

from planning._charts import size_chart, travel_chart
from planning._html import esc, table, write_text_atomic
from planning._popups import MISSING, label, number
from planning.i18n import STRINGS, t

if TYPE_CHECKING:
    from planning.plan import Plan

__all__ = ["comparison_report", "plan_report", "write_report"]

LEVELS: Final = ("primary", "junior")
_RULES: Final = (
    "school_size",
    "class_size",
    "big_classes_56",
    "super_big_classes_66",
    "class_count",
    "small_schools",
    "travel_limit",
)
_TRAVEL_ROWS: Final = (
    ("mean_m", "km"),
    ("median_m", "km"),
    ("p90_m", "km"),
    ("max_m", "km"),
    ("mean_minutes", "min"),
    ("max_minutes", "min"),
    ("limit_m", "km"),
    ("share_within_limit", "share"),
)
_MAX_WARNINGS: Final = 30
_CSS: Final = """<style>
body{font-family:"Noto Sans CJK SC","Microsoft YaHei","PingFang SC",sans-serif;color:#111827;
max-width:960px;margin:24px auto;padding:0 16px;line-height:1.5;font-size:14px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;
border-bottom:2px solid #1e3a8a;padding-bottom:2px}
.sub{color:#4b5563;margin:0 0 12px}.muted{color:#6b7280;font-size:12px}
.maplink{display:inline-block;margin:6px 0 4px;padding:6px 14px;background:#1e3a8a;color:#fff;
border-radius:4px;text-decoration:none}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:8px}
.card{border:1px solid #d1d5db;border-radius:6px;padding:8px 10px}
.card .v{font-size:22px;font-weight:bold}.card .k{color:#4b5563;font-size:12px}
table{border-collapse:collapse;margin:6px 0;font-size:13px}
th,td{border:1px solid #d1d5db;padding:3px 8px}td.n{text-align:right}
th{text-align:left;font-weight:normal;background:#f9fafb}
tr:first-child th{font-weight:bold;background:#eef2ff}
figure{margin:10px 0}figure img{width:100%;max-width:900px}
figcaption{color:#4b5563;font-size:12px}
@page{size:A4;margin:14mm}
@media print{body{margin:0;max-width:none;font-size:11pt}.maplink{background:none;color:#111827;
padding:0;border:none}.maplink::after{content:" (" attr(href) ")"}
h2{break-after:avoid}table,figure,.cards{break-inside:avoid}}
</style>"""


def plan_report(plan: Plan, *, lang: str = "zh", map_href: str | None = "map.html") -> str:
    """The report of one plan, as a self-contained HTML page.

    Parameters
    ----------
    plan : Plan
        The plan (``name``, ``schools``, ``villages`` and ``summary`` as from
        :func:`planning.metrics.summarise`).
    lang : {"zh", "en"}, default "zh"
        Language of every visible word.
    map_href : str or None, default "map.html"
        Link to the plan's map, relative to the report; ``None`` for no link.

    Returns
    -------
    str
        The HTML page.

    Raises
    ------
    ValueError
        If `lang` is not ``"zh"`` or ``"en"``.
    """
    t("summary", lang)
    s = plan.summary
    body = [
        _heading(t("report_title", lang, name=plan.name), _solve_line(s, lang), map_href, lang),
        _section(t("report_headline", lang), _cards(_headline(plan, lang))),
        _section(t("report_compliance", lang), _compliance_table([s], lang, single=True)),
        _section(t("report_travel", lang), _travel_table([(t("report_after", lang), s)], lang)),
        _section(t("report_changes", lang), _changes_table(plan, lang)),
        _section(t("report_charts", lang), _plan_charts(plan, lang)),
        _balance_section([("", s)], lang),
        _warnings_section(s, lang),
    ]
    return _page(t("report_title", lang, name=plan.name), body, lang)


def comparison_report(
    before: Plan, after: Plan, *, lang: str = "zh", map_href: str | None = None
) -> str:
    """The report comparing two plans of the same county (A = `before`, B = `after`).

    Parameters
    ----------
    before, after : Plan
        Plans A and B.
    lang : {"zh", "en"}, default "zh"
        Language of every visible word.
    map_href : str or None, default None
        Link to the comparison map (:func:`planning.maps.comparison_map`), if written.

    Returns
    -------
    str
        The HTML page: headline numbers of A and B and their difference, compliance today and in
        A and B, travel, schools open in one plan only, villages whose school changed, charts.
    """
    t("summary", lang)
    labels = (t("compare_show_a", lang), t("compare_show_b", lang))
    sub = t("compare_subtitle", lang, a=before.name, b=after.name)
    summaries = [before.summary, after.summary]
    body = [
        _heading(t("compare_report_title", lang), sub, map_href, lang),
        _section(t("report_headline", lang), _headline_table(before, after, labels, lang)),
        _section(t("report_compliance", lang), _compliance_table(summaries, lang, labels=labels)),
        _section(
            t("report_travel", lang),
            _travel_table(list(zip(labels, summaries, strict=True)), lang),
        ),
        _section(t("report_differences", lang), _differences(before, after, lang)),
        _section(t("report_charts", lang), _comparison_charts(before, after, labels, lang)),
        _balance_section(list(zip(labels, summaries, strict=True)), lang),
    ]
    return _page(t("compare_report_title", lang), body, lang)


def write_report(html: str, path: str | Path) -> Path:
    """Write a report page atomically (temporary file, then rename).

    Parameters
    ----------
    html : str
        The page, from :func:`plan_report` or :func:`comparison_report`.
    path : str or pathlib.Path
        Where to write it; its folder must exist.

    Returns
    -------
    pathlib.Path
        `path`.
    """
    return write_text_atomic(html, path)


# -- page ----------------------------------------------------------------------------------------


def _page(title: str, body: Sequence[str], lang: str) -> str:
    html_lang = "zh-CN" if lang == "zh" else "en"
    return (
        f'<!DOCTYPE html>\n<html lang="{html_lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title>{_CSS}</head><body>{''.join(body)}</body></html>\n"
    )


def _heading(title: str, subtitle: str, map_href: str | None, lang: str) -> str:
    link = (
        ""
        if map_href is None
        else f'<a class="maplink" href="{esc(map_href)}">{esc(t("report_open_map", lang))}</a>'
    )
    return f'<h1>{esc(title)}</h1><p class="sub">{esc(subtitle)}</p>{link}'


def _section(title: str, content: str) -> str:
    return f"<section><h2>{esc(title)}</h2>{content}</section>" if content else ""


def _solve_line(s: Mapping[str, Any], lang: str) -> str:
    """How the plan was solved: status, gap, objective, solver, travel measure."""
    if "status" not in s:
        return ""
    gap = s.get("gap")
    return t(
        "report_solve",
        lang,
        status=label("status", s["status"], lang),
        gap=MISSING if gap is None else f"{100 * float(gap):.3f}%",
        objective=number(s.get("objective"), 1),
        solver=s.get("solver", MISSING),
        travel=s.get("travel_costs", MISSING),
    )


# -- numbers -------------------------------------------------------------------------------------


def _decisions(plan: Plan) -> dict[str, int]:
    counts = plan.schools["decision"].value_counts()
    return {d: int(counts.get(d, 0)) for d in ("keep", "expand", "new", "close")}


def _headline(plan: Plan, lang: str) -> list[tuple[str, str]]:
    """(label, value) of the headline cards."""
    s, d = plan.summary, _decisions(plan)
    students = s.get("students", {})
    travel = s.get("travel", {})
    cards = [
        (t("report_open_schools", lang), f"{d['keep'] + d['expand'] + d['new']:,}"),
        (t("report_closed_schools", lang), f"{d['close']:,}"),
        (t("report_new_schools", lang), f"{d['new']:,}"),
    ]
    if d["expand"]:
        cards.append((t("report_expanded_schools", lang), f"{d['expand']:,}"))
    for level in LEVELS:
        name = t(f"level_{level}", lang)
        cards.append((t("report_students", lang, level=name), number(students.get(level), 0)))
    cards.append((t("report_unassigned", lang), number(students.get("unassigned"), 0)))
    for level in LEVELS:
        mean = travel.get(level, {}).get("mean_m")
        km = MISSING if mean is None else number(mean / 1000, 1)
        cards.append((t("report_mean_travel", lang, level=t(f"level_{level}", lang)), km))
    return cards + _transport_cards(s, lang)


def _transport_cards(s: Mapping[str, Any], lang: str) -> list[tuple[str, str]]:
    """Bus riders and boarders per level and their costs (only where the plan has any), and
    what the plan spends of its budget (if one is set)."""
    cards = []
    costs = s.get("costs_wan", {})
    for key, cost in (("bus_riders", "bus"), ("boarders", "boarding")):
        counts = s.get("students", {}).get(key) or {}
        if not any(counts.values()):
            continue
        for level in LEVELS:
            if counts.get(level):
                name = t(f"level_{level}", lang)
                cards.append((t(f"report_{key}", lang, level=name), number(counts[level], 0)))
        cards.append((t(f"report_{cost}_cost", lang), number(costs.get(cost), 1)))
    if costs.get("budget") is not None:
        spent = f"{number(costs.get('against_budget'), 0)} / {number(costs['budget'], 0)}"
        cards.append((t("report_budget", lang), spent))
    return cards


def _cards(cards: Sequence[tuple[str, str]]) -> str:
    items = "".join(
        f'<div class="card"><div class="v">{esc(value)}</div><div class="k">{esc(key)}</div></div>'
        for key, value in cards
    )
    return f'<div class="cards">{items}</div>'


def _headline_table(before: Plan, after: Plan, labels: Sequence[str], lang: str) -> str:
    """Headline numbers of A and B and the change from A to B."""
    a, b = dict(_headline(before, lang)), dict(_headline(after, lang))
    keys = list(a) + [k for k in b if k not in a]  # a card may show in one plan only
    rows = []
    for key in keys:
        va, vb = a.get(key, "0"), b.get(key, "0")
        rows.append((key, va, vb, _difference(va, vb)))
    return table(rows, header=("", *labels, t("report_change", lang)))


def _difference(a: str, b: str) -> str:
    """B - A of two formatted numbers, signed; a dash if either is missing."""
    try:
        x, y = float(a.replace(",", "")), float(b.replace(",", ""))
    except ValueError:
        return MISSING
    digits = 1 if "." in a or "." in b else 0
    return f"{y - x:+,.{digits}f}"


def _rule_label(key: str, lang: str) -> str:
    return t(f"rule_{key}", lang) if f"rule_{key}" in STRINGS else key


def _compliance_table(
    summaries: Sequence[Mapping[str, Any]],
    lang: str,
    *,
    single: bool = False,
    labels: Sequence[str] = (),
) -> str:
    """Schools (or villages) breaking each rule: today (baseline) and after each plan."""
    baseline = summaries[-1].get("baseline", {})
    after = [s.get("violations", {}) for s in summaries]
    keys = list(_RULES) + sorted(
        {k for part in [baseline, *after] for k in part if k not in _RULES}
    )
    rows = [
        (
            _rule_label(key, lang),
            *[
                MISSING if part.get(key) is None else f"{int(part[key]):,}"
                for part in [baseline, *after]
            ],
        )
        for key in keys
        if any(key in part for part in [baseline, *after])
    ]
    heads = [t("report_after", lang)] if single else list(labels)
    note = f'<p class="muted">{esc(t("report_compliance_note", lang))}</p>'
    return table(rows, header=("", t("report_today", lang), *heads)) + note


def _travel_value(stats: Mapping[str, Any], key: str, unit: str) -> str:
    value = stats.get(key)
    if value is None:
        return MISSING
    if unit == "km":
        return number(float(value) / 1000, 2)
    if unit == "share":
        return f"{float(value):.1%}"
    return number(value, 1)


def _travel_table(plans: Sequence[tuple[str, Mapping[str, Any]]], lang: str) -> str:
    """Student-weighted travel per level (and per plan): mean, median, p90, max, limit."""
    columns = [(name, level) for level in LEVELS for name, _ in plans]
    header = [""] + [
        t(f"level_{level}", lang) + (f" · {name}" if len(plans) > 1 else "")
        for name, level in columns
    ]
    travel = {name: s.get("travel", {}) for name, s in plans}
    rows = [
        (
            t(f"report_travel_{key}", lang),
            *[_travel_value(travel[name].get(level, {}), key, unit) for name, level in columns],
        )
        for key, unit in _TRAVEL_ROWS
    ]
    return table(rows, header=header)


def _changes_table(plan: Plan, lang: str) -> str:
    """The schools that close, are built or are expanded, with students before and after."""
    changed = plan.schools[plan.schools["decision"] != "keep"]
    if changed.empty:
        return f"<p>{esc(t('report_no_changes', lang))}</p>"
    changed = changed.sort_values(["decision", "township", "name"])
    rows = [
        (
            row["name"],
            row.get("township", MISSING),
            label("level", row["level"], lang),
            label("decision", row["decision"], lang),
            f"{sum(_int(row.get(f'students_{lvl}_before')) for lvl in LEVELS):,}",
            f"{sum(_int(row.get(f'students_{lvl}')) for lvl in LEVELS):,}",
        )
        for row in changed.to_dict("records")
    ]
    header = [
        t(f"report_col_{key}", lang)
        for key in ("school", "township", "level", "decision", "before", "after")
    ]
    return table(rows, header=header)


def _int(value: object) -> int:
    return 0 if value is None or pd.isna(value) else int(value)  # type: ignore[arg-type, call-overload]


def _open_students(plan: Plan, *, after: bool) -> pd.Series:
    """Students per school open after the plan (or per existing school, before)."""
    schools = plan.schools
    live = schools[schools["decision"] != ("close" if after else "new")]
    suffix = "" if after else "_before"
    return sum(live[f"students_{lvl}{suffix}"].fillna(0) for lvl in LEVELS)  # type: ignore[return-value]


def _figure(uri: str, caption: str) -> str:
    text = esc(caption)
    return f'<figure><img src="{uri}" alt="{text}"><figcaption>{text}</figcaption></figure>'


def _plan_charts(plan: Plan, lang: str) -> str:
    travel = travel_chart([(t("report_after", lang), plan.villages)], lang=lang)
    sizes = size_chart(
        [
            (t("report_today", lang), _open_students(plan, after=False)),
            (t("report_after", lang), _open_students(plan, after=True)),
        ],
        lang=lang,
    )
    return _figure(travel, t("chart_travel_caption", lang)) + _figure(
        sizes, t("chart_sizes_caption", lang)
    )


def _comparison_charts(before: Plan, after: Plan, labels: Sequence[str], lang: str) -> str:
    travel = travel_chart([(labels[0], before.villages), (labels[1], after.villages)], lang=lang)
    sizes = size_chart(
        [
            (t("report_today", lang), _open_students(after, after=False)),
            (labels[0], _open_students(before, after=True)),
            (labels[1], _open_students(after, after=True)),
        ],
        lang=lang,
    )
    return _figure(travel, t("chart_travel_caption_compare", lang)) + _figure(
        sizes, t("chart_sizes_caption_compare", lang)
    )


def _differences(before: Plan, after: Plan, lang: str) -> str:
    """Schools open in one plan only, and how many villages change school per level."""
    open_a = set(before.schools.loc[before.schools["decision"] != "close", "school_id"].astype(str))
    open_b = set(after.schools.loc[after.schools["decision"] != "close", "school_id"].astype(str))
    schools = pd.concat([after.schools, before.schools]).drop_duplicates("school_id")
    schools = schools.assign(sid=schools["school_id"].astype(str)).set_index("sid")
    rows = [
        (schools.at[sid, "name"], schools.at[sid, "township"], t(f"report_only_{side}", lang))
        for side, ids in (("a", open_a - open_b), ("b", open_b - open_a))
        for sid in sorted(ids)
    ]
    header = [t(f"report_col_{key}", lang) for key in ("school", "township", "change")]
    parts = [table(rows, header=header) if rows else f"<p>{esc(t('report_no_changes', lang))}</p>"]
    moved = []
    for level in LEVELS:
        col = f"school_{level}"
        both = after.villages[["village_id", col]].merge(
            before.villages[["village_id", col]], on="village_id", suffixes=("_b", "_a")
        )
        differs = both[f"{col}_a"].fillna("").astype(str) != both[f"{col}_b"].fillna("").astype(str)
        moved.append((t(f"level_{level}", lang), f"{int(differs.sum()):,}"))
    parts.append(table(moved, header=("", t("report_villages_moved", lang))))
    return "".join(parts)


# -- balance (hook) and warnings -----------------------------------------------------------------


def _balance_section(plans: Sequence[tuple[str, Mapping[str, Any]]], lang: str) -> str:
    """HOOK for the balance table: drawn only when ``summary["balance"]`` exists.

    The balance table is computed by the balance issue. Expected shape::

        summary["balance"] = {"primary": {"<indicator>": cv, ...}, "junior": {...}}

    with the coefficient of variation of each resource indicator across the schools of a level
    (DOMAIN.md; limits 0.50 primary, 0.45 junior). Indicator names are translated when
    ``planning.i18n`` has a ``balance_<indicator>`` key, otherwise shown as they are. Nothing is
    computed here, and nothing is shown when no plan has the key.
    """
    present = [(name, s["balance"]) for name, s in plans if isinstance(s.get("balance"), Mapping)]
    if not present:
        return ""
    columns = [(name, level) for level in LEVELS for name, _ in present]
    indicators = sorted(
        {k for _, b in present for lvl in LEVELS for k in (b.get(lvl) or {}) if k != "limit"}
    )
    balances = dict(present)
    rows = [
        (
            t(f"balance_{key}", lang) if f"balance_{key}" in STRINGS else key,
            *[number((balances[name].get(level) or {}).get(key), 3) for name, level in columns],
        )
        for key in indicators
    ]
    header = [""] + [
        t(f"level_{level}", lang) + (f" · {name}" if name else "") for name, level in columns
    ]
    note = f'<p class="muted">{esc(t("report_balance_note", lang))}</p>'
    return _section(t("report_balance", lang), table(rows, header=header) + note)


def _warnings_section(s: Mapping[str, Any], lang: str) -> str:
    """The run's warnings (input problems, unreachable villages), escaped, at most 30."""
    warnings = [str(w) for w in s.get("warnings", [])]
    if not warnings:
        return ""
    items = "".join(f"<li>{esc(w)}</li>" for w in warnings[:_MAX_WARNINGS])
    more = len(warnings) - _MAX_WARNINGS
    tail = f"<p>{esc(t('report_more_warnings', lang, n=more))}</p>" if more > 0 else ""
    return _section(t("report_warnings", lang), f"<ul>{items}</ul>{tail}")
