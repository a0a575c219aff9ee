"""The map of a plan: one HTML page a planner opens in a browser and shows in a meeting.

:func:`plan_map` draws a plan with Folium: the county boundary, schools coloured by decision
(kept, closed, new) and sized by students, villages sized by children, catchments per level,
village-to-school links per level, a legend and a layer switcher. :func:`write_map` writes the
page atomically.

Every visible word comes from :mod:`planning.i18n`. Every text taken from the input data (names,
townships, ids) is escaped by :func:`_esc` before it goes into HTML, into the JavaScript template
strings Folium writes popups and tooltips into, or into embedded GeoJSON. The vectors need no
tiles: the OpenStreetMap base layer is optional, but Folium still loads Leaflet itself from a CDN.
"""

from __future__ import annotations

import html
import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, cast

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Figure, MacroElement
from folium.template import Template

from planning._errors import InputError, Problem
from planning.i18n import STRINGS, t

if TYPE_CHECKING:
    from planning.plan import Plan

__all__ = ["plan_map", "write_map"]

WGS84: Final = "EPSG:4326"
LEVELS: Final = ("primary", "junior")

_DECISION_STYLE: Final[dict[str, dict[str, Any]]] = {
    "keep": {"color": "#1e3a8a", "fill_color": "#3b82f6", "fill_opacity": 0.85},
    "close": {
        "color": "#111827",
        "fill_color": "#9ca3af",
        "fill_opacity": 0.5,
        "dash_array": "3 3",
    },
    "new": {"color": "#9a3412", "fill_color": "#f97316", "fill_opacity": 0.9},
}
_LEVELS_TAUGHT: Final[dict[str, tuple[str, ...]]] = {
    "primary": ("primary",),
    "teaching_point": ("primary",),
    "junior": ("junior",),
    "nine_year": ("primary", "junior"),
}
# categorical palette for catchments (Tableau 10 without its grey, plus three lighter tones)
_PALETTE: Final = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948",
    "#b07aa1", "#ff9da7", "#9c755f", "#86bcb6", "#d4a6c8", "#8cd17d",
)  # fmt: skip
_NO_COLOUR: Final = "#6b7280"
_VILLAGE_FILL: Final = "#374151"
_UNASSIGNED: Final = "#dc2626"
_MISSING: Final = "–"
_CSS: Final = (
    "<style>.plan-popup{font-size:13px}.plan-popup th{text-align:left;font-weight:normal;"
    "color:#555;padding-right:8px}</style>"
)
_JS_UNSAFE: Final = str.maketrans({"`": "&#96;", "$": "&#36;", "\\": "&#92;"})


def plan_map(plan: Plan, boundary: gpd.GeoDataFrame, *, lang: str = "zh") -> folium.Map:
    """Draw a plan on an interactive Folium map.

    Parameters
    ----------
    plan : Plan
        The plan (anything with ``name``, ``schools``, ``villages``, ``catchments`` and
        ``summary`` as in :class:`planning.plan.Plan`). Its layers may be in any CRS; they are
        reprojected to WGS-84 (EPSG:4326) for the map.
    boundary : geopandas.GeoDataFrame
        The county boundary (one or more polygons), in any CRS. The map is fitted to it.
    lang : {"zh", "en"}, default "zh"
        Language of every visible word (title, layers, legend, popups).

    Returns
    -------
    folium.Map
        Layers: an optional OpenStreetMap base; county boundary; primary and junior catchments;
        primary and junior village-school links (hidden at first); villages; schools.

    Raises
    ------
    InputError
        If a layer has no CRS, or a school's ``decision`` is not keep, close or new.
    ValueError
        If `lang` is not ``"zh"`` or ``"en"``.
    """
    t("map", lang)  # fail early on an unknown language
    schools, villages, catchments, boundary = _to_wgs84(plan, boundary)
    names = dict(zip(schools["school_id"].astype(str), schools["name"].astype(str), strict=True))
    colours = _school_colours(catchments)
    m = _base_map(boundary, lang=lang)
    _add_title(m, plan, lang=lang)
    _add_boundary(m, boundary, lang=lang)
    for level in LEVELS:
        _add_catchments(m, catchments, level=level, names=names, colours=colours, lang=lang)
    for level in LEVELS:
        _add_links(m, villages, schools, level=level, colours=colours, lang=lang)
    village_group = _add_villages(m, villages, names=names, lang=lang)
    school_group = _add_schools(m, schools, lang=lang)
    _KeepOnTop([village_group, school_group]).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    _add_legend(m, lang=lang)
    return m


