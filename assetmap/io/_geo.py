"""GIS readers: GeoJSON, GeoPackage and zipped shapefiles, from bytes held in memory.

GDAL only ever sees bytes (pyogrio puts them in ``/vsimem/``), never a user-given path.
One broken ring never sinks the file: geometries GEOS cannot build are repaired where
possible and reported by feature number; the others become "no location".
The frame's index is the 1-based feature number.
"""

from __future__ import annotations

import io
import logging
import warnings
import zipfile
from pathlib import PurePosixPath

import geopandas as gpd
import pandas as pd
import shapely

from assetmap._errors import InputError
from assetmap.io._common import Loaded
from assetmap.io._zip import SafeZip, open_zip
from assetmap.report import ValidationReport

__all__ = ["list_layers", "read_geo_bytes", "shapefile_layers"]

log = logging.getLogger(__name__)

_SHP_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")


def _gdal_message(exc: Exception) -> str:
    text = str(exc)
    text = text.split("; It might help")[0]
    if "/vsimem/" in text and "not recognized" in text:
        return "GDAL does not recognise the format"
    return text[:300]


def _layers_of(data: bytes, name: str) -> list[str]:
    import pyogrio

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return [str(row[0]) for row in pyogrio.list_layers(io.BytesIO(data))]
    except Exception as exc:  # pyogrio.errors.* and GDAL failures
        raise InputError(f"{name}: cannot open as a GIS file ({_gdal_message(exc)}).") from exc


def _choose_layer(
    layers: list[str], layer: str | int | None, name: str, report: ValidationReport
) -> str:
    if not layers:
        raise InputError(f"{name}: the file has no layers.")
    if layer is not None:
        if isinstance(layer, int) or (
            isinstance(layer, str) and layer.isdigit() and layer not in layers
        ):
            idx = int(layer)
            if 0 <= idx < len(layers):
                return layers[idx]
        elif layer in layers:
            return layer
        raise InputError(
            f"{name}: there is no layer {layer!r}. Layers: {', '.join(map(repr, layers))}."
        )
    if len(layers) > 1:
        report.warn(
            f"the file has {len(layers)} layers ({', '.join(map(repr, layers))}); read the first, {layers[0]!r}",
            hint="choose another with --layer NAME (CLI) or the layer picker",
            value=layers[0],
        )
    return layers[0]


def _read_ogr(
    data: bytes, *, layer: str | None, name: str, report: ValidationReport
) -> gpd.GeoDataFrame:
    import pyogrio

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            gdf = pyogrio.read_dataframe(io.BytesIO(data), layer=layer, on_invalid="ignore")
        except RecursionError as exc:
            raise InputError(f"{name}: the file is nested too deeply to read.") from exc
        except Exception as exc:
            msg = _gdal_message(exc)
            if "nested" in msg.lower():
                raise InputError(
                    f"{name}: the file is nested too deeply to read ({msg}). "
                    "It is not a normal GeoJSON feature collection."
                ) from exc
            raise InputError(f"{name}: cannot read the GIS data ({msg}).") from exc
    seen: set[str] = set()
    for w in caught:
        text = str(w.message)
        if "Invalid WKB" in text or "Non closed ring" in text or text in seen:
            continue
        seen.add(text)
        log.info("%s: GDAL: %s", name, text)
    if not isinstance(gdf, gpd.GeoDataFrame):
        gdf = gpd.GeoDataFrame(gdf, geometry=gpd.GeoSeries([None] * len(gdf)))
    gdf = gdf.reset_index(drop=True)
    gdf.index = pd.RangeIndex(1, len(gdf) + 1, name="row")
    missing = [
        i
        for i, g in zip(gdf.index, gdf.geometry, strict=True)
        if g is None or (isinstance(g, float))
    ]
    if missing:
        _repair_unreadable(gdf, missing, data=data, layer=layer, report=report)
    return gdf


def _repair_unreadable(
    gdf: gpd.GeoDataFrame,
    rows: list[int],
    *,
    data: bytes,
    layer: str | None,
    report: ValidationReport,
) -> None:
    """Geometries that GEOS could not build (e.g. an unclosed ring): fix them or report them."""
    import pyogrio.raw

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _meta, _fids, wkbs, _fields = pyogrio.raw.read(
                io.BytesIO(data), layer=layer, columns=[]
            )
    except Exception:  # the attribute read worked; keep what we have
        return
    if wkbs is None:
        return
    geoms = list(gdf.geometry)
    for row in rows:
        wkb = wkbs[row - 1]
        if wkb is None:
            continue  # a real null geometry: schema flags it as "no location"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                fixed = shapely.from_wkb(wkb, on_invalid="fix")
            except Exception:
                fixed = None
        if fixed is not None and not fixed.is_empty:
            geoms[row - 1] = fixed
            report.warn(
                "the geometry was broken (e.g. a ring not closed) and was repaired",
                hint="check the shape in a GIS and save it again",
                row=row,
                column="geometry",
            )
        else:
            report.add(
                "the geometry cannot be read; the row was kept without a location",
                hint="redraw the shape or give coordinates",
                row=row,
                column="geometry",
            )
    gdf.geometry = gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs)


