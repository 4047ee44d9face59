"""Programs: what partners and schools run for families, when, where, for whom.

A program is an HSDS 3.0 ``service`` with ``schedule`` records, delivered by an organisation
(a partner in the workspace). Fields:

========================  ==============================================================
program_id                stable id (made from partner and name when absent)
name, description         text
partner_id                the partner (organisation site) that runs it
location_type             partner_site / school / online
location_school_id        the school it happens at (location_type school)
school_ids                the schools whose families it serves (coverage counts these)
audience                  families, parents, students, staff, students_with_disabilities …
languages                 language codes it is offered in
cost                      free / sliding_scale / fee / unknown
principles                guiding-principle ids (``config/framework.toml``)
impact_level              a level id of the framework's impact scale
plays                     play ids it delivers (optional; keywords also link plays)
schedules                 HSDS schedules (see :mod:`assetmap.schedules`)
ada_accessible            true / false / unknown (None)
shared_staffing           the provider welcomes district staff alongside its own (ESY)
capacity                  families per run, when known
public                    shown on Find help (default true)
========================  ==============================================================

Programs live in the workspace store (:mod:`assetmap.store._programs`) and travel through
HSDS JSON and flat CSV/XLSX (one row per program, schedules as text).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from assetmap._errors import InputError
from assetmap.framework import Framework, load_framework
from assetmap.schedules import normalise_schedule, schedule_text, slots

__all__ = [
    "FIELDS",
    "LOCATION_TYPES",
    "COSTS",
    "normalise_program",
    "program_slots",
    "program_locations",
    "public_programs",
    "programs_open",
    "programs_near",
    "to_hsds",
    "from_hsds",
    "to_table",
    "from_table",
    "read_programs",
    "write_programs",
    "save_program",
    "list_programs",
    "retire_program",
    "program_history",
]

LOCATION_TYPES = ("partner_site", "school", "online")
COSTS = ("free", "sliding_scale", "fee", "unknown")
FIELDS = (
    "program_id", "name", "description", "partner_id", "location_type", "location_school_id",
    "school_ids", "audience", "languages", "cost", "principles", "impact_level", "plays",
    "schedules", "ada_accessible", "shared_staffing", "capacity", "public",
)  # fmt: skip
_LISTS = ("school_ids", "audience", "languages", "principles", "plays")
_HSDS_VOCAB = "assetmap"


def _missing(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and v != v:
        return True
    return isinstance(v, str) and v.strip() == ""


def _list(v: Any) -> list[str]:
    if _missing(v):
        return []
    if isinstance(v, str):
        return [x.strip() for x in re.split(r"[;,|]", v) if x.strip()]
    return [str(x).strip() for x in v if not _missing(x)]


def _bool(v: Any, what: str) -> bool | None:
    if _missing(v):
        return None
    if isinstance(v, bool):
        return v
    t = str(v).strip().lower()
    if t in {"true", "yes", "y", "1"}:
        return True
    if t in {"false", "no", "n", "0"}:
        return False
    raise InputError(f"{what} {v!r}: use yes or no.")


def _unformula(v: Any) -> Any:
    """Undo the apostrophe our spreadsheet exports put before formula-like text."""
    if isinstance(v, str) and len(v) > 1 and v[0] == "'" and v[1:].lstrip(" ")[:1] in "=+-@\t\r\n":
        return v[1:]
    return v


def normalise_program(
    raw: Mapping[str, Any],
    *,
    framework: Framework | None = None,
    partner_ids: Iterable[str] | None = None,
    school_ids: Iterable[str] | None = None,
) -> dict[str, Any]:
    """A checked program record; raises one :class:`InputError` listing every problem.

    ``partner_ids`` / ``school_ids`` (when given) are the ids that exist in the workspace.
    """
    from assetmap.languages import load_languages

    fw = framework or load_framework()
    problems: list[str] = []
    raw = {k: _unformula(v) for k, v in raw.items()}
    name = str(raw.get("name") or "").strip()
    if not name:
        problems.append("name: a program needs a name (e.g. 'Parent Academy').")
    rec: dict[str, Any] = {"name": name, "description": str(raw.get("description") or "").strip()}
    pid = str(raw.get("partner_id") or "").strip() or None
    if pid is not None and partner_ids is not None and pid not in set(map(str, partner_ids)):
        problems.append(f"partner_id {pid!r}: no such partner in the workspace.")
    rec["partner_id"] = pid
    loc = str(raw.get("location_type") or ("partner_site" if pid else "online")).strip().lower()
    loc = loc.replace(" ", "_").replace("-", "_")
    if loc not in LOCATION_TYPES:
        problems.append(f"location_type {loc!r}: use one of {', '.join(LOCATION_TYPES)}.")
    rec["location_type"] = loc
    known_schools = None if school_ids is None else set(map(str, school_ids))
    at_school = str(raw.get("location_school_id") or "").strip() or None
    if loc == "school" and not at_school:
        problems.append("location_school_id: a program held at a school needs the school id.")
    if loc == "partner_site" and not pid:
        problems.append("partner_id: a program held at a partner site needs the partner_id.")
    rec["location_school_id"] = at_school if loc == "school" else None
    for key in _LISTS:
        rec[key] = _list(raw.get(key))
    if at_school and loc == "school" and at_school not in rec["school_ids"]:
        rec["school_ids"].insert(0, at_school)
    if known_schools is not None:
        for s in [*rec["school_ids"], *([at_school] if at_school else [])]:
            if s not in known_schools:
                problems.append(
                    f"school id {s!r}: no such school (give a 7-digit id, e.g. 0640611)."
                )
    langs = load_languages()
    codes = []
    for lang in rec["languages"]:
        code = langs.normalize(lang)
        if code is None:
            problems.append(f"languages: {lang!r} is not a language we know (e.g. es, Spanish).")
        elif code not in codes:
            codes.append(code)
    rec["languages"] = codes
    cost = str(raw.get("cost") or "unknown").strip().lower().replace(" ", "_").replace("-", "_")
    if cost not in COSTS:
        problems.append(f"cost {cost!r}: use one of {', '.join(COSTS)}.")
    rec["cost"] = cost
    for p in rec["principles"]:
        if fw.principle(p) is None:
            problems.append(
                f"principles: {p!r} is not a guiding principle; use {', '.join(x.id for x in fw.principles)}."
            )
    level = str(raw.get("impact_level") or "").strip() or None
    if level is not None and fw.level(level) is None:
        problems.append(f"impact_level {level!r}: use one of {', '.join(x.id for x in fw.levels)}.")
    rec["impact_level"] = level
    for p in rec["plays"]:
        if fw.play(p) is None:
            problems.append(f"plays: {p!r} is not a play in config/framework.toml.")
    scheds = raw.get("schedules")
    if isinstance(scheds, str):
        scheds = parse_schedules_text(scheds, problems)
    rec["schedules"] = []
    for i, s in enumerate(scheds or []):
        try:
            rec["schedules"].append(normalise_schedule(s))
        except InputError as exc:
            problems.append(f"schedules[{i + 1}]: {exc}")
    try:
        rec["ada_accessible"] = _bool(raw.get("ada_accessible"), "ada_accessible")
        rec["shared_staffing"] = bool(_bool(raw.get("shared_staffing"), "shared_staffing"))
        pub = _bool(raw.get("public"), "public")
        rec["public"] = True if pub is None else pub
    except InputError as exc:
        problems.append(str(exc))
    cap = raw.get("capacity")
    if _missing(cap):
        rec["capacity"] = None
    else:
        try:
            rec["capacity"] = int(float(cap))
            if rec["capacity"] < 0 or rec["capacity"] != float(cap):
                raise ValueError
        except (TypeError, ValueError):
            problems.append(f"capacity {cap!r}: give a whole number ≥ 0.")
    prog_id = str(raw.get("program_id") or "").strip()
    if not prog_id and name:
        digest = hashlib.sha256(f"{pid or ''}|{name.lower()}".encode()).hexdigest()[:10]
        prog_id = f"prog-{digest}"
    rec["program_id"] = prog_id
    if problems:
        label = name or prog_id or "program"
        raise InputError(f"program {label!r}: " + " ".join(problems))
    return {k: rec.get(k) for k in FIELDS}


def parse_schedules_text(text: str, problems: list[str] | None = None) -> list[dict[str, Any]]:
    """'TU 18:00-20:00; SA 10:00-12:00 (2027-07-06 to 2027-08-06)' -> schedule dicts."""
    out = []
    for part in [p.strip() for p in str(text or "").split(";") if p.strip()]:
        m = re.match(
            r"^(?:(monthly)\s+)?(?P<days>[A-Za-z ,\-]+?)\s+(?P<o>\d{1,2}:\d{2})\s*-\s*(?P<c>\d{1,2}:\d{2})"
            r"(?:\s*\((?P<f>[\d\-…]+)?\s*to\s*(?P<t>[\d\-…]+)?\))?$",
            part,
            flags=re.IGNORECASE,
        )
        if not m:
            msg = f"schedule {part!r} is not understood; write e.g. 'TU 18:00-20:00' or 'MO WE 09:00-11:00 (2027-07-06 to 2027-08-06)'."
            if problems is None:
                raise InputError(msg)
            problems.append(msg)
            continue
        out.append(
            {
                "freq": "MONTHLY" if m.group(1) else "WEEKLY",
                "byday": m.group("days"),
                "opens_at": m.group("o"),
                "closes_at": m.group("c"),
                "valid_from": None if m.group("f") in (None, "…") else m.group("f"),
                "valid_to": None if m.group("t") in (None, "…") else m.group("t"),
            }
        )
    return out


def program_slots(program: Mapping[str, Any]) -> set[str]:
    """Every time slot any of the program's schedules falls into."""
    out: set[str] = set()
    for s in program.get("schedules") or []:
        out |= slots(s)
    return out


