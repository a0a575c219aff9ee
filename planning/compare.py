"""Compare scenarios of one county: a metrics table (one column per scenario, today first) and
what each scenario changes against today (schools closed, opened, expanded; villages whose
school changed, with their travel change)."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from planning._atomic import swap_into_place, temp_folder
from planning.i18n import t
from planning.plan import Plan
from planning.provenance import provenance
from planning.scenario import LEVELS, Scenario, load_scenario

logger = logging.getLogger(__name__)

# (path into summary.json, label key); rows of the comparison table, in order
METRICS: tuple[tuple[str, str], ...] = (
    ("status", "metric_status"),
    ("schools.open", "metric_schools_open"),
    ("schools.closed", "metric_schools_closed"),
    ("schools.new", "metric_schools_new"),
    ("schools.expanded", "metric_schools_expanded"),
    ("students.primary", "metric_students_primary"),
    ("students.junior", "metric_students_junior"),
    ("students.unassigned", "metric_students_unassigned"),
    *(
        (f"travel.{lvl}.{k}", f"metric_{lvl}_{k}")
        for lvl in LEVELS
        for k in ("mean_m", "median_m", "p90_m", "max_m", "share_within_limit")
    ),
    ("violations.school_size", "metric_v_school_size"),
    ("violations.class_size", "metric_v_class_size"),
    ("violations.class_count", "metric_v_class_count"),
    ("violations.small_schools", "metric_v_small_schools"),
    ("violations.travel_limit", "metric_v_travel_limit"),
    ("costs_wan.build", "metric_cost_build"),
    ("costs_wan.expansion", "metric_cost_expansion"),
    ("costs_wan.capital", "metric_cost_capital"),
    *((f"students.bus_riders.{lvl}", f"metric_bus_riders_{lvl}") for lvl in LEVELS),
    ("costs_wan.bus", "metric_cost_bus"),
    *((f"students.boarders.{lvl}", f"metric_boarders_{lvl}") for lvl in LEVELS),
    ("costs_wan.boarding", "metric_cost_boarding"),
    ("costs_wan.budget", "metric_budget"),
    ("costs_wan.against_budget", "metric_against_budget"),
    ("objective", "metric_objective"),
    ("gap", "metric_gap"),
)


def today_scenario(scenario: Scenario) -> Scenario:
    """The current situation of ``scenario``'s county: evaluate mode, no actions."""
    return scenario.model_copy(
        update={"mode": "evaluate", "actions": [], "name": f"{scenario.name} ({t('today', 'zh')})"}
    )


def metrics_table(plans: dict[str, Plan], *, lang: str) -> pd.DataFrame:
    """Rows: metrics (labels in ``lang``); columns: the plans' names."""
    rows = {
        t(label, lang): [_readable(path, _get(p.summary, path), lang) for p in plans.values()]
        for path, label in METRICS
    }
    return pd.DataFrame(rows, index=list(plans)).T


def _readable(path: str, value: Any, lang: str) -> Any:
    if path == "status" and value is not None:
        return t(f"status_{value}", lang)
    if path == "gap" and value is not None:
        return round(float(value), 6)
    return value


def _get(summary: dict[str, Any], path: str) -> Any:
    value: Any = summary
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def changes(today: Plan, plan: Plan, *, lang: str) -> dict[str, pd.DataFrame]:
    """What ``plan`` changes against ``today``: schools, and villages whose school changed."""
    s = plan.schools
    changed_schools = s[s["decision"] != "keep"][["name", "level", "decision"]].copy()
    changed_schools["decision"] = [t(f"decision_{d}", lang) for d in changed_schools["decision"]]
    changed_schools["level"] = [t(f"level_{k}", lang) for k in changed_schools["level"]]
    frames = []
    for lvl in LEVELS:
        a, b = today.villages, plan.villages
        moved = b.index[
            (a[f"school_{lvl}"].reindex(b.index) != b[f"school_{lvl}"]) & b[f"children_{lvl}"].gt(0)
        ]
        frames.append(
            pd.DataFrame(
                {
                    "village_id": moved,
                    "name": b.loc[moved, "name"].to_numpy(),
                    "level": t(f"level_{lvl}", lang),
                    "children": b.loc[moved, f"children_{lvl}"].to_numpy(),
                    "school_before": a.loc[moved, f"school_{lvl}"].to_numpy(),
                    "school_after": b.loc[moved, f"school_{lvl}"].to_numpy(),
                    "distance_m_before": a.loc[moved, f"distance_m_{lvl}"].round(0).to_numpy(),
                    "distance_m_after": b.loc[moved, f"distance_m_{lvl}"].round(0).to_numpy(),
                }
            )
        )
    villages = pd.concat(frames, ignore_index=True)
    villages["change_m"] = villages["distance_m_after"] - villages["distance_m_before"]
    return {"schools": changed_schools.reset_index(names="school_id"), "villages": villages}


