"""Normalise raw frames into the canonical Partners, Schools and Boundaries frames, and
validate them: one report entry per problem (file, row, column, value, message, hint).

Good rows are always kept. Rows without a usable location are kept with no geometry and a
warning (partners can be geocoded later); rows that cannot be used at all (no name, no
boundary shape) are reported as errors and left out.

>>> import pandas as pd
>>> raw = pd.DataFrame({"Site Name": ["Hartford Library"], "Latitude": ["41.7637"],
...                     "Longitude": ["-72.6851"], "Type": ["Public library"]})
>>> gdf, report = normalize_partners(raw, file="demo.csv")
>>> gdf.loc[0, "category"], round(gdf.geometry[0].y, 4), report.rows_loaded
('library', 41.7637, 1)
"""

from __future__ import annotations

import functools
import math
import re
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.errors
from shapely.geometry import MultiPolygon, Point, Polygon
from shapely.validation import explain_validity, make_valid

from assetmap._errors import InputError
from assetmap._text import fold, split_list
from assetmap.ingest.fields import partner_id_for, stable_id
from assetmap.ingest.headers import (
    HeaderMatch,
    closest_columns,
    header_key,
    map_headers,
    synonyms,
)
from assetmap.ingest.prepare import category_from_name, prepare
from assetmap.ingest.region import Region, load_region, place, settings_region
from assetmap.io import file_kind, read_any, read_table
from assetmap.io._common import Source
from assetmap.languages import load_languages
from assetmap.model import (
    BOUNDARY_COLUMNS,
    CRS,
    PARTNER_COLUMNS,
    SCHOOL_COLUMNS,
    conform_partners,
    empty_partners,
)
from assetmap.report import ValidationReport
from assetmap.taxonomy import load_taxonomy

__all__ = [
    "KINDS",
    "SURVEY_COLUMNS",
    "column_synonyms",
    "map_columns",
    "normalize_partners",
    "normalize_schools",
    "normalize_boundaries",
    "load_file",
    "load_partners_file",
]

KINDS = ("partners", "schools", "boundaries", "survey")
SURVEY_COLUMNS = ("response_id", "school_id", "home_language", "needs")
NO_LOCATION = "no location — geocode it (assetmap geocode)"
_PROJECTED_HINT = (
    "the numbers look like projected coordinates (State Plane feet / UTM metres), not "
    "latitude/longitude; give the CRS (e.g. --crs EPSG:2234 for Connecticut State Plane feet, "
    "or crs='EPSG:2234') or add the .prj file to the zip"
)


# ------------------------------------------------------------------ header synonyms


def _key(text: object) -> str:
    return header_key(text)


def column_synonyms(kind: str = "partners") -> dict[str, list[str]]:
    """Canonical column -> accepted header synonyms (from ``config/columns.toml``)."""
    return {canon: [canon, *syns] for canon, syns in synonyms(kind).items()}


def map_columns(
    columns: Iterable[object], *, kind: str = "partners", report: ValidationReport | None = None
) -> dict[str, str]:
    """Source column -> canonical column, by the one header mapper
    (:func:`assetmap.ingest.map_headers`: exact, synonym, DBF truncation, Census vintage
    suffix, fuzzy)."""
    return {m.column: m.field for m in map_headers(columns, kind=kind, report=report) if m.field}


def _missing_columns_error(
    report: ValidationReport, frame: pd.DataFrame, kind: str, missing: list[str]
) -> None:
    syn = column_synonyms(kind)
    found = ", ".join(repr(c) for c in frame.columns if c != "geometry") or "none"
    accepted = "; ".join(f"{m}: {', '.join(syn.get(m, [m])[:8])}" for m in missing)
    closest = {m: closest_columns(m, frame.columns, kind=kind) for m in missing}
    report.notes["missing_fields"] = {m: [c for c, _ in near] for m, near in closest.items()}
    near = "; ".join(
        f"{m}: closest {', '.join(repr(c) for c, _ in cols)}" for m, cols in closest.items() if cols
    )
    report.add(
        f"required column(s) missing: {', '.join(missing)} (columns found: {found})",
        hint=f"add or rename a column; accepted headers — {accepted}"
        + (f"; {near}" if near else ""),
    )


# ------------------------------------------------------------------ cell parsers


def _blank(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    if isinstance(v, str) and v.strip().lower() in ("", "nan", "none", "null", "n/a", "na", "<na>"):
        return True
    return v is pd.NA or v is pd.NaT


def _text(v: Any) -> str:
    return "" if _blank(v) else str(v).strip()


_NUM = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
_HEMI = re.compile(r"^([-+]?[\d.,eE+-]+)\s*°?\s*([NSEWnsew])$")


def parse_number(v: Any, *, decimal_comma: bool = False) -> float | None:
    """A float from a cell ('41,76', '72.68 W', '1e308', 'Infinity'); None when blank;
    raises ValueError on text that is not a number."""
    if _blank(v):
        return None
    if isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool):
        return float(v)
    s = str(v).strip().replace("\u2212", "-").replace("°", "")
    sign = 1.0
    m = _HEMI.match(s)
    if m:
        s = m.group(1)
        sign = -1.0 if m.group(2).upper() in ("S", "W") else 1.0
    if s.lower() in ("nan", "inf", "-inf", "+inf", "infinity", "-infinity", "+infinity"):
        return float(s.replace("inity", "").replace("Inity", "")) * sign
    if decimal_comma and re.fullmatch(r"[-+]?[\d.]*,\d+", s):
        s = s.replace(".", "").replace(",", ".")
    elif re.fullmatch(r"[-+]?\d{1,3}(,\d{3})+(\.\d+)?", s):
        s = s.replace(",", "")  # thousands separators: 1,200
    elif re.fullmatch(r"[-+]?\d{1,3},\d+", s):
        s = s.replace(",", ".")  # a decimal comma: 41,76
    if not _NUM.match(s):
        raise ValueError(s)
    return float(s) * sign


