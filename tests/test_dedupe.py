"""De-duplication: normalisation, scores with reasons, merges with provenance, and the
``assetmap import`` journey over the shipped anchor layers plus a coalition's own list."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from geoserver import ReplayServer
from shapely.geometry import Point

from assetmap._errors import InputError
from assetmap.dedupe import (
    dedupe,
    find_candidates,
    haversine_km,
    normalize_address,
    normalize_name,
    provenance_to_text,
    score_pairs,
)
from assetmap.model import conform_partners

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent
CLI = [sys.executable, "-m", "assetmap"]

#: Where a real geocoder puts the coalition's addresses (about 10-40 m from the layers' points).
KNOWN = {
    "80 Seymour Street": (41.7540, -72.6800),
    "500 Main Street": (41.7625, -72.6741),
    "282 Washington St.": (41.7539, -72.6815),
    "950 Main St": (41.7686, -72.6725),
    "300 Summit Street": (41.7470, -72.6890),
    "133 Elm Street": (41.3088, -72.9248),
    "20 York Street": (41.3049, -72.9352),
    "200 Bloomfield Avenue": (41.7962, -72.7147),
    "20 S Main St": (41.7609, -72.7418),
    "490 Blue Hills Ave": (41.7998, -72.6942),
    "190 Wethersfield Ave": (41.7527, -72.6700),
    "95 Park St": (41.7560, -72.6795),
    "175 Main St": (41.7560, -72.6728),
    "169 Grand Ave": (41.3040, -72.9050),
    "235 Nicoll St": (41.3210, -72.9130),
}

#: Hand-checked: the real sites that appear more than once (layer ids and coalition record ids).
EXPECTED_MERGES = {
    frozenset({"196784913", "2106102", "C01"}),  # Hartford Hospital, 80 Seymour St (HIFLD twice)
    frozenset({"6400", "C02"}),  # Hartford Public Library
    frozenset({"3306106", "C03"}),  # Connecticut Children's Medical Center
    frozenset({"129367", "C04"}),  # Capital Community College
    frozenset({"130590", "C05"}),  # Trinity College
    frozenset({"9300", "C06"}),  # New Haven Free Public Library
    frozenset({"1906504", "C07"}),  # Yale New Haven Hospital
    frozenset({"129525", "C08"}),  # University of Hartford
    frozenset({"15500", "C09"}),  # West Hartford Public Library
    frozenset({"3606112", "C10"}),  # Mount Sinai Rehabilitation Hospital
}


@pytest.mark.parametrize(
    ("raw", "norm"),
    [
        ("Hartford Hosp.", "hartford hospital"),
        ("HARTFORD HOSPITAL, INC", "hartford hospital"),
        ("The Hartford Public Library", "hartford library"),
        ("Hartford Public Lib", "hartford library"),
        ("St. Francis Hospital & Medical Ctr", "saint francis hospital medical center"),
        ("Biblioteca Pública de Hartford", "biblioteca publica de hartford"),
        ("Univ. of Hartford", "university hartford"),
    ],
)
def test_normalize_name(raw, norm):
    assert normalize_name(raw) == norm


@pytest.mark.parametrize(
    ("raw", "parts"),
    [
        ("80 Seymour Street", ("80", "seymour st")),
        ("80 SEYMOUR ST", ("80", "seymour st")),
        ("500 Main St., Suite 200", ("500", "main st")),
        ("20 SOUTH MAIN ST.", ("20", "s main st")),
        ("200 Retreat Avenue, Floor 3", ("200", "retreat ave")),
        ("WOODBRIDGE HALL", ("", "woodbridge hall")),
        ("", ("", "")),
    ],
)
def test_normalize_address(raw, parts):
    assert normalize_address(raw) == parts


def test_haversine_known_distance():
    # Hartford Hospital (80 Seymour St) to its 200 Retreat Ave campus: about 0.47 km
    d = float(haversine_km(41.753747, -72.680325, 41.749671, -72.682133))
    assert 0.46 < d < 0.49


def _layer(path: str, category: str) -> gpd.GeoDataFrame:
    g = gpd.read_file(DATA / path)
    ids = [c for c in g.columns if c in ("hifld_id", "ipeds_id", "libid")][0]
    out = g.rename(columns={ids: "partner_id", "zip": "postal_code"})
    out["category"] = category
    out["source"] = path
    return conform_partners(out[[c for c in out.columns if c not in ("lat", "lon")]])


def test_hifld_near_duplicate_hartford_hospital():
    hosp = _layer("dedupe_hospitals.geojson", "anchor_hospital")
    before = hosp.copy()
    res = dedupe(hosp)
    pd.testing.assert_frame_equal(hosp, before)  # input untouched
    hh = res.partners[res.partners["name"] == "HARTFORD HOSPITAL"]
    assert len(hh) == 2  # 80 Seymour St (two HIFLD records -> one site) and 200 Retreat Ave
    seymour = hh[hh["address"] == "80 SEYMOUR ST"].iloc[0]
    assert seymour["provenance"]["_merged"] == ["196784913", "2106102"]
    conflicts = seymour["provenance"]["_conflicts"]["postal_code"]
    assert {c["value"] for c in conflicts} == {"06106", "06102"}  # which record said what
    pair = res.merged.iloc[0]
    assert {pair["left_id"], pair["right_id"]} == {"196784913", "2106102"}
    assert "same address" in pair["reasons"] and "same phone" in pair["reasons"]
    review = res.review
    assert len(review) == 1
    assert set(review.iloc[0][["left_id", "right_id"]]) == {"196784202", "196784913"}
    assert "different street numbers (200 vs 80)" in review.iloc[0]["reasons"]
    assert len(res.partners) == len(hosp) - 1


def test_different_categories_at_one_address_go_to_review_not_merge():
    both = pd.concat(
        [
            _layer("dedupe_hospitals.geojson", "anchor_hospital"),
            _layer("dedupe_colleges.geojson", "anchor_college"),
        ],
        ignore_index=True,
    )
    res = dedupe(gpd.GeoDataFrame(both, geometry="geometry", crs="EPSG:4326"))
    r = res.review[(res.review["left_id"] == "1906504") & (res.review["right_id"] == "130785")]
    assert len(r) == 1 and r.iloc[0]["score"] < 85
    assert "different categories (anchor_hospital vs anchor_college)" in r.iloc[0]["reasons"]
    assert {"1906504", "130785"} <= set(res.partners["partner_id"])


def test_candidates_by_town_block_when_location_is_rough():
    rows = gpd.GeoDataFrame(
        {
            "partner_id": ["a", "b", "c"],
            "name": ["Hartford Public Library", "Hartford Public Lib", "Hartford Hospital"],
            "address": ["500 Main St", "500 Main Street", "80 Seymour St"],
            "city": ["Hartford", "Hartford", "Hartford"],
            "category": ["library", "library", "anchor_hospital"],
            "geocode_quality": ["exact", "town", "exact"],
            "source": ["state", "coalition", "state"],
        },
        geometry=[
            Point(-72.674375, 41.762305),
            Point(-72.6851, 41.7658),
            Point(-72.680325, 41.753747),
        ],
        crs="EPSG:4326",
    )
    # a-b: same town, alike names (b sits at the town centre, 1 km off); c is 1 km away, unlike
    assert find_candidates(rows, radius_km=0.5) == [(0, 1)]
    pairs = score_pairs(rows)
    ab = pairs[(pairs["left"] == 0) & (pairs["right"] == 1)].iloc[0]
    assert ab["score"] == 100.0 and "location approximate, not scored" in ab["reasons"]
    res = dedupe(conform_partners(rows))
    assert list(res.partners["partner_id"]) == ["a", "c"]
    lib = res.partners.iloc[0]
    assert lib.geometry.equals(Point(-72.674375, 41.762305))  # the better-located point wins
    assert lib["provenance"]["geometry"] == "state" and lib["source"] == "state;coalition"


def test_lists_are_united_and_provenance_is_text_for_files():
    rows = gpd.GeoDataFrame(
        {
            "partner_id": ["x1", "y1"],
            "name": ["Casa Boricua", "Casa Boricua Inc"],
            "address": ["10 Park St", "10 Park Street"],
            "phone": ["", "(860) 555-0100"],
            "services": [["food"], ["food", "housing"]],
            "languages": [["es"], ["es", "en"]],
            "source": ["list A", "list B"],
        },
        geometry=[Point(-72.68, 41.75), Point(-72.6801, 41.7501)],
        crs="EPSG:4326",
    )
    res = dedupe(conform_partners(rows))
    assert len(res.partners) == 1
    rec = res.partners.iloc[0]
    assert rec["services"] == ["food", "housing"] and rec["languages"] == ["es", "en"]
    assert rec["phone"] == "(860) 555-0100" and rec["provenance"]["phone"] == "list B"
    assert rec["provenance"]["services"] == "list A;list B"
    assert "cost" not in rec["provenance"]  # a default, not something a source said
    text = provenance_to_text(res.partners)
    assert json.loads(text.iloc[0]["provenance"])["name"] == "list A"


def test_dedupe_checks_its_arguments():
    with pytest.raises(InputError, match="needs a GeoDataFrame"):
        dedupe(pd.DataFrame({"name": ["a"]}))
    g = conform_partners(gpd.GeoDataFrame({"name": ["a"]}, geometry=[Point(0, 1)], crs="EPSG:4326"))
    with pytest.raises(InputError, match="thresholds must satisfy"):
        dedupe(g, threshold=50, review_threshold=70)


# -- the import journey ---------------------------------------------------------------------


def items(cell: str) -> list[str]:
    return [x.strip() for x in cell.split(";") if x.strip()]


def _run(args, env, cwd):
    return subprocess.run(
        [*CLI, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_import_layers_and_coalition_list_gives_one_record_per_site(tmp_path, monkeypatch, capsys):
    layers = ["dedupe_hospitals.geojson", "dedupe_colleges.geojson", "dedupe_libraries.geojson"]
    files = [str(DATA / f) for f in [*layers, "coalition_partners.csv"]]
    cats = ["anchor_hospital", "anchor_college", "library", "other"]
    args = [
        "import",
        *files,
        *[a for c in cats for a in ("--category", c)],
        "--json",
        "--no-progress",
    ]
    with ReplayServer(known=KNOWN) as srv:
        env = dict(
            os.environ,
            ASSETMAP_CENSUS_GEOCODER_URL=srv.url,
            ASSETMAP_NOMINATIM_URL=srv.url,
            ASSETMAP_GEOCODE_CACHE_PATH=str(tmp_path / "var" / "geocode_cache.sqlite"),
            ASSETMAP_USER_AGENT="assetmap-tests/0.1 (tests@example.org)",
            PYTHONPATH=str(ROOT),
        )
        out = tmp_path / "partners.csv"
        r = _run([*args, "--out", str(out)], env, tmp_path)
        assert r.returncode == 0, r.stderr
        summary = json.loads(r.stdout)
        assert srv.searches() == []  # the Census matched every coalition address
        assert len(srv.batch_streets()) == 15
        # second run (in this process): the saved mapping and the geocode cache answer
        from assetmap.cli import main
        from assetmap.settings import get_settings

        for k, v in env.items():
            if k.startswith("ASSETMAP_"):
                monkeypatch.setenv(k, v)
        get_settings.cache_clear()
        out2 = tmp_path / "partners.geojson"
        try:
            assert main([*args, "--out", str(out2)]) == 0
        finally:
            get_settings.cache_clear()
        assert len(srv.hits) == 1  # nothing asked again
        again = json.loads(capsys.readouterr().out)
        assert (
            again["sites"] == 31 and again["files"][3]["mapping"] == summary["files"][3]["mapping"]
        )
    coalition = next(f for f in summary["files"] if f["file"].endswith("coalition_partners.csv"))
    assert coalition["mapping"] == {
        "Record ID": "partner_id",
        "Org Name": "name",
        "Street Address": "address",
        "Town": "city",
        "Zip Code": "postal_code",
        "Phone": "phone",
        "Type": "category",
        "Services": "services",
        "Languages Spoken": "languages",
    }
    assert (tmp_path / "var" / "mappings" / "coalition_partners.json").exists()
    assert summary["rows_loaded"] == 9 + 15 + 3 + 15
    assert summary["sites"] == 31
    assert summary["geocode"]["matched"] == 15

    df = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert len(df) == 31 and df["partner_id"].is_unique
    members = []
    for _, row in df.iterrows():
        prov = json.loads(row["provenance"])
        members.append(frozenset(prov.get("_merged", [row["partner_id"]])))
    merged = {m for m in members if len(m) > 1}
    assert merged == EXPECTED_MERGES
    all_ids = set().union(*members)
    assert len(all_ids) == 42  # every input record is in exactly one site
    assert sum(len(m) for m in members) == 42

    hh = df[df["partner_id"] == "196784913"].iloc[0]
    prov = json.loads(hh["provenance"])
    assert prov["name"] == "dedupe_hospitals.geojson"  # the state layer came first
    assert prov["languages"] == "coalition_partners.csv"  # only the coalition knew languages
    assert prov["services"] == "dedupe_hospitals.geojson;coalition_partners.csv"
    assert items(hh["languages"]) == ["en", "es"] and "mental_health" in items(hh["services"])
    assert hh["source"] == "dedupe_hospitals.geojson;coalition_partners.csv"
    names = {c["source"]: c["value"] for c in prov["_conflicts"]["name"]}
    assert names == {
        "dedupe_hospitals.geojson": "HARTFORD HOSPITAL",
        "coalition_partners.csv": "Hartford Hosp.",
    }
    lib = df[df["partner_id"] == "6400"].iloc[0]
    assert json.loads(lib["provenance"])["phone"] == "coalition_partners.csv"
    assert lib["phone"] == "860-695-6300" and items(lib["languages"]) == ["es", "pt"]
    food = df[df["name"] == "Hartford Food System"].iloc[0]
    assert food["geocode_source"] == "census" and float(food["lat"]) == 41.7527
    # the Institute of Living campus stays its own site, flagged for review
    review = {frozenset((r["left_id"], r["right_id"])) for r in summary["review"]}
    assert frozenset({"196784202", "196784913"}) in review
    assert frozenset({"1906504", "130785"}) in review  # hospital vs its dietetic internship

    g = gpd.read_file(out2)
    assert len(g) == 31 and g.geometry.notna().all()


def test_shipped_anchor_layers_have_one_hartford_hospital_at_80_seymour():
    from assetmap.data import load_partners

    p = load_partners()
    anchors = p[p["category"].isin(["anchor_hospital", "anchor_college", "library"])]
    res = dedupe(anchors)
    # HIFLD's twin record at 80 Seymour St was merged when the data was built: none is left
    assert len(res.partners) == len(anchors) and res.merged.empty
    hh = anchors[anchors["name"] == "Hartford Hospital"]
    assert list(hh["partner_id"]) == ["hifld-hosp-196784913"]
    assert hh["merged_ids"].iloc[0] == "hifld-hosp-196784913;hifld-hosp-2106102"
    review = {
        frozenset((a, b))
        for a, b in zip(res.review["left_id"], res.review["right_id"], strict=True)
    }
    assert frozenset({"hifld-hosp-1906504", "ipeds-130785"}) in review


def test_zip_centroid_placements_and_generic_words_do_not_merge_distinct_sites():
    """49 real CT schools and district offices (Danbury, Manchester, Meriden), each placed
    only at its ZIP's centre: none is merged; a true repeat from a second source still is."""
    from assetmap.dedupe import name_score
    from assetmap.schema import load_file

    frame, _ = load_file(DATA / "dedupe_zip_centroid_schools.csv")
    res = dedupe(frame)
    assert len(res.partners) == len(frame) == 49 and res.merged.empty
    twin = frame[frame["name"] == "Manchester High School"].assign(
        partner_id="coalition-1", source="coalition.csv"
    )
    both = gpd.GeoDataFrame(pd.concat([frame, twin], ignore_index=True), crs="EPSG:4326")
    res = dedupe(both)
    assert len(res.partners) == 49 and len(res.merged) == 1
    n = normalize_name
    assert name_score(n("Bristol Technical High School"), n("Bristol High School")) < 85
    assert name_score(n("Hartford School District"), n("West Hartford School District")) < 85
    assert name_score(n("Bulkeley High School"), n("High School")) < 85
    assert name_score(n("Hartford Hosp."), n("Hartford Hospital")) == 100