def write_map(m: folium.Map, path: str | Path) -> Path:
    """Write the map as one HTML file, atomically.

    The page is written to a temporary file in the same folder, then moved over `path`, so a
    reader never sees a half-written map and a failed write leaves no temporary file behind.

    Parameters
    ----------
    m : folium.Map
        The map, e.g. from :func:`plan_map`.
    path : str or pathlib.Path
        Where to write the ``.html`` file; its folder must exist.

    Returns
    -------
    pathlib.Path
        `path`.
    """
    path = Path(path)
    page = m.get_root().render()
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "x", encoding="utf-8") as fh:
            fh.write(page)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


# -- input ---------------------------------------------------------------------------------------


def _to_wgs84(plan: Plan, boundary: gpd.GeoDataFrame) -> list[gpd.GeoDataFrame]:
    """Check the layers (CRS present, decisions known) and reproject them to WGS-84."""
    layers = {
        "plan.schools": plan.schools,
        "plan.villages": plan.villages,
        "plan.catchments": plan.catchments,
        "boundary": boundary,
    }
    problems = [
        Problem(file=where, message="layer has no CRS; set the CRS its coordinates are in")
        for where, layer in layers.items()
        if layer.crs is None
    ]
    bad = ~plan.schools["decision"].isin(list(_DECISION_STYLE))
    problems += [
        Problem(
            file="plan.schools",
            row=str(sid),
            field="decision",
            message=f"expected one of {sorted(_DECISION_STYLE)}, found {decision!r}",
        )
        for sid, decision in zip(
            plan.schools.loc[bad, "school_id"], plan.schools.loc[bad, "decision"], strict=True
        )
    ]
    if problems:
        raise InputError(problems)
    return [layer.to_crs(WGS84) for layer in layers.values()]


def _school_colours(catchments: gpd.GeoDataFrame) -> dict[str, str]:
    """Give each school a palette colour that differs from its neighbours' where possible.

    Greedy colouring, in school-id order, of the graph of catchments of the same level that touch
    or overlap; a school has one colour on both levels.
    """
    parts = catchments[["school_id", "level", "geometry"]].assign(
        school_id=catchments["school_id"].astype(str)
    )
    pairs = gpd.sjoin(parts, parts, predicate="intersects")
    pairs = pairs[
        (pairs["level_left"] == pairs["level_right"])
        & (pairs["school_id_left"] != pairs["school_id_right"])
    ]
    neighbours = pairs.groupby("school_id_left")["school_id_right"].agg(set).to_dict()
    colours: dict[str, str] = {}
    for sid in sorted(parts["school_id"].unique()):
        used = {colours.get(other) for other in neighbours.get(sid, ())}
        free = [colour for colour in _PALETTE if colour not in used]
        colours[sid] = free[0] if free else _PALETTE[len(colours) % len(_PALETTE)]
    return colours


# -- text ----------------------------------------------------------------------------------------


def _esc(value: object) -> str:
    """Escape text for HTML and for the JavaScript template strings Folium puts HTML into.

    Besides ``html.escape`` (``<``, ``>``, ``&``, quotes), the characters that could end or run
    code inside a JavaScript template string (backtick, ``$``, backslash) become HTML entities,
    which a browser shows as the plain characters.
    """
    return html.escape(str(value), quote=True).translate(_JS_UNSAFE)


def _label(prefix: str, value: object, lang: str) -> str:
    """Translate a coded value (``level_nine_year``...); show unknown codes as they are."""
    key = f"{prefix}_{value}"
    return t(key, lang) if key in STRINGS else str(value)


def _text(value: object) -> str:
    """Text of a data value, or a dash when missing."""
    return _MISSING if value is None or pd.isna(value) else str(value)


def _count(value: object) -> int:
    """A whole count; a missing value counts as 0."""
    return 0 if pd.isna(value) else int(value)  # type: ignore[call-overload]


def _number(value: object, digits: int) -> str:
    """A number with `digits` decimals, or a dash when missing."""
    return _MISSING if pd.isna(value) else f"{float(value):,.{digits}f}"  # type: ignore[arg-type]


def _table(rows: Iterable[tuple[str, str]], *, heading: str) -> str:
    """An HTML popup: a bold heading over a two-column table; all text is escaped here."""
    body = "".join(
        f"<tr><th>{_esc(label)}</th><td>{_esc(value)}</td></tr>" for label, value in rows
    )
    return f'<div class="plan-popup"><b>{_esc(heading)}</b><table>{body}</table></div>'


