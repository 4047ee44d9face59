"""Rank partners for a school's needs, with every score explainable by its parts.

For a school and one of its needs, a candidate partner serves the need and is within reach
(``settings.reach_for(need)`` km great-circle from the school, or inside the school's
attendance zone when zones are given). Its score is a weighted mean of parts in 0..1:

* ``distance_decay``  = exp(-distance_km / settings.distance_decay_km), or
  exp(-travel minutes / decay minutes) after :func:`assetmap.roads.use_travel_time`
* ``language_coverage`` = share of the need's families whose home language the partner
  serves (English-speaking families and families with no stated language count as covered
  by every partner). A partner whose languages are **unknown** (none recorded) is not
  English-only: its language part counts the uncertain share at half,
  ``coverage + 0.5 * (1 - coverage)`` (``UNKNOWN_LANGUAGE_CREDIT``), and gaps it leaves are
  ``language_unknown``, not ``language_not_offered``
* ``capacity_part``   = capacity / (capacity + families with the need); 0.5 when unknown
* ``verified_part``   = 0.5 ** (age of last_verified / settings.stale_after_days); 0 if never
* ``mou_part``        = active 1, prospective 0.5, expired 0.25, none 0

``score = sum(weight_k * part_k) / sum(weight_k)`` with the ``weight_*`` settings.

Privacy: the family weights come from :meth:`NeedProfile._analysis_weights`, which derives
them from the suppressed (published) figures, so shares and scores never reveal a
suppressed cell; ``language_coverage_estimated`` is True where a share rests on an equal
split of hidden cells. Only suppressed displays of counts are ever output.

Everything is vectorised over (school, partner) pairs from
:meth:`PartnerIndex.pairs_within`; the only Python loops run over needs and languages.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd

from assetmap._errors import InputError
from assetmap.index import PartnerIndex, haversine_km
from assetmap.needs import UNKNOWN_LANGUAGE, NeedProfile
from assetmap.settings import Settings, get_settings
from assetmap.taxonomy import load_taxonomy

__all__ = [
    "MOU_PARTS",
    "MATCH_COLUMNS",
    "match_school",
    "match_all",
    "score_pairs",
    "AnalysisContext",
    "prepare",
]

log = logging.getLogger(__name__)

#: Credit for the families a partner with unknown languages may or may not serve.
UNKNOWN_LANGUAGE_CREDIT = 0.5
MOU_PARTS = {"active": 1.0, "prospective": 0.5, "expired": 0.25, "none": 0.0}
PART_COLUMNS = ("distance_decay", "language_coverage", "capacity_part", "verified_part", "mou_part")

MATCH_COLUMNS = [
    "school_id",
    "school_name",
    "district_id",
    "need",
    "need_label",
    "families_display",
    "rank",
    "partner_id",
    "partner_name",
    "category",
    "serves",
    "distance_km",
    "within_reach",
    "in_zone",
    "reach_km",
    "languages",
    "languages_known",
    "languages_needed",
    "language_coverage",
    "language_coverage_estimated",
    "distance_decay",
    "capacity_part",
    "verified_part",
    "mou_part",
    "score",
    "mou_status",
    "last_verified",
    "stale",
    "example",
    "explain",
]


def _weights(settings: Settings) -> np.ndarray:
    w = np.array(
        [
            settings.weight_distance,
            settings.weight_language,
            settings.weight_capacity,
            settings.weight_verified,
            settings.weight_mou,
        ],
        dtype=float,
    )
    if (w < 0).any() or w.sum() <= 0:
        raise InputError("matching weights must be non-negative and not all zero (settings)")
    return w


@dataclass
class AnalysisContext:
    """Everything matching, gaps and networks share for one (profile, partners, schools) run."""

    index: PartnerIndex
    profile: NeedProfile
    settings: Settings
    schools: pd.DataFrame  # school_id, school_name, district_id, lat, lon (survey schools)
    weights: pd.DataFrame  # school_id, need, language, families, small (safe weights)
    languages: list[str]
    partner_lang: np.ndarray  # (n_partners, n_languages) bool; en and und always True
    lang_known: np.ndarray  # (n_partners,) bool: False = no languages recorded (unknown)
    capacity: np.ndarray
    verified_part: np.ndarray
    stale: np.ndarray
    mou_part: np.ndarray
    mou_status: np.ndarray
    zones: gpd.GeoDataFrame | None = None
    cache: dict = field(default_factory=dict)

    def school_pos(self, school_ids: Iterable[str]) -> np.ndarray:
        lookup = pd.Series(np.arange(len(self.schools)), index=self.schools["school_id"])
        ids = [str(s) for s in school_ids]
        missing = [s for s in ids if s not in lookup.index]
        if missing:
            raise InputError(
                f"school(s) {', '.join(missing[:5])} have no survey responses or are unknown; "
                "check the id (run 'assetmap needs' to list the surveyed schools)"
            )
        return lookup.loc[ids].to_numpy()

    def demand(self, need: str) -> tuple[np.ndarray, np.ndarray]:
        """(families per school, families per school x language) for a need (safe weights)."""
        key = ("demand", need)
        if key in self.cache:
            return self.cache[key]
        if "weight_codes" not in self.cache:
            w = self.weights
            spos = pd.Index(self.schools["school_id"]).get_indexer(w["school_id"])
            lpos = pd.Index(self.languages).get_indexer(w["language"])
            needs = w["need"].to_numpy(dtype=object)
            fam = w["families"].to_numpy(dtype=float)
            ok = (spos >= 0) & (lpos >= 0)
            groups: dict[str, np.ndarray] = {}
            for n in pd.unique(needs[ok]):
                groups[n] = np.flatnonzero(ok & (needs == n))
            self.cache["weight_codes"] = (spos, lpos, fam, groups)
        spos, lpos, fam, groups = self.cache["weight_codes"]
        rows = groups.get(need, np.zeros(0, dtype=np.int64))
        mat = np.zeros((len(self.schools), len(self.languages)))
        np.add.at(mat, (spos[rows], lpos[rows]), fam[rows])
        self.cache[key] = (mat.sum(axis=1), mat)
        return self.cache[key]

    def language_sets(self) -> tuple[np.ndarray, np.ndarray]:
        """(distinct partner language rows as floats, set index of each partner)."""
        if "lang_sets" not in self.cache:
            # rows as bytes (one per partner), then one hash-based factorize: far faster than
            # np.unique(axis=0) on a wide boolean matrix
            packed = np.packbits(self.partner_lang, axis=1)
            inverse, _ = pd.factorize(np.array([r.tobytes() for r in packed], dtype=object))
            _, first = np.unique(inverse, return_index=True)
            sets = self.partner_lang[first]
            self.cache["lang_sets"] = (sets.astype(float), np.asarray(inverse, dtype=np.int64))
        return self.cache["lang_sets"]

    def displays(self) -> tuple[dict, dict, _NeedLanguageDisplays]:
        """Suppressed displays: {school: 'fewer than N responses'} for small schools,
        {(school, need): display}, {(school, need, language): display} (the last one built on
        first use: it has a cell per school x need x language)."""
        if "displays" not in self.cache:
            pub = self.profile.published()
            disp = pub["display"].astype(str).to_numpy(dtype=object)
            dim = pub["dimension"].to_numpy(dtype=object)
            sid = pub["school_id"].to_numpy(dtype=object)
            nd = pub["need"].to_numpy(dtype=object)
            la = pub["language"].to_numpy(dtype=object)
            small = pub["display"].astype(str).str.startswith("fewer than").to_numpy(dtype=bool)
            need = dim == "need"
            nl = np.flatnonzero(dim == "need_language")
            nl_need = nd[nl]

            def need_language(need: str) -> dict:
                rows = nl[nl_need == need]
                return dict(
                    zip(
                        zip(sid[rows].tolist(), la[rows].tolist(), strict=True),
                        disp[rows].tolist(),
                        strict=True,
                    )
                )

            self.cache["displays"] = (
                dict(zip(sid[small].tolist(), disp[small].tolist(), strict=True)),
                dict(
                    zip(
                        zip(sid[need].tolist(), nd[need].tolist(), strict=True),
                        disp[need].tolist(),
                        strict=True,
                    )
                ),
                _NeedLanguageDisplays(need_language),
            )
        return self.cache["displays"]


class _NeedLanguageDisplays:
    """Read-only {(school, need, language): display}, built per need on first lookup (the
    full table has a cell per school x need x language)."""

    def __init__(self, build) -> None:
        self._build = build
        self._by_need: dict[str, dict] = {}

    def get(self, key: tuple, default=None):
        sid, need, lang = key
        if need not in self._by_need:
            self._by_need[need] = self._build(need)
        return self._by_need[need].get((sid, lang), default)


def _verified(partners: pd.DataFrame, stale_days: int) -> tuple[np.ndarray, np.ndarray]:
    lv = pd.to_datetime(partners["last_verified"], errors="coerce", utc=True)
    today = pd.Timestamp(date.today(), tz="UTC")
    age = (today - lv).dt.days.to_numpy(dtype=float)
    part = np.where(np.isnan(age), 0.0, 0.5 ** (np.clip(age, 0, None) / max(stale_days, 1)))
    stale = np.isnan(age) | (age > stale_days)
    return part, stale


def prepare(
    *,
    partners_index: PartnerIndex,
    profile: NeedProfile,
    schools: pd.DataFrame | None = None,
    settings: Settings | None = None,
    zones: gpd.GeoDataFrame | None = None,
) -> AnalysisContext:
    """Build the shared context. ``schools`` gives coordinates (school_id + geometry or lat/lon)
    when the profile was built without them."""
    s = settings or get_settings()
    meta = profile._schools.copy()  # noqa: SLF001 - school list only, no figures
    if ("lat" not in meta.columns or meta["lat"].isna().all()) and schools is not None:
        sch = schools.assign(school_id=schools["school_id"].astype(str)).drop_duplicates(
            "school_id"
        )
        if "geometry" in sch.columns:
            g = gpd.GeoSeries(sch.geometry.values, index=sch["school_id"])
            meta["lat"] = [
                p.y if p is not None and not p.is_empty else np.nan
                for p in g.reindex(meta["school_id"])
            ]
            meta["lon"] = [
                p.x if p is not None and not p.is_empty else np.nan
                for p in g.reindex(meta["school_id"])
            ]
        else:
            sch = sch.set_index("school_id")
            meta["lat"] = sch["lat"].reindex(meta["school_id"]).to_numpy(dtype=float)
            meta["lon"] = sch["lon"].reindex(meta["school_id"]).to_numpy(dtype=float)
    if "lat" not in meta.columns:
        meta["lat"] = np.nan
        meta["lon"] = np.nan
    meta = meta.reset_index(drop=True)
    weights = profile._analysis_weights()  # noqa: SLF001
    langs = list(dict.fromkeys(["en", UNKNOWN_LANGUAGE, *profile.languages]))
    p = partners_index.partners
    lang_index = pd.Index(langs)
    plang = np.zeros((len(p), len(langs)), dtype=bool)
    table = partners_index._languages  # noqa: SLF001 - the index's coded language lists
    for code, col in enumerate(lang_index.get_indexer(pd.Index(table.uniques, dtype=object))):
        if col >= 0:
            plang[table.positions[table.offsets[code] : table.offsets[code + 1]], col] = True
    # an empty list means unknown, not "English only"
    lang_known = np.fromiter((len(v) > 0 for v in p["languages"]), dtype=bool, count=len(p))
    plang[:, 0] = True  # English-speaking families: covered by every partner
    plang[:, 1] = True  # no stated language: no evidence of a language barrier
    verified, stale = _verified(p, s.stale_after_days)
    mou = p["mou_status"].astype(str).str.lower().to_numpy()
    return AnalysisContext(
        index=partners_index,
        profile=profile,
        settings=s,
        schools=meta,
        weights=weights,
        languages=langs,
        partner_lang=plang,
        lang_known=lang_known,
        capacity=pd.to_numeric(p["capacity"], errors="coerce").to_numpy(dtype=float),
        verified_part=verified,
        stale=stale,
        mou_part=np.array([MOU_PARTS.get(m, 0.0) for m in mou]),
        mou_status=mou,
        zones=zones,
    )


@dataclass
class Pairs:
    """Scored (school, partner) pairs for one need; arrays aligned."""

    need: str
    reach_km: float
    school: np.ndarray  # positions in ctx.schools
    partner: np.ndarray  # positions in ctx.index.partners
    distance_km: np.ndarray
    within_reach: np.ndarray
    in_zone: np.ndarray
    language_coverage: np.ndarray
    language_estimated: np.ndarray
    distance_decay: np.ndarray
    capacity_part: np.ndarray
    verified_part: np.ndarray
    mou_part: np.ndarray
    score: np.ndarray

    def __len__(self) -> int:
        return len(self.school)

    def take(self, sel: np.ndarray) -> Pairs:
        return Pairs(
            self.need,
            self.reach_km,
            *(getattr(self, f)[sel] for f in _PAIR_ARRAYS),
        )


_PAIR_ARRAYS = (
    "school",
    "partner",
    "distance_km",
    "within_reach",
    "in_zone",
    "language_coverage",
    "language_estimated",
    "distance_decay",
    "capacity_part",
    "verified_part",
    "mou_part",
    "score",
)


def _zone_pairs(
    ctx: AnalysisContext, need: str, school_pos: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(school position, partner position) for partners serving ``need`` inside each school's
    attendance zone."""
    if ctx.zones is None or len(ctx.zones) == 0 or "school_id" not in ctx.zones.columns:
        return np.array([], dtype=np.int64), np.array([], dtype=np.int64)
    mask = ctx.index.filter_mask(needs=[need])
    cand = np.flatnonzero(mask)
    if len(cand) == 0:
        return np.array([], dtype=np.int64), np.array([], dtype=np.int64)
    zones = ctx.zones.to_crs("EPSG:4326") if ctx.zones.crs is not None else ctx.zones
    ids = ctx.schools["school_id"].to_numpy()[school_pos]
    zones = zones.loc[zones["school_id"].astype(str).isin(ids), ["school_id", "geometry"]]
    if zones.empty:
        return np.array([], dtype=np.int64), np.array([], dtype=np.int64)
    pts = gpd.GeoDataFrame(
        {"ppos": cand},
        geometry=gpd.points_from_xy(ctx.index.lon[cand], ctx.index.lat[cand]),
        crs="EPSG:4326",
    )
    j = gpd.sjoin(pts, zones.assign(school_id=zones["school_id"].astype(str)), predicate="within")
    if j.empty:
        return np.array([], dtype=np.int64), np.array([], dtype=np.int64)
    spos = pd.Series(np.arange(len(ctx.schools)), index=ctx.schools["school_id"])
    return spos.loc[j["school_id"]].to_numpy(), j["ppos"].to_numpy(dtype=np.int64)


