"""PartnerIndex against brute force on hand-made and random partners."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from assetmap._errors import InputError
from assetmap.index import PartnerIndex, chord_to_km, haversine_km, km_to_chord, to_xyz
from assetmap.model import conform_partners


def _gc_km(lat1, lon1, lat2, lon2):
    """Independent great-circle distance (spherical law of cosines, math module)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    c = math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(dl)
    return 6371.0088 * math.acos(max(-1.0, min(1.0, c)))


def _partners(rows):
    gdf = gpd.GeoDataFrame(
        [{k: v for k, v in r.items() if k not in ("lat", "lon")} for r in rows],
        geometry=[Point(r["lon"], r["lat"]) if r.get("lat") is not None else None for r in rows],
        crs="EPSG:4326",
    )
    return conform_partners(gdf)


@pytest.fixture
def small():
    # Three partners along a meridian near Hartford, one without a location.
    return _partners(
        [
            {
                "partner_id": "a",
                "name": "A",
                "category": "library",
                "services": ["technology"],
                "languages": ["es"],
                "lat": 41.76,
                "lon": -72.68,
            },
            {
                "partner_id": "b",
                "name": "B",
                "category": "human_services",
                "services": ["food.pantry"],
                "languages": ["es", "pt"],
                "lat": 41.78,
                "lon": -72.68,
            },
            {
                "partner_id": "c",
                "name": "C",
                "category": "human_services",
                "services": ["food"],
                "languages": [],
                "lat": 41.80,
                "lon": -72.68,
            },
            {
                "partner_id": "d",
                "name": "D",
                "category": "health",
                "services": ["health"],
                "languages": ["ar"],
                "lat": None,
                "lon": None,
            },
        ]
    )


def test_sphere_helpers_round_trip():
    for km in (0.0, 0.5, 5.0, 250.0, 4000.0):
        assert chord_to_km(km_to_chord(km)) == pytest.approx(km, abs=1e-9)
    xyz = to_xyz([41.76], [-72.68])
    assert np.linalg.norm(xyz) == pytest.approx(6371.0088)
    assert haversine_km(41.76, -72.68, 41.78, -72.68) == pytest.approx(
        _gc_km(41.76, -72.68, 41.78, -72.68), rel=1e-9
    )


def test_unlocated_rows_are_counted_not_indexed(small):
    idx = PartnerIndex.build(small)
    assert len(idx) == 3
    assert idx.unlocated == 1


def test_knn_sorted_with_great_circle_distances(small):
    idx = PartnerIndex.build(small)
    res = idx.knn(41.76, -72.68, 5)
    assert list(res["partner_id"]) == ["a", "b", "c"]
    assert res["distance_km"].iloc[0] == pytest.approx(0.0, abs=1e-6)
    assert res["distance_km"].iloc[1] == pytest.approx(
        _gc_km(41.76, -72.68, 41.78, -72.68), rel=1e-6
    )


def test_need_filter_semantics(small):
    idx = PartnerIndex.build(small)
    # top-level 'food' matches both the sub-service and the top-level service
    assert set(idx.knn(41.76, -72.68, 5, needs=["food"])["partner_id"]) == {"b", "c"}
    # 'food.pantry' is served by 'food.pantry' and by the whole 'food' service
    assert set(idx.knn(41.76, -72.68, 5, needs=["food.pantry"])["partner_id"]) == {"b", "c"}
    # 'food.meals' is not served by a pantry-only partner
    assert set(idx.knn(41.76, -72.68, 5, needs=["food.meals"])["partner_id"]) == {"c"}
    # free text is normalised
    assert set(idx.knn(41.76, -72.68, 5, needs=["Food Pantry"])["partner_id"]) == {"b", "c"}


def test_language_and_category_filters(small):
    idx = PartnerIndex.build(small)
    assert list(idx.knn(41.80, -72.68, 5, languages=["pt"])["partner_id"]) == ["b"]
    assert list(idx.knn(41.80, -72.68, 5, languages=["Español"])["partner_id"]) == ["b", "a"]
    # a partner listing no language is taken to work in English
    assert list(idx.knn(41.80, -72.68, 5, languages=["en"])["partner_id"]) == ["c"]
    assert list(idx.knn(41.76, -72.68, 5, categories=["human_services"])["partner_id"]) == [
        "b",
        "c",
    ]
    assert idx.knn(41.76, -72.68, 5, languages=["zh"]).empty


