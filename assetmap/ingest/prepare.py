"""Before header mapping: recognise a public layout, derive fields from the source's own
signals, and split combined columns.

:func:`prepare` returns the frame to map (derived columns added) and the matches that are
already decided (``fixed``), which :func:`assetmap.ingest.headers.map_headers` honours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from assetmap.ingest.headers import HeaderMatch, match_header
from assetmap.ingest.layouts import Entry, Layout, load_crosswalk, recognise, resolve
from assetmap.report import ValidationReport

__all__ = [
    "Prepared",
    "prepare",
    "layout_matches",
    "category_from_name",
    "parse_socrata_location",
]

_PAREN = re.compile(r"\(\s*([-+]?\d+(?:\.\d+)?)\s*,\s*([-+]?\d+(?:\.\d+)?)\s*\)\s*$")
_WKT = re.compile(r"^\s*POINT\s*\(\s*([-+]?\d+(?:\.\d+)?)\s+([-+]?\d+(?:\.\d+)?)\s*\)\s*$", re.I)
_TOWN_LINE = re.compile(
    r"^(?P<city>[^,]+?),?\s+(?P<state>[A-Za-z]{2})\s+(?P<zip>\d{5}(?:-\d{4})?)$"
)


@dataclass
class Prepared:
    """A frame ready for header mapping, and the matches already decided."""

    frame: pd.DataFrame
    fixed: dict[str, HeaderMatch] = field(default_factory=dict)
    layout: Layout | None = None
    copied: bool = False


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, float) and v != v) or str(v).strip() in ("", "nan", "<NA>")


def prepare(frame: pd.DataFrame, kind: str, report: ValidationReport | None = None) -> Prepared:
    """Recognise the layout (by header signature) and split combined location columns."""
    out = Prepared(frame=frame)
    layout = recognise(frame.columns, kind)
    if layout is not None:
        _apply_layout(out, layout)
        if report is not None:
            report.notes["layout"] = layout.label
    if kind in ("partners", "schools"):
        _split_location_column(out, kind)
    return out


def layout_matches(columns: list[str], kind: str) -> dict[str, HeaderMatch]:
    """The matches a recognised layout decides for these headers (renames and ignored
    columns; nothing derived), for mapping editors that show the proposal before loading."""
    p = Prepared(frame=pd.DataFrame(columns=list(columns)))
    layout = recognise(columns, kind)
    if layout is not None:
        _map_layout_columns(p, layout, list(columns))
    return p.fixed


def _fix(p: Prepared, column: str, fld: str | None, method: str = "layout") -> None:
    p.fixed[column] = HeaderMatch(column, fld, 100.0 if fld else 0.0, method)


def _derive(p: Prepared, name: str, values: list[Any], fld: str) -> None:
    if not p.copied:  # the caller's frame is never changed
        p.frame = p.frame.copy()
        p.copied = True
    p.frame[name] = values
    _fix(p, name, fld, "derived")


def _apply_layout(p: Prepared, layout: Layout) -> None:
    cols = list(p.frame.columns)
    p.layout = layout
    _map_layout_columns(p, layout, cols)
    if layout.id:
        parts = [resolve(cols, h, layout.vintage) for h in layout.id]
        if all(parts):
            frame = p.frame
            ids = [
                "-".join(str(frame[c].iloc[i]).strip() for c in parts) for i in range(len(frame))
            ]
            _derive(p, f"partner_id ({'-'.join(layout.id)})", ids, "partner_id")
    if layout.kind == "partners":
        _derive_category(p, layout, cols)


def _map_layout_columns(p: Prepared, layout: Layout, cols: list[str]) -> None:
    for header, fld in layout.columns.items():
        col = resolve(cols, header, layout.vintage)
        if col is not None:
            _fix(p, col, fld or None)
    for header in layout.ignore:
        col = resolve(cols, header, layout.vintage)
        if col is not None and col not in p.fixed:
            _fix(p, col, None, "ignored")


def _derive_category(p: Prepared, layout: Layout, cols: list[str]) -> None:
    sources = [(resolve(cols, c, layout.vintage), name) for c, name in layout.crosswalk]
    walks = [(c, load_crosswalk(name)) for c, name in sources if c is not None]
    walks = [(c, w) for c, w in walks if w is not None]
    classify = _classifier(layout.classifier)
    frame = p.frame
    cats: list[str] = []
    svcs: list[str] = []
    deliv: list[str] = []
    sens: list[Any] = []
    memo: dict[tuple, tuple[str, str, str, bool]] = {}
    key_cols = [c for c, _ in walks]
    if classify is not None:
        key_cols += [
            c for c in frame.columns if c in ("NTEE_CD", "SUBSECTION", "FOUNDATION", "NAME")
        ]
    values = {c: frame[c].tolist() for c in dict.fromkeys(key_cols)}
    for i in range(len(frame)):
        key = tuple(values[c][i] for c in values)
        if key not in memo:
            memo[key] = _decide(layout, walks, classify, dict(zip(values, key, strict=True)))
        cat, svc, dlv, sensitive = memo[key]
        cats.append(cat)
        svcs.append(svc)
        deliv.append(dlv)
        sens.append(True if sensitive else None)
    used = "/".join([c for c, _ in walks] + ([layout.classifier] if classify else [])) or "layout"
    _derive(p, f"category ({used})", cats, "category")
    if any(svcs):
        _derive(p, f"services ({used})", svcs, "services")
    if any(deliv):
        _derive(p, f"delivery ({used})", deliv, "delivery")
    if any(sens):
        _derive(p, f"sensitive ({used})", sens, "sensitive")


def _decide(
    layout: Layout, walks: list, classify: Any, row: dict[str, Any]
) -> tuple[str, str, str, bool]:
    cat: str | None = None
    services: list[str] = []
    delivery: list[str] = []
    sensitive = False
    if classify is not None:
        verdict = classify(row)
        if verdict is not None and verdict.included:
            cat = verdict.category
            services += list(verdict.services)
            sensitive = bool(verdict.sensitive)
        elif verdict is not None:
            return "other", "", "", False  # not a community partner: no guess from its name
    for col, walk in walks:
        e: Entry | None = walk.lookup(row.get(col))
        if e is None:
            continue
        if cat is None and e.category:
            cat = e.category
        services += [s for s in e.services if s not in services]
        delivery += [d for d in e.delivery if d not in delivery]
        sensitive = sensitive or e.sensitive
    return cat or layout.category or "", ";".join(services), ";".join(delivery), sensitive


def _classifier(name: str | None) -> Any:
    """The NTEE classifier of ``assetmap.crosswalks`` (config/crosswalks/ntee.toml)."""
    if name != "ntee":
        return None
    try:
        from assetmap.crosswalks import load_ntee_crosswalk  # type: ignore[attr-defined]
    except ImportError:
        return None
    try:
        walk = load_ntee_crosswalk()
    except Exception:  # noqa: BLE001 - a missing/broken table means: no NTEE signal
        return None
    return walk.classify_row


def category_from_name(name: Any) -> Entry | None:
    """Facility words in a name ('… Public Library', '… Child Care Center') -> category."""
    walk = load_crosswalk("facility_words")
    return walk.lookup(name) if walk is not None else None


# ------------------------------------------------------------------ combined location


def parse_socrata_location(value: Any) -> tuple[float, float, list[str]] | None:
    """``"12 Main St\\nHartford, CT 06103\\n(41.76, -72.68)"`` -> (lat, lon, address lines);
    also ``POINT (-72.68 41.76)``. None when the cell holds no coordinates."""
    if _blank(value):
        return None
    text = str(value).strip()
    m = _WKT.match(text)
    if m:
        return float(m.group(2)), float(m.group(1)), []
    m = _PAREN.search(text)
    if not m:
        return None
    lines = [ln.strip() for ln in text[: m.start()].splitlines() if ln.strip()]
    return float(m.group(1)), float(m.group(2)), lines


def _split_location_column(p: Prepared, kind: str) -> None:
    frame = p.frame
    cols = [c for c in frame.columns if isinstance(c, str) and c != "geometry"]
    fields = {
        (p.fixed[c].field if c in p.fixed else match_header(c, kind=kind).field) for c in cols
    }
    if {"lat", "lon"} <= fields:
        return
    for col in cols:
        if col in p.fixed and p.fixed[col].field:
            continue
        vals = frame[col].tolist()
        filled = [v for v in vals if not _blank(v)]
        if not filled or not isinstance(filled[0], str):
            continue
        parsed = [parse_socrata_location(v) for v in vals]
        if sum(x is not None for x in parsed) < max(1, len(filled) // 2):
            continue
        _fix(p, col, None, "ignored")
        _derive(p, f"lat ({col})", [x[0] if x else None for x in parsed], "lat")
        _derive(p, f"lon ({col})", [x[1] if x else None for x in parsed], "lon")
        _address_parts(p, col, parsed, fields, kind)
        return


def _address_parts(p: Prepared, col: str, parsed: list, fields: set, kind: str) -> None:
    street, city, state, zips = [], [], [], []
    for x in parsed:
        lines = x[2] if x else []
        m = _TOWN_LINE.match(lines[-1]) if lines else None
        street.append(", ".join(lines[:-1]) if m else ", ".join(lines))
        city.append(m.group("city") if m else "")
        state.append(m.group("state") if m else "")
        zips.append(m.group("zip") if m else "")
    town_field = "town" if kind == "schools" else "city"
    wanted = [("address", street), (town_field, city)]
    if kind == "partners":
        wanted += [("state", state), ("postal_code", zips)]
    for fld, values in wanted:
        if fld not in fields and any(values):
            _derive(p, f"{fld} ({col})", values, fld)