def program_locations(
    programs: Iterable[Mapping[str, Any]], *, partners: pd.DataFrame, schools: pd.DataFrame
) -> dict[str, tuple[float, float] | None]:
    """program_id -> (lat, lon) where it happens; None for online or an unknown place.

    A partner without a public location (a sensitive site) gives None: its programs are never
    placed on a map or found by distance.
    """
    pts: dict[str, tuple[float, float] | None] = {}
    for frame, key in ((partners, "partner_id"), (schools, "school_id")):
        if frame is None or frame.empty:
            continue
        for k, g in zip(frame[key].astype(str), frame.geometry, strict=True):
            pts[f"{key}:{k}"] = None if g is None or g.is_empty else (g.y, g.x)
    out: dict[str, tuple[float, float] | None] = {}
    for p in programs:
        if p.get("location_type") == "partner_site":
            out[p["program_id"]] = pts.get(f"partner_id:{p.get('partner_id')}")
        elif p.get("location_type") == "school":
            out[p["program_id"]] = pts.get(f"school_id:{p.get('location_school_id')}")
        else:
            out[p["program_id"]] = None
    return out


def public_programs(
    programs: Iterable[Mapping[str, Any]], *, public_partner_ids: Iterable[str]
) -> list[dict[str, Any]]:
    """What a family may see: public, active programs whose partner (if any) is public."""
    ok = set(map(str, public_partner_ids))
    return [
        dict(p)
        for p in programs
        if p.get("public", True)
        and not p.get("retired")
        and (not p.get("partner_id") or str(p["partner_id"]) in ok)
    ]