def _candidates(
    ctx: AnalysisContext,
    need: str,
    school_pos: np.ndarray,
    extra: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(school, partner, distance_km, within_reach, in_zone) of every partner serving ``need``
    within reach of (or inside the zone of) the given schools, plus the ``extra`` pairs."""
    reach = ctx.settings.reach_for(need)
    school_pos = np.asarray(school_pos, dtype=np.int64)
    lat = ctx.schools["lat"].to_numpy(dtype=float)
    lon = ctx.schools["lon"].to_numpy(dtype=float)
    located = school_pos[np.isfinite(lat[school_pos]) & np.isfinite(lon[school_pos])]
    qi, pp, dist = ctx.index.pairs_within(
        lat[located], lon[located], reach, needs=[need], sort=False
    )
    sp = located[qi]
    in_zone = np.zeros(len(sp), dtype=bool)
    zs, zp = _zone_pairs(ctx, need, located)
    if len(zs):
        n = len(ctx.index.partners)
        have = pd.Index(sp * n + pp)
        zkey = zs * n + zp
        hit = have.get_indexer(zkey)
        in_zone[hit[hit >= 0]] = True
        new = hit < 0
        zs, zp = zs[new], zp[new]
        zd = haversine_km(lat[zs], lon[zs], ctx.index.lat[zp], ctx.index.lon[zp])
        sp = np.concatenate([sp, zs])
        pp = np.concatenate([pp, zp])
        dist = np.concatenate([dist, zd])
        in_zone = np.concatenate([in_zone, np.ones(len(zs), dtype=bool)])
    within = np.ones(len(sp), dtype=bool)
    if extra is not None and len(extra[0]):
        es, ep = np.asarray(extra[0], dtype=np.int64), np.asarray(extra[1], dtype=np.int64)
        ed = haversine_km(lat[es], lon[es], ctx.index.lat[ep], ctx.index.lon[ep])
        sp = np.concatenate([sp, es])
        pp = np.concatenate([pp, ep])
        dist = np.concatenate([dist, ed])
        in_zone = np.concatenate([in_zone, np.zeros(len(es), dtype=bool)])
        within = np.concatenate([within, ed <= reach + 1e-9])
    return sp, pp, dist, within, in_zone


def _coverage_table(ctx: AnalysisContext, need: str) -> np.ndarray:
    """(schools x distinct partner language sets): share of the need's families whose home
    language the set serves (1 where the school has no such families)."""
    key = ("cov_table", need)
    if key not in ctx.cache:
        families, mat = ctx.demand(need)
        sets, _ = ctx.language_sets()
        covered = mat @ sets.T
        ok = families > 0
        ctx.cache[key] = np.where(ok[:, None], covered / np.where(ok, families, 1.0)[:, None], 1.0)
    return ctx.cache[key]


def _language_part(ctx: AnalysisContext, pp: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """The language part of the score: the coverage, or for a partner whose languages are
    unknown, the sure share plus half the uncertain rest."""
    unknown = ~ctx.lang_known[pp]
    return np.where(unknown, cov + UNKNOWN_LANGUAGE_CREDIT * (1.0 - cov), cov)


def _static_part(ctx: AnalysisContext) -> np.ndarray:
    """Per partner: the weighted verified + MOU terms of the score (no school involved)."""
    if "static_part" not in ctx.cache:
        w = _weights(ctx.settings)
        ctx.cache["static_part"] = w[3] * ctx.verified_part + w[4] * ctx.mou_part
    return ctx.cache["static_part"]


def _capacity_part(ctx: AnalysisContext, pp: np.ndarray, fam: np.ndarray) -> np.ndarray:
    cap = ctx.capacity[pp]
    known = ~np.isnan(cap)
    part = np.where(known, cap / np.maximum(cap + fam, 1e-9), 0.5)
    return np.where(known & (cap + fam <= 0), 0.0, part)


def _decay(ctx: AnalysisContext, sp: np.ndarray, pp: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """The distance part: exp(-km / distance_decay_km), or a travel-time decay when one was
    set on the context (:func:`assetmap.roads.use_travel_time`)."""
    travel = ctx.cache.get("travel_decay")
    if travel is not None:
        return travel(ctx, sp, pp)
    return np.exp(-dist / max(ctx.settings.distance_decay_km, 1e-9))


def _scores(
    ctx: AnalysisContext, need: str, sp: np.ndarray, pp: np.ndarray, dist: np.ndarray
) -> np.ndarray:
    """Match scores of pairs (the same sum as :func:`score_pairs`, fewer passes)."""
    s = ctx.settings
    w = _weights(s)
    _, set_of = ctx.language_sets()
    families, _ = ctx.demand(need)
    cov = _coverage_table(ctx, need)[sp, set_of[pp]]
    total = w[0] * _decay(ctx, sp, pp, dist)
    total += w[1] * _language_part(ctx, pp, cov)
    total += w[2] * _capacity_part(ctx, pp, families[sp])
    total += _static_part(ctx)[pp]
    return total / w.sum()


def _scored(
    ctx: AnalysisContext,
    need: str,
    sp: np.ndarray,
    pp: np.ndarray,
    dist: np.ndarray,
    within: np.ndarray,
    in_zone: np.ndarray,
    score: np.ndarray | None = None,
) -> Pairs:
    """The pairs with every part of their score (``score`` when already computed)."""
    s = ctx.settings
    families, _ = ctx.demand(need)
    _, set_of = ctx.language_sets()
    fam = families[sp]
    cov = _coverage_table(ctx, need)[sp, set_of[pp]] if len(sp) else np.zeros(0)
    est = _estimated_mask(ctx, need)[sp] & (cov < 1.0) & (cov > 0.0)
    cov = _language_part(ctx, pp, cov)  # unknown languages: the credited share (see above)
    decay = _decay(ctx, sp, pp, dist)
    cap_part = _capacity_part(ctx, pp, fam)
    ver = ctx.verified_part[pp]
    mou = ctx.mou_part[pp]
    if score is None:
        score = _scores(ctx, need, sp, pp, dist)  # the one formula ranking uses
    return Pairs(
        need,
        s.reach_for(need),
        sp,
        pp,
        dist,
        within,
        in_zone,
        cov,
        est,
        decay,
        cap_part,
        ver,
        mou,
        score,
    )


def score_pairs(
    ctx: AnalysisContext,
    need: str,
    school_pos: np.ndarray,
    *,
    extra: tuple[np.ndarray, np.ndarray] | None = None,
) -> Pairs:
    """Every partner serving ``need`` within reach of the given schools, scored.

    ``extra`` adds (school position, partner position) pairs outside reach (e.g. the nearest
    partner beyond reach) scored the same way with ``within_reach`` False.
    """
    return _scored(ctx, need, *_candidates(ctx, need, school_pos, extra))


def _estimated_mask(ctx: AnalysisContext, need: str) -> np.ndarray:
    """Per school: True when the need's language split rests on hidden (suppressed) cells."""
    key = ("_est", need)
    cache = ctx.cache
    if key not in cache:
        if "_hidden" not in cache:
            pub = ctx.profile.published()
            rows = pub[(pub["dimension"] == "need_language") & pub["suppressed"].astype(bool)]
            by_need: dict[str, set] = {}
            for sid, n in zip(rows["school_id"], rows["need"], strict=True):
                by_need.setdefault(n, set()).add(sid)
            cache["_hidden"] = by_need
            cache["_small"] = set(ctx.weights.loc[ctx.weights["small"], "school_id"])
        if "_school_lookup" not in cache:
            cache["_school_lookup"] = pd.Index(ctx.schools["school_id"].to_numpy(dtype=object))
        hidden = cache["_hidden"].get(need, set()) | cache["_small"]
        hit = cache["_school_lookup"].get_indexer(pd.Index(list(hidden), dtype=object))
        mask = np.zeros(len(ctx.schools), dtype=bool)
        mask[hit[hit >= 0]] = True
        if cache["_school_lookup"].has_duplicates:  # pragma: no cover - ids are unique
            mask = ctx.schools["school_id"].isin(hidden).to_numpy()
        cache[key] = mask
    return cache[key]


def _top_positions(
    school: np.ndarray,
    partner: np.ndarray,
    distance: np.ndarray,
    within: np.ndarray,
    score: np.ndarray,
    k: int | None,
) -> np.ndarray:
    """Indexes of the ``k`` best pairs per school (all when None) (within reach first, score desc, distance,
    partner), in that order per school, schools ascending.

    With many pairs per school, a per-school threshold found by ``np.partition`` on a padded
    (school x pairs) table keeps only the contenders before the full sort: linear work
    instead of sorting millions of pairs."""
    n = len(school)
    cand = np.arange(n)
    if k is not None and n > 50_000:
        key = np.where(within, 0.0, 2.0) + (1.0 - score)
        counts = np.bincount(school)
        change = school[1:] != school[:-1]
        grouped = np.count_nonzero(change) + 1 == np.count_nonzero(counts)
        if grouped:  # pairs_within keeps each school's pairs together: no sort needed
            s, ks, first = school, key, np.r_[True, change]
        else:
            order = np.argsort(school, kind="stable")
            s, ks = school[order], key[order]
            first = np.r_[True, s[1:] != s[:-1]]
        rank = np.arange(n) - np.maximum.accumulate(np.where(first, np.arange(n), 0))
        width = int(rank.max()) + 1
        if width > k and len(counts) * width <= 4 * n + 1_000_000:
            table = np.full((len(counts), width), np.inf)
            table[s, rank] = ks
            kth = np.partition(table, k - 1, axis=1)[:, k - 1]
            kept = np.flatnonzero(ks <= kth[s])
            cand = kept if grouped else np.sort(order[kept])
    o = cand[np.lexsort((partner[cand], distance[cand], -score[cand], ~within[cand], school[cand]))]
    if k is None:
        return o
    first = np.r_[True, school[o][1:] != school[o][:-1]]
    rank = np.arange(len(o)) - np.maximum.accumulate(np.where(first, np.arange(len(o)), 0))
    return o[rank < k]


def _rank_in_school(school: np.ndarray) -> np.ndarray:
    """0-based rank of each pair within its school's run (pairs grouped by school)."""
    n = len(school)
    first = np.r_[True, school[1:] != school[:-1]] if n else np.zeros(0, dtype=bool)
    return np.arange(n) - np.maximum.accumulate(np.where(first, np.arange(n), 0))


def top_k(pairs: Pairs, k: int | None) -> Pairs:
    """Pairs ordered by school, then within reach first, score (desc), distance, partner;
    ``k`` per school (all when None)."""
    return pairs.take(
        _top_positions(
            pairs.school,
            pairs.partner,
            pairs.distance_km,
            pairs.within_reach,
            pairs.score,
            k,
        )
    )


#: How many best pairs per school and need :func:`need_summary` keeps (match limit and
#: network candidates up to this reuse it).
SUMMARY_TOP = 10


@dataclass
class NeedSummary:
    """One pass over a need's (school, partner) pairs for every surveyed school with it."""

    top: Pairs  # the SUMMARY_TOP best pairs within reach per school
    served: np.ndarray  # (n_schools,) bool: some partner serving the need within reach
    lang_covered: np.ndarray  # (n_schools, n_languages) bool: ... serving that language
    #: (n_schools,) bool: some partner serving the need within reach has unknown languages
    lang_unknown: np.ndarray | None = None


def concat_pairs(a: Pairs, b: Pairs) -> Pairs:
    return Pairs(
        a.need, a.reach_km, *(np.concatenate([getattr(a, f), getattr(b, f)]) for f in _PAIR_ARRAYS)
    )


def need_summary(ctx: AnalysisContext, need: str) -> NeedSummary:
    """Pairs of ``need`` for all schools of the context, computed once and cached: match,
    gaps and networks all read it (millions of pairs are reduced to what they need)."""
    key = ("summary", need)
    if key not in ctx.cache:
        everyone = _schools_with_need(ctx, need, np.arange(len(ctx.schools)))
        sp, pp, dist, within, in_zone = _candidates(ctx, need, everyone)
        served = np.zeros(len(ctx.schools), dtype=bool)
        served[sp] = True
        sets, set_of = ctx.language_sets()
        reached = np.zeros((len(ctx.schools), len(sets)), dtype=bool)
        reached[sp, set_of[pp]] = True  # which language sets are in reach
        covered = (reached.astype(float) @ sets) > 0
        unknown = np.zeros(len(ctx.schools), dtype=bool)
        unknown[sp[~ctx.lang_known[pp]]] = True
        # one scoring pass: rank on the score alone; the explained parts are computed for
        # the kept pairs only (already in top_k order)
        score = _scores(ctx, need, sp, pp, dist)
        keep = _top_positions(sp, pp, dist, within, score, SUMMARY_TOP)
        top = _scored(
            ctx, need, sp[keep], pp[keep], dist[keep], within[keep], in_zone[keep], score[keep]
        )
        ctx.cache[key] = NeedSummary(top, served, covered, unknown)
    return ctx.cache[key]


def best_pairs(ctx: AnalysisContext, need: str, school_pos: np.ndarray, k: int | None) -> Pairs:
    """The ``k`` best pairs within reach per school (all when ``k`` is None)."""
    if k is not None and k <= SUMMARY_TOP:
        top = need_summary(ctx, need).top  # in top_k order: a subset of schools and the
        sel = np.isin(top.school, school_pos)  # first k per school keep that order
        if k < SUMMARY_TOP:
            sel &= _rank_in_school(top.school) < k
        return top if sel.all() else top.take(sel)
    return top_k(score_pairs(ctx, need, school_pos), k)


def nearest_beyond(ctx: AnalysisContext, need: str, school_pos: np.ndarray, **filters):
    """(distance_km, partner position) of the nearest partner serving ``need`` for each school
    (any distance); position -1 when none exists."""
    lat = ctx.schools["lat"].to_numpy(dtype=float)[school_pos]
    lon = ctx.schools["lon"].to_numpy(dtype=float)[school_pos]
    ok = np.isfinite(lat) & np.isfinite(lon)
    d = np.full(len(school_pos), np.inf)
    p = np.full(len(school_pos), -1, dtype=np.int64)
    if ok.any():
        dd, pp = ctx.index.knn_many(lat[ok], lon[ok], 1, needs=[need], **filters)
        d[ok], p[ok] = dd[:, 0], pp[:, 0]
    return d, p


def _schools_with_need(ctx: AnalysisContext, need: str, school_pos: np.ndarray) -> np.ndarray:
    fam, _ = ctx.demand(need)
    return school_pos[fam[school_pos] > 0]


def needs_of(ctx: AnalysisContext, school_pos: np.ndarray) -> list[str]:
    """Top-level needs (taxonomy order) reported at any of the schools."""
    ids = set(ctx.schools["school_id"].to_numpy()[school_pos])
    present = set(ctx.weights.loc[ctx.weights["school_id"].isin(ids), "need"])
    return [n for n in load_taxonomy().top_needs if n in present]


def _fmt_langs(codes: Sequence[str]) -> str:
    from assetmap.languages import load_languages

    langs = load_languages()
    return ", ".join(langs.name(c) for c in codes) or "none listed"


def _explain(row: dict, settings: Settings) -> str:
    w = _weights(settings)
    cov = row["language_coverage"]
    cov_txt = f"{cov:.0%}" + (
        " (estimated: small counts hidden)" if row["language_coverage_estimated"] else ""
    )
    reach_txt = (
        "inside the attendance zone"
        if row["in_zone"] and row["distance_km"] > row["reach_km"]
        else f"within the {row['reach_km']:g} km reach"
        if row["within_reach"]
        else f"beyond the {row['reach_km']:g} km reach"
    )
    cap = row.get("capacity")
    cap_txt = "unknown capacity" if cap is None or pd.isna(cap) else f"capacity {cap:g}"
    lv = row["last_verified"]
    lv = lv if isinstance(lv, str) and lv else "never verified"  # None or a frame's NaN
    if "languages_known" in row and not bool(row["languages_known"]):
        sure = max(0.0, (cov - UNKNOWN_LANGUAGE_CREDIT) / (1.0 - UNKNOWN_LANGUAGE_CREDIT))
        lang_txt = (
            f"languages not recorded (unknown, not English-only): {sure:.0%} of the need's "
            f"families are covered for sure, the rest counted at half"
        )
    else:
        lang_txt = (
            f"languages {_fmt_langs(row['languages'])} cover {cov_txt} of the need's families"
        )
    terms = " + ".join(f"{wk:g}x{row[c]:.2f}" for wk, c in zip(w, PART_COLUMNS, strict=True))
    return (
        f"{row['partner_name']} serves {row['need_label']}; {row['distance_km']:.1f} km away "
        f"({reach_txt}) -> distance {row['distance_decay']:.2f}; {lang_txt} -> language "
        f"{cov:.2f}; {cap_txt} -> capacity {row['capacity_part']:.2f}; verified: {lv} -> "
        f"{row['verified_part']:.2f}; MOU {row['mou_status']} -> {row['mou_part']:.2f}. "
        f"Score = ({terms}) / {w.sum():g} = {row['score']:.3f}"
    )


def fixed_text(values: np.ndarray, digits: int) -> np.ndarray:
    """``f"{v:.{digits}f}"`` for every value, as an object array, without a format call per
    value: values are rounded to integers in numpy and each distinct integer is formatted
    once. Values within 1e-6 of a rounding tie (where float scaling could round otherwise),
    negative, non-finite or huge ones are formatted by Python itself, so the text is
    identical to the f-string."""
    v = np.asarray(values, dtype=float)
    scaled = v * 10.0**digits
    with np.errstate(invalid="ignore"):
        frac = np.abs(scaled - np.floor(scaled) - 0.5)
        safe = np.isfinite(scaled) & ~np.signbit(v) & (scaled < 1e9) & (frac > 1e-6)
    out = np.empty(len(v), dtype=object)
    ints = np.rint(scaled[safe]).astype(np.int64)
    uniq, inverse = np.unique(ints, return_inverse=True)
    unit = 10**digits
    table = [f"{x // unit}.{x % unit:0{digits}d}" if digits else str(x) for x in uniq.tolist()]
    out[safe] = np.array(table + [None], dtype=object)[:-1][inverse]
    rest = np.flatnonzero(~safe)
    if len(rest):
        out[rest] = [f"{x:.{digits}f}" for x in v[rest].tolist()]
    return out


def round_exact(values: np.ndarray, digits: int) -> np.ndarray:
    """Python's ``round(v, digits)`` for every value, vectorised: numpy's scaled rounding
    agrees except within 1e-6 of a rounding tie, where Python's own round is used."""
    v = np.asarray(values, dtype=float)
    scaled = v * 10.0**digits
    out = np.round(v, digits)
    with np.errstate(invalid="ignore"):
        frac = np.abs(np.abs(scaled - np.trunc(scaled)) - 0.5)
        risky = np.isfinite(v) & ((frac <= 1e-6) | (np.abs(scaled) >= 1e9))
    rest = np.flatnonzero(risky)
    if len(rest):
        out[rest] = [round(x, digits) for x in v[rest].tolist()]
    return out


def _lookup_text(values: np.ndarray, fmt) -> np.ndarray:
    """``fmt(value)`` per element, called once per distinct value (hashable values)."""
    codes, uniq = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=False)
    return np.array([fmt(u) for u in uniq] + [None], dtype=object)[:-1][codes]


