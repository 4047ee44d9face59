"""Zip archives from users, read in memory only — never extracted to disk.

Before anything is inflated every member is checked: no absolute or ``..`` names, no
backslashes (Windows traversal), no symlinks, a cap on the declared size and on the
compression ratio (zip bombs), and a cap on the number of members.
"""

from __future__ import annotations

import io
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from assetmap._errors import InputError

__all__ = ["SafeZip", "open_zip", "MAX_MEMBER_BYTES", "MAX_TOTAL_BYTES", "MAX_RATIO"]

MAX_MEMBER_BYTES = 200 * 1024 * 1024
MAX_TOTAL_BYTES = 400 * 1024 * 1024
MAX_RATIO = 100
MAX_MEMBERS = 5000
_RATIO_MIN_BYTES = 1024 * 1024  # tiny files may compress very well; judge ratio above 1 MB


@dataclass
class SafeZip:
    """A checked archive: member infos by name, readable one at a time."""

    name: str
    zf: zipfile.ZipFile
    members: dict[str, zipfile.ZipInfo] = field(default_factory=dict)

    def read(self, member: str) -> bytes:
        info = self.members[member]
        with self.zf.open(info) as fh:
            data = fh.read(info.file_size + 1)
        if len(data) > info.file_size:
            raise InputError(
                f"{self.name}: member {member!r} is larger than the archive declares; refused."
            )
        return data


def _bad_name(name: str) -> str | None:
    if "\\" in name:
        return "contains a backslash (a Windows path that could escape the folder)"
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return "is an absolute path"
    if ".." in PurePosixPath(name).parts:
        return "contains '..' (it points outside the archive folder)"
    if "\x00" in name:
        return "contains a NUL character"
    return None


def open_zip(data: bytes, *, name: str) -> SafeZip:
    """Open and check a zip archive held in memory; raise InputError naming a bad member."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise InputError(f"{name}: not a readable zip archive ({exc}).") from exc
    if len(infos) > MAX_MEMBERS:
        raise InputError(
            f"{name}: the archive has {len(infos)} members (limit {MAX_MEMBERS}); refused."
        )
    total = 0
    members: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        member = info.filename
        why = _bad_name(member)
        if why:
            raise InputError(
                f"{name}: archive member {member!r} {why}; the archive was refused for safety. "
                "Zip the files again from inside their folder."
            )
        mode = info.external_attr >> 16
        if info.create_system == 3 and stat.S_ISLNK(mode):
            raise InputError(
                f"{name}: archive member {member!r} is a symbolic link; the archive was refused. "
                "Zip the real files, not links."
            )
        if info.is_dir():
            continue
        if info.file_size > MAX_MEMBER_BYTES:
            raise InputError(
                f"{name}: archive member {member!r} would unpack to {info.file_size / 1e6:.0f} MB "
                f"(limit {MAX_MEMBER_BYTES / 1e6:.0f} MB); refused before unpacking."
            )
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > _RATIO_MIN_BYTES and ratio > MAX_RATIO:
            raise InputError(
                f"{name}: archive member {member!r} is compressed {ratio:.0f}:1 (limit {MAX_RATIO}:1), "
                "which looks like a zip bomb; refused before unpacking."
            )
        total += info.file_size
        if total > MAX_TOTAL_BYTES:
            raise InputError(
                f"{name}: the archive would unpack to more than {MAX_TOTAL_BYTES / 1e6:.0f} MB; refused."
            )
        if info.flag_bits & 0x1:
            raise InputError(
                f"{name}: archive member {member!r} is encrypted; give an unencrypted zip."
            )
        members[member] = info
    return SafeZip(name=name, zf=zf, members=members)