# -- layers --------------------------------------------------------------------------------------


def _base_map(boundary: gpd.GeoDataFrame, *, lang: str) -> folium.Map:
    """An empty map fitted to the boundary, with OpenStreetMap as an optional base layer."""
    minx, miny, maxx, maxy = boundary.total_bounds
    m = folium.Map(
        location=[(miny + maxy) / 2, (minx + maxx) / 2],
        zoom_start=10,
        tiles=None,
        control_scale=True,
    )
    folium.TileLayer("OpenStreetMap", name=t("layer_osm", lang)).add_to(m)
    m.fit_bounds([[miny, minx], [maxy, maxx]])
    _page(m).header.add_child(folium.Element(_CSS))
    return m


def _group(m: folium.Map, key: str, *, lang: str, show: bool = True) -> folium.FeatureGroup:
    """A toggleable layer named by the i18n `key`."""
    group = folium.FeatureGroup(name=t(key, lang), show=show)
    group.add_to(m)
    return group


def _page(m: folium.Map) -> Figure:
    """The HTML page (branca Figure) the map is drawn in."""
    return cast(Figure, m.get_root())


def _add_title(m: folium.Map, plan: Plan, *, lang: str) -> None:
    """Put the plan name (and the solve status, if known) on top of the page."""
    title = t("map_title", lang, name=plan.name)
    status = plan.summary.get("status") if isinstance(plan.summary, Mapping) else None
    subtitle = (
        "" if status is None else t("map_status", lang, status=_label("status", status, lang))
    )
    _page(m).title = _esc(title)
    _page(m).html.add_child(
        folium.Element(
            '<div style="position:fixed;top:10px;left:50%;transform:translateX(-50%);'
            "z-index:1000;background:rgba(255,255,255,0.92);padding:6px 16px;"
            'border:1px solid #9ca3af;border-radius:4px;text-align:center;font-family:sans-serif">'
            f'<div style="font-size:17px;font-weight:bold">{_esc(title)}</div>'
            f'<div style="font-size:12px;color:#4b5563">{_esc(subtitle)}</div></div>'
        )
    )


def _add_boundary(m: folium.Map, boundary: gpd.GeoDataFrame, *, lang: str) -> None:
    """The county outline: no fill, dark line, not clickable."""
    group = _group(m, "layer_boundary", lang=lang)
    folium.GeoJson(
        boundary[["geometry"]].to_geo_dict(),
        style_function=_boundary_style,
        control=False,
        interactive=False,
    ).add_to(group)


def _add_catchments(
    m: folium.Map,
    catchments: gpd.GeoDataFrame,
    *,
    level: str,
    names: Mapping[str, str],
    colours: Mapping[str, str],
    lang: str,
) -> None:
    """One GeoJson layer of the catchments of `level`, filled with each school's colour."""
    group = _group(m, f"layer_catchments_{level}", lang=lang)
    part = catchments[catchments["level"] == level]
    if part.empty:
        return
    ids = part["school_id"].astype(str)
    tips = [
        _esc(
            t(
                "tooltip_catchment",
                lang,
                school=names.get(sid, sid),
                level=t(f"level_{level}", lang),
                students=f"{_count(students):,}",
                villages=f"{_count(n):,}",
            )
        )
        for sid, students, n in zip(ids, part["students"], part["villages"], strict=True)
    ]
    data = gpd.GeoDataFrame(
        {"tip": tips, "color": ids.map(colours).fillna(_NO_COLOUR).to_numpy()},
        geometry=part.geometry.to_numpy(),
        crs=WGS84,
    )
    folium.GeoJson(
        data.to_geo_dict(),
        style_function=_catchment_style,
        tooltip=folium.GeoJsonTooltip(["tip"], labels=False),
        control=False,
    ).add_to(group)