def _explain_column(ctx: AnalysisContext, col: dict, partner: np.ndarray) -> list[str]:
    """The ``explain`` text of every row of a match frame (``col``: its columns as numpy
    arrays), built column by column: the same text as :func:`_explain` row by row (tested),
    with each number formatted through :func:`fixed_text` and each partner's text made once,
    for the partners shown only."""
    n = len(partner)
    if n == 0:
        return []
    w = _weights(ctx.settings)
    pc = _partner_columns(ctx)
    # per partner (only the partners shown): name, languages, capacity, verified, MOU
    uniq, inv = np.unique(partner, return_inverse=True)
    first = np.zeros(len(uniq), dtype=np.int64)
    first[inv[::-1]] = np.arange(n)[::-1]
    langs = pc["languages"][uniq]
    lang_txt = _lookup_text(
        np.array([tuple(x) for x in langs] + [None], dtype=object)[:-1], _fmt_langs
    )
    cap = ctx.capacity[uniq]
    cap_txt = np.array(
        ["unknown capacity" if pd.isna(c) else f"capacity {c:g}" for c in cap.tolist()] + [None],
        dtype=object,
    )[:-1]
    lv = pc["last_verified"][uniq]
    lv_txt = np.array([x or "never verified" for x in lv.tolist()] + [None], dtype=object)[:-1]
    ver = fixed_text(col["verified_part"][first], 2)
    mou = fixed_text(col["mou_part"][first], 2)
    mou_st = ctx.mou_status[uniq]
    w_txt = [f"{x:g}x" for x in w]
    total = f") / {w.sum():g} = "

    def per_partner(texts) -> list:  # one string per shown partner, then one per row
        return np.array(list(texts) + [None], dtype=object)[:-1][inv].tolist()

    names = pc["name"][uniq]
    head = per_partner(f"{x} serves " for x in names.tolist())
    langs_p = per_partner(
        f"; languages {x} cover " if k else "; languages not recorded (unknown, not English-only): "
        for x, k in zip(lang_txt.tolist(), ctx.lang_known[uniq].tolist(), strict=True)
    )
    cap_p = per_partner(f"; {c} -> capacity " for c in cap_txt.tolist())
    tail = per_partner(
        f"; verified: {a} -> {b}; MOU {m} -> {c}. Score = ({w_txt[0]}"
        for a, b, m, c in zip(
            lv_txt.tolist(), ver.tolist(), mou_st.tolist(), mou.tolist(), strict=True
        )
    )
    end = per_partner(
        f" + {w_txt[3]}{b} + {w_txt[4]}{c}{total}"
        for b, c in zip(ver.tolist(), mou.tolist(), strict=True)
    )
    # per row numbers
    dist = col["distance_km"]
    cov = col["language_coverage"].astype(float)
    est = col["language_coverage_estimated"].astype(bool)
    pct = fixed_text(cov * 100, 0) + np.where(est, "% (estimated: small counts hidden)", "%")
    known = ctx.lang_known[partner]
    if not known.all():  # unknown languages: the share covered for sure (see _explain)
        c = UNKNOWN_LANGUAGE_CREDIT
        sure = fixed_text(np.clip((cov - c) / (1.0 - c), 0.0, None) * 100, 0) + "%"
        pct = np.where(known, pct, sure)
    decay = fixed_text(col["distance_decay"], 2)
    cov2 = fixed_text(cov, 2)
    capp = fixed_text(col["capacity_part"], 2)
    score = fixed_text(col["score"], 3)
    labels = _lookup_text(col["need_label"], lambda x: f"{x}; ")
    # reach: inside the zone / within / beyond the reach
    reach_km = col["reach_km"].astype(float)
    reach_g = _lookup_text(reach_km, lambda r: f"{r:g}")
    zone = col["in_zone"].astype(bool) & (dist.astype(float) > reach_km)
    within = col["within_reach"].astype(bool)
    reach_txt = np.where(
        zone,
        " km away (inside the attendance zone) -> distance ",
        np.where(within, " km away (within the ", " km away (beyond the ")
        + reach_g.astype(object)
        + " km reach) -> distance ",
    )
    dist_t = fixed_text(dist, 1)
    w1, w2 = f" + {w_txt[1]}", f" + {w_txt[2]}"
    mid = np.where(
        known,
        " of the need's families -> language ",
        " of the need's families are covered for sure, the rest counted at half -> language ",
    ).tolist()
    # fewer than 30 pieces per f-string: CPython builds it directly (no list + join)
    return [
        f"{h}{lab}{d}{rt}{dc}{lp}{pc}{md}{c2}{cp_}{cp}{tl}{dc}{w1}{c2}{w2}{cp}{en}{sc}"
        for h, lab, d, rt, dc, lp, pc, md, c2, cp_, cp, tl, en, sc in zip(
            head,
            labels.tolist(),
            dist_t.tolist(),
            reach_txt.tolist(),
            decay.tolist(),
            langs_p,
            pct.tolist(),
            mid,
            cov2.tolist(),
            cap_p,
            capp.tolist(),
            tail,
            end,
            score.tolist(),
            strict=True,
        )
    ]


