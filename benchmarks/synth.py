"""Seeded synthetic data sets with realistic clustering, for benchmarks.

- statewide: ~1,500 schools and 50,000 partners clustered around real Connecticut schools
  and town centres (shipped data), 18 needs, 20 languages.
- national: 100,000 schools and 2,000,000 partners clustered around 24,411 real US anchor
  places (data/us/us_anchor_points.csv).
Every generated partner's name says SYNTHETIC.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from assetmap.data import data_path, load_gazetteer, load_schools
from assetmap.taxonomy import load_taxonomy

LANGS = [
    "es",
    "pt",
    "ht",
    "ar",
    "zh",
    "pl",
    "sq",
    "ur",
    "ps",
    "prs",
    "uk",
    "bn",
    "vi",
    "ru",
    "fr",
    "tr",
    "gu",
    "ne",
    "so",
    "hi",
]
LANG_WEIGHTS = np.array(
    [30, 8, 6, 5, 5, 4, 3, 2, 2, 2, 2, 1.5, 1.5, 1.5, 1.5, 1, 1, 1, 1, 1], dtype=float
)
LANG_WEIGHTS /= LANG_WEIGHTS.sum()
CATEGORIES = [
    "health",
    "human_services",
    "library",
    "faith",
    "early_childhood",
    "youth_development",
    "recreation",
    "family_support",
    "immigrant_services",
    "legal_aid",
    "adult_education",
    "behavioral_health",
    "housing",
    "disability_family",
    "workforce",
    "government",
]


def _jitter(
    rng: np.random.Generator, lat: np.ndarray, lon: np.ndarray, sd_km: float
) -> tuple[np.ndarray, np.ndarray]:
    dlat = rng.normal(0, sd_km / 111.0, len(lat))
    dlon = rng.normal(0, sd_km / (111.0 * np.cos(np.radians(lat))), len(lon))
    return lat + dlat, lon + dlon


def _lists(pool: np.ndarray, counts: np.ndarray, names: list[str]) -> np.ndarray:
    """Row i -> the distinct names of pool[i, :counts[i]] in first-seen order (vectorised:
    one Python list per distinct combination, shared by the rows that have it: read-only)."""
    width = pool.shape[1]
    base = len(names) + 1
    masked = np.where(np.arange(width)[None, :] < counts[:, None], pool + 1, 0)
    key = (masked * base ** np.arange(width)[None, :]).sum(axis=1)
    uniq, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    combos = [[names[j] for j in dict.fromkeys(pool[i, : counts[i]])] for i in first]
    table = np.empty(len(combos), dtype=object)
    for i, c in enumerate(combos):  # element-wise: equal-length lists must not broadcast
        table[i] = c
    return table[inverse]


def _partners(
    rng: np.random.Generator, lat: np.ndarray, lon: np.ndarray, *, lists: bool = True
) -> gpd.GeoDataFrame:
    n = len(lat)
    needs = load_taxonomy().top_needs
    n_services = rng.integers(1, 4, n)
    n_langs = rng.choice([0, 1, 1, 2, 2, 3], n)
    svc_pool = rng.integers(0, len(needs), (n, 3))
    lang_pool = rng.choice(len(LANGS), (n, 3), p=LANG_WEIGHTS)
    services = _lists(svc_pool, n_services, needs)
    languages = _lists(lang_pool, n_langs, LANGS)
    capacity = np.where(rng.random(n) < 0.6, rng.integers(20, 800, n), np.nan)
    df = pd.DataFrame(
        {
            "partner_id": np.char.add("syn-", np.arange(n).astype(str)).astype(object),
            "name": np.char.add("SYNTHETIC partner ", np.arange(n).astype(str)).astype(object),
            "category": rng.choice(CATEGORIES, n),
            "services": services,
            "services_inferred": _lists(svc_pool, np.zeros(n, dtype=np.int64), needs),
            "languages": languages,
            "capacity": capacity,
            "mou_status": rng.choice(
                ["none", "prospective", "active", "expired"], n, p=[0.6, 0.15, 0.2, 0.05]
            ),
            "last_verified": (
                np.datetime64("2026-11-01") - rng.integers(0, 900, n).astype("timedelta64[D]")
            )
            .astype(str)
            .astype(object),
            "source": "SYNTHETIC benchmark",
            "example": False,
            "published": True,
            "sensitive": False,
        }
    )
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")


def statewide(
    n_schools: int = 1500, n_partners: int = 50_000, seed: int = 0
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """(schools, partners) clustered around real Connecticut schools and town centres."""
    rng = np.random.default_rng(seed)
    real = load_schools()
    real = real[real.geometry.notna()]
    pick = rng.integers(0, len(real), n_schools)
    s_lat, s_lon = real.geometry.y.to_numpy()[pick], real.geometry.x.to_numpy()[pick]
    extra = np.arange(n_schools) >= len(real)  # beyond the real count: jittered copies
    j_lat, j_lon = _jitter(rng, s_lat, s_lon, 1.5)
    s_lat, s_lon = np.where(extra, j_lat, s_lat), np.where(extra, j_lon, s_lon)
    schools = gpd.GeoDataFrame(
        {
            "school_id": [f"S{i:05d}" for i in range(n_schools)],
            "name": [f"SYNTHETIC school {i}" for i in range(n_schools)],
            "district_id": real["district_id"].to_numpy()[pick],
        },
        geometry=gpd.points_from_xy(s_lon, s_lat),
        crs="EPSG:4326",
    )
    gaz = load_gazetteer()
    towns = gaz[gaz["kind"] == "town"]
    c_lat = np.concatenate([towns["lat"].to_numpy(), s_lat])
    c_lon = np.concatenate([towns["lon"].to_numpy(), s_lon])
    centre = rng.integers(0, len(c_lat), n_partners)
    p_lat, p_lon = _jitter(rng, c_lat[centre], c_lon[centre], 2.0)
    return schools, _partners(rng, p_lat, p_lon)


def national(
    n_schools: int = 100_000, n_partners: int = 2_000_000, seed: int = 0
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """(schools, partners) clustered around 24,411 real US places."""
    rng = np.random.default_rng(seed)
    anchors = pd.read_csv(data_path("us/us_anchor_points.csv"))
    a_lat, a_lon = anchors["lat"].to_numpy(), anchors["lon"].to_numpy()
    pick = rng.integers(0, len(anchors), n_schools)
    s_lat, s_lon = _jitter(rng, a_lat[pick], a_lon[pick], 4.0)
    schools = gpd.GeoDataFrame(
        {
            "school_id": [f"N{i:06d}" for i in range(n_schools)],
            "name": [f"SYNTHETIC school {i}" for i in range(n_schools)],
            "district_id": anchors["state"].to_numpy()[pick],
        },
        geometry=gpd.points_from_xy(s_lon, s_lat),
        crs="EPSG:4326",
    )
    pick = rng.integers(0, len(anchors), n_partners)
    p_lat, p_lon = _jitter(rng, a_lat[pick], a_lon[pick], 5.0)
    return schools, _partners(rng, p_lat, p_lon)


def query_points(n: int, schools: gpd.GeoDataFrame, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Family search origins: jittered around schools."""
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(schools), n)
    return _jitter(
        rng, schools.geometry.y.to_numpy()[pick], schools.geometry.x.to_numpy()[pick], 2.0
    )