def test_radius_inclusive_and_sorted(small):
    idx = PartnerIndex.build(small)
    d_ab = _gc_km(41.76, -72.68, 41.78, -72.68)
    res = idx.radius(41.76, -72.68, d_ab + 1e-6)
    assert list(res["partner_id"]) == ["a", "b"]
    with pytest.raises(InputError, match="radius"):
        idx.radius(41.76, -72.68, float("nan"))


def test_knn_requires_positive_k(small):
    with pytest.raises(InputError, match="k must be at least 1"):
        PartnerIndex.build(small).knn(41.7, -72.6, 0)


def test_build_rejects_frames_without_columns():
    with pytest.raises(InputError, match="lack the column"):
        PartnerIndex.build(
            gpd.GeoDataFrame({"name": ["x"]}, geometry=[Point(0, 0)], crs="EPSG:4326")
        )


def _random_partners(n, seed):
    rng = np.random.default_rng(seed)
    needs = ["food", "food.pantry", "housing", "health", "tutoring", "legal.immigration"]
    langs = ["es", "pt", "ht", "ar", "zh", "ps"]
    rows = []
    for i in range(n):
        lang_p = np.array([0.5, 0.2, 0.1, 0.1, 0.08, 0.02])
        rows.append(
            {
                "partner_id": f"p{i}",
                "name": f"P{i}",
                "category": rng.choice(["library", "health", "human_services", "faith"]),
                "services": list(rng.choice(needs, size=rng.integers(1, 3), replace=False)),
                "languages": list(
                    rng.choice(langs, size=rng.integers(0, 3), replace=False, p=lang_p)
                ),
                "lat": 41.0 + rng.random() * 1.0,
                "lon": -73.7 + rng.random() * 1.9,
            }
        )
    return _partners(rows)


def _brute(partners, lat, lon, mask):
    d = np.array([_gc_km(lat, lon, g.y, g.x) for g in partners.geometry])
    pos = np.flatnonzero(mask)
    order = pos[np.lexsort((pos, d[pos]))]
    return order, d


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"needs": ["food"]},
        {"needs": ["food.pantry"], "languages": ["ps"]},
        {"languages": ["zh"], "categories": ["library"]},
    ],
)
def test_filtered_knn_equals_brute_force_including_rare_languages(filters):
    partners = _random_partners(600, seed=7)
    idx = PartnerIndex.build(partners)
    mask = idx.filter_mask(**filters)
    rng = np.random.default_rng(1)
    for _ in range(25):
        lat, lon = 41.0 + rng.random(), -73.7 + rng.random() * 1.9
        order, d = _brute(idx.partners, lat, lon, mask)
        res = idx.knn(lat, lon, 5, **filters)
        expected = order[:5]
        assert len(res) == len(expected)
        np.testing.assert_allclose(res["distance_km"], d[expected], rtol=1e-6, atol=1e-4)


def test_pairs_within_equals_brute_force():
    partners = _random_partners(400, seed=3)
    idx = PartnerIndex.build(partners)
    rng = np.random.default_rng(5)
    lats, lons = 41.0 + rng.random(30), -73.7 + rng.random(30) * 1.9
    radii = rng.uniform(2, 15, 30)
    qi, pj, dk = idx.pairs_within(lats, lons, radii, needs=["housing"])
    mask = idx.filter_mask(needs=["housing"])
    got = set(zip(qi.tolist(), pj.tolist(), strict=True))
    want = set()
    for q in range(30):
        for p in np.flatnonzero(mask):
            g = idx.partners.geometry.iloc[p]
            if _gc_km(lats[q], lons[q], g.y, g.x) <= radii[q]:
                want.add((q, int(p)))
    assert got == want
    # sorted by query, then distance
    assert np.all(np.diff(qi) >= 0)
    for q in np.unique(qi):
        assert np.all(np.diff(dk[qi == q]) >= -1e-12)


def test_knn_many_pads_short_results():
    partners = _random_partners(50, seed=9)
    idx = PartnerIndex.build(partners)
    d, p = idx.knn_many([41.5], [-72.7], 5, languages=["ps"], needs=["legal.immigration"])
    n = int(idx.filter_mask(languages=["ps"], needs=["legal.immigration"]).sum())
    assert (p[0] >= 0).sum() == min(n, 5)
    assert np.all(np.isinf(d[0][p[0] < 0]))