def _bool(v: Any) -> bool | None:
    s = _text(v).lower()
    if s in ("y", "yes", "true", "t", "1", "si", "sí", "x", "accessible", "wheelchair accessible"):
        return True
    if s in ("n", "no", "false", "f", "0", "not accessible"):
        return False
    return None


def _cost(v: Any) -> str | None:
    s = fold(v)
    if not s:
        return "unknown"
    if s in ("free", "sliding_scale", "fee", "unknown"):
        return s
    if "sliding" in s or "income based" in s or "ability to pay" in s:
        return "sliding_scale"
    if re.search(r"\bfree\b|no cost|no charge|gratis|\$0\b", s):
        return "free"
    if re.search(r"\bfee|\bpay|\bcharge|cost|\$\s?\d|\d+\s?(usd|dollars)", s):
        return "fee"
    return None


_DELIVERY = {
    "in_person": ("in person", "in-person", "inperson", "on site", "onsite", "walk in", "office"),
    "virtual": ("virtual", "online", "remote", "telehealth", "video", "phone", "telephone", "zoom"),
    "home_visit": ("home visit", "home visits", "home visiting", "in home", "at home"),
    "mobile": ("mobile", "van", "mobile unit", "outreach"),
}
_MOU = {
    "none": ("none", "no", "no mou", ""),
    "prospective": ("prospective", "pending", "in progress", "draft", "planned"),
    "active": ("active", "signed", "yes", "current", "in place"),
    "expired": ("expired", "lapsed", "ended", "past"),
}


def _lookup(table: dict[str, tuple[str, ...]], value: str) -> str | None:
    s = fold(value)
    for code, names in table.items():
        if s == code or s == code.replace("_", " ") or s in names:
            return code
    return None


_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?$")


def _date(v: Any) -> str | None:
    s = _text(v)
    if not s:
        return None
    m = _ISO_DATE.match(s)
    if (
        m
        and 1900 <= int(m.group(1)) <= 2100
        and "01" <= m.group(2) <= "12"
        and "01" <= m.group(3) <= "31"
    ):
        return f"{m.group(1)}-{m.group(2)}-{m.group(3)}"
    return _parse_date(s)


@functools.lru_cache(maxsize=1024)
def _parse_date(s: str) -> str | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ts = pd.to_datetime(s, errors="raise")
        except (ValueError, TypeError, OverflowError):
            return None
    if ts is pd.NaT or ts.year < 1900 or ts.year > 2100:
        return None
    return ts.date().isoformat()


def _zip(v: Any) -> tuple[str, bool]:
    """Postal code text; (value, repaired) — a 4-digit number lost its leading zero."""
    s = _text(v)
    if re.fullmatch(r"\d+\.0", s):
        s = s[:-2]
    if re.fullmatch(r"\d{4}", s):
        return "0" + s, True
    if re.fullmatch(r"\d{8}", s):
        return f"0{s[:4]}-{s[4:]}", True
    if re.fullmatch(r"\d{9}", s):
        return f"{s[:5]}-{s[5:]}", False
    return s, False


_PHONE_FLOAT = re.compile(r"^\+?\d{7,15}\.0+$")


def _phone(v: Any) -> str:
    """Phone text; a number read as a float (``3052923595.0``) loses its ``.0``."""
    if isinstance(v, float) and math.isfinite(v) and v.is_integer():
        return str(int(v))
    s = _text(v)
    return s.split(".")[0] if _PHONE_FLOAT.match(s) else s


# ------------------------------------------------------------------ coordinates


def _rows(frame: pd.DataFrame) -> list[int]:
    if frame.index.name == "row":
        return [int(i) for i in frame.index]
    return list(range(2, len(frame) + 2))


def _projected_file(xs: list[float], ys: list[float]) -> bool:
    finite = [(x, y) for x, y in zip(xs, ys, strict=True) if math.isfinite(x) and math.isfinite(y)]
    if not finite:
        return False
    big = sum(
        1 for x, y in finite if (abs(x) > 360 or abs(y) > 360) and abs(x) < 1e8 and abs(y) < 1e8
    )
    return big > len(finite) / 2


def _reproject(xs: list[float], ys: list[float], crs: str) -> tuple[list[float], list[float]]:
    from pyproj import Transformer
    from pyproj.exceptions import CRSError

    try:
        tr = Transformer.from_crs(crs, CRS, always_xy=True)
    except CRSError as exc:
        raise InputError(f"unknown CRS {crs!r} ({exc}). Example: --crs EPSG:2234") from exc
    with np.errstate(all="ignore"):
        lon, lat = tr.transform(np.asarray(xs, dtype=float), np.asarray(ys, dtype=float))
    return list(map(float, lon)), list(map(float, lat))


def _points(
    frame: pd.DataFrame,
    *,
    report: ValidationReport,
    rows: list[int],
    lat_col: str | None,
    lon_col: str | None,
    crs: str | None,
    point_kind: str,
    flagged: set[int] | None = None,
    region: Region | None = None,
) -> list[Point | None] | None:
    """One Point (EPSG:4326) or None per row. None overall when the file is unusable
    (projected coordinates without a CRS: a file-level error is recorded). Points outside the
    valid ranges or the region are errors (the row is kept without a location)."""
    flagged = flagged if flagged is not None else set()
    geo = isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame.columns
    if geo and frame.geometry.notna().any():
        xs, ys, present = _geometry_xy(frame, report, rows, point_kind, flagged)
        col = "geometry"
    elif lat_col and lon_col:
        xs, ys, present = _latlon_xy(frame, report, rows, lat_col, lon_col, flagged)
        col = f"{lat_col}/{lon_col}"
    else:
        return [None] * len(frame)
    xy = _to_wgs84(xs, ys, present, report=report, crs=crs, geo=geo, column=col)
    if xy is None:
        return None
    out: list[Point | None] = [None] * len(frame)
    for i, (x, y) in enumerate(zip(*xy, strict=True)):
        if present[i]:
            out[i] = _checked_point(x, y, report, rows[i], col, region, flagged, i)
    return out