def _add_links(
    m: folium.Map,
    villages: gpd.GeoDataFrame,
    schools: gpd.GeoDataFrame,
    *,
    level: str,
    colours: Mapping[str, str],
    lang: str,
) -> None:
    """Straight lines from each village to its school of `level`; hidden when the map opens."""
    group = _group(m, f"layer_links_{level}", lang=lang, show=False)
    sites = schools.assign(key=schools["school_id"].astype(str)).drop_duplicates("key")
    sites = sites.set_index("key")
    assigned = villages[villages[f"school_{level}"].notna()]
    ids = assigned[f"school_{level}"].astype(str)
    assigned, ids = assigned[ids.isin(sites.index).to_numpy()], ids[ids.isin(sites.index)]
    if assigned.empty:
        return
    ends = np.stack(
        [
            shapely.get_coordinates(assigned.geometry.to_numpy()),
            shapely.get_coordinates(sites.geometry.loc[ids].to_numpy()),
        ],
        axis=1,
    )
    tips = [
        _esc(
            t(
                "tooltip_link",
                lang,
                village=village,
                school=school,
                km=_number(metres / 1000, 1),
                minutes=_number(minutes, 0),
            )
        )
        for village, school, metres, minutes in zip(
            assigned["name"],
            sites["name"].loc[ids],
            assigned[f"distance_m_{level}"],
            assigned[f"minutes_{level}"],
            strict=True,
        )
    ]
    data = gpd.GeoDataFrame(
        {"tip": tips, "color": ids.map(colours).fillna(_NO_COLOUR).to_numpy()},
        geometry=shapely.linestrings(ends),
        crs=WGS84,
    )
    folium.GeoJson(
        data.to_geo_dict(),
        style_function=_link_style,
        tooltip=folium.GeoJsonTooltip(["tip"], labels=False),
        control=False,
    ).add_to(group)


def _add_villages(
    m: folium.Map, villages: gpd.GeoDataFrame, *, names: Mapping[str, str], lang: str
) -> folium.FeatureGroup:
    """Villages as one GeoJson layer of small circles, area proportional to children."""
    group = _group(m, "layer_villages", lang=lang)
    if villages.empty:
        return group
    children = sum(villages[f"children_{level}"].fillna(0) for level in LEVELS)
    unassigned = np.zeros(len(villages), dtype=bool)
    for level in LEVELS:
        unassigned |= (
            (villages[f"children_{level}"].fillna(0) > 0) & villages[f"school_{level}"].isna()
        ).to_numpy()
    data = gpd.GeoDataFrame(
        {
            "tip": villages["name"].map(_esc).to_numpy(),
            "popup": [
                _village_popup(row, names=names, lang=lang) for row in villages.to_dict("records")
            ],
            "radius": np.round(np.clip(2 + 0.3 * np.sqrt(children.clip(lower=0)), 2, 10), 1),
            "unassigned": unassigned.tolist(),
        },
        geometry=villages.geometry.to_numpy(),
        crs=WGS84,
    )
    folium.GeoJson(
        data.to_geo_dict(),
        style_function=_village_style,
        marker=folium.CircleMarker(class_name="village-marker"),
        tooltip=folium.GeoJsonTooltip(["tip"], labels=False),
        popup=folium.GeoJsonPopup(["popup"], labels=False, localize=False, max_width=320),
        control=False,
    ).add_to(group)
    return group


def _add_schools(m: folium.Map, schools: gpd.GeoDataFrame, *, lang: str) -> folium.FeatureGroup:
    """One circle marker per school: colour by decision, area by students after the plan.

    A closed school is drawn grey with a dashed outline and sized by its students before.
    """
    group = _group(m, "layer_schools", lang=lang)
    before = sum(schools[f"students_{level}_before"].fillna(0) for level in LEVELS)
    after = sum(schools[f"students_{level}"].fillna(0) for level in LEVELS)
    size = after.where(schools["decision"] != "close", before).clip(lower=0)
    radii = np.clip(4 + 0.35 * np.sqrt(size.to_numpy(dtype=float)), 4, 22)
    for row, radius in zip(schools.to_dict("records"), radii, strict=True):
        decision = row["decision"]
        tip = t("tooltip_school", lang, name=row["name"], decision=t(f"decision_{decision}", lang))
        folium.CircleMarker(
            location=[row["geometry"].y, row["geometry"].x],
            radius=float(radius),
            weight=2,
            class_name=f"school-marker school-{decision}",
            popup=folium.Popup(_school_popup(row, lang=lang), max_width=360),
            tooltip=folium.Tooltip(_esc(tip)),
            **_DECISION_STYLE[decision],
        ).add_to(group)
    return group


def _school_popup(row: Mapping[str, Any], *, lang: str) -> str:
    """Popup of one school: identity, students before -> after, classes, class size, use."""
    rows = [
        (t("popup_level", lang), _label("level", row["level"], lang)),
        (t("popup_township", lang), _text(row["township"])),
        (t("popup_decision", lang), _label("decision", row["decision"], lang)),
    ]
    for level in LEVELS:
        before, after = _count(row[f"students_{level}_before"]), _count(row[f"students_{level}"])
        classes = _count(row[f"classes_{level}"])
        if level not in _LEVELS_TAUGHT.get(row["level"], ()) and before + after + classes == 0:
            continue
        name = t(f"level_{level}", lang)
        rows += [
            (t("popup_students", lang, level=name), f"{before:,} → {after:,}"),
            (t("popup_classes", lang, level=name), f"{classes:,}"),
            (
                t("popup_class_size", lang, level=name),
                _number(after / classes, 1) if classes else _MISSING,
            ),
        ]
    use = row.get("utilisation")
    rows.append((t("popup_utilisation", lang), _MISSING if pd.isna(use) else f"{use:.0%}"))
    return _table(rows, heading=str(row["name"]))