def programs_open(
    programs: Iterable[Mapping[str, Any]], choices: Iterable[str]
) -> list[dict[str, Any]]:
    """Programs with a schedule in every chosen ``--open`` choice (evening/weekend/summer)."""
    from assetmap.schedules import OPEN_CHOICES

    choices = list(choices)
    out = []
    for p in programs:
        have = program_slots(p)
        if all(have & OPEN_CHOICES[c] for c in choices):
            out.append(dict(p))
    return out


def programs_near(
    programs: Iterable[Mapping[str, Any]],
    *,
    lat: float,
    lon: float,
    radius_km: float,
    locations: Mapping[str, tuple[float, float] | None],
    include_online: bool = True,
) -> pd.DataFrame:
    """Programs within ``radius_km`` of a point (nearest first), then online ones.

    Columns: every program field plus distance_km (None online) and when (schedule text).
    """
    from assetmap.index import haversine_km

    rows = []
    for p in programs:
        where = locations.get(str(p["program_id"]))
        if where is None:
            if not include_online or p.get("location_type") != "online":
                continue
            d = None
        else:
            d = float(haversine_km(lat, lon, [where[0]], [where[1]])[0])
            if d > radius_km:
                continue
        rows.append(
            {
                **p,
                "distance_km": None if d is None else round(d, 2),
                "when": "; ".join(schedule_text(s) for s in p.get("schedules") or []),
            }
        )
    out = pd.DataFrame(rows, columns=[*FIELDS, "distance_km", "when"])
    return out.sort_values("distance_km", na_position="last", kind="stable").reset_index(drop=True)