def test_filter_masks_equal_a_row_by_row_check_for_any_list_cell_shape():
    partners = _random_partners(300, seed=11)
    # cells as tuples, numpy arrays, None and a bare string must all be read as lists
    langs = partners["languages"].tolist()
    langs[0], langs[1], langs[2], langs[3] = None, "pt", np.array(["es", "ar"]), ("zh",)
    partners = partners.assign(languages=pd.Series(langs, index=partners.index, dtype=object))
    idx = PartnerIndex.build(partners)

    def as_list(v):
        if v is None:
            return []
        return [v] if isinstance(v, str) else list(v)

    rows = idx.partners
    for need in ("food", "food.pantry", "housing", "legal"):
        for lang in ("es", "pt", "ps", "en"):
            want = np.array(
                [
                    any(
                        s == need
                        or s.split(".")[0] == need
                        or ("." in need and s == need.split(".")[0])
                        for s in svc
                    )
                    and (lang in as_list(lg) or (lang == "en" and not as_list(lg)))
                    for svc, lg in zip(rows["services"], rows["languages"], strict=True)
                ]
            )
            got = idx.filter_mask(needs=[need], languages=[lang])
            np.testing.assert_array_equal(got, want, err_msg=f"{need} {lang}")
    assert idx.filter_mask(languages=["pt"])[1]
    assert idx.filter_mask(languages=["en"])[0]


def test_knn_breaks_distance_ties_by_position_in_any_subset():
    # 12 partners at one address and 3 at another: a tie deeper than the neighbours fetched
    rows = [
        {
            "partner_id": f"t{i}",
            "name": f"T{i}",
            "category": "health",
            "services": ["food"],
            "languages": [],
            "lat": 41.70 if i < 12 else 41.75,
            "lon": -72.70,
        }
        for i in range(15)
    ]
    partners = _partners(rows)
    idx = PartnerIndex.build(partners)
    d, p = idx.knn_many([41.70, 41.76], [-72.70, -72.70], 3)
    assert p[0].tolist() == [0, 1, 2]
    assert p[1].tolist() == [12, 13, 14]
    # the same partners in the same order, fewer of them: same answer
    sub = PartnerIndex.build(partners.iloc[[1, 2, 5, 13, 14]])
    _, ps = sub.knn_many([41.70, 41.76], [-72.70, -72.70], 2)
    ids = sub.partners["partner_id"].to_numpy()
    assert ids[ps[0]].tolist() == ["t1", "t2"]
    assert ids[ps[1]].tolist() == ["t13", "t14"]


@pytest.mark.parametrize("max_km", [None, 6.0])
def test_knn_many_with_co_located_partners_equals_brute_force_order(max_km):
    # partners snapped to a coarse grid: many share a location (a town centre, one address),
    # so ties run across the k boundary; the answer is (distance, position) order exactly
    partners = _random_partners(500, seed=21)
    snapped = gpd.points_from_xy(
        np.round(partners.geometry.x / 0.05) * 0.05, np.round(partners.geometry.y / 0.05) * 0.05
    )
    partners = partners.set_geometry(gpd.GeoSeries(snapped, index=partners.index, crs=4326))
    idx = PartnerIndex.build(partners)
    rng = np.random.default_rng(4)
    lats, lons = 41.0 + rng.random(40), -73.7 + rng.random(40) * 1.9
    for filters in ({}, {"needs": ["food"]}, {"languages": ["es"]}):
        d, p = idx.knn_many(lats, lons, 7, max_km=max_km, **filters)
        pos = np.flatnonzero(idx.filter_mask(**filters))
        for r in range(len(lats)):
            dd = np.round(haversine_km(lats[r], lons[r], idx.lat[pos], idx.lon[pos]), 6)
            keep = pos if max_km is None else pos[dd <= max_km]
            dk = dd if max_km is None else dd[dd <= max_km]
            want = keep[np.lexsort((keep, dk))][:7]
            got = p[r][p[r] >= 0]
            assert got.tolist() == want.tolist(), (filters, r)
            np.testing.assert_allclose(d[r][: len(got)], np.sort(dk)[: len(got)], atol=1e-5)
