"""Excel (.xlsx) reading: sheet choice, header-row detection, footers, formulas without values.

Cells are returned as text (ids and ZIPs keep their zeros). The frame's index is the sheet's
own row number, as shown in Excel.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from typing import Any

import pandas as pd

from assetmap._errors import InputError
from assetmap.io._common import Loaded
from assetmap.io._zip import open_zip
from assetmap.report import ValidationReport

__all__ = ["list_sheets", "read_excel_bytes"]

_FOOTER = re.compile(r"^\s*(grand\s+)?(total|totals|sum|subtotal)\b", re.IGNORECASE)
_MAX_SCAN = 30


def _open(loaded: Loaded, *, data_only: bool) -> Any:
    import openpyxl

    if loaded.suffix == ".xls":
        raise InputError(
            f"{loaded.name}: old Excel 97-2003 (.xls) files are not supported. "
            "Open it in Excel or LibreOffice and save as .xlsx or CSV."
        )
    # An .xlsx is a zip: refuse bombs and hostile members before openpyxl inflates anything.
    open_zip(loaded.data, name=loaded.name)
    try:
        return openpyxl.load_workbook(io.BytesIO(loaded.data), data_only=data_only, read_only=False)
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError, IndexError) as exc:
        raise InputError(
            f"{loaded.name}: cannot open as an Excel workbook ({type(exc).__name__}: {exc}). "
            "Save it again as .xlsx or export a CSV."
        ) from exc
    except Exception as exc:  # openpyxl raises assorted errors on damaged XML
        raise InputError(
            f"{loaded.name}: the Excel file is damaged ({type(exc).__name__}). "
            "Save it again as .xlsx or export a CSV."
        ) from exc


def list_sheets(loaded: Loaded) -> list[str]:
    """Sheet names of a workbook, in order."""
    return list(_open(loaded, data_only=True).sheetnames)


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, float):
        if v != v:  # NaN
            return ""
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if v.time() == dt.time(0) else v.isoformat(sep=" ")
    if isinstance(v, dt.date | dt.time):
        return v.isoformat()
    return str(v).strip()


def _choose_sheet(
    wb: Any, sheet: str | int | None, name: str, report: ValidationReport, kind: str = "partners"
) -> Any:
    """The named sheet, else the visible sheet whose header maps to the most fields."""
    names = list(wb.sheetnames)
    if sheet is not None:
        if isinstance(sheet, int) or (
            isinstance(sheet, str) and sheet.isdigit() and sheet not in names
        ):
            idx = int(sheet)
            if not 0 <= idx < len(names):
                raise InputError(
                    f"{name}: there is no sheet number {idx} (sheets, from 0: "
                    + ", ".join(f"{i}={n!r}" for i, n in enumerate(names))
                    + ")."
                )
            return wb[names[idx]]
        if sheet not in names:
            raise InputError(
                f"{name}: there is no sheet {sheet!r}. Sheets: {', '.join(map(repr, names))}."
            )
        return wb[sheet]
    hidden = [n for n in names if wb[n].sheet_state != "visible"]
    if hidden:
        report.warn(
            f"hidden sheet(s) ignored: {', '.join(map(repr, hidden))}",
            hint="unhide a sheet in Excel, or choose it with --sheet NAME",
            value=", ".join(hidden),
        )
    scores = {n: _sheet_score(wb[n], kind) for n in names if n not in hidden}
    non_empty = [n for n, sc in scores.items() if sc >= 0]
    if not non_empty:
        raise InputError(f"{name}: every sheet is empty.")
    chosen = max(non_empty, key=lambda n: scores[n])  # the first of equals
    report.notes["sheet_scores"] = {n: scores[n] for n in non_empty}
    if len(non_empty) > 1:
        report.warn(
            f"the workbook has {len(non_empty)} sheets with data ({', '.join(map(repr, non_empty))}); "
            f"read {chosen!r}, whose header matches the most {kind} fields ({scores[chosen]})",
            hint="choose another with --sheet NAME (CLI) or the sheet picker",
            value=chosen,
        )
    return wb[chosen]


def _sheet_score(ws: Any, kind: str) -> int:
    """How many canonical fields the sheet's header row maps to (-1: the sheet is empty)."""
    from assetmap._errors import ConfigError
    from assetmap.ingest.headers import match_header

    grid = [[_text(v) for v in row] for row in ws.iter_rows(max_row=_MAX_SCAN, values_only=True)]
    if not any(any(r) for r in grid):
        return -1
    header = grid[_header_row(grid)]
    try:
        fields = {match_header(h, kind=kind, fuzzy=False).field for h in header if h}
    except ConfigError:  # a kind without header synonyms (survey): any sheet with data
        return 0
    return len(fields - {None})