def _need_displays(ctx: AnalysisContext, need: str) -> np.ndarray:
    """Per school (context order): the suppressed display of the need's family count."""
    key = ("need_displays", need)
    if key not in ctx.cache:
        small_d, need_d, _ = ctx.displays()
        ctx.cache[key] = np.array(
            [small_d.get(s) or need_d.get((s, need), "") for s in ctx.schools["school_id"]]
            + [None],
            dtype=object,
        )[:-1]
    return ctx.cache[key]


def _partner_columns(ctx: AnalysisContext) -> dict[str, np.ndarray]:
    """Partner columns the match frame shows, as numpy arrays, computed once per context."""
    if "match_pcols" not in ctx.cache:
        p = ctx.index.partners
        ctx.cache["match_pcols"] = {
            **{c: p[c].to_numpy() for c in ("partner_id", "name", "category")},
            "languages": np.array([list(v) for v in p["languages"]] + [None], dtype=object)[:-1],
            "example": p["example"].to_numpy(dtype=bool),
            "last_verified": np.array(
                [
                    None
                    if v is None
                    or (isinstance(v, float) and np.isnan(v))
                    or str(v) in ("", "NaT", "nan")
                    else str(v)
                    for v in p["last_verified"].to_numpy()
                ]
                + [None],
                dtype=object,
            )[:-1],
        }
    return ctx.cache["match_pcols"]


