"""Connecticut's family-engagement framework: principles, impact scale, plays, coverage.

The framework lives in ``config/framework.toml`` (reviewable, editable by a district): the 7
guiding principles of *Full, Equal and Equitable Partnerships with Families*, a small impact
scale (informing → connecting → co-designing → families leading) with the framework's own
examples placed on it, the Accelerate CT plays by role, outcome targets and the district's
extended-school-year window.

:func:`coverage` says, for a school or a district, which principles its programs serve, by
which programs and at what highest level; where a principle has nothing or only low-impact
activity it suggests the plays that fit and partners within reach that could deliver them.

>>> fw = load_framework()
>>> len(fw.principles), [lv.id for lv in fw.levels][0]
(7, 'informing')
"""

from __future__ import annotations

import datetime as dt
import functools
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from assetmap._errors import ConfigError, InputError
from assetmap.settings import config_dir

__all__ = [
    "Level",
    "Principle",
    "Play",
    "Target",
    "Framework",
    "ROLES",
    "load_framework",
    "check_framework",
    "coverage",
    "plays_table",
    "esy_overlap",
]

ROLES = ("district_leader", "principal", "teacher", "family")
ROLE_LABELS = {
    "district_leader": "District leaders",
    "principal": "Principals",
    "teacher": "Teachers",
    "family": "Families",
}
MAX_SUGGESTED_PARTNERS = 3


@dataclass(frozen=True)
class Level:
    """One step of the impact scale."""

    id: str
    rank: int
    name: str
    description: str


@dataclass(frozen=True)
class Principle:
    """One guiding principle with the framework's examples placed on the scale."""

    id: str
    number: int
    name: str
    description: str
    examples: tuple[tuple[str, str], ...]  # (text, level id)


@dataclass(frozen=True)
class Play:
    """One action for one role, with its source."""

    id: str
    role: str
    title: str
    summary: str
    source: str
    principles: tuple[str, ...]
    level: str
    keywords: tuple[str, ...]
    partner_categories: tuple[str, ...]


@dataclass(frozen=True)
class Target:
    """An outcome target a district sets (a count, or a share of a school column)."""

    id: str
    measure: str
    label: str
    source: str
    per: str = "school"
    count: float | None = None
    share: float | None = None
    share_of: str | None = None


@dataclass(frozen=True)
class Framework:
    """The loaded ``config/framework.toml``."""

    levels: tuple[Level, ...]
    principles: tuple[Principle, ...]
    plays: tuple[Play, ...]
    targets: tuple[Target, ...]
    measures: tuple[str, ...]
    low_below: str
    esy_window: tuple[dt.date, dt.date] | None
    esy_reach_km: float

    def level(self, level_id: str | None) -> Level | None:
        """The level with this id (None for None/unknown)."""
        return next((lv for lv in self.levels if lv.id == level_id), None)

    def rank(self, level_id: str | None) -> int:
        """The level's rank (0 when none)."""
        lv = self.level(level_id)
        return lv.rank if lv else 0

    def principle(self, principle_id: str) -> Principle | None:
        """The principle with this id."""
        return next((p for p in self.principles if p.id == principle_id), None)

    def play(self, play_id: str) -> Play | None:
        """The play with this id."""
        return next((p for p in self.plays if p.id == play_id), None)

    def is_low(self, level_id: str | None) -> bool:
        """True for no activity or activity below ``low_below``."""
        return self.rank(level_id) < self.rank(self.low_below)


def _tuple(v: Any) -> tuple[str, ...]:
    if v is None:
        return ()
    if isinstance(v, str):
        return (v,)
    return tuple(str(x) for x in v)


