"""Exports of partners and coordinated networks — one code path for every format.

The format comes from the file name (or ``fmt``):

===================  ==========================================================
``.csv``             the network table (or the partners table), formula-safe
``.xlsx``            sheets network, partners, gaps, need_profile + about
``.kumu.xlsx``       Kumu workbook: Elements + Connections sheets
``.geojson``         partner points + school→partner LineStrings (RFC 7946)
``.gpkg``            GeoPackage layers partners, schools, network_lines, gaps
``.graphml``         graph of schools, partners and needs (networkx)
``.json``            Open Referral HSDS 3.0 JSON (validated by :func:`validate_hsds`)
``.zip`` / folder    HSDS 3.0 CSV data package (``datapackage.json`` + tables)
``.html``            printable one-page family resource sheet per school
``.pdf``             the same sheet as PDF, one page per school (WeasyPrint)
===================  ==========================================================

The PDF is the HTML sheet laid out by WeasyPrint, which loads the system libraries Pango and
HarfBuzz; without them a ``.pdf`` export stops with
:class:`~assetmap._errors.DependencyMissing` naming the packages
(``scripts/install_system_deps.sh``). :func:`pdf_unavailable` tells beforehand.

Spreadsheet cells go through :func:`assetmap.export._tabular.safe_cell` (OWASP); HTML text
goes through :func:`assetmap.maps.escape_text`.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from assetmap._errors import InputError
from assetmap.export._common import Bundle, Writer, atomic_path
from assetmap.export._hsds import validate_hsds

__all__ = [
    "FORMATS",
    "export_network",
    "export_partners",
    "format_for",
    "pdf_unavailable",
    "validate_hsds",
]

log = logging.getLogger(__name__)

#: Format name -> description (the CLI help lists these).
FORMATS: dict[str, str] = {
    "csv": ".csv table (formula-safe)",
    "xlsx": ".xlsx workbook (network, partners, gaps, need_profile)",
    "kumu": ".kumu.xlsx Kumu workbook (Elements, Connections)",
    "geojson": ".geojson partner points + school→partner lines",
    "gpkg": ".gpkg GeoPackage (partners, schools, network_lines, gaps)",
    "graphml": ".graphml graph of schools, partners and needs",
    "hsds": ".json Open Referral HSDS 3.0",
    "hsds_csv": ".zip or a folder: HSDS 3.0 CSV data package",
    "html": ".html printable family resource sheet",
    "pdf": ".pdf family resource sheet, one page per school",
}
_SUFFIXES = [
    (".kumu.xlsx", "kumu"),
    (".xlsx", "xlsx"),
    (".csv", "csv"),
    (".geojson", "geojson"),
    (".gpkg", "gpkg"),
    (".graphml", "graphml"),
    (".json", "hsds"),
    (".zip", "hsds_csv"),
    (".html", "html"),
    (".htm", "html"),
    (".pdf", "pdf"),
]


def format_for(path: str | Path, fmt: str | None = None) -> str:
    """The export format for a path (by extension; an existing folder or a name ending in
    ``/`` means the HSDS CSV package), or ``fmt`` when given."""
    if fmt is not None:
        key = fmt.lower().lstrip(".")
        key = {
            "json": "hsds",
            "kumu.xlsx": "kumu",
            "zip": "hsds_csv",
            "htm": "html",
            "geopackage": "gpkg",
        }.get(key, key)
        if key not in FORMATS:
            raise InputError(
                f"export: unknown format {fmt!r}; use one of {', '.join(sorted(FORMATS))} "
                "(e.g. fmt='xlsx')"
            )
        return key
    p = Path(path)
    name = p.name.lower()
    for suffix, key in _SUFFIXES:
        if name.endswith(suffix):
            return key
    if p.is_dir() or str(path).endswith(("/", "\\")) or not p.suffix:
        return "hsds_csv"
    raise InputError(
        f"export: cannot tell the format of {str(path)!r} from its extension; use one of "
        ".csv .xlsx .kumu.xlsx .geojson .gpkg .graphml .json .zip .html .pdf or a folder "
        "(e.g. --out network.xlsx)"
    )


def _writer(key: str) -> Writer:
    if key == "csv":
        from assetmap.export._tabular import bundle_csv as w
    elif key == "xlsx":
        from assetmap.export._tabular import bundle_xlsx as w
    elif key == "kumu":
        from assetmap.export._graph import bundle_kumu as w
    elif key == "geojson":
        from assetmap.export._geo import bundle_geojson as w
    elif key == "gpkg":
        from assetmap.export._geo import bundle_gpkg as w
    elif key == "graphml":
        from assetmap.export._graph import bundle_graphml as w
    elif key == "hsds":
        from assetmap.export._hsds import bundle_hsds_json as w
    elif key == "hsds_csv":
        from assetmap.export._hsds import bundle_hsds_csv as w
    elif key == "html":
        from assetmap.export._sheet import bundle_html as w
    elif key == "pdf":
        from assetmap.export import _pdf

        _pdf.require()  # a missing library is reported before any file is touched
        w = _pdf.bundle_pdf
    else:  # pragma: no cover - format_for guards this
        raise InputError(f"export: unknown format {key!r}")
    return w


def pdf_unavailable() -> str | None:
    """None when ``.pdf`` export works on this machine, else what to install."""
    from assetmap.export._pdf import pdf_unavailable as check

    return check()


def _export(bundle: Bundle, path: str | Path, fmt: str | None) -> Path:
    key = format_for(path, fmt)
    out = Path(path)
    writer = _writer(key)
    if key == "hsds_csv" and not out.name.lower().endswith(".zip"):
        out.mkdir(parents=True, exist_ok=True)
        writer(bundle, out)
    else:
        suffix = ".kumu.xlsx" if key == "kumu" else out.suffix
        with atomic_path(out, suffix=suffix) as tmp:
            writer(bundle, tmp)
    log.info("export: wrote %s (%s)", out, key)
    return out


def export_partners(partners: pd.DataFrame, path: str | Path, *, fmt: str | None = None) -> Path:
    """Write partners (canonical Partners frame) to ``path``; the format follows the
    extension (see the module doc). Returns the path written."""
    if not isinstance(partners, pd.DataFrame):
        raise TypeError(
            f"export_partners: partners must be a DataFrame, got {type(partners).__name__}"
        )
    return _export(Bundle.from_frames(partners=partners), path, fmt)


def export_network(
    network: pd.DataFrame,
    path: str | Path,
    *,
    partners: pd.DataFrame | None = None,
    schools: pd.DataFrame | None = None,
    gaps: pd.DataFrame | None = None,
    profile: pd.DataFrame | None = None,
    language: str = "en",
    fmt: str | None = None,
) -> Path:
    """Write a coordinated network (Network frame) and its context to ``path``.

    ``partners`` (canonical) adds full partner details (only partners in the network are
    written); ``schools``, ``gaps`` (Gaps frame) and ``profile`` (published NeedProfile)
    add sheets/layers; ``language`` is the family sheet's language.
    """
    if not isinstance(network, pd.DataFrame):
        raise TypeError(
            f"export_network: network must be a DataFrame, got {type(network).__name__}"
        )
    bundle = Bundle.from_frames(
        partners=partners,
        network=network,
        schools=schools,
        gaps=gaps,
        profile=profile,
        language=language,
    )
    return _export(bundle, path, fmt)