def _take_text(ctx: AnalysisContext | None, name: str, values: np.ndarray, idx: np.ndarray):
    """``values[idx]`` as the column pandas would infer for it: text columns are converted to
    pandas' (Arrow) string array once per context and taken from there, instead of inferring
    and converting every row of the output (the same dtype and values)."""
    key = ("text_col", name)
    arr = None if ctx is None else ctx.cache.get(key)
    if arr is None:
        arr = pd.Series(values, copy=False).array
        if ctx is not None:
            ctx.cache[key] = arr
    if not isinstance(arr.dtype, pd.StringDtype):
        return values[idx]
    out = arr.take(idx)
    if len(out) == 0 or out.isna().all():  # pandas infers object for no text at all
        return values[idx]
    return out


def pairs_frame(
    ctx: AnalysisContext, pairs: Pairs | Sequence[Pairs], *, explain: bool = True
) -> pd.DataFrame:
    """Pairs (of one need, or of several) as one match frame (MATCH_COLUMNS), rows ordered
    by school (context order), need (taxonomy order), rank. Each ``Pairs`` must be ordered
    by school then rank (as :func:`top_k` leaves them)."""
    parts = [pairs] if isinstance(pairs, Pairs) else [p for p in pairs if len(p)]
    tax = load_taxonomy()
    tax_order = {n: i for i, n in enumerate(tax.top_needs)}
    pc = _partner_columns(ctx)
    sch = ctx.schools
    lang_arr = np.array(ctx.languages, dtype=object)
    keep_lang = lang_arr != UNKNOWN_LANGUAGE
    cols: dict[str, list] = {k: [] for k in ("need", "rank", "display", "needed", "reach")}
    for pr in parts:
        _, mat = ctx.demand(pr.need)
        needed = {
            s: [str(x) for x in lang_arr[(mat[s] > 0) & keep_lang]]
            for s in np.unique(pr.school).tolist()
        }
        first = np.r_[True, pr.school[1:] != pr.school[:-1]]
        start = np.maximum.accumulate(np.where(first, np.arange(len(pr)), 0))
        cols["need"].append(np.full(len(pr), tax_order.get(pr.need, len(tax_order)), np.int64))
        cols["rank"].append(np.arange(len(pr)) - start + 1)
        cols["display"].append(_need_displays(ctx, pr.need)[pr.school])
        cols["needed"].append([needed[s] for s in pr.school.tolist()])
        cols["reach"].append(np.full(len(pr), pr.reach_km))
    if not parts:
        return pd.DataFrame(columns=MATCH_COLUMNS)
    need_codes = np.array([pr.need for pr in parts], dtype=object)
    part_of = np.repeat(np.arange(len(parts)), [len(pr) for pr in parts])
    a = {f: np.concatenate([getattr(pr, f) for pr in parts]) for f in _PAIR_ARRAYS}
    need_rank = np.concatenate(cols["need"])
    rank = np.concatenate(cols["rank"])
    order = np.lexsort((rank, need_rank, a["school"]))
    a = {f: v[order] for f, v in a.items()}
    school, partner = a["school"], a["partner"]
    labels = {n: tax.label(n) for n in need_codes}
    needed = [x for chunk in cols["needed"] for x in chunk]
    need_pos = part_of[order]
    label_arr = np.array([labels[n] for n in need_codes], dtype=object)
    data = {
        "school_id": _take_text(ctx, "school_id", sch["school_id"].to_numpy(), school),
        "school_name": _take_text(ctx, "school_name", sch["school_name"].to_numpy(), school),
        "district_id": _take_text(ctx, "district_id", sch["district_id"].to_numpy(), school),
        "need": _take_text(None, "need", need_codes, need_pos),
        "need_label": _take_text(None, "need_label", label_arr, need_pos),
        "families_display": np.concatenate(cols["display"])[order],
        "rank": rank[order].astype(int),
        "partner_id": _take_text(ctx, "partner_id", pc["partner_id"], partner),
        "partner_name": _take_text(ctx, "partner_name", pc["name"], partner),
        "category": _take_text(ctx, "category", pc["category"], partner),
        "serves": True,
        "distance_km": np.round(a["distance_km"], 3),
        "within_reach": a["within_reach"] | a["in_zone"],
        "in_zone": a["in_zone"],
        "reach_km": np.concatenate(cols["reach"])[order],
        # list cells are shared between rows (read-only by convention, as in a frame copy)
        "languages": pc["languages"][partner],
        "languages_known": ctx.lang_known[partner],
        "languages_needed": np.array(needed + [None], dtype=object)[:-1][order],
        "language_coverage": a["language_coverage"],
        "language_coverage_estimated": a["language_estimated"],
        "distance_decay": a["distance_decay"],
        "capacity_part": a["capacity_part"],
        "verified_part": a["verified_part"],
        "mou_part": a["mou_part"],
        "score": a["score"],
        "mou_status": _take_text(ctx, "mou_status", ctx.mou_status, partner),
        "last_verified": _take_text(ctx, "last_verified", pc["last_verified"], partner),
        "stale": ctx.stale[partner],
        "example": pc["example"][partner],
        "capacity": ctx.capacity[partner],
    }
    out = pd.DataFrame(data)
    if explain:
        text = {k: v for k, v in data.items() if isinstance(v, np.ndarray)}
        text["need_label"] = label_arr[need_pos]
        out["explain"] = _explain_column(ctx, text, partner)
    else:
        out["explain"] = ""
    return out[MATCH_COLUMNS]


