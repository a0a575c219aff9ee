"""The layers of a plan map: catchments, village-school links, villages and school symbols.

Used by :mod:`planning.maps`; each function draws one layer of one plan into a Folium feature
group. Text from the data is escaped here (:func:`planning._html.esc`) or in
:mod:`planning._popups`, and reaches the page only as JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from planning._html import esc
from planning._map_elements import MarkerLayer, school_icon
from planning._popups import count, number, school_popup, school_travel, village_popup
from planning.i18n import t

__all__ = [
    "PALETTE",
    "Layers",
    "add_catchments",
    "add_links",
    "add_schools",
    "add_villages",
    "symbol_size",
]

WGS84: Final = "EPSG:4326"
LEVELS: Final = ("primary", "junior")

# categorical palette for catchments (Tableau 10 without its grey, plus three lighter tones)
PALETTE: Final = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948",
    "#b07aa1", "#ff9da7", "#9c755f", "#86bcb6", "#d4a6c8", "#8cd17d",
)  # fmt: skip
NO_COLOUR: Final = "#6b7280"
VILLAGE_FILL: Final = "#374151"
UNASSIGNED: Final = "#dc2626"

# symbols drawn on top of each other: changes above kept schools, smaller above larger
Z_OFFSET: Final = {"keep": 0, "close": 1500, "expand": 3000, "new": 3000}


@dataclass(frozen=True)
class Layers:
    """A plan's layers in WGS-84, with school names by id."""

    schools: gpd.GeoDataFrame
    villages: gpd.GeoDataFrame
    catchments: gpd.GeoDataFrame
    names: dict[str, str]


def add_catchments(
    group: folium.FeatureGroup,
    layers: Layers,
    *,
    level: str,
    colours: Mapping[str, str],
    lang: str,
) -> None:
    """The catchments of `level`, each filled with its school's colour."""
    part = layers.catchments[layers.catchments["level"] == level]
    if part.empty:
        return
    ids = part["school_id"].astype(str)
    tips = [
        esc(
            t(
                "tooltip_catchment",
                lang,
                school=layers.names.get(sid, sid),
                level=t(f"level_{level}", lang),
                students=f"{count(students):,}",
                villages=f"{count(n):,}",
            )
        )
        for sid, students, n in zip(ids, part["students"], part["villages"], strict=True)
    ]
    data = gpd.GeoDataFrame(
        {"tip": tips, "color": ids.map(colours).fillna(NO_COLOUR).to_numpy()},
        geometry=part.geometry.to_numpy(),
        crs=WGS84,
    )
    folium.GeoJson(
        data.to_geo_dict(),
        style_function=_catchment_style,
        tooltip=folium.GeoJsonTooltip(["tip"], labels=False),
        control=False,
        className=f"catchment catchment-{level}",
    ).add_to(group)


def link_geometry(
    assigned: gpd.GeoDataFrame,
    ends: np.ndarray,
    routes: gpd.GeoDataFrame | None,
    level: str,
) -> np.ndarray:
    """Route lines where given (by village id), straight lines elsewhere."""
    lines = shapely.linestrings(ends)
    if routes is None or routes.empty:
        return lines
    mine = routes[routes["level"] == level].to_crs(WGS84)
    by_village = pd.Series(mine.geometry.to_numpy(), index=mine["village_id"].astype(str))
    by_village = by_village[~by_village.index.duplicated()]
    route = by_village.reindex(assigned["village_id"].astype(str)).to_numpy()
    return np.where(pd.isna(route), lines, route)