# ----------------------------------------------------------------------------- formats
def to_hsds(programs: Iterable[Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """HSDS 3.0 services (with schedules, languages and attributes for our tags)."""
    services = []
    for p in programs:
        sid = p["program_id"]
        attrs = []
        for vocab, values in (
            ("principle", p.get("principles") or []),
            ("impact_level", [p["impact_level"]] if p.get("impact_level") else []),
            ("play", p.get("plays") or []),
            ("audience", p.get("audience") or []),
            ("school", p.get("school_ids") or []),
            ("location_type", [p.get("location_type")]),
            ("location_school", [p["location_school_id"]] if p.get("location_school_id") else []),
            ("cost", [p.get("cost")]),
            (
                "ada_accessible",
                [] if p.get("ada_accessible") is None else [str(p["ada_accessible"]).lower()],
            ),
            ("shared_staffing", [str(bool(p.get("shared_staffing"))).lower()]),
            ("public", [str(bool(p.get("public", True))).lower()]),
        ):
            for v in values:
                attrs.append(
                    {
                        "id": f"{sid}-{vocab}-{v}",
                        "link_id": sid,
                        "link_type": "service",
                        "link_entity": "service",
                        "taxonomy_term": {
                            "id": f"{_HSDS_VOCAB}:{vocab}:{v}",
                            "code": str(v),
                            "term": str(v),
                            "vocabulary": f"{_HSDS_VOCAB}:{vocab}",
                        },
                    }
                )
        services.append(
            {
                "id": sid,
                "organization_id": p.get("partner_id"),
                "name": p["name"],
                "description": p.get("description") or None,
                "status": "inactive" if p.get("retired") else "active",
                "fees_description": p.get("cost"),
                "capacities": []
                if p.get("capacity") is None
                else [
                    {
                        "id": f"{sid}-capacity",
                        "service_id": sid,
                        "available": p["capacity"],
                        "unit": {"id": "families", "name": "families"},
                    }
                ],  # fmt: skip
                "languages": [
                    {"id": f"{sid}-lang-{c}", "service_id": sid, "code": c}
                    for c in p.get("languages") or []
                ],
                "schedules": [
                    {
                        "id": f"{sid}-sched-{i + 1}",
                        "service_id": sid,
                        **{k: v for k, v in s.items() if v},
                    }
                    for i, s in enumerate(p.get("schedules") or [])
                ],
                "attributes": attrs,
            }
        )
    return {"services": services}


def from_hsds(data: Any) -> list[dict[str, Any]]:
    """Raw program dicts from HSDS services (``{"services": [...]}`` or a list); not yet checked."""
    services = data.get("services") if isinstance(data, Mapping) else data
    if not isinstance(services, list):
        raise InputError("an HSDS program file holds a list of services (or {'services': [...]}).")
    out = []
    for i, s in enumerate(services):
        if not isinstance(s, Mapping):
            raise InputError(f"services[{i}] is not an object.")
        tags: dict[str, list[str]] = {}
        for a in s.get("attributes") or []:
            term = a.get("taxonomy_term") or {}
            vocab = str(term.get("vocabulary") or "")
            if vocab.startswith(f"{_HSDS_VOCAB}:"):
                tags.setdefault(vocab.split(":", 1)[1], []).append(str(term.get("code")))
        caps = s.get("capacities") or []

        def one(key: str, tags: dict[str, list[str]] = tags) -> str | None:
            return (tags.get(key) or [None])[0]

        out.append(
            {
                "program_id": s.get("id"),
                "name": s.get("name"),
                "description": s.get("description"),
                "partner_id": s.get("organization_id"),
                "location_type": one("location_type"),
                "location_school_id": one("location_school"),
                "school_ids": tags.get("school", []),
                "audience": tags.get("audience", []),
                "languages": [x.get("code") or x.get("name") for x in s.get("languages") or []],
                "cost": one("cost") or s.get("fees_description"),
                "principles": tags.get("principle", []),
                "impact_level": one("impact_level"),
                "plays": tags.get("play", []),
                "schedules": [
                    {k: v for k, v in x.items() if k not in {"id", "service_id"}}
                    for x in s.get("schedules") or []
                ],
                "ada_accessible": one("ada_accessible"),
                "shared_staffing": one("shared_staffing"),
                "capacity": caps[0].get("available") if caps else None,
                "public": one("public"),
            }
        )
    return out


def to_table(programs: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per program; lists as '; ' text, schedules as readable text."""
    rows = []
    for p in programs:
        r = {k: p.get(k) for k in FIELDS}
        for k in _LISTS:
            r[k] = "; ".join(p.get(k) or [])
        r["schedules"] = "; ".join(schedule_text(s) for s in p.get("schedules") or [])
        rows.append(r)
    return pd.DataFrame(rows, columns=list(FIELDS))


def from_table(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Raw program dicts from a table made by :func:`to_table` (or by hand)."""
    frame = frame.rename(columns=lambda c: str(c).strip().lower().replace(" ", "_"))
    if "name" not in frame.columns:
        raise InputError("a program table needs a 'name' column (see `assetmap program export`).")
    return [
        {k: (None if _missing(v) else v) for k, v in row.items()}
        for row in frame.to_dict(orient="records")
    ]


def read_programs(path: str | Path) -> list[dict[str, Any]]:
    """Raw programs from .json (HSDS), .csv or .xlsx; each row is checked on import."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file.")
    suffix = p.suffix.lower()
    try:
        if suffix == ".json":
            return from_hsds(json.loads(p.read_text(encoding="utf-8-sig")))
        if suffix == ".csv":
            return from_table(
                pd.read_csv(p, dtype=str, encoding="utf-8-sig", keep_default_na=False)
            )
        if suffix in {".xlsx", ".xls"}:
            return from_table(pd.read_excel(p, dtype=str, keep_default_na=False))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"{p}: cannot read it as {suffix[1:].upper()} ({exc}).") from None
    raise InputError(f"{p}: programs import from .json (HSDS), .csv or .xlsx.")


def write_programs(programs: Iterable[Mapping[str, Any]], path: str | Path) -> Path:
    """Write programs as HSDS .json, or spreadsheet-safe .csv/.xlsx."""
    from assetmap.export._tabular import write_csv, write_xlsx

    p = Path(path)
    programs = list(programs)
    suffix = p.suffix.lower()
    if suffix == ".json":
        p.write_text(json.dumps(to_hsds(programs), ensure_ascii=False, indent=1), encoding="utf-8")
    elif suffix == ".csv":
        write_csv(to_table(programs), p)
    elif suffix == ".xlsx":
        write_xlsx({"programs": to_table(programs)}, p)
    else:
        raise InputError(f"{p}: programs export to .json (HSDS), .csv or .xlsx.")
    return p


# ----------------------------------------------------------------------------- workspace
def save_program(
    store: Any,
    raw: Mapping[str, Any],
    *,
    by: str,
    expect_version: int | None = None,
    framework: Framework | None = None,
) -> dict[str, Any]:
    """Check a program against the workspace (partners, schools) and save it; returns it."""
    from assetmap.store import _programs

    partner_ids = [r["partner_id"] for r in store.partner_records()]
    school_ids = store.schools()["school_id"].astype(str).tolist()
    rec = normalise_program(
        raw, framework=framework, partner_ids=partner_ids, school_ids=school_ids
    )
    rec["version"] = _programs.save_program(store, rec, by=by, expect_version=expect_version)
    return rec


def list_programs(store: Any, *, include_retired: bool = False) -> list[dict[str, Any]]:
    """The workspace's programs."""
    from assetmap.store import _programs

    return _programs.program_records(store, include_retired=include_retired)


def retire_program(store: Any, program_id: str, *, by: str) -> int:
    """Retire a program (kept with its history and outcomes)."""
    from assetmap.store import _programs

    return _programs.retire_program(store, program_id, by=by)


def program_history(store: Any, program_id: str | None = None) -> list[dict[str, Any]]:
    """Every saved version of a program (or of all programs)."""
    from assetmap.store import _programs

    return _programs.program_history(store, program_id)