def compare(paths: list[Path], out: Path, *, lang: str = "zh") -> Path:
    """Run every scenario and today's situation; write the table, the changes, and per
    scenario its plan files plus a map and a report against today. Atomic: written to a
    temporary folder, moved into place when complete."""
    from planning.pipeline import plan_scenario, write_outputs

    scenarios = [load_scenario(p) for p in paths]
    tmp = temp_folder(out)
    try:
        today, layers = plan_scenario(today_scenario(scenarios[0]))
        plans = {t("today", lang): today}
        for path, sc in zip(paths, scenarios, strict=True):
            plan, layers = plan_scenario(sc)
            plan.summary["provenance"] = provenance(sc, path)
            plans[sc.name] = plan
            write_outputs(plan, layers.boundary, tmp / path.stem, lang=lang)
            _write_against_today(today, plan, layers.boundary, tmp / path.stem, lang=lang)
        _write_tables(plans, tmp, lang=lang)
        swap_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _write_against_today(
    today: Plan, plan: Plan, boundary: Any, folder: Path, *, lang: str
) -> None:
    from planning.maps import comparison_map, write_map
    from planning.report import comparison_report, write_report

    write_map(comparison_map(today, plan, boundary, lang=lang), folder / "compare_map.html")
    html = comparison_report(today, plan, lang=lang, map_href="compare_map.html")
    write_report(html, folder / "compare_report.html")
    for name, table in changes(today, plan, lang=lang).items():
        table.to_csv(folder / f"changes_{name}.csv", index=False, encoding="utf-8-sig")


def _write_tables(plans: dict[str, Plan], folder: Path, *, lang: str) -> None:
    table = metrics_table(plans, lang=lang)
    table.to_csv(folder / "comparison.csv", encoding="utf-8-sig")
    with pd.ExcelWriter(folder / "comparison.xlsx", engine="openpyxl") as xl:
        table.to_excel(xl, sheet_name=t("metric_sheet", lang)[:31])
        sheet = xl.sheets[t("metric_sheet", lang)[:31]]
        sheet.column_dimensions["A"].width = 28
        for col in range(2, len(plans) + 2):
            sheet.column_dimensions[sheet.cell(1, col).column_letter].width = 24
    (folder / "comparison.html").write_text(_html(table, lang), encoding="utf-8")


def _html(table: pd.DataFrame, lang: str) -> str:
    from html import escape

    head = "".join(f"<th>{escape(str(c))}</th>" for c in table.columns)
    rows = "".join(
        f"<tr><th>{escape(str(i))}</th>"
        + "".join(f"<td>{escape(_fmt(v))}</td>" for v in r)
        + "</tr>"
        for i, r in zip(table.index, table.to_numpy(), strict=True)
    )
    title = escape(t("metric_title", lang))
    return (
        f'<!doctype html><html lang="{lang}"><meta charset="utf-8"><title>{title}</title>'
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}"
        "th{background:#f3f4f6}</style>"
        f"<h1>{title}</h1><table><tr><th></th>{head}</tr>{rows}</table></html>\n"
    )


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "–"
    if isinstance(v, float):
        return f"{v:,.4f}" if abs(v) < 1 else f"{v:,.1f}"
    return f"{v:,}" if isinstance(v, int) else str(v)