def _header_row(grid: list[list[str]]) -> int:
    """Index (0-based) of the header row: the first row that is nearly as wide as the table
    and mostly text, skipping title rows above it."""
    widths = [sum(1 for v in r if v) for r in grid[:_MAX_SCAN]]
    if not widths:
        return 0
    widest = max(widths)
    for i, row in enumerate(grid[:_MAX_SCAN]):
        filled = [v for v in row if v]
        if not filled:
            continue
        if len(filled) >= max(2, 0.6 * widest) or widest == 1:
            texty = sum(1 for v in filled if not re.fullmatch(r"[-+0-9.,\s]+", v))
            if texty >= len(filled) / 2:
                return i
    return 0


def _column_names(header_cells: list[str]) -> list[str]:
    """Header names up to the last filled one; blanks and repeats get unique names."""
    last_col = max((i for i, v in enumerate(header_cells) if v), default=-1) + 1
    columns: list[str] = []
    for i in range(last_col):
        base = header_cells[i] or f"column_{i + 1}"
        name, n = base, 2
        while name in columns:
            name = f"{base}_{n}"
            n += 1
        columns.append(name)
    return columns


def _body_rows(
    grid: list[list[str]],
    h: int,
    first_row: int,
    columns: list[str],
    fws: Any,
    report: ValidationReport,
) -> tuple[list[list[str]], list[int]]:
    """Data rows under the header (blank rows and total/footer rows dropped) and their Excel
    row numbers; a formula saved without its value is an error naming the cell."""
    last_col = len(columns)
    rows: list[list[str]] = []
    numbers: list[int] = []
    for offset, vals in enumerate(grid[h + 1 :], start=h + 1):
        excel_row = first_row + offset
        cells = (vals + [""] * last_col)[:last_col]
        if not any(cells):
            continue
        first = next((v for v in cells if v), "")
        if _FOOTER.match(first):
            report.warn(
                "a total/footer row was dropped (it is not a partner)",
                hint="remove summary rows from data sheets",
                row=excel_row,
                value=" | ".join(v for v in cells if v)[:200],
            )
            continue
        for j in range(last_col):
            if cells[j]:
                continue
            cell = fws.cell(row=excel_row, column=j + 1)
            if cell.data_type == "f" or (
                isinstance(cell.value, str) and cell.value.startswith("=")
            ):
                report.add(
                    "formula without a saved value: the cell would be empty",
                    hint="open the file in Excel or LibreOffice, let it calculate, and save it "
                    "again (or paste the values)",
                    row=excel_row,
                    column=columns[j],
                    value=str(cell.value)[:100],
                )
        rows.append(cells)
        numbers.append(excel_row)
    return rows, numbers


def read_excel_bytes(
    loaded: Loaded,
    *,
    sheet: str | int | None = None,
    report: ValidationReport,
    kind: str = "partners",
) -> pd.DataFrame:
    """Read one sheet as an all-text frame indexed by the Excel row number (``kind`` decides
    which sheet's header matches best when no sheet is given)."""
    wb = _open(loaded, data_only=True)
    ws = _choose_sheet(wb, sheet, loaded.name, report, kind)
    report.notes["sheet"] = ws.title
    report.notes["sheets"] = list(wb.sheetnames)
    formulas_wb = _open(loaded, data_only=False)
    fws = formulas_wb[ws.title]

    first_row = ws.min_row or 1
    grid: list[list[str]] = []
    raw: list[list[Any]] = []
    for row in ws.iter_rows(min_row=first_row):
        vals = [c.value for c in row]
        raw.append(vals)
        grid.append([_text(v) for v in vals])
    if not any(any(r) for r in grid):
        raise InputError(f"{loaded.name}: sheet {ws.title!r} is empty.")

    # Values of merged ranges appear only in their top-left cell; that is what we want
    # for a merged title above the header, so no filling here.
    h = _header_row(grid)
    header_cells = grid[h]
    excel_header_row = first_row + h
    if h > 0:
        skipped = [" ".join(v for v in grid[i] if v) for i in range(h) if any(grid[i])]
        report.warn(
            f"the header is on row {excel_header_row}; {len(skipped)} title row(s) above it were skipped",
            hint="nothing to fix if those rows are a title",
            row=excel_header_row,
            value=" | ".join(skipped)[:200],
        )
    report.notes["header_row"] = excel_header_row
    columns = _column_names(header_cells)
    rows, numbers = _body_rows(grid, h, first_row, columns, fws, report)
    report.rows_read = len(rows)
    frame = pd.DataFrame(rows, columns=columns, index=pd.Index(numbers, name="row"), dtype=object)
    return frame.astype(object)