def _checked_point(
    x: float,
    y: float,
    report: ValidationReport,
    row: int,
    col: str,
    region: Region | None,
    flagged: set[int],
    i: int,
) -> Point | None:
    """The point, swapped when only the swapped pair fits; None (and one error) otherwise."""
    (lat, lon), verdict = place(y, x, region)
    if verdict == "ok":
        return Point(lon, lat)
    if verdict == "swapped":
        where = f" and the swapped point is in {region.name}" if region else ""
        report.warn(
            f"latitude and longitude look swapped{where}; they were exchanged",
            row=row,
            column=col,
            value=f"lat {y}, lon {x}",
            hint="check the column order (latitude ≈ 41 and longitude ≈ -72 in Connecticut)",
        )
        return Point(lon, lat)
    flagged.add(i)
    message, hint = _BAD_POINT[verdict]
    if verdict == "outside_region" and region is not None:
        message = message.format(region=region.name)
    value = f"{x}, {y}" if verdict == "not_finite" else f"lat {y:g}, lon {x:g}"
    report.add(message, row=row, column=col, value=value, hint=hint)
    return None


_BAD_POINT = {
    "not_finite": (
        "the coordinates are not finite numbers (NaN or Infinity); the row was kept without a "
        "location",
        "give real latitude/longitude values or leave both empty",
    ),
    "out_of_range": (
        "the coordinates are out of range (latitude -90..90, longitude -180..180); "
        "the row was kept without a location",
        "give decimal degrees, or the CRS if they are projected",
    ),
    "outside_region": (
        "the point is outside the workspace region ({region}); the row was kept without a location",
        "check the coordinates (a sign lost? a column swapped?), or set region in "
        "config/settings.toml (see config/regions.toml) if the workspace covers more",
    ),
}


def _geometry_xy(
    frame: gpd.GeoDataFrame,
    report: ValidationReport,
    rows: list[int],
    point_kind: str,
    flagged: set[int],
) -> tuple[list[float], list[float], list[bool]]:
    """x, y of each feature (a shape's inside point, with a warning), and which are present."""
    n = len(frame)
    xs, ys, present = [math.nan] * n, [math.nan] * n, [False] * n
    for i, g in enumerate(frame.geometry):
        if g is None or (isinstance(g, float)) or g.is_empty:
            continue
        if g.geom_type != "Point":
            g = _inside_point(g, report, rows[i], point_kind, flagged, i)
            if g is None or g.is_empty:
                continue
        present[i] = True
        xs[i], ys[i] = float(g.x), float(g.y)
    return xs, ys, present


def _inside_point(
    g: Any, report: ValidationReport, row: int, point_kind: str, flagged: set[int], i: int
) -> Any:
    if not all(math.isfinite(v) for v in g.bounds):
        report.add(
            "the shape has coordinates that are not finite numbers (NaN or Infinity); "
            "the row was kept without a location",
            row=row,
            column="geometry",
            hint="fix the coordinates in a GIS",
        )
        flagged.add(i)
        return None
    try:
        p = g.representative_point() if g.is_valid else make_valid(g).representative_point()
    except shapely.errors.GEOSException:
        report.add(
            "the shape cannot be used; the row was kept without a location",
            row=row,
            column="geometry",
            hint="fix the shape in a GIS",
        )
        flagged.add(i)
        return None
    if not p.is_empty:
        report.warn(
            f"the {point_kind} is a {g.geom_type}, not a point; its inside point was used",
            row=row,
            column="geometry",
            hint="give point locations",
        )
    return p


def _latlon_xy(
    frame: pd.DataFrame,
    report: ValidationReport,
    rows: list[int],
    lat_col: str,
    lon_col: str,
    flagged: set[int],
) -> tuple[list[float], list[float], list[bool]]:
    """x, y parsed from the latitude/longitude cells, and which rows have both."""
    n = len(frame)
    xs, ys, present = [math.nan] * n, [math.nan] * n, [False] * n
    decimal_comma = report.notes.get("decimal") == ","
    for i, (la, lo) in enumerate(zip(frame[lat_col], frame[lon_col], strict=True)):
        if _blank(la) and _blank(lo):
            continue
        try:
            y = parse_number(la, decimal_comma=decimal_comma)
            x = parse_number(lo, decimal_comma=decimal_comma)
        except ValueError:
            bad, col = (la, lat_col) if not _NUMISH(la, decimal_comma) else (lo, lon_col)
            report.add(
                "the coordinate is not a number; the row was kept without a location",
                row=rows[i],
                column=col,
                value=_text(bad),
                hint="use decimal degrees like 41.7637 and -72.6851",
            )
            flagged.add(i)
            continue
        if x is None or y is None:
            report.add(
                "only one of latitude/longitude is filled; the row was kept without a location",
                row=rows[i],
                column=lat_col if y is None else lon_col,
                hint="fill both or neither",
            )
            continue
        present[i] = True
        xs[i], ys[i] = x, y
    return xs, ys, present


def _to_wgs84(
    xs: list[float],
    ys: list[float],
    present: list[bool],
    *,
    report: ValidationReport,
    crs: str | None,
    geo: bool,
    column: str,
) -> tuple[list[float], list[float]] | None:
    """Reproject from the given CRS; None (and a file error) for projected numbers without one."""
    file_crs_unknown = not geo or report.notes.get("crs", "missing") is None
    if crs:
        if geo and not file_crs_unknown:
            report.warn(
                f"the file declares its own CRS ({report.notes.get('crs')}); the given CRS {crs} was ignored",
                value=crs,
            )
            return xs, ys
        xs, ys = _reproject(xs, ys, crs)
        report.notes["crs"] = crs
        report.warn(f"coordinates were reprojected from {crs} to EPSG:4326", value=crs)
        return xs, ys
    px = [x for x, p in zip(xs, present, strict=True) if p]
    py = [y for y, p in zip(ys, present, strict=True) if p]
    if _projected_file(px, py):
        report.add(
            "coordinates are not latitude/longitude and the file gives no coordinate system",
            hint=_PROJECTED_HINT,
            column=column,
            value=f"{px[0]:.0f}, {py[0]:.0f}",
        )
        return None
    return xs, ys


