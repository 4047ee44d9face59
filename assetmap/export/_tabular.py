"""Spreadsheet-safe tables: CSV and XLSX (OWASP CSV injection, RELIABILITY.md §1.3).

Every text cell of every CSV or XLSX file assetmap writes passes :func:`safe_cell`. A text
cell that a spreadsheet could run as a formula (it starts, after any leading spaces, with
``=`` ``+`` ``-`` ``@`` TAB CR LF or NUL) gets a leading ``'``. In XLSX every text cell is
typed as a string (openpyxl ``data_type 's'``), never a formula; numbers and booleans keep
their types.
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["safe_cell", "DANGEROUS_STARTS", "frame_to_cells", "write_csv", "write_xlsx"]

log = logging.getLogger(__name__)

#: Characters that make a spreadsheet treat a cell as a formula (OWASP; ASVS adds NUL).
DANGEROUS_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")


def safe_cell(value: Any) -> Any:
    """A value ready for a CSV/XLSX cell: text neutralised, numbers/booleans/None kept.

    Lists become ``"; "``-joined text; dates ISO text; NaN ``None``.

    >>> safe_cell("=HYPERLINK(\\"http://x\\")")
    '\\'=HYPERLINK("http://x")'
    >>> safe_cell("  @SUM(A1)"), safe_cell("-2"), safe_cell(-2), safe_cell("Food pantry")
    ("'  @SUM(A1)", "'-2", -2, 'Food pantry')
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        v = float(value)
        return None if math.isnan(v) else (v if math.isfinite(v) else str(v))
    if isinstance(value, list | tuple | set | np.ndarray):
        value = "; ".join(str(v) for v in value)
    elif isinstance(value, dt.datetime | dt.date | pd.Timestamp):
        value = value.isoformat()
    text = str(value)
    if text == "":
        return None
    stripped = text.lstrip(" ")
    first = stripped[:1]
    if first in DANGEROUS_STARTS or text[:1] in DANGEROUS_STARTS or (first and ord(first) < 32):
        return "'" + text  # any leading control character too (e.g. NUL or ESC before "=")
    return text


def frame_to_cells(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` with every cell passed through :func:`safe_cell` (geometry dropped)."""
    out = pd.DataFrame(index=range(len(df)))
    for col in df.columns:
        if col == "geometry":
            continue
        out[str(col)] = pd.Series([safe_cell(v) for v in df[col]], dtype=object)
    return out


def write_csv(df: pd.DataFrame, path: Path) -> None:
    """UTF-8 (with BOM, so Excel reads accents) CSV; every field quoted; cells neutralised."""
    cells = frame_to_cells(df)
    cells.to_csv(
        path,
        index=False,
        encoding="utf-8-sig",
        quoting=csv.QUOTE_ALL,
        lineterminator="\r\n",
    )


def _xlsx_text(text: str) -> str:
    """openpyxl refuses control characters other than TAB/CR/LF: show them as U+FFFD."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if ILLEGAL_CHARACTERS_RE.search(text):
        log.warning("xlsx: control characters in a cell were replaced by U+FFFD")
        return ILLEGAL_CHARACTERS_RE.sub("\ufffd", text)
    return text


def write_xlsx(
    sheets: Mapping[str, pd.DataFrame],
    path: Path,
    *,
    notes: Sequence[str] = (),
    notes_sheet: str = "about",
) -> None:
    """A workbook with one sheet per frame (header row + data), text cells typed as strings.

    ``notes`` lines go to a final sheet (e.g. what EXAMPLE and stale mean).
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    bold = Font(bold=True)

    def cell(ws: Any, value: Any, *, header: bool = False) -> Any:
        v = safe_cell(value)
        c = WriteOnlyCell(ws, value=None)
        if isinstance(v, str):
            c.value = _xlsx_text(v)
            c.data_type = "s"
        else:
            c.value = v
        if header:
            c.font = bold
        return c

    for name, df in sheets.items():
        ws = wb.create_sheet(title=name[:31])
        cols = [c for c in df.columns if c != "geometry"]
        ws.append([cell(ws, str(c), header=True) for c in cols])
        for row in df[cols].itertuples(index=False, name=None):
            ws.append([cell(ws, v) for v in row])
    if notes:
        ws = wb.create_sheet(title=notes_sheet)
        for line in notes:
            ws.append([cell(ws, line)])
    wb.save(path)


def _notes(bundle: Any) -> list[str]:
    from assetmap.export._common import EXAMPLE_LABEL

    lines = [
        "assetmap export",
        f"Rows marked '{EXAMPLE_LABEL}' (column example_label) are fictional example partners "
        "shipped for demonstration: they are not real organisations.",
        "stale = TRUE: the record was not verified within the configured number of days; "
        "call before referring a family.",
        "Text cells that begin with = + - @ or a control character are prefixed with an "
        "apostrophe so spreadsheets never run them as formulas.",
    ]
    if bundle.profile is not None:
        lines.append(
            "need_profile: counts of 1-5 are suppressed ('<6'), with complementary suppression "
            "(Connecticut CSDE rules); percentages are hidden when the numerator is 5 or less "
            "or the denominator is below 20."
        )
    n_ex = int(bundle.partners["example"].sum()) if len(bundle.partners) else 0
    if n_ex:
        lines.append(f"This workbook contains {n_ex} {EXAMPLE_LABEL} partner(s).")
    return lines


def bundle_csv(bundle: Any, path: Path) -> None:
    """The network table when there is one, else the partners table."""
    table = bundle.network if bundle.network is not None else bundle.partners_table()
    write_csv(table, path)


def bundle_xlsx(bundle: Any, path: Path) -> None:
    """Sheets network, partners, data_completeness, gaps, need_profile (those present) and an
    about sheet."""
    from assetmap.completeness import COMPLETENESS_FIELDS, completeness

    sheets: dict[str, pd.DataFrame] = {}
    if bundle.network is not None:
        sheets["network"] = bundle.network
    sheets["partners"] = bundle.partners_table()
    parts = bundle.partners
    if len(parts) and "category" in parts.columns and set(COMPLETENESS_FIELDS) <= set(parts):
        # what is known about these partners (languages, hours, phone, verification), per
        # category: an empty cell is unknown, not "no"
        sheets["data_completeness"] = completeness(parts)
    if bundle.gaps is not None:
        sheets["gaps"] = bundle.gaps
    if bundle.profile is not None:
        sheets["need_profile"] = bundle.profile
    write_xlsx(sheets, path, notes=_notes(bundle))