def _village_popup(row: Mapping[str, Any], *, names: Mapping[str, str], lang: str) -> str:
    """Popup of one village: children per level and the school each level goes to."""
    rows = [(t("popup_township", lang), _text(row["township"]))]
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
                km=_number(row[f"distance_m_{level}"] / 1000, 1),
                minutes=_number(row[f"minutes_{level}"], 0),
            )
        )
        rows += [
            (t("popup_children", lang, level=name), f"{_count(row[f'children_{level}']):,}"),
            (t("popup_school", lang, level=name), school),
        ]
    return _table(rows, heading=str(row["name"]))


def _add_legend(m: folium.Map, *, lang: str) -> None:
    """A fixed box, bottom left, explaining colours and sizes."""
    items = [
        (_swatch(s["fill_color"], s["color"], dashed="dash_array" in s), f"legend_{decision}")
        for decision, s in _DECISION_STYLE.items()
    ]
    items += [
        (_swatch(_VILLAGE_FILL, "#ffffff"), "legend_village"),
        (_swatch(_VILLAGE_FILL, _UNASSIGNED), "legend_unassigned"),
        (_swatch(_PALETTE[0], "#4b5563", round_=False), "legend_catchment"),
    ]
    rows = "".join(f"<div>{swatch}{_esc(t(key, lang))}</div>" for swatch, key in items)
    _page(m).html.add_child(
        folium.Element(
            '<div class="plan-legend" style="position:fixed;bottom:24px;left:10px;z-index:1000;'
            "background:rgba(255,255,255,0.92);padding:8px 10px;border:1px solid #9ca3af;"
            'border-radius:4px;font-size:12px;line-height:20px;font-family:sans-serif">'
            f"<b>{_esc(t('legend_title', lang))}</b>{rows}"
            f'<div style="color:#4b5563">{_esc(t("legend_school_size", lang))}</div></div>'
        )
    )


def _swatch(fill: str, line: str, *, dashed: bool = False, round_: bool = True) -> str:
    """A small legend symbol: a circle (markers) or a square (areas)."""
    return (
        '<span style="display:inline-block;width:12px;height:12px;margin-right:6px;'
        f"vertical-align:middle;border-radius:{'50%' if round_ else '2px'};background:{fill};"
        f'border:2px {"dashed" if dashed else "solid"} {line}"></span>'
    )


# -- styles (GeoJSON feature -> Leaflet path options) --------------------------------------------


def _boundary_style(feature: dict[str, Any]) -> dict[str, Any]:
    return {"fill": False, "color": "#111827", "weight": 3, "opacity": 0.9}


def _catchment_style(feature: dict[str, Any]) -> dict[str, Any]:
    colour = feature["properties"]["color"]
    return {"fillColor": colour, "fillOpacity": 0.35, "color": "#4b5563", "weight": 1}


def _link_style(feature: dict[str, Any]) -> dict[str, Any]:
    return {"color": feature["properties"]["color"], "weight": 2, "opacity": 0.85}


def _village_style(feature: dict[str, Any]) -> dict[str, Any]:
    props = feature["properties"]
    return {
        "radius": props["radius"],
        "fillColor": _VILLAGE_FILL,
        "fillOpacity": 0.8,
        "color": _UNASSIGNED if props["unassigned"] else "#ffffff",
        "weight": 2 if props["unassigned"] else 1,
    }


class _KeepOnTop(MacroElement):
    """Bring the given layers back on top whenever another overlay is switched on.

    Leaflet draws a layer switched on last above the others, so catchments turned off and on
    again would cover the school and village markers and catch their clicks.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.on("overlayadd", function () {
            {%- for layer in this.layers %}
            {{ layer.get_name() }}.bringToFront();
            {%- endfor %}
        });
        {% endmacro %}
        """
    )

    def __init__(self, layers: Sequence[folium.FeatureGroup]) -> None:
        super().__init__()
        self._name = "KeepOnTop"
        self.layers = list(layers)
