"""Shared reader plumbing: turn a path or uploaded bytes into (bytes, display name, suffix).

User input is never handed to GDAL or pandas as a path or URL: we read the bytes ourselves
(a local file only), so ``https://…``, ``/vsicurl/…`` or GeoJSON text given as a "file name"
can never make a library fetch or open something else.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePath

from assetmap._errors import InputError

#: Largest file a reader accepts (bytes). Uploads are capped lower by the app.
MAX_FILE_BYTES = 200 * 1024 * 1024

Source = str | os.PathLike | bytes | bytearray | memoryview


@dataclass(frozen=True)
class Loaded:
    """The raw content of one input."""

    data: bytes
    name: str  # shown to people in messages (file name, never a full server path for uploads)
    suffix: str  # lower-case extension with the dot ('.csv'), '' when unknown


def display_name(name: str | os.PathLike | None, default: str = "upload") -> str:
    if name is None:
        return default
    return PurePath(str(name).replace("\\", "/")).name or default


def suffix_of(name: str) -> str:
    n = name.lower()
    for multi in (".shp.zip", ".geojson.zip"):
        if n.endswith(multi):
            return ".zip"
    return PurePath(n).suffix


def is_bytes(source: object) -> bool:
    return isinstance(source, bytes | bytearray | memoryview)


def local_path(source: str | os.PathLike) -> Path:
    """A local file path, refusing URLs and GDAL virtual paths."""
    text = os.fspath(source)
    if isinstance(text, bytes):  # pragma: no cover - os.PathLike returning bytes
        text = text.decode("utf-8", "replace")
    low = text.strip().lower()
    if "://" in low or low.startswith("/vsi") or low.startswith("{") or "\n" in text:
        raise InputError(
            f"{text[:80]!r} is not a local file. assetmap reads local files or uploaded bytes "
            "only; download the file first and give its path."
        )
    return Path(text)


def load_source(source: Source, *, name: str | None = None) -> Loaded:
    """Read a local file or take uploaded bytes. ``name`` gives the format for bytes."""
    if is_bytes(source):
        data = bytes(source)
        shown = display_name(name)
    elif isinstance(source, str | os.PathLike):
        path = local_path(source)
        shown = display_name(name) if name else path.name
        if not path.exists():
            raise InputError(f"{shown}: file not found ({path}). Check the path and try again.")
        if path.is_dir():
            raise InputError(
                f"{shown}: is a folder, not a file. Give one file (CSV, XLSX, GeoJSON, "
                "GeoPackage, zipped shapefile) or an HSDS data package folder with read_hsds."
            )
        try:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                raise InputError(
                    f"{shown}: file is too large ({size / 1e6:.0f} MB; the limit is "
                    f"{MAX_FILE_BYTES / 1e6:.0f} MB). Split it or remove unused columns."
                )
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"{shown}: cannot read the file ({exc.strerror or exc}).") from exc
    else:
        raise InputError(
            f"expected a file path or bytes, got {type(source).__name__}. "
            "Example: read_table('partners.csv') or read_table(data, name='partners.csv')."
        )
    if len(data) > MAX_FILE_BYTES:
        raise InputError(
            f"{shown}: file is too large ({len(data) / 1e6:.0f} MB; the limit is "
            f"{MAX_FILE_BYTES / 1e6:.0f} MB)."
        )
    return Loaded(data=data, name=shown, suffix=suffix_of(shown))


def sniff_kind(loaded: Loaded) -> str:
    """'csv', 'excel', 'geojson', 'gpkg', 'zip', 'json' or 'unknown' from name and magic bytes."""
    head = loaded.data[:64]
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "excel" if loaded.suffix in (".xlsx", ".xlsm") else "zip"
    if head.startswith(b"SQLite format 3\x00"):
        return "gpkg"
    suffix = loaded.suffix
    if suffix in (".csv", ".txt", ".tsv", ".tab"):
        return "csv"
    if suffix in (".xlsx", ".xlsm", ".xls"):
        return "excel"
    if suffix in (".geojson", ".geojsonl"):
        return "geojson"
    if suffix == ".gpkg":
        return "gpkg"
    if suffix == ".json":
        return "json"
    if suffix in (".zip", ".shp"):
        return "zip" if suffix == ".zip" else "shp"
    stripped = loaded.data.lstrip()[:1]
    if stripped in (b"{", b"["):
        return "json"
    return "csv" if suffix == "" else "unknown"
