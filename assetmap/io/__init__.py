"""Readers for the files people actually have: CSV, Excel, GeoJSON, GeoPackage, zipped
shapefiles and Open Referral HSDS 3.0.

Every reader takes a local path **or** uploaded bytes (with ``name=`` giving the file name,
hence the format) and returns ``(frame, ValidationReport)``. Frames are raw: cells as text,
column names as in the file; :mod:`assetmap.schema` maps them to the canonical frames.
The frame's index is the row number a person sees (spreadsheet row, or feature number).

>>> frame, report = read_table(b"name;lat;lon\\nA;41,76;-72,68\\n", name="a.csv")
>>> frame.loc[2, "lat"], report.notes["delimiter"], report.notes["decimal"]
('41,76', ';', ',')
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd

from assetmap._errors import InputError
from assetmap.io._common import Loaded, Source, is_bytes, load_source, local_path, sniff_kind
from assetmap.io._csv import read_csv_bytes
from assetmap.io._excel import list_sheets as _list_sheets
from assetmap.io._excel import read_excel_bytes
from assetmap.io._geo import list_layers as _list_layers
from assetmap.io._geo import read_geo_bytes
from assetmap.io._hsds import is_hsds, read_hsds_source
from assetmap.report import ValidationReport

__all__ = [
    "read_table",
    "read_geo",
    "read_any",
    "read_hsds",
    "list_sheets",
    "list_layers",
    "file_kind",
]

_GEO_KINDS = ("geojson", "gpkg", "zip", "shp")


def _report(report: ValidationReport | None, name: str, kind: str = "") -> ValidationReport:
    if report is None:
        return ValidationReport(file=name, kind=kind)
    if not report.file:
        report.file = name
    return report


def file_kind(source: Source, *, name: str | None = None) -> str:
    """'table', 'geo' or 'hsds' for a file or bytes (what :func:`read_any` would do)."""
    if not is_bytes(source) and isinstance(source, str | os.PathLike):
        path = local_path(source)
        if path.is_dir():
            return "hsds" if is_hsds(path) else "unknown"
    loaded = load_source(source, name=name)
    return _kind_of(loaded)


def _kind_of(loaded: Loaded) -> str:
    kind = sniff_kind(loaded)
    if kind in ("csv", "excel"):
        return "table"
    if kind == "json":
        return "hsds" if is_hsds(loaded) else "geo"
    if kind == "zip" and is_hsds(loaded):
        return "hsds"
    if kind in _GEO_KINDS:
        return "geo"
    return "unknown"


def read_table(
    source: Source,
    *,
    name: str | None = None,
    sheet: str | int | None = None,
    report: ValidationReport | None = None,
    kind: str = "partners",
) -> tuple[pd.DataFrame, ValidationReport]:
    """Read a CSV or Excel table as all-text cells.

    Parameters
    ----------
    source : path or bytes
        A local file, or the uploaded bytes (then give ``name``).
    name : str, optional
        The file name (required for bytes to tell .xlsx from .csv; shown in messages).
    sheet : str or int, optional
        Excel sheet name or 0-based index; default: the visible sheet whose header maps to
        the most ``kind`` fields (hidden sheets are ignored and reported).
    """
    loaded = load_source(source, name=name)
    rep = _report(report, loaded.name)
    fmt = sniff_kind(loaded)
    if fmt == "excel":
        return read_excel_bytes(loaded, sheet=sheet, report=rep, kind=kind), rep
    if fmt in ("csv", "unknown"):
        return read_csv_bytes(loaded, report=rep), rep
    raise InputError(
        f"{loaded.name}: this is a GIS or JSON file, not a table; read it with read_geo/read_any."
    )


def _shapefile_bundle(path: Path) -> Loaded:
    """A local .shp plus its sibling parts, zipped in memory (GDAL never sees the path)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
            for cand in (path.with_suffix(ext), path.with_suffix(ext.upper())):
                if cand.is_file():
                    zf.writestr(path.stem + ext, load_source(cand).data)
                    break
    return Loaded(data=buf.getvalue(), name=path.name, suffix=".zip")


def read_geo(
    source: Source,
    *,
    name: str | None = None,
    layer: str | int | None = None,
    report: ValidationReport | None = None,
) -> tuple[gpd.GeoDataFrame, ValidationReport]:
    """Read GeoJSON, GeoPackage or a zipped shapefile (or a local .shp with its parts).

    The result is in EPSG:4326 (reprojected with a warning when the file declares another
    CRS) or has no CRS when the file gives none (``report.notes['crs']`` is None).
    """
    if not is_bytes(source) and isinstance(source, str | os.PathLike):
        path = local_path(source)
        if path.suffix.lower() == ".shp" and path.is_file():
            loaded = _shapefile_bundle(path)
            rep = _report(report, path.name)
            return read_geo_bytes(loaded, layer=layer, report=rep), rep
    loaded = load_source(source, name=name)
    rep = _report(report, loaded.name)
    if loaded.suffix == ".shp":
        raise InputError(
            f"{loaded.name}: a .shp file alone cannot be read; zip it with its .shx, .dbf and "
            ".prj files and upload the .zip."
        )
    return read_geo_bytes(loaded, layer=layer, report=rep), rep


def read_hsds(
    source: Source, *, name: str | None = None, report: ValidationReport | None = None
) -> tuple[pd.DataFrame, ValidationReport]:
    """Read Open Referral HSDS 3.0 (JSON, a CSV data package folder, or its .zip).

    Returns one row per service at a location, with canonical Partners column names plus
    ``lat``/``lon``; :func:`assetmap.schema.normalize_partners` finishes the job.
    """
    return read_hsds_source(source, name=name, report=report)


def read_any(
    source: Source,
    *,
    name: str | None = None,
    sheet: str | int | None = None,
    layer: str | int | None = None,
    report: ValidationReport | None = None,
    kind: str = "partners",
) -> tuple[pd.DataFrame, ValidationReport]:
    """Read any supported file: a table, a GIS file or HSDS, chosen by name and content."""
    if not is_bytes(source) and isinstance(source, str | os.PathLike):
        path = local_path(source)
        if path.is_dir():
            return read_hsds(path, name=name, report=report)
        if path.suffix.lower() == ".shp":
            return read_geo(path, name=name, layer=layer, report=report)
    loaded = load_source(source, name=name)
    fmt = _kind_of(loaded)
    if fmt == "table":
        return read_table(loaded.data, name=loaded.name, sheet=sheet, report=report, kind=kind)
    if fmt == "hsds":
        return read_hsds(loaded.data, name=loaded.name, report=report)
    if fmt == "geo":
        return read_geo(loaded.data, name=loaded.name, layer=layer, report=report)
    raise InputError(
        f"{loaded.name}: unknown file type. Give a CSV, Excel (.xlsx), GeoJSON, GeoPackage "
        "(.gpkg), zipped shapefile (.zip) or HSDS file."
    )


def list_sheets(source: Source, *, name: str | None = None) -> list[str]:
    """Sheet names of an Excel workbook."""
    return _list_sheets(load_source(source, name=name))


def list_layers(source: Source, *, name: str | None = None) -> list[str]:
    """Layer names of a GeoPackage or the shapefiles in a zip."""
    return _list_layers(load_source(source, name=name))
