"""The map of a plan: one HTML page a planner opens in a browser and shows in a meeting.

:func:`plan_map` draws a plan with Folium: the county boundary; schools by decision (kept,
expanded, new, closed) as distinct symbols sized by students; villages sized by children;
catchments per level; village-to-school links per level; a legend, a title and a layer switcher.
:func:`comparison_map` draws two plans of the same county with an A/B switch and the changes
between them. :func:`write_map` writes the page atomically.

The page is self-contained: Leaflet's script and style sheet are inlined
(:mod:`planning._assets`), no other library is used, and base tiles are optional
(:class:`BaseTiles`), so the map opens on an office machine without internet.

Every visible word comes from :mod:`planning.i18n`. Every text taken from the input data (names,
townships, ids) is escaped before it becomes HTML, and goes into the page only as JSON data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal
from urllib.parse import urlsplit

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Figure

from planning._assets import inline_leaflet
from planning._errors import InputError, Problem
from planning._html import esc, write_text_atomic
from planning._map_elements import (
    DECISIONS,
    KeepOnTop,
    LegendControl,
    PlanToggle,
    school_icon,
)
from planning._map_layers import (
    PALETTE,
    UNASSIGNED,
    VILLAGE_FILL,
    Layers,
    add_catchments,
    add_links,
    add_schools,
    add_villages,
    symbol_size,
)
from planning._popups import label
from planning.i18n import t

if TYPE_CHECKING:
    from planning.plan import Plan

__all__ = ["BaseTiles", "comparison_map", "plan_map", "write_map"]

WGS84: Final = "EPSG:4326"
LEVELS: Final = ("primary", "junior")

_CHANGE: Final = {"closed": "#dc2626", "opened": "#16a34a", "village": "#7c3aed", "old": "#6b7280"}
_GCJ02_HOSTS: Final = ("autonavi.com", "amap.com", "gtimg.com", "map.qq.com")
_CSS: Final = """<style>
.leaflet-container{background:#f1f5f9;font-family:"Noto Sans CJK SC","Microsoft YaHei",
"PingFang SC",sans-serif}
.plan-popup{font-size:13px}.plan-popup table{border-collapse:collapse;margin-top:4px}
.plan-popup th{text-align:left;font-weight:normal;color:#555;padding:1px 8px 1px 0}
.plan-popup td{padding:1px 6px}.plan-popup td.n{text-align:right}
.plan-popup table.before-after tr:first-child th{font-weight:bold;text-align:right;color:#333}
.school-marker svg{display:block;overflow:visible}
.plan-legend{background:rgba(255,255,255,.94);padding:8px 10px;border:1px solid #9ca3af;
border-radius:4px;font-size:12px;line-height:20px;max-width:260px}
.plan-legend svg,.plan-legend .swatch{vertical-align:middle;margin-right:6px}
.plan-legend .note{color:#b91c1c;font-weight:bold;line-height:16px;margin-top:4px}
.plan-legend .sizes{color:#4b5563}
.plan-title{position:fixed;top:10px;left:50%;transform:translateX(-50%);z-index:1000;
background:rgba(255,255,255,.94);padding:6px 16px;border:1px solid #9ca3af;border-radius:4px;
text-align:center;max-width:calc(100% - 560px);min-width:240px}
.plan-title .name{font-size:17px;font-weight:bold}.plan-title .sub{font-size:12px;color:#4b5563}
.plan-toggle a{width:auto!important;padding:0 10px;font-weight:bold}
.plan-toggle a.active{background:#1e3a8a;color:#fff}
@media (max-width:900px){.plan-title{max-width:60%;top:60px}}
</style>"""


@dataclass(frozen=True)
class BaseTiles:
    """A base map of raster tiles under the plan. Optional: the plan's layers need none.

    Parameters
    ----------
    url : str
        Tile URL template with ``{z}``, ``{x}``, ``{y}`` (and ``{s}`` for subdomains), e.g.
        Tianditu's vector map in Web Mercator with the planner's key::

            https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0
            &LAYER=vec&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}
            &TILECOL={x}&tk=YOUR_KEY

        (one line, ``subdomains="01234567"``).
    attribution : str, default ""
        Plain text credited in the map corner; the tile server's host name if empty.
    coordinates : {"wgs84", "gcj02"}, default "wgs84"
        The datum the tiles are drawn in. Tianditu (CGCS2000) and OpenStreetMap are WGS-84 to
        within a metre; AMap (高德) and Tencent tiles are GCJ-02, offset by hundreds of metres
        from the plan's WGS-84 points, and the map then says so.
    subdomains : str, default "abc"
        Values of ``{s}``.
    max_zoom : int, default 18
        Highest zoom level the server provides.
    name : str, optional
        Name in the layer switcher; by default a translated "base map".
    """

    url: str
    attribution: str = ""
    coordinates: Literal["wgs84", "gcj02"] = "wgs84"
    subdomains: str = "abc"
    max_zoom: int = 18
    name: str | None = None

    @classmethod
    def parse(cls, spec: str | BaseTiles | None) -> BaseTiles | None:
        """Tiles from a short spec: ``None`` or ``"none"``, ``"osm"``, or a URL template.

        A URL on a known GCJ-02 host (AMap, Tencent) is marked ``coordinates="gcj02"``.

        Raises
        ------
        ValueError
            If `spec` is neither ``"none"``, ``"osm"`` nor a URL template with ``{z}``.
        """
        if spec is None or isinstance(spec, BaseTiles):
            return spec
        if spec.lower() in ("none", ""):
            return None
        if spec.lower() == "osm":
            return cls(
                url="https://tile.openstreetmap.org/{z}/{x}/{y}.png",
                attribution="© OpenStreetMap contributors",
                max_zoom=19,
                name="osm",
            )
        host = urlsplit(spec).hostname or ""
        if not host or "{z}" not in spec:
            raise ValueError(
                f"tiles must be 'none', 'osm' or a URL template with {{z}}, {{x}}, {{y}}; "
                f"found {spec!r}"
            )
        gcj = any(host == h or host.endswith("." + h) for h in _GCJ02_HOSTS)
        return cls(url=spec, coordinates="gcj02" if gcj else "wgs84")


def plan_map(
    plan: Plan,
    boundary: gpd.GeoDataFrame,
    *,
    lang: str = "zh",
    tiles: str | BaseTiles | None = None,
    routes: gpd.GeoDataFrame | None = None,
) -> folium.Map:
    """Draw a plan on an interactive, self-contained Folium map.

    Parameters
    ----------
    plan : Plan
        The plan (anything with ``name``, ``schools``, ``villages``, ``catchments`` and
        ``summary`` as in :class:`planning.plan.Plan`). Schools' ``decision`` is keep, expand,
        new or close; an optional ``classrooms_added`` column is shown for expanded schools.
        Layers may be in any CRS; they are reprojected to WGS-84 (EPSG:4326).
    boundary : geopandas.GeoDataFrame
        The county boundary (one or more polygons), in any CRS. The map is fitted to it.
    lang : {"zh", "en"}, default "zh"
        Language of every visible word (title, layers, legend, popups).
    tiles : {None, "none", "osm"}, str or BaseTiles, optional
        Base map: none (default: works offline), OpenStreetMap, a tile URL template, or
        :class:`BaseTiles`.
    routes : geopandas.GeoDataFrame, optional
        Route lines with ``village_id``, ``level`` and a LineString per row (any CRS), drawn as
        the village-school links; villages without a route get a straight line.

    Returns
    -------
    folium.Map
        Layers: county boundary; primary catchments (shown) and junior catchments (hidden);
        primary and junior village-school links (hidden); villages; schools.

    Raises
    ------
    InputError
        If a layer has no CRS, or a school's ``decision`` is not one of the four.
    ValueError
        If `lang` is not ``"zh"`` or ``"en"``, or `tiles` is not understood.
    """
    t("map", lang)  # fail early on an unknown language
    base = BaseTiles.parse(tiles)
    layers, wgs_boundary = _prepare(plan, boundary, where="plan")
    colours = _school_colours(layers.catchments)
    m = _base_map(wgs_boundary, tiles=base, lang=lang)
    _add_title(m, t("map_title", lang, name=plan.name), _status_line(plan.summary, lang))
    _add_boundary(m, wgs_boundary, lang=lang)
    for level in LEVELS:
        group = _group(m, t(f"layer_catchments_{level}", lang), show=level == "primary")
        add_catchments(group, layers, level=level, colours=colours, lang=lang)
    for level in LEVELS:
        group = _group(m, t(f"layer_links_{level}", lang), show=False)
        add_links(group, layers, level=level, colours=colours, routes=routes, lang=lang)
    villages = _group(m, t("layer_villages", lang))
    add_villages(villages, layers, lang=lang)
    add_schools(_group(m, t("layer_schools", lang)), layers, lang=lang)
    KeepOnTop([villages]).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    decisions = [d for d in DECISIONS if d != "expand" or (plan.schools["decision"] == d).any()]
    _add_legend(m, decisions=decisions, extra=_plan_legend_items(lang), tiles=base, lang=lang)
    return m


def comparison_map(
    before: Plan,
    after: Plan,
    boundary: gpd.GeoDataFrame,
    *,
    lang: str = "zh",
    tiles: str | BaseTiles | None = None,
) -> folium.Map:
    """Draw two plans of the same county, with an A/B switch and what changed between them.

    Plan A (`before`) and plan B (`after`) each have their catchments per level and their
    schools; two buttons switch between A's layers and B's. Always on top: schools that are open
    in A but not in B (red ring) or open in B but not in A (green ring), and villages whose
    school changed (purple ring, a dashed line to A's school and a solid one to B's).

    Parameters
    ----------
    before, after : Plan
        Plans A and B; schools and villages are matched by ``school_id`` and ``village_id``.
    boundary : geopandas.GeoDataFrame
        The county boundary, in any CRS.
    lang : {"zh", "en"}, default "zh"
        Language of every visible word.
    tiles : {None, "none", "osm"}, str or BaseTiles, optional
        Base map, as in :func:`plan_map`.

    Returns
    -------
    folium.Map
        The map; B's primary catchments and schools and all changes are shown at first.

    Raises
    ------
    InputError
        If a layer has no CRS or a decision is unknown.
    """
    t("map", lang)
    base = BaseTiles.parse(tiles)
    a, wgs_boundary = _prepare(before, boundary, where="before")
    b, _ = _prepare(after, boundary, where="after")
    colours = _school_colours(pd.concat([b.catchments, a.catchments], ignore_index=True))
    m = _base_map(wgs_boundary, tiles=base, lang=lang)
    _add_title(
        m,
        t("compare_title", lang),
        t("compare_subtitle", lang, a=before.name, b=after.name),
    )
    _add_boundary(m, wgs_boundary, lang=lang)
    pairs = [_plan_pair(m, a, b, level=lvl, colours=colours, lang=lang) for lvl in LEVELS]
    pairs.append(_school_pair(m, a, b, lang=lang))
    villages = _group(m, t("layer_villages", lang))
    add_villages(villages, b, lang=lang)
    on_top = [villages]
    for level in LEVELS:
        group = _group(m, t(f"layer_changed_villages_{level}", lang))
        _add_village_changes(group, a, b, level=level, lang=lang)
        on_top.append(group)
    _add_school_changes(_group(m, t("layer_changed_schools", lang)), a, b, lang=lang)
    KeepOnTop(on_top).add_to(m)
    labels = (t("compare_show_a", lang), t("compare_show_b", lang))
    PlanToggle(pairs, labels=labels, on_top=on_top).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    decisions = [
        d
        for d in DECISIONS
        if d != "expand" or any((p.schools["decision"] == d).any() for p in (before, after))
    ]
    _add_legend(m, decisions=decisions, extra=_change_legend_items(lang), tiles=base, lang=lang)
    return m


def write_map(m: folium.Map, path: str | Path) -> Path:
    """Write the map as one self-contained HTML file, atomically.

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
    return write_text_atomic(m.get_root().render(), path)


# -- input ---------------------------------------------------------------------------------------


def _prepare(
    plan: Plan, boundary: gpd.GeoDataFrame, *, where: str
) -> tuple[Layers, gpd.GeoDataFrame]:
    """Check a plan's layers (CRS present, decisions known) and reproject them to WGS-84."""
    layers = {
        f"{where}.schools": plan.schools,
        f"{where}.villages": plan.villages,
        f"{where}.catchments": plan.catchments,
        "boundary": boundary,
    }
    problems = [
        Problem(file=name, message="layer has no CRS; set the CRS its coordinates are in")
        for name, layer in layers.items()
        if layer.crs is None
    ]
    bad = ~plan.schools["decision"].isin(list(DECISIONS))
    problems += [
        Problem(
            file=f"{where}.schools",
            row=str(sid),
            field="decision",
            message=f"expected one of {sorted(DECISIONS)}, found {decision!r}",
        )
        for sid, decision in zip(
            plan.schools.loc[bad, "school_id"], plan.schools.loc[bad, "decision"], strict=True
        )
    ]
    if problems:
        raise InputError(problems)
    schools, villages, catchments, wgs_boundary = (layer.to_crs(WGS84) for layer in layers.values())
    names = dict(zip(schools["school_id"].astype(str), schools["name"].astype(str), strict=True))
    return Layers(schools, villages, catchments, names), wgs_boundary


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
        free = [colour for colour in PALETTE if colour not in used]
        colours[sid] = free[0] if free else PALETTE[len(colours) % len(PALETTE)]
    return colours


def _status_line(summary: Mapping[str, Any], lang: str) -> str:
    """The subtitle: how the plan was solved, if known."""
    status = summary.get("status") if isinstance(summary, Mapping) else None
    return "" if status is None else t("map_status", lang, status=label("status", status, lang))


# -- page ----------------------------------------------------------------------------------------


def _page(m: folium.Map) -> Figure:
    """The HTML page (branca Figure) the map is drawn in."""
    root = m.get_root()
    assert isinstance(root, Figure)
    return root


def _base_map(boundary: gpd.GeoDataFrame, *, tiles: BaseTiles | None, lang: str) -> folium.Map:
    """An empty self-contained map fitted to the boundary, with the base tiles if any."""
    minx, miny, maxx, maxy = boundary.total_bounds
    m = folium.Map(
        location=[(miny + maxy) / 2, (minx + maxx) / 2],
        zoom_start=10,
        tiles=None,
        control_scale=True,
    )
    inline_leaflet(m)
    if tiles is not None:
        host = urlsplit(tiles.url).hostname or ""
        name = tiles.name if tiles.name not in (None, "osm") else None
        folium.TileLayer(
            tiles=tiles.url,
            attr=esc(tiles.attribution or host),
            name=name or t("layer_osm" if tiles.name == "osm" else "layer_tiles", lang),
            subdomains=tiles.subdomains,
            max_zoom=tiles.max_zoom,
        ).add_to(m)
    # Open at the county at once: an animated zoom from Folium's default view would also swallow
    # a view set while it runs (Leaflet ignores setView during a zoom animation).
    fit = folium.FitBounds([[miny, minx], [maxy, maxx]])
    fit.options["animate"] = False
    m.add_child(fit)
    _page(m).header.add_child(folium.Element(_CSS), name="plan_css")
    return m


def _group(m: folium.Map, name: str, *, show: bool = True) -> folium.FeatureGroup:
    """A toggleable layer with a visible `name`."""
    group = folium.FeatureGroup(name=esc(name), show=show)
    group.add_to(m)
    return group


def _add_title(m: folium.Map, title: str, subtitle: str) -> None:
    """Put the title (and a subtitle) on top of the page and in the browser tab."""
    _page(m).title = esc(title)
    _page(m).html.add_child(
        folium.Element(
            f'<div class="plan-title"><div class="name">{esc(title)}</div>'
            f'<div class="sub">{esc(subtitle)}</div></div>'
        )
    )


def _add_boundary(m: folium.Map, boundary: gpd.GeoDataFrame, *, lang: str) -> None:
    """The county outline: no fill, dark line, not clickable."""
    group = _group(m, t("layer_boundary", lang))
    folium.GeoJson(
        boundary[["geometry"]].to_geo_dict(),
        style_function=_boundary_style,
        control=False,
        interactive=False,
    ).add_to(group)


# -- comparison layers ---------------------------------------------------------------------------


def _plan_pair(
    m: folium.Map,
    a: Layers,
    b: Layers,
    *,
    level: str,
    colours: Mapping[str, str],
    lang: str,
) -> tuple[folium.FeatureGroup, folium.FeatureGroup]:
    """The catchments of `level` of plans A and B, as two layers; B's primary shown."""
    groups = []
    for side, layers in (("a", a), ("b", b)):
        name = t(f"layer_catchments_{level}_of", lang, plan=t(f"compare_{side}", lang))
        group = _group(m, name, show=side == "b" and level == "primary")
        add_catchments(group, layers, level=level, colours=colours, lang=lang)
        groups.append(group)
    return groups[0], groups[1]


def _school_pair(
    m: folium.Map, a: Layers, b: Layers, *, lang: str
) -> tuple[folium.FeatureGroup, folium.FeatureGroup]:
    """The schools of plans A and B, as two layers; B's shown."""
    groups = []
    for side, layers in (("a", a), ("b", b)):
        name = t("layer_schools_of", lang, plan=t(f"compare_{side}", lang))
        group = _group(m, name, show=side == "b")
        add_schools(group, layers, lang=lang)
        groups.append(group)
    return groups[0], groups[1]


def _is_open(schools: pd.DataFrame) -> pd.Series:
    """Open after the plan, by school id."""
    ids = schools["school_id"].astype(str).to_numpy()
    return pd.Series((schools["decision"] != "close").to_numpy(), index=ids).groupby(level=0).any()


def _add_school_changes(group: folium.FeatureGroup, a: Layers, b: Layers, *, lang: str) -> None:
    """Rings around schools open in A but not in B (closed) and open in B but not in A."""
    open_a, open_b = _is_open(a.schools), _is_open(b.schools)
    ids = open_a.index.union(open_b.index)
    open_a, open_b = open_a.reindex(ids, fill_value=False), open_b.reindex(ids, fill_value=False)
    change = pd.Series(np.where(open_a & ~open_b, "closed", ""), index=ids)
    change[open_b & ~open_a] = "opened"
    change = change[change != ""]
    if change.empty:
        return
    where = pd.concat([b.schools, a.schools]).assign(sid=lambda s: s["school_id"].astype(str))
    where = where.drop_duplicates("sid").set_index("sid").loc[change.index]
    tips = [
        esc(t(f"tooltip_school_{kind}", lang, name=name))
        for kind, name in zip(change, where["name"], strict=True)
    ]
    data = gpd.GeoDataFrame(
        {"tip": tips, "change": change.to_numpy()}, geometry=where.geometry.to_numpy(), crs=WGS84
    )
    folium.GeoJson(
        data.to_geo_dict(),
        style_function=_school_change_style,
        marker=folium.CircleMarker(radius=20, class_name="change-school"),
        tooltip=folium.GeoJsonTooltip(["tip"], labels=False),
        control=False,
    ).add_to(group)


def _changed_villages(a: Layers, b: Layers, level: str) -> pd.DataFrame:
    """Villages whose school of `level` differs between A and B, with both schools."""
    col = f"school_{level}"
    left = a.villages[["village_id", col]].assign(village_id=lambda v: v["village_id"].astype(str))
    right = b.villages[["village_id", "name", col, "geometry"]].assign(
        village_id=lambda v: v["village_id"].astype(str)
    )
    both = right.merge(left, on="village_id", suffixes=("_b", "_a"))
    differs = both[f"{col}_a"].fillna("").astype(str) != both[f"{col}_b"].fillna("").astype(str)
    return both[differs.to_numpy()]


def _add_village_changes(
    group: folium.FeatureGroup, a: Layers, b: Layers, *, level: str, lang: str
) -> None:
    """Villages whose school changed: a ring, a dashed line to A's school, a solid one to B's."""
    changed = _changed_villages(a, b, level)
    if changed.empty:
        return
    sites = pd.concat([b.schools, a.schools]).assign(sid=lambda s: s["school_id"].astype(str))
    sites = sites.drop_duplicates("sid").set_index("sid")
    names = {**a.names, **b.names}
    unassigned = t("popup_unassigned", lang)
    features: list[dict[str, Any]] = []
    for row in changed.to_dict("records"):
        ends = {side: row[f"school_{level}_{side}"] for side in ("a", "b")}
        tip = esc(
            t(
                "tooltip_village_change",
                lang,
                village=row["name"],
                level=t(f"level_{level}", lang),
                a=unassigned if pd.isna(ends["a"]) else names.get(str(ends["a"]), ends["a"]),
                b=unassigned if pd.isna(ends["b"]) else names.get(str(ends["b"]), ends["b"]),
            )
        )
        point = row["geometry"]
        features.append(_feature(point, kind="village", tip=tip))
        for side, sid in ends.items():
            if not pd.isna(sid) and str(sid) in sites.index:
                school = sites.geometry.loc[str(sid)]
                line = shapely.LineString([point, school])
                features.append(_feature(line, kind="old" if side == "a" else "new", tip=tip))
    folium.GeoJson(
        {"type": "FeatureCollection", "features": features},
        style_function=_village_change_style,
        marker=folium.CircleMarker(radius=9, class_name="change-village"),
        tooltip=folium.GeoJsonTooltip(["tip"], labels=False),
        control=False,
    ).add_to(group)


def _feature(geometry: shapely.Geometry, **properties: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": shapely.geometry.mapping(shapely.set_precision(geometry, 1e-6)),
        "properties": properties,
    }


# -- legend --------------------------------------------------------------------------------------


def _swatch(fill: str, line: str, *, dashed: bool = False, round_: bool = True) -> str:
    """A small legend symbol: a circle (markers), a square (areas) or a line."""
    return (
        '<span class="swatch" style="display:inline-block;width:12px;height:12px;'
        f"border-radius:{'50%' if round_ else '2px'};background:{fill};"
        f'border:2px {"dashed" if dashed else "solid"} {line}"></span>'
    )


def _line_swatch(colour: str, *, dashed: bool = False) -> str:
    return (
        '<span class="swatch" style="display:inline-block;width:16px;height:0;'
        f'border-top:3px {"dashed" if dashed else "solid"} {colour}"></span>'
    )


def _plan_legend_items(lang: str) -> list[tuple[str, str]]:
    """Legend rows for villages and catchments: (symbol HTML, label)."""
    return [
        (_swatch(VILLAGE_FILL, "#ffffff"), t("legend_village", lang)),
        (_swatch(VILLAGE_FILL, UNASSIGNED), t("legend_unassigned", lang)),
        (_swatch(PALETTE[0], "#4b5563", round_=False), t("legend_catchment", lang)),
    ]


def _change_legend_items(lang: str) -> list[tuple[str, str]]:
    """Legend rows for the comparison's changes."""
    return [
        (_swatch("transparent", _CHANGE["closed"], dashed=True), t("legend_school_closed", lang)),
        (_swatch("transparent", _CHANGE["opened"]), t("legend_school_opened", lang)),
        (_swatch("transparent", _CHANGE["village"]), t("legend_village_changed", lang)),
        (_line_swatch(_CHANGE["old"], dashed=True), t("legend_line_a", lang)),
        (_line_swatch(_CHANGE["village"]), t("legend_line_b", lang)),
        (_swatch(PALETTE[0], "#4b5563", round_=False), t("legend_catchment", lang)),
    ]


def _add_legend(
    m: folium.Map,
    *,
    decisions: Sequence[str],
    extra: Sequence[tuple[str, str]],
    tiles: BaseTiles | None,
    lang: str,
) -> None:
    """The legend, as a control in the bottom-left corner (above the scale bar)."""
    items = [(school_icon(d, 14), t(f"legend_{d}", lang)) for d in decisions]
    rows = "".join(f"<div>{symbol}{esc(text)}</div>" for symbol, text in [*items, *extra])
    examples = pd.Series([100, 500, 2000])
    sizes = "".join(
        school_icon("keep", float(size)) + f"{students:,} "
        for students, size in zip(
            examples, symbol_size(examples, pd.Series(["keep"] * 3)), strict=True
        )
    )
    note = ""
    if tiles is not None and tiles.coordinates == "gcj02":
        note = f'<div class="note">{esc(t("map_note_gcj02", lang))}</div>'
    html = (
        f"<b>{esc(t('legend_title', lang))}</b>{rows}"
        f'<div class="sizes">{esc(t("legend_school_size", lang))}</div>'
        f'<div class="sizes">{sizes}</div>{note}'
    )
    LegendControl(html).add_to(m)


# -- styles (GeoJSON feature -> Leaflet path options) --------------------------------------------


def _boundary_style(feature: dict[str, Any]) -> dict[str, Any]:
    return {"fill": False, "color": "#111827", "weight": 3, "opacity": 0.9}


def _school_change_style(feature: dict[str, Any]) -> dict[str, Any]:
    closed = feature["properties"]["change"] == "closed"
    return {
        "fill": False,
        "color": _CHANGE["closed" if closed else "opened"],
        "weight": 4,
        "dashArray": "6 4" if closed else None,
    }


def _village_change_style(feature: dict[str, Any]) -> dict[str, Any]:
    kind = feature["properties"]["kind"]
    if kind == "village":
        return {"fill": False, "color": _CHANGE["village"], "weight": 3}
    if kind == "old":
        return {"color": _CHANGE["old"], "weight": 2, "dashArray": "5 5", "className": "old"}
    return {"color": _CHANGE["village"], "weight": 3, "className": "new"}