def match_all(
    school_ids: Iterable[str] | None = None,
    *,
    partners_index: PartnerIndex | None = None,
    profile: NeedProfile,
    schools: pd.DataFrame | None = None,
    settings: Settings | None = None,
    zones: gpd.GeoDataFrame | None = None,
    limit: int | None = 10,
    context: AnalysisContext | None = None,
    explain: bool = True,
) -> pd.DataFrame:
    """Ranked candidates for every need of many schools (all surveyed schools by default).

    For each school x need: up to ``limit`` partners within reach (best score first); when
    none is within reach, the nearest partner beyond reach (``within_reach`` False). Needs
    with no partner anywhere have no rows (see :func:`assetmap.coverage.gaps`).
    """
    ctx = context or prepare(
        partners_index=_require_index(partners_index),
        profile=profile,
        schools=schools,
        settings=settings,
        zones=zones,
    )
    pos = np.arange(len(ctx.schools)) if school_ids is None else ctx.school_pos(school_ids)
    ranked = []
    for need in needs_of(ctx, pos):
        with_need = _schools_with_need(ctx, need, pos)
        pairs = best_pairs(ctx, need, with_need, limit)
        lacking = with_need[~np.isin(with_need, pairs.school)]
        if len(lacking):
            _, near = nearest_beyond(ctx, need, lacking)
            ok = near >= 0
            extra = score_pairs(ctx, need, lacking[ok], extra=(lacking[ok], near[ok]))
            pairs = top_k(concat_pairs(pairs, extra), limit)
        ranked.append(pairs)  # in top_k order (best_pairs returns it so)
    return pairs_frame(ctx, ranked, explain=explain)


def match_school(
    school_id: str,
    *,
    partners_index: PartnerIndex,
    profile: NeedProfile,
    schools: pd.DataFrame | None = None,
    settings: Settings | None = None,
    zones: gpd.GeoDataFrame | None = None,
    limit: int | None = 10,
) -> pd.DataFrame:
    """Ranked candidate partners per need for one school (see :func:`match_all`)."""
    return match_all(
        [school_id],
        partners_index=partners_index,
        profile=profile,
        schools=schools,
        settings=settings,
        zones=zones,
        limit=limit,
    )


def _require_index(idx: PartnerIndex | None) -> PartnerIndex:
    if idx is None:
        raise TypeError(
            "pass partners_index (or context): e.g. Workspace.open().index(public=False); "
            "assetmap does not load shipped partners on its own"
        )
    return idx