def check_framework(raw: Mapping[str, Any]) -> list[str]:
    """Every problem of a framework config as text naming the key (empty when fine)."""
    problems: list[str] = []
    levels = raw.get("levels") or []
    level_ids = [str(lv.get("id", "")) for lv in levels]
    if len(levels) < 2:
        problems.append("[[levels]]: give at least two impact levels.")
    ranks = [lv.get("rank") for lv in levels]
    if any(not isinstance(r, int) for r in ranks) or len(set(ranks)) != len(ranks):
        problems.append("[[levels]] rank: each level needs a distinct whole-number rank.")
    principles = raw.get("principles") or []
    pids = [str(p.get("id", "")) for p in principles]
    if len(set(pids)) != len(pids) or "" in pids:
        problems.append("[[principles]] id: every principle needs a distinct id.")
    for p in principles:
        for k in ("name", "description"):
            if not str(p.get(k, "")).strip():
                problems.append(f"[[principles]] {p.get('id')!r}: {k} is empty.")
        for ex in p.get("examples", []):
            if ex.get("level") not in level_ids:
                problems.append(
                    f"[[principles]] {p.get('id')!r} example {ex.get('text')!r}: level "
                    f"{ex.get('level')!r} is not one of {level_ids}."
                )
    play_ids = [str(p.get("id", "")) for p in raw.get("plays") or []]
    if len(set(play_ids)) != len(play_ids):
        problems.append("[[plays]] id: play ids must be distinct.")
    for p in raw.get("plays") or []:
        where = f"[[plays]] {p.get('id')!r}"
        if p.get("role") not in ROLES:
            problems.append(f"{where}: role {p.get('role')!r} is not one of {list(ROLES)}.")
        if p.get("level") not in level_ids:
            problems.append(f"{where}: level {p.get('level')!r} is not one of {level_ids}.")
        bad = [x for x in _tuple(p.get("principles")) if x not in pids]
        if bad:
            problems.append(f"{where}: unknown principles {bad}.")
        if not str(p.get("source", "")).strip():
            problems.append(f"{where}: name the source.")
    low = (raw.get("scale") or {}).get("low_below")
    if low is not None and low not in level_ids:
        problems.append(f"[scale] low_below {low!r} is not one of {level_ids}.")
    measures = _tuple((raw.get("outcomes") or {}).get("measures"))
    for t in raw.get("targets") or []:
        where = f"[[targets]] {t.get('id')!r}"
        if t.get("measure") not in measures:
            problems.append(f"{where}: measure {t.get('measure')!r} is not in [outcomes] measures.")
        if (t.get("count") is None) == (t.get("share") is None):
            problems.append(f"{where}: give either count or share (with share_of).")
        if t.get("share") is not None and not t.get("share_of"):
            problems.append(f"{where}: a share needs share_of (a school column).")
    esy = raw.get("esy") or {}
    try:
        if esy and dt.date.fromisoformat(str(esy["end"])) < dt.date.fromisoformat(
            str(esy["start"])
        ):
            problems.append("[esy]: end is before start.")
    except (KeyError, ValueError):
        problems.append("[esy]: give start and end as YYYY-MM-DD.")
    return problems


def load_framework(path: str | Path | None = None) -> Framework:
    """Read and check the framework config (default ``config/framework.toml``)."""
    return _load(str(path or config_dir() / "framework.toml"))


@functools.lru_cache(maxsize=4)
def _load(path: str) -> Framework:
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: the framework config is missing.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}).") from None
    problems = check_framework(raw)
    if problems:
        raise ConfigError(f"{path}: " + " ".join(problems))
    levels = tuple(
        sorted(
            (Level(str(x["id"]), int(x["rank"]), str(x["name"]), str(x["description"]))
             for x in raw["levels"]),
            key=lambda lv: lv.rank,
        )
    )  # fmt: skip
    principles = tuple(
        Principle(
            str(p["id"]),
            int(p.get("number", i + 1)),
            str(p["name"]),
            str(p["description"]),
            tuple((str(e["text"]), str(e["level"])) for e in p.get("examples", [])),
        )
        for i, p in enumerate(raw["principles"])
    )
    plays = tuple(
        Play(
            str(p["id"]),
            str(p["role"]),
            str(p["title"]),
            str(p["summary"]),
            str(p["source"]),
            _tuple(p.get("principles")),
            str(p["level"]),
            tuple(k.lower() for k in _tuple(p.get("keywords"))),
            _tuple(p.get("partner_categories")),
        )
        for p in raw.get("plays", [])
    )
    targets = tuple(
        Target(
            str(t["id"]),
            str(t["measure"]),
            str(t.get("label", t["id"])),
            str(t.get("source", "")),
            str(t.get("per", "school")),
            None if t.get("count") is None else float(t["count"]),
            None if t.get("share") is None else float(t["share"]),
            t.get("share_of"),
        )
        for t in raw.get("targets", [])
    )
    esy = raw.get("esy") or {}
    window = (
        (dt.date.fromisoformat(str(esy["start"])), dt.date.fromisoformat(str(esy["end"])))
        if esy
        else None
    )
    return Framework(
        levels=levels,
        principles=principles,
        plays=plays,
        targets=targets,
        measures=_tuple((raw.get("outcomes") or {}).get("measures")),
        low_below=str((raw.get("scale") or {}).get("low_below", levels[1].id)),
        esy_window=window,
        esy_reach_km=float(esy.get("reach_km", 10.0)),
    )


