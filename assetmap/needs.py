"""Family survey ingest and the NeedProfile (DOMAIN.md §2, RELIABILITY.md §2).

Privacy model
-------------
* Columns that identify people (names, student ids / SASID, dates of birth, street
  addresses, emails, phones...) are found by header *and* by content, dropped while reading
  and reported by column name only — their values are never stored, cached, logged or
  exported. Reader messages that quote raw lines are stripped of the quoted text.
* Survey rows never leave this module's internals: :func:`read_survey` returns an internal
  responses frame, :func:`build_profile` turns it into a :class:`NeedProfile` whose counts
  are private (``_counts``). The only public view of the figures is the suppressed frame of
  :func:`assetmap.suppress.publish` (also :meth:`NeedProfile.published`,
  :func:`school_profile`).
* Matching, gaps and networks use the internal counts as weights (who needs what, in which
  language), but only ever *display* suppressed figures; shares they print are derived from
  published cells only (:meth:`NeedProfile.published_share`).
* Nothing from a survey is geocoded.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype

from assetmap._errors import InputError
from assetmap._text import clean, fold
from assetmap.languages import load_languages
from assetmap.report import ValidationReport
from assetmap.taxonomy import load_taxonomy

__all__ = [
    "NeedProfile",
    "read_survey",
    "build_profile",
    "load_profile",
    "school_profile",
    "detect_pii_columns",
    "match_school_ids",
    "UNKNOWN_LANGUAGE",
]

log = logging.getLogger(__name__)

#: Language code used for families that gave no (recognisable) home language.
UNKNOWN_LANGUAGE = "und"

# ----------------------------------------------------------------------------- column names
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "response_id": ("response_id", "response id", "response", "id", "respondent id", "record id"),
    "school_id": (
        "school_id",
        "school id",
        "school code",
        "school_code",
        "org code",
        "organization code",
        "nces id",
        "nces_id",
        "nces school id",
        "schoolid",
    ),
    "school_name": ("school_name", "school name", "school"),
    "district_id": ("district_id", "district id", "district code", "district"),
    "home_language": (
        "home_language",
        "home language",
        "home languages",
        "language",
        "languages",
        "primary language",
        "language spoken at home",
    ),
    "preferred_language": ("preferred_language", "preferred language"),
    "needs": ("needs", "needs selected", "family needs", "services needed"),
    "need": ("need", "need code", "service"),
    "count": (
        "count",
        "n",
        "families",
        "responses",
        "number of families",
        "respondents",
        "students",
        "number of students",
        "number",
    ),  # fmt: skip
    "weight": ("weight", "survey weight", "wt"),
    "synthetic": ("synthetic",),
    "best_times": ("best_times", "best times", "best time to meet", "best times to meet"),
}

# Header patterns of identifying columns (folded, lower case, spaces for _ and -).
_PII_HEADER = [
    (
        re.compile(r"\bsasid\b|\bstate student id|\bstudent (id|number|no)\b|\bstudent_?id\b"),
        "student id",
    ),
    (re.compile(r"\b(ssn|social security)\b"), "social security number"),
    (re.compile(r"\bdob\b|date of birth|birth ?date|\bbirthday\b|\bborn\b"), "date of birth"),
    (re.compile(r"e ?mail"), "email"),
    (re.compile(r"phone|\bcell\b|mobile|telephone|\btel\b|whatsapp (number|no)"), "phone"),
    (
        re.compile(r"address|\bstreet\b|\bapt\b|apartment|\bcity\b|mailing|residence"),
        "address",
    ),
    (re.compile(r"\bname\b|\bsurname\b|\bfirst\b|\blast\b|\bfull name\b|\bnombre\b"), "name"),
    (re.compile(r"\bguardian\b|\bparent\b"), "name"),
]
# Header words that make a "name"/"parent" header harmless (school name, district name...)
_PII_SAFE_WORDS = {"school", "district", "survey", "instrument", "program", "language", "role"}
_SAFE_HEADERS = {"respondent role", "respondent_role", "preferred contact", "preferred_contact"}

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
_PHONE = re.compile(
    r"(?<![\d-])(\+?1[\s.\-]?)?(\(\d{3}\)\s*|\d{3}[\s.\-])\d{3}[\s.\-]\d{4}(?![\d-])"
    r"|^\+?1?\d{10}$"
)
_DATE = re.compile(
    r"^\s*(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\s*$|^\s*(\d{1,2})[-/.](\d{1,2})[-/.](\d{2}|\d{4})\s*$"
)
_STREET = re.compile(
    r"^\s*\d{1,6}\s+[A-Za-z0-9 .'\-]{2,}\s(st|street|ave|avenue|rd|road|blvd|dr|drive|ln|lane|"
    r"ct|court|pl|place|way|ter|terrace|hwy|pkwy)\b",
    re.IGNORECASE,
)


def _norm_header(h: object) -> str:
    return re.sub(r"[\s_\-]+", " ", fold(h)).strip()


_PERSON_HEADER = re.compile(
    r"\b(student|pupil|child|children|kid|parent|guardian|household|family|families|sasid"
    r"|first name|last name|surname|given name|home address|home phone)\b"
)
_PERSON_REASONS = ("student id", "social security number", "date of birth", "dates of birth")


def personal_record_columns(frame: pd.DataFrame) -> dict[str, str]:
    """Columns that make a table look like family or student records: {column: reason}.

    Stricter than "has an address or a phone" (every partner file has those): a student
    id, a social security number, a date of birth (header or content), or a header about
    a student, child, parent, guardian, household or a person's first/last name. Values are
    never returned.
    """
    found = {c: r for c, r in detect_pii_columns(frame).items() if r.startswith(_PERSON_REASONS)}
    for col in frame.columns:
        if str(col) not in found and _PERSON_HEADER.search(_norm_header(col)):
            found[str(col)] = "a person's or family's record (column header)"
    return found


def detect_pii_columns(frame: pd.DataFrame) -> dict[str, str]:
    """Identifying columns of a raw table: {column name: reason}. Values are never returned.

    Headers are matched against name / id / date-of-birth / address / email / phone patterns;
    every other column is scanned for e-mail addresses, phone numbers, street addresses and
    dates of birth (a column of dates that lie in the past by more than two years).
    """
    found: dict[str, str] = {}
    known = {s for syn in _SYNONYMS.values() for s in syn}
    this_year = date.today().year
    for col in frame.columns:
        h = _norm_header(col)
        words = set(h.split())
        if h not in known and h not in _SAFE_HEADERS:
            for pat, reason in _PII_HEADER:
                if pat.search(h) and not (reason == "name" and words & _PII_SAFE_WORDS):
                    found[str(col)] = f"{reason} (column header)"
                    break
        if str(col) in found:
            continue
        cells = [
            str(v) for v in pd.unique(frame[col].astype(object)) if v is not None and str(v).strip()
        ]
        cells = [c for c in cells if c.lower() not in ("nan", "none", "<na>")]
        if not cells:
            continue
        bare_digits_ok = h in known  # ids may be long digit strings
        if any(_EMAIL.search(c) for c in cells):
            found[str(col)] = "email addresses (content)"
        elif any(
            _PHONE.search(c.strip()) and not (bare_digits_ok and c.strip().isdigit()) for c in cells
        ):
            found[str(col)] = "phone numbers (content)"
        elif any(_STREET.search(c) for c in cells):
            found[str(col)] = "street addresses (content)"
        elif not re.search(r"submitted|completed|survey date|timestamp|updated", h):
            years = []
            for c in cells:
                m = _DATE.match(c)
                if m:
                    y = m.group(1) or m.group(6)
                    y = int(y) + (
                        2000 if len(y) == 2 and int(y) < 50 else 1900 if len(y) == 2 else 0
                    )
                    years.append(y)
            if years and len(years) >= max(1, len(cells) // 2):
                if float(np.median(years)) < this_year - 2:
                    found[str(col)] = "dates of birth (content)"
    return found


# ----------------------------------------------------------------------------- schools
def _digits(s: object) -> str:
    return re.sub(r"\D", "", str(s or "")).lstrip("0")


_GENERIC = re.compile(r"\b(school|schools|sch|the|of)\b")


def _name_key(name: object) -> str:
    """Folded school name without generic words and punctuation ('Clark Elementary School'
    -> 'clark elementary')."""
    s = re.sub(r"[^a-z0-9 ]+", " ", fold(name))
    s = s.replace("elem ", "elementary ").replace(" elem", " elementary")
    return " ".join(_GENERIC.sub(" ", s).split())


def match_school_ids(
    values: Iterable[tuple[object, object, object]],
    schools: pd.DataFrame,
) -> list[tuple[str | None, str]]:
    """Match (id, name, district) triples to ``schools``: [(school_id or None, how)].

    Ids match exactly, then by digits (leading zeros, 'CT-' prefixes and separators ignored;
    also against an ``nces_id`` column when present). Names match accent- and case-
    insensitively, then with rapidfuzz (score >= 90, within the district when one is given).
    """
    from rapidfuzz import fuzz, process, utils

    ids = schools["school_id"].astype(str).tolist()
    by_id = {i: i for i in ids}
    by_digits: dict[str, str] = {}
    for col in ("school_id", "nces_st_schid", "nces_id", "nces_school_id", "org_code"):
        if col in schools.columns:
            for sid, v in zip(ids, schools[col].astype(str), strict=True):
                d = _digits(v)
                if d:
                    by_digits.setdefault(d, sid)
    names = schools["name"].astype(str).tolist() if "name" in schools.columns else []
    dists = (
        schools["district_id"].astype(str).tolist()
        if "district_id" in schools.columns
        else [""] * len(ids)
    )
    by_name: dict[str, list[str]] = {}
    for sid, n in zip(ids, names, strict=True):
        by_name.setdefault(fold(n), []).append(sid)
        by_name.setdefault(_name_key(n), []).append(sid)
    folded = [_name_key(n) for n in names]
    out: list[tuple[str | None, str]] = []
    cache: dict[tuple[str, str, str], tuple[str | None, str]] = {}
    for raw_id, raw_name, raw_dist in values:
        key = (clean(raw_id), clean(raw_name), clean(raw_dist))
        if key in cache:
            out.append(cache[key])
            continue
        res: tuple[str | None, str] = (None, "unmatched")
        sid = str(raw_id).strip() if clean(raw_id) else ""
        if sid and sid in by_id:
            res = (sid, "id")
        elif sid and _digits(sid) in by_digits:
            res = (by_digits[_digits(sid)], "id")
        elif sid and re.fullmatch(r"(?i)CT-\d+-(\d+)", sid) and sid.split("-")[-1] in by_id:
            res = (sid.split("-")[-1], "id")  # NCES state id 'CT-<district>-<school>'
        elif sid and re.fullmatch(r"(?i)CT-(\d+)", sid) and sid.split("-")[-1] in by_id:
            res = (sid.split("-")[-1], "id")
        else:
            for text in (raw_name, raw_id):
                f = fold(text)
                if not f:
                    continue
                hits = by_name.get(f, []) or by_name.get(_name_key(text), [])
                if key[2] and len(hits) > 1:
                    hits = [h for h in hits if clean(dists[ids.index(h)]) == key[2]] or hits
                if len(hits) >= 1:
                    res = (hits[0], "name")
                    break
                if folded:
                    cand = process.extractOne(
                        _name_key(text),
                        folded,
                        scorer=fuzz.token_sort_ratio,
                        processor=utils.default_process,
                    )
                    if cand and cand[1] >= 90:
                        res = (ids[cand[2]], "fuzzy name")
                        break
        cache[key] = res
        out.append(res)
    return out


# ----------------------------------------------------------------------------- reading
def _map_columns(frame: pd.DataFrame) -> dict[str, str]:
    """canonical name -> column in the file."""
    mapping: dict[str, str] = {}
    for col in frame.columns:
        h = _norm_header(col)
        for canon, syn in _SYNONYMS.items():
            if canon in mapping:
                continue
            if h in {_norm_header(s) for s in syn}:
                mapping[canon] = str(col)
                break
    return mapping


def _read_raw(source: Any, name: str | None) -> tuple[pd.DataFrame, ValidationReport, str]:
    from assetmap.io import read_table

    try:
        frame, raw_report = read_table(source, name=name)
    except InputError:
        raise
    except OSError as exc:
        raise InputError(f"cannot read the survey {name or source}: {exc.strerror or exc}") from exc
    report = ValidationReport(file=raw_report.file, kind="survey", rows_read=raw_report.rows_read)
    # The reader may quote raw lines (which could hold identifying values): keep the message,
    # drop the value.
    for p in raw_report.problems:
        report.add(p.message, hint=p.hint, row=p.row, column=p.column, severity=p.severity)
    report.notes.update({k: v for k, v in raw_report.notes.items() if isinstance(v, str | int)})
    return frame, report, raw_report.file


def read_survey(
    source: str | Path | bytes,
    *,
    name: str | None = None,
    schools: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, ValidationReport]:
    """Read a family survey (CSV or Excel; response level or aggregated).

    Returns ``(responses, report)``. ``responses`` is INTERNAL (never display or export it):
    one row per response (or per aggregated group) with columns row, school_id, school_name,
    district_id, language (primary home language code, ``und`` when unknown), languages,
    needs (top-level need codes), weight, family (True when the row counts toward school and
    language totals), synthetic. Identifying columns are dropped before anything else and
    listed in ``report.notes['pii_columns_dropped']`` (names only).

    Raises :class:`InputError` when no row can be used (with the report).
    """
    frame, report, fname = _read_raw(source, name)
    pii = detect_pii_columns(frame)
    if pii:
        frame = frame.drop(columns=list(pii))
        report.notes["pii_columns_dropped"] = sorted(pii)
        for col, why in pii.items():
            report.warn(
                f"column dropped: it identifies people ({why}); its values were not read, "
                "stored or logged",
                column=col,
                hint="surveys must not carry names, student ids, dates of birth, addresses, "
                "emails or phones; remove the column from the file",
            )
        log.info("survey %s: dropped %d identifying columns", fname, len(pii))
    cols = _map_columns(frame)
    if schools is None:
        raise TypeError(
            "pass schools= (the workspace's schools) to match the survey against; assetmap "
            "does not load shipped schools on its own"
        )
    if "count" in cols and "needs" not in cols and ("need" in cols or "home_language" in cols):
        # aggregated: need counts per school, or language-only (a Home Language Survey:
        # families per school and home language, no needs) -> a language profile
        if "need" not in cols:
            report.notes["language_only"] = True
        out = _aggregated(frame, cols, report, schools)
    else:
        out = _responses(frame, cols, report, schools)
    synthetic = False
    if "synthetic" in cols:
        synthetic = (
            frame[cols["synthetic"]].astype(str).str.lower().isin(["1", "true", "yes"]).any()
        )
    synthetic = synthetic or "synthetic" in fname.lower()
    out["synthetic"] = bool(synthetic)
    report.notes["synthetic"] = bool(synthetic)
    report.rows_loaded = (
        int(len(out)) if "count" not in cols else int(frame.shape[0] - len(report.errors))
    )
    if out.empty:
        raise InputError(
            f"{fname}: no usable survey rows (see the problems listed).", report=report
        )
    return out.reset_index(drop=True), report


def _attach_schools(
    frame: pd.DataFrame, cols: dict[str, str], report: ValidationReport, schools: pd.DataFrame
) -> pd.DataFrame | None:
    if "school_id" not in cols and "school_name" not in cols:
        report.add(
            "no school column",
            hint="add a 'school_id' column (NCES id or CT organization code) or 'school_name'",
        )
        return None
    ids = frame[cols["school_id"]] if "school_id" in cols else pd.Series("", index=frame.index)
    nms = frame[cols["school_name"]] if "school_name" in cols else pd.Series("", index=frame.index)
    dst = frame[cols["district_id"]] if "district_id" in cols else pd.Series("", index=frame.index)
    matched = match_school_ids(zip(ids, nms, dst, strict=True), schools)
    sid = pd.Series([m[0] for m in matched], index=frame.index, dtype=object)
    bad = sid.isna()
    if bad.any():
        shown = pd.DataFrame({"id": ids[bad], "name": nms[bad]})
        for (i, n), rows in shown.groupby(["id", "name"], sort=False).groups.items():
            rlist = [int(r) for r in rows]
            report.add(
                f"school not found in the school list ({len(rlist)} rows, first at row "
                f"{rlist[0]}); those rows were not used",
                row=rlist[0],
                column=cols.get("school_id") or cols.get("school_name"),
                value=str(i or n),
                hint="use the NCES school id or CT organization code, or the exact school name",
            )
    fuzzy = [(r, m) for r, m in zip(frame.index, matched, strict=True) if m[1] == "fuzzy name"]
    if fuzzy:
        report.notes["schools_matched_by_close_name"] = len(fuzzy)
    meta = schools.set_index(schools["school_id"].astype(str))
    out = pd.DataFrame(index=frame.index)
    out["row"] = frame.index.astype(int)
    out["school_id"] = sid
    out["school_name"] = [
        meta["name"].get(s) if s is not None and "name" in meta else None for s in sid
    ]
    out["district_id"] = [
        meta["district_id"].get(s) if s is not None and "district_id" in meta else None for s in sid
    ]
    return out


def _languages(
    series: pd.Series, report: ValidationReport, column: str
) -> tuple[list[str], list[list[str]]]:
    langs = load_languages()
    primary: list[str] = []
    lists: list[list[str]] = []
    cache: dict[str, tuple[list[str], list[str]]] = {}
    unknown_rows: dict[str, list[int]] = {}
    for row, val in series.items():
        key = str(val)
        if key not in cache:
            cache[key] = langs.normalize_list(val)
        codes, unknown = cache[key]
        for u in unknown:
            unknown_rows.setdefault(u, []).append(int(row))
        primary.append(codes[0] if codes else UNKNOWN_LANGUAGE)
        lists.append(codes)
    for u, rows in unknown_rows.items():
        report.warn(
            "home language not recognised; counted as 'not stated'" + _rows_text(rows),
            row=rows[0],
            column=column,
            value=u,
            hint="use a language name or ISO code (e.g. 'Spanish', 'es'); add a variant to "
            "config/languages.toml if this is a real language",
        )
    return primary, lists


def _rows_text(rows: list[int]) -> str:
    if len(rows) == 1:
        return ""
    shown = ", ".join(str(r) for r in rows[:8])
    return f" ({len(rows)} rows: {shown}{', …' if len(rows) > 8 else ''})"


def _needs(series: pd.Series, report: ValidationReport, column: str) -> list[list[str]]:
    tax = load_taxonomy()
    out: list[list[str]] = []
    cache: dict[str, tuple[list[str], list[str]]] = {}
    unknown_rows: dict[str, list[int]] = {}
    for row, val in series.items():
        key = str(val)
        if key not in cache:
            cache[key] = tax.normalize_needs(val)
        codes, unknown = cache[key]
        for u in unknown:
            unknown_rows.setdefault(u, []).append(int(row))
        tops: list[str] = []
        for c in codes:
            t = c.split(".")[0]
            if t not in tops:
                tops.append(t)
        out.append(tops)
    for u, rows in unknown_rows.items():
        report.warn(
            "need not recognised; ignored" + _rows_text(rows),
            row=rows[0],
            column=column,
            value=u,
            hint="use a need code or label from config/taxonomy.toml (e.g. 'food.pantry')",
        )
    return out


def _weights(frame: pd.DataFrame, col: str | None, report: ValidationReport) -> np.ndarray:
    if col is None:
        return np.ones(len(frame))
    w = pd.to_numeric(frame[col].replace("", np.nan), errors="coerce")
    bad = w.isna() & frame[col].astype(str).str.strip().ne("") | (w < 0)
    for row in w.index[bad]:
        report.warn(
            "weight is not a non-negative number; 1 used",
            row=int(row),
            column=col,
            value=frame.at[row, col],
        )
    return w.where(~bad & w.notna(), 1.0).to_numpy(dtype=float)


def _responses(
    frame: pd.DataFrame, cols: dict[str, str], report: ValidationReport, schools: pd.DataFrame
) -> pd.DataFrame:
    base = _attach_schools(frame, cols, report, schools)
    if base is None:
        return pd.DataFrame()
    if "home_language" not in cols:
        report.warn(
            "no home language column; every family counted as language 'not stated'",
            hint="add a 'home_language' column",
        )
        lang_src = pd.Series("", index=frame.index)
    else:
        lang_src = frame[cols["home_language"]]
    if "preferred_language" in cols:
        pref = frame[cols["preferred_language"]]
        lang_src = lang_src.where(lang_src.astype(str).str.strip().ne(""), pref)
    primary, lists = _languages(lang_src, report, cols.get("home_language", "home_language"))
    if "needs" not in cols:
        report.add(
            "no needs column",
            hint="add a 'needs' column (need codes or labels separated by ';')",
        )
        return pd.DataFrame()
    base["language"] = primary
    base["languages"] = lists
    base["needs"] = _needs(frame[cols["needs"]], report, cols["needs"])
    base["weight"] = _weights(frame, cols.get("weight"), report)
    base["family"] = True
    if "best_times" in cols:  # when families can meet (schedule matching; aggregated only)
        base["best_times"] = frame[cols["best_times"]].fillna("").astype(str).to_numpy()
    return base.loc[base["school_id"].notna()]


def _aggregated(
    frame: pd.DataFrame, cols: dict[str, str], report: ValidationReport, schools: pd.DataFrame
) -> pd.DataFrame:
    base = _attach_schools(frame, cols, report, schools)
    if base is None:
        return pd.DataFrame()
    lang_col = cols.get("home_language")
    lang_src = frame[lang_col] if lang_col else pd.Series("", index=frame.index)
    primary, lists = _languages(lang_src, report, lang_col or "language")
    if "need" in cols:
        need_raw = frame[cols["need"]].astype(str)
    else:  # language-only: every row is a school x language total
        need_raw = pd.Series("", index=frame.index, dtype=object)
    is_total = need_raw.map(clean).isin(["", "total", "all", "any", "families"])
    needs = _needs(need_raw.where(~is_total, ""), report, cols.get("need", "need"))
    counts = pd.to_numeric(frame[cols["count"]].replace("", np.nan), errors="coerce")
    bad = counts.isna() | (counts < 0)
    for row in counts.index[bad]:
        report.add(
            "count is not a non-negative number; row not used",
            row=int(row),
            column=cols["count"],
            value=frame.at[row, cols["count"]],
        )
    base["language"] = primary
    base["languages"] = [[p] if p != UNKNOWN_LANGUAGE else [] for p in primary]
    base["needs"] = [[] if t else n for t, n in zip(is_total, needs, strict=True)]
    base["weight"] = counts.fillna(0).to_numpy(dtype=float)
    has_totals = set(base.loc[is_total.to_numpy(), "school_id"].dropna())
    base["family"] = is_total.to_numpy() | ~base["school_id"].isin(has_totals).to_numpy()
    missing = set(base["school_id"].dropna()) - has_totals
    if missing:
        report.warn(
            f"{len(missing)} schools have no 'total' rows (need blank or 'total'); their family "
            "and language totals are the sums of the need rows, which count a family once per need",
            hint="add one row per school and language with need 'total' and the number of families",
        )
    keep = base["school_id"].notna() & ~bad.to_numpy()
    return base.loc[keep]


# ----------------------------------------------------------------------------- profile
class NeedProfile:
    """Per school: families per need (top level), per home language, per need x language.

    The counts are private; :meth:`published` is the only public view. Internal accessors
    (underscore names) give other assetmap modules the weights they need for matching.
    """

    def __init__(
        self,
        counts: pd.DataFrame,
        schools: pd.DataFrame,
        *,
        languages: list[str],
        needs: list[str],
        synthetic: bool = False,
        best_times: pd.DataFrame | None = None,
    ) -> None:
        self._counts = counts  # school_id, dimension, need, language, count (float)
        # when families can meet: already aggregated and small-cell suppressed
        # (assetmap.schedules.best_times_profile); None when the survey has no best_times
        self._best_times = best_times
        self._schools = schools  # school_id, school_name, district_id (+ lat, lon)
        self._languages = list(languages)
        self._needs = list(needs)
        self.synthetic = bool(synthetic)
        self._published_cache: dict[Any, pd.DataFrame] = {}

    def __repr__(self) -> str:  # never print figures
        return f"NeedProfile({len(self._schools)} schools, synthetic={self.synthetic})"

    # ------------------------------------------------------------------ public
    def best_times(self) -> pd.DataFrame | None:
        """Published best-times table (school_id, time, families, respondents, suppressed),
        small cells already hidden; ``None`` when the survey asked no best times."""
        return None if self._best_times is None else self._best_times.copy()

    @property
    def school_ids(self) -> list[str]:
        return self._schools["school_id"].astype(str).tolist()

    @property
    def languages(self) -> list[str]:
        """The pre-declared language categories (every language in the survey, plus English)."""
        return list(self._languages)

    @property
    def needs(self) -> list[str]:
        """The pre-declared need categories (every top-level need of the taxonomy)."""
        return list(self._needs)

    def schools(self) -> pd.DataFrame:
        """school_id, school_name, district_id of the schools in the survey (no figures)."""
        return self._schools[["school_id", "school_name", "district_id"]].copy()

    def published(
        self,
        *,
        min_cell: int | None = None,
        min_denominator: int | None = None,
        include_districts: bool = False,
    ) -> pd.DataFrame:
        """The suppressed frame (see :func:`assetmap.suppress.publish`); cached per threshold."""
        return self._published_frame(
            min_cell=min_cell, min_denominator=min_denominator, include_districts=include_districts
        ).copy()

    def _published_frame(
        self,
        *,
        min_cell: int | None = None,
        min_denominator: int | None = None,
        include_districts: bool = False,
    ) -> pd.DataFrame:
        """INTERNAL: the cached published frame itself (callers must not modify it)."""
        from assetmap.settings import get_settings
        from assetmap.suppress import publish

        s = get_settings()
        key = (
            min_cell or s.min_cell,
            min_denominator or s.min_denominator,
            include_districts,
        )
        if key not in self._published_cache:
            self._published_cache[key] = publish(
                self,
                min_cell=key[0],
                min_denominator=key[1],
                include_districts=include_districts,
            )
        return self._published_cache[key]

    def published_share(self, school_id: str, need: str, covered: Iterable[str]) -> float | None:
        """Share (0..1) of a need's families whose language is in ``covered`` (English and
        'not stated' always count as covered), computed from PUBLISHED cells only; None when
        the published figures do not determine it (it would reveal a suppressed cell)."""
        pub = self._published_frame()  # read only
        rows = pub[(pub["school_id"] == school_id) & (pub["need"] == need)]
        tot = rows[rows["dimension"] == "need"]
        if tot.empty or tot["suppressed"].iloc[0] or not tot["count"].iloc[0]:
            return None
        total = float(tot["count"].iloc[0])
        cells = rows[rows["dimension"] == "need_language"]
        cov = set(covered) | {"en", UNKNOWN_LANGUAGE}
        is_cov = cells["language"].isin(cov).to_numpy()
        supp = cells["suppressed"].to_numpy(dtype=bool)
        known = pd.to_numeric(cells["count"], errors="coerce").fillna(0).to_numpy()
        if supp.any():
            if is_cov[supp].all():
                return (total - float(known[~is_cov].sum())) / total
            if not is_cov[supp].any():
                return float(known[is_cov].sum()) / total
            return None
        return float(known[is_cov].sum()) / total

    # ------------------------------------------------------------------ internal (weights)
    def _analysis_weights(self) -> pd.DataFrame:
        """INTERNAL: families per school x need x language used as analysis weights.

        Derived through the suppression layer so that no score, share or choice computed from
        them can reveal a suppressed cell: published cells are exact; suppressed cells of a
        need row share the published remainder equally (need total minus shown cells), or
        count ``(min_cell-1)/2`` each when the need total is suppressed too. A school that
        shows only "fewer than N responses" gets every need, language 'not stated', weight
        1 each (nothing about its families is used). Columns: school_id, need, language,
        families, small. Cells with no families are left out.
        """
        if "weights" in self._published_cache:
            return self._published_cache["weights"].copy()
        from assetmap.settings import get_settings

        mc = get_settings().min_cell
        pub = self._published_frame()  # read only
        tot = pub[pub["dimension"] == "total"]
        small_ids = tot.loc[tot["display"].str.startswith("fewer than"), "school_id"].tolist()
        cols = ["school_id", "need", "language", "count", "suppressed"]
        nl = pub.loc[(pub["dimension"] == "need_language").to_numpy(), cols]
        need = pub[pub["dimension"] == "need"][["school_id", "need", "count"]].rename(
            columns={"count": "need_total"}
        )
        nl = nl.merge(need, on=["school_id", "need"], how="left")
        nl["known"] = _numbers(nl["count"])
        grp = nl.groupby(["school_id", "need"], sort=False)
        shown = grp["known"].transform("sum")
        n_supp = grp["suppressed"].transform("sum")
        need_total = _numbers(nl["need_total"])
        share = np.where(
            need_total.notna(),
            (need_total - shown) / n_supp.where(n_supp > 0, 1),
            (mc - 1) / 2.0,
        )
        nl["families"] = np.where(nl["suppressed"], share, nl["known"].fillna(0.0))
        out = nl.loc[nl["families"] > 0, ["school_id", "need", "language", "families"]].copy()
        out["small"] = False
        if small_ids:
            tax_needs = self._needs
            extra = pd.DataFrame(
                {
                    "school_id": np.repeat(small_ids, len(tax_needs)),
                    "need": np.tile(tax_needs, len(small_ids)),
                    "language": UNKNOWN_LANGUAGE,
                    "families": 1.0,
                    "small": True,
                }
            )
            out = pd.concat([out, extra], ignore_index=True)
        out = out.reset_index(drop=True)
        self._published_cache["weights"] = out
        return out.copy()

    def _total(self, school_id: str) -> float:
        c = self._counts
        v = c.loc[(c["school_id"] == school_id) & (c["dimension"] == "total"), "count"]
        return float(v.sum())

    def _need_language(self) -> pd.DataFrame:
        """INTERNAL: school_id, need, language, count (families), nonzero cells only."""
        c = self._counts
        return c.loc[c["dimension"] == "need_language", ["school_id", "need", "language", "count"]]

    def _need_counts(self) -> pd.DataFrame:
        """INTERNAL: school_id, need, count."""
        c = self._counts
        return c.loc[c["dimension"] == "need", ["school_id", "need", "count"]]

    def _school_totals(self) -> pd.Series:
        c = self._counts
        return c.loc[c["dimension"] == "total"].set_index("school_id")["count"]

    def _grid(self, *, include_districts: bool = False) -> pd.DataFrame:
        """INTERNAL: the full pre-declared grid (zeros included) for suppression."""
        sch = self._schools[["school_id", "school_name", "district_id"]].reset_index(drop=True)
        needs, langs = self._needs, self._languages
        parts = [
            pd.DataFrame({"dimension": ["total"], "need": [None], "language": [None]}),
            pd.DataFrame({"dimension": "need", "need": needs, "language": None}),
            pd.DataFrame({"dimension": "language", "need": None, "language": langs}),
            pd.DataFrame(
                {
                    "dimension": "need_language",
                    "need": np.repeat(needs, len(langs)),
                    "language": np.tile(langs, len(needs)),
                }
            ),
        ]
        layout = pd.concat(parts, ignore_index=True)
        c = self._counts.copy()
        c["need"] = c["need"].where(c["need"].notna(), "")
        c["language"] = c["language"].where(c["language"].notna(), "")
        key = ["school_id", "dimension", "need", "language"]
        g = _grid_by_position(sch, layout, c[key + ["count"]])
        normalized = g is not None
        if g is None:  # duplicated keys: the merges below say what that means
            grid = sch.merge(layout, how="cross")
            g = grid.assign(
                need=grid["need"].where(grid["need"].notna(), ""),
                language=grid["language"].where(grid["language"].notna(), ""),
            )
            g = g.merge(c[key + ["count"]], on=key, how="left")
            g["count"] = g["count"].fillna(0.0).round()
            g["need"] = g["need"].replace("", None)
            g["language"] = g["language"].replace("", None)
        if include_districts:
            d = (
                g.groupby(
                    ["district_id", "dimension", "need", "language"], dropna=False, sort=False
                )["count"]
                .sum()
                .reset_index()
            )
            d["school_id"] = None
            d["school_name"] = None
            g = pd.concat([g, d[g.columns]], ignore_index=True)
            normalized = False
        if not normalized:
            for col in ("need", "language", "school_id", "school_name", "district_id"):
                g[col] = _none_for_missing(g[col])
        return g


def _numbers(col: pd.Series) -> pd.Series:
    """``pd.to_numeric(col, errors="coerce")`` of a published count column (ints and None),
    as floats (the same numbers; to_numeric is slow on object columns)."""
    arr = col.to_numpy(dtype=object)
    if infer_dtype(arr, skipna=True) != "integer":
        return pd.to_numeric(col, errors="coerce")
    return pd.Series(np.array(arr, dtype=float), index=col.index, name=col.name)


def _none_for_missing(col: pd.Series) -> pd.Series:
    return col.astype(object).where(col.notna(), None)


def _grid_by_position(
    sch: pd.DataFrame, layout: pd.DataFrame, counts: pd.DataFrame
) -> pd.DataFrame | None:
    """``sch x layout`` with ``counts`` (need / language missing as "") placed by position:
    the frame of a cross merge then a left merge on (school_id, dimension, need, language),
    with the counts rounded (0 where none), need / language "" as None and the text columns
    as objects (None when missing), built without merging the whole grid. None when a key
    is duplicated or missing (then the merges decide)."""
    lay = layout.assign(
        need=layout["need"].where(layout["need"].notna(), ""),
        language=layout["language"].where(layout["language"].notna(), ""),
    )
    lkey = ["dimension", "need", "language"]
    sid = sch["school_id"]
    if (
        sid.isna().any()
        or not sid.is_unique
        or lay.duplicated(lkey).any()
        or counts.duplicated(["school_id", *lkey]).any()
    ):
        return None
    n_s, n_l = len(sch), len(lay)
    spos = pd.DataFrame({"school_id": sid, "_s": np.arange(n_s)})
    m = counts.merge(spos, on="school_id").merge(lay.assign(_l=np.arange(n_l)), on=lkey)
    count = np.full(n_s * n_l, np.nan)
    count[m["_s"].to_numpy() * n_l + m["_l"].to_numpy()] = m["count"].to_numpy(dtype=float)
    rows = np.repeat(np.arange(n_s), n_l)
    cols = np.tile(np.arange(n_l), n_s)

    def text(col: pd.Series, at: np.ndarray) -> pd.Series:
        return pd.Series(_none_for_missing(col).to_numpy()[at], dtype=object)

    return pd.DataFrame(
        {
            "school_id": text(sch["school_id"], rows),
            "school_name": text(sch["school_name"], rows),
            "district_id": text(sch["district_id"], rows),
            "dimension": layout["dimension"].take(cols).reset_index(drop=True),
            "need": text(lay["need"].replace("", None), cols),
            "language": text(lay["language"].replace("", None), cols),
            "count": np.round(np.where(np.isnan(count), 0.0, count)),
        }
    )


def build_profile(responses: pd.DataFrame, *, schools: pd.DataFrame | None = None) -> NeedProfile:
    """Aggregate internal survey responses into a :class:`NeedProfile`.

    Every family counts once per school total and once for its primary home language; once
    per top-level need it reported, in the need and need x language cells. ``weight`` scales
    each response (default 1). ``schools`` (optional) adds lat/lon for analysis.
    """
    r = responses.loc[responses["school_id"].notna()].copy()
    if r.empty:
        raise InputError("the survey has no rows for known schools")
    fam = r.loc[r["family"].astype(bool)] if "family" in r.columns else r
    tot = fam.groupby("school_id")["weight"].sum().reset_index(name="count")
    tot["dimension"] = "total"
    lang = fam.groupby(["school_id", "language"])["weight"].sum().reset_index(name="count")
    lang["dimension"] = "language"
    ex = r[["school_id", "language", "needs", "weight"]].explode("needs")
    ex = ex.loc[ex["needs"].notna()].rename(columns={"needs": "need"})
    need = ex.groupby(["school_id", "need"])["weight"].sum().reset_index(name="count")
    need["dimension"] = "need"
    nl = ex.groupby(["school_id", "need", "language"])["weight"].sum().reset_index(name="count")
    nl["dimension"] = "need_language"
    counts = pd.concat([tot, lang, need, nl], ignore_index=True)
    for col in ("need", "language"):
        if col not in counts.columns:
            counts[col] = None
        counts[col] = counts[col].astype(object).where(counts[col].notna(), None)
    counts = counts[["school_id", "dimension", "need", "language", "count"]]
    meta = r.groupby("school_id", sort=True)[["school_name", "district_id"]].first().reset_index()
    if schools is not None and "geometry" in schools.columns:
        geo = schools.assign(school_id=schools["school_id"].astype(str))
        geo = geo.drop_duplicates("school_id").set_index("school_id")
        pts = geo.geometry.reindex(meta["school_id"])
        meta["lat"] = [p.y if p is not None and not p.is_empty else np.nan for p in pts]
        meta["lon"] = [p.x if p is not None and not p.is_empty else np.nan for p in pts]
    tax = load_taxonomy()
    observed = sorted(set(lang["language"]))
    languages = ["en"] + [x for x in observed if x != "en"]
    synthetic = bool(r["synthetic"].any()) if "synthetic" in r.columns else False
    best_times = None
    if "best_times" in fam.columns:
        from assetmap.schedules import best_times_profile
        from assetmap.settings import get_settings

        best_times = best_times_profile(fam, min_cell=int(get_settings().min_cell))
    return NeedProfile(
        counts,
        meta,
        languages=languages,
        needs=tax.top_needs,
        synthetic=synthetic,
        best_times=best_times,
    )


def load_profile(
    source: str | Path | bytes,
    *,
    name: str | None = None,
    schools: pd.DataFrame,
) -> tuple[NeedProfile, ValidationReport]:
    """Read a survey file and build its profile against ``schools`` (the workspace's)."""
    if source is None:
        raise TypeError("give the survey to read (a path or bytes)")
    if schools is None:
        raise TypeError("pass schools= (the workspace's schools) to match the survey against")
    responses, report = read_survey(source, name=name, schools=schools)
    return build_profile(responses, schools=schools), report


def school_profile(profile: NeedProfile, school_id: str) -> pd.DataFrame:
    """The published (suppressed) rows of one school — never internal counts."""
    pub = profile.published()
    return pub.loc[pub["school_id"] == str(school_id)].reset_index(drop=True)
