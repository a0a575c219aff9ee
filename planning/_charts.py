"""Charts of the report (matplotlib), as self-contained SVG ``data:`` URIs.

Figures are made with matplotlib's object API (no pyplot, no global style changes) and saved as
SVG with text drawn as outlines, so a report shows its Chinese labels on any machine. Chinese
needs a CJK font when the chart is made: Noto Sans CJK (Debian ``fonts-noto-cjk``), Microsoft
YaHei, SimHei, PingFang or WenQuanYi, whichever is installed.
"""

from __future__ import annotations

import base64
import io
import itertools
import logging
from collections.abc import Sequence
from functools import cache
from typing import Any, Final

import matplotlib
import numpy as np
import pandas as pd
from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from planning.i18n import t

__all__ = ["size_chart", "travel_chart"]

logger = logging.getLogger(__name__)

LEVELS: Final = ("primary", "junior")
_CJK_FAMILIES: Final = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Noto Sans CJK JP",
)
_CJK_FILES: Final = ("notosanscjk", "sourcehansans", "msyh", "simhei", "pingfang", "wqy")
_COLOURS: Final = ("#9ca3af", "#2563eb", "#f97316", "#16a34a")
_SIZE_BINS: Final = (0, 100, 200, 500, 1000, 1500, 2000, 2500)
_STYLE: Final = {
    "svg.fonttype": "path",
    "svg.hashsalt": "schoolplan",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "font.size": 9,
}


@cache
def _families() -> tuple[str, ...]:
    """Font families for chart text: an installed CJK family first, if any."""
    names = {f.name for f in font_manager.fontManager.ttflist}
    if not names.intersection(_CJK_FAMILIES):
        # matplotlib's font cache predates fonts installed later (e.g. by CI): add them now
        for path in font_manager.findSystemFonts():
            if any(key in path.lower().replace("-", "") for key in _CJK_FILES):
                font_manager.fontManager.addfont(path)
        names = {f.name for f in font_manager.fontManager.ttflist}
    found = [family for family in _CJK_FAMILIES if family in names]
    if not found:
        logger.warning("no CJK font found for chart labels; install fonts-noto-cjk")
    return (*found[:1], "DejaVu Sans")


def _rc() -> Any:
    """matplotlib settings of every chart (used in ``rc_context``, never set globally)."""
    return {**_STYLE, "font.family": list(_families())}


def _svg_uri(fig: Figure) -> str:
    """The figure as an SVG ``data:`` URI (deterministic: no date in the file)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _weighted_km(villages: pd.DataFrame, level: str) -> tuple[np.ndarray, np.ndarray]:
    """Travel distances (km) of the served villages of `level`, and their children."""
    served = villages[villages[f"school_{level}"].notna()]
    km = served[f"distance_m_{level}"].to_numpy(dtype=float) / 1000
    weights = served[f"children_{level}"].fillna(0).clip(lower=0).to_numpy(dtype=float)
    keep = np.isfinite(km) & (weights > 0)
    return km[keep], weights[keep]


def travel_chart(plans: Sequence[tuple[str, pd.DataFrame]], *, lang: str) -> str:
    """Histograms of students' travel distance after the plan, one panel per level.

    Parameters
    ----------
    plans : sequence of (label, villages)
        One or more plans' village tables (``school_<level>``, ``distance_m_<level>``,
        ``children_<level>``), each drawn as a step line labelled with plain text.
    lang : {"zh", "en"}
        Language of the axis labels.

    Returns
    -------
    str
        An SVG ``data:`` URI.
    """
    with matplotlib.rc_context(_rc()):
        fig = Figure(figsize=(8.0, 3.0), layout="constrained")
        for ax, level in zip(fig.subplots(1, 2), LEVELS, strict=True):
            data = [_weighted_km(villages, level) for _, villages in plans]
            top = max([float(km.max()) for km, _ in data if len(km)] + [1.0])
            bins = np.linspace(0, np.ceil(top), 21)
            for i, ((name, _), (km, w)) in enumerate(zip(plans, data, strict=True)):
                colour = _COLOURS[(i + 1) % len(_COLOURS)] if len(plans) == 1 else _COLOURS[i]
                ax.hist(km, bins=bins, weights=w, histtype="step", linewidth=2, color=colour,
                        label=name)  # fmt: skip
            ax.set_title(t("chart_travel_title", lang, level=t(f"level_{level}", lang)))
            ax.set_xlabel(t("chart_km", lang))
            ax.set_ylabel(t("chart_students", lang))
            if len(plans) > 1:
                ax.legend(frameon=False)
        return _svg_uri(fig)


def _size_counts(students: pd.Series) -> np.ndarray:
    """Schools per size class (:data:`_SIZE_BINS`, the last class open-ended)."""
    edges = [*_SIZE_BINS, np.inf]
    return np.histogram(students.clip(lower=0).to_numpy(dtype=float), bins=edges)[0]


def size_chart(series: Sequence[tuple[str, pd.Series]], *, lang: str) -> str:
    """Grouped bars: how many schools of each size (students), for each series.

    Parameters
    ----------
    series : sequence of (label, students)
        Students per open school, e.g. today's schools and the schools after the plan.
    lang : {"zh", "en"}
        Language of the axis labels.

    Returns
    -------
    str
        An SVG ``data:`` URI.
    """
    edges = list(_SIZE_BINS)
    classes = [f"{lo:,}–{hi - 1:,}" for lo, hi in itertools.pairwise(edges)]
    classes.append(f"≥{edges[-1]:,}")
    x = np.arange(len(classes))
    width = 0.8 / max(len(series), 1)
    with matplotlib.rc_context(_rc()):
        fig = Figure(figsize=(8.0, 3.0), layout="constrained")
        ax = fig.subplots()
        for i, (name, students) in enumerate(series):
            counts = _size_counts(students)
            bars = ax.bar(x + (i - (len(series) - 1) / 2) * width, counts, width, label=name,
                          color=_COLOURS[i % len(_COLOURS)])  # fmt: skip
            ax.bar_label(bars, labels=[str(c) if c else "" for c in counts], fontsize=7)
        ax.set_xticks(x, classes)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(t("chart_sizes_title", lang))
        ax.set_xlabel(t("chart_school_students", lang))
        ax.set_ylabel(t("chart_schools", lang))
        ax.legend(frameon=False)
        return _svg_uri(fig)
