"""CSV reading that survives real files: encodings, delimiters, decimal commas, ragged rows.

Every cell is read as text so ids and Connecticut ZIP codes (``06103``) keep their leading
zeros; numbers are converted later by :mod:`assetmap.schema`. The returned frame's index is
the row number a person sees in a spreadsheet (header = row 1, first data row = row 2).
"""

from __future__ import annotations

import csv
import io
import re

import pandas as pd

from assetmap._errors import InputError
from assetmap.io._common import Loaded
from assetmap.report import ValidationReport

__all__ = ["decode_text", "read_csv_bytes"]

_DELIMITERS = [",", ";", "\t", "|"]
_DECIMAL_COMMA = re.compile(r"^\s*[-+]?\d+,\d+\s*$")
_DELIM_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
csv.field_size_limit(10 * 1024 * 1024)


def _looks_binary(data: bytes) -> bool:
    sample = data[:8192]
    if b"\x00" in sample:
        return True
    # Control characters other than TAB/CR/LF/FF are rare in text files.
    ctrl = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13))
    return ctrl > max(2, len(sample) // 100)


def decode_text(data: bytes, *, name: str, report: ValidationReport) -> str:
    """Decode bytes as UTF-8, UTF-8 with BOM, then cp1252; record which in the report."""
    if not data.strip():
        raise InputError(f"{name}: the file is empty. Export the table again with its header row.")
    if _looks_binary(data):
        raise InputError(
            f"{name}: this is not a text (CSV) file — it contains binary data. "
            "Save the table as CSV (UTF-8) or upload the original .xlsx/.geojson/.gpkg/.zip file."
        )
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            text, enc = data.decode("utf-8-sig", errors="strict"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise InputError(
                f"{name}: the file starts with a UTF-8 byte-order mark but is not valid UTF-8 "
                f"(byte {exc.start}). Save it again as 'CSV UTF-8'."
            ) from exc
    else:
        try:
            text, enc = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            try:
                text, enc = data.decode("cp1252"), "cp1252"
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"{name}: cannot decode the text (byte {exc.start}: not UTF-8 and not "
                    "Windows-1252). Save the file as 'CSV UTF-8'."
                ) from exc
    report.notes["encoding"] = enc
    if enc == "cp1252":
        report.warn(
            "the file is not UTF-8; it was read as Windows-1252 (cp1252)",
            hint="check accented letters and dashes; save as 'CSV UTF-8' to avoid this",
            value=enc,
        )
    elif enc == "utf-8-sig":
        report.warn(
            "the file starts with a UTF-8 byte-order mark (BOM); it was read as UTF-8",
            hint="nothing to fix; some programs show the mark as stray characters",
            value=enc,
        )
    return text


def _count_outside_quotes(line: str, ch: str) -> int:
    n, quoted = 0, False
    for c in line:
        if c == '"':
            quoted = not quoted
        elif c == ch and not quoted:
            n += 1
    return n


def sniff_delimiter(text: str) -> str:
    """The delimiter (, ; TAB |) that splits the first lines most consistently."""
    lines = [ln for ln in text.splitlines()[:50] if ln.strip()]
    if not lines:
        return ","
    best, best_score = ",", (-1, -1.0)
    for d in _DELIMITERS:
        counts = [_count_outside_quotes(ln, d) for ln in lines]
        header = counts[0]
        if header == 0:
            continue
        same = sum(1 for c in counts if c == header) / len(counts)
        score = (int(same >= 0.6), same * header)
        if score > best_score:
            best, best_score = d, score
    return best


def read_csv_bytes(loaded: Loaded, *, report: ValidationReport) -> pd.DataFrame:
    """Parse a CSV (already loaded bytes) into an all-text frame indexed by spreadsheet row."""
    text = decode_text(loaded.data, name=loaded.name, report=report)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    delim = sniff_delimiter(text)
    report.notes["delimiter"] = delim
    if delim != ",":
        report.notes["delimiter_name"] = _DELIM_NAMES[delim]
    reader = csv.reader(io.StringIO(text), delimiter=delim, strict=False)
    try:
        header: list[str] | None = None
        rows: list[list[str]] = []
        row_numbers: list[int] = []
        record = 1
        for fields in reader:
            if header is None:
                if not any(f.strip() for f in fields):
                    continue
                header = fields
                continue
            record += 1
            if not any(f.strip() for f in fields):
                continue
            if len(fields) > len(header):
                extra = [f for f in fields[len(header) :] if f.strip()]
                if extra:
                    report.add(
                        f"row has {len(fields)} fields but the header has {len(header)}; "
                        "the row was not loaded",
                        hint="a value probably contains the delimiter "
                        f"({_DELIM_NAMES[delim]}) without quotes; quote it or fix the row "
                        f"(line {reader.line_num} of the file)",
                        row=record,
                        value=delim.join(fields)[:200],
                    )
                    continue
                fields = fields[: len(header)]
            elif len(fields) < len(header):
                report.warn(
                    f"row has {len(fields)} fields but the header has {len(header)}; "
                    "the missing trailing cells were left empty",
                    hint=f"check line {reader.line_num} of the file",
                    row=record,
                    value=delim.join(fields)[:200],
                )
                fields = fields + [""] * (len(header) - len(fields))
            rows.append(fields)
            row_numbers.append(record)
    except csv.Error as exc:
        raise InputError(
            f"{loaded.name}: cannot parse the CSV near line {reader.line_num} ({exc}). "
            "Check for an unclosed quote."
        ) from exc
    if header is None:
        raise InputError(
            f"{loaded.name}: the file has no header row. Add a first row of column names."
        )
    columns = _clean_header(header, report)
    frame = pd.DataFrame(
        rows, columns=columns, index=pd.Index(row_numbers, name="row"), dtype=object
    )
    frame = frame.astype(object)
    report.rows_read = record - 1
    if delim == ";" and _has_decimal_comma(frame):
        report.notes["decimal"] = ","
    return frame


def _clean_header(header: list[str], report: ValidationReport) -> list[str]:
    out: list[str] = []
    for i, h in enumerate(header, start=1):
        name = h.strip().lstrip("\ufeff")
        if not name:
            name = f"column_{i}"
        base, n = name, 2
        while name in out:
            name = f"{base}_{n}"
            n += 1
        if name != h.strip() and h.strip():
            report.warn(
                f"duplicate column name {h.strip()!r} renamed to {name!r}",
                hint="give every column a distinct name",
                column=name,
            )
        out.append(name)
    return out


def _has_decimal_comma(frame: pd.DataFrame) -> bool:
    for col in frame.columns:
        vals = [v for v in frame[col].head(200) if isinstance(v, str) and v.strip()]
        if vals and sum(1 for v in vals if _DECIMAL_COMMA.match(v)) >= max(1, len(vals) // 2):
            return True
    return False
