"""Catchments (学区): village areas dissolved per school and level."""

from __future__ import annotations

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