# ----------------------------------------------------------------------------- plays
def play_ids_for(program: Mapping[str, Any], fw: Framework) -> list[str]:
    """The plays a program delivers: those it names, plus plays whose keywords its name or
    description contains."""
    named = [p for p in program.get("plays") or [] if fw.play(p)]
    text = f"{program.get('name', '')} {program.get('description', '')}".lower()
    for play in fw.plays:
        if play.id not in named and any(k in text for k in play.keywords):
            named.append(play.id)
    return named


def plays_table(
    fw: Framework,
    programs: Iterable[Mapping[str, Any]] = (),
    partners: pd.DataFrame | None = None,
    *,
    role: str | None = None,
) -> pd.DataFrame:
    """One row per play: role, title, summary, source, principles, level, the workspace's
    programs that deliver it and their partners."""
    if role is not None and role not in ROLES:
        raise InputError(f"role {role!r}: use one of {', '.join(ROLES)}.")
    programs = list(programs)
    names = {}
    if partners is not None and len(partners):
        names = dict(zip(partners["partner_id"].astype(str), partners["name"], strict=False))
    rows = []
    for play in fw.plays:
        if role and play.role != role:
            continue
        delivering = [p for p in programs if play.id in play_ids_for(p, fw)]
        rows.append(
            {
                "play": play.id,
                "role": ROLE_LABELS[play.role],
                "title": play.title,
                "summary": play.summary,
                "source": play.source,
                "principles": [fw.principle(x).name for x in play.principles if fw.principle(x)],
                "level": fw.level(play.level).name if fw.level(play.level) else play.level,
                "programs": [p["name"] for p in delivering],
                "partners": sorted(
                    {
                        names.get(str(p.get("partner_id")), str(p.get("partner_id")))
                        for p in delivering
                        if p.get("partner_id")
                    }
                ),  # fmt: skip
            }
        )
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- coverage
def _school_ids(schools: pd.DataFrame, *, school: str | None, district: str | None) -> list[str]:
    ids = schools["school_id"].astype(str)
    if (school is None) == (district is None):
        raise InputError(
            "give exactly one of --school ID or --district ID (e.g. --school 0640611)."
        )
    if school is not None:
        if str(school) not in set(ids):
            raise InputError(
                f"no school {school!r} in the workspace; give a 7-digit school id, e.g. 0640611."
            )
        return [str(school)]
    hit = ids[schools["district_id"].astype(str) == str(district)]
    if hit.empty:
        raise InputError(
            f"no district {district!r} with schools; give a district id, e.g. 0640011."
        )
    return list(hit)


def _partners_within(
    partners: pd.DataFrame,
    schools: pd.DataFrame,
    school_ids: list[str],
    categories: Iterable[str],
    reach_km: float,
) -> list[str]:
    cats = set(categories)
    if not cats or partners is None or partners.empty:
        return []
    cand = partners[partners["category"].isin(cats)]
    cand = cand[cand.geometry.notna() & ~cand.geometry.is_empty]
    if cand.empty:
        return []
    from assetmap.index import haversine_km

    pts = schools[schools["school_id"].astype(str).isin(school_ids)]
    lat, lon = cand.geometry.y.to_numpy(), cand.geometry.x.to_numpy()
    best = np.full(len(cand), np.inf)
    for g in pts.geometry:
        if g is None or g.is_empty:
            continue
        best = np.minimum(best, haversine_km(g.y, g.x, lat, lon))
    keep = best <= reach_km
    order = np.argsort(best[keep], kind="stable")
    sub = cand[keep].iloc[order]
    return [f"{n} ({d:.1f} km)" for n, d in zip(sub["name"], best[keep][order], strict=True)][
        :MAX_SUGGESTED_PARTNERS
    ]