def need_profile_rows(
    schools: gpd.GeoDataFrame,
    *,
    seed: int = 2,
    mean_families: float = 120.0,
    n_languages: int = len(LANGS),
) -> pd.DataFrame:
    """Synthetic per-school family counts: families per home language, and per need x language.

    Returns the internal aggregated responses frame that :func:`assetmap.needs.build_profile`
    takes (school_id, school_name, district_id, language, languages, needs, weight, family,
    synthetic): per school and language one "total" row (families, ``needs`` empty) and one
    row per need with the families of that language reporting it. Sizes follow a lognormal
    around ``mean_families``; each school has English plus a few home languages drawn with
    the statewide weights (Spanish most common); each need has its own prevalence, varied per
    school. Every figure is SYNTHETIC (seeded).
    """
    rng = np.random.default_rng(seed)
    needs = load_taxonomy().top_needs
    n = len(schools)
    langs = LANGS[:n_languages]
    w = LANG_WEIGHTS[:n_languages] / LANG_WEIGHTS[:n_languages].sum()
    size = np.maximum(3, rng.lognormal(np.log(mean_families), 0.7, n)).astype(np.int64)
    # English share 30-90 %; the rest split over 1-5 home languages
    en_share = rng.uniform(0.3, 0.9, n)
    k_lang = rng.integers(1, 6, n)
    picks = np.array([rng.choice(len(langs), 5, replace=False, p=w) for _ in range(n)])
    mix = rng.dirichlet(np.ones(5), n) * (np.arange(5)[None, :] < k_lang[:, None])
    mix = mix / mix.sum(axis=1, keepdims=True) * (1 - en_share[:, None])
    n_en = rng.binomial(size, en_share)
    rest = size - n_en
    other = np.array([rng.multinomial(r, m / m.sum()) for r, m in zip(rest, mix, strict=True)])
    prevalence = rng.uniform(0.05, 0.45, len(needs))
    school_ids = schools["school_id"].astype(str).to_numpy()
    names = schools["name"] if "name" in schools.columns else schools.get("school_name", school_ids)
    names = np.asarray(names, dtype=object)
    districts = schools["district_id"].astype(str).to_numpy()
    s_idx, l_code, fam = [], [], []
    for li_slot in range(5):
        s_idx.append(np.arange(n))
        l_code.append(picks[:, li_slot])
        fam.append(other[:, li_slot])
    s_idx.append(np.arange(n))
    l_code.append(np.full(n, -1))
    fam.append(n_en)
    s_idx, l_code, fam = np.concatenate(s_idx), np.concatenate(l_code), np.concatenate(fam)
    keep = fam > 0
    s_idx, l_code, fam = s_idx[keep], l_code[keep], fam[keep]
    lang_names = np.array(["en", *langs], dtype=object)[l_code + 1]
    school_factor = rng.uniform(0.5, 1.5, (n, len(needs)))
    p = np.clip(prevalence[None, :] * school_factor[s_idx], 0, 0.95)
    counts = rng.binomial(fam[:, None], p)  # (cells, needs)
    ci, ni = np.nonzero(counts)
    empty = np.empty(len(s_idx), dtype=object)
    empty[:] = [[] for _ in range(len(s_idx))]
    need_lists = np.empty(len(needs), dtype=object)
    for j, code in enumerate(needs):
        need_lists[j] = [code]
    lang_lists = {code: [code] for code in ["en", *langs]}
    total = pd.DataFrame(
        {
            "school_id": school_ids[s_idx],
            "language": lang_names,
            "needs": empty,
            "weight": fam.astype(float),
            "family": True,
        }
    )
    per_need = pd.DataFrame(
        {
            "school_id": school_ids[s_idx[ci]],
            "language": lang_names[ci],
            "needs": need_lists[ni],
            "weight": counts[ci, ni].astype(float),
            "family": False,
        }
    )
    out = pd.concat([total, per_need], ignore_index=True)
    pos = pd.Index(school_ids).get_indexer(out["school_id"])
    out["school_name"] = names[pos]
    out["district_id"] = districts[pos]
    out["languages"] = [lang_lists[c] for c in out["language"]]
    out["synthetic"] = True
    return out[
        [
            "school_id",
            "school_name",
            "district_id",
            "language",
            "languages",
            "needs",
            "weight",
            "family",
            "synthetic",
        ]
    ]


def need_profile(schools: gpd.GeoDataFrame, *, seed: int = 2, **kwargs):
    """A SYNTHETIC :class:`~assetmap.needs.NeedProfile` for every school (see
    :func:`need_profile_rows`), with the schools' coordinates for analysis."""
    from assetmap.needs import build_profile

    return build_profile(need_profile_rows(schools, seed=seed, **kwargs), schools=schools)