def add_links(
    group: folium.FeatureGroup,
    layers: Layers,
    *,
    level: str,
    colours: Mapping[str, str],
    routes: gpd.GeoDataFrame | None,
    lang: str,
) -> None:
    """Lines from each village to its school of `level` (routes if given, else straight)."""
    sites = layers.schools.assign(key=layers.schools["school_id"].astype(str))
    sites = sites.drop_duplicates("key").set_index("key")
    villages = layers.villages
    ids = villages[f"school_{level}"].astype("string")
    keep = ids.isin(sites.index).fillna(False).to_numpy(dtype=bool)
    assigned, ids = villages[keep], ids[keep].astype(str)
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
        esc(
            t(
                "tooltip_link",
                lang,
                village=village,
                school=school,
                km=number(metres / 1000, 1),
                minutes=number(minutes, 0),
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
        {"tip": tips, "color": ids.map(colours).fillna(NO_COLOUR).to_numpy()},
        geometry=link_geometry(assigned, ends, routes, level),
        crs=WGS84,
    )
    folium.GeoJson(
        data.to_geo_dict(),
        style_function=_link_style,
        tooltip=folium.GeoJsonTooltip(["tip"], labels=False),
        control=False,
        className=f"link link-{level}",
    ).add_to(group)


def add_villages(group: folium.FeatureGroup, layers: Layers, *, lang: str) -> None:
    """Villages as small circles, area proportional to children; red ring if unassigned."""
    villages = layers.villages
    if villages.empty:
        return
    children = sum(villages[f"children_{level}"].fillna(0) for level in LEVELS)
    unassigned = np.zeros(len(villages), dtype=bool)
    for level in LEVELS:
        unassigned |= (
            (villages[f"children_{level}"].fillna(0) > 0) & villages[f"school_{level}"].isna()
        ).to_numpy()
    data = gpd.GeoDataFrame(
        {
            "tip": villages["name"].map(esc).to_numpy(),
            "popup": [
                village_popup(row, names=layers.names, lang=lang)
                for row in villages.to_dict("records")
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
        popup=folium.GeoJsonPopup(["popup"], labels=False, localize=False, max_width=340),
        control=False,
    ).add_to(group)


def symbol_size(students: pd.Series, decisions: pd.Series) -> np.ndarray:
    """Symbol width in pixels: area grows with students; stars a little larger."""
    size = np.clip(12 + 0.6 * np.sqrt(students.clip(lower=0).to_numpy(dtype=float)), 12, 42)
    return np.round(np.where(decisions.to_numpy() == "new", size * 1.25, size), 1)


def school_students(schools: pd.DataFrame) -> pd.Series:
    """Students a symbol is sized by: after the plan, or before it for closed schools."""
    before = sum(schools[f"students_{level}_before"].fillna(0) for level in LEVELS)
    after = sum(schools[f"students_{level}"].fillna(0) for level in LEVELS)
    return after.where(schools["decision"] != "close", before)


def add_schools(group: folium.FeatureGroup, layers: Layers, *, lang: str) -> None:
    """One symbol per school: shape and colour by decision, area by students.

    Where symbols overlap (the county seat), new and expanded schools are drawn on top, then
    closed ones, then kept ones; within each, smaller symbols above larger ones.
    """
    schools = layers.schools
    if schools.empty:
        return
    travel = school_travel(layers.villages)
    sizes = symbol_size(school_students(schools), schools["decision"])
    features = []
    for row, size in zip(schools.to_dict("records"), sizes, strict=True):
        decision = row["decision"]
        tip = t("tooltip_school", lang, name=row["name"], decision=t(f"decision_{decision}", lang))
        properties = {
            "icon": school_icon(decision, float(size)),
            "css": f"school-marker school-{decision}",
            "size": float(size),
            "z": int(-20 * size) + Z_OFFSET[decision],
            "tip": esc(tip),
            "popup": school_popup(row, travel=travel, lang=lang),
        }
        features.append(point_feature(row["geometry"], properties))
    MarkerLayer({"type": "FeatureCollection", "features": features}).add_to(group)


def point_feature(point: shapely.Point, properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [round(point.x, 6), round(point.y, 6)]},
        "properties": properties,
    }


# -- styles (GeoJSON feature -> Leaflet path options) --------------------------------------------


def _catchment_style(feature: dict[str, Any]) -> dict[str, Any]:
    colour = feature["properties"]["color"]
    return {"fillColor": colour, "fillOpacity": 0.35, "color": "#4b5563", "weight": 1}


def _link_style(feature: dict[str, Any]) -> dict[str, Any]:
    return {"color": feature["properties"]["color"], "weight": 2, "opacity": 0.85}


def _village_style(feature: dict[str, Any]) -> dict[str, Any]:
    props = feature["properties"]
    return {
        "radius": props["radius"],
        "fill": True,
        "fillColor": VILLAGE_FILL,
        "fillOpacity": 0.8,
        "color": UNASSIGNED if props["unassigned"] else "#ffffff",
        "weight": 2 if props["unassigned"] else 1,
    }