def _region(region: Region | str | None) -> Region | None:
    """The region to check points against: "settings" = the workspace's (config)."""
    if region == "settings":
        return settings_region()
    if isinstance(region, str):
        found = load_region(region)
        if found is None:
            raise InputError(f"unknown region {region!r}; add it to config/regions.toml")
        return found
    return region


def _NUMISH(v: Any, decimal_comma: bool) -> bool:
    try:
        parse_number(v, decimal_comma=decimal_comma)
        return True
    except ValueError:
        return False


# ------------------------------------------------------------------ shared pieces


def _start(
    frame: pd.DataFrame, *, file: str, report: ValidationReport | None, kind: str
) -> ValidationReport:
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"expected a DataFrame, got {type(frame).__name__}")
    rep = report if report is not None else ValidationReport(file=file, kind=kind)
    if file and not rep.file:
        rep.file = file
    rep.kind = kind
    rep.rows_read = max(rep.rows_read, len(frame))
    return rep


def _renamed(
    frame: pd.DataFrame,
    kind: str,
    report: ValidationReport,
    chosen: Mapping[str, str | None] | None = None,
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Layout, derived columns and the one header mapper; ``chosen`` (a person's mapping from
    the Data page or a saved one) wins over everything."""
    prep = prepare(frame, kind, report)
    frame = prep.frame
    fixed = dict(prep.fixed)
    for col, fld in (chosen or {}).items():
        if col in frame.columns:
            fixed[col] = HeaderMatch(col, fld or None, 100.0 if fld else 0.0, "saved")
    matches = map_headers(frame.columns, kind=kind, report=report, fixed=fixed)
    mapping = {m.column: m.field for m in matches if m.field}
    # A canonical name can be both a mapped target and an unmapped column; keep the mapped one.
    clash = {c for c in frame.columns if c in mapping.values() and c not in mapping}
    out = frame[[c for c in frame.columns if c not in clash]] if clash else frame.copy()
    out = out.rename(columns=mapping)
    report.notes["columns"] = mapping
    report.notes["mapping"] = [
        {"field": m.field, "column": m.column, "confidence": m.confidence, "method": m.method}
        for m in matches
        if m.field
    ]
    return out, mapping


def _col(frame: pd.DataFrame, name: str) -> list[Any]:
    return list(frame[name]) if name in frame.columns else [None] * len(frame)


def _group_unknowns(
    report: ValidationReport, unknown: dict[str, list[int]], *, column: str, what: str, hint: str
) -> None:
    for value, rows in unknown.items():
        more = f" ({len(rows)} rows)" if len(rows) > 1 else ""
        report.warn(
            f"unknown {what} {value!r}{more}; kept as given",
            row=rows[0],
            column=column,
            value=value,
            hint=hint,
        )


def _unique_ids(
    ids: list[str], rows: list[int], report: ValidationReport, column: str
) -> list[str]:
    seen: dict[str, int] = {}
    used = set(ids)
    out = []
    for pid, row in zip(ids, rows, strict=True):
        if pid in seen:
            n = seen[pid] + 1
            new = f"{pid}-{n}"
            while new in used:
                n += 1
                new = f"{pid}-{n}"
            seen[pid] = n
            used.add(new)
            report.warn(
                f"duplicate id {pid!r}; this row was given {new!r}",
                row=row,
                column=column,
                value=pid,
                hint="give every row its own id",
            )
            out.append(new)
        else:
            seen[pid] = 1
            out.append(pid)
    return out


# ------------------------------------------------------------------ partners


def normalize_partners(
    df: pd.DataFrame,
    *,
    file: str = "",
    report: ValidationReport | None = None,
    crs: str | None = None,
    region: Region | str | None = "settings",
    mapping: Mapping[str, str | None] | None = None,
) -> tuple[gpd.GeoDataFrame, ValidationReport]:
    """Map a raw partner table or GIS layer onto the canonical Partners frame.

    Parameters
    ----------
    df : DataFrame or GeoDataFrame
        Raw rows (from :mod:`assetmap.io` or your own); not modified.
    file : str
        Name shown in messages.
    report : ValidationReport, optional
        The reader's report, to extend.
    crs : str, optional
        CRS of the coordinates when the file does not declare it (e.g. ``"EPSG:2234"``).
    region : Region, region name, "settings" (default) or None
        Points outside it are errors; None checks only the valid ranges.
    mapping : dict, optional
        ``source column -> field`` chosen by a person (None: do not use the column); wins
        over the recognised layout and the header synonyms.

    Returns
    -------
    (GeoDataFrame, ValidationReport)
        Canonical partners in EPSG:4326 (rows without a location have no geometry).
    """
    rep = _start(df, file=file, report=report, kind="partners")
    rows = _rows(df)
    frame, mapping = _renamed(df, "partners", rep, mapping)
    if not _partner_columns_ok(df, frame, rep):
        return empty_partners(), rep
    if isinstance(frame, gpd.GeoDataFrame) and not frame.geometry.notna().any():
        frame = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    bad_coords: set[int] = set()
    has_latlon = "lat" in frame.columns and "lon" in frame.columns
    points = _points(
        frame,
        report=rep,
        rows=rows,
        lat_col="lat" if has_latlon else None,
        lon_col="lon" if has_latlon else None,
        crs=crs,
        point_kind="partner location",
        flagged=bad_coords,
        region=_region(region),
    )
    if points is None:
        rep.rows_loaded = 0
        return empty_partners(), rep
    ctx = _PartnerRows(rep, mapping, source=rep.file or file or "upload")
    records, keep_points, kept_rows = [], [], []
    for i, cell in enumerate(_cells(frame)):
        rec = ctx.record(cell, rows[i])
        if rec is None:
            continue
        ctx.location(rec, cell, rows[i], points[i], flagged=i in bad_coords)
        records.append(rec)
        keep_points.append(points[i])
        kept_rows.append(rows[i])
    ctx.report_unknowns()
    if not records:
        rep.rows_loaded = 0
        return empty_partners(), rep
    return _partners_frame(records, keep_points, kept_rows, ctx), rep


def _partner_columns_ok(df: pd.DataFrame, frame: pd.DataFrame, rep: ValidationReport) -> bool:
    """A name and a way to place the partner (shapes, lat/lon or an address) are required."""
    has_latlon = "lat" in frame.columns and "lon" in frame.columns
    loc_cols = [c for c in ("address", "city", "postal_code") if c in frame.columns]
    missing = [] if "name" in frame.columns else ["name"]
    if not (isinstance(df, gpd.GeoDataFrame) or has_latlon or loc_cols):
        missing.append("lat")
        missing.append("lon")
    if missing:
        _missing_columns_error(rep, df, "partners", missing)
        rep.rows_loaded = 0
    return not missing


def _cells(frame: pd.DataFrame) -> Iterable[dict[str, Any]]:
    """One ``{column: value}`` per row (the geometry column left out)."""
    names = list(frame.columns)
    geom = getattr(frame, "_geometry_column_name", None)
    values = [frame[c].tolist() if c != geom else [None] * len(frame) for c in names]
    for i in range(len(frame)):
        yield {c: vals[i] for c, vals in zip(names, values, strict=True)}


def _partners_frame(
    records: list[dict[str, Any]], points: list, rows: list[int], ctx: _PartnerRows
) -> gpd.GeoDataFrame:
    """Unique ids (the one partner-id rule for rows without one), then the canonical frame."""
    rep = ctx.rep
    ids = [rec["partner_id"] or partner_id_for(rec) for rec in records]
    if not any(rec["partner_id"] for rec in records):
        rep.notes["partner_id"] = "generated from source + name + address"
    out_ids = _unique_ids(ids, rows, rep, ctx.src("partner_id") or "partner_id")
    for rec, pid in zip(records, out_ids, strict=True):
        rec["partner_id"] = pid
    gdf = gpd.GeoDataFrame(records, geometry=gpd.GeoSeries(points, crs=CRS), crs=CRS)
    gdf = conform_partners(gdf).reset_index(drop=True)
    rep.rows_loaded = len(gdf)
    _count_categories(rep, gdf, ctx.named)
    return gdf


_TEXT_FIELDS = ("organization", "address", "city", "state", "email", "website", "hours")
_TEXT_FIELDS += ("description", "eligibility")


class _PartnerRows:
    """Turns one raw partner row into a canonical record; collects what it did not know."""

    def __init__(self, rep: ValidationReport, mapping: dict[str, str], *, source: str) -> None:
        self.rep, self.mapping, self.source = rep, mapping, source
        self.tax = load_taxonomy()
        self.langs = load_languages()
        self.unknown: dict[str, dict[str, list[int]]] = {"cat": {}, "svc": {}, "lang": {}}
        self.memo: dict[str, dict[str, Any]] = {"cat": {}, "svc": {}, "lang": {}, "name": {}}
        self.named = 0
        self.extra: list[str] | None = None

    def src(self, canon: str) -> str | None:
        return _src(self.mapping, canon)

    def warn(self, message: str, row: int, field: str, value: Any, hint: str = "") -> None:
        self.rep.warn(message, row=row, column=self.src(field), value=value, hint=hint)

    def record(self, cell: dict[str, Any], r: int) -> dict[str, Any] | None:
        name = _text(cell.get("name"))
        if not name:
            self.rep.add(
                "the name is empty; the row was not loaded",
                row=r,
                column=self.src("name"),
                hint="every partner needs a name",
            )
            return None
        if self.extra is None:
            self.extra = [c for c in cell if c not in PARTNER_COLUMNS and c not in ("lat", "lon")]
        rec: dict[str, Any] = {c: cell.get(c) for c in self.extra}
        rec["name"] = name
        for c in _TEXT_FIELDS:
            rec[c] = _text(cell.get(c))
        rec["phone"] = _phone(cell.get("phone"))
        rec["source"] = _text(cell.get("source")) or self.source
        rec["partner_id"] = _text(cell.get("partner_id"))
        self.category_and_services(rec, cell, r)
        self.languages(rec, cell, r)
        self.postal_code(rec, cell, r)
        self.cost(rec, cell, r)
        self.capacity(rec, cell, r)
        self.delivery(rec, cell, r)
        self.status(rec, cell, r)
        return rec

    def category_and_services(self, rec: dict[str, Any], cell: dict[str, Any], r: int) -> None:
        """The source's category (or its code through a crosswalk), else facility words in
        the name; services stated by the source, else the category's defaults (inferred)."""
        raw_cat = _text(cell.get("category"))
        hint = None if raw_cat else _memo(self.memo["name"], rec["name"], category_from_name)
        if hint is not None and hint.category:
            raw_cat = hint.category
            self.named += 1
        cat = _memo(self.memo["cat"], raw_cat, self.tax.normalize_category) if raw_cat else None
        if raw_cat and cat is None:
            self.unknown["cat"].setdefault(raw_cat, []).append(r)
            rec["category_unmapped"] = raw_cat
        rec["category"] = cat or "other"
        codes, unknown = _memo(
            self.memo["svc"], _text(cell.get("services")), self.tax.normalize_needs
        )
        codes = list(codes) or (list(hint.services) if hint is not None else [])
        for u in unknown:
            self.unknown["svc"].setdefault(u, []).append(r)
        rec["services_unmapped"] = ";".join(unknown)
        inferred: list[str] = []
        if not codes and rec["category"] in self.tax.categories:
            inferred = list(self.tax.categories[rec["category"]].default_services)
        rec["services"] = codes or list(inferred)
        rec["services_inferred"] = inferred

    def languages(self, rec: dict[str, Any], cell: dict[str, Any], r: int) -> None:
        raw = _text(cell.get("languages"))
        codes, unknown = _memo(self.memo["lang"], raw, self.langs.normalize_list)
        for u in unknown:
            self.unknown["lang"].setdefault(u, []).append(r)
        rec["languages"] = list(codes)
        rec["languages_unmapped"] = ";".join(unknown)

    def postal_code(self, rec: dict[str, Any], cell: dict[str, Any], r: int) -> None:
        pc, repaired = _zip(cell.get("postal_code"))
        if repaired:
            self.warn(
                "the ZIP code lost its leading zero (stored as a number); it was restored",
                r,
                "postal_code",
                _text(cell.get("postal_code")),
                "format ZIP codes as text so 06103 keeps its zero",
            )
        rec["postal_code"] = pc

    def cost(self, rec: dict[str, Any], cell: dict[str, Any], r: int) -> None:
        raw_cost = _text(cell.get("cost"))
        cost = _cost(raw_cost)
        if cost is None:
            self.warn(
                "cost not understood; set to 'unknown'", r, "cost", raw_cost,
                "use free, sliding_scale or fee",
            )  # fmt: skip
            cost = "unknown"
        rec["cost"] = cost
        plain = raw_cost.lower() in ("free", "sliding_scale", "fee", "unknown")
        if raw_cost and not plain and "cost_description" not in rec:
            rec["cost_description"] = raw_cost

    def capacity(self, rec: dict[str, Any], cell: dict[str, Any], r: int) -> None:
        raw = cell.get("capacity")
        try:
            cap = parse_number(raw)
            rec["capacity"] = cap if cap is None or math.isfinite(cap) else None
        except ValueError:
            self.warn("capacity is not a number; left empty", r, "capacity", _text(raw))
            rec["capacity"] = None

    def delivery(self, rec: dict[str, Any], cell: dict[str, Any], r: int) -> None:
        deliv: list[str] = []
        for item in split_list(cell.get("delivery"), seps=";|,/"):
            code = _lookup(_DELIVERY, item)
            if code is None:
                self.warn(
                    "delivery mode not understood; left out", r, "delivery", item,
                    "use in_person, virtual, home_visit or mobile",
                )  # fmt: skip
            elif code not in deliv:
                deliv.append(code)
        rec["delivery"] = deliv

    def status(self, rec: dict[str, Any], cell: dict[str, Any], r: int) -> None:
        """Accessibility, MOU status, last verified date and the example/published/sensitive flags."""
        raw_ada = cell.get("ada_accessible")
        rec["ada_accessible"] = raw_ada if isinstance(raw_ada, bool) else _bool(raw_ada)
        raw_mou = _text(cell.get("mou_status"))
        mou = _lookup(_MOU, raw_mou) if raw_mou else "none"
        if mou is None:
            self.warn(
                "MOU status not understood; set to 'none'", r, "mou_status", raw_mou,
                "use none, prospective, active or expired",
            )  # fmt: skip
        rec["mou_status"] = mou or "none"
        raw_date = _text(cell.get("last_verified"))
        rec["last_verified"] = _date(raw_date)
        if raw_date and rec["last_verified"] is None:
            self.warn(
                "date not understood; left empty", r, "last_verified", raw_date, "use YYYY-MM-DD"
            )
        for c in ("example", "published", "sensitive"):
            if c in cell and not _blank(cell.get(c)):
                rec[c] = cell.get(c)

    def location(
        self, rec: dict[str, Any], cell: dict[str, Any], r: int, pt: Point | None, *, flagged: bool
    ) -> None:
        """Placement source and quality travel with the record; no point -> a warning."""
        if pt is None:
            if not flagged:
                where = ", ".join(x for x in (rec["address"], rec["city"]) if x) or None
                self.rep.warn(
                    NO_LOCATION, row=r, column=None, value=where,
                    hint="run 'assetmap geocode' or add latitude/longitude",
                )  # fmt: skip
            rec["geocode_source"], rec["geocode_quality"] = "", "none"
            return
        rec["geocode_source"] = _text(cell.get("geocode_source")) or "source"
        rec["geocode_quality"] = _text(cell.get("geocode_quality")) or "exact"

    def report_unknowns(self) -> None:
        hints = {
            "cat": ("category", "category", "use a category from config/taxonomy.toml; it was set to 'other'"),
            "svc": ("services", "service", "add a synonym to config/taxonomy.toml or use a service code"),
            "lang": ("languages", "language", "use a language name or ISO code (e.g. Spanish, es)"),
        }  # fmt: skip
        for key, (field, what, hint) in hints.items():
            column = self.src(field) or field
            _group_unknowns(self.rep, self.unknown[key], column=column, what=what, hint=hint)


def _count_categories(rep: ValidationReport, gdf: pd.DataFrame, named: int) -> None:
    """Category counts in the report notes; 'other' (no signal at all) is counted apart."""
    counts = gdf["category"].value_counts()
    rep.notes["categories"] = {str(k): int(v) for k, v in counts.items()}
    if named:
        rep.notes["category_from_name"] = named
    rep.notes["category_other"] = int(counts.get("other", 0))


def _memo(cache: dict[str, Any], key: str, fn: Callable[[str], Any]) -> Any:
    """Free-text cells repeat; normalise each distinct value once per file."""
    if key not in cache:
        cache[key] = fn(key)
    return cache[key]


def _src(mapping: dict[str, str], canon: str) -> str | None:
    for src, c in mapping.items():
        if c == canon:
            return src
    return None


# ------------------------------------------------------------------ schools


def normalize_schools(
    df: pd.DataFrame,
    *,
    file: str = "",
    report: ValidationReport | None = None,
    crs: str | None = None,
    region: Region | str | None = "settings",
    mapping: Mapping[str, str | None] | None = None,
) -> tuple[gpd.GeoDataFrame, ValidationReport]:
    """Map a raw school list (table with lat/lon, or points) onto the canonical Schools frame
    (points outside ``region`` are errors, as for partners)."""
    rep = _start(df, file=file, report=report, kind="schools")
    rows = _rows(df)
    frame, mapping = _renamed(df, "schools", rep, mapping)
    geo = isinstance(df, gpd.GeoDataFrame) and df.geometry.notna().any()
    has_latlon = "lat" in frame.columns and "lon" in frame.columns
    missing = [c for c in ("name",) if c not in frame.columns]
    if not (geo or has_latlon):
        missing += ["lat", "lon"]
    empty = gpd.GeoDataFrame(
        {c: pd.Series(dtype=object) for c in SCHOOL_COLUMNS[:-1]},
        geometry=gpd.GeoSeries([], crs=CRS),
        crs=CRS,
    )
    if missing:
        _missing_columns_error(rep, df, "schools", missing)
        return empty, rep
    if isinstance(frame, gpd.GeoDataFrame) and not geo:
        frame = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    points = _points(
        frame,
        report=rep,
        rows=rows,
        lat_col="lat" if has_latlon else None,
        lon_col="lon" if has_latlon else None,
        crs=crs,
        point_kind="school location",
        region=_region(region),
    )
    if points is None:
        return empty, rep
    recs, pts, kept = [], [], []
    for i, (_, row) in enumerate(frame.iterrows()):
        name = _text(row.get("name"))
        if not name:
            rep.add(
                "the school name is empty; the row was not loaded",
                row=rows[i],
                column=_src(mapping, "name"),
                hint="every school needs a name",
            )
            continue
        rec = {c: _text(row.get(c)) for c in SCHOOL_COLUMNS[:-1]}
        rec["school_id"] = rec["school_id"] or stable_id(rep.file, name, rec["town"], prefix="s")
        if points[i] is None:
            rep.warn(
                "no location; the school cannot be matched until it has coordinates",
                row=rows[i],
                hint="add latitude/longitude",
            )
        recs.append(rec)
        pts.append(points[i])
        kept.append(rows[i])
    if not recs:
        return empty, rep
    ids = _unique_ids(
        [r["school_id"] for r in recs], kept, rep, _src(mapping, "school_id") or "school_id"
    )
    for r, sid in zip(recs, ids, strict=True):
        r["school_id"] = sid
    gdf = gpd.GeoDataFrame(recs, geometry=gpd.GeoSeries(pts, crs=CRS), crs=CRS)
    rep.rows_loaded = len(gdf)
    return gdf[SCHOOL_COLUMNS], rep


# ------------------------------------------------------------------ boundaries


def _polygonal(g: Any) -> Polygon | MultiPolygon | None:
    if g is None or g.is_empty:
        return None
    if isinstance(g, Polygon | MultiPolygon):
        return g
    if g.geom_type == "GeometryCollection":
        polys = [p for p in getattr(g, "geoms", []) if isinstance(p, Polygon | MultiPolygon)]
        if polys:
            return shapely.union_all(polys) if len(polys) > 1 else polys[0]
    return None


def normalize_boundaries(
    df: pd.DataFrame,
    *,
    file: str = "",
    report: ValidationReport | None = None,
    crs: str | None = None,
    boundary_kind: str = "district",
    mapping: Mapping[str, str | None] | None = None,
) -> tuple[gpd.GeoDataFrame, ValidationReport]:
    """Map a GIS layer of areas onto the canonical Boundaries frame ((Multi)Polygons, EPSG:4326).

    Invalid shapes are repaired with ``make_valid`` (warning with the reason); rows that are
    not polygons, or have no shape, are errors and left out.
    """
    rep = _start(df, file=file, report=report, kind="boundaries")
    empty = gpd.GeoDataFrame(
        {c: pd.Series(dtype=object) for c in BOUNDARY_COLUMNS[:-1]},
        geometry=gpd.GeoSeries([], crs=CRS),
        crs=CRS,
    )
    if not isinstance(df, gpd.GeoDataFrame):
        rep.add(
            "boundaries need shapes; this table has no geometry",
            hint="give a GeoJSON, GeoPackage or zipped shapefile of polygons",
        )
        return empty, rep
    rows = _rows(df)
    frame, mapping = _renamed(df, "boundaries", rep, mapping)
    if "name" not in frame.columns and "boundary_id" not in frame.columns:
        _missing_columns_error(rep, df, "boundaries", ["name", "boundary_id"])
        return empty, rep
    geoms = _boundary_geoms(df, crs, rep)
    if geoms is None:
        return empty, rep
    recs, out_geoms = [], []
    for i in range(len(frame)):
        poly = _boundary_shape(geoms[i], rows[i], rep)
        if poly is None:
            continue
        name, bid, kind = (
            _text(frame[c].iloc[i]) if c in frame.columns else ""
            for c in ("name", "boundary_id", "kind")
        )
        recs.append(
            {
                "boundary_id": bid or stable_id(rep.file, name, rows[i], prefix="b"),
                "name": name or bid,
                "kind": kind or boundary_kind,
                "_row": rows[i],
            }
        )
        out_geoms.append(poly)
    if not recs:
        return empty, rep
    ids = _unique_ids(
        [x["boundary_id"] for x in recs],
        [x.pop("_row") for x in recs],
        rep,
        _src(mapping, "boundary_id") or "boundary_id",
    )
    for x, bid in zip(recs, ids, strict=True):
        x["boundary_id"] = bid
    gdf = gpd.GeoDataFrame(recs, geometry=gpd.GeoSeries(out_geoms, crs=CRS), crs=CRS)
    rep.rows_loaded = len(gdf)
    return gdf[BOUNDARY_COLUMNS], rep


def _boundary_geoms(df: gpd.GeoDataFrame, crs: str | None, rep: ValidationReport) -> list | None:
    """The shapes in EPSG:4326 (reprojected from ``crs`` when the file gives none); None
    (and a file error) for projected numbers without a CRS."""
    geoms = list(df.geometry)
    if df.crs is not None:
        return geoms
    if crs:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            geoms = list(gpd.GeoSeries(geoms, crs=crs).to_crs(CRS))
        rep.warn(f"shapes were reprojected from {crs} to EPSG:4326", value=crs)
        return geoms
    b = gpd.GeoSeries(geoms).total_bounds if any(g is not None for g in geoms) else None
    if b is not None and np.all(np.isfinite(b)) and (np.abs(b) > 360).any():
        rep.add(
            "coordinates are not latitude/longitude and the file gives no coordinate system",
            hint=_PROJECTED_HINT,
            column="geometry",
            value=", ".join(f"{v:.0f}" for v in b),
        )
        return None
    return geoms


def _boundary_shape(g: Any, r: int, rep: ValidationReport) -> Polygon | MultiPolygon | None:
    """A usable (Multi)Polygon (repaired with a warning when invalid), or None and an error."""
    if g is None or (isinstance(g, float)) or g.is_empty:
        rep.add(
            "no shape (null or empty geometry); the row was not loaded",
            row=r,
            column="geometry",
            hint="draw the boundary or remove the row",
        )
        return None
    b = g.bounds
    if not all(math.isfinite(v) for v in b) or not (
        -180 <= b[0] <= b[2] <= 180 and -90 <= b[1] <= b[3] <= 90
    ):
        rep.add(
            "the shape has coordinates that are not finite or out of range; the row was not loaded",
            row=r,
            column="geometry",
            value=str(tuple(round(v, 3) if math.isfinite(v) else v for v in b)),
            hint="fix the coordinates in a GIS",
        )
        return None
    try:
        valid = g.is_valid
        if not valid:
            reason = explain_validity(g)
            g = make_valid(g)
    except shapely.errors.GEOSException as exc:
        rep.add(
            f"the shape cannot be repaired ({exc}); the row was not loaded",
            row=r,
            column="geometry",
            hint="fix the boundary in a GIS",
        )
        return None
    if not valid:
        rep.warn(
            f"the shape was invalid ({reason}) and was repaired",
            row=r,
            column="geometry",
            value=reason,
            hint="check the boundary in a GIS",
        )
    poly = _polygonal(g)
    if poly is None:
        rep.add(
            f"boundaries must be polygons; this row is a {g.geom_type}; not loaded",
            row=r,
            column="geometry",
            value=g.geom_type,
            hint="keep only (Multi)Polygon shapes in a boundary layer",
        )
    return poly


# ------------------------------------------------------------------ files


def _survey(
    source: Source,
    *,
    name: str | None,
    sheet: str | int | None,
    schools: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, ValidationReport]:
    """With the workspace's schools: the full survey reader (assetmap.needs, schools
    matched); without: the response table's columns and school ids are checked."""
    if schools is not None:
        from assetmap import needs

        frame, rep = needs.read_survey(source, name=name, schools=schools)
        rep.kind = "survey"
        return frame, rep
    frame, rep = read_table(source, name=name, sheet=sheet, kind="survey")
    rep.kind = "survey"
    keys = {_key(c): c for c in frame.columns}
    missing = [c for c in SURVEY_COLUMNS if _key(c) not in keys]
    if missing:
        found = ", ".join(map(repr, frame.columns))
        rep.add(
            f"required column(s) missing: {', '.join(missing)} (columns found: {found})",
            hint="a survey needs one row per response with " + ", ".join(SURVEY_COLUMNS),
        )
        rep.rows_loaded = 0
        return frame.iloc[0:0], rep
    rows = _rows(frame)
    keep = []
    for i, (_, row) in enumerate(frame.iterrows()):
        if not _text(row[keys["schoolid"]]):
            rep.add(
                "school_id is empty; the response was not loaded",
                row=rows[i],
                column=keys["schoolid"],
                hint="every response needs its school",
            )
            continue
        keep.append(i)
    out = frame.iloc[keep]
    rep.rows_loaded = len(out)
    return out, rep


_NORMALIZERS: dict[str, Callable[..., tuple[Any, ValidationReport]]] = {
    "partners": normalize_partners,
    "schools": normalize_schools,
    "boundaries": normalize_boundaries,
}


def load_file(
    source: Source,
    *,
    name: str | None = None,
    kind: str = "partners",
    sheet: str | int | None = None,
    layer: str | int | None = None,
    crs: str | None = None,
    region: Region | str | None = "settings",
    schools: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, ValidationReport]:
    """Read any supported file (path or bytes) and normalise it as ``kind``
    (``schools``: the workspace's schools, to match a survey's rows against).

    Raises :class:`InputError` when the file cannot be read at all; otherwise returns the
    canonical frame and its report (``report.rows_loaded == 0`` when nothing was usable).
    ``region`` is where partner and school points may lie (default: the settings' region;
    ``assetmap init`` passes the new workspace's).
    """
    if kind not in KINDS:
        raise InputError(f"unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    if kind == "survey":
        return _survey(source, name=name, sheet=sheet, schools=schools)
    raw, rep = read_any(source, name=name, sheet=sheet, layer=layer, kind=kind)
    rep.kind = kind
    if rep.notes.get("format") == "hsds" and kind != "partners":
        raise InputError(
            f"{rep.file}: an HSDS file holds partners, not {kind}. Use --kind partners."
        )
    extra = {"region": region} if kind in ("partners", "schools") else {}
    return _NORMALIZERS[kind](raw, file=rep.file, report=rep, crs=crs, **extra)


def load_partners_file(
    path_or_bytes: Source,
    *,
    name: str | None = None,
    kind: str = "partners",
    sheet: str | int | None = None,
    layer: str | int | None = None,
    crs: str | None = None,
) -> tuple[gpd.GeoDataFrame, ValidationReport]:
    """Read and normalise a partner file (CSV, XLSX, GeoJSON, GeoPackage, zip, HSDS)."""
    return load_file(path_or_bytes, name=name, kind=kind, sheet=sheet, layer=layer, crs=crs)


def detect_kind(source: Source, *, name: str | None = None) -> str:
    """'table', 'geo' or 'hsds' (see :func:`assetmap.io.file_kind`)."""
    return file_kind(source, name=name)