def _to_wgs84(gdf: gpd.GeoDataFrame, report: ValidationReport) -> gpd.GeoDataFrame:
    if gdf.crs is None:
        report.notes["crs"] = None
        return gdf
    epsg = gdf.crs.to_epsg()
    report.notes["crs"] = f"EPSG:{epsg}" if epsg else gdf.crs.to_string()
    if epsg == 4326 or gdf.crs.equals("OGC:CRS84"):
        return gdf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = gdf.to_crs("EPSG:4326")
    report.warn(
        f"coordinates were in {report.notes['crs']} ({gdf.crs.name}); reprojected to EPSG:4326 (WGS84)",
        hint="GeoJSON should be WGS84 longitude/latitude (RFC 7946); nothing to fix",
        value=report.notes["crs"],
    )
    return out


def list_layers(loaded: Loaded) -> list[str]:
    """Layer names of a GeoPackage, GeoJSON or zipped shapefile."""
    if loaded.data[:4] == b"PK\x03\x04":
        return shapefile_layers(open_zip(loaded.data, name=loaded.name))
    return _layers_of(loaded.data, loaded.name)


def shapefile_layers(sz: SafeZip) -> list[str]:
    """Each ``.shp`` member (without extension) is one layer."""
    return sorted(m[:-4] for m in sz.members if m.lower().endswith(".shp"))


def _parts(sz: SafeZip, stem: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for m in sz.members:
        p = PurePosixPath(m)
        if str(p.with_suffix("")) == stem and p.suffix.lower() in _SHP_PARTS:
            out[p.suffix.lower()] = m
    return out


def _read_zip(
    loaded: Loaded, *, layer: str | int | None, report: ValidationReport
) -> gpd.GeoDataFrame:
    sz = open_zip(loaded.data, name=loaded.name)
    layers = shapefile_layers(sz)
    if not layers:
        others = [
            m
            for m in sz.members
            if PurePosixPath(m).suffix.lower() in (".geojson", ".json", ".gpkg")
        ]
        if len(others) == 1:
            inner = Loaded(
                data=sz.read(others[0]),
                name=f"{loaded.name}/{others[0]}",
                suffix=PurePosixPath(others[0]).suffix.lower(),
            )
            return read_geo_bytes(inner, layer=layer, report=report)
        found = ", ".join(sorted(sz.members)[:10]) or "nothing"
        raise InputError(
            f"{loaded.name}: no shapefile (.shp) in the archive (found: {found}). "
            "Zip the .shp, .shx, .dbf and .prj files of one layer together."
        )
    stem = _choose_layer(layers, layer, loaded.name, report)
    report.notes["layer"] = stem
    report.notes["layers"] = layers
    parts = _parts(sz, stem)
    base = PurePosixPath(stem).name
    for ext, why in ((".shx", "the shape index"), (".dbf", "the attribute table")):
        if ext not in parts:
            raise InputError(
                f"{loaded.name}: the shapefile {base}.shp has no {base}{ext} ({why}); it cannot be read safely. "
                f"Zip {base}.shp, {base}.shx, {base}.dbf and {base}.prj together."
            )
    if ".prj" not in parts:
        report.warn(
            f"the shapefile {base}.shp has no {base}.prj, so its coordinate system is unknown",
            hint=f"add {base}.prj to the zip or give the CRS (e.g. --crs EPSG:2234)",
            value=f"{base}.prj",
        )
    clean = io.BytesIO()
    with zipfile.ZipFile(clean, "w", zipfile.ZIP_STORED) as out:
        for ext, member in parts.items():
            out.writestr(f"layer{ext}", sz.read(member))
    return _read_ogr(clean.getvalue(), layer=None, name=loaded.name, report=report)


def read_geo_bytes(
    loaded: Loaded, *, layer: str | int | None = None, report: ValidationReport
) -> gpd.GeoDataFrame:
    """Read GeoJSON, GeoPackage or a zipped shapefile into a GeoDataFrame in EPSG:4326
    (or without CRS when the file has none)."""
    data = loaded.data
    if not data.strip():
        raise InputError(f"{loaded.name}: the file is empty.")
    if data[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        gdf = _read_zip(loaded, layer=layer, report=report)
    elif data[:16] == b"SQLite format 3\x00":
        layers = _layers_of(data, loaded.name)
        chosen = _choose_layer(layers, layer, loaded.name, report)
        report.notes["layer"] = chosen
        report.notes["layers"] = layers
        gdf = _read_ogr(data, layer=chosen, name=loaded.name, report=report)
    else:
        _check_json(data, loaded.name)
        gdf = _read_ogr(data, layer=None, name=loaded.name, report=report)
    report.rows_read = len(gdf)
    return _to_wgs84(gdf, report)


def _check_json(data: bytes, name: str) -> None:
    """Fail early, with a clear message, on JSON that is not GeoJSON."""
    head = data.lstrip()[:1]
    if head not in (b"{", b"["):
        raise InputError(f"{name}: not a GeoJSON file (it does not start with '{{').")