def coverage(
    programs: Iterable[Mapping[str, Any]],
    *,
    schools: pd.DataFrame,
    partners: pd.DataFrame | None = None,
    school: str | None = None,
    district: str | None = None,
    framework: Framework | None = None,
    reach_km: float = 8.0,
) -> pd.DataFrame:
    """One row per guiding principle for a school or a district.

    Columns: principle_id, principle, programs (names of active programs serving the school(s)
    and tagged with the principle), highest_impact_level (level id or None),
    suggestions (for a principle with nothing or only low impact: plays that fit, each with up
    to 3 partners within ``reach_km`` of the school(s) whose category could deliver it).
    """
    fw = framework or load_framework()
    ids = _school_ids(schools, school=school, district=district)
    idset = set(ids)
    serving = [
        p
        for p in programs
        if not p.get("retired") and idset & set(map(str, p.get("school_ids") or []))
    ]
    rows = []
    for pr in fw.principles:
        tagged = [p for p in serving if pr.id in (p.get("principles") or [])]
        top = max(tagged, key=lambda p: fw.rank(p.get("impact_level")), default=None)
        level = top.get("impact_level") if top else None
        suggestions: list[str] = []
        if fw.is_low(level):
            for play in fw.plays:
                if pr.id not in play.principles or fw.rank(play.level) <= fw.rank(level):
                    continue
                near = _partners_within(partners, schools, ids, play.partner_categories, reach_km)
                text = f"{play.title} ({ROLE_LABELS[play.role]})"
                if near:
                    text += " — partners within reach: " + "; ".join(near)
                suggestions.append(text)
        rows.append(
            {
                "principle_id": pr.id,
                "principle": f"{pr.number}. {pr.name}",
                "programs": sorted(p["name"] for p in tagged),
                "highest_impact_level": level,
                "suggestions": suggestions,
            }
        )
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- ESY
def esy_overlap(
    programs: Iterable[Mapping[str, Any]],
    *,
    schools: pd.DataFrame,
    locations: Mapping[str, tuple[float, float] | None],
    window: tuple[dt.date, dt.date],
    reach_km: float,
    district: str | None = None,
) -> pd.DataFrame:
    """Community summer programs near each school whose dates overlap the ESY window.

    ``locations`` maps program_id to (lat, lon) of where it happens (None: online). Only
    programs that are accessible (``ada_accessible`` true) are listed; ``shared_staffing``
    says whether the provider welcomes district staff alongside its own. Columns: school_id,
    school, program_id, program, distance_km, dates, shared_staffing.
    """
    from assetmap.index import haversine_km

    sch = (
        schools
        if district is None
        else schools[schools["district_id"].astype(str) == str(district)]
    )
    rows = []
    for p in programs:
        if p.get("retired") or p.get("ada_accessible") is not True:
            continue
        spans = [
            (s.get("valid_from"), s.get("valid_to"))
            for s in p.get("schedules") or []
            if s.get("valid_from") or s.get("valid_to")
        ]
        hit = [
            (a, b)
            for a, b in spans
            if dt.date.fromisoformat(a or "1900-01-01") <= window[1]
            and window[0] <= dt.date.fromisoformat(b or "2999-12-31")
        ]
        if not hit:
            continue
        where = locations.get(str(p["program_id"]))
        for _, s in sch.iterrows():
            g = s.geometry
            if g is None or g.is_empty:
                continue
            if where is None:
                d = None
            else:
                d = float(haversine_km(g.y, g.x, np.array([where[0]]), np.array([where[1]]))[0])
                if d > reach_km:
                    continue
            rows.append(
                {
                    "school_id": str(s["school_id"]),
                    "school": s["name"],
                    "program_id": p["program_id"],
                    "program": p["name"],
                    "distance_km": None if d is None else round(d, 2),
                    "dates": "; ".join(f"{a or '…'} to {b or '…'}" for a, b in hit),
                    "shared_staffing": bool(p.get("shared_staffing")),
                }
            )
    cols = [
        "school_id",
        "school",
        "program_id",
        "program",
        "distance_km",
        "dates",
        "shared_staffing",
    ]
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values(["school_id", "distance_km"], na_position="last").reset_index(drop=True)
